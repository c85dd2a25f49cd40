"""The SQLite store's dialect of the journal (store/sql_journal.py, written once for both
stores): SQLite's placeholders are the journal's own, many keys are looked up in chunks of
`IN (?,...)` (object keys in BETWEEN runs), many rows are written by executemany, and a
commit's journal row takes its seq from AUTOINCREMENT. A mixin of SqliteStore."""
from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

from . import common
from . import delta as jd
from .sql_journal import JOURNAL_INSERT, JournalMixin
from .sqlite_migrate import new_keys

CHUNK = 500                     # host parameters per IN (...) query (portable limit is 999)


class SqliteJournal(JournalMixin[sqlite3.Connection]):

    if TYPE_CHECKING:       # SqliteStore's
        def _tx(self, begin: str | None = ..., *, read: bool = ...) -> AbstractContextManager[sqlite3.Connection]: ...

    @staticmethod
    def _sql(sql: str) -> str:
        return sql

    def _commit_tx(self) -> AbstractContextManager[sqlite3.Connection]:
        return self._tx()           # BEGIN IMMEDIATE: one writer at a time

    def _in(self, sql: str, params: tuple, values: list) -> Iterator[tuple[str, tuple]]:
        head, tail = sql.split(" IN ?")
        for part in common.chunks(values, CHUNK):
            yield f"{head} IN ({','.join('?' * len(part))}){tail}", (*params, *part)

    def _key_ids(self, conn: sqlite3.Connection, keys: list[int]) -> dict[int, str]:
        """key -> id of sorted, distinct keys (one range query per run of consecutive keys)."""
        out: dict[int, str] = {}
        for first, count in jd.int_runs(keys):
            out.update(conn.execute("SELECT key, id FROM object_keys WHERE key BETWEEN ? AND ?",
                                    (first, first + count - 1)))
        return out

    def _insert_many(self, conn: sqlite3.Connection, head: str, rows: list[tuple], types: tuple[str, ...],
                     tail: str = "") -> None:
        conn.executemany(f"{head} VALUES({','.join('?' * len(types))}) {tail}", rows)

    def _new_keys(self, conn: sqlite3.Connection, ids: list[str]) -> list[int]:
        return new_keys(conn, ids)

    def _append(self, conn: sqlite3.Connection, row: tuple) -> int:
        seq = conn.execute(JOURNAL_INSERT, (None, *row)).lastrowid     # NULL: the next AUTOINCREMENT
        assert seq is not None            # set by every INSERT
        return seq
