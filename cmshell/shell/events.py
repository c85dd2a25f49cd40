"""Events: notices that arrive while the shell runs (results of commits now, of backends later).

`session.events.post(severity, source, text)` may be called from any thread. A line reads as
cmsh prints it: `Thu Oct 31 15:58:56 2024 [notice] basecm10: Service shorewall was restarted`.
The interactive shell registers a listener and prints pending events above its prompt; batch
runs have no listener, so their events wait in the cache that a plain `events` prints.
"""
from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass

SEVERITIES = ("info", "notice", "warning", "error", "alert")
_RANK = {s: i for i, s in enumerate(SEVERITIES)}
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def stamp(when: float) -> str:
    """`Thu Oct 31 15:58:56 2024`; the day of the month is not padded, as cmsh prints it."""
    t = time.localtime(when)
    return (f"{_DAYS[t.tm_wday]} {_MONTHS[t.tm_mon - 1]} {t.tm_mday} "
            f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} {t.tm_year}")


@dataclass(frozen=True)
class Event:
    time: float
    severity: str
    source: str
    text: str
    broadcast: bool = False

    def line(self) -> str:
        return f"{stamp(self.time)} [{self.severity}] {self.source}: {self.text}"


class EventQueue:
    """Thread-safe. Events to display go to `pending` (and the listener is told); events that
    cannot be displayed now (no listener, or their channel is off) wait in `undisplayed`."""

    def __init__(self, keep: int = 1000):
        self._lock = threading.Lock()
        self.log: deque[Event] = deque(maxlen=keep)          # every event, for `events N`
        self.undisplayed: deque[Event] = deque(maxlen=keep)
        self.pending: deque[Event] = deque(maxlen=keep)
        self.private = True
        self.broadcast = True
        self.level = "notice"
        self.listener = None          # callable(): pending events are waiting (any thread)
        self.own: set[int] = set()    # journal sequence numbers of this session's commits

    def post(self, severity: str, source: str, text: str, *, broadcast: bool = False,
             when: float | None = None) -> Event:
        severity = severity if severity in _RANK else "notice"
        ev = Event(time.time() if when is None else when, severity, source, text, broadcast)
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


# -- commit notices ------------------------------------------------------------------------------
def summary(schema, objects) -> str:
    """`Committed 2 Devices (node001, node002)`, `Removed 1 Device (node100)` from
    (mode, name, action) triples as the journal records them."""
    parts = []
    by: dict[tuple[str, bool], list[str]] = {}
    for mode, name, action in objects:
        by.setdefault((mode, action == "removed"), []).append(str(name))
    for (mode, removed), names in sorted(by.items()):
        m = schema.modes.get(mode)
        entity = m.entity if m else mode
        plural = m.plural if m else mode + "s"
        shown = ", ".join(names[:5]) + (f", … (+{len(names) - 5} more)" if len(names) > 5 else "")
        word = "Removed" if removed else "Committed"
        parts.append(f"{word} {len(names)} {entity if len(names) == 1 else plural} ({shown})")
    return "; ".join(parts)


def describe(session, rids) -> list[tuple[str, str, str]]:
    """(mode, name, action) of the staged objects `rids`, taken before they are committed."""
    out = []
    for rid in rids:
        st = session.ws.staged.get(rid)
        if st is None:
            continue
        state = session.ws.state(rid)
        if state is None:
            continue
        action = {"+": "added", "~": "removed"}.get(state, "modified")
        out.append((st.mode, session.ws.name_of(st.mode, rid), action))
    return out


def committed(session, objects) -> None:
    """After a successful commit: remember its journal entry as this session's own (so the
    watcher of other sessions' commits skips it) and post the private notice."""
    if not objects:
        return
    try:
        entries = session.ws.store.journal(1)
        if entries:
            session.events.own.add(entries[-1].seq)
    except Exception:       # the notice matters more than the bookkeeping
        pass
    session.events.post("notice", session.host, summary(session.schema, objects))
