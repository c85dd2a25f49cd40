"""Between the sessions of a store, for both stores: named locks (across processes and across
threads), events (publish / events_after / event_seq), waiting for another session's commit
or event, and pointers and `if_empty` checked inside the commit."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from cmshell.store import Change, ConflictError, StoreError, new_id, open_store  # noqa: E402
from tests.conftest import dump_tables  # noqa: E402

CHILD_ENV = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}


@pytest.fixture(params=["sqlite", "postgres"])
def db(request, tmp_path):
    """A new store of each kind: a file path, or the URL of a PostgreSQL schema of its own."""
    if request.param == "postgres":
        return request.getfixturevalue("pg_url")
    return str(tmp_path / "state" / "cmsh.db")


@pytest.fixture
def store(db):
    s = open_store(db)
    yield s
    s.close()


# -- named locks ------------------------------------------------------------------------------
HOLDER = r"""
import sys
from cmshell.store import open_store
db, name, shared = sys.argv[1], sys.argv[2], sys.argv[3] == "shared"
s = open_store(db)
with s.lock(name, shared=shared) as got:
    print("held", got, flush=True)
    sys.stdin.readline()                # hold until told
s.close()
"""


def holder(db: str, name: str, shared: bool = False) -> subprocess.Popen:
    p = subprocess.Popen([sys.executable, "-c", HOLDER, db, name, "shared" if shared else "x"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env=CHILD_ENV, cwd=str(ROOT))
    assert p.stdout is not None and p.stdout.readline().split() == ["held", "True"], p.stderr
    return p


def release(p: subprocess.Popen) -> None:
    out, err = p.communicate("go\n", timeout=30)
    assert p.returncode == 0, err


def test_an_exclusive_lock_of_another_process(store, db):
    p = holder(db, "ssh-node001")
    try:
        with store.lock("ssh-node001", wait=False) as got:
            assert got is False
        with store.lock("ssh-node001", wait=False, shared=True) as got:
            assert got is False
        with store.lock("ssh-node002", wait=False) as got:         # another name: free
            assert got is True
        started = time.monotonic()
        timer = threading.Timer(0.5, release, (p,))
        timer.start()
        with store.lock("ssh-node001") as got:                     # waits for the release
            assert got is True and time.monotonic() - started >= 0.4
        timer.join()
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def test_shared_locks_of_two_processes_exclude_only_exclusive_ones(store, db):
    p = holder(db, "confirm-x", shared=True)
    try:
        with store.lock("confirm-x", wait=False, shared=True) as got:
            assert got is True
        with store.lock("confirm-x", wait=False) as got:
            assert got is False
    finally:
        release(p)
    with store.lock("confirm-x", wait=False) as got:
        assert got is True


def test_two_threads_of_one_process_exclude_each_other(store):
    inside, most, errors = [0], [0], []
    lock = threading.Lock()

    def work() -> None:
        try:
            for _ in range(5):
                with store.lock("apply") as got:
                    assert got
                    with lock:
                        inside[0] += 1
                        most[0] = max(most[0], inside[0])
                    time.sleep(0.005)
                    with lock:
                        inside[0] -= 1
        except BaseException as exc:      # reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors and most[0] == 1
    with store.lock("apply") as a:                        # shared within the process
        assert a
        done = []
        t = threading.Thread(target=lambda: done.append(store.lock("apply", wait=False).__enter__()))
        t.start()
        t.join(10)
        assert done == [False]
    with store.lock("s", shared=True) as a, store.lock("s", shared=True) as b:
        assert a and b
        with store.lock("s", wait=False) as c:
            assert c is False
    with store.lock("s", wait=False) as c:
        assert c is True


def test_a_lock_name_of_any_text(store, db):
    with store.lock("a/b c") as got:
        assert got
    if not db.startswith("postgresql://"):
        assert sorted(os.listdir(db + ".locks")) == ["a%2Fb%20c.lock"]
        assert os.stat(db + ".locks").st_mode & 0o777 == 0o700


def test_sixty_four_node_locks_use_one_connection(pg_url):
    import psycopg
    s = open_store(pg_url)
    try:
        names = [f"ssh-node{i:03d}" for i in range(64)]
        held = []
        barrier = threading.Barrier(65)

        def one(name: str) -> None:
            with s.lock(name) as got:
                held.append(got)
                barrier.wait(30)
                barrier.wait(30)

        threads = [threading.Thread(target=one, args=(n,)) for n in names]
        for t in threads:
            t.start()
        barrier.wait(30)                    # all 64 held at once
        with psycopg.connect(pg_url) as other:
            conns = other.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name='cmshell'").fetchone()
            locks = other.execute("SELECT count(*) FROM pg_locks WHERE locktype='advisory' AND granted").fetchone()
        barrier.wait(30)
        for t in threads:
            t.join(30)
        assert held == [True] * 64 and locks[0] == 64
        assert conns[0] == 2                # the store's own connection, and the locks connection
    finally:
        s.close()


# -- events ------------------------------------------------------------------------------------
def test_events_are_numbered_and_the_newest_thousand_kept(store, db):
    other = open_store(db)
    try:
        assert store.event_seq() == 0 and store.events_after(0) == []
        store.publish([{"kind": "restarted", "node": "node001"}, {"kind": "failed", "node": "node002"}])
        assert other.event_seq() == 2
        assert other.events_after(0) == [(1, {"kind": "restarted", "node": "node001"}),
                                         (2, {"kind": "failed", "node": "node002"})]
        assert other.events_after(1) == [(2, {"kind": "failed", "node": "node002"})]
        other.publish([{"n": i} for i in range(1100)])
        assert store.event_seq() == 1102
        got = store.events_after(0)
        assert len(got) == 1000 and got[0] == (103, {"n": 100}) and got[-1] == (1102, {"n": 1099})
        store.publish([])
        with pytest.raises(StoreError, match="Cannot publish"):
            store.publish([{"bad": object()}])
        assert store.event_seq() == 1102
    finally:
        other.close()


def test_wait_wakes_within_a_second_for_another_sessions_commit_or_event(pg_url):
    mine, theirs = open_store(pg_url), open_store(pg_url)
    try:
        assert mine.wait(5) is True                     # the first call: connects, looks at once
        assert mine.wait(0.2) is False                  # nothing happened
        for act in (lambda: theirs.commit([Change(new_id(), "device", "n1", None, {})], user="u"),
                    lambda: theirs.publish([{"kind": "restarted"}])):
            timer = threading.Timer(0.3, act)
            started = time.monotonic()
            timer.start()
            assert mine.wait(10) is True
            assert 0.25 <= time.monotonic() - started < 1.3
            timer.join()
    finally:
        mine.close()
        theirs.close()


def test_an_sqlite_store_only_sleeps_in_wait(tmp_path):
    s = open_store(tmp_path / "w.db")
    started = time.monotonic()
    assert s.wait(0.2) is False and time.monotonic() - started >= 0.19
    s.close()


# -- pointers and if_empty, inside the commit ---------------------------------------------------
class Refs:
    """common.References for tests: a device's `category` field points at a category."""

    def referrer_modes(self, mode):
        return ["device"] if mode == "category" else []

    def refers(self, referrer_mode, doc, mode, name):
        return referrer_mode == "device" and mode == "category" and doc.get("category") == name


