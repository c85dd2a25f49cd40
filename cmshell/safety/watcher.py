"""`CMSHELL_DB=STORE python -m cmshell.safety.watcher TOKEN`: the process that rolls back an
unconfirmed `commit confirmed` (docs/safety.md).

It forks at once (the parent exits, so the session reaps it and the watcher is re-parented
away from the session), takes the store lock of its token (one watcher per confirmation, on any
machine sharing the store), records its pid, and watches the store's pending confirmation. When
the marker is gone (confirmed) or names another token (a newer `commit confirmed` took over), it
exits. At the deadline it stages the state before the unconfirmed commits and commits it through
the ordinary Committer, with the session's backend configuration, so the rollback is journalled,
re-applied to the nodes and Kubernetes like any commit, and told to every session.
"""
from __future__ import annotations

import os
import sys
import time
from contextlib import ExitStack
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cmshell.safety.confirm import Pending
    from cmshell.store.base import Store

POLL = 1.0        # seconds between looks at the store (a shared store wakes it at each commit)
HOLD = 2.0        # seconds to retry the token's lock: a session may hold it shared for a moment


def main(argv: list[str]) -> int:
    path = os.environ.get("CMSHELL_DB")
    if len(argv) != 1 or not path:
        sys.stderr.write("usage: CMSHELL_DB=STORE python -m cmshell.safety.watcher TOKEN\n")
        return 2
    if os.fork():               # the second fork: the session's child exits now
        return 0
    token = argv[0]
    from cmshell.store import StoreError, StoreUnavailable, open_store
    try:
        store = open_store(path, create=False)
        try:
            return _watch(store, token)
        finally:
            store.close()
    except StoreUnavailable as exc:
        # its lock went with the connection: 30 s after the deadline, the first session that
        # meets the confirmation starts a new watcher (confirm.revive)
        log(f"{exc}; this watcher ends, and a session starts a new one after the deadline")
        return 1
    except StoreError as exc:
        log(str(exc))
        return 1


def _watch(store: Store, token: str) -> int:
    from cmshell.safety import confirm
    with ExitStack() as stack:
        if not _hold(stack, store, confirm.watcher_lock(token)):
            return 0                    # another watcher owns this confirmation
        me = f"confirm/watcher/{token}"
        store.put_state(confirm.NAMESPACE, {me: {"pid": os.getpid(), "host": os.uname().nodename,
                                                 "started": time.time()}})
        stack.callback(store.put_state, confirm.NAMESPACE, {me: None})
        while True:
            p = confirm.pending(store)
            if p is None or p.token != token:
                return 0                       # confirmed (the marker is gone or a new one)
            left = p.deadline - time.time()
            if left <= 0:
                break
            store.wait(min(POLL, left))
        return revert(store, p)


def _hold(stack: ExitStack, store: Store, name: str) -> bool:
    """The token's lock, for the watcher's whole life (released when `stack` closes)."""
    end = time.monotonic() + HOLD
    while True:
        held = stack.enter_context(store.lock(name, wait=False))
        if held:
            return True
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
        text = f"Automatic rollback of commits {commits} failed: {type(exc).__name__}: {exc}"
        log(text)
        _tell(store, "error", text)
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


def _tell(store: Store, severity: str, text: str) -> None:
    """Every session is told (Store.publish), whichever machine it runs on."""
    from cmshell.events import INTERNAL, Event
    try:
        ev = Event(time.time(), severity, "cmshell", text, kind=INTERNAL)
        store.publish([dict(ev.as_dict(), origin="watcher")])
    except Exception:        # noqa: BLE001 - the log has it
        pass


def log(text: str) -> None:
    sys.stderr.write(time.strftime("%Y-%m-%d %H:%M:%S ") + text + "\n")
    sys.stderr.flush()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
