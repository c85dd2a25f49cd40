"""The embedded store: one SQLite file (WAL mode) holding documents, revisions and a journal.

Layout (sqlite_migrate.SCHEMA)::

    objects(id TEXT PRIMARY KEY, mode TEXT, name TEXT, revision INTEGER, doc TEXT,  -- doc is JSON
            jkey INTEGER,   -- the object's key in the journal (object_keys)
            kind TEXT)      -- the document's `type` (a string), for `where(mode, "type", ...)`
        UNIQUE INDEX objects_mode_name ON objects(mode, name)
        INDEX objects_type_name ON objects(mode, kind, name)  -- the head node at once; lists by type
    journal(seq INTEGER PRIMARY KEY AUTOINCREMENT, time REAL, user TEXT, comment TEXT,
            summary TEXT,   -- JSON [[mode, action, count, names, [first names]], ...] (`journal`)
            deltas BLOB)    -- what changed, field by field, compressed (see store/delta.py)
    object_keys(key INTEGER PRIMARY KEY, id TEXT)   -- small numbers the journal uses for ids
    meta(key TEXT PRIMARY KEY, value TEXT)   -- schema_version, journal_keep, journal_snapshot
    backend_state(backend TEXT, key TEXT, value TEXT, PRIMARY KEY(backend, key))   -- JSON values:
        what the backends saw and did (a node's applied revision, an application's inventory)
    events(seq INTEGER PRIMARY KEY AUTOINCREMENT, time REAL, payload TEXT)   -- `publish`

Every commit is one ``BEGIN IMMEDIATE`` transaction (optimistic concurrency on the
per-object revision), so a killed process never leaves a half-applied commit and two
processes wait for each other (busy timeout) instead of failing. A commit may arrive in
batches (`commit_stream`, for `--load`): still one transaction and one journal entry.

The rows are written by sqlite_commit.py; the journal keeps, per commit, only what changed
(sql_journal.py, written once for both stores, over SQLite's dialect in sqlite_journal.py).
Older stores are migrated when opened (sqlite_migrate.py); the file is checked before SQLite
opens it (sqlite_files.py). Named locks are files beside the store (filelock.py).
"""
from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager

from . import common
from . import sqlite_files as files
from . import sqlite_migrate as migrations
from .base import Record, References, StoreError
from .common import one_line, paused_gc
from .filelock import file_lock
from .sqlite_commit import CommitMixin
from .sqlite_journal import CHUNK, SqliteJournal
from .sqlite_migrate import SCHEMA_VERSION

__all__ = ["SCHEMA_VERSION", "SqliteStore"]

DEFAULT_TIMEOUT = 10.0          # seconds a writer waits for another one
QUICK_CHECK_SIZE = 8 << 20      # stores up to 8 MiB (about 15,000 nodes) are checked at every start


def _damage(text: object) -> str:
    """A line of SQLite's integrity check, without its `*** in database main ***` preamble."""
    return one_line(str(text).replace("*** in database main ***", ""))


