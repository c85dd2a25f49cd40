"""The prompt_toolkit History over the history file (shell/history_file.py)."""
from __future__ import annotations

import datetime
import time
from typing import Callable

from cmshell.shell.history_file import append, read, trim


def prompt_history(path: str, clock: Callable[[], float] = time.time,
                   scrub: Callable[[str], str] = lambda line: line):
    """A prompt_toolkit History over the file (private to its owner; unwritable: memory only);
    entries are stamped with `clock`. `scrub` is applied to every line before it is kept, in
    the file and in memory (secrets become *****, model/secrets.py)."""
    from prompt_toolkit.history import History

    class CmshellHistory(History):
        def __init__(self):
            super().__init__()
            self.broken = False

        def append_string(self, string: str) -> None:
            try:
                string = scrub(string)
            except Exception:          # noqa: BLE001 - never lose the line over the scrubbing
                pass
            super().append_string(string)

        def load_history_strings(self):
            try:
                trim(path, now=clock())
            except OSError:
                pass
            return [line for _, line in reversed(read(path))]

        def store_string(self, string: str) -> None:
            if self.broken:
                return
            try:
                append(path, string, datetime.datetime.fromtimestamp(clock()))
            except OSError:
                self.broken = True      # e.g. a read-only home: keep the history in memory

    return CmshellHistory()
