"""Exit statuses of a cmshell run (docs/scripting.md)."""
from __future__ import annotations

import enum


class Exit(enum.IntEnum):
    OK = 0          # every command succeeded
    FAILED = 1      # a command failed (or the store could not be opened)
    USAGE = 2       # bad command-line options
