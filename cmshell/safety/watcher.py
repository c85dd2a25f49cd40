"""`python -m cmshell.safety.watcher STORE TOKEN`: the process that rolls back an unconfirmed
`commit confirmed` (docs/safety.md).

It forks at once (the parent exits, so the session reaps it and the watcher is re-parented
away from the session), records its pid, and polls the store's pending confirmation. When the
marker is gone (confirmed) or names another token (a newer `commit confirmed` took over), it
exits. At the deadline it stages the state before the unconfirmed commits and commits it through
the ordinary Committer, with the session's backend configuration, so the rollback is journalled
and re-applied to the nodes and Kubernetes like any commit.
"""
from __future__ import annotations

import fcntl
import os
import sys
import time
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from cmshell.safety.confirm import Pending
    from cmshell.store.base import Store

POLL = 1.0        # seconds between looks at the store


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        sys.stderr.write("usage: python -m cmshell.safety.watcher STORE TOKEN\n")
        return 2
    if os.fork():               # the second fork: the session's child exits now
        return 0
    path, token = argv
    from cmshell.safety import confirm
    from cmshell.store import open_store
    lock = open(confirm.lock_path(path, token), "a")
    if not _hold(lock):
        return 0                    # another watcher owns this confirmation
    store = open_store(path)
    me = f"confirm/watcher/{token}"
    try:
        store.put_state(confirm.NAMESPACE, {me: {"pid": os.getpid(), "started": time.time()}})
        while True:
            p = confirm.pending(store)
            if p is None or p.token != token:
                return 0                       # confirmed (the marker is gone or a new one)
            left = p.deadline - time.time()
            if left <= 0:
                break
            time.sleep(min(POLL, left))
        return revert(store, p)
    finally:
        store.put_state(confirm.NAMESPACE, {me: None})
        store.close()
        os.unlink(lock.name)        # still held: no other watcher can have taken it meanwhile


def _hold(fh: IO[str], seconds: float = 2.0) -> bool:
    """The lock for this token, for the watcher's whole life. Retried briefly: a session that
    looks whether a watcher runs holds it shared for a moment."""
    end = time.monotonic() + seconds
    while True:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() > end:
                return False
            time.sleep(0.1)


def revert(store: Store, p: Pending) -> int:
    from cmshell.safety import confirm
    p.state = "reverting"
    confirm.put(store, p)
    commits = p.commits or _unrecorded(store, p)
    try:
        done = _rollback(store, p, commits)
    except Exception as exc:        # noqa: BLE001 - never leave every other admin locked out
        confirm.record(store, commits, state="rollback failed", reason=f"{type(exc).__name__}: {exc}")
        confirm.put(store, None)
        log(f"rollback of commits {commits} failed: {type(exc).__name__}: {exc}")
        return 1
    confirm.record(store, commits, state="rolled back", by=done)
    confirm.put(store, None)
    log(f"commits {commits} not confirmed: rolled back by commit {done}")
    return 0


def _unrecorded(store: Store, p: Pending) -> list[int]:
    """The session died between its commit and recording it: the commits after the base by the
    user who had to confirm (other users' commits were refused meanwhile)."""
    return [e.seq for e in store.journal(200) if e.seq > p.base and e.user == p.user]


def _rollback(store: Store, p: Pending, commits: list[int]) -> int | None:
    from cmshell.backends.base import discover
    from cmshell.backends.config import Config
    from cmshell.backends.engine import Engine
    from cmshell.commit import Committer
    from cmshell.model.schema import load_schema
    from cmshell.safety import confirm, outcome, revert as rv
    from cmshell.workspace import Workspace
    if not commits:
        return None
    schema = load_schema()
    ws = Workspace(store, schema)
    rv.stage_target(ws, rv.undone(store, commits))
    committer = Committer(ws, user=p.user, clock=time.time, source=lambda: "cmshell")
    if p.apply != "off":
        found = discover()
        engine = Engine(store, schema, Config(None, p.apply, p.backends),
                        factories={n: f for n, f in found.items() if n in p.names} if p.names else found)
        committer.after.append(engine.after_commit)
        committer.after.append(outcome.attach(engine, None, lambda: "cmshell"))
    minutes = confirm.minutes_text(p.minutes)
    what = f"commit {commits[0]}" if len(commits) == 1 else f"commits {', '.join(map(str, commits))}"
    done = committer.commit(list(ws.staged),
                            comment=f"automatic rollback: {what} by {p.user} not confirmed within {minutes}")
    return done.seq if done is not None else None


def log(text: str) -> None:
    sys.stderr.write(time.strftime("%Y-%m-%d %H:%M:%S ") + text + "\n")
    sys.stderr.flush()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
