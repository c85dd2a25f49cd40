"""The Kubernetes backend: app groups by server-side apply with prune, label sets as node
labels, users as RBAC (docs/backends.md, "Kubernetes").

Targets are `<cluster>/apps/<group>/<app>`, `<cluster>/labelsets/<name>` and
`<cluster>/users/<name>`. What was applied is recorded in the store (backend "kubernetes"):
`inv/<target>` the objects it owns (group, version, kind, namespace, name, resourceVersion),
`del/<target>` deletions still to do, `parent/<target>` its ApplySet parents,
`labels/<target>` the node labels owned, `status/<target>` the last outcome. A run against a
cluster is in run.py.
"""
from __future__ import annotations

import hashlib
import json
import os
from typing import TYPE_CHECKING, Callable, Iterable

from cmshell.backends.base import CHANGED, FAILED, OK, UNREACHABLE, Context, Recap, TargetResult
from cmshell.backends.kubernetes import render
from cmshell.events import APPLIED, APPLY_FAILED
from cmshell.model.effective import Effective, View, before_view
from cmshell.store.base import Committed
from cmshell.store.view import StoreView

if TYPE_CHECKING:
    from cmshell.backends.kubernetes.client import Cluster

NAME = "kubernetes"
MODE = "kubernetes"
_MEMBERSHIP = ("device", "category", "configurationoverlay")   # changes that move label sets
_OWNING = ("inv", "labels", "del", "parent")      # state that keeps a removed target alive


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


def _pending_lines(value: object) -> list[str]:
    """A `del/` record as lines: object keys, or `node001: -label` for a label set."""
    if isinstance(value, dict):
        return [f"{n}: " + " ".join(f"-{k}" for k in keys) for n, keys in sorted(value.items())]
    rows = value if isinstance(value, list) else []
    return [render.ObjRef.from_list(list(row)).key() for row in rows]