class SqliteStore(SqliteJournal, CommitMixin):
    """The Store implementation over one SQLite file (see module doc)."""

    pushes = False          # nobody tells a file's readers of a commit: they poll

    def __init__(self, path: str | os.PathLike, *, timeout: float = DEFAULT_TIMEOUT, create: bool = True,
                 parents: bool = True):
        self.path = os.fspath(path)
        self.shown = self.path                         # a file path hides nothing
        self.timeout = float(timeout)
        self._conn: sqlite3.Connection | None = None
        self.references: References | None = None    # set by the Workspace (see common.check_references)
        self.backup_path: str | None = None            # the copy written before a migration
        # for the user, once (the shell prints them)
        self.warnings: list[str] = files.create_file(self.path, create, parents)
        try:
            # any thread may use the connection, one at a time (the interactive shell completes
            # in a worker thread while the main thread waits for input)
            conn = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None,
                                   check_same_thread=False)
        except sqlite3.Error as exc:
            raise self._error(exc) from None
        self._conn = conn
        try:
            conn.execute(f"PRAGMA busy_timeout={int(self.timeout * 1000)}")
            files.check_tables(conn, self.shown)    # before anything is written (WAL changes the header)
            mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()
            if not mode or str(mode[0]).lower() != "wal":
                raise StoreError(f"Cannot open store {self.shown}: WAL journal mode is not available")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA journal_size_limit=67108864")   # trim a big WAL after checkpoints
            conn.execute("PRAGMA cache_size=-65536")             # up to 64 MiB, allocated on demand
            self._ensure_schema()
            self._quick_check(conn)
            self._real = os.path.realpath(self.path)
            with files.open_lock:
                files.open_paths[self._real] = files.open_paths.get(self._real, 0) + 1
        except BaseException as exc:
            self._conn = None
            try:
                conn.close()
            except sqlite3.Error:
                pass
            if isinstance(exc, sqlite3.Error):
                raise self._error(exc) from None
            raise

    # -- opening -----------------------------------------------------------------------

    def _quick_check(self, conn: sqlite3.Connection) -> None:
        """A store of up to QUICK_CHECK_SIZE is checked page by page at every start (a few ms);
        a bigger one by `cmshell --check`. Damage found later is reported the same way."""
        try:
            if os.path.getsize(self.path) > QUICK_CHECK_SIZE:
                return
            rows = conn.execute("PRAGMA quick_check(1)").fetchall()
        except OSError:
            return
        except sqlite3.DatabaseError as exc:
            raise self._error(exc) from None
        if rows != [("ok",)]:
            raise StoreError(f"Store {self.shown} is damaged ({_damage(rows[0][0])}); {common.RESTORE}")

    def check(self) -> list[str]:
        """Every page and index of the file (`PRAGMA integrity_check`, which reads the whole
        store: `cmshell --check`, not every start); [] when it is sound."""
        try:
            rows = self._db().execute("PRAGMA integrity_check").fetchall()
            if rows == [("ok",)]:
                bad = self._db().execute("SELECT mode, name FROM objects WHERE json_valid(doc) = 0"
                                         " LIMIT 5").fetchall()
                return [f"{m} {n}: its document is not valid JSON" for m, n in bad]
        except sqlite3.DatabaseError as exc:
            return [one_line(exc)]
        return [_damage(r[0]) for r in rows]

    def _ensure_schema(self) -> None:
        version = self._version()
        if version is None:
            with self._tx() as conn:
                files.check_tables(conn, self.shown)
                migrations.create(conn)
                conn.execute("INSERT OR IGNORE INTO meta(key, value) VALUES('schema_version', ?)",
                             (str(SCHEMA_VERSION),))
            version = str(SCHEMA_VERSION)
        try:
            version_number = int(version)
        except ValueError:
            version_number = -1
        if version_number in migrations.MIGRATIONS:
            version_number = self._migrate(version_number)
        if version_number != SCHEMA_VERSION:
            raise StoreError(f"Cannot open store {self.shown}: unsupported schema version {version}"
                             f" (this version of cmsh reads version {SCHEMA_VERSION})")

    def _version(self) -> str | None:
        try:
            row = self._db().execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        except sqlite3.OperationalError as exc:
            if "no such table" not in str(exc):
                raise
            return None
        return row[0] if row else None

    def _migrate(self, version: int) -> int:
        """Bring an older store up to SCHEMA_VERSION in one transaction, after copying it to
        `<store>.v<version>.bak` (taken under the write lock, so it is the store as it was)."""
        with self._tx() as conn:
            now = self._version()           # another process may have migrated meanwhile
            version = int(now) if now is not None and now.isdigit() else version
            if version in migrations.MIGRATIONS:
                self.backup_path = migrations.backup(self.path, version, self.timeout)
            version = migrations.migrate(conn, version, self.shown)
        try:        # give back the space the old journal took, when that is most of the file
            free = conn.execute("PRAGMA freelist_count").fetchone()[0]
            if free * 2 > conn.execute("PRAGMA page_count").fetchone()[0]:
                conn.execute("VACUUM")
        except sqlite3.Error:
            pass
        return version

    # -- errors and transactions -------------------------------------------------------

    def _error(self, exc: BaseException) -> StoreError:
        text = one_line(exc)
        low = text.lower()
        if "locked" in low or "busy" in low:
            return StoreError(f"Store {self.shown} is locked by another process"
                              f" (waited {self.timeout:g} s); try again later")
        if "not a database" in low or "malformed" in low or "corrupt" in low:
            return StoreError(f"Store {self.shown} is damaged ({text}); {common.RESTORE}")
        if "readonly" in low or "read-only" in low or "unable to open" in low or "permission" in low:
            return StoreError(f"Cannot write store {self.shown}: {text}")
        return StoreError(f"Store {self.shown}: {text}")

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreError(f"Store {self.shown} is closed")
        return self._conn

    def _rollback(self) -> None:
        conn = self._conn
        if conn is not None and conn.in_transaction:
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass

    @contextmanager
    def _tx(self, begin: str | None = None, *, read: bool = False) -> Iterator[sqlite3.Connection]:
        """One transaction for the with-block: committed at its end (rolled back when `read`,
        or when the block rolled back itself), rolled back when it raises; an SQLite error is
        a StoreError. BEGIN IMMEDIATE (the default unless `read`) takes the write lock at once
        (waiting up to `timeout`); a read begins with BEGIN (a snapshot from its first read)."""
        conn = self._db()
        try:
            conn.execute(begin or ("BEGIN" if read else "BEGIN IMMEDIATE"))
            try:
                yield conn
                if read:
                    self._rollback()
                elif conn.in_transaction:
                    conn.execute("COMMIT")
            except BaseException:
                self._rollback()
                raise
        except sqlite3.Error as exc:
            raise self._error(exc) from None

    def _rows(self, sql: str, params: Sequence = ()) -> list:
        """The rows of one statement (an SQLite error is a StoreError)."""
        try:
            return self._db().execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise self._error(exc) from None

    # -- reading -----------------------------------------------------------------------

    def names(self, mode: str) -> list[str]:
        return [r[0] for r in self._rows("SELECT name FROM objects WHERE mode=? ORDER BY name", (mode,))]

    def load(self, mode: str) -> list[Record]:
        out: list[Record] = []
        with paused_gc():
            try:
                cur = self._db().execute("SELECT id, name, revision, doc, rowid, jkey FROM objects"
                                         " WHERE mode=? ORDER BY name", (mode,))
                while True:
                    # a few thousand rows at a time: one json.loads over their documents is much
                    # faster than one call per row, and the texts of the whole mode are never held
                    rows = cur.fetchmany(5000)
                    if not rows:
                        return out
                    docs = common.docs([r[3] for r in rows], self.shown, mode)
                    out.extend([Record(r[0], mode, r[1], r[2], d, r[4], r[5]) for r, d in zip(rows, docs)])
            except sqlite3.Error as exc:
                raise self._error(exc) from None

    def scan(self, mode: str, chunk: int = 1000, *, by_type: bool = False) -> Iterator[tuple[str, str, dict]]:
        """(id, name, document) of every object of a mode in name order (`by_type`: by type,
        then name; NULLs, no type, sort first in SQLite), read `chunk` rows at a time (nothing
        cached): for walking a large mode once, as a long `list` does."""
        order = "kind, name" if by_type else "name"
        try:
            cur = self._db().execute(f"SELECT id, name, doc FROM objects WHERE mode=? ORDER BY {order}",
                                     (mode,))
        except sqlite3.Error as exc:
            raise self._error(exc) from None
        try:
            while True:
                try:
                    rows = cur.fetchmany(chunk)
                except sqlite3.Error as exc:
                    raise self._error(exc) from None
                if not rows:
                    return
                docs = common.docs([r[2] for r in rows], self.shown, mode)
                for (oid, name, _), d in zip(rows, docs):
                    yield oid, name, d
        finally:
            cur.close()

    def index(self, mode: str) -> list[tuple[str, str]]:
        """(id, name) of every object of a mode, without reading documents."""
        return self._rows("SELECT id, name FROM objects WHERE mode=?", (mode,))

    def records(self, mode: str, ids: list[str]) -> list[Record]:
        """The records of the given ids (missing ones are left out)."""
        out: list[Record] = []
        for chunk in common.chunks(ids, CHUNK):
            rows = self._rows(f"SELECT id, name, revision, doc, rowid, jkey FROM objects WHERE mode=? AND id IN "
                              f"({','.join('?' * len(chunk))})", (mode, *chunk))
            docs = common.docs([r[3] for r in rows], self.shown, mode)
            out.extend(Record(r[0], mode, r[1], r[2], d, r[4], r[5]) for r, d in zip(rows, docs))
        return out

    def where(self, mode: str, field: str, value: object) -> list[str]:
        """Names of the objects whose top-level `field` equals `value` (e.g. device type). The
        type is looked up in an index; other fields are a scan of the mode."""
        if field == "type" and isinstance(value, str):
            sql = "SELECT name FROM objects WHERE mode=? AND kind=?"
            params: tuple = (mode, value)
        else:
            sql = "SELECT name FROM objects WHERE mode=? AND json_extract(doc, '$.' || ?) = ? ORDER BY name"
            params = (mode, field, value)
        return sorted(r[0] for r in self._rows(sql, params))

    def get(self, mode: str, name: str) -> Record | None:
        rows = self._rows("SELECT id, revision, doc, rowid, jkey FROM objects WHERE mode=? AND name=?",
                          (mode, name))
        if not rows:
            return None
        row = rows[0]
        doc = common.docs([row[2]], self.shown, f"{mode} {name}")[0]
        return Record(row[0], mode, name, row[1], doc, row[3], row[4])

    def is_empty(self) -> bool:
        return not self._rows("SELECT 1 FROM objects LIMIT 1")

    # -- between sessions --------------------------------------------------------------

    def lock(self, name: str, *, wait: bool = True, shared: bool = False) -> AbstractContextManager[bool]:
        """A named lock of every session of this store: `flock` on `<store>.locks/<name>.lock`
        (filelock.py). Yields True when held; False at once, with `wait` off, when another
        holder conflicts (shared holders do not conflict with each other)."""
        return file_lock(self.path, name, wait=wait, shared=shared, shown=self.shown)

    def publish(self, events: list[dict]) -> None:
        """Store events (JSON-able dicts) for the other sessions, each with a seq of its own;
        the newest EVENTS_KEEP are kept."""
        if not events:
            return
        texts = [common.event_text(e) for e in events]
        now = time.time()
        with self._tx() as conn:
            conn.executemany("INSERT INTO events(time, payload) VALUES(?,?)", [(now, t) for t in texts])
            conn.execute("DELETE FROM events WHERE seq <= (SELECT MAX(seq) FROM events) - ?",
                         (common.EVENTS_KEEP,))

    def wait(self, timeout: float) -> bool:
        """Another session may have committed or published: an SQLite file tells nobody, so this
        only sleeps `timeout` seconds (callers then look); False."""
        time.sleep(max(0.0, timeout))
        return False

    # -- closing -----------------------------------------------------------------------

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with files.open_lock:
                n = files.open_paths.get(self._real, 1) - 1
                if n > 0:
                    files.open_paths[self._real] = n
                else:
                    files.open_paths.pop(self._real, None)
            try:
                conn.close()
            except sqlite3.Error as exc:
                raise self._error(exc) from None

    def __repr__(self) -> str:
        return f"SqliteStore({self.path!r})"


