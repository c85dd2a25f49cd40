"""`commit confirmed` on a shared PostgreSQL store: the watcher's lock lives in the server, so a
session on another machine can tell whether the watcher runs and, when its machine went down,
start a new one that rolls back (docs/safety.md, docs/postgresql.md)."""
from __future__ import annotations

import os
import signal
import time

from conftest import assert_ok, journal_user
from tests.cli.test_confirmed import wait_for
from tests.infra.postgres import PASSWORD

from cmshell.safety import confirm
from cmshell.store import open_store

ME = journal_user()


def watcher_pid(url: str, token: str) -> int | None:
    with open_store(url) as store:
        got = store.get_state(confirm.NAMESPACE, [f"confirm/watcher/{token}"])
    rec = got.get(f"confirm/watcher/{token}")
    return rec["pid"] if isinstance(rec, dict) else None


def pending(url: str):
    with open_store(url) as store:
        return confirm.pending(store)


def test_a_watcher_whose_machine_went_down_is_replaced_from_another_machine(cm, pg_demo, tmp_path):
    url = pg_demo
    res = cm.process("-c", "device use node001; set notes unconfirmed; home; commit confirmed 1", db=url)
    assert_ok(res)
    token = pending(url).token
    pid = wait_for(lambda: watcher_pid(url, token))
    # the store reached the watcher through its environment: its command line has no password
    with open(f"/proc/{pid}/cmdline", "rb") as fh:
        assert PASSWORD.encode() not in fh.read()
    with open_store(url) as store:
        assert confirm.watcher_alive(store, token)         # a server-side lock, seen from here

    os.kill(pid, signal.SIGKILL)                            # the first machine goes down …
    with open_store(url) as store:
        wait_for(lambda: not confirm.watcher_alive(store, token))
        p = confirm.pending(store)
        p.deadline = time.time() - confirm.GRACE - 1       # … and stays down past the deadline
        confirm.put(store, p)

    # another machine: its own home, cache and working directory; only the server is shared
    other = tmp_path / "other-machine"
    other.mkdir()
    env = {"HOME": str(other), "XDG_CACHE_HOME": str(other / "cache"), "USER": "bob", "LOGNAME": "bob"}
    res = cm.process("-c", "device use node002; set notes bob; commit", db=url, env=env)
    assert res.returncode == 1 and "awaits confirmation" in res.stderr, str(res)
    wait_for(lambda: pending(url) is None)
    res = cm("-c", "device get node001 notes; journal -n 1", db=url)
    assert_ok(res)
    assert res.stdout.splitlines()[0] == ""
    assert f"automatic rollback: commit 2 by {ME} not confirmed within 1 minute" in res.stdout
    assert os.path.exists(other / "cache" / "cmshell" / "confirm.log")     # the new watcher ran there
    assert not any(p.name.endswith(".locks") for p in tmp_path.rglob("*"))  # no lock file anywhere
