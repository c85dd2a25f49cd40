"""Label sets as Node labels: a partial server-side apply of `metadata.labels` under a field
manager of the label set's own, so that removing labels from it (or a node from it) removes
exactly the labels it owned, and the server keeps every label another manager owns."""
from __future__ import annotations

from dataclasses import dataclass, field

from cmshell.backends.kubernetes.client import Cluster, classify
from cmshell.backends.kubernetes.render import Unit, labelset_manager


def owned_labels(node: dict, manager: str) -> set[str]:
    """Label keys that `manager` owns on the node, from its managedFields."""
    out: set[str] = set()
    for entry in (node.get("metadata") or {}).get("managedFields") or []:
        if entry.get("manager") != manager or entry.get("operation") != "Apply":
            continue
        labels = ((entry.get("fieldsV1") or {}).get("f:metadata") or {}).get("f:labels") or {}
        out.update(k[2:] for k in labels if k.startswith("f:"))
    return out


def node_body(name: str, labels: dict[str, str]) -> dict:
    meta: dict = {"name": name}
    if labels:
        meta["labels"] = dict(labels)
    return {"apiVersion": "v1", "kind": "Node", "metadata": meta}


@dataclass
class LabelOutcome:
    owned: dict[str, list[str]]                               # node -> label keys we own now
    changed: list[str] = field(default_factory=list)          # "node001: +a=b -c"
    missing: list[str] = field(default_factory=list)          # devices with no Kubernetes Node
    errors: list[str] = field(default_factory=list)
    unreachable: str = ""
    pending: dict[str, list[str]] = field(default_factory=dict)   # owned, no longer wanted


def _wanted_change(node: dict, manager: str, labels: dict[str, str]) -> tuple[set[str], str]:
    have = (node.get("metadata") or {}).get("labels") or {}
    ours = owned_labels(node, manager)
    plus = [f"+{k}={v}" for k, v in sorted(labels.items()) if have.get(k) != v or k not in ours]
    minus = [f"-{k}" for k in sorted(ours - set(labels))]
    return ours, " ".join(plus + minus)


def apply_labels(cl: Cluster, unit: Unit, prev: dict[str, list[str]], force: bool,
                 nodes: dict[str, dict], only: set[str] | None = None,
                 dry_run: bool = False) -> LabelOutcome:
    """`nodes` is every Node (one LIST per cluster and run, kept current with what the applies
    return); an apply goes only where the labels we own differ from the wanted ones. With
    `only` (sync -n), other nodes are left as recorded. Nodes are never created: a device
    without a Node is reported and skipped."""
    manager = labelset_manager(unit.name)
    out = LabelOutcome(owned={})
    names = sorted(set(unit.nodes) | set(prev))
    if only is not None:
        out.owned.update({n: k for n, k in prev.items() if n not in only})
        names = [n for n in names if n in only]
    for name in names:
        labels = unit.nodes.get(name, {})
        node = nodes.get(name)
        if node is None:
            if labels:
                out.missing.append(name)
            continue
        ours, change = _wanted_change(node, manager, labels)
        if not change:
            if labels:
                out.owned[name] = sorted(labels)
            continue
        try:
            if not dry_run:
                nodes[name] = cl.apply(node_body(name, labels), manager, force=force)
        except Exception as exc:          # noqa: BLE001 - one line per node
            err = classify(exc)
            if err is None:
                out.unreachable = str(exc).splitlines()[0][:300]
                out.owned.update({n: k for n, k in prev.items() if n not in out.owned})
                break
            out.errors.append(f"Node {name}: {err.text}")
            if name in prev:
                out.owned[name] = prev[name]
            continue
        out.changed.append(f"{name}: {change}")
        if labels:
            out.owned[name] = sorted(labels)
    out.pending = {n: gone for n, keys in out.owned.items()
                   if (gone := sorted(set(keys) - set(unit.nodes.get(n, {}))))}
    return out
