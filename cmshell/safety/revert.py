"""Stage the configuration as it was right after a commit: the candidate that `rollback N`
shows for review and the confirmation watcher commits on its own. Only objects that a later
commit touched are staged, each with its document as of commit N (or removed, when it did not
exist then)."""
from __future__ import annotations

from cmshell.store.base import Store
from cmshell.workspace import Workspace


class RevertError(Exception):
    """The history cannot be staged (a mode this version does not know); one line."""


def state_at(store: Store, seq: int, last: int | None = None) -> dict[str, tuple[str, dict | None]]:
    """id -> (mode, document as of commit `seq`, None when it did not exist) for every object
    a later commit touched: the store reverts the later commits' field-level deltas
    (Store.state_at; a StoreError when `seq` went into the journal's snapshot)."""
    return {rid: (mode, doc) for rid, (mode, _, doc) in store.state_at(seq).items()}


def undone(store: Store, seqs: list[int]) -> dict[str, tuple[str, dict | None]]:
    """id -> (mode, document before the first of the commits `seqs` that touched it): the
    state with those commits undone (and nothing else)."""
    first: dict[str, int] = {}              # id -> the first of `seqs` that touched it
    for n in sorted(seqs):
        e = store.journal_entry(n)
        for ch in e.changes if e is not None else ():
            first.setdefault(ch.id, n)
    out: dict[str, tuple[str, dict | None]] = {}
    for n in sorted(set(first.values())):
        state = state_at(store, n - 1)
        for rid, k in first.items():
            if k == n and rid in state:
                out[rid] = state[rid]
    return out


def stage(ws: Workspace, seq: int, last: int) -> dict[str, int] | None:
    """Stage the state as of commit `seq` on a workspace with nothing staged; the counts of
    objects to add ('+'), modify (' ') and remove ('~'), or None when nothing was committed
    after `seq`."""
    target = state_at(ws.store, seq, last)
    return stage_target(ws, target) if target else None


def stage_target(ws: Workspace, target: dict[str, tuple[str, dict | None]]) -> dict[str, int]:
    """Stage each object of `target` with its document (None: removed); the counts."""
    ws.refresh_all()            # start from what is committed now
    # removals first, then restores, then re-creations (names freed before they are reused)
    plan = sorted(target.items(), key=lambda kv: (kv[1][1] is not None, kv[0]))
    touched_modes = set()
    for rid, (mode_name, doc) in plan:
        mode = ws.schema.modes.get(mode_name)
        if mode is None:
            raise RevertError(f"commit history holds mode {mode_name}, which this version does not know")
        current = ws.base_doc(mode_name, rid)
        if doc is None:
            if current is not None:
                ws.remove(mode_name, rid)
            continue
        want = ws.normalise(mode, doc)
        if current is None:
            ws.add(mode_name, want, rid)     # back under its own identity
        elif current != want:
            edoc = ws.edit(mode_name, rid)
            edoc.clear()
            edoc.update(want)
        touched_modes.add(mode_name)
    for m in touched_modes:
        ws.renamed(m)
    ws.prune()
    counts = {"+": 0, " ": 0, "~": 0}
    for st, _, _ in ws.pending():
        counts[st] += 1
    return counts
