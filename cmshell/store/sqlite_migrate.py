"""The SQLite store's schema, its versions, and the migrations of older stores.

Schema versions: 1 (no backend_state), 2 (whole documents before and after in the journal),
3 (field-level deltas in the journal), 4 (this one: events between sessions). An older store is
migrated when opened, in one transaction (the store's), after a copy of the file is written
beside it (``<store>.v<N>.bak``, `backup`).
"""
from __future__ import annotations

import os
import re
import sqlite3
from collections.abc import Callable

from . import delta as jd
from .base import ADDED, MODIFIED, REMOVED, StoreError
from .common import dumps, loads, one_line, paused_gc

SCHEMA_VERSION = 4

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS objects(
    id TEXT PRIMARY KEY,
    mode TEXT NOT NULL,
    name TEXT NOT NULL,
    revision INTEGER NOT NULL,
    doc TEXT NOT NULL,
    jkey INTEGER,
    kind TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS objects_mode_name ON objects(mode, name);
CREATE INDEX IF NOT EXISTS objects_type_name ON objects(mode, kind, name);
CREATE TABLE IF NOT EXISTS journal(
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    time REAL NOT NULL,
    user TEXT NOT NULL,
    comment TEXT NOT NULL,
    summary TEXT NOT NULL,
    deltas BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS object_keys(
    key INTEGER PRIMARY KEY,
    id TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS backend_state(
    backend TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY(backend, key)
);
CREATE TABLE IF NOT EXISTS events(
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    time REAL NOT NULL,
    payload TEXT NOT NULL
);
"""

# the statements of the migrations that create tables (see _to_v2); _to_v3 and _to_v4 create
# SCHEMA's; _to_v3 renames the old journal to journal_v2, dropped in the same transaction
_V2_SQL = ("CREATE TABLE IF NOT EXISTS backend_state(backend TEXT NOT NULL, key TEXT NOT NULL,"
           " value TEXT NOT NULL, PRIMARY KEY(backend, key))")


def own_tables() -> set[str]:
    """The tables a cmsh store has (any version): what SCHEMA and the migrations create."""
    return set(re.findall(r"CREATE TABLE (?:IF NOT EXISTS )?(\w+)", SCHEMA + _V2_SQL)) | {"sqlite_sequence"}


def create(conn: sqlite3.Connection) -> None:
    """SCHEMA's tables and indexes (those missing)."""
    for stmt in SCHEMA.split(";"):
        if stmt.strip():
            conn.execute(stmt)


def new_keys(conn: sqlite3.Connection, ids: list[str]) -> list[int]:
    """New journal keys (object_keys) for these ids."""
    start = conn.execute("SELECT COALESCE(MAX(key), 0) FROM object_keys").fetchone()[0] + 1
    keys = list(range(start, start + len(ids)))
    conn.executemany("INSERT INTO object_keys(key, id) VALUES(?,?)", zip(keys, ids))
    return keys


def migrate(conn: sqlite3.Connection, version: int, shown: str) -> int:
    """Bring a store of `version` up to SCHEMA_VERSION inside the caller's transaction; the
    version it is at then (one this cmsh does not know stays as it is)."""
    while version in MIGRATIONS:
        MIGRATIONS[version](conn, shown)
        version += 1
    conn.execute("UPDATE meta SET value=? WHERE key='schema_version'", (str(version),))
    return version


def backup(path: str, version: int, timeout: float) -> str:
    """Copy the store (as last committed) to a new file beside it; its path."""
    base = f"{path}.v{version}.bak"
    out, n = base, 1
    while os.path.exists(out):
        n += 1
        out = f"{base}.{n}"
    fd = os.open(out, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    os.close(fd)
    src = sqlite3.connect(path, timeout=timeout)
    try:
        dst = sqlite3.connect(out)
        try:
            src.backup(dst)
        finally:
            dst.close()
    finally:
        src.close()
    return out


def _to_v2(conn: sqlite3.Connection, shown: str) -> None:
    """Version 1 -> 2: the backends' state."""
    conn.execute(_V2_SQL)


def _to_v3(conn: sqlite3.Connection, shown: str) -> None:
    """Version 2 -> 3: the journal's whole documents before and after become field-level deltas
    (same commit numbers, users, times and comments)."""
    conn.execute("ALTER TABLE journal RENAME TO journal_v2")
    conn.execute("ALTER TABLE objects ADD COLUMN jkey INTEGER")
    conn.execute("ALTER TABLE objects ADD COLUMN kind TEXT")
    conn.execute("UPDATE objects SET kind=json_extract(doc, '$.type') WHERE json_type(doc, '$.type')='text'")
    create(conn)
    names: dict[str, str] = {}          # id -> name after the last commit seen that touched it
    keys: dict[str, int] = {}           # id -> journal key
    rows = conn.cursor()
    with paused_gc():
        for seq, when, user, comment, text in rows.execute(
                "SELECT seq, time, user, comment, changes FROM journal_v2 ORDER BY seq"):
            try:
                changes = loads(text)
            except ValueError as exc:
                raise StoreError(f"Cannot migrate store {shown}: journal entry {seq} is damaged:"
                                 f" {one_line(exc)}") from None
            fresh = list(dict.fromkeys(c["id"] for c in changes if c["id"] not in keys))
            keys.update(zip(fresh, new_keys(conn, fresh)))
            writer = jd.Writer()
            members = []
            for c in changes:
                oid, mode, name, before, after = c["id"], c["mode"], c["name"], c["before"], c["after"]
                if after is None:
                    action, payload = REMOVED, dumps(before)
                elif before is None:
                    action, payload = ADDED, dumps(after)
                else:
                    action = MODIFIED
                    old, changed = jd.field_delta(before, after)
                    was = names.get(oid, name)
                    payload = jd.modified_payload(old, changed, was if was != name else None,
                                                  jd.context_type(after, changed))
                names[oid] = name
                members.append((keys[oid], mode, name, action, payload))
            writer.add(members)
            summary, blob = writer.finish()
            conn.execute("INSERT INTO journal(seq, time, user, comment, summary, deltas) VALUES(?,?,?,?,?,?)",
                         (seq, when, user, comment, summary, blob))
    keyed = [(keys[oid], oid) for (oid,) in conn.execute("SELECT id FROM objects").fetchall() if oid in keys]
    conn.executemany("UPDATE objects SET jkey=? WHERE id=?", keyed)
    top = conn.execute("SELECT seq FROM sqlite_sequence WHERE name='journal_v2'").fetchone()
    conn.execute("DROP TABLE journal_v2")
    if top is not None:                 # commit numbers are never reused
        now = conn.execute("SELECT seq FROM sqlite_sequence WHERE name='journal'").fetchone()
        if now is None:
            conn.execute("INSERT INTO sqlite_sequence(name, seq) VALUES('journal', ?)", (top[0],))
        elif now[0] < top[0]:
            conn.execute("UPDATE sqlite_sequence SET seq=? WHERE name='journal'", (top[0],))


def _to_v4(conn: sqlite3.Connection, shown: str) -> None:
    """Version 3 -> 4: the events sessions publish for each other (`publish`), and the type
    index also orders by name (a list sorted by type streams)."""
    conn.execute("DROP INDEX IF EXISTS objects_kind")
    create(conn)


MIGRATIONS: dict[int, Callable[[sqlite3.Connection, str], None]] = {1: _to_v2, 2: _to_v3, 3: _to_v4}
