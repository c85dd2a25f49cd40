"""The Kubernetes backend: app groups by server-side apply with prune, label sets as node
labels, users as RBAC (docs/backends.md, "Kubernetes").

Targets are `<cluster>/apps/<group>/<app>`, `<cluster>/labelsets/<name>` and
`<cluster>/users/<name>`. What was applied is recorded in the store (backend "kubernetes"):
`inv/<target>` the objects (group, version, kind, namespace, name, resourceVersion),
`labels/<target>` the node labels owned, `status/<target>` the last outcome.
"""
from __future__ import annotations

import hashlib
import json
from typing import Callable, Iterable

from cmshell.backends.base import CHANGED, FAILED, OK, UNREACHABLE, Context, Recap, TargetResult
from cmshell.backends.kubernetes import render
from cmshell.events import APPLIED, APPLY_FAILED
from cmshell.model.effective import Effective, View, before_view
from cmshell.store.base import Committed
from cmshell.store.view import StoreView

NAME = "kubernetes"
MODE = "kubernetes"
_MEMBERSHIP = ("device", "category", "configurationoverlay")   # changes that move label sets
_STATE = ("inv/", "labels/", "status/")


def _raw_print(group: dict, doc: dict) -> str:
    """Fingerprint of an application's (or user's) own settings: cheap, no YAML parsing."""
    data = {k: v for k, v in doc.items() if k != "revision"}
    data["_group_enabled"] = group.get("enabled", True)
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def _cluster_prints(doc: dict | None, eff: Effective | None) -> dict[str, str]:
    if not doc:
        return {}
    c = str(doc.get("name", ""))
    out = {}
    for g in doc.get("appgroups") or []:
        for a in g.get("applications") or []:
            out[f"{c}/apps/{g.get('name')}/{a.get('name')}"] = _raw_print(g, a)
    for u in doc.get("users") or []:
        out[f"{c}/users/{u.get('name')}"] = _raw_print({}, u)
    if eff is not None:
        for ls in doc.get("labelsets") or []:
            out[f"{c}/labelsets/{ls.get('name')}"] = render.fingerprint(render.labelset_unit(c, ls, eff))
    return out


