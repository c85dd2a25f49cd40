"""Inheritance with provenance: device ← configuration overlays (by priority) ← category.

Pure functions over object documents (no store, no session): given a node's document, its
category's and the overlays that exist, compute the effective value of a parameter and the
effective roles, each with the layer it comes from and what it hides (cmsh-behaviour.md §6).

* Settings: a parameter declared with `inherit: <pointer>` (device `softwareimage`,
  `installmode`, `datanode`, `installbootrecord` point at `category`) takes the value of the
  object the pointer names when the node leaves it empty; a value set on the node overrides
  it. Booleans are OR-ed (node OR category), as BCM does for `datanode`/`installbootrecord`.
* Roles: category roles have priority 250, node roles 750, a configuration overlay's roles
  the overlay's priority (0-1000, default 500; -1 turns the overlay off). An overlay applies
  to the nodes in its `nodes` list, to the nodes of its `categories` and, with
  `allheadnodes`, to head nodes. For each role name the source with the highest priority
  wins; on a tie the node beats an overlay, overlays beat the category, and among overlays
  the one whose name sorts first wins (BCM does not document ties; this keeps them stable).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

from cmshell.model import values
from cmshell.model.schema import Param

CATEGORY_PRIORITY = 250
NODE_PRIORITY = 750
OVERLAY_DEFAULT_PRIORITY = 500
OVERLAY_OFF = -1

_RANK = {"node": 0, "overlay": 1, "category": 2}     # tie-break among equal priorities


@dataclass(frozen=True)
class Layer:
    """Where a value or a role comes from: the object itself, a category, an overlay, or the
    schema default. `kind` is the word shown (`node`, `category`, `overlay`, `default`)."""
    kind: str
    name: str = ""
    priority: int | None = None
    own: bool = False            # the object being looked at (not inherited)

    def __str__(self) -> str:
        return f"{self.kind}:{self.name}" if self.name else self.kind


DEFAULT = Layer("default")


@dataclass(slots=True)
class Resolved:
    """The effective value of one parameter and where it comes from."""
    value: object
    layer: Layer
    overrides: tuple = ()        # ((Layer, value), ...) hidden below the winner
    ored: tuple = ()             # booleans: ((Layer, value), ...) that were OR-ed together

    @property
    def inherited(self) -> bool:
        """The value comes from another object (not the object itself, not the default)."""
        return not self.layer.own and self.layer != DEFAULT


@dataclass(slots=True)
class Parent:
    """The object a parameter inherits from: its layer, document and parameter."""
    layer: Layer
    doc: dict
    param: Param


def is_empty(v: object) -> bool:
    return v is None or v == "" or v == []


def value(p: Param, doc: dict, parent: Parent | None = None) -> object:
    """The effective value alone (what `resolve` gives as .value, for `list` rows: no layers)."""
    mine = doc.get(p.name)
    if parent is None:
        return values.empty(p) if mine is None else mine
    theirs = parent.doc.get(parent.param.name)
    if theirs is None:
        theirs = values.empty(parent.param)
    if p.type == "boolean":
        return bool(mine if mine is not None else values.empty(p)) or bool(theirs)
    if mine is not None and mine != "" and mine != []:
        return mine
    if theirs is not None and theirs != "" and theirs != []:
        return theirs
    return values.empty(p) if mine is None else mine


def resolve(p: Param, doc: dict, own: Layer, parent: Parent | None = None) -> Resolved:
    """The effective value of `p` on the object `doc` (whose layer is `own`).

    Without `parent` (nothing to inherit from) the stored value or the default is returned."""
    mine = doc.get(p.name)
    theirs = None
    if parent is not None:
        theirs = parent.doc.get(parent.param.name)
        if theirs is None:
            theirs = values.empty(parent.param)
    if p.type == "boolean" and parent is not None:
        m = bool(mine) if mine is not None else bool(values.empty(p))
        t = bool(theirs)
        ored = ((own, m), (parent.layer, t))
        if m:
            return Resolved(True, own if mine is not None else DEFAULT, ored=ored)
        if t:
            return Resolved(True, parent.layer, ored=ored)
        return Resolved(False, own if mine is not None else DEFAULT, ored=ored)
    if not is_empty(mine):
        hidden = ((parent.layer, theirs),) if parent is not None and not is_empty(theirs) else ()
        return Resolved(mine, own, overrides=hidden)
    if parent is not None and not is_empty(theirs):
        return Resolved(theirs, parent.layer)
    if mine is not None:
        return Resolved(mine, own)
    return Resolved(values.empty(p), DEFAULT)


# -- configuration overlays -----------------------------------------------------------------
@dataclass(frozen=True)
class Overlay:
    name: str
    priority: int
    nodes: frozenset
    categories: frozenset
    allheadnodes: bool
    roles: tuple

    @property
    def layer(self) -> Layer:
        return Layer("overlay", self.name, self.priority)

    @property
    def off(self) -> bool:
        return self.priority < 0

    def applies(self, hostname: str, category: str | None, headnode: bool) -> bool:
        if self.off:
            return False
        return (hostname in self.nodes or (category is not None and category in self.categories)
                or (headnode and self.allheadnodes))


def overlay(doc: dict) -> Overlay:
    prio = doc.get("priority")
    return Overlay(name=str(doc.get("name", "")),
                   priority=OVERLAY_DEFAULT_PRIORITY if prio is None else int(prio),
                   nodes=frozenset(str(n) for n in doc.get("nodes") or ()),
                   categories=frozenset(str(c) for c in doc.get("categories") or ()),
                   allheadnodes=bool(doc.get("allheadnodes", False)),
                   roles=tuple(doc.get("roles") or ()))


class OverlayIndex:
    """The overlays that are on, indexed by node name and category, so that finding the ones
    that apply to a node costs a few dictionary look-ups (build it once per command)."""

    def __init__(self, docs: Iterable[dict]):
        self.overlays = [o for o in (overlay(d) for d in docs) if not o.off]
        self.by_node: dict[str, list[Overlay]] = {}
        self.by_category: dict[str, list[Overlay]] = {}
        self.head = [o for o in self.overlays if o.allheadnodes]
        for o in self.overlays:
            for n in o.nodes:
                self.by_node.setdefault(n, []).append(o)
            for c in o.categories:
                self.by_category.setdefault(c, []).append(o)

    def applying(self, hostname: str, category: str | None, headnode: bool) -> list[Overlay]:
        """Overlays that apply to the node, highest priority first (then by name)."""
        hits = {o.name: o for o in self.by_node.get(hostname, ())}
        if category is not None:
            hits.update((o.name, o) for o in self.by_category.get(category, ()))
        if headnode:
            hits.update((o.name, o) for o in self.head)
        return sorted(hits.values(), key=lambda o: (-o.priority, o.name))


# -- roles ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class EffectiveRole:
    name: str                    # canonical role name as stored
    layer: Layer                 # the source that wins
    doc: dict                    # the winning role document
    shadowed: tuple = ()         # Layers that also assign the role, lower in priority


@dataclass
class RoleSource:
    layer: Layer
    roles: list = field(default_factory=list)


def effective_roles(sources: list[RoleSource]) -> list[EffectiveRole]:
    """For each role name (case-insensitive) the highest-priority source wins.

    `sources`: the node's own roles (Layer priority 750, own=True), its category's (250) and
    the overlays that apply to it (their priority). The result is sorted by role name."""
    ranked = sorted(sources, key=lambda s: (-(s.layer.priority or 0), _RANK.get(s.layer.kind, 3),
                                            s.layer.name))
    winners: dict[str, list] = {}
    for src in ranked:
        for role in src.roles:
            name = str(role.get("name", ""))
            key = name.lower()
            entry = winners.get(key)
            if entry is None:
                winners[key] = [name, src.layer, role, []]
            elif src.layer not in entry[3] and src.layer != entry[1]:
                entry[3].append(src.layer)
    return [EffectiveRole(n, layer, doc, tuple(sh))
            for n, layer, doc, sh in sorted(winners.values(), key=lambda e: e[0].lower())]


def role_sources(own_roles: Iterable[dict] | None, own: Layer, category: str | None,
                 category_roles: Iterable[dict] | None,
                 overlays: list[Overlay]) -> list[RoleSource]:
    """The role sources of one node, in no particular order (effective_roles ranks them)."""
    out = [RoleSource(own, list(own_roles or ()))]
    if category is not None:
        out.append(RoleSource(Layer("category", category, CATEGORY_PRIORITY), list(category_roles or ())))
    out.extend(RoleSource(o.layer, list(o.roles)) for o in overlays)
    return out


def inherited_entries(effective: list[EffectiveRole]) -> list[tuple[str, EffectiveRole]]:
    """The entries a node's `roles` list adds to its own roles: (`[category:default]
    Docker::Host`, role) for every role that a category or an overlay supplies and that wins.
    The node's own roles are listed as they are, even one that a higher-priority overlay
    beats, so that it stays reachable (`show --effective` tells which one wins)."""
    return [(label(e), e) for e in effective if not e.layer.own]


def label(e: EffectiveRole) -> str:
    """`[category:default] Docker::Host`, `[overlay:kube-default-worker] kubelet`."""
    return f"[{e.layer}] {e.name}"
