"""The embedded store: one SQLite file (WAL mode) holding documents, revisions and a journal.

Layout::

    objects(id TEXT PRIMARY KEY, mode TEXT, name TEXT, revision INTEGER, doc TEXT,  -- doc is JSON
            jkey INTEGER,   -- the object's key in the journal (object_keys)
            kind TEXT)      -- the document's `type` (a string), for `where(mode, "type", ...)`
        UNIQUE INDEX objects_mode_name ON objects(mode, name)
        INDEX objects_kind ON objects(mode, kind)    -- the head node, at once
    journal(seq INTEGER PRIMARY KEY AUTOINCREMENT, time REAL, user TEXT, comment TEXT,
            summary TEXT,   -- JSON [[mode, action, count, names, [first names]], ...] (`journal`)
            deltas BLOB)    -- what changed, field by field, compressed (see store/delta.py)
    object_keys(key INTEGER PRIMARY KEY, id TEXT)   -- small numbers the journal uses for ids
    meta(key TEXT PRIMARY KEY, value TEXT)   -- schema_version, journal_keep, journal_snapshot
    backend_state(backend TEXT, key TEXT, value TEXT, PRIMARY KEY(backend, key))   -- JSON values:
        what the backends saw and did (a node's applied revision, an application's inventory)

Every commit is one ``BEGIN IMMEDIATE`` transaction (optimistic concurrency on the
per-object revision), so a killed process never leaves a half-applied commit and two
processes wait for each other (busy timeout) instead of failing. A commit may arrive in
batches (`commit_stream`, for `--load`): still one transaction and one journal entry.

The journal keeps, per commit, only what changed: the changed fields of a modified object with
their values before and after, the whole document of an added or removed object. The state as
of any commit is the current one with the later deltas reverted (`state_at`). `prune_journal`
compacts the older commits into one snapshot entry (every object as it was then, added).

Schema versions: 1 (no backend_state), 2 (whole documents before and after in the journal),
3 (this one). Older stores are migrated when opened, in one transaction, after a copy of the
file is written beside it (``<store>.v<N>.bak``).
"""
from __future__ import annotations

import errno
import gc
import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from json.encoder import encode_basestring_ascii as _quote
from zlib import error as zlib_error

from . import delta as jd
from .base import (ADDED, MODIFIED, REMOVED, Change, Committed, ConflictError, JournalEntry,
                   JournalRecord, NoStore, ObjectChange, ObjectDelta, Record, References,
                   StoreError)

SCHEMA_VERSION = 3
DEFAULT_TIMEOUT = 10.0          # seconds a writer waits for another one
_CHUNK = 500                    # host parameters per IN (...) query (portable limit is 999)
_TMP_PREFIX = "\x00rename:"    # temporary names used while renaming (cannot be typed)

_SCHEMA = """
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
CREATE INDEX IF NOT EXISTS objects_kind ON objects(mode, kind);
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
"""
_HEADER = b"SQLite format 3\x00"
QUICK_CHECK_SIZE = 8 << 20      # stores up to 8 MiB (about 15,000 nodes) are checked at every start
_RESTORE = "restore it from a dump (cmshell --db NEW.db --load BACKUP.yaml)"
BATCH = 5000                    # objects per batch of a streamed commit or a journal snapshot

# the statements of the migrations that create tables (see _to_v2); _to_v3 creates _SCHEMA's and
# renames the old journal to journal_v2, dropped in the same transaction
_V2_SQL = ("CREATE TABLE IF NOT EXISTS backend_state(backend TEXT NOT NULL, key TEXT NOT NULL,"
           " value TEXT NOT NULL, PRIMARY KEY(backend, key))")
_MIGRATION_SQL = (_V2_SQL,)


def _own_tables() -> set[str]:
    """The tables a cmsh store has (any version): what _SCHEMA and the migrations create."""
    import re
    text = _SCHEMA + " ".join(_MIGRATION_SQL)
    return set(re.findall(r"CREATE TABLE (?:IF NOT EXISTS )?(\w+)", text)) | {"sqlite_sequence"}

_dumps = json.JSONEncoder(separators=(",", ":")).encode
_loads = json.loads


def new_id() -> str:
    """A fresh object id (32 hex digits)."""
    import uuid  # imported lazily: uuid costs several ms at import time

    return uuid.uuid4().hex


def new_ids(n: int) -> list[str]:
    """n fresh object ids at once (random, in the form of new_id: version-4 UUIDs)."""
    raw = bytearray(os.urandom(16 * n))
    raw[6::16] = bytes((b & 0x0F) | 0x40 for b in raw[6::16])
    raw[8::16] = bytes((b & 0x3F) | 0x80 for b in raw[8::16])
    text = raw.hex()
    return [text[i:i + 32] for i in range(0, 32 * n, 32)]


def open_store(path: str | os.PathLike, *, timeout: float = DEFAULT_TIMEOUT, create: bool = True,
               parents: bool = True) -> "SqliteStore":
    """Open the store at ``path``; a missing one is created when `create` (its directories
    too when `parents`), else refused (NoStore)."""
    return SqliteStore(path, timeout=timeout, create=create, parents=parents)


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while a bulk operation makes many containers (it
    would rescan every document again and again; documents hold no cycles)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _chunks(seq: list, size: int = _CHUNK) -> Iterator[list]:
    for i in range(0, len(seq), size):
        yield seq[i:i + size]


_open_paths: dict[str, int] = {}      # realpath -> stores of this process open on it
_open_lock = threading.Lock()


class _Stale(Exception):
    """A row was not as the change's base record said: read the rows and check them."""


