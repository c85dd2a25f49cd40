"""The shared store: the SQLite store's tables on a PostgreSQL server (psycopg 3).

Commits take one transaction-level advisory lock, so they are serialised as SQLite's
``BEGIN IMMEDIATE`` serialises them: journal numbers follow commit order (a watcher that has
seen commit n has seen everything before it), and the rows a commit checks its revisions
against are committed and final. Documents stay JSON text (not jsonb), so that 1, 1.0 and true
stay what they were; names sort as bytes (COLLATE "C"), as in SQLite. Each commit sends a NOTIFY
(delivered when it commits); other sessions `wait` on it instead of polling.

Several stores may share a database, one per schema (`options=-csearch_path=...` in the URL):
the advisory lock keys and the NOTIFY channels carry a hash of the schema's name.

A lost connection (the server restarted) is one error line that says whether a commit was
stored; the next call connects again (a read at once). The URL's password is never shown:
`shown` has it as ****, and the driver's messages are scrubbed (pgurl.py).
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TypeVar

import psycopg
from psycopg import errors as pge
from psycopg.pq import TransactionStatus

from . import common
from .base import NoStore, Record, References, StoreError, StoreUnavailable
from .common import NO_STORE, one_line, paused_gc
from .pgurl import redact, scrub
from .postgres_commit import CommitMixin, abandon, pipeline
from .postgres_journal import PostgresJournal
from .postgres_sessions import SessionsMixin, signed_crc
from .sqlite_migrate import SCHEMA_VERSION

_SCHEMA_LOCK = 0x636d7369       # of creating and migrating the schema
T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS schema_version(version INTEGER NOT NULL, applied DOUBLE PRECISION NOT NULL);
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS objects(id TEXT PRIMARY KEY, mode TEXT COLLATE "C" NOT NULL,
    name TEXT COLLATE "C" NOT NULL, revision BIGINT NOT NULL CHECK (revision > 0), doc TEXT NOT NULL,
    jkey BIGINT, kind TEXT COLLATE "C", CONSTRAINT objects_mode_name UNIQUE (mode, name));
CREATE TABLE IF NOT EXISTS journal(seq BIGINT PRIMARY KEY, time DOUBLE PRECISION NOT NULL,
    "user" TEXT NOT NULL, comment TEXT NOT NULL, summary TEXT NOT NULL, deltas BYTEA NOT NULL);
CREATE TABLE IF NOT EXISTS object_keys(key BIGINT PRIMARY KEY, id TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS backend_state(backend TEXT NOT NULL, key TEXT NOT NULL,
    value TEXT NOT NULL, PRIMARY KEY(backend, key));
"""
# version 4: events between sessions, and the type index also orders by name (as SQLite's: no
# type first), so that a list sorted by type streams
_V4 = ("CREATE TABLE IF NOT EXISTS events(seq BIGINT PRIMARY KEY, time DOUBLE PRECISION NOT NULL,"
       " payload TEXT NOT NULL);"
       " DROP INDEX IF EXISTS objects_kind;"
       ' CREATE INDEX IF NOT EXISTS objects_type_name ON objects(mode, kind COLLATE "C" NULLS FIRST, name)')
_BY_TYPE = 'kind COLLATE "C" NULLS FIRST, name'
# version n -> n + 1 (version 3: the layout before events between sessions)
_MIGRATIONS: dict[int, Callable[[psycopg.Connection], object]] = {3: lambda conn: conn.execute(_V4)}


