"""`plan`: what applying would do, from a server-side dry run (dryRun=All); nothing is stored."""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from cmshell.backends.base import CHANGED, FAILED, OK, UNREACHABLE, Context, TargetResult
from cmshell.backends.kubernetes import render

if TYPE_CHECKING:
    from cmshell.backends.kubernetes.client import Cluster


def _owners(state: dict, units: dict[str, render.Unit]) -> dict[str, set[str]]:
    """Object key -> targets that would own it: the planned units' renderings, and the recorded
    inventories of the targets not planned."""
    out: dict[str, set[str]] = {}
    for key, rows in state.items():
        target = key[len("inv/"):]
        if key.startswith("inv/") and target not in units:
            for row in rows or []:
                out.setdefault(render.ObjRef.from_list(list(row)).key(), set()).add(target)
    for t, u in units.items():
        for obj in u.objects:
            out.setdefault(render.ObjRef.of(obj).key(), set()).add(t)
    return out


def plan_units(connect: Callable[[str, Context], Cluster], ctx: Context, units: dict[str, render.Unit],
               only: dict[str, set[str]] | None = None) -> list[TargetResult]:
    from cmshell.backends.kubernetes.client import Unreachable
    from cmshell.backends.kubernetes.labels import apply_labels
    from cmshell.backends.kubernetes.objects import load_inventory, plan_unit
    state = ctx.store.get_state("kubernetes")
    owners = _owners(state, units)
    out: list[TargetResult] = []
    by_cluster: dict[str, list[render.Unit]] = {}
    for u in units.values():
        by_cluster.setdefault(u.cluster, []).append(u)
    for cluster, group in sorted(by_cluster.items()):
        try:
            cl = connect(cluster, ctx)
        except Unreachable as e:
            out += [TargetResult(u.target, UNREACHABLE, str(e)) for u in group]
            continue
        nodes: dict[str, dict] | None = None
        try:
            for u in group:
                warn = [f"warning: {w}" for w in u.warnings]
                if u.error:
                    out.append(TargetResult(u.target, FAILED, u.error, warn))
                    continue
                try:
                    if u.kind == "labelsets":
                        if nodes is None:        # one LIST per cluster, as when applying
                            nodes = _list_nodes(cl)
                        o = apply_labels(cl, u, _owned(state, u.target), False, nodes,
                                         (only or {}).get(u.target), dry_run=True)
                        if o.unreachable:
                            raise Unreachable(o.unreachable)
                        lines, errors = [f"label {c}" for c in o.changed], o.errors
                    else:
                        prev = {**load_inventory(state.get(f"del/{u.target}")),
                                **load_inventory(state.get(f"inv/{u.target}"))}
                        lines, errors = plan_unit(cl, u, prev, owners)
                except Unreachable as e:
                    out.append(TargetResult(u.target, UNREACHABLE, f"API server unreachable: {e}"))
                    continue
                if errors:
                    out.append(TargetResult(u.target, FAILED, "; ".join(errors), warn + lines))
                else:
                    out.append(TargetResult(u.target, CHANGED if lines else OK, "", warn + lines))
        finally:
            close = getattr(cl, "close", None)
            if close:
                close()
    return out


def _owned(state: dict, target: str) -> dict[str, list[str]]:
    got = state.get(f"labels/{target}")
    return got if isinstance(got, dict) else {}


def _list_nodes(cl: Cluster) -> dict[str, dict]:
    from cmshell.backends.kubernetes.client import Unreachable, classify
    try:
        return cl.list_nodes()
    except Exception as exc:          # noqa: BLE001
        if classify(exc) is None:
            raise Unreachable(str(exc).splitlines()[0]) from None
        raise
