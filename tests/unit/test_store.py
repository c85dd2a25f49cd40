"""The stores: files, commits, conflicts, journal, errors, two processes. Every test of the
Store protocol runs against SQLite and a real PostgreSQL (`db` is a file path or a
postgresql:// URL); those about SQLite files take `sqlite_db`."""
from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:       # plain `pytest tests/` (no __init__.py, no install)
    sys.path.insert(0, str(ROOT))

from cmshell.store import (  # noqa: E402
    Change, ConflictError, JournalEntry, ObjectChange, Record, SqliteStore, StoreError, new_id, open_store,
)
from cmshell.store.base import ObjectDelta  # noqa: E402


# -- helpers ---------------------------------------------------------------------------

from tests.conftest import dump_tables as dump  # noqa: E402


def add(store, mode, name, doc=None, *, user="root") -> str:
    oid = new_id()
    store.commit([Change(oid, mode, name, None, doc if doc is not None else {"hostname": name})],
                 user=user)
    return oid


@pytest.fixture
def sqlite_db(tmp_path):
    return tmp_path / "state" / "cmsh.db"


@pytest.fixture(params=["sqlite", "postgres"])
def db(request, sqlite_db):
    """The store, one of each kind: a file path, or the URL of a PostgreSQL schema of its own."""
    if request.param == "postgres":
        return request.getfixturevalue("pg_url")
    return sqlite_db


@pytest.fixture
def store(db):
    s = open_store(db)
    yield s
    s.close()


def mode_bits(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


# -- files -----------------------------------------------------------------------------

def test_new_store_file_modes(sqlite_db):
    old = os.umask(0o022)
    try:
        s = SqliteStore(sqlite_db)
    finally:
        os.umask(old)
    try:
        assert mode_bits(sqlite_db) == 0o600
        assert mode_bits(sqlite_db.parent) == 0o700
        assert s.is_empty()
        add(s, "device", "node001")
        wal = Path(str(sqlite_db) + "-wal")
        assert wal.exists()                    # while the store is open
        assert mode_bits(wal) == 0o600
        shm = Path(str(sqlite_db) + "-shm")
        if shm.exists():
            assert mode_bits(shm) == 0o600
        assert not s.is_empty()
    finally:
        s.close()


def test_wal_mode_schema_and_reopen(sqlite_db):
    s = open_store(sqlite_db)
    oid = add(s, "device", "node001", {"hostname": "node001", "ip": "10.141.0.1"})
    s.close()
    s.close()                                   # idempotent
    conn = sqlite3.connect(str(sqlite_db))
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0] == "4"
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"objects", "journal", "meta"} <= tables
    conn.close()
    with open_store(sqlite_db) as s2:
        assert s2.get("device", "node001") == Record(oid, "device", "node001", 1,
                                                     {"hostname": "node001", "ip": "10.141.0.1"})


