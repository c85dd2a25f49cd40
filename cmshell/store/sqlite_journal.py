"""The SQLite store's journal, its way back (state_at), compaction and the backends' state (a
mixin of SqliteStore; the delta logic itself is store/common.py and store/delta.py, shared with
the PostgreSQL store).

The journal keeps, per commit, only what changed: the changed fields of a modified object with
their values before and after, the whole document of an added or removed object. The state as
of any commit is the current one with the later deltas reverted (`state_at`). `prune_journal`
compacts the older commits into one snapshot entry (every object as it was then, added).
"""
from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

from . import common
from . import delta as jd
from .base import JournalEntry, JournalRecord, ObjectDelta
from .common import paused_gc
from .sqlite_migrate import new_keys


class JournalMixin(common.Shared):
    shown: str

    if TYPE_CHECKING:       # SqliteStore's
        def _db(self) -> sqlite3.Connection: ...
        def _tx(self, begin: str = ..., *, read: bool = ...) -> AbstractContextManager[sqlite3.Connection]: ...
        def _query(self, sql: str, params: Sequence = ...) -> list: ...
        def _current(self, conn: sqlite3.Connection, ids: list[str]) -> dict[str, dict]: ...

    def journal(self, limit: int | None = None) -> list[JournalEntry]:
        """The commits, oldest first (the last `limit` of them); their groups, no documents."""
        sql = "SELECT seq, time, user, comment, summary FROM journal ORDER BY seq DESC"
        params: tuple = ()
        if limit is not None:
            sql += " LIMIT ?"
            params = (max(0, int(limit)),)
        rows = self._query(sql, params)
        rows.reverse()
        return [common.entry(r, self.shown) for r in rows]

    def journal_head(self, seq: int) -> JournalEntry | None:
        """One commit as `journal` lists it (None when there is no such commit)."""
        rows = self._query("SELECT seq, time, user, comment, summary FROM journal WHERE seq=?", (seq,))
        return common.entry(rows[0], self.shown) if rows else None

    def journal_entry(self, seq: int) -> JournalRecord | None:
        """One commit with what it changed, as field-level deltas."""
        with self._tx("BEGIN", read=True) as conn:
            row = conn.execute("SELECT seq, time, user, comment, summary, deltas FROM journal WHERE seq=?",
                               (seq,)).fetchone()
            if row is None:
                return None
            changes = self._deltas(conn, row[0], row[5])
            snap = self._snapshot_seq(conn)
        return common.journal_record(row, changes, snap, self.shown)

    def _deltas(self, conn: sqlite3.Connection, seq: int, blob: bytes) -> list[ObjectDelta]:
        recs = common.decode(blob, seq, self.shown)
        return common.deltas(recs, self._ids(conn, sorted({k for r in recs for k in r[2]})), seq, self.shown)

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
        with self._tx("BEGIN", read=True) as conn:
            common.check_reachable(seq, self._snapshot_seq(conn))
            return self._state_after(conn, seq)

    def _state_after(self, conn: sqlite3.Connection, seq: int) -> dict[str, tuple[str, str, dict | None]]:
        state: dict[str, tuple[str, str, dict | None]] = {}
        later = [r[0] for r in conn.execute("SELECT seq FROM journal WHERE seq > ? ORDER BY seq DESC", (seq,))]
        with paused_gc():
            for n in later:
                blob = conn.execute("SELECT deltas FROM journal WHERE seq=?", (n,)).fetchone()[0]
                ds = self._deltas(conn, n, blob)
                now = self._current(conn, [d.id for d in ds if d.id not in state])
                common.revert(state, ds, now, n, self.shown)
        return state

    def prune_journal(self, keep: int, *, user: str = "cmshell") -> int:
        """Compact every commit but the last `keep` into one snapshot entry: every object as it
        was after the newest of them, as added. The number of entries that went."""
        with self._tx() as conn:
            return self._prune(conn, max(0, int(keep)), user)

    def _prune(self, conn: sqlite3.Connection, keep: int, user: str) -> int:
        old = conn.execute("SELECT seq, time FROM journal ORDER BY seq DESC LIMIT -1 OFFSET ?",
                           (keep,)).fetchall()
        snap = self._snapshot_seq(conn)
        if not old or (len(old) == 1 and old[0][0] == snap):
            return 0
        top, when = old[0]
        first = old[-1][0]
        state = self._state_after(conn, top)
        keyed = dict(conn.execute("SELECT id, jkey FROM objects WHERE jkey IS NOT NULL"))
        fresh = [oid for oid, (_, _, doc) in state.items() if doc is not None and oid not in keyed]
        keyed.update(zip(fresh, new_keys(conn, fresh)))     # objects removed since: new keys

        def key(oid: str) -> int:
            k = keyed.get(oid)
            if k is None:       # a row of a migrated store that no commit has touched since
                k = keyed[oid] = new_keys(conn, [oid])[0]
                conn.execute("UPDATE objects SET jkey=? WHERE id=?", (k, oid))
            return k

        writer = jd.Writer(level=1)
        common.snapshot(conn.execute("SELECT id, mode, name, doc FROM objects ORDER BY mode, name"),
                        state, key, writer)
        summary, blob = writer.finish()
        conn.execute("DELETE FROM journal WHERE seq <= ?", (top,))
        conn.execute("INSERT INTO journal(seq, time, user, comment, summary, deltas) VALUES(?,?,?,?,?,?)",
                     (top, when, user, common.snapshot_comment(first, top, snap), summary, blob))
        conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES('journal_snapshot', ?)", (str(top),))
        return len(old)

    def journal_retention(self) -> int | None:
        """How many commits the journal keeps (older ones compacted); None: all."""
        rows = self._query("SELECT value FROM meta WHERE key='journal_keep'")
        return int(rows[0][0]) if rows else None

    def set_journal_retention(self, keep: int | None) -> None:
        if keep is None:
            self._query("DELETE FROM meta WHERE key='journal_keep'")
        else:
            self._query("INSERT OR REPLACE INTO meta(key, value) VALUES('journal_keep', ?)",
                        (str(max(0, int(keep))),))

    def _journal_count(self) -> int:
        return int(self._query("SELECT COUNT(*) FROM journal")[0][0])

    # -- backend state -----------------------------------------------------------------

    def put_state(self, backend: str, items: dict[str, object]) -> None:
        """Record backend state in one transaction (a None value removes the key)."""
        with self._tx() as conn:
            for key, value in items.items():
                if value is None:
                    conn.execute("DELETE FROM backend_state WHERE backend=? AND key=?", (backend, key))
                else:
                    conn.execute("INSERT OR REPLACE INTO backend_state(backend, key, value) VALUES(?,?,?)",
                                 (backend, key, common.dumps(value)))

    def get_state(self, backend: str, keys: list[str] | None = None) -> dict[str, object]:
        """Recorded state of a backend: every key, or the given ones (missing keys left out)."""
        if keys is None:
            rows = self._query("SELECT key, value FROM backend_state WHERE backend=?", (backend,))
        else:
            rows = []
            for part in common.chunks(keys):
                rows += self._query(f"SELECT key, value FROM backend_state WHERE backend=? AND key IN "
                                    f"({','.join('?' * len(part))})", (backend, *part))
        return {k: common.loads(v) for k, v in rows}
