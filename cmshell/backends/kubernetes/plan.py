"""`plan`: what applying would do, from a server-side dry run (dryRun=All); nothing is stored."""
from __future__ import annotations

from cmshell.backends.base import CHANGED, FAILED, OK, UNREACHABLE, Context, TargetResult
from cmshell.backends.kubernetes import render


def plan_units(backend, ctx: Context, units: dict[str, render.Unit]) -> list[TargetResult]:
    from cmshell.backends.kubernetes.client import Unreachable
    from cmshell.backends.kubernetes.labels import apply_labels
    from cmshell.backends.kubernetes.objects import load_inventory, plan_unit
    state = ctx.store.get_state("kubernetes")
    out: list[TargetResult] = []
    by_cluster: dict[str, list[render.Unit]] = {}
    for u in units.values():
        by_cluster.setdefault(u.cluster, []).append(u)
    for cluster, group in sorted(by_cluster.items()):
        try:
            cl = backend.connect(cluster, ctx)
        except Unreachable as e:
            out += [TargetResult(u.target, UNREACHABLE, str(e)) for u in group]
            continue
        try:
            for u in group:
                warn = [f"warning: {w}" for w in u.warnings]
                if u.error:
                    out.append(TargetResult(u.target, FAILED, u.error, warn))
                    continue
                try:
                    if u.kind == "labelsets":
                        o = apply_labels(cl, u, state.get(f"labels/{u.target}") or {}, False, dry_run=True)
                        if o.unreachable:
                            raise Unreachable(o.unreachable)
                        lines, errors = [f"label {c}" for c in o.changed], o.errors
                    else:
                        lines, errors = plan_unit(cl, u, load_inventory(state.get(f"inv/{u.target}")))
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
