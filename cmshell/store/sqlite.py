"""The embedded store: one SQLite file (WAL mode) holding documents, revisions and a journal.

Layout::

    objects(id TEXT PRIMARY KEY, mode TEXT, name TEXT, revision INTEGER, doc TEXT)  -- doc is JSON
        UNIQUE INDEX objects_mode_name ON objects(mode, name)
    journal(seq INTEGER PRIMARY KEY AUTOINCREMENT, time REAL, user TEXT, comment TEXT,
            objects TEXT,   -- JSON [[mode, name, action], ...]
            changes TEXT)   -- JSON [{id, mode, name, before, after}, ...]
    meta(key TEXT PRIMARY KEY, value TEXT)   -- schema_version
    backend_state(backend TEXT, key TEXT, value TEXT, PRIMARY KEY(backend, key))   -- JSON values:
        what the backends saw and did (a node's applied revision, an application's inventory)

Every commit is one ``BEGIN IMMEDIATE`` transaction (optimistic concurrency on the
per-object revision), so a killed process never leaves a half-applied commit and two
processes wait for each other (busy timeout) instead of failing.
"""
from __future__ import annotations

import errno
import gc
import json
import os
import sqlite3
import threading
import time
from contextlib import contextmanager
from typing import Iterator
from json.encoder import encode_basestring_ascii as _quote

from .base import (Change, Committed, ConflictError, JournalEntry, NoStore, ObjectChange, Record,
                   References, StoreError)

SCHEMA_VERSION = 2
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
    doc TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS objects_mode_name ON objects(mode, name);
