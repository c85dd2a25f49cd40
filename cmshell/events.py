"""Events as data: what happened (a commit, a service restarted, an apply that failed), when,
where, how severe, and which commit it belongs to.

Any layer may post (`queue.post(severity, source, text, kind=..., seq=...)`, from any thread);
the shell decides how to show them. A line reads as cmsh prints it:
`Thu Oct 31 15:58:56 2024 [notice] basecm10: Service shorewall was restarted`.
The interactive shell registers a listener and prints pending events above its prompt; a batch
run prints the events of its own commits after the command that caused them; other events wait
in the cache that a plain `events` prints. What the backends post is also published through the
store (`Event.as_dict`, backends/engine.py), and other sessions show it as broadcast events
(`Event.from_dict`); `origin` tells a session its own events apart.
"""
from __future__ import annotations

import os
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass
from typing import Callable, Protocol

SEVERITIES = ("info", "notice", "warning", "error", "alert")
_RANK = {s: i for i, s in enumerate(SEVERITIES)}
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def stamp(when: float) -> str:
    """`Thu Oct 31 15:58:56 2024`; the day of the month is not padded, as cmsh prints it."""
    t = time.localtime(when)
    return (f"{_DAYS[t.tm_wday]} {_MONTHS[t.tm_mon - 1]} {t.tm_mday} "
            f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} {t.tm_year}")


# what an event is about (Event.kind)
COMMIT = "commit"               # a commit was stored (this session's or another's)
SERVICE = "service"             # a service action ran on a node
FILE = "file"                   # a file was written on a node
APPLIED = "applied"             # a backend applied a commit to a target
APPLY_FAILED = "apply-failed"   # a backend could not apply to a target
INTERNAL = "internal"           # cmshell itself (e.g. a watcher thread that failed)
MESSAGE = "message"


@dataclass(frozen=True)
class Event:
    time: float
    severity: str
    source: str                 # the node or cluster object it is about (or the head node)
    text: str
    broadcast: bool = False     # from another session
    kind: str = MESSAGE
    seq: int | None = None      # the journal sequence of the commit it belongs to

    def line(self) -> str:
        return f"{stamp(self.time)} [{self.severity}] {self.source}: {self.text}"

    def as_dict(self) -> dict:
        """The event as JSON-able data, for other sessions (Store.publish)."""
        d = asdict(self)
        del d["broadcast"]
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "Event":
        """An event another session published, as a broadcast (fields it lacks take defaults)."""
        seq = d.get("seq")
        return cls(float(d.get("time") or 0), str(d.get("severity") or "notice"), str(d.get("source") or ""),
                   str(d.get("text") or ""), True, str(d.get("kind") or MESSAGE),
                   seq if isinstance(seq, int) else None)


class Poster(Protocol):
    """Where a layer posts events: an EventQueue, or something that passes them on to one."""

    def post(self, severity: str, source: str, text: str, *, broadcast: bool = False,
             when: float | None = None, kind: str = MESSAGE, seq: int | None = None) -> Event: ...


class EventQueue:
    """Thread-safe. Events to display go to `pending` (and the listener is told); events that
    cannot be displayed now (no listener, or their channel is off) wait in `undisplayed`."""

    def __init__(self, keep: int = 1000, clock: Callable[[], float] = time.time):
        self.clock = clock
        self._lock = threading.Lock()
        self.log: deque[Event] = deque(maxlen=keep)          # every event, for `events N`
        self.undisplayed: deque[Event] = deque(maxlen=keep)
        self.pending: deque[Event] = deque(maxlen=keep)
        self.private = True
        self.broadcast = True
        self.level = "notice"
        self.listener: Callable[[], None] | None = None   # pending events are waiting (any thread)
        self.own: set[int] = set()    # journal sequence numbers of this session's commits
        self.origin = os.urandom(8).hex()   # names this session's events among those published
        # writes the cluster's secrets in a text as ***** (set by the session; commit notices,
        # which carry names only, skip it)
        self.redact: Callable[[str], str] | None = None

    def post(self, severity: str, source: str, text: str, *, broadcast: bool = False,
             when: float | None = None, kind: str = MESSAGE, seq: int | None = None) -> Event:
        severity = severity if severity in _RANK else "notice"
        if self.redact is not None and kind != COMMIT:
            try:
                text = self.redact(text)
            except Exception:         # noqa: BLE001 - an event is never lost over the scrubbing
                pass
        ev = Event(self.clock() if when is None else when, severity, source, text, broadcast, kind, seq)
        with self._lock:
            self.log.append(ev)
            if _RANK[severity] < _RANK[self.level]:
                return ev
            on = self.broadcast if broadcast else self.private
            listener = self.listener
            if on and listener is not None:
                self.pending.append(ev)
            else:
                self.undisplayed.append(ev)
                listener = None
        if listener is not None:
            listener()
        return ev

    def take_pending(self) -> list[Event]:
        with self._lock:
            out = list(self.pending)
            self.pending.clear()
        return out

    def defer(self, events: list[Event]) -> None:
        """Keep events for a later `events` (they were taken but not shown)."""
        with self._lock:
            self.undisplayed.extend(events)

    def take_undisplayed(self) -> list[Event]:
        with self._lock:
            out = list(self.undisplayed)
            self.undisplayed.clear()
        return out

    def last(self, n: int, level: str = "info") -> list[Event]:
        with self._lock:
            evs = [e for e in self.log if _RANK[e.severity] >= _RANK[level]]
        return evs[-n:] if n > 0 else []

    def clear(self) -> None:
        with self._lock:
            self.undisplayed.clear()
            self.pending.clear()
            self.log.clear()
