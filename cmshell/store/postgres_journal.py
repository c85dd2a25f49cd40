"""The PostgreSQL store's dialect of the journal (store/sql_journal.py, written once for both
stores) and its integrity check: `?` placeholders become psycopg's `%s` (translated once a
statement), many keys are one `= ANY(%s)`, many rows one INSERT of unnest(arrays), and a commit
is numbered max(seq) + 1 under the commit lock. A mixin of PostgresStore."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from functools import lru_cache
from typing import TYPE_CHECKING

import psycopg

from . import common
from .base import StoreError
from .sql_journal import JournalMixin
from .sqlite_migrate import SCHEMA_VERSION    # the SQLite store's layout, version for version

COMMIT_LOCK = 0x636d7368        # advisory lock class of commits ("cmsh"; key 2: the schema)


# the journal row of a commit: seq, INSERT and NOTIFY in one statement (and the retention)
_APPEND = ("WITH s AS (SELECT COALESCE(max(seq), 0) + 1 AS seq FROM journal),"
           ' j AS (INSERT INTO journal(seq, time, "user", comment, summary, deltas)'
           " SELECT s.seq, %s, %s, %s, %s, %s FROM s RETURNING seq)"
           " SELECT j.seq, pg_notify(%s, j.seq::text), (SELECT value FROM meta WHERE key='journal_keep') FROM j")


@lru_cache(maxsize=256)
def _pyformat(sql: str) -> str:
    """A statement with `?` placeholders in psycopg's (`%s`); it has no `?` or `%` of its own."""
    assert "%" not in sql, sql
    return sql.replace("?", "%s")


class PostgresJournal(JournalMixin[psycopg.Connection]):
    channel: str                # NOTIFY channel of commits
    _next_key: int              # the next free journal key, read as the commit lock is taken
    _keep_read: tuple[int | None] | None = None     # the retention as the last commit read it

    if TYPE_CHECKING:       # PostgresStore's
        def _tx(self, *, read: bool = ..., lock: int | None = ...,
                next_key: bool = ...) -> AbstractContextManager[psycopg.Connection]: ...
        def _version(self, conn: psycopg.Connection | None = ...) -> int | None: ...

    @staticmethod
    def _sql(sql: str) -> str:
        return _pyformat(sql)

    def _commit_tx(self) -> AbstractContextManager[psycopg.Connection]:
        return self._tx(lock=COMMIT_LOCK, next_key=True)

    def _in(self, sql: str, params: tuple, values: list) -> Iterator[tuple[str, tuple]]:
        if values:
            yield _pyformat(sql.replace(" IN ?", " = ANY(?)")), (*params, list(values))

    def _insert_many(self, conn: psycopg.Connection, head: str, rows: list[tuple], types: tuple[str, ...],
                     tail: str = "") -> None:
        if rows:
            arrays = ", ".join(f"?::{t}[]" for t in types)
            conn.execute(_pyformat(f"{head} SELECT * FROM unnest({arrays}) {tail}"),
                         [list(column) for column in zip(*rows)])

    def _new_keys(self, conn: psycopg.Connection, ids: list[str]) -> list[int]:
        """New journal keys, counted on from the one read as the commit lock was taken (no
        other transaction takes keys meanwhile): the INSERT's result is not waited for (it may
        be queued in a pipeline)."""
        if not ids:
            return []
        start = self._next_key
        self._next_key += len(ids)
        keys = list(range(start, start + len(ids)))
        conn.execute("INSERT INTO object_keys(key, id) SELECT * FROM unnest(%s::bigint[], %s::text[])",
                     (keys, ids))
        return keys

    def _append(self, conn: psycopg.Connection, row: tuple) -> int:
        """The commit's journal row, numbered after the newest (under the commit lock: in commit
        order), and a NOTIFY of it (delivered when the transaction commits), in one statement;
        it reads the journal's retention too, for _retain."""
        return self._appended(self._send_append(conn, row))

    def _send_append(self, conn: psycopg.Connection, row: tuple) -> psycopg.Cursor:
        """The statement of _append (its result is not waited for: it may be in a pipeline)."""
        return conn.execute(_APPEND, (*row, self.channel))

    def _appended(self, cur: psycopg.Cursor) -> int:
        """The seq of the commit, from the result of _send_append's statement."""
        seq, _, keep = cur.fetchone()  # type: ignore[misc]
        self._keep_read = (None if keep is None else int(keep),)
        return int(seq)

    def _retain(self, user: str) -> None:
        """After a commit: nothing to do when the commit read that the journal keeps every
        commit (as it does unless told otherwise): no round trip to ask again."""
        read, self._keep_read = self._keep_read, None
        if read is not None and read[0] is None:
            return
        super()._retain(user)

    # -- integrity -------------------------------------------------------------------------

    def check(self) -> list[str]:
        """What `cmshell --check` finds wrong ([] when sound): the schema's version, then every
        document (valid JSON) and every journal entry (readable), read in one snapshot."""
        problems: list[str] = []
        try:
            with self._tx(read=True) as conn:
                version = self._version(conn)
                if version != SCHEMA_VERSION:
                    return [f"schema version {version}, this version of cmsh reads {SCHEMA_VERSION}"]
                with conn.cursor(name="cmshell_check") as cur:     # server side: not all at once
                    cur.itersize = 2000
                    cur.execute("SELECT mode, name, doc FROM objects ORDER BY mode, name")
                    for mode, name, doc in cur:
                        try:
                            common.loads(doc)
                        except ValueError:
                            problems.append(f"{mode} {name}: its document is not valid JSON")
                            if len(problems) >= 5:
                                break
                with conn.cursor(name="cmshell_check_journal") as cur:
                    cur.itersize = 100
                    cur.execute("SELECT seq, summary, deltas FROM journal ORDER BY seq")
                    for seq, summary, blob in cur:
                        try:
                            common.entry((seq, 0.0, "", "", summary), self.shown)
                            common.decode(blob, seq, self.shown)
                        except StoreError:
                            problems.append(f"journal entry {seq} is damaged")
        except StoreError as exc:
            return [str(exc)]
        return problems
