"""The one commit path: validate the candidate, store it in one transaction, tell who listens.

Every writer (`commit`, `--load`, `rollback`, and later a confirmed-commit revert) goes through
`Committer.commit`, which returns the `Committed` value the store made: the journal entry whole,
with each object's documents before and after. The commit notice, the backends and the journal
read that value; nothing re-reads the journal to learn what was just committed.
"""
from __future__ import annotations

from typing import Callable, Iterable

from cmshell.events import COMMIT, EventQueue
from cmshell.model import validate as checks
from cmshell.model.schema import Schema
from cmshell.store.base import REMOVED, Change, Committed, JournalGroup
from cmshell.store.sqlite import new_ids
from cmshell.store.delta import groups_of
from cmshell.workspace import Workspace, paused_gc

AfterCommit = Callable[[Committed], None]
LOAD_BATCH = 5000               # objects per batch of a streamed load


def _with_ids(objects: list[tuple[str, str, dict]]) -> list[Change]:
    """New objects (mode, name, document) as changes, each with a fresh id."""
    return [Change(i, mode, name, None, doc) for i, (mode, name, doc) in zip(new_ids(len(objects)), objects)]


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

    def problems(self, rids: Iterable[str], fallback_mode: str | None = None) -> list[checks.Problem]:
        ws = self.ws
        return ws.validate([(ws.staged[r].mode if r in ws.staged else fallback_mode, r) for r in rids])

    def commit(self, rids: Iterable[str], *, comment: str = "") -> Committed | None:
        """Commit the staged objects `rids` (those unchanged are left out); None when nothing is
        left. Raises CommitRefused (invalid) or StoreError (e.g. another session was first)."""
        ws = self.ws
        with paused_gc():
            rids = [r for r in rids if ws.state(r) is not None]
            if not rids:
                return None
            probs = self.problems(rids)
            if probs:
                raise CommitRefused(probs)
            done = ws.store.commit(ws.changes(rids), user=self.user, comment=comment, when=self.clock())
            ws.committed(rids)
        if done is None:
            return None
        self._tell(done)
        return done

    def load(self, objects: Iterable[tuple[str, dict]], *, comment: str = "",
             batch: int = LOAD_BATCH) -> Committed | None:
        """Commit new objects as they come, (mode, document) pairs read lazily, in batches of one
        store transaction (`--load`): nothing is staged and no copy of the documents is kept
        but the Committed value's. Each object is validated as it arrives; a pointer to an
        object not seen yet is checked again after the last one. Raises CommitRefused (nothing
        is stored) or StoreError; whatever reading `objects` raises rolls everything back."""
        ws, schema = self.ws, self.ws.schema
        seen: dict[str, set[str]] = {}
        problems: list[checks.Problem] = []
        later: list[tuple[str, dict]] = []          # objects that point at one not seen yet
        missed: list[bool] = []

        def exists(mode: str, name: str) -> bool:
            if name in seen.get(mode, ()) or ws.find(mode, name) is not None:
                return True
            missed.append(True)
            return True

        def batches():
            out: list[tuple[str, str, dict]] = []
            for mode_name, doc in objects:
                mode = schema.mode(mode_name)
                name = str(doc.get(mode.key, ""))
                names = seen.get(mode_name)
                if names is None:
                    names = seen[mode_name] = set()
                names.add(name)
                if missed:
                    missed.clear()
                got = checks.check(schema, mode, doc, exists)
                if got:
                    problems.extend(got)
                if missed:
                    later.append((mode_name, doc))
                out.append((mode_name, name, doc))
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

        done = ws.store.commit_stream(batches(), user=self.user, comment=comment, when=self.clock(),
                                      before_commit=verify)
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
