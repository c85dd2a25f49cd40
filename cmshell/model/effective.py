"""Effective configuration: what a node has once device ← configuration overlays ← category are
combined, with the layer each value and role comes from, over a read-only `View` of documents.

This is the one implementation of the rules in model/inherit.py applied to a cluster: `show
--effective`, `foreach -e/-l`, completion, the backends' renderers and `plan` all call it. A
`View` is either the committed documents (store/view.py), the session's candidate
(workspace.py), or one of those as it was before a commit (`PatchedView`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Protocol

from cmshell.model import inherit, validate
from cmshell.model.inherit import EffectiveRole, Layer, OverlayIndex, Parent, Resolved
from cmshell.model.schema import Mode, Param, Schema

DEVICE = "device"
CATEGORY = "category"
OVERLAY = "configurationoverlay"


class View(Protocol):
    """Documents by mode and key (read-only)."""

    def get(self, mode: str, name: str) -> dict | None: ...
    def docs(self, mode: str) -> Iterable[dict]: ...


class DocsView:
    """A view over documents held in memory: {mode: [doc, ...]}."""

    def __init__(self, schema: Schema, docs: dict[str, list[dict]]):
        self._by: dict[str, dict[str, dict]] = {
            mode: {str(d.get(schema.mode(mode).key, "")): d for d in ds} for mode, ds in docs.items()}

    def get(self, mode: str, name: str) -> dict | None:
        return self._by.get(mode, {}).get(name)

    def docs(self, mode: str) -> Iterable[dict]:
        return list(self._by.get(mode, {}).values())


class PatchedView:
    """`base` with some objects replaced (None: absent): e.g. the committed view as it was before
    a commit, from the commit's documents before and after."""

    def __init__(self, schema: Schema, base: View, patches: dict[tuple[str, str], dict | None]):
        self.schema, self.base, self.patches = schema, base, patches

    def get(self, mode: str, name: str) -> dict | None:
        if (mode, name) in self.patches:
            return self.patches[(mode, name)]
        return self.base.get(mode, name)

    def docs(self, mode: str) -> Iterable[dict]:
        key = self.schema.mode(mode).key
        out = [d for d in self.base.docs(mode) if (mode, str(d.get(key, ""))) not in self.patches]
        out += [d for (m, _), d in self.patches.items() if m == mode and d is not None]
        return out


Change = tuple[str, "dict | None", "dict | None"]     # (mode, document before, document after)


def before_view(schema: Schema, after: View, changes: Iterable[Change]) -> PatchedView:
    """The view as it was before `changes` were made to it."""
    patches: dict[tuple[str, str], dict | None] = {}
    for mode, before, after_doc in changes:
        key = schema.mode(mode).key
        if after_doc is not None:
            patches[(mode, str(after_doc.get(key, "")))] = None
    for mode, before, _ in changes:
        if before is not None:
            patches[(mode, str(before.get(schema.mode(mode).key, "")))] = before
    return PatchedView(schema, after, patches)


@dataclass(frozen=True)
class NodeConfig:
    """A node's effective configuration: its own document, the values in force of the parameters
    it inherits, and its roles (each from the layer that wins)."""
    name: str
    doc: dict
    category: str | None
    params: dict[str, Resolved]
    roles: tuple[EffectiveRole, ...]

    def role(self, name: str) -> dict | None:
        low = name.lower()
        return next((r.doc for r in self.roles if r.name.lower() == low), None)

    def value(self, param: str) -> object:
        r = self.params.get(param)
        return r.value if r is not None else self.doc.get(param)

    def signature(self) -> tuple:
        """What decides whether two configurations of the node are the same."""
        return (self.doc, sorted((k, repr(r.value)) for k, r in self.params.items()),
                [(r.name, r.doc) for r in self.roles])


