"""The embedded store: one SQLite file (WAL mode) holding documents, revisions and a journal.

Layout (sqlite_migrate.SCHEMA)::

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
    events(seq INTEGER PRIMARY KEY AUTOINCREMENT, time REAL, payload TEXT)   -- `publish`

Every commit is one ``BEGIN IMMEDIATE`` transaction (optimistic concurrency on the
per-object revision), so a killed process never leaves a half-applied commit and two
processes wait for each other (busy timeout) instead of failing. A commit may arrive in
batches (`commit_stream`, for `--load`): still one transaction and one journal entry.

The journal keeps, per commit, only what changed (see sqlite_journal.py). Older stores are
migrated when opened (sqlite_migrate.py); the file is checked before SQLite opens it
(sqlite_files.py). Named locks are files beside the store (filelock.py).
"""
from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager

from . import common
from . import delta as jd
from . import sqlite_files as files
from . import sqlite_migrate as migrations
from .base import Change, Committed, ConflictError, ObjectChange, Record, References, StoreError
from .common import new_id, new_ids, one_line, paused_gc
from .filelock import file_lock
from .sqlite_journal import JournalMixin
from .sqlite_migrate import SCHEMA_VERSION

__all__ = ["SCHEMA_VERSION", "SqliteStore", "new_id", "new_ids", "paused_gc"]

DEFAULT_TIMEOUT = 10.0          # seconds a writer waits for another one
_CHUNK = 500                    # host parameters per IN (...) query (portable limit is 999)
_TMP_PREFIX = "\x00rename:"    # temporary names used while renaming (cannot be typed)
QUICK_CHECK_SIZE = 8 << 20      # stores up to 8 MiB (about 15,000 nodes) are checked at every start


class _Stale(Exception):
    """A row was not as the change's base record said: read the rows and check them."""


def _based(ch: Change) -> bool:
    """Whether a change carries the record it started from, with where the store keeps it."""
    b = ch.base
    return (b is not None and b.id == ch.id and b.mode == ch.mode and b.revision == ch.base_revision
            and b.rowid is not None and b.jkey is not None)


def _damage(text: object) -> str:
    """A line of SQLite's integrity check, without its `*** in database main ***` preamble."""
    return one_line(str(text).replace("*** in database main ***", ""))


class SqliteStore(JournalMixin):
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
    def _tx(self, begin: str = "BEGIN IMMEDIATE", *, read: bool = False) -> Iterator[sqlite3.Connection]:
        """One transaction for the with-block: committed at its end (rolled back when `read`,
        or when the block rolled back itself), rolled back when it raises; an SQLite error is
        a StoreError. BEGIN IMMEDIATE takes the write lock at once (waiting up to `timeout`)."""
        conn = self._db()
        try:
            conn.execute(begin)
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

    def _query(self, sql: str, params: Sequence = ()) -> list:
        """The rows of one statement (an SQLite error is a StoreError)."""
        try:
            return self._db().execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise self._error(exc) from None

    # -- reading -----------------------------------------------------------------------

    def names(self, mode: str) -> list[str]:
        return [r[0] for r in self._query("SELECT name FROM objects WHERE mode=? ORDER BY name", (mode,))]

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
                docs = common.docs([r[2] for r in rows], self.shown, mode)
                for (oid, name, _), d in zip(rows, docs):
                    yield oid, name, d
        finally:
            cur.close()

    def index(self, mode: str) -> list[tuple[str, str]]:
        """(id, name) of every object of a mode, without reading documents."""
        return self._query("SELECT id, name FROM objects WHERE mode=?", (mode,))

    def records(self, mode: str, ids: list[str]) -> list[Record]:
        """The records of the given ids (missing ones are left out)."""
        out: list[Record] = []
        for chunk in common.chunks(ids, _CHUNK):
            rows = self._query(f"SELECT id, name, revision, doc, rowid, jkey FROM objects WHERE mode=? AND id IN "
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
        return sorted(r[0] for r in self._query(sql, params))

    def get(self, mode: str, name: str) -> Record | None:
        rows = self._query("SELECT id, revision, doc, rowid, jkey FROM objects WHERE mode=? AND name=?",
                           (mode, name))
        if not rows:
            return None
        row = rows[0]
        doc = common.docs([row[2]], self.shown, f"{mode} {name}")[0]
        return Record(row[0], mode, name, row[1], doc, row[3], row[4])

    def is_empty(self) -> bool:
        return not self._query("SELECT 1 FROM objects LIMIT 1")

    # -- committing --------------------------------------------------------------------

    def commit_stream(self, batches: Iterable[Sequence[Change]], *, user: str, comment: str = "",
                      when: float | None = None,
                      before_commit: Callable[[], None] | None = None,
                      if_empty: bool = False) -> Committed | None:
        """Store changes that arrive in batches (read lazily, inside the transaction) as one
        commit: one transaction, one journal entry. `before_commit` runs after the last batch,
        before the transaction commits; whatever it (or the batches' iterator) raises rolls
        everything back. None when there were no changes. `if_empty`: only into an empty store,
        checked inside the transaction. Pointers are checked inside the transaction too, after
        the last batch (see common.check_references)."""
        when = time.time() if when is None else when
        with paused_gc(), self._tx() as conn:
            if if_empty and conn.execute("SELECT 1 FROM objects LIMIT 1").fetchone():
                raise common.not_empty()
            result = self._stream(conn, batches, user, comment, when, before_commit)
            if result is None:
                self._rollback()
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
        common.check_references(_Lookup(conn), self.references, wanted, gone)
        summary, blob = writer.finish()
        cur = conn.execute("INSERT INTO journal(time, user, comment, summary, deltas) VALUES(?,?,?,?,?)",
                           (when, user, comment, summary, blob))
        seq = cur.lastrowid
        assert seq is not None            # set by every INSERT
        return Committed(seq, when, user, comment, tuple(done), revisions, writer.groups)

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
            keys.update(zip(need, migrations.new_keys(conn, need)))
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

    def _current(self, conn: sqlite3.Connection, ids: list[str]) -> dict[str, dict]:
        """id -> stored document of these ids (those that exist)."""
        out: dict[str, dict] = {}
        for part in common.chunks(ids, _CHUNK):
            marks = ",".join("?" * len(part))
            rows = conn.execute(f"SELECT id, doc FROM objects WHERE id IN ({marks})", part).fetchall()
            out.update(zip([r[0] for r in rows], common.docs([r[1] for r in rows], self.shown)))
        return out

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

    def events_after(self, seq: int) -> list[tuple[int, dict]]:
        """(seq, event) of the events newer than `seq`, oldest first (EVENTS_KEEP at most)."""
        rows = self._query("SELECT seq, payload FROM events WHERE seq > ? ORDER BY seq LIMIT ?",
                           (int(seq), common.EVENTS_KEEP))
        return list(zip([r[0] for r in rows], common.docs([r[1] for r in rows], self.shown, "event")))

    def event_seq(self) -> int:
        """The seq of the newest event (0: none yet)."""
        return int(self._query("SELECT COALESCE(MAX(seq), 0) FROM events")[0][0])

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
