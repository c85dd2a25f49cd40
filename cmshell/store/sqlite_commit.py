"""The SQLite store's commit: the rows of a batch written and checked inside the commit's
transaction (a mixin of SqliteStore; what both stores check and record the same way is
store/common.py, the commit's transaction and journal entry store/sql_journal.py).

Rows are written by rowid and checked by id and revision as they are written. When every change
carries the record it started from (Change.base), nothing is read first; a row found changed
after all, or a change without its base, makes the batch read and check the rows first, so the
error names the object another session changed.
"""
from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import TYPE_CHECKING

from . import common
from . import delta as jd
from .base import Change, ConflictError, ObjectChange, References
from .common import one_line
from .sqlite_migrate import new_keys

_TMP_PREFIX = "\x00rename:"    # temporary names used while renaming (cannot be typed)


class _Stale(Exception):
    """A row was not as the change's base record said: read the rows and check them."""


def _based(ch: Change) -> bool:
    """Whether a change carries the record it started from, with where the store keeps it."""
    b = ch.base
    return (b is not None and b.id == ch.id and b.mode == ch.mode and b.revision == ch.base_revision
            and b.rowid is not None and b.jkey is not None)


class CommitMixin:
    """The writes of a commit's batches (the rest of a commit is sql_journal.py's)."""

    shown: str
    references: References | None

    if TYPE_CHECKING:       # SqliteStore's (sql_journal.JournalMixin)
        def _current(self, conn: sqlite3.Connection, ids: list[str]) -> dict[str, dict]: ...

    def _batch(self, conn: sqlite3.Connection, changes: list[Change], seen: set[str], writer: jd.Writer,
               done: list[ObjectChange], revisions: dict[str, int],
               wanted: dict[tuple[str, str], tuple[str, str]], gone: list[tuple[str, str]]) -> None:
        inserts, updates, removals, after_text = common.classify(changes, seen)

        # 1. the rows of everything updated or removed: (id, mode, name, revision, jkey, rowid).
        # When every change carries the record it started from, the writes go ahead on those,
        # each row checked by id and revision as it is written; otherwise (and when a write
        # finds its row changed after all) they are read and checked first, inside this
        # transaction, so that the error says which object another session changed.
        touched = updates + removals
        optimistic = all(_based(ch) for ch in touched)
        while True:
            if optimistic:
                current = {ch.id: (ch.id, ch.mode, ch.base.name, ch.base.revision,  # type: ignore[union-attr]
                                   ch.base.jkey, ch.base.rowid) for ch in touched}  # type: ignore[union-attr]
            else:
                current = self._current_rows(conn, touched)
                common.check_revisions(touched, current)
            befores = common.known_befores(touched)
            befores.update(self._current(conn, [oid for oid in current if oid not in befores]))

            # 2. write; a UNIQUE violation means a name (or id) is taken by an object we do not touch
            conn.execute("SAVEPOINT cmsh_write")
            try:
                keys = self._keys(conn, inserts, current)
                self._write(conn, inserts, updates, removals, after_text, current, keys, befores,
                            optimistic)
            except _Stale:
                conn.execute("ROLLBACK TO cmsh_write")
                conn.execute("RELEASE cmsh_write")
                optimistic = False
                continue
            except sqlite3.IntegrityError as exc:
                conn.execute("ROLLBACK TO cmsh_write")
                raise common.collision(inserts, updates, removals, current, one_line(exc),
                                       _Lookup(conn).where_id, _Lookup(conn).holder) from None
            conn.execute("RELEASE cmsh_write")
            break
        common.pointers(changes, current, removals, updates, wanted, gone)
        # 3. the Committed value (whole documents, in hand) and the journal (deltas); the
        # documents before come from the rows read inside this transaction
        writer.add(common.members(changes, current, befores, after_text, keys, done, revisions))

    def _current_rows(self, conn: sqlite3.Connection, changes: list[Change]) -> dict[str, tuple]:
        """id -> (id, mode, name, revision, jkey, rowid) of the objects `changes` touch: by id,
        or, for a mode most of whose objects they touch, in one pass over the mode."""
        current: dict[str, tuple] = {}
        by_mode: dict[str, list[str]] = {}
        for ch in changes:
            by_mode.setdefault(ch.mode, []).append(ch.id)
        for mode, ids in by_mode.items():
            if len(ids) > 2000 and 3 * len(ids) > conn.execute(
                    "SELECT COUNT(*) FROM objects WHERE mode=?", (mode,)).fetchone()[0]:
                want = set(ids)
                current.update((r[0], r) for r in conn.execute(
                    "SELECT id, mode, name, revision, jkey, rowid FROM objects WHERE mode=?", (mode,))
                    if r[0] in want)
                continue
            for part in common.chunks(ids, 2000):
                marks = ",".join("?" * len(part))
                current.update((r[0], r) for r in conn.execute(
                    f"SELECT id, mode, name, revision, jkey, rowid FROM objects WHERE id IN ({marks})", part))
        return current

    def _keys(self, conn: sqlite3.Connection, inserts: list[Change], current: dict[str, tuple]) -> dict[str, int]:
        """The journal's key of every object of a batch: the one on its row, a new one for a
        new object (or an old row without one)."""
        keys = {oid: row[4] for oid, row in current.items() if row[4] is not None}
        need = [ch.id for ch in inserts] + [oid for oid in current if oid not in keys]
        if need:
            keys.update(zip(need, new_keys(conn, need)))
            old = [(keys[oid], oid) for oid in current if current[oid][4] is None]
            if old:
                conn.executemany("UPDATE objects SET jkey=? WHERE id=?", old)
        return keys

    def _write(self, conn: sqlite3.Connection, inserts: list[Change], updates: list[Change],
               removals: list[Change], after_text: dict[str, str], current: dict[str, tuple],
               keys: dict[str, int], befores: dict[str, dict],
               optimistic: bool = False) -> None:
        def check(cur: sqlite3.Cursor, expected: int) -> None:
            if cur.rowcount != expected:     # a row is not as expected: another session was first
                if optimistic:
                    raise _Stale()
                raise ConflictError("Commit refused: objects were changed by another session;"
                                    " refresh and try again")

        # rows by rowid (known, or read inside this transaction), each checked by id and revision
        if removals:
            check(conn.executemany("DELETE FROM objects WHERE rowid=? AND id=? AND revision=?",
                                   [(current[ch.id][5], ch.id, ch.base_revision) for ch in removals]),
                  len(removals))
        renamed = [ch for ch in updates if current[ch.id][2] != ch.name]
        if renamed:
            # move renamed objects out of the way first, so that swaps and chains work
            check(conn.executemany("UPDATE objects SET name=? WHERE rowid=? AND id=? AND revision=?",
                                   [(_TMP_PREFIX + ch.id, current[ch.id][5], ch.id, ch.base_revision)
                                    for ch in renamed]), len(renamed))
        # indexed columns (name, kind) are set only where they change
        moved, kept = [], []
        for ch in updates:
            kind = common.kind(ch.after)
            row = current[ch.id]
            if row[2] != ch.name or common.kind(befores[ch.id]) != kind:
                moved.append((ch.name, common.text(ch), kind, row[5], ch.id, ch.base_revision))
            else:
                kept.append(ch)
        if moved:
            check(conn.executemany(
                "UPDATE objects SET name=?, doc=?, kind=?, revision=revision+1"
                " WHERE rowid=? AND id=? AND revision=?", moved), len(moved))
        if kept:
            check(conn.executemany(
                "UPDATE objects SET doc=?, revision=revision+1 WHERE rowid=? AND id=? AND revision=?",
                ((common.text(ch), current[ch.id][5], ch.id, ch.base_revision) for ch in kept)), len(kept))
        if inserts:
            check(conn.executemany(
                "INSERT INTO objects(id, mode, name, revision, doc, jkey, kind) VALUES(?,?,?,1,?,?,?)",
                [(ch.id, ch.mode, ch.name, after_text[ch.id], keys[ch.id], common.kind(ch.after))
                 for ch in inserts]), len(inserts))

    def _lookup(self, conn: sqlite3.Connection) -> common.Lookup:
        return _Lookup(conn)


class _Lookup:
    """common.Lookup (and the look-ups of common.collision) over a connection in a transaction."""

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn

    def existing(self, mode: str, names: list[str]) -> set[str]:
        return {r[0] for r in self.conn.execute(
            f"SELECT name FROM objects WHERE mode=? AND name IN ({','.join('?' * len(names))})", (mode, *names))}

    def exists_folded(self, mode: str, name: str) -> bool:
        return self.conn.execute("SELECT 1 FROM objects WHERE mode=? AND name=? COLLATE NOCASE",
                                 (mode, name)).fetchone() is not None

    def mentioning(self, mode: str, name: str) -> Iterable[tuple[str, str]]:
        return self.conn.execute("SELECT name, doc FROM objects WHERE mode=? AND instr(doc, ?) > 0",
                                 (mode, common.quote(name)))

    def where_id(self, oid: str) -> tuple | None:
        return self.conn.execute("SELECT mode, name FROM objects WHERE id=?", (oid,)).fetchone()

    def holder(self, mode: str, name: str) -> str | None:
        row = self.conn.execute("SELECT id FROM objects WHERE mode=? AND name=?", (mode, name)).fetchone()
        return row[0] if row else None