def test_pointers_are_checked_against_what_is_stored(store, db):
    store.references = Refs()
    cat = new_id()
    store.commit([Change(cat, "category", "default", None, {"name": "default"})], user="u")
    node = new_id()
    with pytest.raises(ConflictError, match="device node001 points at category gone, which no longer exists"):
        store.commit([Change(node, "device", "node001", None, {"category": "gone"},
                             refs=(("category", "gone"),))], user="u")
    store.commit([Change(node, "device", "node001", None, {"category": "DEFAULT"},
                         refs=(("category", "DEFAULT"),))], user="u")      # found but for case
    store.commit([Change(node, "device", "node001", 1, {"category": "default"},
                         refs=(("category", "default"),))], user="u")
    before = dump_tables(db)
    with pytest.raises(ConflictError, match="category default is used by device node001"):
        store.commit([Change(cat, "category", "default", 1, None)], user="u")
    with pytest.raises(ConflictError, match="category default is used by device node001"):
        store.commit([Change(cat, "category", "other", 1, {"name": "other"})], user="u")
    assert dump_tables(db) == before
    # a swap leaves the name taken: fine
    c2 = new_id()
    store.commit([Change(c2, "category", "x", None, {"name": "x"})], user="u")
    store.commit([Change(cat, "category", "x", 1, {"name": "x"}), Change(c2, "category", "default", 1, {})],
                 user="u")


def test_if_empty_is_checked_inside_the_commit(store, db):
    store.commit([Change(new_id(), "device", "a", None, {})], user="u", if_empty=True)
    before = dump_tables(db)
    with pytest.raises(ConflictError, match="the store is not empty"):
        store.commit([Change(new_id(), "device", "b", None, {})], user="u", if_empty=True)
    with pytest.raises(ConflictError, match="the store is not empty"):
        store.commit_stream([[Change(new_id(), "device", "b", None, {})]], user="u", if_empty=True)
    assert dump_tables(db) == before
