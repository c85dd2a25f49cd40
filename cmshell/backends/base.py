"""The backend protocol and desired state as data.

A backend reconciles: from the committed model it computes what each target (a node, a
Kubernetes cluster) should have, observes what is there, and changes only the difference.
Backends never print: they return results and post events (cmshell/events.py).

Backends are found through the `cmshell.backends` entry-point group (see `discover`); a
site adds its own by installing a package that declares one, without touching the core.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterable, Optional, Protocol

from cmshell.env import Environment
from cmshell.events import Poster
from cmshell.model.effective import View
from cmshell.model.schema import Schema
from cmshell.store.base import Committed, Store

ENTRY_POINT_GROUP = "cmshell.backends"

# per-target outcomes, as the recap counts them
OK = "ok"                   # nothing needed changing
CHANGED = "changed"         # files written / actions run / objects applied
FAILED = "failed"           # reached, but something failed (the reason says what)
UNREACHABLE = "unreachable"  # could not be reached (down, refused, host key, auth, timeout)


@dataclass(frozen=True)
class DesiredFile:
    path: str
    content: bytes
    mode: int = 0o644
    owner: str = "root"
    group: str = "root"
    mkdir: bool = False     # create missing parent directories
    dir_mode: int = 0o755   # of the directories mkdir creates
    # a file merged with what the target has (a managed block, an edited manifest): the final
    # content is edit(current content or None); None from edit means leave the file alone.
    # `content` then holds the managed part, for plans and diffs.
    edit: Optional[Callable[[Optional[bytes]], Optional[bytes]]] = field(default=None, compare=False)


# a plan's action line (`restart docker (owed by an earlier apply)`) for an action whose files an
# earlier apply wrote but that failed or never ran: the next apply runs it
OWED = "owed by an earlier apply"


@dataclass(frozen=True)
class ServiceAction:
    unit: str
    action: str                          # restart | reload | stop
    # run only when one of these files changed (empty: when any file of the node changed)
    after: tuple[str, ...] = ()
    stop_on_failure: bool = False        # a failed action stops the unit (generic roles' option)


@dataclass(frozen=True)
class NodeState:
    """What a node should have: files, then service actions."""
    node: str
    files: tuple[DesiredFile, ...] = ()
    actions: tuple[ServiceAction, ...] = ()


@dataclass
class FileChange:
    """How a file on a node differs from what it should be (a plan, a drift report)."""
    path: str
    created: bool = False                          # the node has no such file
    diff: str = ""                                 # unified diff of the content ("" when equal)
    mode: tuple[int | None, int] | None = None     # (now, wanted) when they differ
    owner: tuple[str | None, str] | None = None    # ("uid:gid" now, "user:group" wanted)


@dataclass
class TargetResult:
    target: str                  # node name, or `cluster/application`
    status: str                  # OK | CHANGED | FAILED | UNREACHABLE
    reason: str = ""             # one line, for FAILED / UNREACHABLE
    changes: list[str] = field(default_factory=list)   # what was done ("wrote /etc/x", …)
    files: list[FileChange] = field(default_factory=list)   # plans only: each file that differs


@dataclass
class Recap:
    backend: str
    seq: int | None
    results: list[TargetResult] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        out = {OK: 0, CHANGED: 0, FAILED: 0, UNREACHABLE: 0}
        for r in self.results:
            out[r.status] = out.get(r.status, 0) + 1
        return out

    @property
    def complete(self) -> bool:
        return all(r.status in (OK, CHANGED) for r in self.results)


@dataclass
class Context:
    """What a backend gets for one run: the store (to read the newest committed state and record
    what it applied), the schema, its settings, and where to post events."""
    store: Store
    schema: Schema
    settings: dict
    events: Poster | None = None
    # a terminal shows it as one status line ("ssh: 12/32 nodes"); "" means the run is over
    progress: Callable[[str], None] | None = None
    env: Environment = field(default_factory=Environment)   # home, variables, cache (injectable)


class Backend(Protocol):
    name: str

    def targets(self, ctx: Context, committed: Committed, view: View | None = None) -> list[str]:
        """The targets whose desired state the commit changed. `view` is the state after it
        (default: the newest committed state); a plan passes the candidate's."""
        ...

    def plan(self, ctx: Context, targets: Iterable[str] | None) -> list[TargetResult]:
        """What applying would change on the targets (all when None), without changing them."""
        ...

    def plan_view(self, ctx: Context, view: View, targets: Iterable[str] | None) -> list[TargetResult]:
        """The same, rendered from `view` (a candidate that is not committed) instead of the
        newest committed state."""
        ...

    def apply(self, ctx: Context, targets: Iterable[str] | None, seq: int | None,
              force: bool = False) -> Recap:
        """Bring the targets (all when None) to the newest committed state."""
        ...

    def observe(self, ctx: Context, targets: Iterable[str] | None) -> dict[str, dict]:
        """What the backend last recorded about each target (status, applied revision, reason)."""
        ...


def discover() -> dict[str, Callable[[], Backend]]:
    """Backend factories by name, from the `cmshell.backends` entry points."""
    from importlib.metadata import entry_points
    return {ep.name: ep.load for ep in entry_points(group=ENTRY_POINT_GROUP)}
