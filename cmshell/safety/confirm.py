"""`commit confirmed`: the pending confirmation, as every session and the watcher see it.

The state lives in the store (backend_state, namespace `cmshell`), not in the session, so that
the revert happens whatever becomes of the session that committed:

- `confirm/pending`: the unconfirmed commits (`commits`), the last confirmed one (`base`), who
  must confirm (`user`), the `deadline`, a `token` naming the watcher that owns it, and the
  backend configuration the watcher re-applies with.
- `confirm/watcher/<token>`: the watcher's pid while it runs; it also holds the store lock
  `confirm-<token>` (watcher_lock) as long as it lives.
- `confirm/<seq>`: what became of an unconfirmed commit (confirmed, rolled back by N, …).

While a confirmation is pending, commits of other users are refused (`guard`). A marker whose
watcher is gone (the head node rebooted) and whose deadline has passed gets a new watcher
from the next session that looks at it, so the rollback still happens.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from dataclasses import asdict, dataclass, field

from cmshell.store.base import Store, StoreError
from cmshell.store.pgurl import is_url

NAMESPACE = "cmshell"
PENDING = "confirm/pending"
GRACE = 30.0                 # seconds past the deadline before a silent watcher counts as gone
MAX_MINUTES = 65535          # as Junos


class AwaitingConfirmation(StoreError):
    """Another user's commit waits for confirmation: this commit is refused (one line)."""


@dataclass
class Pending:
    base: int                       # the last confirmed commit: the rollback restores it
    user: str
    deadline: float
    minutes: float
    token: str
    commits: list[int] = field(default_factory=list)    # unconfirmed commits, oldest first
    apply: str = "off"              # the committing session's backend configuration
    backends: dict = field(default_factory=dict)
    names: list[str] = field(default_factory=list)      # the backends it applied with
    state: str = "waiting"          # waiting | reverting

    @property
    def seq(self) -> int | None:
        return self.commits[-1] if self.commits else None


def pending(store: Store) -> Pending | None:
    got = store.get_state(NAMESPACE, [PENDING]).get(PENDING)
    if not isinstance(got, dict):
        return None
    try:
        return Pending(**got)
    except TypeError:                 # written by another version: ignore rather than lock out
        return None


def put(store: Store, p: Pending | None) -> None:
    store.put_state(NAMESPACE, {PENDING: asdict(p) if p is not None else None})


def history(store: Store, seqs: list[int]) -> dict[int, dict]:
    got = store.get_state(NAMESPACE, [f"confirm/{s}" for s in seqs])
    return {int(k.split("/")[1]): v for k, v in got.items() if isinstance(v, dict)}


def record(store: Store, seqs: list[int], **what: object) -> None:
    store.put_state(NAMESPACE, {f"confirm/{s}": dict(what, time=time.time()) for s in seqs})


def clock_text(t: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(t))


def minutes_text(minutes: float) -> str:
    """`10 minutes`, `1 minute`, `3 seconds` (fractions of a minute are for tests and demos)."""
    if minutes < 1:
        sec = round(minutes * 60, 1)
        return f"{sec:g} second{'' if sec == 1 else 's'}"
    return f"{minutes:g} minute{'' if minutes == 1 else 's'}"


def left_text(seconds: float) -> str:
    if seconds <= 0:
        return "0s"
    return f"{int(seconds // 60)}m" if seconds >= 60 else f"{int(seconds)}s"


# -- refusing other users ------------------------------------------------------------------------
def guard(store: Store, user: str) -> None:
    """Raise AwaitingConfirmation when another user's commit waits for confirmation."""
    p = pending(store)
    if p is None or p.user == user:
        return
    revive(store, p)
    what = f"commit {p.seq}" if p.seq is not None else "a commit"
    raise AwaitingConfirmation(
        f"Commit refused: {what} by {p.user} awaits confirmation until {clock_text(p.deadline)} "
        f"(commit confirmed); it is rolled back then unless {p.user} confirms it with 'commit'")


def prompt_note(store: Store, user: str, now: float) -> str:
    """`(confirm 9m)` for the prompt while a confirmation is pending; `(alice: confirm 9m)`
    when it is another user's; `(rolling back)` while the watcher reverts."""
    try:
        p = pending(store)
    except StoreError:
        return ""
    if p is None:
        return ""
    revive(store, p)
    if p.state == "reverting":
        return "(rolling back)"
    who = "" if p.user == user else f"{p.user}: "
    return f"({who}confirm {left_text(p.deadline - now)})"


# -- the watcher process -------------------------------------------------------------------------
def new_token() -> str:
    return uuid.uuid4().hex


def watcher_lock(token: str) -> str:
    """The store lock (Store.lock) a watcher holds for its whole life: one watcher per token, and
    a way for any session, on any machine sharing the store, to tell whether it still runs (a pid
    could have been reused, and a pid on another machine says nothing here)."""
    return f"confirm-{token}"


def watcher_alive(store: Store, token: str) -> bool:
    with store.lock(watcher_lock(token), wait=False, shared=True) as free:
        return not free


def revive(store: Store, p: Pending) -> None:
    """A marker past its deadline whose watcher is gone (its machine went down, say) gets a new
    watcher (same token), on the machine of whichever session looks first."""
    if time.time() < p.deadline + GRACE or watcher_alive(store, p.token):
        return
    spawn(store, p.token)


def log_path(store: Store) -> str:
    """Where watchers write what they did: beside a store file (with its locks), else in the
    user's cache directory. Each outcome is also published to every session as an event."""
    from cmshell.env import Environment
    from cmshell.store.filelock import lock_dir
    directory = Environment().cache_dir() if is_url(store.path) else lock_dir(store.path)
    os.makedirs(directory, mode=0o700, exist_ok=True)
    return os.path.join(directory, "confirm.log")


def spawn(store: Store, token: str) -> None:
    """Start `python -m cmshell.safety.watcher` in a session of its own: it forks once more and
    this child exits at once, so the watcher belongs to no terminal and to no process of the
    session (a SIGKILL or SIGHUP of the session does not reach it). The store is passed in the
    environment, not the command line, where `ps` would show a URL's password."""
    package_root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([package_root] + [p for p in [env.get("PYTHONPATH")] if p])
    env["CMSHELL_DB"] = store.path if is_url(store.path) else os.path.abspath(store.path)
    with open(log_path(store), "ab") as log:
        child = subprocess.Popen([sys.executable, "-m", "cmshell.safety.watcher", token],
                                 stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env,
                                 start_new_session=True, close_fds=True, cwd="/")
    child.wait()          # the first child only forks: reaped here, no zombie is left
