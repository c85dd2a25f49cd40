"""Exit statuses of a cmshell run (docs/scripting.md)."""
from __future__ import annotations

import enum


class Exit(enum.IntEnum):
    OK = 0          # every command succeeded
    FAILED = 1      # a command failed (or the store could not be opened)
    USAGE = 2       # bad command-line options
    NOT_APPLIED = 3  # every command succeeded and the commits are stored, but applying them
                     # to some node or Kubernetes object failed (`sync` retries; docs/backends.md)
    CHANGES_PENDING = 4  # `plan` / `commit check`: the candidate is valid and committing it
                         # would change nodes or Kubernetes objects (docs/safety.md)
    DRIFT = 5       # `drift`: what is on the nodes or in Kubernetes differs from the committed model