class Effective:
    """Effective configuration over one view. Build one per command or per commit: it caches the
    overlays and the objects parameters inherit from."""

    def __init__(self, schema: Schema, view: View):
        self.schema = schema
        self.view = view
        self._overlays: OverlayIndex | None = None
        self._parents: dict[tuple[int, str], Parent | None] = {}
        self._objects: dict[tuple[str, str], dict | None] = {}
        # what many nodes share, computed once: the inherited parameters of a spec; the values
        # of those a node leaves unset (by spec and parent); the roles of a node without roles
        # of its own (by category and overlays). Nodes with the same context get the same
        # (shared, not to be changed) params dict and roles tuple.
        self._inheriting: dict[int, list[Param]] = {}
        self._unset: dict[tuple, dict[str, Resolved]] = {}
        self._shared_roles: dict[tuple, tuple[EffectiveRole, ...]] = {}

    # -- look-ups ---------------------------------------------------------------------------
    def get(self, mode: str, name: str) -> dict | None:
        key = (mode, name)
        if key not in self._objects:
            self._objects[key] = self.view.get(mode, name) if mode in self.schema.modes else None
        return self._objects[key]

    def overlays(self) -> OverlayIndex:
        if self._overlays is None:
            docs = self.view.docs(OVERLAY) if OVERLAY in self.schema.modes else []
            self._overlays = OverlayIndex(d for d in docs if d is not None)
        return self._overlays

    # -- settings ---------------------------------------------------------------------------
    def parent(self, mode: Mode, p: Param, doc: dict) -> Parent | None:
        """The object `p` of a top-level object inherits from (a node's category), or None."""
        if not p.inherit or p.is_submode:
            return None
        holder = doc.get(p.inherit)
        if not holder:
            return None
        key = (id(p), str(holder))
        if key in self._parents:
            return self._parents[key]
        found = None
        ptr = mode.spec(doc).param(p.inherit)
        if ptr is not None and ptr.target and ptr.target in self.schema.modes:
            tdoc = self.get(ptr.target, str(holder))
            if tdoc is not None:
                tparam = self.schema.mode(ptr.target).spec(tdoc).param(p.name)
                if tparam is not None and not tparam.is_submode:
                    found = Parent(Layer(p.inherit, str(holder)), tdoc, tparam)
        self._parents[key] = found
        return found

    def resolve(self, mode: Mode, p: Param, doc: dict) -> Resolved:
        """The value in force of `p` on the top-level object `doc`, with its layer."""
        return inherit.resolve(p, doc, own_layer(mode), self.parent(mode, p, doc))

    def value(self, mode: Mode, p: Param, doc: dict) -> object:
        """The value alone (list rows need no provenance)."""
        return inherit.value(p, doc, self.parent(mode, p, doc))

    # -- roles ------------------------------------------------------------------------------
    def roles(self, mode: Mode, doc: dict, p: Param | None = None) -> list[EffectiveRole]:
        """Every role of a top-level object, each from the source that wins (a node: its own,
        its category's and its overlays'; other objects: their own)."""
        return list(self._roles(mode, doc, p))

    def _roles(self, mode: Mode, doc: dict, p: Param | None = None) -> tuple[EffectiveRole, ...]:
        p = p or mode.spec(doc).param("roles")
        own = own_layer(mode)
        if p is None:
            return ()
        category: str | None = None
        category_roles: list[dict] = []
        overlays: list[inherit.Overlay] = []
        mine = doc.get(p.name) or []
        if p.inherit:
            holder = doc.get(p.inherit)
            ptr = mode.spec(doc).param(p.inherit)
            if holder and ptr is not None and ptr.target in self.schema.modes:
                category = str(holder)
            overlays = self.overlays().applying(str(doc.get(mode.key, "")), category,
                                                doc.get("type") == "headnode")
            if not mine:            # nothing of its own: the same as every node in this context
                key = (id(p), id(ptr), category, tuple(id(o) for o in overlays))
                got = self._shared_roles.get(key)
                if got is not None:
                    return got
            if category is not None:
                category_roles = (self.get(str(ptr.target), category) or {}).get(p.name) or []   # type: ignore[union-attr]
        sources = inherit.role_sources(mine, own, category, category_roles, overlays)
        got = tuple(inherit.effective_roles(sources))
        if p.inherit and not mine:
            self._shared_roles[key] = got
        return got

    # -- nodes ------------------------------------------------------------------------------
    def node(self, name: str) -> NodeConfig | None:
        doc = self.get(DEVICE, name)
        if doc is None:
            return None
        mode = self.schema.mode(DEVICE)
        spec = mode.spec(doc)
        inheriting = self._inheriting.get(id(spec))
        if inheriting is None:
            inheriting = self._inheriting[id(spec)] = [p for p in spec.params
                                                       if p.inherit and not p.is_submode]
        if all(doc.get(p.name) is None for p in inheriting):
            # values all from the parents: the same as every node with the same parents
            key = (id(spec),) + tuple(str(doc.get(p.inherit) or "") for p in inheriting)
            params = self._unset.get(key)
            if params is None:
                params = self._unset[key] = {p.name: self.resolve(mode, p, doc) for p in inheriting}
        else:
            params = {p.name: self.resolve(mode, p, doc) for p in inheriting}
        category = doc.get(CATEGORY)
        return NodeConfig(name, doc, str(category) if category else None, params,
                          self._roles(mode, doc))

    def node_names(self) -> list[str]:
        key = self.schema.mode(DEVICE).key
        return sorted(str(d.get(key, "")) for d in self.view.docs(DEVICE) if d is not None)

    def in_category(self, names: set[str]) -> list[str]:
        return sorted(str(d.get("hostname", "")) for d in self.view.docs(DEVICE)
                      if d is not None and d.get(CATEGORY) in names)

    def overlay_members(self, overlay_doc: dict) -> list[str]:
        """The devices an overlay applies to (none when it is off)."""
        o = inherit.overlay(overlay_doc)
        if o.off:
            return []
        return sorted(str(d.get("hostname", "")) for d in self.view.docs(DEVICE) if d is not None
                      and o.applies(str(d.get("hostname", "")), d.get(CATEGORY), d.get("type") == "headnode"))

    def nodes_with_roles(self, names: set[str]) -> list[str]:
        """Devices that have one of the roles (lower-case names) as their own, their category's
        or an overlay's that is on: one pass, no per-node role resolution."""
        def has(roles: Iterable[dict] | None) -> bool:
            return any(str(r.get("name", "")).lower() in names for r in roles or ())
        cats = {str(c.get("name")) for c in self.view.docs(CATEGORY) if c and has(c.get("roles"))}
        ovs = [o for o in self.overlays().overlays if has(o.roles)]
        out = []
        for d in self.view.docs(DEVICE):
            if d is None:
                continue
            host = str(d.get("hostname", ""))
            if (has(d.get("roles")) or d.get(CATEGORY) in cats
                    or any(o.applies(host, d.get(CATEGORY), d.get("type") == "headnode") for o in ovs)):
                out.append(host)
        return sorted(out)

    def referrers(self, target: str, name: str) -> set[str]:
        """Devices whose own document, category or overlays point at object `name` of mode
        `target` (e.g. the etcd cluster an Etcd::Host role names)."""
        out: set[str] = set()
        for mode_name in (DEVICE, CATEGORY, OVERLAY):
            if mode_name not in self.schema.modes:
                continue
            mode = self.schema.mode(mode_name)
            for d in self.view.docs(mode_name):
                if d is None or not validate.references(self.schema, mode, d, target, name):
                    continue
                if mode_name == DEVICE:
                    out.add(str(d.get("hostname", "")))
                elif mode_name == CATEGORY:
                    out.update(self.in_category({str(d.get("name", ""))}))
                else:
                    out.update(self.overlay_members(d))
        return out


