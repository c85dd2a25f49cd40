"""The journal as field-level deltas: what is stored, going back (state_at), compaction
(prune, retention), batched commits and the migration of version-2 stores. The tests of the
Store protocol run against SQLite and a real PostgreSQL."""
from __future__ import annotations

import copy
import json
import os
import random
import sqlite3

import pytest

from cmshell.store import Change, SqliteStore, StoreError, new_id, open_store
from cmshell.store import delta as jd


@pytest.fixture(params=["sqlite", "postgres"])
def store(request, tmp_path):
    s = open_store(request.getfixturevalue("pg_url") if request.param == "postgres" else tmp_path / "j.db")
    yield s
    s.close()


def one_value(store, sql: str, *params):
    """The first column of the first row of `sql` (with ? marks, as the store's dialect of the
    journal takes them: store/sql_journal.py) on the store's own connection."""
    value = store._rows(store._sql(sql), params)[0][0]
    return bytes(value) if isinstance(value, memoryview) else value


def docs_of(store) -> dict[str, tuple[str, str, dict]]:
    """id -> (mode, name, doc) of every object now."""
    out = {}
    for mode in ("device", "category"):
        for r in store.load(mode):
            out[r.id] = (mode, r.name, r.doc)
    return out


# -- the codec ----------------------------------------------------------------------------------
@pytest.mark.parametrize("names", [
    [], ["node001"], ["node001", "node002", "node003", "gpu", "node005"], ["n9", "n10", "n11"],
    ["a1", "a01", "a001", "a002"], ["x", "y1", "y2", "z"], ["n٣", "n٤"], ["node099", "node100", "node101"],
])
def test_name_runs_round_trip(names):
    assert jd.expand_name_runs(jd.name_runs(names)) == names


def test_runs_are_short_for_ranges():
    names = [f"node{i:05d}" for i in range(1, 8751)]
    assert jd.name_runs(names) == [["node", 1, 5, 8750]]
    assert jd.int_runs(range(10, 20)) == [[10, 10]]
    assert jd.value_runs([0] * 5 + [1]) == [[0, 5], [1, 1]]


def test_field_delta_tells_types_apart():
    assert jd.field_delta({"a": 1, "b": 2, "c": 3}, {"a": 1, "b": 5, "d": 4}) == ({"b": 2, "c": 3}, {"b": 5, "d": 4})
    assert jd.field_delta({"a": 1}, {"a": True}) == ({"a": 1}, {"a": True})
    assert jd.field_delta({"a": [1]}, {"a": [1.0]}) == ({"a": [1]}, {"a": [1.0]})
    assert jd.field_delta({"a": {"x": [1, {"y": 2}]}}, {"a": {"x": [1, {"y": 2}]}}) == ({}, {})


# -- what is stored -------------------------------------------------------------------------------
def test_a_modification_stores_only_the_changed_fields(store):
    big = {"hostname": "n1", "type": "physicalnode", "notes": "x" * 5000, "ip": "10.0.0.1"}
    oid = new_id()
    store.commit([Change(oid, "device", "n1", None, big)], user="u")
    after = dict(big, ip="10.0.0.2")
    done = store.commit([Change(oid, "device", "n1", 1, after)], user="u")
    assert done.changes[0].before == big and done.changes[0].after == after   # whole, in hand
    d = store.journal_entry(done.seq).changes[0]
    assert (d.action, d.old, d.new, d.type) == ("modified", {"ip": "10.0.0.1"}, {"ip": "10.0.0.2"}, "physicalnode")
    blob = one_value(store, "SELECT deltas FROM journal WHERE seq=?", done.seq)
    assert len(blob) < 200
    assert d.shown("hostname") == ({"type": "physicalnode", "hostname": "n1", "ip": "10.0.0.1"},
                                   {"type": "physicalnode", "hostname": "n1", "ip": "10.0.0.2"})


def test_one_value_on_many_objects_stores_one_payload(store):
    ids = [new_id() for _ in range(3000)]
    docs = [{"hostname": f"node{i:05d}", "notes": "a"} for i in range(3000)]
    store.commit([Change(i, "device", d["hostname"], None, d) for i, d in zip(ids, docs)], user="u")
    done = store.commit([Change(i, "device", d["hostname"], 1, dict(d, notes="b")) for i, d in zip(ids, docs)],
                        user="u")
    blob = one_value(store, "SELECT deltas FROM journal WHERE seq=?", done.seq)
    assert len(blob) < 300
    e = store.journal_entry(done.seq)
    assert len(e.changes) == 3000 and {(d.old["notes"], d.new["notes"]) for d in e.changes} == {("a", "b")}
    assert {d.id for d in e.changes} == set(ids)
    assert [(g.action, g.count, g.names) for g in e.groups] == [("modified", 3000, "node00000..node02999")]


