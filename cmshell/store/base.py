"""The store interface: documents with revisions, committed atomically, journalled."""
from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator, Protocol, Sequence


class StoreError(Exception):
    """Any failure of the store; the message is one line, fit for the user."""


class StoreUnavailable(StoreError):
    """The store cannot be reached just now (its server restarting, the network down): the same
    call may work later. A damaged or refused store is a plain StoreError."""


class NoStore(StoreError):
    """There is no store at the path, and creating one was not asked for."""


class ConflictError(StoreError):
    """A commit's base revision is stale or a name is taken: nothing was written."""


@dataclass(frozen=True, slots=True)
class Record:
    id: str            # stable identity (survives renames)
    mode: str          # mode name, e.g. "device"
    name: str          # the object's key value
    revision: int      # bumped by every commit that touches the object
    doc: dict          # the object document (see docs/schema.md)
    # where the store keeps it and its key in the journal: hints (checked on use), not identity
    rowid: int | None = field(default=None, compare=False)
    jkey: int | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Change:
    id: str
    mode: str
    name: str                   # key after the change (before it, for a removal)
    base_revision: int | None   # revision the edit started from; None for a new object
    after: dict | None          # None removes the object
    # (mode, name) of every object `after` points at: the store checks, inside the commit's
    # transaction, that each still exists (another session may have removed it meanwhile)
    refs: tuple[tuple[str, str], ...] = ()
    base: Record | None = None  # the record the edit started from, when the writer has it (as
                                # the store gave it: the store then need not read it again)


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


ADDED, MODIFIED, REMOVED = "added", "modified", "removed"
ACTIONS = (ADDED, MODIFIED, REMOVED)          # the order `journal` lists them in


@dataclass(frozen=True)
class JournalGroup:
    """The objects of one mode a commit added, modified or removed, as `journal` lists them."""
    mode: str
    action: str                 # "added" | "modified" | "removed"
    count: int
    names: str                  # every name, as a compressed node list (node001..node100,gpu1);
                                # "" when that would be long (see `complete`)
    first: tuple[str, ...]      # the first few names in the order of the commit
    complete: bool = True       # False: `names` was left out (JournalRecord's changes have them)


@dataclass(frozen=True)
class JournalEntry:
    """One commit as `journal` lists it: who, when, and what, grouped (no documents)."""
    seq: int
    time: float                 # Unix time
    user: str
    comment: str
    groups: tuple[JournalGroup, ...]

    @property
    def count(self) -> int:
        return sum(g.count for g in self.groups)


@dataclass(frozen=True, slots=True)
class ObjectDelta:
    """One object of a stored commit as the journal keeps it. An added object carries its whole
    document (`new`), a removed one its whole document before (`old`); a modified one only the
    fields that changed: `old` maps each to its value before, `new` to its value after (a field
    missing from one side was absent there). `old_name` is set when the commit renamed it;
    `type` is the object's `type` field when it has one and the commit left it alone (context
    for showing the fields)."""
    id: str
    mode: str
    name: str                   # key after the change (before it, for a removal)
    action: str
    old: dict | None
    new: dict | None
    old_name: str | None = None
    type: str | None = None

    def revert(self, doc: dict | None) -> dict | None:
        """The document before this change, given the one after it."""
        if self.action == ADDED:
            return None
        if self.action == REMOVED:
            return self.old
        if doc is None or self.old is None or self.new is None:
            raise ValueError(f"{self.mode} {self.name} is missing where the journal modified it")
        return _patch(doc, self.new, self.old)

    def apply(self, doc: dict | None) -> dict | None:
        """The document after this change, given the one before it."""
        if self.action == ADDED:
            return self.new
        if self.action == REMOVED:
            return None
        if doc is None or self.old is None or self.new is None:
            raise ValueError(f"{self.mode} {self.name} is missing where the journal modified it")
        return _patch(doc, self.old, self.new)

    def shown(self, key: str) -> tuple[dict | None, dict | None]:
        """(before, after) to show field by field: whole documents for an added or removed
        object; for a modified one, the changed fields with the key (and `type`) for context."""
        if self.action != MODIFIED:
            return self.old, self.new
        ctx = {"type": self.type} if self.type is not None else {}
        before = {**ctx, key: self.old_name if self.old_name is not None else self.name, **(self.old or {})}
        after = {**ctx, key: self.name, **(self.new or {})}
        return before, after


def _patch(doc: dict, gone: dict, put: dict) -> dict:
    """`doc` with the fields of `gone` taken out and those of `put` set; a field in both keeps
    its place."""
    out = {}
    for k, v in doc.items():
        if k in put:
            out[k] = put[k]
        elif k not in gone:
            out[k] = v
    for k, v in put.items():
        if k not in out:
            out[k] = v
    return out


