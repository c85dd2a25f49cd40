"""The store interface: documents with revisions, committed atomically, journalled."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Protocol


class StoreError(Exception):
    """Any failure of the store; the message is one line, fit for the user."""


class NoStore(StoreError):
    """There is no store at the path, and creating one was not asked for."""


class ConflictError(StoreError):
    """A commit's base revision is stale or a name is taken: nothing was written."""


@dataclass(frozen=True)
class Record:
    id: str            # stable identity (survives renames)
    mode: str          # mode name, e.g. "device"
    name: str          # the object's key value
    revision: int      # bumped by every commit that touches the object
    doc: dict          # the object document (see docs/schema.md)


@dataclass(frozen=True)
class Change:
    id: str
    mode: str
    name: str                   # key after the change (before it, for a removal)
    base_revision: int | None   # revision the edit started from; None for a new object
    after: dict | None          # None removes the object
    # (mode, name) of every object `after` points at: the store checks, inside the commit's
    # transaction, that each still exists (another session may have removed it meanwhile)
    refs: tuple[tuple[str, str], ...] = ()


class References(Protocol):
    """What the store needs to know of pointers when a commit removes or renames an object
    (the store knows no schema; the Workspace supplies this): no object may be left pointing
    at a name that is gone."""

    def referrer_modes(self, mode: str) -> Iterable[str]:
        """Modes whose objects may point at objects of `mode`."""
        ...

    def refers(self, referrer_mode: str, doc: dict, mode: str, name: str) -> bool:
        """Whether `doc` (an object of `referrer_mode`) points at object `name` of `mode`."""
        ...


@dataclass(frozen=True)
class JournalEntry:
    """One commit as `journal` lists it (without the documents)."""
    seq: int
    time: float                 # Unix time
    user: str
    comment: str
    objects: list               # [(mode, name, action)] action: "added" | "modified" | "removed"


@dataclass(frozen=True)
class ObjectChange:
    """One object of a commit, with its documents before and after (None: absent)."""
    id: str
    mode: str
    name: str                   # key after the change (before it, for a removal)
    before: dict | None
    after: dict | None

    @property
    def action(self) -> str:
        if self.after is None:
            return "removed"
        return "added" if self.before is None else "modified"


@dataclass(frozen=True)
class Committed:
    """What one commit stored: the journal entry whole. Events, the journal and the backends read
    this value; nobody re-reads the journal to learn what was just committed."""
    seq: int
    time: float
    user: str
    comment: str
    changes: tuple[ObjectChange, ...]
    revisions: dict[str, int] = field(default_factory=dict)   # id -> revision now (not removed)

    @property
    def objects(self) -> list[tuple[str, str, str]]:
        return [(c.mode, c.name, c.action) for c in self.changes]


class Store(Protocol):
    def names(self, mode: str) -> list[str]: ...
    def load(self, mode: str) -> list[Record]: ...
    def index(self, mode: str) -> list[tuple[str, str]]: ...
    def records(self, mode: str, ids: list[str]) -> list[Record]: ...
    def where(self, mode: str, field: str, value: object) -> list[str]: ...
    def get(self, mode: str, name: str) -> Record | None: ...
    def is_empty(self) -> bool: ...
    def commit(self, changes: list[Change], *, user: str, comment: str = "",
               when: float | None = None, if_empty: bool = False) -> Committed | None: ...
    def journal(self, limit: int | None = None) -> list[JournalEntry]: ...
    def journal_entry(self, seq: int) -> Committed | None: ...
    def put_state(self, backend: str, items: dict[str, object]) -> None: ...
    def get_state(self, backend: str, keys: list[str] | None = None) -> dict[str, object]: ...
    def close(self) -> None: ...
