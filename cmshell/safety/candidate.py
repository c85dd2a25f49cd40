"""The candidate as the backends see it: the staged objects a `commit` here would store, as
(before, after) documents in the store's own form, and a View of the committed state with them
in place. Plans render from that view; nothing is stored."""
from __future__ import annotations

from typing import Iterable

from cmshell.model.effective import PatchedView
from cmshell.model.schema import Schema
from cmshell.store.base import Committed, ObjectChange, Store
from cmshell.store.view import StoreView
from cmshell.workspace import Workspace


def staged_changes(ws: Workspace, rids: Iterable[str]) -> list[ObjectChange]:
    """One change per staged object that differs from its base (one only marked modified, its
    values set back, is left out, as `Committer.commit` leaves it out). Documents are
    denormalised (no `index` on index-keyed rows), as the store holds them: the backends compare
    them with committed documents."""
    out = []
    for rid in rids:
        st = ws.staged.get(rid)
        if st is None or not ws.differs(rid):
            continue
        mode = ws.schema.mode(st.mode)
        before = st.base.doc if st.base is not None else None
        after = ws.denormalise(mode, st.doc) if st.doc is not None else None
        name = str(after.get(mode.key, "")) if after is not None else st.base.name  # type: ignore[union-attr]
        out.append(ObjectChange(rid, st.mode, name, before, after))
    return out


def candidate_view(schema: Schema, store: Store, changes: list[ObjectChange]) -> PatchedView:
    """The newest committed state with the changes made (a rename frees the old name)."""
    patches: dict[tuple[str, str], dict | None] = {}
    for c in changes:
        if c.before is not None:
            patches[(c.mode, str(c.before.get(schema.mode(c.mode).key, "")))] = None
    for c in changes:
        if c.after is not None:
            patches[(c.mode, str(c.after.get(schema.mode(c.mode).key, "")))] = c.after
    return PatchedView(schema, StoreView(store, schema), patches)


def as_commit(changes: list[ObjectChange], user: str, when: float) -> Committed:
    """What committing the changes would store, for `Backend.targets` (seq 0: not stored)."""
    from cmshell.store.delta import groups_of
    return Committed(0, when, user, "", tuple(changes),
                     grouped=groups_of((c.mode, c.name, c.action) for c in changes))