@dataclass(frozen=True)
class JournalRecord:
    """One stored commit with what it changed, as field-level deltas (see ObjectDelta)."""
    seq: int
    time: float
    user: str
    comment: str
    groups: tuple[JournalGroup, ...]
    changes: tuple[ObjectDelta, ...]
    snapshot: bool = False      # the commits up to this one, compacted (`journal --prune`)


@dataclass(frozen=True, slots=True)
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
    grouped: tuple[JournalGroup, ...] = ()      # `groups`: whoever makes the value fills it in
                                                # (store/delta.groups_of; base imports no delta)

    @property
    def objects(self) -> list[tuple[str, str, str]]:
        return [(c.mode, c.name, c.action) for c in self.changes]

    @property
    def groups(self) -> tuple[JournalGroup, ...]:
        """The objects grouped as `journal` lists them."""
        return self.grouped


class Store(Protocol):
    path: str       # what open_store needs to open it again (a URL with its password: never print it)
    shown: str      # how the store is named to a user: the file path, or the URL with its
                    # password as **** (store/pgurl.py redact); every message of a store uses it
    pushes: bool    # `wait` wakes when another session commits or publishes (PostgreSQL);
                    # False: it only sleeps, and a watcher had better poll on its own clock

    def names(self, mode: str) -> list[str]: ...
    def load(self, mode: str) -> list[Record]: ...
    def scan(self, mode: str, chunk: int = 1000, *, by_type: bool = False) -> Iterator[tuple[str, str, dict]]:
        """(id, name, document) of every object of a mode, `chunk` rows at a time (nothing
        cached), in name order; `by_type`: by the document's `type` first (objects without a
        string `type` before the others), in byte order as names are: the order `list` shows
        a mode sorted by type (device). An index serves either order: nothing is sorted whole."""
        ...
    def index(self, mode: str) -> list[tuple[str, str]]: ...
    def records(self, mode: str, ids: list[str]) -> list[Record]: ...
    def where(self, mode: str, field: str, value: object) -> list[str]: ...
    def get(self, mode: str, name: str) -> Record | None: ...
    def is_empty(self) -> bool: ...
    def commit(self, changes: list[Change], *, user: str, comment: str = "",
               when: float | None = None, if_empty: bool = False) -> Committed | None: ...
    def commit_stream(self, batches: Iterable[Sequence[Change]], *, user: str, comment: str = "",
                      when: float | None = None,
                      before_commit: Callable[[], None] | None = None,
                      if_empty: bool = False) -> Committed | None: ...
    def journal(self, limit: int | None = None) -> list[JournalEntry]: ...
    def journal_head(self, seq: int) -> JournalEntry | None: ...
    def journal_entry(self, seq: int) -> JournalRecord | None: ...
    def state_at(self, seq: int) -> dict[str, tuple[str, str, dict | None]]: ...
    def prune_journal(self, keep: int, *, user: str = "cmshell") -> int: ...
    def journal_retention(self) -> int | None: ...
    def set_journal_retention(self, keep: int | None) -> None: ...
    def put_state(self, backend: str, items: dict[str, object]) -> None: ...
    def get_state(self, backend: str, keys: list[str] | None = None) -> dict[str, object]: ...
    def check(self) -> list[str]: ...

    # -- between sessions (every session of this store, in any process, on any machine) --

    def lock(self, name: str, *, wait: bool = True, shared: bool = False) -> AbstractContextManager[bool]:
        """A named lock shared by every session of this store, held for the with-block: yields
        True when held; with `wait` off, False at once when another holder conflicts. Shared
        holders exclude exclusive ones, not each other (as flock). Two threads of one process
        exclude each other too."""
        ...

    def publish(self, events: list[dict]) -> None:
        """Store JSON-able events (the backends': service restarted, apply failed) for the other
        sessions; each gets a seq; only the newest 1,000 are kept."""
        ...

    def events_after(self, seq: int) -> list[tuple[int, dict]]:
        """(seq, event) of the events newer than `seq`, oldest first, at most 1,000."""
        ...

    def event_seq(self) -> int:
        """The seq of the newest event; 0 when there is none."""
        ...

    def wait(self, timeout: float) -> bool:
        """Block up to `timeout` seconds until another session may have committed or published:
        True when the store says so (PostgreSQL's NOTIFY; also the first call after connecting,
        when notices could have been missed), False when the time ran out (SQLite: always, after
        sleeping). Callers look at the journal and events_after either way."""
        ...

    def close(self) -> None: ...
