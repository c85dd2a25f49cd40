"""The one commit path: validate the candidate, store it in one transaction, tell who listens.

Every writer (`commit`, `--load`, `rollback`, and later a confirmed-commit revert) goes through
`Committer.commit`, which returns the `Committed` value the store made: the journal entry whole,
with each object's documents before and after. The commit notice, the backends and the journal
read that value; nothing re-reads the journal to learn what was just committed.
"""
from __future__ import annotations

from typing import Callable, Iterable, Iterator

from cmshell.events import COMMIT, EventQueue
from cmshell.model import validate as checks
from cmshell.model.schema import Schema
from cmshell.store.base import REMOVED, Change, Committed, JournalGroup
from cmshell.store.common import new_ids, paused_gc
from cmshell.store.delta import groups_of
from cmshell.workspace import Workspace

AfterCommit = Callable[[Committed], None]
LOAD_BATCH = 5000               # objects per batch of a streamed load


def _with_ids(objects: list[tuple[str, str, dict, tuple[tuple[str, str], ...]]]) -> list[Change]:
    """New objects (mode, name, document, pointer targets) as changes, each with a fresh id."""
    return [Change(i, mode, name, None, doc, refs)
            for i, (mode, name, doc, refs) in zip(new_ids(len(objects)), objects)]


class CommitRefused(Exception):
    """The candidate is invalid; nothing was stored. `problems` says why (the validation table)."""

    def __init__(self, problems: list[checks.Problem]):
        super().__init__(f"{problems[0].field}: {problems[0].message}" if problems else "invalid")
        self.problems = problems