def _based(ch: Change) -> bool:
    """Whether a change carries the record it started from, with where the store keeps it."""
    b = ch.base
    return (b is not None and b.id == ch.id and b.mode == ch.mode and b.revision == ch.base_revision
            and b.rowid is not None and b.jkey is not None)


def _text(ch: Change) -> str:
    """The JSON text of a change's document (a StoreError when it cannot be stored)."""
    try:
        return _dumps(ch.after)
    except (TypeError, ValueError) as exc:
        raise StoreError(f"Commit refused: {ch.mode} {ch.name} cannot be stored: {_one_line(exc)}") from None


def _kind(doc: dict | None) -> str | None:
    """The `kind` column of a document: its `type` when that is a string."""
    t = doc.get("type") if doc is not None else None
    return t if type(t) is str else None


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


def _damage(text: object) -> str:
    """A line of SQLite's integrity check, without its `*** in database main ***` preamble."""
    return _one_line(str(text).replace("*** in database main ***", ""))


class SqliteStore:
    """The Store implementation over one SQLite file (see module doc)."""

    def __init__(self, path: str | os.PathLike, *, timeout: float = DEFAULT_TIMEOUT, create: bool = True,
                 parents: bool = True):
        self.path = os.fspath(path)
        self.timeout = float(timeout)
        self._conn: sqlite3.Connection | None = None
        self.references: References | None = None    # set by the Workspace (see _check_references)
        self.warnings: list[str] = []                  # for the user, once (the shell prints them)
        self.backup_path: str | None = None            # the copy written before a migration
        self._create_file(create, parents)
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
            self._check_tables(conn)       # before anything is written (WAL changes the header)
            mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()
            if not mode or str(mode[0]).lower() != "wal":
                raise StoreError(f"Cannot open store {self.path}: WAL journal mode is not available")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA journal_size_limit=67108864")   # trim a big WAL after checkpoints
            conn.execute("PRAGMA cache_size=-65536")             # up to 64 MiB, allocated on demand
            self._ensure_schema()
            self._quick_check(conn)
            self._real = os.path.realpath(self.path)
            with _open_lock:
                _open_paths[self._real] = _open_paths.get(self._real, 0) + 1
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

    def _private(self) -> None:
        """A store holds secrets: one that others may read (or write) is made 0600, with a
        warning (`warnings`, which the shell prints)."""
        import stat
        for suffix in ("", "-wal", "-shm"):
            path = self.path + suffix
            try:
                mode = stat.S_IMODE(os.stat(path).st_mode)
            except OSError:
                continue
            if mode & 0o077:
                try:
                    os.chmod(path, 0o600)
                except OSError as exc:
                    self.warnings.append(f"Warning: store {path} is readable by others (mode "
                                         f"{mode:04o}) and could not be made private: {exc.strerror}")
                    continue
                self.warnings.append(f"Warning: store {path} was readable by others (mode {mode:04o});"
                                     " it is now 0600")

    def _check_header(self) -> None:
        """What the first 100 bytes and the size of an existing file say, read without SQLite:
        an SQLite database at all, and not cut short (a truncated copy, a full disk). Skipped
        when this process has the store open already: closing a descriptor of the file would
        drop that connection's locks (see _create_file), and it was checked then."""
        with _open_lock:
            if _open_paths.get(os.path.realpath(self.path)):
                return
        try:
            with open(self.path, "rb") as fh:
                head = fh.read(100)
                size = os.fstat(fh.fileno()).st_size
        except OSError as exc:
            raise StoreError(f"Cannot open store {self.path}: {exc.strerror or _one_line(exc)}") from None
        if size == 0:
            return                         # a new, empty file: becomes a store
        if len(head) < 100 or not head.startswith(_HEADER):
            raise StoreError(f"Cannot open store {self.path}: it is not an SQLite database (not a cmsh store)")
        page = int.from_bytes(head[16:18], "big")
        page = 65536 if page == 1 else page
        pages = int.from_bytes(head[28:32], "big")
        counted = head[92:96] == head[24:28]     # the page count is valid (SQLite ≥ 3.7.0 wrote it)
        if page < 512 or page & (page - 1) or size % page or (counted and size < pages * page):
            want = f"{pages * page} bytes" if counted else f"a multiple of {page} bytes"
            raise StoreError(f"Store {self.path} is damaged: the file is {size} bytes, it should be "
                             f"{want} (truncated?); {_RESTORE}")

    def _check_tables(self, conn: sqlite3.Connection) -> None:
        """The tables must be a cmsh store's (or none: a new store). Someone else's database is
        refused before anything in it changes."""
        try:
            rows = conn.execute("SELECT name FROM sqlite_master WHERE type='table'").fetchall()
        except sqlite3.DatabaseError as exc:
            raise self._error(exc) from None
        foreign = {r[0] for r in rows} - _own_tables()
        if foreign:
            raise StoreError(f"Cannot open store {self.path}: it is an SQLite database but not a cmsh"
                             f" store (it has table {sorted(foreign)[0]}); nothing in it was changed")
        if rows and "objects" in {r[0] for r in rows}:
            cols = {r[1] for r in conn.execute("PRAGMA table_info(objects)")}
            if not {"id", "mode", "name", "revision", "doc"} <= cols:
                raise StoreError(f"Cannot open store {self.path}: its objects table is not a cmsh"
                                 " store's; nothing in it was changed")

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
            raise StoreError(f"Store {self.path} is damaged ({_damage(rows[0][0])}); {_RESTORE}")

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
            return [_one_line(exc)]
        return [_damage(r[0]) for r in rows]

    def _create_file(self, create: bool = True, parents: bool = True) -> None:
        parent = os.path.dirname(os.path.abspath(self.path))
        try:
            if not os.path.exists(self.path) and not create:
                raise NoStore(f"No store at {self.path}; create one with --init (empty), "
                              "--load FILE (a cluster file) or --demo")
            if not os.path.isdir(parent):
                if not parents:
                    raise StoreError(f"Cannot create store {self.path}: there is no directory {parent}")
                os.makedirs(parent, mode=0o700, exist_ok=True)
            if os.path.isfile(self.path):
                # closing a descriptor of a file drops every POSIX lock this process holds on
                # it, those of SQLite connections already open on the store included (a second
                # store in the same process then reads a stale snapshot): check, don't open
                if not os.access(self.path, os.R_OK | os.W_OK):
                    raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))
                self._check_header()
                self._private()
                return
            fd = os.open(self.path, os.O_CREAT | os.O_RDWR, 0o600)
            os.close(fd)
        except OSError as exc:
            reason = exc.strerror or _one_line(exc)
            raise StoreError(f"Cannot open store {self.path}: {reason}") from None

    def _ensure_schema(self) -> None:
        conn = self._db()
        version = self._version()
        if version is None:
            conn.execute("BEGIN IMMEDIATE")
            try:
                self._check_tables(conn)
                for stmt in _SCHEMA.split(";"):
                    if stmt.strip():
                        conn.execute(stmt)
                conn.execute("INSERT OR IGNORE INTO meta(key, value) VALUES('schema_version', ?)",
                             (str(SCHEMA_VERSION),))
                conn.execute("COMMIT")
            except BaseException:
                self._rollback()
                raise
            version = str(SCHEMA_VERSION)
        try:
            version_number = int(version)
        except ValueError:
            version_number = -1
        if version_number in _MIGRATIONS:
            version_number = self._migrate(version_number)
        if version_number != SCHEMA_VERSION:
            raise StoreError(f"Cannot open store {self.path}: unsupported schema version {version}"
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
        conn = self._db()
        conn.execute("BEGIN IMMEDIATE")
        try:
            now = self._version()           # another process may have migrated meanwhile
            version = int(now) if now is not None and now.isdigit() else version
            if version in _MIGRATIONS:
                self.backup_path = self._backup(version)
            while version in _MIGRATIONS:
                _MIGRATIONS[version](self, conn)
                version += 1
            conn.execute("UPDATE meta SET value=? WHERE key='schema_version'", (str(version),))
            conn.execute("COMMIT")
        except BaseException:
            self._rollback()
            raise
        try:        # give back the space the old journal took, when that is most of the file
            free = conn.execute("PRAGMA freelist_count").fetchone()[0]
            if free * 2 > conn.execute("PRAGMA page_count").fetchone()[0]:
                conn.execute("VACUUM")
        except sqlite3.Error:
            pass
        return version

    def _backup(self, version: int) -> str:
        """Copy the store (as last committed) to a new file beside it; its path."""
        base = f"{self.path}.v{version}.bak"
        path, n = base, 1
        while os.path.exists(path):
            n += 1
            path = f"{base}.{n}"
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        os.close(fd)
        src = sqlite3.connect(self.path, timeout=self.timeout)
        try:
            dst = sqlite3.connect(path)
            try:
                src.backup(dst)
            finally:
                dst.close()
        finally:
            src.close()
        return path

    # -- errors ------------------------------------------------------------------------

    def _error(self, exc: BaseException) -> StoreError:
        text = _one_line(exc)
        low = text.lower()
        if "locked" in low or "busy" in low:
            return StoreError(f"Store {self.path} is locked by another process"
                              f" (waited {self.timeout:g} s); try again later")
        if "not a database" in low or "malformed" in low or "corrupt" in low:
            return StoreError(f"Store {self.path} is damaged ({text}); {_RESTORE}")
        if "readonly" in low or "read-only" in low or "unable to open" in low or "permission" in low:
            return StoreError(f"Cannot write store {self.path}: {text}")
        return StoreError(f"Store {self.path}: {text}")

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreError(f"Store {self.path} is closed")
        return self._conn

    def _rollback(self) -> None:
        conn = self._conn
        if conn is not None and conn.in_transaction:
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass

    # -- reading -----------------------------------------------------------------------

    def names(self, mode: str) -> list[str]:
        try:
            rows = self._db().execute("SELECT name FROM objects WHERE mode=? ORDER BY name",
                                      (mode,)).fetchall()
        except sqlite3.Error as exc:
            raise self._error(exc) from None
        return [r[0] for r in rows]

    def load(self, mode: str) -> list[Record]:
        with paused_gc():
            return self._load(mode)

    def _load(self, mode: str) -> list[Record]:
        out: list[Record] = []
        try:
            cur = self._db().execute("SELECT id, name, revision, doc, rowid, jkey FROM objects WHERE mode=?"
                                     " ORDER BY name", (mode,))
            while True:
                # a few thousand rows at a time: one json.loads over their documents is much
                # faster than one call per row, and the texts of the whole mode are never held
                rows = cur.fetchmany(5000)
                if not rows:
                    return out
                try:
                    docs = _loads("[" + ",".join([r[3] for r in rows]) + "]")
                except ValueError as exc:
                    raise StoreError(f"Store {self.path} holds a damaged {mode} document: "
                                     f"{_one_line(exc)}") from None
                out.extend([Record(r[0], mode, r[1], r[2], d, r[4], r[5]) for r, d in zip(rows, docs)])
        except sqlite3.Error as exc:
            raise self._error(exc) from None

    def scan(self, mode: str, chunk: int = 1000) -> Iterator[tuple[str, str, dict]]:
        """(id, name, document) of every object of a mode in name order, read `chunk` rows at a
        time (nothing cached): for walking a large mode once, as a long `list` does."""
        try:
            cur = self._db().execute("SELECT id, name, doc FROM objects WHERE mode=? ORDER BY name",
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
                try:
                    docs = _loads("[" + ",".join([r[2] for r in rows]) + "]")
                except ValueError as exc:
                    raise StoreError(f"Store {self.path} holds a damaged {mode} document: {_one_line(exc)}") from None
                for (oid, name, _), d in zip(rows, docs):
                    yield oid, name, d
        finally:
            cur.close()

    def index(self, mode: str) -> list[tuple[str, str]]:
        """(id, name) of every object of a mode, without reading documents."""
        try:
            return self._db().execute("SELECT id, name FROM objects WHERE mode=?", (mode,)).fetchall()
        except sqlite3.Error as exc:
            raise self._error(exc) from None

    def records(self, mode: str, ids: list[str]) -> list[Record]:
        """The records of the given ids (missing ones are left out)."""
        out: list[Record] = []
        for i in range(0, len(ids), 500):
            chunk = ids[i:i + 500]
            try:
                rows = self._db().execute(
                    f"SELECT id, name, revision, doc, rowid, jkey FROM objects WHERE mode=? AND id IN "
                    f"({','.join('?' * len(chunk))})", (mode, *chunk)).fetchall()
            except sqlite3.Error as exc:
                raise self._error(exc) from None
            for r in rows:
                try:
                    out.append(Record(r[0], mode, r[1], r[2], _loads(r[3]), r[4], r[5]))
                except ValueError as exc:
                    raise StoreError(f"Store {self.path} holds a damaged document for {mode} {r[1]}: "
                                     f"{_one_line(exc)}") from None
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
        try:
            rows = self._db().execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise self._error(exc) from None
        return sorted(r[0] for r in rows)

    def get(self, mode: str, name: str) -> Record | None:
        try:
            row = self._db().execute(
                "SELECT id, revision, doc, rowid, jkey FROM objects WHERE mode=? AND name=?",
                (mode, name)).fetchone()
        except sqlite3.Error as exc:
            raise self._error(exc) from None
        if row is None:
            return None
        try:
            doc = _loads(row[2])
        except ValueError as exc:
            raise StoreError(f"Store {self.path} holds a damaged document for {mode} {name}: "
                             f"{_one_line(exc)}") from None
        return Record(row[0], mode, name, row[1], doc, row[3], row[4])

    def is_empty(self) -> bool:
        try:
            return self._db().execute("SELECT 1 FROM objects LIMIT 1").fetchone() is None
        except sqlite3.Error as exc:
            raise self._error(exc) from None

    # -- committing --------------------------------------------------------------------

    def commit(self, changes: list[Change], *, user: str, comment: str = "",
               when: float | None = None, if_empty: bool = False) -> Committed | None:
        """Store the changes in one transaction; None when there are none. `if_empty`: only into
        an empty store, checked inside the transaction (`--load`: two loads never merge)."""
        return self.commit_stream([changes], user=user, comment=comment, when=when, if_empty=if_empty)

    def commit_stream(self, batches: Iterable[Sequence[Change]], *, user: str, comment: str = "",
                      when: float | None = None,
                      before_commit: Callable[[], None] | None = None,
                      if_empty: bool = False) -> Committed | None:
        """Store changes that arrive in batches (read lazily, inside the transaction) as one
        commit: one transaction, one journal entry. `before_commit` runs after the last batch,
        before the transaction commits; whatever it (or the batches' iterator) raises rolls
        everything back. None when there were no changes. `if_empty`: only into an empty store,
        checked inside the transaction. Pointers are checked inside the transaction too, after
        the last batch (see _check_references)."""
        when = time.time() if when is None else when
        conn = self._db()
        with paused_gc():
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    if if_empty and conn.execute("SELECT 1 FROM objects LIMIT 1").fetchone():
                        raise ConflictError("Commit refused: the store is not empty (another session"
                                            " has committed into it meanwhile)")
                    result = self._stream(conn, batches, user, comment, when, before_commit)
                    if result is None:
                        self._rollback()
                    else:
                        conn.execute("COMMIT")
                except BaseException:
                    self._rollback()
                    raise
            except sqlite3.Error as exc:
                raise self._error(exc) from None
        if result is not None:
            self._retain(user)
        return result

    def _stream(self, conn: sqlite3.Connection, batches: Iterable[Sequence[Change]], user: str, comment: str,
                when: float, before_commit: Callable[[], None] | None) -> Committed | None:
        writer = jd.Writer()
        done: list[ObjectChange] = []
        revisions: dict[str, int] = {}
        seen: set[str] = set()
        wanted: dict[tuple[str, str], tuple[str, str]] = {}   # pointer target -> first (mode, name) using it
        gone: list[tuple[str, str]] = []                        # names removed or renamed away
        for batch in batches:
            batch = list(batch)
            if not batch:
                continue
            self._batch(conn, batch, seen, writer, done, revisions, wanted, gone)
        if not done:
            return None
        if before_commit is not None:
            before_commit()
        self._check_references(conn, wanted, gone)
        summary, blob = writer.finish()
        cur = conn.execute("INSERT INTO journal(time, user, comment, summary, deltas) VALUES(?,?,?,?,?)",
                           (when, user, comment, summary, blob))
        seq = cur.lastrowid
        assert seq is not None            # set by every INSERT
        return Committed(seq, when, user, comment, tuple(done), revisions, writer.groups)

    def _batch(self, conn: sqlite3.Connection, changes: list[Change], seen: set[str], writer: jd.Writer,
               done: list[ObjectChange], revisions: dict[str, int],
               wanted: dict[tuple[str, str], tuple[str, str]], gone: list[tuple[str, str]]) -> None:
        inserts: list[Change] = []
        updates: list[Change] = []
        removals: list[Change] = []
        targets: dict[str, set[str]] = {}           # mode -> names the commit gives objects
        for ch in changes:
            if not (type(ch.id) is str and type(ch.mode) is str and type(ch.name) is str):
                raise StoreError(f"Commit refused: bad change {ch!r:.200}")
            if ch.id in seen:
                raise StoreError(f"Commit refused: {ch.mode} {ch.name} appears twice in one commit")
            seen.add(ch.id)
            if ch.after is None:
                if ch.base_revision is None:
                    raise StoreError(f"Commit refused: {ch.mode} {ch.name} was never committed"
                                     " and cannot be removed")
                removals.append(ch)
                continue
            names = targets.get(ch.mode)
            if names is None:
                names = targets[ch.mode] = set()
            if ch.name in names:
                raise ConflictError(f"Commit refused: {ch.mode} {ch.name} would exist twice")
            names.add(ch.name)
            (inserts if ch.base_revision is None else updates).append(ch)
        del targets
        # the texts of new objects now (the journal keeps them too); of updated ones as they
        # are written (not all held at once)
        after_text = {ch.id: _text(ch) for ch in inserts}

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
                self._check_current(touched, current)
            befores = {ch.id: ch.base.doc for ch in touched if ch.base is not None and ch.base.id == ch.id
                       and ch.base.revision == ch.base_revision}
            unknown = [oid for oid in current if oid not in befores]
            for part in _chunks(unknown, 2000):
                marks = ",".join("?" * len(part))
                rows = conn.execute(f"SELECT id, doc FROM objects WHERE id IN ({marks})", part).fetchall()
                befores.update(zip([r[0] for r in rows], _loads("[" + ",".join([r[1] for r in rows]) + "]")))

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
                raise self._collision(conn, inserts, updates, removals, current, exc) from None
            conn.execute("RELEASE cmsh_write")
            break
        for ch in changes:
            if ch.after is not None:
                for ref in ch.refs:
                    wanted.setdefault(ref, (ch.mode, ch.name))
        gone += [(ch.mode, current[ch.id][2]) for ch in removals]
        gone += [(ch.mode, current[ch.id][2]) for ch in updates if current[ch.id][2] != ch.name]

        # 3. the Committed value (whole documents, in hand) and the journal (deltas); the
        # documents before come from the rows read inside this transaction
        members: list[jd.Member] = []
        payloads = jd.Payloads()
        for ch in changes:
            oid = ch.id
            row = current.get(oid)
            before = befores.get(oid)
            done.append(ObjectChange(oid, ch.mode, ch.name, before, ch.after))
            if ch.after is None:
                action, payload = REMOVED, _dumps(before)
            elif row is None:
                action, payload = ADDED, after_text[oid]
                revisions[oid] = 1
            else:
                action = MODIFIED
                payload = payloads.modified(before, ch.after, row[2] if row[2] != ch.name else None)  # type: ignore[arg-type]
                revisions[oid] = ch.base_revision + 1                 # type: ignore[operator]
            members.append((keys[oid], ch.mode, ch.name, action, payload))
        writer.add(members)

    @staticmethod
    def _check_current(changes: list[Change], current: dict[str, tuple]) -> None:
        for ch in changes:
            row = current.get(ch.id)
            if row is None or row[1] != ch.mode:
                raise ConflictError(f"Commit refused: {ch.mode} {ch.name} was removed by another"
                                    " session; refresh and try again")
            if row[3] != ch.base_revision:
                raise ConflictError(
                    f"Commit refused: {ch.mode} {ch.name} was changed by another session"
                    f" (revision {row[3]}, you started from {ch.base_revision}); refresh and try again")

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
            for part in _chunks(ids, 2000):
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
            keys.update(zip(need, self._new_keys(conn, need)))
            old = [(keys[oid], oid) for oid in current if current[oid][4] is None]
            if old:
                conn.executemany("UPDATE objects SET jkey=? WHERE id=?", old)
        return keys

    def _new_keys(self, conn: sqlite3.Connection, ids: list[str]) -> list[int]:
        start = conn.execute("SELECT COALESCE(MAX(key), 0) FROM object_keys").fetchone()[0] + 1
        keys = list(range(start, start + len(ids)))
        conn.executemany("INSERT INTO object_keys(key, id) VALUES(?,?)", zip(keys, ids))
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
            kind = _kind(ch.after)
            row = current[ch.id]
            if row[2] != ch.name or _kind(befores[ch.id]) != kind:
                moved.append((ch.name, _text(ch), kind, row[5], ch.id, ch.base_revision))
            else:
                kept.append(ch)
        if moved:
            check(conn.executemany(
                "UPDATE objects SET name=?, doc=?, kind=?, revision=revision+1"
                " WHERE rowid=? AND id=? AND revision=?", moved), len(moved))
        if kept:
            check(conn.executemany(
                "UPDATE objects SET doc=?, revision=revision+1 WHERE rowid=? AND id=? AND revision=?",
                ((_text(ch), current[ch.id][5], ch.id, ch.base_revision) for ch in kept)), len(kept))
        if inserts:
            check(conn.executemany(
                "INSERT INTO objects(id, mode, name, revision, doc, jkey, kind) VALUES(?,?,?,1,?,?,?)",
                [(ch.id, ch.mode, ch.name, after_text[ch.id], keys[ch.id], _kind(ch.after))
                 for ch in inserts]), len(inserts))

    def _check_references(self, conn: sqlite3.Connection, wanted: dict[tuple[str, str], tuple[str, str]],
                          gone: list[tuple[str, str]]) -> None:
        """Pointers, checked against what is stored now (inside the transaction, after the
        writes of every batch), not against the session's older view: two sessions must not be
        able to commit a node pointing at a category while the other removes it (write skew).
        `wanted`: pointer targets of the written objects (-> the first object pointing there);
        `gone`: (mode, name) the commit removed or renamed away."""
        # a. every target of the written objects exists
        by_mode: dict[str, set[str]] = {}
        for mode, name in wanted:
            by_mode.setdefault(mode, set()).add(name)
        for mode, names in by_mode.items():
            missing = set(names)
            for part in _chunks(sorted(names)):
                missing.difference_update(r[0] for r in conn.execute(
                    f"SELECT name FROM objects WHERE mode=? AND name IN ({','.join('?' * len(part))})",
                    (mode, *part)))
            for name in sorted(missing):      # a pointer may differ in case (cmsh finds it so)
                if conn.execute("SELECT 1 FROM objects WHERE mode=? AND name=? COLLATE NOCASE",
                                (mode, name)).fetchone() is None:
                    chmode, chname = wanted[(mode, name)]
                    raise ConflictError(f"Commit refused: {chmode} {chname} points at {mode} {name},"
                                        " which no longer exists (another session removed or renamed"
                                        " it); refresh and try again")
        # b. no stored object points at a name this commit removed or renamed away
        refs = self.references
        if refs is None:
            return
        for mode, name in gone:
            if conn.execute("SELECT 1 FROM objects WHERE mode=? AND name=?", (mode, name)).fetchone():
                continue              # the name is taken again (a swap, a chain of renames)
            for other in refs.referrer_modes(mode):
                for oname, doc in conn.execute(
                        "SELECT name, doc FROM objects WHERE mode=? AND instr(doc, ?) > 0",
                        (other, _quote(name))):
                    if refs.refers(other, _loads(doc), mode, name):
                        raise ConflictError(f"Commit refused: {mode} {name} is used by {other} {oname};"
                                            " refresh and try again")

    def _collision(self, conn: sqlite3.Connection, inserts: list[Change], updates: list[Change],
                   removals: list[Change], current: dict[str, tuple], exc: sqlite3.Error) -> StoreError:
        """Explain a UNIQUE violation (the writes were rolled back to the savepoint)."""
        leaving = {ch.id for ch in removals}
        leaving.update(ch.id for ch in updates if current[ch.id][2] != ch.name)
        for ch in inserts:
            row = conn.execute("SELECT mode, name FROM objects WHERE id=?", (ch.id,)).fetchone()
            if row is not None:
                return ConflictError(f"Commit refused: {ch.mode} {ch.name} already exists"
                                     f" (as {row[0]} {row[1]}); refresh and try again")
        for ch in inserts + updates:
            row = conn.execute("SELECT id FROM objects WHERE mode=? AND name=?",
                               (ch.mode, ch.name)).fetchone()
            if row is not None and row[0] != ch.id and row[0] not in leaving:
                return ConflictError(f"Commit refused: {ch.mode} {ch.name} already exists")
        return ConflictError(f"Commit refused: {_one_line(exc)}")

    # -- journal -----------------------------------------------------------------------

    def journal(self, limit: int | None = None) -> list[JournalEntry]:
        """The commits, oldest first (the last `limit` of them); their groups, no documents."""
        sql = "SELECT seq, time, user, comment, summary FROM journal ORDER BY seq DESC"
        params: tuple = ()
        if limit is not None:
            sql += " LIMIT ?"
            params = (max(0, int(limit)),)
        try:
            rows = self._db().execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise self._error(exc) from None
        rows.reverse()
        return [self._entry(r) for r in rows]

    def journal_head(self, seq: int) -> JournalEntry | None:
        """One commit as `journal` lists it (None when there is no such commit)."""
        try:
            row = self._db().execute("SELECT seq, time, user, comment, summary FROM journal WHERE seq=?",
                                     (seq,)).fetchone()
        except sqlite3.Error as exc:
            raise self._error(exc) from None
        return self._entry(row) if row is not None else None

    def _entry(self, row: tuple) -> JournalEntry:
        try:
            groups = jd.load_groups(row[4])
        except (ValueError, TypeError) as exc:
            raise StoreError(f"Store {self.path} holds a damaged journal entry {row[0]}: {_one_line(exc)}") from None
        return JournalEntry(row[0], row[1], row[2], row[3], groups)

    def journal_entry(self, seq: int) -> JournalRecord | None:
        """One commit with what it changed, as field-level deltas."""
        try:
            conn = self._db()
            row = conn.execute("SELECT seq, time, user, comment, summary, deltas FROM journal WHERE seq=?",
                               (seq,)).fetchone()
            if row is None:
                return None
            changes = tuple(self._deltas(conn, row[0], row[5]))
        except sqlite3.Error as exc:
            raise self._error(exc) from None
        head = self._entry(row)
        return JournalRecord(head.seq, head.time, head.user, head.comment, head.groups, changes,
                             snapshot=seq == self._snapshot_seq(conn))

    def _deltas(self, conn: sqlite3.Connection, seq: int, blob: bytes) -> list[ObjectDelta]:
        try:
            recs = list(jd.records(blob))
        except (ValueError, TypeError, zlib_error) as exc:
            raise StoreError(f"Store {self.path} holds a damaged journal entry {seq}: {_one_line(exc)}") from None
        ids = self._ids(conn, sorted({k for r in recs for k in r[2]}))
        out: list[ObjectDelta] = []
        for mode, action, keys, names, payloads in recs:
            for k, name, payload in zip(keys, names, payloads):
                oid = ids.get(k)
                if oid is None:
                    raise StoreError(f"Store {self.path}: journal entry {seq} names an unknown object")
                out.append(jd.delta(oid, mode, name, action, payload))
        return out

    def _ids(self, conn: sqlite3.Connection, keys: list[int]) -> dict[int, str]:
        """key -> id of sorted, distinct keys (one range query per run of consecutive keys)."""
        out: dict[int, str] = {}
        for first, count in jd.int_runs(keys):
            out.update(conn.execute("SELECT key, id FROM object_keys WHERE key BETWEEN ? AND ?",
                                    (first, first + count - 1)))
        return out

    def _snapshot_seq(self, conn: sqlite3.Connection) -> int | None:
        row = conn.execute("SELECT value FROM meta WHERE key='journal_snapshot'").fetchone()
        return int(row[0]) if row else None

    def state_at(self, seq: int) -> dict[str, tuple[str, str, dict | None]]:
        """id -> (mode, name, document as of commit `seq`; None: it did not exist) of every object
        a later commit changed: the current documents with the later deltas reverted. Commits
        compacted into the snapshot cannot be gone back to (0, no objects, always can)."""
        conn = self._db()
        try:
            conn.execute("BEGIN")
            try:
                snap = self._snapshot_seq(conn)
                if snap is not None and 0 < seq < snap:
                    raise StoreError(f"Commit {seq} was compacted into the snapshot of commit {snap}"
                                     f" ('journal --prune'); the journal goes back to commit {snap}")
                return self._state_after(conn, seq)
            finally:
                self._rollback()
        except sqlite3.Error as exc:
            raise self._error(exc) from None

    def _state_after(self, conn: sqlite3.Connection, seq: int) -> dict[str, tuple[str, str, dict | None]]:
        state: dict[str, tuple[str, str, dict | None]] = {}
        later = [r[0] for r in conn.execute("SELECT seq FROM journal WHERE seq > ? ORDER BY seq DESC", (seq,))]
        with paused_gc():
            for n in later:
                blob = conn.execute("SELECT deltas FROM journal WHERE seq=?", (n,)).fetchone()[0]
                deltas = self._deltas(conn, n, blob)
                new = [d.id for d in deltas if d.id not in state]
                now = self._current(conn, new)
                for d in deltas:
                    if d.id in state:
                        _, _, doc = state[d.id]
                    else:
                        doc = now.get(d.id)
                    try:
                        before = d.revert(doc)
                    except ValueError as exc:
                        raise StoreError(f"Store {self.path}: the journal does not match the objects"
                                         f" (commit {n}: {exc})") from None
                    name = d.old_name if d.old_name is not None else d.name
                    state[d.id] = (d.mode, name, before)
        return state

    def _current(self, conn: sqlite3.Connection, ids: list[str]) -> dict[str, dict]:
        out: dict[str, dict] = {}
        for part in _chunks(ids):
            marks = ",".join("?" * len(part))
            rows = conn.execute(f"SELECT id, doc FROM objects WHERE id IN ({marks})", part).fetchall()
            if rows:
                docs = _loads("[" + ",".join(r[1] for r in rows) + "]")
                out.update((r[0], d) for r, d in zip(rows, docs))
        return out

    def prune_journal(self, keep: int, *, user: str = "cmshell") -> int:
        """Compact every commit but the last `keep` into one snapshot entry: every object as it
        was after the newest of them, as added. The number of entries that went."""
        keep = max(0, int(keep))
        conn = self._db()
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                n = self._prune(conn, keep, user)
                conn.execute("COMMIT")
            except BaseException:
                self._rollback()
                raise
        except sqlite3.Error as exc:
            raise self._error(exc) from None
        return n

    def _prune(self, conn: sqlite3.Connection, keep: int, user: str) -> int:
        old = conn.execute("SELECT seq, time FROM journal ORDER BY seq DESC LIMIT -1 OFFSET ?",
                           (keep,)).fetchall()
        snap = self._snapshot_seq(conn)
        if not old or (len(old) == 1 and old[0][0] == snap):
            return 0
        top, when = old[0]
        first = old[-1][0]
        state = self._state_after(conn, top)
        writer = jd.Writer(level=1)
        batch: list[tuple[int, str, str, str]] = []       # (key, mode, name, document text)

        def flush() -> None:
            writer.add([(key, mode, name, ADDED, text) for key, mode, name, text in batch])
            batch.clear()

        gone = []                                       # objects removed since: new keys
        for oid, (mode, name, doc) in state.items():
            if doc is not None:
                gone.append((oid, mode, name, doc))
        keyed = dict(conn.execute("SELECT id, jkey FROM objects WHERE jkey IS NOT NULL"))
        fresh = [g[0] for g in gone if g[0] not in keyed]
        keyed.update(zip(fresh, self._new_keys(conn, fresh)))
        for oid, mode, name, text in conn.execute("SELECT id, mode, name, doc FROM objects ORDER BY mode, name"):
            if oid in state:
                continue
            if oid not in keyed:
                keyed[oid] = self._new_keys(conn, [oid])[0]
                conn.execute("UPDATE objects SET jkey=? WHERE id=?", (keyed[oid], oid))
            batch.append((keyed[oid], mode, name, text))
            if len(batch) >= BATCH:
                flush()
        for oid, mode, name, doc in gone:
            batch.append((keyed[oid], mode, name, _dumps(doc)))
            if len(batch) >= BATCH:
                flush()
        flush()
        summary, blob = writer.finish()
        if first == snap:
            first_text = f"the snapshot of commit {snap}"
        else:
            first_text = f"commit {first}"
        comment = f"Snapshot: {first_text} to {top} compacted (journal --prune)"
        conn.execute("DELETE FROM journal WHERE seq <= ?", (top,))
        conn.execute("INSERT INTO journal(seq, time, user, comment, summary, deltas) VALUES(?,?,?,?,?,?)",
                     (top, when, user, comment, summary, blob))
        conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES('journal_snapshot', ?)", (str(top),))
        return len(old)

    def journal_retention(self) -> int | None:
        """How many commits the journal keeps (older ones compacted); None: all."""
        try:
            row = self._db().execute("SELECT value FROM meta WHERE key='journal_keep'").fetchone()
        except sqlite3.Error as exc:
            raise self._error(exc) from None
        return int(row[0]) if row else None

    def set_journal_retention(self, keep: int | None) -> None:
        try:
            if keep is None:
                self._db().execute("DELETE FROM meta WHERE key='journal_keep'")
            else:
                self._db().execute("INSERT OR REPLACE INTO meta(key, value) VALUES('journal_keep', ?)",
                                   (str(max(0, int(keep))),))
        except sqlite3.Error as exc:
            raise self._error(exc) from None

    def _retain(self, user: str) -> None:
        """After a commit: compact the journal once it holds a tenth (at least 10) more commits
        than the retention keeps. Best effort: the commit is stored whatever happens here."""
        try:
            keep = self.journal_retention()
            if keep is None:
                return
            count = self._db().execute("SELECT COUNT(*) FROM journal").fetchone()[0]
            if count > keep + 1 + max(10, keep // 10):
                self.prune_journal(keep, user=user)
        except StoreError:
            pass

    # -- backend state -----------------------------------------------------------------

    def put_state(self, backend: str, items: dict[str, object]) -> None:
        """Record backend state in one transaction (a None value removes the key)."""
        conn = self._db()
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                for key, value in items.items():
                    if value is None:
                        conn.execute("DELETE FROM backend_state WHERE backend=? AND key=?", (backend, key))
                    else:
                        conn.execute("INSERT OR REPLACE INTO backend_state(backend, key, value) VALUES(?,?,?)",
                                     (backend, key, _dumps(value)))
                conn.execute("COMMIT")
            except BaseException:
                self._rollback()
                raise
        except sqlite3.Error as exc:
            raise self._error(exc) from None

    def get_state(self, backend: str, keys: list[str] | None = None) -> dict[str, object]:
        """Recorded state of a backend: every key, or the given ones (missing keys left out)."""
        try:
            if keys is None:
                rows = self._db().execute("SELECT key, value FROM backend_state WHERE backend=?",
                                          (backend,)).fetchall()
            else:
                rows = []
                for part in _chunks(keys):
                    rows += self._db().execute(
                        f"SELECT key, value FROM backend_state WHERE backend=? AND key IN "
                        f"({','.join('?' * len(part))})", (backend, *part)).fetchall()
        except sqlite3.Error as exc:
            raise self._error(exc) from None
        return {k: _loads(v) for k, v in rows}

    # -- closing -----------------------------------------------------------------------

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with _open_lock:
                n = _open_paths.get(self._real, 1) - 1
                if n > 0:
                    _open_paths[self._real] = n
                else:
                    _open_paths.pop(self._real, None)
            try:
                conn.close()
            except sqlite3.Error as exc:
                raise self._error(exc) from None

    def __enter__(self) -> "SqliteStore":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"SqliteStore({self.path!r})"


# -- migrations -----------------------------------------------------------------------------------
def _to_v2(store: SqliteStore, conn: sqlite3.Connection) -> None:
    """Version 1 -> 2: the backends' state."""
    conn.execute(_V2_SQL)


def _to_v3(store: SqliteStore, conn: sqlite3.Connection) -> None:
    """Version 2 -> 3: the journal's whole documents before and after become field-level deltas
    (same commit numbers, users, times and comments)."""
    conn.execute("ALTER TABLE journal RENAME TO journal_v2")
    conn.execute("ALTER TABLE objects ADD COLUMN jkey INTEGER")
    conn.execute("ALTER TABLE objects ADD COLUMN kind TEXT")
    conn.execute("UPDATE objects SET kind=json_extract(doc, '$.type') WHERE json_type(doc, '$.type')='text'")
    for stmt in _SCHEMA.split(";"):
        if stmt.strip():
            conn.execute(stmt)
    names: dict[str, str] = {}          # id -> name after the last commit seen that touched it
    keys: dict[str, int] = {}           # id -> journal key
    rows = conn.cursor()
    with paused_gc():
        for seq, when, user, comment, text in rows.execute(
                "SELECT seq, time, user, comment, changes FROM journal_v2 ORDER BY seq"):
            try:
                changes = _loads(text)
            except ValueError as exc:
                raise StoreError(f"Cannot migrate store {store.path}: journal entry {seq} is damaged:"
                                 f" {_one_line(exc)}") from None
            fresh = list(dict.fromkeys(c["id"] for c in changes if c["id"] not in keys))
            keys.update(zip(fresh, store._new_keys(conn, fresh)))
            writer = jd.Writer()
            members = []
            for c in changes:
                oid, mode, name, before, after = c["id"], c["mode"], c["name"], c["before"], c["after"]
                if after is None:
                    action, payload = REMOVED, _dumps(before)
                elif before is None:
                    action, payload = ADDED, _dumps(after)
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


_MIGRATIONS: dict[int, Callable[[SqliteStore, sqlite3.Connection], None]] = {1: _to_v2, 2: _to_v3}