def own_layer(mode: Mode) -> Layer:
    """The layer of the object itself: `node` for a device, else the mode's name."""
    got = _OWN.get(mode.name)
    if got is None:
        got = _OWN[mode.name] = Layer("node" if mode.name == DEVICE else mode.name, "",
                                      inherit.NODE_PRIORITY, own=True)
    return got


_OWN: dict[str, Layer] = {}


def affected_nodes(schema: Schema, after: View, changes: Iterable[Change]) -> set[str]:
    """The nodes whose effective configuration `changes` (applied to reach `after`) changed:
    through the device itself, its category, the overlays that apply to it (their nodes,
    categories and head-node lists, before and after), or an object that its roles point at."""
    changes = list(changes)
    before = Effective(schema, before_view(schema, after, changes))
    now = Effective(schema, after)
    candidates: set[str] = set()
    referenced: set[str] = set()        # affected through an object they point at: no comparison
    for mode, old, new in changes:
        key = schema.mode(mode).key
        names = {str(d.get(key, "")) for d in (old, new) if d is not None}
        if mode == DEVICE:
            candidates |= names
        elif mode == CATEGORY:
            candidates.update(before.in_category(names), now.in_category(names))
        elif mode == OVERLAY:
            if old is not None:
                candidates.update(before.overlay_members(old))
            if new is not None:
                candidates.update(now.overlay_members(new))
        else:
            for name in names:
                referenced |= before.referrers(mode, name) | now.referrers(mode, name)
    out = {n for n in referenced if now.node(n) is not None}
    same: dict[tuple[int, int, int, int], tuple] = {}    # shared parts compared once
    for n in candidates - out:
        a, b = before.node(n), now.node(n)
        if a is None or b is None or not _same_config(a, b, same):
            out.add(n)
    return out


def _same_config(a: NodeConfig, b: NodeConfig, memo: dict) -> bool:
    """a.signature() == b.signature(), with the parts nodes share (params, roles: see
    Effective.node) compared once per pair; `memo` keeps them alive while it is used."""
    if a.doc != b.doc:
        return False
    key = (id(a.params), id(a.roles), id(b.params), id(b.roles))
    got = memo.get(key)
    if got is None:
        sa, sb = a.signature(), b.signature()
        got = memo[key] = (sa[1:] == sb[1:], a.params, a.roles, b.params, b.roles)
    return got[0]
