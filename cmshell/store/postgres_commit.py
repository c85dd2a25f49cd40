"""The PostgreSQL store's commit: the rows of a batch read, written and journalled in as few
round trips as the answers allow (a mixin of PostgresStore; what both stores check and record
the same way is store/common.py, the journal row sql_journal.py).
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import psycopg
from psycopg import errors as pge
from psycopg.pq import TransactionStatus

from . import common
from . import delta as jd
from .base import Change, ObjectChange, References
from .common import one_line
from .pgurl import scrub

_TMP_PREFIX = "\x01rename:"    # PostgreSQL text cannot hold the NUL of SQLite's


class CommitMixin:
    path: str
    shown: str
    references: References | None

    if TYPE_CHECKING:       # PostgresStore's (postgres_journal.py)
        def _new_keys(self, conn: psycopg.Connection, ids: list[str]) -> list[int]: ...
        def _send_append(self, conn: psycopg.Connection, row: tuple) -> psycopg.Cursor: ...
        def _appended(self, cur: psycopg.Cursor) -> int: ...

    def _batch(self, conn: psycopg.Connection, changes: list[Change], seen: set[str], writer: jd.Writer,
               done: list[ObjectChange], revisions: dict[str, int],
               wanted: dict[tuple[str, str], tuple[str, str]], gone: list[tuple[str, str]]) -> None:
        """One round trip reads the touched rows (with the documents before that the changes do
        not carry), one more writes the batch: a pipeline of SAVEPOINT, the writes, RELEASE."""
        inserts, updates, removals, after_text = common.classify(changes, seen)
        touched = updates + removals
        befores = common.known_befores(touched)
        # (id, mode, name, revision, jkey, -), read under the commit lock: committed and final
        current: dict[str, tuple] = {}
        if touched:
            rows = conn.execute("SELECT id, mode, name, revision, jkey, NULL, CASE WHEN id = ANY(%s)"
                                " THEN NULL ELSE doc END FROM objects WHERE id = ANY(%s)",
                                (list(befores), [ch.id for ch in touched])).fetchall()
            current = {r[0]: r[:6] for r in rows}
            common.check_revisions(touched, current)
            unknown = [r for r in rows if r[0] not in befores]
            befores.update(zip([r[0] for r in unknown], common.docs([r[6] for r in unknown], self.shown)))
        keys = {oid: row[4] for oid, row in current.items() if row[4] is not None}
        need = [ch.id for ch in inserts] + [oid for oid in current if oid not in keys]
        try:
            with pipeline(conn):       # a name collision undoes the batch's writes
                conn.execute("SAVEPOINT cmsh_write")
                keys.update(zip(need, self._new_keys(conn, need)))
                self._write(conn, inserts, updates, removals, after_text, current, keys)
                conn.execute("RELEASE SAVEPOINT cmsh_write")
        except pge.IntegrityError as exc:
            conn.execute("ROLLBACK TO SAVEPOINT cmsh_write")
            look = _Lookup(conn)
            raise common.collision(inserts, updates, removals, current, scrub(one_line(exc), self.path),
                                   look.where_id, look.holder) from None
        common.pointers(changes, current, removals, updates, wanted, gone)
        writer.add(common.members(changes, current, befores, after_text, keys, done, revisions))

    def _lookup(self, conn: psycopg.Connection) -> common.Lookup:
        return _Lookup(conn)

    def _finish(self, conn: psycopg.Connection, row: tuple, wanted: dict[tuple[str, str], tuple[str, str]],
                gone: list[tuple[str, str]]) -> int:
        """The pointer check and the journal row in one round trip: which of the names the
        check asks after exist (the targets of the commit's pointers, and the names it removed
        or renamed away, after all its writes) is read in the pipeline of the journal row; the
        check comes after (when it refuses the commit, the journal row goes with the rest)."""
        pairs = list(dict.fromkeys([*wanted, *gone]) if self.references is not None else wanted)
        with pipeline(conn):
            found = conn.execute("SELECT mode, name FROM objects WHERE (mode, name) IN"
                                 " (SELECT * FROM unnest(%s::text[], %s::text[]))",
                                 ([p[0] for p in pairs], [p[1] for p in pairs])) if pairs else None
            appended = self._send_append(conn, row)
        look = _Lookup(conn, set(pairs), {(r[0], r[1]) for r in found.fetchall()} if found is not None else set())
        common.check_references(look, self.references, wanted, gone)
        return self._appended(appended)

    def _write(self, conn: psycopg.Connection, inserts: list[Change], updates: list[Change],
               removals: list[Change], after_text: dict[str, str], current: dict[str, tuple],
               keys: dict[str, int]) -> None:
        if removals:
            conn.execute("DELETE FROM objects WHERE id = ANY(%s)", ([ch.id for ch in removals],))
        renamed = [ch.id for ch in updates if current[ch.id][2] != ch.name]
        if renamed:     # out of the way first, so that swaps and chains of renames work
            conn.execute("UPDATE objects SET name = %s || id WHERE id = ANY(%s)", (_TMP_PREFIX, renamed))
        if updates:
            cols = ([ch.id for ch in updates], [ch.name for ch in updates], [common.text(ch) for ch in updates],
                    [common.kind(ch.after) for ch in updates], [keys[ch.id] for ch in updates])
            conn.execute("UPDATE objects o SET name=v.name, doc=v.doc, kind=v.kind, jkey=v.jkey,"
                         " revision=o.revision+1 FROM unnest(%s::text[], %s::text[], %s::text[],"
                         " %s::text[], %s::bigint[]) AS v(id, name, doc, kind, jkey) WHERE o.id=v.id", cols)
        if inserts:
            cols2 = ([ch.id for ch in inserts], [ch.mode for ch in inserts], [ch.name for ch in inserts],
                     [after_text[ch.id] for ch in inserts], [keys[ch.id] for ch in inserts],
                     [common.kind(ch.after) for ch in inserts])
            conn.execute("INSERT INTO objects(id, mode, name, revision, doc, jkey, kind) SELECT"
                         " v.id, v.mode, v.name, 1, v.doc, v.jkey, v.kind FROM unnest(%s::text[],"
                         " %s::text[], %s::text[], %s::text[], %s::bigint[], %s::text[])"
                         " AS v(id, mode, name, doc, jkey, kind)", cols2)


@contextmanager
def pipeline(conn: psycopg.Connection) -> Iterator[None]:
    """The statements of the with-block in one round trip (psycopg's pipeline mode: their
    results are there after the block). The first error ends the block and is raised after the
    pipeline has ended (psycopg raises it wherever it finds it, and when that is inside the
    block, it warns on stderr of the pipeline it then cannot end cleanly)."""
    first: psycopg.Error | None = None
    try:
        with conn.pipeline():
            try:
                yield
            except psycopg.Error as exc:
                first = exc
    except psycopg.Error:
        if first is None:
            raise
    if first is not None:
        raise first


def abandon(conn: psycopg.Connection) -> None:
    """Roll back the transaction open on `conn`, if it can be (a lost connection has none)."""
    if conn.closed or conn.broken or conn.info.transaction_status not in (TransactionStatus.INTRANS,
                                                                          TransactionStatus.INERROR):
        return
    try:
        conn.execute("ROLLBACK")
    except psycopg.Error:
        pass


class _Lookup:
    """common.Lookup (and the look-ups of common.collision) over a connection in a transaction."""

    def __init__(self, conn: psycopg.Connection, asked: set[tuple[str, str]] | None = None,
                 found: set[tuple[str, str]] | None = None):
        self.conn = conn
        self.asked = asked or set()     # (mode, name) already looked up; those of them that exist
        self.found = found or set()

    def existing(self, mode: str, names: list[str]) -> set[str]:
        if all((mode, name) in self.asked for name in names):
            return {name for name in names if (mode, name) in self.found}
        return {r[0] for r in self.conn.execute("SELECT name FROM objects WHERE mode=%s AND name = ANY(%s)",
                                                (mode, names))}

    def exists_folded(self, mode: str, name: str) -> bool:
        # lower() of the "C" collation folds ASCII only, as SQLite's NOCASE
        return self.conn.execute("SELECT 1 FROM objects WHERE mode=%s AND lower(name)=lower(%s) LIMIT 1",
                                 (mode, name)).fetchone() is not None

    def mentioning(self, mode: str, name: str) -> Iterable[tuple[str, str]]:
        return self.conn.execute("SELECT name, doc FROM objects WHERE mode=%s AND strpos(doc, %s) > 0",
                                 (mode, common.quote(name))).fetchall()

    def where_id(self, oid: str) -> tuple | None:
        return self.conn.execute("SELECT mode, name FROM objects WHERE id=%s", (oid,)).fetchone()

    def holder(self, mode: str, name: str) -> str | None:
        row = self.conn.execute("SELECT id FROM objects WHERE mode=%s AND name=%s", (mode, name)).fetchone()
        return row[0] if row else None