def test_renames_removals_and_readds_go_back_exactly(store):
    """A random history: state_at(n) must give back every object exactly as it was."""
    rnd = random.Random(7)
    history = [{}]                                   # after commit n: id -> (mode, name, doc)
    live: dict[str, tuple[str, str, dict, int]] = {}  # id -> (mode, name, doc, revision)
    for n in range(1, 40):
        changes, names_taken = [], {v[1] for v in live.values()}
        for oid, (mode, name, doc, rev) in list(live.items()):
            roll = rnd.random()
            if roll < 0.15:
                changes.append(Change(oid, mode, name, rev, None))
            elif roll < 0.5:
                new = copy.deepcopy(doc)
                new[rnd.choice(["a", "b", "c", "l"])] = rnd.choice([1, 1.0, True, "1", None, [1, {"x": 2}]])
                if rnd.random() < 0.3:
                    new.pop(rnd.choice(list(new)), None)
                nm = name
                if rnd.random() < 0.2 and f"r{n}{name}" not in names_taken:
                    nm = f"r{n}{name}"
                changes.append(Change(oid, mode, nm, rev, new))
        for k in range(rnd.randint(0, 3)):
            nm = f"o{n}-{k}"
            changes.append(Change(new_id(), rnd.choice(["device", "category"]), nm, None, {"k": k, "type": "t"}))
        if not changes:
            continue
        done = store.commit(changes, user="u")
        for c in done.changes:
            if c.after is None:
                live.pop(c.id)
            else:
                live[c.id] = (c.mode, c.name, c.after, done.revisions[c.id])
        assert done.seq == len(history)
        history.append({i: (m, nm, d) for i, (m, nm, d, _) in live.items()})
    last = len(history) - 1
    assert docs_of(store) == history[last]
    for n in range(last + 1):
        state = store.state_at(n)
        now = dict(history[last])
        for oid, (mode, name, doc) in state.items():
            if doc is None:
                now.pop(oid, None)
            else:
                now[oid] = (mode, name, doc)
        assert now == history[n], n


def test_a_batched_commit_is_one_entry_and_all_or_nothing(store):
    def batches(prefix="n", fail_at=None):
        for b in range(4):
            if b == fail_at:
                raise RuntimeError("parse error")
            yield [Change(new_id(), "device", f"{prefix}{b}-{i}", None, {"i": i}) for i in range(10)]

    done = store.commit_stream(batches(), user="u", comment="load")
    assert len(done.changes) == 40 and len(store.journal()) == 1
    assert store.journal()[0].groups[0].count == 40
    with pytest.raises(RuntimeError):
        store.commit_stream(([Change(new_id(), "device", f"m{i}", None, {})] for i in range(3)),
                            user="u", before_commit=lambda: (_ for _ in ()).throw(RuntimeError("invalid")))
    with pytest.raises(RuntimeError):
        store.commit_stream(batches("x", fail_at=2), user="u")
    assert len(store.names("device")) == 40 and len(store.journal()) == 1
    assert store.commit_stream(iter([[], []]), user="u") is None


# -- compaction -----------------------------------------------------------------------------------
def test_prune_compacts_older_commits_into_a_snapshot(store):
    a, b, c = new_id(), new_id(), new_id()
    store.commit([Change(a, "device", "a", None, {"v": 1}), Change(b, "device", "b", None, {"v": 1})], user="u")
    store.commit([Change(a, "device", "a", 1, {"v": 2})], user="u")                      # 2
    store.commit([Change(b, "device", "b", 1, None)], user="u")                          # 3
    store.commit([Change(c, "device", "c", None, {"v": 1})], user="u")                   # 4
    store.commit([Change(a, "device", "a2", 2, {"v": 3})], user="u")                     # 5
    assert store.prune_journal(2, user="admin") == 3
    entries = store.journal()
    assert [e.seq for e in entries] == [3, 4, 5]
    snap = store.journal_entry(3)
    assert snap.snapshot and snap.user == "admin" and "compacted" in snap.comment
    assert {(d.name, d.action, json.dumps(d.new)) for d in snap.changes} == {("a", "added", '{"v": 2}')}
    assert store.state_at(3) == {a: ("device", "a", {"v": 2}), c: ("device", "c", None)}
    assert store.state_at(0) == {a: ("device", "a", None), c: ("device", "c", None)}
    with pytest.raises(StoreError, match="compacted"):
        store.state_at(2)
    assert store.prune_journal(2) == 0                    # the snapshot and two commits: nothing to do
    assert store.prune_journal(0) == 3
    assert [e.seq for e in store.journal()] == [5]
    assert {d.name for d in store.journal_entry(5).changes} == {"a2", "c"}
    n = store.commit([Change(c, "device", "c", 1, {"v": 9})], user="u").seq
    assert n == 6                                          # commit numbers go on


