"""One apply run against one cluster: the targets' objects in two phases (objects.py), their
ApplySet parents, and the label sets from one LIST of the Nodes.

Returns, per target, the result and the backend state to record:
`inv/<target>` what it owns, `del/<target>` deletions still to do (objects, or node -> label
keys), `parent/<target>` its ApplySet parents, `labels/<target>` the node labels it owns.
"""
from __future__ import annotations

from cmshell.backends.base import CHANGED, FAILED, OK, UNREACHABLE, TargetResult
from cmshell.backends.kubernetes import applyset
from cmshell.backends.kubernetes.client import Cluster, classify
from cmshell.backends.kubernetes.labels import apply_labels
from cmshell.backends.kubernetes.objects import (Inventory, Step, apply_all, dump_inventory,
                                                 keep_stale, load_inventory, prune_all)
from cmshell.backends.kubernetes.render import ObjRef, Unit

Outcome = tuple[Unit, TargetResult, dict]


def owners_after(state: dict, cluster: str, steps: list[Step]) -> dict[str, set[str]]:
    """Object key -> targets owning it after this run: the run's own inventories, and the
    recorded ones of the cluster's targets outside the run."""
    mine = {s.unit.target for s in steps}
    out: dict[str, set[str]] = {}
    for key, rows in state.items():
        target = key[len("inv/"):]
        if key.startswith(f"inv/{cluster}/") and target not in mine:
            for k in load_inventory(rows):
                out.setdefault(k, set()).add(target)
    for s in steps:
        for k in s.inventory:
            out.setdefault(k, set()).add(s.unit.target)
    return out


def run_cluster(cl: Cluster, cluster: str, units: list[Unit], state: dict,
                only: dict[str, set[str]], force: bool) -> list[Outcome]:
    out: list[Outcome] = []
    steps = []
    for u in units:
        if u.kind == "labelsets":
            continue
        if u.error:                 # nothing of it is touched; its inventory stays as it was
            out.append((u, TargetResult(u.target, FAILED, u.error), {}))
            continue
        steps.append(Step(u, load_inventory(state.get(f"inv/{u.target}")),
                          load_inventory(state.get(f"del/{u.target}")),
                          load_inventory(state.get(f"parent/{u.target}"))))
    down = apply_all(cl, steps, force) if steps else ""
    if not down:
        down = _parents(cl, steps, force, superset=True)
    keep_stale(steps)               # those that do not prune keep their old objects owned
    if not down:
        down = prune_all(cl, steps, owners_after(state, cluster, steps))
    if not down:
        down = _parents(cl, steps, force, superset=False)
    out += [(s.unit, _result(s), _state(s)) for s in steps]
    labelsets = [u for u in units if u.kind == "labelsets"]
    if labelsets:
        out += _labelsets(cl, labelsets, state, only, force, down)
    return sorted(out, key=lambda o: o[0].target)


def _members(s: Step, superset: bool) -> list[ObjRef]:
    """The superset also has what failed to apply: kubectl counts every object it applies."""
    keys: Inventory = {**s.inventory, **s.pending}
    if superset:
        keys.update(s.prev)
        keys.update({r.key(): (r, "") for r in map(ObjRef.of, s.unit.objects)})
    return [ref for ref, _ in keys.values()]


def _parents(cl: Cluster, steps: list[Step], force: bool, superset: bool) -> str:
    """Before pruning, each parent lists what its application had and has; after, what is left
    (written again only if that differs). Old parents go once nothing of theirs is left."""
    for s in steps:
        p = s.unit.parent
        try:
            if p is not None and (superset or s.parent_notes):   # after pruning: if written before
                notes = applyset.parent_notes(p, _members(s, superset))
                if notes != s.parent_notes:
                    s.parents[p.key()] = (p, applyset.write_parent(cl, p, _members(s, superset), force))
                    s.parent_notes = notes
            if superset or not s.prunes or s.pending:
                continue
            for key, (ref, _) in sorted(s.parents.items()):
                if p is None or key != p.key():
                    cl.delete(ref)
                    del s.parents[key]
        except Exception as exc:          # noqa: BLE001 - one line, as for any object
            err = classify(exc)
            if err is None:
                for t in steps:
                    t.unreachable = t.unreachable or str(exc).splitlines()[0][:300]
                return s.unreachable
            s.errors.append(f"ApplySet parent of {s.unit.name}: {err.text}")
    return ""


def _result(s: Step) -> TargetResult:
    changes = [f"applied {k}" for k in s.applied] + [f"deleted {k}" for k in s.deleted] + s.handed
    if s.unreachable:
        return TargetResult(s.unit.target, UNREACHABLE, f"API server unreachable: {s.unreachable}", changes)
    if s.errors:
        return TargetResult(s.unit.target, FAILED, "; ".join(s.errors), changes)
    return TargetResult(s.unit.target, CHANGED if changes else OK, "", changes)


def _state(s: Step) -> dict:
    t = s.unit.target
    return {f"inv/{t}": dump_inventory(s.inventory), f"del/{t}": dump_inventory(s.pending),
            f"parent/{t}": dump_inventory(s.parents)}


def _labelsets(cl: Cluster, units: list[Unit], state: dict, only: dict[str, set[str]],
               force: bool, down: str) -> list[Outcome]:
    """One LIST of the Nodes for all label sets of the run (not a GET per node)."""
    nodes: dict[str, dict] = {}
    if not down:
        try:
            nodes = cl.list_nodes()
        except Exception as exc:          # noqa: BLE001
            err = classify(exc)
            down = str(exc).splitlines()[0][:300] if err is None else ""
            if err is not None:
                return [(u, TargetResult(u.target, FAILED, f"cannot list Nodes: {err.text}"), {})
                        for u in units]
    out: list[Outcome] = []
    for u in units:
        if down:
            out.append((u, TargetResult(u.target, UNREACHABLE, f"API server unreachable: {down}"), {}))
            continue
        owned = state.get(f"labels/{u.target}")
        o = apply_labels(cl, u, owned if isinstance(owned, dict) else {}, force, nodes, only.get(u.target))
        st = {f"labels/{u.target}": o.owned or None, f"del/{u.target}": o.pending or None}
        changes = o.changed + [f"no Kubernetes node {n}" for n in o.missing]
        if o.unreachable:
            down = o.unreachable
            r = TargetResult(u.target, UNREACHABLE, f"API server unreachable: {down}", changes)
        elif o.errors:
            r = TargetResult(u.target, FAILED, "; ".join(o.errors), changes)
        else:
            r = TargetResult(u.target, CHANGED if o.changed else OK, "", changes)
        out.append((u, r, st))
    return out
