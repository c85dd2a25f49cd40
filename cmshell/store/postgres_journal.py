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
from .sql_journal import JOURNAL_INSERT, JournalMixin
from .sqlite_migrate import SCHEMA_VERSION    # the SQLite store's layout, version for version

COMMIT_LOCK = 0x636d7368        # advisory lock class of commits ("cmsh"; key 2: the schema)


@lru_cache(maxsize=256)
def _pyformat(sql: str) -> str:
    """A statement with `?` placeholders in psycopg's (`%s`); it has no `?` or `%` of its own."""
    assert "%" not in sql, sql
    return sql.replace("?", "%s")


class PostgresJournal(JournalMixin[psycopg.Connection]):
    channel: str                # NOTIFY channel of commits

    if TYPE_CHECKING:       # PostgresStore's
        def _tx(self, *, read: bool = ..., lock: int | None = ...) -> AbstractContextManager[psycopg.Connection]: ...
        def _version(self, conn: psycopg.Connection | None = ...) -> int | None: ...

    @staticmethod
    def _sql(sql: str) -> str:
        return _pyformat(sql)

    def _commit_tx(self) -> AbstractContextManager[psycopg.Connection]:
        return self._tx(lock=COMMIT_LOCK)

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
        if not ids:
            return []
        start = conn.execute("SELECT COALESCE(max(key), 0) + 1 FROM object_keys").fetchone()[0]  # type: ignore[index]
        keys = list(range(start, start + len(ids)))
        conn.execute("INSERT INTO object_keys(key, id) SELECT * FROM unnest(%s::bigint[], %s::text[])",
                     (keys, ids))
        return keys

    def _append(self, conn: psycopg.Connection, row: tuple) -> int:
        """The commit's journal row, numbered after the newest (under the commit lock: in commit
        order), and a NOTIFY of it (delivered when the transaction commits)."""
        seq: int = conn.execute("SELECT COALESCE(max(seq), 0) + 1 FROM journal").fetchone()[0]  # type: ignore[index]
        conn.execute(_pyformat(JOURNAL_INSERT), (seq, *row))
        conn.execute("SELECT pg_notify(%s, %s)", (self.channel, str(seq)))
        return seq

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
