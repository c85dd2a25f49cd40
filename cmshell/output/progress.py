"""A status line on a terminal for long runs ("ssh: 12/32 nodes"), rewritten in place.

Shown only once a run has lasted `delay` seconds (a quick apply prints nothing), redrawn at most
every `interval` seconds, and erased when the run is over (`progress("")`), so that what follows
(the events, the recap) starts on a clean line. Backends call it from their worker threads.
"""
from __future__ import annotations

import threading
import time
from typing import Callable, TextIO

ERASE = "\r\x1b[K"


class Progress:
    DELAY = 0.5        # seconds before the line first appears
    INTERVAL = 0.1     # seconds between redraws

    def __init__(self, stream: TextIO, *, delay: float | None = None, interval: float | None = None,
                 clock: Callable[[], float] = time.monotonic):
        self.stream, self.clock = stream, clock
        self.delay = self.DELAY if delay is None else delay
        self.interval = self.INTERVAL if interval is None else interval
        self._lock = threading.Lock()
        self._start: float | None = None
        self._drawn: float | None = None      # when the line was last drawn (None: not shown)

    def __call__(self, text: str) -> None:
        with self._lock:
            now = self.clock()
            if not text:                      # the run is over
                if self._drawn is not None:
                    self._write(ERASE)
                self._start = self._drawn = None
                return
            if self._start is None:
                self._start = now
            if now - self._start < self.delay:
                return
            if self._drawn is not None and now - self._drawn < self.interval:
                return
            self._write(ERASE + text)
            self._drawn = now

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):         # the terminal went away: progress is not worth failing for
            pass