class Committer:
    def __init__(self, ws: Workspace, *, user: str, clock: Callable[[], float],
                 events: EventQueue | None = None, source: Callable[[], str] = lambda: "cmshell"):
        self.ws = ws
        self.user = user
        self.clock = clock
        self.events = events
        self.source = source             # the name commit notices come from (the head node)
        self.after: list[AfterCommit] = []   # called with every stored commit (backends)
        # raises StoreError when this commit may not happen now (another user's commit awaits
        # confirmation, safety/confirm.py); the confirmation watcher's own committer has none
        self.guard: Callable[[], None] | None = None

    def problems(self, rids: Iterable[str], fallback_mode: str | None = None) -> list[checks.Problem]:
        """Validation problems of the objects `rids`; those not staged (an unchanged object
        being validated) are of `fallback_mode`."""
        ws = self.ws
        items = []
        for r in rids:
            mode = ws.staged[r].mode if r in ws.staged else fallback_mode
            if mode is None:
                raise KeyError(f"{r} is not staged, and no mode was given for it")
            items.append((mode, r))
        return ws.validate(items)

    def commit(self, rids: Iterable[str], *, comment: str = "", if_empty: bool = False,
               same: set[str] | None = None) -> Committed | None:
        """Commit the staged objects `rids` (those unchanged are left out, and those only marked
        modified, their values set back, are validated and then no longer modified); None when
        nothing is left to store. Raises CommitRefused (invalid) or StoreError (e.g. another session was first).
        `if_empty`: only into an empty store (checked inside the store's transaction). `same`:
        those of `rids` the caller found modified with their stored values (Workspace.differs),
        when it has compared every one since the last edit (else they are compared here)."""
        ws = self.ws
        with paused_gc():
            rids = [r for r in rids if ws.state(r) is not None]
            if not rids:
                return None
            if self.guard is not None:
                self.guard()
            probs = self.problems(rids)
            if probs:
                raise CommitRefused(probs)
            if same is None:
                same = {r for r in rids if not ws.differs(r)}   # marked modified, values as stored
            else:
                same = {r for r in rids if r in same}
            if same:
                ws.discard(r for r in rids if r in same)
                rids = [r for r in rids if r not in same]
                if not rids:
                    return None
            done = ws.store.commit(ws.changes(rids), user=self.user, comment=comment, when=self.clock(),
                                   **({"if_empty": True} if if_empty else {}))
            ws.committed(rids)
        if done is None:
            return None
        self._tell(done)
        return done

    def load(self, objects: Iterable[tuple[str, dict]], *, comment: str = "",
             batch: int = LOAD_BATCH, if_empty: bool = True) -> Committed | None:
        """Commit new objects as they come, (mode, document) pairs read lazily, in batches of one
        store transaction (`--load`): nothing is staged and no copy of the documents is kept
        but the Committed value's. Each object is validated as it arrives; a pointer to an
        object not seen yet is checked again after the last one. Raises CommitRefused (nothing
        is stored) or StoreError; whatever reading `objects` raises rolls everything back.
        `if_empty` (the default): only into an empty store, checked inside the store's
        transaction (two loads never merge); the pointers are checked there too."""
        ws, schema = self.ws, self.ws.schema
        seen: dict[str, set[str]] = {}
        problems: list[checks.Problem] = []
        later: list[tuple[str, dict]] = []          # objects that point at one not seen yet
        missed: list[bool] = []
        heads: list[str] = []                       # head nodes loaded (the store is empty)

        def exists(mode: str, name: str) -> bool:
            if name in seen.get(mode, ()) or ws.find(mode, name) is not None:
                return True
            missed.append(True)
            return True

        def batches() -> Iterator[list[Change]]:
            out: list[tuple[str, str, dict, tuple[tuple[str, str], ...]]] = []
            for mode_name, doc in objects:
                mode = schema.mode(mode_name)
                name = str(doc.get(mode.key, ""))
                names = seen.get(mode_name)
                if names is None:
                    names = seen[mode_name] = set()
                names.add(name)
                if missed:
                    missed.clear()
                refs: set = set()
                got = checks.check(schema, mode, doc, exists, refs)
                if got:
                    problems.extend(got)
                if mode_name == "device" and doc.get("type") == "headnode":   # one head node
                    if heads:
                        problems.append(checks.Problem(
                            checks.INVALID, "type", f"{name} cannot be a second head node; "
                            f"the cluster's head node is {heads[0]}"))
                    heads.append(name)
                if missed:
                    later.append((mode_name, doc))
                out.append((mode_name, name, doc, tuple(refs)))
                if len(out) >= batch:
                    yield _with_ids(out)
                    out = []
            if out:
                yield _with_ids(out)

        def verify() -> None:
            def known(mode: str, name: str) -> bool:
                return name in seen.get(mode, ()) or ws.find(mode, name) is not None
            for mode_name, doc in later:
                problems.extend(p for p in checks.check(schema, schema.mode(mode_name), doc, known)
                                if p.code == checks.NO_TARGET)
            if problems:
                raise CommitRefused(problems)

        if self.guard is not None:
            self.guard()
        done = ws.store.commit_stream(batches(), user=self.user, comment=comment, when=self.clock(),
                                      before_commit=verify, if_empty=if_empty)
        for mode_name in seen:
            ws.forget(mode_name)
        if done is None:
            return None
        self._tell(done)
        return done

    def _tell(self, done: Committed) -> None:
        if self.events is not None:
            self.events.own.add(done.seq)
            self.events.post("notice", self.source(), summary(self.ws.schema, done.groups),
                             kind=COMMIT, seq=done.seq, when=done.time)
        for listener in self.after:
            listener(done)


def summary(schema: Schema, objects: Iterable[JournalGroup] | Iterable[tuple[str, str, str]]) -> str:
    """`Committed 2 Devices (node001, node002)`, `Removed 1 Device (node100)` from the groups of
    a commit (Committed.groups, JournalEntry.groups) or its (mode, name, action) triples."""
    items: list = list(objects)
    groups: list[JournalGroup] | tuple[JournalGroup, ...] = (
        items if all(isinstance(g, JournalGroup) for g in items) else groups_of(items))
    parts = []
    by: dict[tuple[str, bool], tuple[int, list[str]]] = {}
    for g in groups:
        count, names = by.get((g.mode, g.action == REMOVED), (0, []))
        by[(g.mode, g.action == REMOVED)] = (count + g.count, names + list(g.first))
    for (mode, removed), (count, names) in sorted(by.items()):
        m = schema.modes.get(mode)
        entity = m.entity if m else mode
        plural = m.plural if m else mode + "s"
        shown = ", ".join(names[:5]) + (f", … (+{count - 5} more)" if count > 5 else "")
        word = "Removed" if removed else "Committed"
        parts.append(f"{word} {count} {entity if count == 1 else plural} ({shown})")
    return "; ".join(parts)
