"""The prompt_toolkit History over the history file (shell/history_file.py)."""
from __future__ import annotations

import datetime
import time
from typing import Callable

from cmshell.shell.history_file import append, read, trim


def prompt_history(path: str, clock: Callable[[], float] = time.time):
    """A prompt_toolkit History over the file (private to its owner; unwritable: memory only);
    entries are stamped with `clock`."""
    from prompt_toolkit.history import History

    class CmshellHistory(History):
        def __init__(self):
            super().__init__()
            self.broken = False

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