def test_open_is_read_only_when_schema_exists(sqlite_db):
    open_store(sqlite_db).close()
    # another process holds the write lock: opening must not need it
    holder = sqlite3.connect(str(sqlite_db), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        t = time.monotonic()
        s = SqliteStore(sqlite_db, timeout=5)
        assert time.monotonic() - t < 1
        assert s.is_empty()
        s.close()
    finally:
        holder.execute("ROLLBACK")
        holder.close()


# -- reading and writing ---------------------------------------------------------------

def test_insert_get_names_load(store):
    ids = {}
    changes = []
    for name in ["node003", "node001", "node002"]:
        ids[name] = new_id()
        changes.append(Change(ids[name], "device", name, None, {"hostname": name, "roles": []}))
    cat = new_id()
    changes.append(Change(cat, "category", "default", None, {"name": "default"}))
    revs = store.commit(changes, user="alice", comment="initial").revisions
    assert revs == {**{i: 1 for i in ids.values()}, cat: 1}
    assert store.names("device") == ["node001", "node002", "node003"]
    assert store.names("category") == ["default"]
    assert store.names("network") == []
    loaded = store.load("device")
    assert [r.name for r in loaded] == ["node001", "node002", "node003"]
    assert all(isinstance(r, Record) and r.revision == 1 and r.mode == "device" for r in loaded)
    assert {r.name: r.id for r in loaded} == ids
    assert loaded[0].doc == {"hostname": "node001", "roles": []}
    assert store.get("device", "node002").id == ids["node002"]
    assert store.get("device", "nope") is None
    assert store.get("category", "node001") is None
    assert store.load("network") == []


def test_unicode_and_nested_docs_round_trip(store):
    doc = {"notes": "café ☃ \"quoted\" \\ back", "n": -3, "ok": True, "none": None,
           "list": ["a", "b"], "sub": [{"name": "Docker::Host", "extra": {"x": 1.5}}]}
    add(store, "device", "nødé", doc)
    assert store.get("device", "nødé").doc == doc
    assert store.load("device")[0].doc == doc
    entry = store.journal_entry(store.journal()[-1].seq)
    assert entry.changes[0].new == doc
    assert entry.changes[0].name == "nødé"


def test_update_bumps_revision(store):
    oid = add(store, "device", "node001")
    revs = store.commit([Change(oid, "device", "node001", 1, {"hostname": "node001", "ip": "1"})],
                        user="root").revisions
    assert revs == {oid: 2}
    revs = store.commit([Change(oid, "device", "node001", 2, {"hostname": "node001", "ip": "2"})],
                        user="root").revisions
    assert revs == {oid: 3}
    rec = store.get("device", "node001")
    assert (rec.revision, rec.doc["ip"]) == (3, "2")


def test_remove(store):
    a = add(store, "device", "node001")
    b = add(store, "device", "node002")
    revs = store.commit([Change(a, "device", "node001", 1, None)], user="root").revisions
    assert revs == {}
    assert store.names("device") == ["node002"]
    assert store.get("device", "node001") is None
    # the name is free again; a new object gets a new identity
    c = add(store, "device", "node001")
    assert store.get("device", "node001").id == c != a
    assert store.get("device", "node002").id == b


def test_remove_last_object_makes_store_empty(store):
    a = add(store, "device", "node001")
    store.commit([Change(a, "device", "node001", 1, None)], user="root")
    assert store.is_empty()


def test_rename_keeps_identity(store):
    a = add(store, "device", "node001")
    revs = store.commit([Change(a, "device", "node100", 1, {"hostname": "node100"})], user="root").revisions
    assert revs == {a: 2}
    assert store.names("device") == ["node100"]
    rec = store.get("device", "node100")
    assert (rec.id, rec.revision, rec.doc) == (a, 2, {"hostname": "node100"})


def test_swap_and_rotate_names(store):
    a = add(store, "device", "a")
    b = add(store, "device", "b")
    c = add(store, "device", "c")
    store.commit([Change(a, "device", "b", 1, {"hostname": "b", "was": "a"}),
                  Change(b, "device", "a", 1, {"hostname": "a", "was": "b"})], user="root")
    assert store.get("device", "a").id == b
    assert store.get("device", "b").id == a
    # rotation of three: a->b, b->c, c->a (the objects now named a, b, c are b, a, c)
    store.commit([Change(b, "device", "b", 2, {"r": 1}),
                  Change(a, "device", "c", 2, {"r": 2}),
                  Change(c, "device", "a", 1, {"r": 3})], user="root")
    assert {r.name: (r.id, r.revision) for r in store.load("device")} == {
        "a": (c, 2), "b": (b, 3), "c": (a, 3)}


def test_rename_then_reuse_old_name_in_same_commit(store):
    a = add(store, "device", "node001")
    b = add(store, "device", "node002")
    n = new_id()
    store.commit([Change(n, "device", "node001", None, {"new": True}),        # takes a's old name
                  Change(a, "device", "node003", 1, {"hostname": "node003"}),
                  Change(b, "device", "node002", 1, None),                   # frees node002 ...
                  Change(new_id(), "device", "node002", None, {"again": 1})],  # ... reused
                 user="root")
    recs = {r.name: r for r in store.load("device")}
    assert sorted(recs) == ["node001", "node002", "node003"]
    assert recs["node001"].id == n and recs["node001"].revision == 1
    assert recs["node003"].id == a and recs["node003"].revision == 2
    assert recs["node002"].id != b and recs["node002"].doc == {"again": 1}


def test_same_name_in_different_modes(store):
    add(store, "device", "default")
    add(store, "category", "default")
    assert store.names("device") == ["default"] and store.names("category") == ["default"]


def test_empty_commit_does_nothing(store, db):
    before = dump(db)
    assert store.commit([], user="root") is None
    assert dump(db) == before


# -- conflicts -------------------------------------------------------------------------

def test_stale_revision_from_second_store(db):
    s1, s2 = open_store(db), open_store(db)
    try:
        a = add(s1, "device", "node001")
        b = add(s1, "device", "node002")
        mine = s2.get("device", "node001")                       # revision 1
        s1.commit([Change(a, "device", "node001", 1, {"by": "s1"})], user="s1")
        before = dump(db)
        with pytest.raises(ConflictError) as err:
            s2.commit([Change(b, "device", "node002", 1, {"by": "s2"}),      # fine on its own
                       Change(mine.id, "device", "node001", mine.revision, {"by": "s2"})],
                      user="s2")
        msg = str(err.value)
        assert msg == ("Commit refused: device node001 was changed by another session "
                       "(revision 2, you started from 1); refresh and try again")
        assert "\n" not in msg
        assert dump(db) == before
        assert s2.get("device", "node001").doc == {"by": "s1"}
        assert s2.get("device", "node002").revision == 1
    finally:
        s1.close()
        s2.close()


def test_stale_removal_and_update_of_removed_object(db):
    s1, s2 = open_store(db), open_store(db)
    try:
        a = add(s1, "device", "node001")
        s1.commit([Change(a, "device", "node001", 1, {"x": 1})], user="s1")
        before = dump(db)
        with pytest.raises(ConflictError, match="revision 2, you started from 1"):
            s2.commit([Change(a, "device", "node001", 1, None)], user="s2")
        assert dump(db) == before
        s1.commit([Change(a, "device", "node001", 2, None)], user="s1")
        before = dump(db)
        with pytest.raises(ConflictError, match="node001 was removed by another session"):
            s2.commit([Change(a, "device", "node001", 2, {"x": 2})], user="s2")
        assert dump(db) == before
    finally:
        s1.close()
        s2.close()


def test_name_collision_on_insert_writes_nothing(store, db):
    a = add(store, "device", "node001")
    add(store, "device", "node100")
    before = dump(db)
    with pytest.raises(ConflictError) as err:
        store.commit([Change(a, "device", "node001", 1, {"changed": True}),
                      Change(new_id(), "device", "node050", None, {}),
                      Change(new_id(), "device", "node100", None, {})], user="root")
    assert str(err.value) == "Commit refused: device node100 already exists"
    assert dump(db) == before
    # the store is still usable afterwards
    assert store.commit([Change(a, "device", "node001", 1, {"changed": True})], user="root").revisions == {a: 2}


def test_name_collision_on_rename_writes_nothing(store, db):
    a = add(store, "device", "node001")
    add(store, "device", "node002")
    c = add(store, "device", "node003")
    before = dump(db)
    with pytest.raises(ConflictError, match=r"^Commit refused: device node002 already exists$"):
        store.commit([Change(c, "device", "node009", 1, {}),
                      Change(a, "device", "node002", 1, {})], user="root")
    assert dump(db) == before


def test_insert_with_existing_id_is_refused(store, db):
    a = add(store, "device", "node001")
    before = dump(db)
    with pytest.raises(ConflictError, match="already exists"):
        store.commit([Change(a, "device", "node001", None, {})], user="root")
    with pytest.raises(ConflictError, match="already exists"):
        store.commit([Change(a, "device", "node777", None, {})], user="root")
    assert dump(db) == before


def test_same_target_twice_in_one_commit(store, db):
    before = dump(db)
    with pytest.raises(ConflictError, match="node001"):
        store.commit([Change(new_id(), "device", "node001", None, {}),
                      Change(new_id(), "device", "node001", None, {})], user="root")
    oid = new_id()
    with pytest.raises(StoreError):
        store.commit([Change(oid, "device", "x", None, {}), Change(oid, "device", "y", None, {})],
                     user="root")
    with pytest.raises(StoreError):
        store.commit([Change(oid, "device", "x", None, {"bad": object()})], user="root")
    assert dump(db) == before


# -- journal ---------------------------------------------------------------------------

def test_journal(store):
    assert store.journal() == []
    t0 = time.time()
    a, b = new_id(), new_id()
    store.commit([Change(a, "device", "node001", None, {"v": 1}),
                  Change(b, "device", "node002", None, {"v": 1})], user="alice", comment="add two")
    store.commit([Change(a, "device", "node010", 1, {"v": 2})], user="bob")
    store.commit([Change(b, "device", "node002", 1, None)], user="carol", comment="bye")
    entries = store.journal()
    assert [e.seq for e in entries] == sorted(e.seq for e in entries)
    assert [(e.user, e.comment) for e in entries] == [("alice", "add two"), ("bob", ""),
                                                       ("carol", "bye")]
    assert all(isinstance(e, JournalEntry) for e in entries)
    assert all(t0 - 1 <= e.time <= time.time() + 1 for e in entries)
    assert [[(g.mode, g.action, g.count, g.names) for g in e.groups] for e in entries] == [
        [("device", "added", 2, "node001,node002")],
        [("device", "modified", 1, "node010")],
        [("device", "removed", 1, "node002")],
    ]
    assert [e.seq for e in store.journal(2)] == [entries[1].seq, entries[2].seq]
    assert store.journal(0) == []
    assert store.journal_head(entries[1].seq) == entries[1]
    assert store.journal_head(10_000) is None

    first = store.journal_entry(entries[0].seq)
    assert first.user == "alice" and first.groups == entries[0].groups
    assert first.changes == (
        ObjectDelta(a, "device", "node001", "added", None, {"v": 1}),
        ObjectDelta(b, "device", "node002", "added", None, {"v": 1}),
    )
    assert store.journal_entry(entries[1].seq).changes == (
        ObjectDelta(a, "device", "node010", "modified", {"v": 1}, {"v": 2}, old_name="node001"),)
    assert store.journal_entry(entries[2].seq).changes == (
        ObjectDelta(b, "device", "node002", "removed", {"v": 1}, None),)
    assert store.journal_entry(10_000) is None


def test_journal_before_is_read_inside_the_transaction(db):
    s1, s2 = open_store(db), open_store(db)
    try:
        a = add(s1, "device", "n")
        s1.commit([Change(a, "device", "n", 1, {"v": "s1"})], user="s1")
        # s2 commits from the current revision: the before doc must be s1's
        rev = s2.get("device", "n").revision
        s2.commit([Change(a, "device", "n", rev, {"v": "s2"})], user="s2")
        last = s2.journal_entry(s2.journal(1)[0].seq)
        assert last.changes[0].old == {"v": "s1"} and last.changes[0].new == {"v": "s2"}
    finally:
        s1.close()
        s2.close()


def test_failed_commit_adds_no_journal_entry(store):
    a = add(store, "device", "node001")
    n = len(store.journal())
    with pytest.raises(ConflictError):
        store.commit([Change(a, "device", "node001", 7, {})], user="root")
    assert len(store.journal()) == n


# -- errors ----------------------------------------------------------------------------

def test_not_a_database(tmp_path):
    path = tmp_path / "garbage.db"
    path.write_bytes(b"this is not an sqlite file at all" * 200)
    with pytest.raises(StoreError) as err:
        open_store(path)
    assert str(path) in str(err.value) and "\n" not in str(err.value)


def test_path_is_a_directory(tmp_path):
    with pytest.raises(StoreError) as err:
        open_store(tmp_path)
    assert str(tmp_path) in str(err.value)


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores file permissions")
def test_permission_denied(tmp_path):
    path = tmp_path / "cmsh.db"
    open_store(path).close()
    os.chmod(path, 0o000)
    try:
        with pytest.raises(StoreError) as err:
            open_store(path)
        assert str(path) in str(err.value)
    finally:
        os.chmod(path, 0o600)


def test_locked_after_timeout(sqlite_db):
    s = SqliteStore(sqlite_db, timeout=0.3)
    a = add(s, "device", "node001")
    holder = sqlite3.connect(str(sqlite_db), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        t = time.monotonic()
        with pytest.raises(StoreError) as err:
            s.commit([Change(a, "device", "node001", 1, {"x": 1})], user="root")
        assert 0.2 <= time.monotonic() - t < 5
        assert not isinstance(err.value, ConflictError)
        assert str(sqlite_db) in str(err.value) and "locked" in str(err.value)
        assert s.get("device", "node001").revision == 1     # reads still work (WAL)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert s.commit([Change(a, "device", "node001", 1, {"x": 1})], user="root").revisions == {a: 2}
    s.close()


def test_closed_store(db):
    s = open_store(db)
    s.close()
    with pytest.raises(StoreError, match="closed"):
        s.names("device")


# -- two processes ---------------------------------------------------------------------

CHILD_ENV = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}

RACE_CHILD = r"""
import os, sys, time
from cmshell.store import open_store, Change, ConflictError
db, me, go = sys.argv[1], sys.argv[2], sys.argv[3]
s = open_store(db)
rec = s.get("device", "node001")
print("ready", rec.revision, flush=True)
while not os.path.exists(go):
    time.sleep(0.002)
try:
    s.commit([Change(rec.id, "device", "node001", rec.revision, {**rec.doc, "by": me})], user=me)
    print("ok", flush=True)
except ConflictError as e:
    print("conflict", e, flush=True)
"""


def test_two_processes_conflicting_commits(db, tmp_path):
    s = open_store(db)
    add(s, "device", "node001", {"hostname": "node001"})
    n_journal = len(s.journal())
    go = tmp_path / "go"
    procs = [subprocess.Popen([sys.executable, "-c", RACE_CHILD, str(db), who, str(go)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=CHILD_ENV, cwd=str(ROOT))
             for who in ("p1", "p2")]
    try:
        for p in procs:
            assert p.stdout.readline().split() == ["ready", "1"]
        go.touch()
        outs = {}
        for who, p in zip(("p1", "p2"), procs):
            out, errout = p.communicate(timeout=30)
            assert p.returncode == 0, errout
            outs[who] = out.strip()
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    winners = [w for w, o in outs.items() if o == "ok"]
    losers = [w for w, o in outs.items() if o.startswith("conflict")]
    assert len(winners) == 1 and len(losers) == 1, outs
    assert "node001 was changed by another session (revision 2, you started from 1)" in outs[losers[0]]
    rec = s.get("device", "node001")
    assert rec.revision == 2 and rec.doc == {"hostname": "node001", "by": winners[0]}
    assert len(s.journal()) == n_journal + 1
    assert s.journal(1)[0].user == winners[0]
    s.close()


COUNTER_CHILD = r"""
import sys
from cmshell.store import open_store, Change, ConflictError
db, me, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
s = open_store(db)
done = conflicts = 0
while done < n:
    rec = s.get("counter", "c")
    try:
        s.commit([Change(rec.id, "counter", "c", rec.revision, {"n": rec.doc["n"] + 1})], user=me)
        done += 1
    except ConflictError:
        conflicts += 1
print(done, conflicts)
"""


def test_two_processes_no_lost_update(db):
    s = open_store(db)
    add(s, "counter", "c", {"n": 0})
    n = 60
    procs = [subprocess.Popen([sys.executable, "-c", COUNTER_CHILD, str(db), who, str(n)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=CHILD_ENV, cwd=str(ROOT))
             for who in ("p1", "p2")]
    for p in procs:
        out, errout = p.communicate(timeout=60)
        assert p.returncode == 0, errout
        assert int(out.split()[0]) == n
    rec = s.get("counter", "c")
    assert rec.doc == {"n": 2 * n}
    assert rec.revision == 2 * n + 1
    assert len(s.journal()) == 2 * n + 1
    s.close()


def test_four_processes_of_five_hundred_commits_lose_no_update(db):
    s = open_store(db)
    oid = add(s, "counter", "c", {"n": 0})
    n, writers = 500, 4
    procs = [subprocess.Popen([sys.executable, "-c", COUNTER_CHILD, str(db), f"p{i}", str(n)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=CHILD_ENV, cwd=str(ROOT))
             for i in range(writers)]
    for p in procs:
        out, errout = p.communicate(timeout=600)
        assert p.returncode == 0, errout
        assert int(out.split()[0]) == n
    rec = s.get("counter", "c")
    assert rec.doc == {"n": n * writers} and rec.revision == n * writers + 1
    assert [e.seq for e in s.journal()] == list(range(1, n * writers + 2))     # commit order, no gaps
    assert s.state_at(1)[oid][2] == {"n": 0}
    s.close()


def test_foreign_sqlite_database_is_refused(tmp_path):
    path = tmp_path / "other.db"
    conn = sqlite3.connect(str(path))
    conn.execute("CREATE TABLE songs(title TEXT)")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="not a cmsh store"):
        open_store(path)
    conn = sqlite3.connect(str(path))
    assert {r[0] for r in conn.execute("SELECT name FROM sqlite_master")} == {"songs"}
    conn.close()


def test_a_version_1_store_is_migrated_on_open_and_keeps_its_data(tmp_path):
    import json
    import sqlite3 as sq
    path = tmp_path / "old.db"
    oid = new_id()
    conn = sq.connect(str(path))                       # a version-1 store, as cmsh 0.1 wrote it
    conn.executescript("""
        CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT);
        CREATE TABLE objects(id TEXT PRIMARY KEY, mode TEXT NOT NULL, name TEXT NOT NULL,
                             revision INTEGER NOT NULL, doc TEXT NOT NULL);
        CREATE UNIQUE INDEX objects_mode_name ON objects(mode, name);
        CREATE TABLE journal(seq INTEGER PRIMARY KEY AUTOINCREMENT, time REAL NOT NULL,
                             user TEXT NOT NULL, comment TEXT NOT NULL, objects TEXT NOT NULL,
                             changes TEXT NOT NULL);
        INSERT INTO meta VALUES('schema_version', '1');""")
    conn.execute("INSERT INTO objects VALUES(?, 'device', 'node001', 1, '{\"hostname\":\"node001\"}')", (oid,))
    conn.execute("INSERT INTO journal(time, user, comment, objects, changes) VALUES(1, 'root', '', ?, ?)",
                 (json.dumps([["device", "node001", "added"]]),
                  json.dumps([{"id": oid, "mode": "device", "name": "node001", "before": None,
                               "after": {"hostname": "node001"}}])))
    conn.commit()
    conn.close()
    store = open_store(path)
    assert store.get("device", "node001").id == oid
    assert store.journal_entry(1).changes[0].new == {"hostname": "node001"}
    store.put_state("ssh", {"node001": {"seq": 3}, "node002": {"seq": 1}})
    store.put_state("ssh", {"node002": None})
    assert store.get_state("ssh") == {"node001": {"seq": 3}}
    assert store.get_state("ssh", ["node001", "nope"]) == {"node001": {"seq": 3}}
    store.close()


def test_scan_reads_a_mode_in_name_order_a_chunk_at_a_time(store):
    ids = {}
    for name in ["b", "a", "c", "aa"]:
        ids[name] = add(store, "device", name, {"hostname": name})
    add(store, "category", "x")
    got = list(store.scan("device", chunk=3))
    assert [(n, d) for _, n, d in got] == [(n, {"hostname": n}) for n in ["a", "aa", "b", "c"]]
    assert [i for i, _, _ in got] == [ids[n] for n in ["a", "aa", "b", "c"]]
    assert list(store.scan("network")) == []


def test_scan_by_type_orders_by_type_then_name_in_byte_order(store):
    """Objects without a string type first, then by type and name, as bytes (`Z` before `a`,
    `é` after `z`), the same in both stores; a commit that changes the type moves the object."""
    docs = {"n2": "PhysicalNode", "n1": "PhysicalNode", "sw": "Switch", "hn": "HeadNode", "x": None,
            "w": 7, "Zed": "PhysicalNode", "zz": "PhysicalNode", "éa": "PhysicalNode", "a": "Switch"}
    ids = {n: add(store, "device", n, {"hostname": n} | ({"type": t} if t is not None else {}))
           for n, t in docs.items()}
    got = [n for _, n, _ in store.scan("device", chunk=3, by_type=True)]
    assert got == ["w", "x", "hn", "Zed", "n1", "n2", "zz", "éa", "a", "sw"]
    store.commit([Change(ids["a"], "device", "a", 1, {"hostname": "a", "type": "HeadNode"})], user="u")
    assert [n for _, n, _ in store.scan("device", by_type=True)][:4] == ["w", "x", "a", "hn"]


def test_where_type_follows_commits(store):
    a = add(store, "device", "n1", {"hostname": "n1", "type": "physicalnode"})
    add(store, "device", "h2", {"hostname": "h2", "type": "headnode"})
    assert store.where("device", "type", "headnode") == ["h2"]
    store.commit([Change(a, "device", "h1", 1, {"hostname": "h1", "type": "headnode"})], user="u")
    assert store.where("device", "type", "headnode") == ["h1", "h2"]
    store.commit([Change(a, "device", "h1", 2, {"hostname": "h1", "type": "headnode", "x": 1})], user="u")
    assert store.where("device", "type", "headnode") == ["h1", "h2"]
    store.commit([Change(a, "device", "h1", 3, {"hostname": "h1"})], user="u")
    assert store.where("device", "type", "headnode") == ["h2"]
    assert store.where("device", "hostname", "h2") == ["h2"]          # any other field: a scan
