"""The prompt_toolkit History over the history file (shell/history_file.py)."""
from __future__ import annotations

from cmshell.shell.history_file import append, read, trim


def prompt_history(path: str):
    """A prompt_toolkit History over the file (private to its owner; unwritable: memory only)."""
    from prompt_toolkit.history import History

    class CmshellHistory(History):
        def __init__(self):
            super().__init__()
            self.broken = False

        def load_history_strings(self):
            try:
                trim(path)
            except OSError:
                pass
            return [line for _, line in reversed(read(path))]

        def store_string(self, string: str) -> None:
            if self.broken:
                return
            try:
                append(path, string)
            except OSError:
                self.broken = True      # e.g. a read-only home: keep the history in memory

    return CmshellHistory()
