"""The PostgreSQL store's journal, its way back (state_at), compaction, the backends' state and
the integrity check (a mixin of PostgresStore; the delta logic itself is store/common.py and
store/delta.py, shared with the SQLite store)."""
from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

import psycopg

from . import common
from . import delta as jd
from .base import JournalEntry, JournalRecord, ObjectDelta, StoreError
from .common import paused_gc
from .sqlite_migrate import SCHEMA_VERSION    # the SQLite store's layout, version for version

COMMIT_LOCK = 0x636d7368        # advisory lock class of commits ("cmsh"; key 2: the schema)


class JournalMixin(common.Shared):
    shown: str

    if TYPE_CHECKING:       # PostgresStore's
        def _tx(self, *, read: bool = ..., lock: int | None = ...) -> AbstractContextManager[psycopg.Connection]: ...
        def _rows(self, sql: str, params: Sequence | dict = ...) -> list[tuple]: ...
        def _current(self, conn: psycopg.Connection, ids: list[str]) -> dict[str, dict]: ...
        def _new_keys(self, conn: psycopg.Connection, ids: list[str]) -> list[int]: ...
        def _version(self, conn: psycopg.Connection | None = ...) -> int | None: ...

    def journal(self, limit: int | None = None) -> list[JournalEntry]:
        sql = 'SELECT seq, time, "user", comment, summary FROM journal ORDER BY seq DESC'
        if limit is not None:
            rows = self._rows(sql + " LIMIT %s", (max(0, int(limit)),))
        else:
            rows = self._rows(sql)
        rows.reverse()
        return [common.entry(r, self.shown) for r in rows]

    def journal_head(self, seq: int) -> JournalEntry | None:
        rows = self._rows('SELECT seq, time, "user", comment, summary FROM journal WHERE seq=%s', (seq,))
        return common.entry(rows[0], self.shown) if rows else None

    def journal_entry(self, seq: int) -> JournalRecord | None:
        with self._tx(read=True) as conn:
            row = conn.execute('SELECT seq, time, "user", comment, summary, deltas FROM journal'
                               " WHERE seq=%s", (seq,)).fetchone()
            if row is None:
                return None
            changes = self._deltas(conn, row[0], row[5])
            snap = self._snapshot_seq(conn)
        return common.journal_record(row, changes, snap, self.shown)

    def _deltas(self, conn: psycopg.Connection, seq: int, blob: bytes) -> list[ObjectDelta]:
        recs = common.decode(blob, seq, self.shown)
        keys = sorted({k for r in recs for k in r[2]})
        ids: dict[int, str] = dict(conn.execute("SELECT key, id FROM object_keys WHERE key = ANY(%s)", (keys,)).fetchall())
        return common.deltas(recs, ids, seq, self.shown)

    @staticmethod
    def _snapshot_seq(conn: psycopg.Connection) -> int | None:
        row = conn.execute("SELECT value FROM meta WHERE key='journal_snapshot'").fetchone()
        return int(row[0]) if row else None

    def state_at(self, seq: int) -> dict[str, tuple[str, str, dict | None]]:
        """As SqliteStore.state_at: the current documents with the later deltas reverted."""
        with self._tx(read=True) as conn:
            common.check_reachable(seq, self._snapshot_seq(conn))
            return self._state_after(conn, seq)

    def _state_after(self, conn: psycopg.Connection, seq: int) -> dict[str, tuple[str, str, dict | None]]:
        state: dict[str, tuple[str, str, dict | None]] = {}
        later = [r[0] for r in conn.execute("SELECT seq FROM journal WHERE seq > %s ORDER BY seq DESC", (seq,))]
        with paused_gc():
            for n in later:
                blob = conn.execute("SELECT deltas FROM journal WHERE seq=%s", (n,)).fetchone()[0]  # type: ignore[index]
                ds = self._deltas(conn, n, blob)
                now = self._current(conn, [d.id for d in ds if d.id not in state])
                common.revert(state, ds, now, n, self.shown)
        return state

    def prune_journal(self, keep: int, *, user: str = "cmshell") -> int:
        """As SqliteStore.prune_journal (under the commit lock: no commit comes in between)."""
        with self._tx(lock=COMMIT_LOCK) as conn:
            return self._prune(conn, max(0, int(keep)), user)

    def _prune(self, conn: psycopg.Connection, keep: int, user: str) -> int:
        old = conn.execute("SELECT seq, time FROM journal ORDER BY seq DESC OFFSET %s", (keep,)).fetchall()
        snap = self._snapshot_seq(conn)
        if not old or (len(old) == 1 and old[0][0] == snap):
            return 0
        top, when = old[0]
        first = old[-1][0]
        state = self._state_after(conn, top)
        keyed: dict[str, int] = dict(conn.execute("SELECT id, jkey FROM objects WHERE jkey IS NOT NULL").fetchall())
        fresh = [oid for oid, (_, _, doc) in state.items() if doc is not None and oid not in keyed]
        keyed.update(zip(fresh, self._new_keys(conn, fresh)))     # objects removed since: new keys
        writer = jd.Writer(level=1)
        rows = conn.execute("SELECT id, mode, name, doc FROM objects ORDER BY mode, name").fetchall()
        common.snapshot(rows, state, keyed.__getitem__, writer)
        summary, blob = writer.finish()
        conn.execute("DELETE FROM journal WHERE seq <= %s", (top,))
        conn.execute('INSERT INTO journal(seq, time, "user", comment, summary, deltas) VALUES(%s,%s,%s,%s,%s,%s)',
                     (top, when, user, common.snapshot_comment(first, top, snap), summary, blob))
        conn.execute("INSERT INTO meta(key, value) VALUES('journal_snapshot', %s)"
                     " ON CONFLICT(key) DO UPDATE SET value=excluded.value", (str(top),))
        return len(old)

    def journal_retention(self) -> int | None:
        rows = self._rows("SELECT value FROM meta WHERE key='journal_keep'")
        return int(rows[0][0]) if rows else None

    def set_journal_retention(self, keep: int | None) -> None:
        with self._tx() as conn:
            if keep is None:
                conn.execute("DELETE FROM meta WHERE key='journal_keep'")
            else:
                conn.execute("INSERT INTO meta(key, value) VALUES('journal_keep', %s) ON CONFLICT(key)"
                             " DO UPDATE SET value=excluded.value", (str(max(0, int(keep))),))

    def _journal_count(self) -> int:
        return int(self._rows("SELECT count(*) FROM journal")[0][0])

    # -- backend state ---------------------------------------------------------------------

    def put_state(self, backend: str, items: dict[str, object]) -> None:
        """Record backend state in one transaction (a None value removes the key)."""
        gone = [k for k, v in items.items() if v is None]
        put = [(k, common.dumps(v)) for k, v in items.items() if v is not None]
        with self._tx() as conn:
            if gone:
                conn.execute("DELETE FROM backend_state WHERE backend=%s AND key = ANY(%s)", (backend, gone))
            if put:
                conn.execute("INSERT INTO backend_state(backend, key, value) SELECT %s, k, v FROM"
                             " unnest(%s::text[], %s::text[]) AS u(k, v) ON CONFLICT(backend, key)"
                             " DO UPDATE SET value=excluded.value",
                             (backend, [k for k, _ in put], [v for _, v in put]))

    def get_state(self, backend: str, keys: list[str] | None = None) -> dict[str, object]:
        """Recorded state of a backend: every key, or the given ones (missing keys left out)."""
        if keys is None:
            rows = self._rows("SELECT key, value FROM backend_state WHERE backend=%s", (backend,))
        else:
            rows = self._rows("SELECT key, value FROM backend_state WHERE backend=%s AND key = ANY(%s)",
                              (backend, list(keys)))
        return {k: common.loads(v) for k, v in rows}

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
