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
from cmshell.store.base import Committed
from cmshell.workspace import Workspace

AfterCommit = Callable[[Committed], None]


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

    def commit(self, rids: Iterable[str], *, comment: str = "", if_empty: bool = False) -> Committed | None:
        """Commit the staged objects `rids` (those unchanged are left out, and those only marked
        modified, their values set back, are validated and then no longer modified); None when
        nothing is left to store. Raises CommitRefused (invalid) or StoreError (e.g. another session was first).
        `if_empty`: only into an empty store (checked inside the store's transaction)."""
        ws = self.ws
        rids = [r for r in rids if ws.state(r) is not None]
        if not rids:
            return None
        if self.guard is not None:
            self.guard()
        probs = self.problems(rids)
        if probs:
            raise CommitRefused(probs)
        same = [r for r in rids if not ws.differs(r)]   # marked modified, values as stored
        if same:
            ws.discard(same)
            rids = [r for r in rids if r not in same]
            if not rids:
                return None
        done = ws.store.commit(ws.changes(rids), user=self.user, comment=comment, when=self.clock(),
                               **({"if_empty": True} if if_empty else {}))
        ws.committed(rids)
        if done is None:
            return None
        if self.events is not None:
            self.events.own.add(done.seq)
            self.events.post("notice", self.source(), summary(ws.schema, done.objects),
                             kind=COMMIT, seq=done.seq, when=done.time)
        for listener in self.after:
            listener(done)
        return done


def summary(schema: Schema, objects: Iterable[tuple[str, str, str]]) -> str:
    """`Committed 2 Devices (node001, node002)`, `Removed 1 Device (node100)` from the
    (mode, name, action) triples of a commit."""
    parts = []
    by: dict[tuple[str, bool], list[str]] = {}
    for mode, name, action in objects:
        by.setdefault((mode, action == "removed"), []).append(str(name))
    for (mode, removed), names in sorted(by.items()):
        m = schema.modes.get(mode)
        entity = m.entity if m else mode
        plural = m.plural if m else mode + "s"
        shown = ", ".join(names[:5]) + (f", … (+{len(names) - 5} more)" if len(names) > 5 else "")
        word = "Removed" if removed else "Committed"
        parts.append(f"{word} {len(names)} {entity if len(names) == 1 else plural} ({shown})")
    return "; ".join(parts)
