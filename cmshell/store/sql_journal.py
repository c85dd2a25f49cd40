"""The journal both stores keep, written once over their SQL: the end of a commit (its journal
entry), the way back (state_at), compaction, the backends' state and the events' reading (a
mixin of SqliteStore and PostgresStore; the delta logic itself is store/common.py and
store/delta.py).

The journal keeps, per commit, only what changed: the changed fields of a modified object with
their values before and after, the whole document of an added or removed object. The state as
of any commit is the current one with the later deltas reverted (`state_at`). `prune_journal`
compacts the older commits into one snapshot entry (every object as it was then, added).

The SQL here is written once, with `?` placeholders, in what SQLite (3.24 or later) and
PostgreSQL both read (`"user"` quoted, `INSERT ... ON CONFLICT ... DO UPDATE`). What differs is
each store's dialect (sqlite_journal.py, postgres_journal.py), the hooks below:

- `_sql(sql)`: the statement in the driver's placeholders (PostgreSQL: `%s`, cached);
- `_rows(sql, params)`: the rows of one statement outside a transaction;
- `_tx(read=True)`: a read-only snapshot; `_tx()`: a write transaction; `_commit_tx()`: the
  write transaction of a commit (and of compaction: PostgreSQL takes the commit lock);
- `_in(sql, params, values)`: the statements of `sql` with its `col IN ?` over many values
  (SQLite: `IN (?,...)` in chunks; PostgreSQL: `= ANY(%s)`), translated;
- `_key_ids(conn, keys)`: key -> id from object_keys (SQLite: BETWEEN runs of keys);
- `_insert_many(conn, head, rows, types, tail)`: many rows in one statement (SQLite:
  executemany; PostgreSQL: unnest of one array a column);
- `_new_keys(conn, ids)`: new journal keys; `_append(conn, row)`: the journal row of a commit,
  its seq (SQLite: AUTOINCREMENT; PostgreSQL: max + 1 under the commit lock, and a NOTIFY);
- `_finish(conn, row, wanted, gone)`: the pointer check, then `_append` (PostgreSQL: the
  look-ups the check needs and the journal row in one round trip);
- `_batch(conn, ...)` and `_lookup(conn)`: the commit's writes of one batch, its look-ups.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from . import common
from . import delta as jd
from .base import Change, Committed, JournalEntry, JournalRecord, ObjectChange, ObjectDelta, References
from .common import paused_gc

HEAD = 'SELECT seq, time, "user", comment, summary FROM journal'
JOURNAL_INSERT = 'INSERT INTO journal(seq, time, "user", comment, summary, deltas) VALUES(?,?,?,?,?,?)'
META_PUT = "INSERT INTO meta(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET value=excluded.value"

State = dict[str, tuple[str, str, dict | None]]     # id -> (mode, name, document; None: none)


class Cursor(Protocol):
    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...
    def __iter__(self) -> Iterator[Any]: ...


class Conn(Protocol):
    """What the journal asks of a connection (sqlite3's and psycopg's both have it)."""

    def execute(self, sql: str, params: Any = ..., /) -> Cursor: ...


C = TypeVar("C", bound=Conn)


class JournalMixin(common.Shared, Generic[C]):
    shown: str
    references: References | None

    if TYPE_CHECKING:       # the dialect's (see module doc)
        @staticmethod
        def _sql(sql: str) -> str: ...
        def _rows(self, sql: str, params: Sequence = ...) -> list: ...
        def _tx(self, *, read: bool = ...) -> AbstractContextManager[C]: ...
        def _commit_tx(self) -> AbstractContextManager[C]: ...
        def _in(self, sql: str, params: tuple, values: list) -> Iterator[tuple[str, tuple]]: ...
        def _insert_many(self, conn: C, head: str, rows: list[tuple], types: tuple[str, ...],
                         tail: str = ...) -> None: ...
        def _new_keys(self, conn: C, ids: list[str]) -> list[int]: ...
        def _append(self, conn: C, row: tuple) -> int: ...
        def _batch(self, conn: C, changes: list[Change], seen: set[str], writer: jd.Writer,
                   done: list[ObjectChange], revisions: dict[str, int],
                   wanted: dict[tuple[str, str], tuple[str, str]], gone: list[tuple[str, str]]) -> None: ...
        def _lookup(self, conn: C) -> common.Lookup: ...

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
        with paused_gc(), self._commit_tx() as conn:
            if if_empty and conn.execute("SELECT 1 FROM objects LIMIT 1").fetchone():
                raise common.not_empty()
            result = self._stream(conn, batches, user, comment, when, before_commit)
            if result is None:
                conn.execute("ROLLBACK")
        if result is not None:
            self._retain(user)
        return result

    def _stream(self, conn: C, batches: Iterable[Sequence[Change]], user: str, comment: str,
                when: float, before_commit: Callable[[], None] | None) -> Committed | None:
        writer = jd.Writer()
        done: list[ObjectChange] = []
        revisions: dict[str, int] = {}
        seen: set[str] = set()
        wanted: dict[tuple[str, str], tuple[str, str]] = {}   # pointer target -> first (mode, name) using it
        gone: list[tuple[str, str]] = []                        # names removed or renamed away
        for batch in batches:
            batch = list(batch)
            if batch:
                self._batch(conn, batch, seen, writer, done, revisions, wanted, gone)
        if not done:
            return None
        if before_commit is not None:
            before_commit()
        summary, blob = writer.finish()
        seq = self._finish(conn, (when, user, comment, summary, blob), wanted, gone)
        return Committed(seq, when, user, comment, tuple(done), revisions, writer.groups)

    def _finish(self, conn: C, row: tuple, wanted: dict[tuple[str, str], tuple[str, str]],
                gone: list[tuple[str, str]]) -> int:
        """The end of a commit, after its last batch: its pointers checked against what is
        stored now (common.check_references), then its journal row (`_append`): its seq."""
        common.check_references(self._lookup(conn), self.references, wanted, gone)
        return self._append(conn, row)

    def _current(self, conn: C, ids: list[str]) -> dict[str, dict]:
        """id -> stored document of these ids (those that exist)."""
        out: dict[str, dict] = {}
        for sql, params in self._in("SELECT id, doc FROM objects WHERE id IN ?", (), ids):
            rows = conn.execute(sql, params).fetchall()
            out.update(zip([r[0] for r in rows], common.docs([r[1] for r in rows], self.shown)))
        return out

    # -- the journal -------------------------------------------------------------------

    def journal(self, limit: int | None = None) -> list[JournalEntry]:
        """The commits, oldest first (the last `limit` of them); their groups, no documents."""
        if limit is not None:
            rows = self._rows(self._sql(HEAD + " ORDER BY seq DESC LIMIT ?"), (max(0, int(limit)),))
        else:
            rows = self._rows(HEAD + " ORDER BY seq DESC")
        rows.reverse()
        return [common.entry(r, self.shown) for r in rows]

    def journal_head(self, seq: int) -> JournalEntry | None:
        """One commit as `journal` lists it (None when there is no such commit)."""
        rows = self._rows(self._sql(HEAD + " WHERE seq=?"), (seq,))
        return common.entry(rows[0], self.shown) if rows else None

    def journal_entry(self, seq: int) -> JournalRecord | None:
        """One commit with what it changed, as field-level deltas."""
        with self._tx(read=True) as conn:
            row = conn.execute(self._sql('SELECT seq, time, "user", comment, summary, deltas FROM journal'
                                         " WHERE seq=?"), (seq,)).fetchone()
            if row is None:
                return None
            changes = self._deltas(conn, row[0], row[5])
            snap = self._snapshot_seq(conn)
        return common.journal_record(row, changes, snap, self.shown)

    def _deltas(self, conn: C, seq: int, blob: bytes) -> list[ObjectDelta]:
        recs = common.decode(blob, seq, self.shown)
        return common.deltas(recs, self._key_ids(conn, sorted({k for r in recs for k in r[2]})), seq, self.shown)

    def _key_ids(self, conn: C, keys: list[int]) -> dict[int, str]:
        """key -> id of sorted, distinct keys."""
        out: dict[int, str] = {}
        for sql, params in self._in("SELECT key, id FROM object_keys WHERE key IN ?", (), keys):
            out.update(conn.execute(sql, params).fetchall())
        return out

    def _snapshot_seq(self, conn: C) -> int | None:
        row = conn.execute("SELECT value FROM meta WHERE key='journal_snapshot'").fetchone()
        return int(row[0]) if row else None

    def state_at(self, seq: int) -> State:
        """id -> (mode, name, document as of commit `seq`; None: it did not exist) of every object
        a later commit changed: the current documents with the later deltas reverted. Commits
        compacted into the snapshot cannot be gone back to (0, no objects, always can)."""
        with self._tx(read=True) as conn:
            common.check_reachable(seq, self._snapshot_seq(conn))
            return self._state_after(conn, seq)

    def _state_after(self, conn: C, seq: int) -> State:
        state: State = {}
        later = [r[0] for r in conn.execute(self._sql("SELECT seq FROM journal WHERE seq > ? ORDER BY seq DESC"),
                                            (seq,))]
        one = self._sql("SELECT deltas FROM journal WHERE seq=?")
        with paused_gc():
            for n in later:
                ds = self._deltas(conn, n, conn.execute(one, (n,)).fetchone()[0])
                now = self._current(conn, [d.id for d in ds if d.id not in state])
                common.revert(state, ds, now, n, self.shown)
        return state

    def prune_journal(self, keep: int, *, user: str = "cmshell") -> int:
        """Compact every commit but the last `keep` into one snapshot entry: every object as it
        was after the newest of them, as added (no commit comes in between). The number of
        entries that went."""
        with self._commit_tx() as conn:
            return self._prune(conn, max(0, int(keep)), user)

    def _prune(self, conn: C, keep: int, user: str) -> int:
        old = conn.execute(self._sql("SELECT seq, time FROM journal WHERE seq <= (SELECT seq FROM journal"
                                     " ORDER BY seq DESC LIMIT 1 OFFSET ?) ORDER BY seq DESC"), (keep,)).fetchall()
        snap = self._snapshot_seq(conn)
        if not old or (len(old) == 1 and old[0][0] == snap):
            return 0
        top, when = old[0]
        first = old[-1][0]
        state = self._state_after(conn, top)
        keyed: dict[str, int] = dict(conn.execute("SELECT id, jkey FROM objects WHERE jkey IS NOT NULL"))
        fresh = [oid for oid, (_, _, doc) in state.items() if doc is not None and oid not in keyed]
        keyed.update(zip(fresh, self._new_keys(conn, fresh)))     # objects removed since: new keys
        set_key = self._sql("UPDATE objects SET jkey=? WHERE id=?")

        def key(oid: str) -> int:
            k = keyed.get(oid)
            if k is None:       # a row of a migrated store that no commit has touched since
                k = keyed[oid] = self._new_keys(conn, [oid])[0]
                conn.execute(set_key, (k, oid))
            return k

        writer = jd.Writer(level=1)
        common.snapshot(conn.execute("SELECT id, mode, name, doc FROM objects ORDER BY mode, name"),
                        state, key, writer)
        summary, blob = writer.finish()
        conn.execute(self._sql("DELETE FROM journal WHERE seq <= ?"), (top,))
        conn.execute(self._sql(JOURNAL_INSERT),
                     (top, when, user, common.snapshot_comment(first, top, snap), summary, blob))
        conn.execute(self._sql(META_PUT), ("journal_snapshot", str(top)))
        return len(old)

    def journal_retention(self) -> int | None:
        """How many commits the journal keeps (older ones compacted); None: all."""
        rows = self._rows("SELECT value FROM meta WHERE key='journal_keep'")
        return int(rows[0][0]) if rows else None

    def set_journal_retention(self, keep: int | None) -> None:
        with self._tx() as conn:
            if keep is None:
                conn.execute("DELETE FROM meta WHERE key='journal_keep'")
            else:
                conn.execute(self._sql(META_PUT), ("journal_keep", str(max(0, int(keep)))))

    def _journal_count(self) -> int:
        return int(self._rows("SELECT count(*) FROM journal")[0][0])

    # -- backend state -----------------------------------------------------------------

    def put_state(self, backend: str, items: dict[str, object]) -> None:
        """Record backend state in one transaction (a None value removes the key)."""
        gone = [k for k, v in items.items() if v is None]
        put = [(backend, k, common.dumps(v)) for k, v in items.items() if v is not None]
        with self._tx() as conn:
            for sql, params in self._in("DELETE FROM backend_state WHERE backend=? AND key IN ?", (backend,), gone):
                conn.execute(sql, params)
            if put:
                self._insert_many(conn, "INSERT INTO backend_state(backend, key, value)", put,
                                  ("text", "text", "text"),
                                  "ON CONFLICT(backend, key) DO UPDATE SET value=excluded.value")

    def get_state(self, backend: str, keys: list[str] | None = None) -> dict[str, object]:
        """Recorded state of a backend: every key, or the given ones (missing keys left out)."""
        if keys is None:
            rows = self._rows(self._sql("SELECT key, value FROM backend_state WHERE backend=?"), (backend,))
        else:
            rows = [r for sql, params in self._in("SELECT key, value FROM backend_state WHERE backend=?"
                                                  " AND key IN ?", (backend,), list(keys))
                    for r in self._rows(sql, params)]
        return {k: common.loads(v) for k, v in rows}

    # -- events (publish is each store's) ------------------------------------------------

    def events_after(self, seq: int) -> list[tuple[int, dict]]:
        """(seq, event) of the events newer than `seq`, oldest first (EVENTS_KEEP at most)."""
        rows = self._rows(self._sql("SELECT seq, payload FROM events WHERE seq > ? ORDER BY seq LIMIT ?"),
                          (int(seq), common.EVENTS_KEEP))
        return list(zip([r[0] for r in rows], common.docs([r[1] for r in rows], self.shown, "event")))

    def event_seq(self) -> int:
        """The seq of the newest event (0: none yet)."""
        return int(self._rows("SELECT COALESCE(max(seq), 0) FROM events")[0][0])