def test_retention_compacts_after_commits(store):
    assert store.journal_retention() is None
    store.set_journal_retention(5)
    assert store.journal_retention() == 5
    oid = new_id()
    store.commit([Change(oid, "device", "x", None, {"v": 0})], user="u")
    for v in range(1, 30):
        store.commit([Change(oid, "device", "x", v, {"v": v})], user="u")
        assert len(store.journal()) <= 5 + 1 + 10
    assert store.journal()[0].comment.startswith("Snapshot")
    store.set_journal_retention(None)
    assert store.journal_retention() is None


# -- migration ------------------------------------------------------------------------------------
_V2 = """
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE objects(id TEXT PRIMARY KEY, mode TEXT NOT NULL, name TEXT NOT NULL,
                     revision INTEGER NOT NULL, doc TEXT NOT NULL);
CREATE UNIQUE INDEX objects_mode_name ON objects(mode, name);
CREATE TABLE journal(seq INTEGER PRIMARY KEY AUTOINCREMENT, time REAL NOT NULL, user TEXT NOT NULL,
                     comment TEXT NOT NULL, objects TEXT NOT NULL, changes TEXT NOT NULL);
CREATE TABLE backend_state(backend TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
                           PRIMARY KEY(backend, key));
INSERT INTO meta VALUES('schema_version', '2');
"""


def v2_store(path) -> dict:
    """A version-2 store (whole documents in the journal) with a history: add, modify, rename,
    remove. The ids by name."""
    ids = {"a": new_id(), "b": new_id()}
    conn = sqlite3.connect(str(path))
    conn.execute("PRAGMA journal_mode=WAL")
    conn.executescript(_V2)
    history = [
        (10.0, "alice", "add", [(ids["a"], "a", None, {"hostname": "a", "type": "physicalnode", "v": 1}),
                                (ids["b"], "b", None, {"hostname": "b", "v": 1})]),
        (11.0, "bob", "", [(ids["a"], "a", {"hostname": "a", "type": "physicalnode", "v": 1},
                            {"hostname": "a", "type": "physicalnode", "v": 2})]),
        (12.0, "bob", "rename", [(ids["a"], "a2", {"hostname": "a", "type": "physicalnode", "v": 2},
                                  {"hostname": "a2", "type": "physicalnode", "v": 2})]),
        (13.0, "carol", "", [(ids["b"], "b", {"hostname": "b", "v": 1}, None)]),
    ]
    for when, user, comment, changes in history:
        objs = [["device", n, "removed" if af is None else "added" if bf is None else "modified"]
                for _, n, bf, af in changes]
        chs = [{"id": i, "mode": "device", "name": n, "before": bf, "after": af} for i, n, bf, af in changes]
        conn.execute("INSERT INTO journal(time, user, comment, objects, changes) VALUES(?,?,?,?,?)",
                     (when, user, comment, json.dumps(objs), json.dumps(chs)))
    conn.execute("INSERT INTO objects VALUES(?, 'device', 'a2', 3, ?)",
                 (ids["a"], json.dumps({"hostname": "a2", "type": "physicalnode", "v": 2})))
    conn.commit()
    conn.close()
    return ids


def test_a_version_2_store_is_migrated_with_a_backup(tmp_path):
    path = tmp_path / "v2.db"
    ids = v2_store(path)
    with open_store(path) as s:
        assert s.backup_path == f"{path}.v2.bak" and os.path.exists(s.backup_path)
        assert [(e.seq, e.user, e.comment, e.time) for e in s.journal()] == [
            (1, "alice", "add", 10.0), (2, "bob", "", 11.0), (3, "bob", "rename", 12.0), (4, "carol", "", 13.0)]
        ren = s.journal_entry(3).changes[0]
        assert (ren.name, ren.old_name, ren.old, ren.new) == ("a2", "a", {"hostname": "a"}, {"hostname": "a2"})
        assert s.state_at(0) == {ids["a"]: ("device", "a", None), ids["b"]: ("device", "b", None)}
        assert s.state_at(1) == {ids["a"]: ("device", "a", {"hostname": "a", "type": "physicalnode", "v": 1}),
                                 ids["b"]: ("device", "b", {"hostname": "b", "v": 1})}
        assert s.commit([Change(new_id(), "device", "c", None, {})], user="u").seq == 5
    backup = sqlite3.connect(f"{path}.v2.bak")
    assert backup.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone() == ("2",)
    assert backup.execute("SELECT COUNT(*) FROM journal").fetchone() == (4,)
    backup.close()
    with open_store(path) as s:                     # opened again: nothing more to do
        assert s.backup_path is None