class PostgresStore(PostgresJournal, CommitMixin, SessionsMixin):
    """The Store implementation over a PostgreSQL database (see module doc)."""

    pushes = True           # commits and events NOTIFY: `wait` wakes at once

    def __init__(self, url: str, *, timeout: float = 10.0, create: bool = True):
        self.path = url                 # to open it again (watcher, completion): never shown
        self.shown = redact(url)        # what messages show
        self.timeout = float(timeout)
        self.references: References | None = None    # set by the Workspace (see common.check_references)
        self.warnings: list[str] = []
        self._conn: psycopg.Connection | None = None
        self._closed = False
        self._init_sessions()
        self.schema: str = self._rows("SELECT current_schema()")[0][0]
        if self.schema is None:
            self.close()
            raise StoreError(f"Cannot open store {self.shown}: no schema of its search_path exists")
        self.key = signed_crc(self.schema)          # of this store's locks and channels
        self.channel = f"cmshell_commit_{self.key & 0xffffffff:08x}"
        self.event_channel = f"cmshell_event_{self.key & 0xffffffff:08x}"
        try:
            self._ensure_schema(create)
        except BaseException:
            self.close()
            raise

    # -- connections and errors ------------------------------------------------------------

    def _connect(self) -> psycopg.Connection:
        """A new connection (autocommit: transactions are explicit, see _tx)."""
        try:
            params = psycopg.conninfo.conninfo_to_dict(self.path)
            extra: dict[str, object] = {"application_name": "cmshell"}
            if "connect_timeout" not in params:
                extra["connect_timeout"] = max(1, int(self.timeout))
            conn = psycopg.connect(self.path, autocommit=True, **extra)  # type: ignore[arg-type]
            # a commit waits this long for another one, then fails as SQLite's busy timeout does
            conn.execute(f"SET lock_timeout = {int(self.timeout * 1000)}")
            return conn
        except psycopg.Error as exc:
            raise StoreUnavailable(f"Cannot reach store {self.shown}: {scrub(one_line(exc), self.path)}") from None

    def _db(self) -> psycopg.Connection:
        if self._closed:
            raise StoreError(f"Store {self.shown} is closed")
        if self._conn is None or self._conn.closed:
            self._conn = self._connect()
        return self._conn

    def _drop(self) -> None:
        """Forget the main connection (broken): the next call connects again."""
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except psycopg.Error:
                pass

    def _error(self, exc: BaseException, conn: psycopg.Connection | None = None, during: str = "") -> StoreError:
        """A StoreError for a driver's error on `conn` (the main connection by default)."""
        text = scrub(one_line(exc), self.path)
        conn = conn if conn is not None else self._conn
        if isinstance(exc, pge.LockNotAvailable):
            return StoreError(f"Store {self.shown} is locked by another session"
                              f" (waited {self.timeout:g} s); try again later")
        if isinstance(exc, psycopg.OperationalError) and (conn is None or conn.broken or conn.closed):
            if conn is self._conn:
                self._drop()
            return StoreUnavailable(f"Lost the connection to store {self.shown}{during}: {text};"
                              " it reconnects on the next command")
        if isinstance(exc, pge.InsufficientPrivilege):
            return StoreError(f"Cannot write store {self.shown}: {text}")
        return StoreError(f"Store {self.shown}: {text}")

    def _read(self, fn: Callable[[psycopg.Connection], T], during: str = "") -> T:
        """Run `fn` on the main connection; once more on a new connection if the server went
        away meanwhile (`fn` must be a read, or the start of a transaction: nothing written)."""
        for attempt in (0, 1):
            conn = self._db()
            try:
                return fn(conn)
            except psycopg.OperationalError as exc:
                if attempt or not (conn.broken or conn.closed):
                    raise self._error(exc, conn, during) from None
                self._drop()
            except psycopg.Error as exc:
                raise self._error(exc, conn, during) from None
        raise AssertionError("not reached")

    def _rows(self, sql: str, params: Sequence | dict = ()) -> list[tuple]:
        return self._read(lambda c: c.execute(sql, params).fetchall())

    def _begin(self, sql: str, lock: int | None = None, *, next_key: bool = False,
               during: str = "") -> psycopg.Connection:
        """The main connection with a transaction begun on it, under the advisory lock of class
        `lock` when given, in one round trip (a pipeline); `next_key`: then read the next free
        journal key too (self._next_key: under the commit lock, only this transaction takes
        keys). A connection the server dropped meanwhile (say, restarted) is replaced here,
        where nothing has been written; a lock not had in time leaves no transaction open."""
        def begin(conn: psycopg.Connection) -> psycopg.Connection:
            if lock is None:
                conn.execute(sql)
                return conn
            try:
                with pipeline(conn):
                    conn.execute(sql)
                    conn.execute("SELECT pg_advisory_xact_lock(%s, %s)", (lock, self.key))
                    cur = conn.execute("SELECT COALESCE(max(key), 0) + 1 FROM object_keys") if next_key else None
                if cur is not None:
                    self._next_key = cur.fetchone()[0]  # type: ignore[index]
            except psycopg.Error:
                abandon(conn)
                raise
            return conn
        return self._read(begin, during)

    @contextmanager
    def _tx(self, *, read: bool = False, lock: int | None = None,
            next_key: bool = False) -> Iterator[psycopg.Connection]:
        """One transaction for the with-block (a repeatable read snapshot when `read`), under
        the advisory lock of class `lock` when given (see _begin): committed at the end unless
        the block rolled back itself, rolled back when it raises; a driver's error is a
        StoreError that says, for a connection lost, whether a write was stored."""
        lost = "" if read else "; nothing of it was stored"
        conn = self._begin("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY" if read else "BEGIN", lock,
                           next_key=next_key, during=lost)
        try:
            try:
                yield conn
            except BaseException:
                abandon(conn)
                raise
        except psycopg.Error as exc:
            raise self._error(exc, conn, lost) from None
        if conn.info.transaction_status == TransactionStatus.IDLE:
            return                          # the block rolled back
        try:
            conn.execute("ROLLBACK" if read else "COMMIT")
        except psycopg.Error as exc:
            during = "" if read else " while committing (it may or may not have been stored: see `journal`)"
            raise self._error(exc, conn, during) from None

    def _ensure_schema(self, create: bool) -> None:
        if self._version() == SCHEMA_VERSION:
            return                          # the common case: no lock, no transaction
        with self._tx(lock=_SCHEMA_LOCK) as conn:
            version = self._version(conn)
            if version is None:
                if not create:
                    raise NoStore(f"No store at {self.shown}; {NO_STORE}")
                conn.execute(_SCHEMA)
                conn.execute(_V4)
                conn.execute("INSERT INTO schema_version(version, applied) VALUES(%s, %s)",
                             (SCHEMA_VERSION, time.time()))
                version = SCHEMA_VERSION
            while version in _MIGRATIONS:
                _MIGRATIONS[version](conn)
                version += 1
                conn.execute("INSERT INTO schema_version(version, applied) VALUES(%s, %s)",
                             (version, time.time()))
        if version != SCHEMA_VERSION:
            raise StoreError(f"Cannot open store {self.shown}: unsupported schema version {version}"
                             f" (this version of cmsh reads version {SCHEMA_VERSION})")

    def _version(self, conn: psycopg.Connection | None = None) -> int | None:
        """The schema's version; None when this schema has no cmsh store."""
        def read(c: psycopg.Connection) -> list:
            if not c.execute("SELECT 1 FROM pg_tables WHERE schemaname = current_schema()"
                             " AND tablename = 'schema_version'").fetchone():
                return [None]
            return [c.execute("SELECT max(version) FROM schema_version").fetchone()[0]]  # type: ignore[index]
        return (read(conn) if conn is not None else self._read(read))[0]

    # -- reading ---------------------------------------------------------------------------

    def names(self, mode: str) -> list[str]:
        return [r[0] for r in self._rows("SELECT name FROM objects WHERE mode=%s ORDER BY name", (mode,))]

    def load(self, mode: str) -> list[Record]:
        with paused_gc():
            rows = self._rows("SELECT id, name, revision, doc FROM objects WHERE mode=%s ORDER BY name", (mode,))
            docs = common.docs([r[3] for r in rows], self.shown, mode)
            return [Record(r[0], mode, r[1], r[2], d) for r, d in zip(rows, docs)]

    def scan(self, mode: str, chunk: int = 1000, *, by_type: bool = False) -> Iterator[tuple[str, str, dict]]:
        """Every object of a mode in name order, `chunk` rows per query (keyset paging: no
        transaction stays open while the caller works); `by_type`: by type, then name, through
        a server-side cursor in one read-only snapshot (NULLs do not page by key)."""
        if by_type:
            yield from self._scan_by_type(mode, chunk)
            return
        after: str | None = None
        while True:
            if after is None:
                rows = self._rows("SELECT id, name, doc FROM objects WHERE mode=%s ORDER BY name LIMIT %s",
                                  (mode, chunk))
            else:
                rows = self._rows("SELECT id, name, doc FROM objects WHERE mode=%s AND name > %s"
                                  " ORDER BY name LIMIT %s", (mode, after, chunk))
            if not rows:
                return
            for (oid, name, _), d in zip(rows, common.docs([r[2] for r in rows], self.shown, mode)):
                yield oid, name, d
            after = rows[-1][1]

    def _scan_by_type(self, mode: str, chunk: int) -> Iterator[tuple[str, str, dict]]:
        with self._tx(read=True) as conn, conn.cursor(name="cmshell_scan") as cur:
            cur.itersize = chunk
            cur.execute(f"SELECT id, name, doc FROM objects WHERE mode=%s ORDER BY {_BY_TYPE}", (mode,))
            while rows := cur.fetchmany(chunk):
                for (oid, name, _), d in zip(rows, common.docs([r[2] for r in rows], self.shown, mode)):
                    yield oid, name, d

    def index(self, mode: str) -> list[tuple[str, str]]:
        return self._rows("SELECT id, name FROM objects WHERE mode=%s", (mode,))

    def records(self, mode: str, ids: list[str]) -> list[Record]:
        rows = self._rows("SELECT id, name, revision, doc FROM objects WHERE mode=%s AND id = ANY(%s)",
                          (mode, list(ids)))
        return [Record(r[0], mode, r[1], r[2], d)
                for r, d in zip(rows, common.docs([r[3] for r in rows], self.shown, mode))]

    def where(self, mode: str, field: str, value: object) -> list[str]:
        if field == "type" and isinstance(value, str):
            return sorted(r[0] for r in self._rows("SELECT name FROM objects WHERE mode=%s AND kind=%s",
                                                   (mode, value)))
        return [name for _, name, doc in self.scan(mode) if field in doc and doc[field] == value]

    def get(self, mode: str, name: str) -> Record | None:
        rows = self._rows("SELECT id, revision, doc FROM objects WHERE mode=%s AND name=%s", (mode, name))
        if not rows:
            return None
        return Record(rows[0][0], mode, name, rows[0][1], common.docs([rows[0][2]], self.shown, f"{mode} {name}")[0])

    def is_empty(self) -> bool:
        return not self._rows("SELECT 1 FROM objects LIMIT 1")

    # -- closing ---------------------------------------------------------------------------

    def close(self) -> None:
        self._closed = True
        self._drop()
        self._close_sessions()

    def __repr__(self) -> str:
        return f"PostgresStore({self.shown!r})"