class KubernetesBackend:
    name = NAME

    def __init__(self, connect: Callable[[str, dict], object] | None = None):
        # connect(cluster, settings) -> client.Cluster; tests and benchmarks inject their own
        self._connect = connect

    # -- which targets a commit changed -----------------------------------------------------
    def targets(self, ctx: Context, committed: Committed, view: View | None = None) -> list[str]:
        mine = [c for c in committed.changes if c.mode == MODE]
        moved = any(c.mode in _MEMBERSHIP for c in committed.changes)
        if not mine and not moved:
            return []
        after_view = view if view is not None else StoreView(ctx.store, ctx.schema)
        before = before_view(ctx.schema, after_view, [(c.mode, c.before, c.after) for c in committed.changes])
        eff_after, eff_before = Effective(ctx.schema, after_view), Effective(ctx.schema, before)
        out: set[str] = set()
        docs = [(c.before, c.after) for c in mine]
        if moved:      # a device changing category can move it in or out of any label set
            seen = {str((b or a or {}).get("name")) for b, a in docs}
            docs += [(d, d) for d in after_view.docs(MODE) if str(d.get("name")) not in seen]
        for b, a in docs:
            pb, pa = _cluster_prints(b, eff_before), _cluster_prints(a, eff_after)
            out.update(t for t in set(pb) | set(pa) if pb.get(t) != pa.get(t))
        return sorted(out)

    # -- apply ---------------------------------------------------------------------------------
    def _units(self, ctx: Context) -> dict[str, render.Unit]:
        view = StoreView(ctx.store, ctx.schema)
        eff = Effective(ctx.schema, view)
        out: dict[str, render.Unit] = {}
        for doc in view.docs(MODE):
            out.update(render.units(doc, eff))
        return out

    def _wanted(self, ctx: Context, units: dict[str, render.Unit], targets: Iterable[str] | None
                ) -> dict[str, render.Unit]:
        """The units to work on; a target known only from the store (removed) gets an empty one."""
        recorded = {k.split("/", 1)[1] for k in ctx.store.get_state(NAME) if k.startswith(_STATE[:2])}
        names = set(units) | recorded if targets is None else {t for t in targets if render.split_target(t)}
        out = {}
        for t in sorted(names):
            parts = render.split_target(t)
            if parts is None:
                continue
            out[t] = units.get(t) or render.Unit(t, parts[0], parts[1], parts[2].rsplit("/", 1)[-1])
        return out

    def connect(self, cluster: str, ctx: Context):
        if self._connect is not None:
            return self._connect(cluster, ctx.settings.get(cluster) or {})
        from cmshell.backends.kubernetes.client import Cluster
        return Cluster(cluster, ctx.settings.get(cluster) or {})

    def apply(self, ctx: Context, targets: Iterable[str] | None, seq: int | None,
              force: bool = False) -> Recap:
        units = self._wanted(ctx, self._units(ctx), targets)
        recap = Recap(NAME, seq)
        by_cluster: dict[str, list[render.Unit]] = {}
        for u in units.values():
            by_cluster.setdefault(u.cluster, []).append(u)
        for cluster, group in sorted(by_cluster.items()):
            recap.results += self._apply_cluster(ctx, cluster, group, seq, force)
        return recap

    def _apply_cluster(self, ctx: Context, cluster: str, group: list[render.Unit], seq: int | None,
                       force: bool) -> list[TargetResult]:
        from cmshell.backends.kubernetes.client import Unreachable
        state = ctx.store.get_state(NAME, [f"{p}{u.target}" for u in group for p in _STATE[:2]])
        try:
            cl = self.connect(cluster, ctx)
        except Unreachable as e:
            return [self._record(ctx, u, TargetResult(u.target, UNREACHABLE, str(e)), seq, {}) for u in group]
        results = []
        try:
            for u in group:
                if ctx.progress:
                    ctx.progress(f"kubernetes: {u.target}")
                if u.kind == "labelsets":
                    r, st = self._labels(cl, u, state.get(f"labels/{u.target}") or {}, force)
                else:
                    r, st = self._objects(cl, u, state.get(f"inv/{u.target}"), force)
                results.append(self._record(ctx, u, r, seq, st))
        finally:
            close = getattr(cl, "close", None)
            if close:
                close()
        return results

    def _objects(self, cl, u: render.Unit, rows, force: bool) -> tuple[TargetResult, dict]:
        from cmshell.backends.kubernetes.objects import apply_unit, dump_inventory, load_inventory
        prev = load_inventory(rows)
        if u.error:
            return TargetResult(u.target, FAILED, u.error), {}
        o = apply_unit(cl, u, prev, force)
        st = {f"inv/{u.target}": dump_inventory(o.inventory)}
        if o.unreachable:
            return TargetResult(u.target, UNREACHABLE, f"API server unreachable: {o.unreachable}"), st
        changes = [f"applied {k}" for k in o.applied] + [f"deleted {k}" for k in o.deleted]
        if o.errors:
            return TargetResult(u.target, FAILED, "; ".join(o.errors), changes), st
        return TargetResult(u.target, CHANGED if changes else OK, "", changes), st

    def _labels(self, cl, u: render.Unit, prev: dict, force: bool) -> tuple[TargetResult, dict]:
        from cmshell.backends.kubernetes.labels import apply_labels
        o = apply_labels(cl, u, prev, force)
        st = {f"labels/{u.target}": o.owned or None}
        if o.unreachable:
            return TargetResult(u.target, UNREACHABLE, f"API server unreachable: {o.unreachable}"), st
        changes = o.changed + [f"no Kubernetes node {n}" for n in o.missing]
        if o.errors:
            return TargetResult(u.target, FAILED, "; ".join(o.errors), changes), st
        return TargetResult(u.target, CHANGED if o.changed else OK, "", changes), st

    def _record(self, ctx: Context, u: render.Unit, r: TargetResult, seq: int | None,
                st: dict) -> TargetResult:
        st[f"status/{u.target}"] = {"status": r.status, "reason": r.reason, "seq": seq}
        ctx.store.put_state(NAME, st)
        self._events(ctx, u, r, seq)
        return r

    def _events(self, ctx: Context, u: render.Unit, r: TargetResult, seq: int | None) -> None:
        """As cmsh words them: `[notice] default: Application nginx applied (3 objects)`."""
        if ctx.events is None or r.status == OK:
            return
        what = {"apps": "Application", "labelsets": "Label set", "users": "Kubernetes user"}[u.kind]
        if r.status == CHANGED:
            n_del = sum(1 for c in r.changes if c.startswith("deleted "))
            if u.kind == "labelsets":
                text = f"{what} {u.name} applied ({len(r.changes)} nodes)"
            elif not u.objects:
                text = f"{what} {u.name} removed ({n_del} objects deleted)"
            else:
                text = f"{what} {u.name} applied ({len(u.objects)} objects" + \
                    (f", {n_del} deleted)" if n_del else ")")
            ctx.events.post("notice", u.cluster, text, kind=APPLIED, seq=seq)
            return
        for line in (r.reason.split("; ") if r.status == FAILED else [r.reason]):
            ctx.events.post("warning", u.cluster, f"{what} {u.name} not applied: {line}",
                            kind=APPLY_FAILED, seq=seq)

    # -- plan and observe -------------------------------------------------------------------------
    def plan(self, ctx: Context, targets: Iterable[str] | None) -> list[TargetResult]:
        """A server-side dry run (dryRun=All) of the newest committed state."""
        from cmshell.backends.kubernetes.plan import plan_units
        return plan_units(self, ctx, self._wanted(ctx, self._units(ctx), targets))

    def plan_view(self, ctx: Context, view, targets: Iterable[str] | None) -> list[TargetResult]:
        """The same for a candidate that is not committed (a workspace's view)."""
        from cmshell.backends.kubernetes.plan import plan_units
        eff = Effective(ctx.schema, view)
        units: dict[str, render.Unit] = {}
        for doc in view.docs(MODE):
            units.update(render.units(doc, eff))
        return plan_units(self, ctx, self._wanted(ctx, units, targets))

    def observe(self, ctx: Context, targets: Iterable[str] | None) -> dict[str, dict]:
        got = ctx.store.get_state(NAME)
        out = {k[len("status/"):]: dict(v) for k, v in got.items()  # type: ignore[call-overload]
               if k.startswith("status/")}
        return out if targets is None else {t: out[t] for t in targets if t in out}
