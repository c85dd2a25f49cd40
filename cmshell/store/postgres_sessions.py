"""Between the sessions of a PostgreSQL store, on any machine: named locks (advisory locks),
events (a table and a NOTIFY), and waiting for either (LISTEN). A mixin of PostgresStore.

Locks are session-level advisory locks, all on ONE extra connection of the store, opened when
first needed: a fan-out of 64 node locks is 64 locks, not 64 connections. They are taken with
pg_try_advisory_lock[_shared] in a short polling loop, so that a thread waiting for one lock
never stalls the connection for the others. The server counts a session's locks but never
makes the session wait for itself, so the threads of this process are kept apart here too (one
in-process state per name; shared holders are counted and take the server's lock once).
"""
from __future__ import annotations

import threading
import time
import zlib
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

import psycopg

from . import common
from .base import StoreError

LOCK_CLASS = 0x636d736c         # advisory lock class of named locks ("cmsl"; key 2: crc32 of schema + name)
_EVENT_LOCK = 0x636d7365        # class of publishing (one at a time: seqs follow commit order)
_POLL_MAX = 0.1                 # longest pause between two tries for a lock (seconds)


@dataclass
class _Held:
    shared: bool
    count: int = 1              # holders in this process (more than one only when shared)
    ready: bool = False         # the server's lock is taken
    generation: int = 0         # of the locks connection it was taken on


class SessionsMixin:
    path: str
    shown: str
    schema: str
    key: int
    channel: str                # NOTIFY channel of commits
    event_channel: str          # of events

    if TYPE_CHECKING:       # PostgresStore's
        def _connect(self) -> psycopg.Connection: ...
        def _error(self, exc: BaseException, conn: psycopg.Connection | None = ...,
                   during: str = ...) -> StoreError: ...
        def _tx(self, *, read: bool = ..., lock: int | None = ...) -> AbstractContextManager[psycopg.Connection]: ...

    def _init_sessions(self) -> None:
        self._locks: psycopg.Connection | None = None
        self._locks_mu = threading.Lock()           # one statement at a time on it
        self._generation = 0                        # bumped when it is connected again
        self._held: dict[str, _Held] = {}
        self._cond = threading.Condition()
        self._listen: psycopg.Connection | None = None

    def _close_sessions(self) -> None:
        for conn in (self._locks, self._listen):
            if conn is not None:
                try:
                    conn.close()
                except psycopg.Error:
                    pass
        self._locks = self._listen = None

    # -- named locks -----------------------------------------------------------------------

    @contextmanager
    def lock(self, name: str, *, wait: bool = True, shared: bool = False) -> Iterator[bool]:
        """A named lock of every session of this store, on every machine (see module doc):
        yields True when held; False at once, with `wait` off, when another holder conflicts."""
        key = signed_crc(f"{self.schema}\x00{name}")
        held = self._enter(name, shared, wait)
        if held is None:
            yield False
            return
        if not held.ready:                  # this thread takes the server's lock
            try:
                got = self._take(key, shared, wait)
            except BaseException:
                self._leave(name, key, taken=False)
                raise
            if not got:
                self._leave(name, key, taken=False)
                yield False
                return
            with self._cond:
                held.ready, held.generation = True, self._generation
                self._cond.notify_all()
        try:
            yield True
        finally:
            self._leave(name, key, taken=True)

    def _enter(self, name: str, shared: bool, wait: bool) -> _Held | None:
        """This thread's place among the holders of `name` in this process: a new state (not
        ready: the caller takes the server's lock), or a share of a held shared one; None when
        another thread holds it and `wait` is off."""
        with self._cond:
            while True:
                held = self._held.get(name)
                if held is None:
                    held = self._held[name] = _Held(shared)
                    return held
                if shared and held.shared and held.ready:
                    held.count += 1
                    return held
                if not wait:
                    return None
                self._cond.wait(_POLL_MAX)

    def _leave(self, name: str, key: int, *, taken: bool) -> None:
        with self._cond:
            held = self._held.get(name)
            if held is None:
                return
            held.count -= 1
            if held.count > 0 and taken:
                return
            del self._held[name]
            self._cond.notify_all()
            if taken and held.ready and held.generation == self._generation:
                fn = "pg_advisory_unlock_shared" if held.shared else "pg_advisory_unlock"
                try:
                    self._on_locks(f"SELECT {fn}(%s, %s)", key)
                except StoreError:
                    pass                    # the connection is gone, and its locks with it

    def _take(self, key: int, shared: bool, wait: bool) -> bool:
        fn = "pg_try_advisory_lock_shared" if shared else "pg_try_advisory_lock"
        pause = 0.005
        while True:
            if self._on_locks(f"SELECT {fn}(%s, %s)", key):
                return True
            if not wait:
                return False
            time.sleep(pause)
            pause = min(pause * 2, _POLL_MAX)

    def _on_locks(self, sql: str, key: int) -> bool:
        """Run one lock statement on the locks connection (connected when needed)."""
        with self._locks_mu:
            conn = self._locks
            if conn is None or conn.closed:
                conn = self._locks = self._connect()
                self._generation += 1
            try:
                row = conn.execute(sql, (LOCK_CLASS, key)).fetchone()
            except psycopg.Error as exc:
                self._locks = None
                raise self._error(exc, conn) from None
            return bool(row and row[0])

    # -- events ----------------------------------------------------------------------------

    def publish(self, events: list[dict]) -> None:
        """As SqliteStore.publish; then a NOTIFY, so that waiting sessions look at once."""
        if not events:
            return
        texts = [common.event_text(e) for e in events]
        now = time.time()
        with self._tx(lock=_EVENT_LOCK) as conn:
            top = conn.execute("SELECT COALESCE(max(seq), 0) FROM events").fetchone()[0]  # type: ignore[index]
            seqs = list(range(top + 1, top + 1 + len(texts)))
            conn.execute("INSERT INTO events(seq, time, payload) SELECT s, %s, p FROM"
                         " unnest(%s::bigint[], %s::text[]) AS u(s, p)", (now, seqs, texts))
            conn.execute("DELETE FROM events WHERE seq <= %s", (seqs[-1] - common.EVENTS_KEEP,))
            conn.execute("SELECT pg_notify(%s, %s)", (self.event_channel, str(seqs[-1])))

    def wait(self, timeout: float) -> bool:
        """Wait up to `timeout` seconds for a commit or an event of any session (LISTEN on a
        connection of its own, opened on the first call); True when one came, and on the first
        call after connecting (what came before was not heard). A lost connection is a
        StoreError; the next call connects again."""
        conn = self._listen
        try:
            if conn is None or conn.closed:
                conn = self._connect()
                conn.execute(f"LISTEN {self.channel}")
                conn.execute(f"LISTEN {self.event_channel}")
                self._listen = conn
                return True
            for _ in conn.notifies(timeout=max(0.0, timeout), stop_after=1):
                return True
            return False
        except psycopg.Error as exc:
            self._listen = None
            raise self._error(exc, conn) from None


def signed_crc(text: str) -> int:
    """crc32 of a text as the int4 an advisory lock key is (the store's key: of its schema; a
    named lock's: of the schema and the name)."""
    n = zlib.crc32(text.encode())
    return n - (1 << 32) if n >= 1 << 31 else n