CREATE TABLE IF NOT EXISTS journal(
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    time REAL NOT NULL,
    user TEXT NOT NULL,
    comment TEXT NOT NULL,
    objects TEXT NOT NULL,
    changes TEXT NOT NULL
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


def _own_tables() -> set[str]:
    """The tables a cmsh store has (any version): what _SCHEMA and the migrations create."""
    import re
    text = _SCHEMA + " ".join(st for sts in _MIGRATIONS.values() for st in sts)
    return set(re.findall(r"CREATE TABLE (?:IF NOT EXISTS )?(\w+)", text)) | {"sqlite_sequence"}


_MIGRATIONS = {   # version -> statements that bring a store of that version to the next
    1: ["CREATE TABLE IF NOT EXISTS backend_state(backend TEXT NOT NULL, key TEXT NOT NULL,"
        " value TEXT NOT NULL, PRIMARY KEY(backend, key))"],
}

_dumps = json.JSONEncoder(separators=(",", ":")).encode
_loads = json.loads


def new_id() -> str:
    """A fresh object id (32 hex digits)."""
    import uuid  # imported lazily: uuid costs several ms at import time

    return uuid.uuid4().hex


def open_store(path: str | os.PathLike, *, timeout: float = DEFAULT_TIMEOUT, create: bool = True,
               parents: bool = True) -> "SqliteStore":
    """Open the store at ``path``; a missing one is created when `create` (its directories
    too when `parents`), else refused (NoStore)."""
    return SqliteStore(path, timeout=timeout, create=create, parents=parents)


@contextmanager
def _no_gc() -> Iterator[None]:
    """Pause the cyclic GC while building many containers (it would rescan them repeatedly)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _chunks(seq: list[str], size: int = _CHUNK) -> Iterator[list[str]]:
    for i in range(0, len(seq), size):
        yield seq[i:i + size]


_open_paths: dict[str, int] = {}      # realpath -> stores of this process open on it
_open_lock = threading.Lock()


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
        version = None
        try:
            row = conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
            version = row[0] if row else None
        except sqlite3.OperationalError as exc:
            if "no such table" not in str(exc):
                raise
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

    def _migrate(self, version: int) -> int:
        """Bring an older store up to SCHEMA_VERSION in one transaction."""
        conn = self._db()
        conn.execute("BEGIN IMMEDIATE")
        try:
            while version in _MIGRATIONS:
                for stmt in _MIGRATIONS[version]:
                    conn.execute(stmt)
                version += 1
            conn.execute("UPDATE meta SET value=? WHERE key='schema_version'", (str(version),))
            conn.execute("COMMIT")
        except BaseException:
            self._rollback()
            raise
        return version

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
        with _no_gc():
            return self._load(mode)

    def _load(self, mode: str) -> list[Record]:
        try:
            rows = self._db().execute(
                "SELECT id, name, revision, doc FROM objects WHERE mode=? ORDER BY name",
                (mode,)).fetchall()
        except sqlite3.Error as exc:
            raise self._error(exc) from None
        if not rows:
            return []
        try:
            # one json.loads over all documents is much faster than one call per row
            docs = _loads("[" + ",".join([r[3] for r in rows]) + "]")
        except ValueError as exc:
            raise StoreError(f"Store {self.path} holds a damaged {mode} document: {_one_line(exc)}") from None
        return [Record(r[0], mode, r[1], r[2], d) for r, d in zip(rows, docs)]

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
                    f"SELECT id, name, revision, doc FROM objects WHERE mode=? AND id IN "
                    f"({','.join('?' * len(chunk))})", (mode, *chunk)).fetchall()
            except sqlite3.Error as exc:
                raise self._error(exc) from None
            for r in rows:
                try:
                    out.append(Record(r[0], mode, r[1], r[2], _loads(r[3])))
                except ValueError as exc:
                    raise StoreError(f"Store {self.path} holds a damaged document for {mode} {r[1]}: "
                                     f"{_one_line(exc)}") from None
        return out

    def where(self, mode: str, field: str, value: object) -> list[str]:
        """Names of the objects whose top-level `field` equals `value` (e.g. device type)."""
        try:
            rows = self._db().execute(
                "SELECT name FROM objects WHERE mode=? AND json_extract(doc, '$.' || ?) = ? ORDER BY name",
                (mode, field, value)).fetchall()
        except sqlite3.Error as exc:
            raise self._error(exc) from None
        return [r[0] for r in rows]

    def get(self, mode: str, name: str) -> Record | None:
        try:
            row = self._db().execute(
                "SELECT id, revision, doc FROM objects WHERE mode=? AND name=?",
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
        return Record(row[0], mode, name, row[1], doc)

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
        with _no_gc():
            return self._commit(list(changes), user, comment, time.time() if when is None else when,
                                if_empty)

    def _commit(self, changes: list[Change], user: str, comment: str, when: float,
                if_empty: bool = False) -> Committed | None:
        if not changes:
            return None
        inserts: list[Change] = []
        updates: list[Change] = []
        removals: list[Change] = []
        seen: set[str] = set()
        targets: set[tuple[str, str]] = set()
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
            key = (ch.mode, ch.name)
            if key in targets:
                raise ConflictError(f"Commit refused: {ch.mode} {ch.name} would exist twice")
            targets.add(key)
            (inserts if ch.base_revision is None else updates).append(ch)

        after_text: dict[str, str] = {}
        for ch in changes:
            if ch.after is not None:
                try:
                    after_text[ch.id] = _dumps(ch.after)
                except (TypeError, ValueError) as exc:
                    raise StoreError(f"Commit refused: {ch.mode} {ch.name} cannot be stored: "
                                     f"{_one_line(exc)}") from None

        conn = self._db()
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                if if_empty and conn.execute("SELECT 1 FROM objects LIMIT 1").fetchone():
                    raise ConflictError("Commit refused: the store is not empty (another session has"
                                        " committed into it meanwhile)")
                result = self._apply(conn, changes, inserts, updates, removals, after_text,
                                     user, comment, when)
                conn.execute("COMMIT")
            except BaseException:
                self._rollback()
                raise
        except sqlite3.Error as exc:
            raise self._error(exc) from None
        return result

    def _apply(self, conn: sqlite3.Connection, changes: list[Change], inserts: list[Change],
               updates: list[Change], removals: list[Change], after_text: dict[str, str], user: str,
               comment: str, when: float) -> Committed:
        # 1. current rows of everything updated or removed, read inside the transaction
        current: dict[str, tuple] = {}
        existing = [ch.id for ch in updates] + [ch.id for ch in removals]
        for part in _chunks(existing):
            marks = ",".join("?" * len(part))
            for row in conn.execute(
                    f"SELECT id, mode, name, revision, doc FROM objects WHERE id IN ({marks})", part):
                current[row[0]] = row
        for ch in updates + removals:
            row = current.get(ch.id)
            if row is None or row[1] != ch.mode:
                raise ConflictError(f"Commit refused: {ch.mode} {ch.name} was removed by another"
                                    " session; refresh and try again")
            if row[3] != ch.base_revision:
                raise ConflictError(
                    f"Commit refused: {ch.mode} {ch.name} was changed by another session"
                    f" (revision {row[3]}, you started from {ch.base_revision}); refresh and try again")

        # 2. write; a UNIQUE violation means a name (or id) is taken by an object we do not touch
        conn.execute("SAVEPOINT cmsh_write")
        try:
            self._write(conn, inserts, updates, removals, after_text, current)
        except sqlite3.IntegrityError as exc:
            conn.execute("ROLLBACK TO cmsh_write")
            raise self._collision(conn, inserts, updates, removals, current, exc) from None
        conn.execute("RELEASE cmsh_write")
        self._check_references(conn, changes, updates, removals, current)

        # 3. journal; the documents before come from the rows read inside this transaction
        objects = []
        parts = []
        done: list[ObjectChange] = []
        revisions: dict[str, int] = {}
        for ch in changes:
            row = current.get(ch.id)
            before = _loads(row[4]) if row is not None else None
            done.append(ObjectChange(ch.id, ch.mode, ch.name, before, ch.after))
            objects.append((ch.mode, ch.name, done[-1].action))
            if ch.after is not None:
                revisions[ch.id] = 1 if ch.base_revision is None else ch.base_revision + 1
            parts.append('{"id":%s,"mode":%s,"name":%s,"before":%s,"after":%s}'
                         % (_quote(ch.id), _quote(ch.mode), _quote(ch.name),
                            row[4] if row is not None else "null", after_text.get(ch.id, "null")))
        cur = conn.execute("INSERT INTO journal(time, user, comment, objects, changes) VALUES(?,?,?,?,?)",
                           (when, user, comment, _dumps(objects), "[" + ",".join(parts) + "]"))
        seq = cur.lastrowid
        assert seq is not None            # set by every INSERT
        return Committed(seq, when, user, comment, tuple(done), revisions)

    def _write(self, conn: sqlite3.Connection, inserts: list[Change], updates: list[Change],
               removals: list[Change], after_text: dict[str, str], current: dict[str, tuple]) -> None:
        def check(cur: sqlite3.Cursor, expected: int) -> None:
            if cur.rowcount != expected:     # cannot happen under BEGIN IMMEDIATE; be safe anyway
                raise ConflictError("Commit refused: objects were changed by another session;"
                                    " refresh and try again")

        if removals:
            check(conn.executemany("DELETE FROM objects WHERE id=? AND revision=?",
                                   [(ch.id, ch.base_revision) for ch in removals]), len(removals))
        renamed = [ch for ch in updates if current[ch.id][2] != ch.name]
        if renamed:
            # move renamed objects out of the way first, so that swaps and chains work
            check(conn.executemany("UPDATE objects SET name=? WHERE id=? AND revision=?",
                                   [(_TMP_PREFIX + ch.id, ch.id, ch.base_revision) for ch in renamed]),
                  len(renamed))
        if updates:
            check(conn.executemany(
                "UPDATE objects SET name=?, doc=?, revision=revision+1 WHERE id=? AND revision=?",
                [(ch.name, after_text[ch.id], ch.id, ch.base_revision) for ch in updates]),
                len(updates))
        if inserts:
            check(conn.executemany(
                "INSERT INTO objects(id, mode, name, revision, doc) VALUES(?,?,?,1,?)",
                [(ch.id, ch.mode, ch.name, after_text[ch.id]) for ch in inserts]), len(inserts))

    def _check_references(self, conn: sqlite3.Connection, changes: list[Change], updates: list[Change],
                          removals: list[Change], current: dict[str, tuple]) -> None:
        """Pointers, checked against what is stored now (inside the transaction, after the
        writes), not against the session's older view: two sessions must not be able to commit
        a node pointing at a category while the other removes it (write skew)."""
        # a. every target of the written objects exists
        wanted: dict[tuple[str, str], Change] = {}
        for ch in changes:
            if ch.after is not None:
                for ref in ch.refs:
                    wanted.setdefault(ref, ch)
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
                    ch = wanted[(mode, name)]
                    raise ConflictError(f"Commit refused: {ch.mode} {ch.name} points at {mode} {name},"
                                        " which no longer exists (another session removed or renamed"
                                        " it); refresh and try again")
        # b. no stored object points at a name this commit removed or renamed away
        refs = self.references
        if refs is None:
            return
        gone = [(ch.mode, current[ch.id][2]) for ch in removals]
        gone += [(ch.mode, current[ch.id][2]) for ch in updates if current[ch.id][2] != ch.name]
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
        sql = "SELECT seq, time, user, comment, objects FROM journal ORDER BY seq DESC"
        params: tuple = ()
        if limit is not None:
            sql += " LIMIT ?"
            params = (max(0, int(limit)),)
        try:
            rows = self._db().execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise self._error(exc) from None
        rows.reverse()
        return [JournalEntry(r[0], r[1], r[2], r[3], [tuple(o) for o in _loads(r[4])])
                for r in rows]

    def journal_entry(self, seq: int) -> Committed | None:
        try:
            row = self._db().execute(
                "SELECT seq, time, user, comment, objects, changes FROM journal WHERE seq=?",
                (seq,)).fetchone()
        except sqlite3.Error as exc:
            raise self._error(exc) from None
        if row is None:
            return None
        changes = tuple(ObjectChange(c["id"], c["mode"], c["name"], c["before"], c["after"])
                        for c in _loads(row[5]))
        return Committed(row[0], row[1], row[2], row[3], changes)

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