def test_a_failed_migration_leaves_the_store_as_it_was(tmp_path):
    path = tmp_path / "v2.db"
    v2_store(path)
    conn = sqlite3.connect(str(path))
    conn.execute("UPDATE journal SET changes='not json' WHERE seq=3")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="entry 3 is damaged"):
        open_store(path)
    conn = sqlite3.connect(str(path))
    assert conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone() == ("2",)
    assert "changes" in [r[1] for r in conn.execute("PRAGMA table_info(journal)")]
    conn.close()


def test_a_version_3_store_gets_the_events_table_with_a_backup(tmp_path):
    path = tmp_path / "v3.db"
    with open_store(path) as s:
        s.commit([Change(new_id(), "device", "a", None, {"hostname": "a"})], user="u")
    conn = sqlite3.connect(str(path))                   # as cmsh with schema 3 left it
    conn.execute("DROP TABLE events")
    conn.execute("UPDATE meta SET value='3' WHERE key='schema_version'")
    conn.commit()
    conn.close()
    with open_store(path) as s:
        assert s.backup_path == f"{path}.v3.bak" and os.path.exists(s.backup_path)
        assert s.names("device") == ["a"] and len(s.journal()) == 1
        assert s.event_seq() == 0
        s.publish([{"kind": "restarted"}])
        assert s.events_after(0) == [(1, {"kind": "restarted"})]
    conn = sqlite3.connect(str(path))
    assert conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone() == ("4",)
    conn.close()
    backup = sqlite3.connect(f"{path}.v3.bak")
    assert backup.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone() == ("3",)
    backup.close()


def test_a_version_3_postgres_schema_is_migrated(pg_url):
    import psycopg
    with open_store(pg_url) as s:
        s.commit([Change(new_id(), "device", "a", None, {"hostname": "a"})], user="u")
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("DROP TABLE events")
        conn.execute("UPDATE schema_version SET version=3")
    with open_store(pg_url) as s:
        assert s.names("device") == ["a"]
        s.publish([{"kind": "restarted"}])
        assert s.events_after(0) == [(1, {"kind": "restarted"})]
    with psycopg.connect(pg_url) as conn:
        assert [r[0] for r in conn.execute("SELECT version FROM schema_version ORDER BY version")] == [3, 4]
        conn.execute("UPDATE schema_version SET version=99")
        conn.commit()
    with pytest.raises(StoreError, match="unsupported schema version 99"):
        open_store(pg_url)


def test_long_name_lists_stay_out_of_the_summary(store):
    ids = {f"n{i:03d}": new_id() for i in range(0, 400, 2)}          # every other name: long text
    store.commit([Change(i, "device", n, None, {"hostname": n}) for n, i in ids.items()], user="u")
    store.commit([Change(i, "device", f"r{k:03d}", None, {}) for k, i in enumerate([new_id() for _ in range(300)])],
                 user="u")
    scattered, ranged = store.journal()
    (g,) = scattered.groups
    assert (g.count, g.names, g.complete, g.first[:2]) == (200, "", False, ("n000", "n002"))
    (g,) = ranged.groups
    assert (g.count, g.names, g.complete) == (300, "r000..r299", True)
    assert one_value(store, "SELECT length(summary) FROM journal WHERE seq=?", scattered.seq) < 200
    full = jd.groups_of(((c.mode, c.name, c.action) for c in store.journal_entry(scattered.seq).changes), full=True)
    assert full[0].names == ",".join(sorted(ids)) and full[0].complete


def test_changes_that_carry_their_base_record_are_written_without_reading_it(store):
    from cmshell.store import ConflictError, Record
    a, b = new_id(), new_id()
    store.commit([Change(a, "device", "a", None, {"v": 1}), Change(b, "device", "b", None, {"v": 1})], user="u")
    ra, rb = (store.get("device", n) for n in ("a", "b"))
    if isinstance(store, SqliteStore):      # SQLite gives where it keeps them; PostgreSQL: None
        assert ra.rowid is not None and ra.jkey is not None
    done = store.commit([Change(a, "device", "a", 1, {"v": 2}, base=ra)], user="u")
    assert done.changes[0].before == {"v": 1} and store.get("device", "a").doc == {"v": 2}
    with pytest.raises(ConflictError, match=r"changed by another session \(revision 2, you started from 1\)"):
        store.commit([Change(a, "device", "a", 1, {"v": 3}, base=ra)], user="u")     # a stale base
    wrong = Record(b, "device", "b", 1, rb.doc, ra.rowid, rb.jkey)            # a row that moved
    done = store.commit([Change(b, "device", "b2", 1, {"v": 5}, base=wrong)], user="u")
    assert store.get("device", "b2").doc == {"v": 5} and store.get("device", "a").doc == {"v": 2}
    assert store.journal_entry(done.seq).changes[0].old_name == "b"