class KubernetesBackend:
    name = NAME

    def __init__(self, connect: Callable[[str, dict], Cluster] | None = None):
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
    def _units(self, ctx: Context, view: View | None = None) -> dict[str, render.Unit]:
        """Every target rendered from `view` (default: the newest committed state)."""
        view = view if view is not None else StoreView(ctx.store, ctx.schema)
        eff = Effective(ctx.schema, view)
        out: dict[str, render.Unit] = {}
        for doc in view.docs(MODE):
            out.update(render.units(doc, eff))
        return out

    def _wanted(self, ctx: Context, units: dict[str, render.Unit], targets: Iterable[str] | None,
                state: dict | None = None) -> tuple[dict[str, render.Unit], dict[str, set[str]]]:
        """The units to work on, and for label sets chosen by node name (`sync -n`), the nodes.

        A target known only from the store (removed, but something of it is left) gets an
        empty unit. Node names select the label sets that cover them now, or still own labels
        on them (a node that left, a removed set)."""
        state = ctx.store.get_state(NAME) if state is None else state
        recorded: dict[str, set[str]] = {}
        for k, v in state.items():
            prefix, _, target = k.partition("/")
            if prefix in _OWNING and render.split_target(target):
                nodes = set(v) if prefix in ("labels", "del") and isinstance(v, dict) else set()
                recorded.setdefault(target, set()).update(nodes)
        only: dict[str, set[str]] = {}
        if targets is None:
            names = set(units) | set(recorded)
        else:
            names = {t for t in targets if render.split_target(t)}
            hosts = {t for t in targets if not render.split_target(t)}     # node names
            if hosts:
                for t in (set(units) | set(recorded)) - names:
                    u = units.get(t)
                    covers = set(u.nodes) if u is not None and u.kind == "labelsets" else set()
                    if hit := hosts & (covers | recorded.get(t, set())):
                        only[t] = hit
            names |= set(only)
        out = {}
        for t in sorted(names):
            parts = render.split_target(t)
            if parts is None:
                continue
            out[t] = units.get(t) or render.Unit(t, parts[0], parts[1], parts[2].rsplit("/", 1)[-1],
                                                 removed=True)
        return out, only

    def connect(self, cluster: str, ctx: Context) -> Cluster:
        if self._connect is not None:
            return self._connect(cluster, ctx.settings.get(cluster) or {})
        from cmshell.backends.kubernetes.client import Cluster
        settings = dict(ctx.settings.get(cluster) or {})
        # without an entry: $KUBECONFIG (its first file), else ~/.kube/config of this run's HOME
        settings.setdefault("kubeconfig", ctx.env.environ.get("KUBECONFIG", "").split(os.pathsep)[0]
                            or ctx.env.expand("~/.kube/config"))
        return Cluster(cluster, settings, cache=ctx.env.cache_dir())

    def apply(self, ctx: Context, targets: Iterable[str] | None, seq: int | None,
              force: bool = False) -> Recap:
        recap = Recap(NAME, seq)
        wanted = targets if targets is None else list(targets)
        clusters = sorted({u.cluster for u in self._wanted(ctx, self._units(ctx), wanted)[0].values()})
        for cluster in clusters:
            # one session applies a cluster at a time, on every machine sharing the store; the
            # state and the desired objects are read again under the lock, so an apply never
            # undoes a newer one or prunes by an inventory another session has since changed
            with ctx.store.lock(f"kubernetes-{cluster}"):
                state = ctx.store.get_state(NAME)
                units, only = self._wanted(ctx, self._units(ctx), wanted, state)
                group = [u for u in units.values() if u.cluster == cluster]
                if group:
                    recap.results += self._apply_cluster(ctx, cluster, group, state, only, seq, force)
        return recap

    def _apply_cluster(self, ctx: Context, cluster: str, group: list[render.Unit], state: dict,
                       only: dict[str, set[str]], seq: int | None, force: bool) -> list[TargetResult]:
        from cmshell.backends.kubernetes.client import Unreachable
        from cmshell.backends.kubernetes.run import run_cluster
        if ctx.progress:
            ctx.progress(f"kubernetes: {cluster}: {len(group)} targets")
        try:
            cl = self.connect(cluster, ctx)
        except Unreachable as e:
            return [self._record(ctx, u, TargetResult(u.target, UNREACHABLE, str(e)), seq, {}) for u in group]
        try:
            done = run_cluster(cl, cluster, group, state, only, force)
        finally:
            close = getattr(cl, "close", None)
            if close:
                close()
        return [self._record(ctx, u, r, seq, st) for u, r, st in done]

    def _record(self, ctx: Context, u: render.Unit, r: TargetResult, seq: int | None,
                st: dict) -> TargetResult:
        st[f"status/{u.target}"] = {"status": r.status, "reason": r.reason, "seq": seq}
        if u.removed and r.status in (OK, CHANGED) and not any(
                v for k, v in st.items() if not k.startswith("status/")):
            st[f"status/{u.target}"] = None       # removed and nothing of it is left
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
        return plan_units(self.connect, ctx, *self._wanted(ctx, self._units(ctx), targets))

    def plan_view(self, ctx: Context, view: View, targets: Iterable[str] | None) -> list[TargetResult]:
        """The same for a candidate that is not committed (a workspace's view)."""
        from cmshell.backends.kubernetes.plan import plan_units
        return plan_units(self.connect, ctx, *self._wanted(ctx, self._units(ctx, view), targets))

    def observe(self, ctx: Context, targets: Iterable[str] | None) -> dict[str, dict]:
        """The last outcome per target, `in_sync` as `device status` reads it: applied, and no
        deletion left to do (`pending_deletions`, retried by `sync`)."""
        got = ctx.store.get_state(NAME)
        out: dict[str, dict] = {}
        for k, v in got.items():
            if k.startswith("status/") and isinstance(v, dict):
                out[k[len("status/"):]] = dict(v)
        for k, v in got.items():
            if k.startswith("del/") and v:
                st = out.setdefault(k[len("del/"):], {"status": FAILED, "reason": "", "seq": None})
                st["pending_deletions"] = _pending_lines(v)
        for t, st in out.items():
            pend = st.setdefault("pending_deletions", [])
            st["in_sync"] = st.get("status") in (OK, CHANGED) and not pend
            if pend and not st.get("reason"):
                st["reason"] = f"{len(pend)} deletions pending"
        return out if targets is None else {t: out[t] for t in targets if t in out}
