"""Desired Kubernetes state as plain data, from the committed documents (no client import).

A kubernetes cluster object of the store nests its app groups, label sets and users. Each of
those becomes one *target* of the backend, named `<cluster>/apps/<group>/<app>`,
`<cluster>/labelsets/<name>` or `<cluster>/users/<name>`, so that a commit touches only the
targets whose desired state it changed.
"""
from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass, field

from cmshell.model.effective import Effective

MANAGER = "cmshell"
MANAGED_BY = "app.kubernetes.io/managed-by"
GROUP_LABEL = "cmshell.io/appgroup"
APP_LABEL = "cmshell.io/application"
USER_LABEL = "cmshell.io/user"
# ApplySet (KEP-3659, as kubectl implements it): members carry part-of, the parent the id
PART_OF = "applyset.kubernetes.io/part-of"
APPLYSET_ID = "applyset.kubernetes.io/id"
# a parent for applications with no namespaced object: cluster-scoped, a type of cmshell's own
PARENT_API, PARENT_KIND = "cmshell.io/v1", "ApplySet"

# apply order: what others depend on first; deletions run in reverse
_FIRST = ("CustomResourceDefinition", "Namespace", "ServiceAccount", "ClusterRole", "Role")

_VAR = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))")


class RenderError(Exception):
    """An application's YAML cannot be used; the message is one line."""


@dataclass(frozen=True)
class ObjRef:
    """What the inventory records of an applied object."""
    api_version: str
    kind: str
    namespace: str
    name: str

    def key(self) -> str:
        ns = f"{self.namespace}/" if self.namespace else ""
        return f"{self.api_version}/{self.kind} {ns}{self.name}"

    def to_list(self) -> list[str]:
        group, _, version = self.api_version.rpartition("/")
        return [group, version, self.kind, self.namespace, self.name]

    @classmethod
    def from_list(cls, row: list[str]) -> "ObjRef":
        group, version, kind, namespace, name = row[:5]
        return cls(f"{group}/{version}" if group else version, kind, namespace, name)

    @classmethod
    def of(cls, obj: dict) -> "ObjRef":
        meta = obj.get("metadata") or {}
        return cls(str(obj["apiVersion"]), str(obj["kind"]), str(meta.get("namespace") or ""),
                   str(meta["name"]))


@dataclass
class Unit:
    """One target: the objects it should have (empty: everything it owns goes)."""
    target: str
    cluster: str
    kind: str                   # apps | labelsets | users
    name: str                   # application, label set or user name
    objects: list[dict] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    error: str = ""             # the YAML could not be rendered: nothing is applied
    nodes: dict[str, dict[str, str]] = field(default_factory=dict)   # label sets: node -> labels
    parent: ObjRef | None = None    # applications: the ApplySet parent of the objects
    removed: bool = False           # no longer in the model: only the store knows the target


def substitute(text: str, env: dict[str, str]) -> tuple[str, list[str]]:
    """`$VAR` and `${VAR}` of the names `env` defines; others are left as they are (returned)."""
    missing: list[str] = []

    def one(m: re.Match) -> str:
        name = m.group(1) or m.group(2)
        if name in env:
            return env[name]
        if name not in missing:
            missing.append(name)
        return m.group(0)
    return _VAR.sub(one, text), missing


def order_key(obj: dict) -> tuple[int, str]:
    kind = str(obj.get("kind", ""))
    rank = _FIRST.index(kind) if kind in _FIRST else len(_FIRST)
    return rank, ObjRef.of(obj).key()


def ordered(objs: list[dict]) -> list[dict]:
    return sorted(objs, key=order_key)


def ordered_refs(refs: list[ObjRef], reverse: bool = False) -> list[ObjRef]:
    out = sorted(refs, key=lambda r: order_key({"kind": r.kind, "apiVersion": r.api_version,
                                                "metadata": {"name": r.name, "namespace": r.namespace}}))
    return list(reversed(out)) if reverse else out


def applyset_id(parent: ObjRef) -> str:
    """The ApplySet ID of a parent: base64url(sha256(<name>.<namespace>.<kind>.<group>)), unpadded,
    as `applyset-<hash>-v1`; kubectl checks a parent's id label against this formula."""
    group = parent.api_version.rpartition("/")[0]
    text = ".".join((parent.name, parent.namespace, parent.kind, group))
    digest = hashlib.sha256(text.encode()).digest()
    return "applyset-" + base64.urlsafe_b64encode(digest).decode().rstrip("=") + "-v1"


_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


def parent_name(cluster: str, group: str, app: str) -> str:
    """`cmshell.<group>.<app>`; names that are not DNS labels are cleaned and get a hash, so that
    two applications never share a parent."""
    if _DNS_LABEL.match(group) and _DNS_LABEL.match(app):
        return f"cmshell.{group}.{app}"
    clean = [re.sub(r"[^a-z0-9-]+", "-", n.lower()).strip("-")[:50] or "x" for n in (group, app)]
    digest = hashlib.sha256(f"{cluster}/{group}/{app}".encode()).hexdigest()[:8]
    return f"cmshell.{clean[0]}.{clean[1]}-{digest}"


def parent_ref(cluster: str, group: str, app: str, docs: list[dict]) -> ObjRef | None:
    """A Secret (kubectl's default parent type) in the namespace of the first namespaced
    document, as the YAML is written: adding objects elsewhere does not move it. With no
    namespaced object, a cluster-scoped ApplySet."""
    if not docs:
        return None
    name = parent_name(cluster, group, app)
    ns = next((r.namespace for r in map(ObjRef.of, docs) if r.namespace), "")
    return ObjRef("v1", "Secret", ns, name) if ns else ObjRef(PARENT_API, PARENT_KIND, "", name)


def _labelled(obj: dict, labels: dict[str, str]) -> dict:
    meta = obj.setdefault("metadata", {})
    if not isinstance(meta, dict):
        raise RenderError("metadata is not a mapping")
    meta["labels"] = {**(meta.get("labels") or {}), **labels}
    return obj


def app_unit(cluster: str, group: dict, app: dict) -> Unit:
    """The objects of one application; none when it or its group is disabled."""
    gname, aname = str(group.get("name", "")), str(app.get("name", ""))
    target = f"{cluster}/apps/{gname}/{aname}"
    unit = Unit(target, cluster, "apps", aname)
    if not group.get("enabled", True) or not app.get("enabled", True):
        return unit
    if app.get("format", "Yaml") != "Yaml":
        unit.error = f"format {app.get('format')} is not supported"
        return unit
    env = {str(e.get("name")): str(e.get("value", "")) for e in app.get("environment") or []}
    text, missing = substitute(str(app.get("config") or ""), env)
    if missing:
        unit.warnings.append("undefined variables left as they are: "
                             + ", ".join("$" + m for m in missing))
    import yaml
    try:
        docs = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as e:
        unit.error = f"config is not valid YAML: {str(e).splitlines()[0]}"
        return unit
    for i, doc in enumerate(docs, 1):
        if not isinstance(doc, dict) or not doc.get("apiVersion") or not doc.get("kind") \
                or not isinstance(doc.get("metadata"), dict) or not doc["metadata"].get("name"):
            unit.error = f"document {i} needs apiVersion, kind and metadata.name"
            return unit
        if PART_OF in (doc["metadata"].get("labels") or {}):   # the spec: such input is invalid
            unit.error = f"document {i} sets the label {PART_OF}, which cmshell sets"
            return unit
    unit.parent = parent_ref(cluster, gname, aname, docs)
    labels = {MANAGED_BY: MANAGER, GROUP_LABEL: gname, APP_LABEL: aname}
    if unit.parent is not None:
        labels[PART_OF] = applyset_id(unit.parent)
    unit.objects = ordered([_labelled(doc, labels) for doc in docs])
    return unit


def user_unit(cluster: str, user: dict) -> Unit:
    """Manual 4.11-4.13: namespace <user>-restricted, a ServiceAccount, the chosen cluster role
    bound in that namespace, and read access to nodes."""
    name = str(user.get("name", ""))
    ns = str(user.get("namespace") or f"{name}-restricted")
    role = str(user.get("role") or "edit")
    labels = {MANAGED_BY: MANAGER, USER_LABEL: name}
    meta = lambda n, namespace=None: {"name": n, **({"namespace": namespace} if namespace else {}),  # noqa: E731
                                      "labels": dict(labels)}
    subjects = [{"kind": "ServiceAccount", "name": name, "namespace": ns},
                {"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": name}]
    rbac = "rbac.authorization.k8s.io/v1"
    objs: list[dict] = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": meta(ns)},
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta(name, ns)},
        {"apiVersion": rbac, "kind": "RoleBinding", "metadata": meta(f"{name}-restricted", ns),
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
         "subjects": subjects},
        {"apiVersion": rbac, "kind": "ClusterRole", "metadata": meta(f"{name}-nodes"),
         "rules": [{"apiGroups": [""], "resources": ["nodes"], "verbs": ["get", "list", "watch"]}]},
        {"apiVersion": rbac, "kind": "ClusterRoleBinding", "metadata": meta(f"{name}-nodes"),
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": f"{name}-nodes"},
         "subjects": subjects},
    ]
    return Unit(f"{cluster}/users/{name}", cluster, "users", name, ordered(objs))


def parse_labels(items: list) -> dict[str, str]:
    """`key=value` (value may be empty, as in the manual's `nvidia.com/amd-gpu-accelerator=`)."""
    out = {}
    for item in items or []:
        key, _, value = str(item).partition("=")
        if key.strip():
            out[key.strip()] = value.strip()
    return out


def labelset_nodes(effective: Effective, labelset: dict) -> list[str]:
    """Devices the label set lists directly, through categories and through overlays."""
    nodes = {str(n) for n in labelset.get("nodes") or []}
    nodes.update(effective.in_category({str(c) for c in labelset.get("categories") or []}))
    for name in labelset.get("overlays") or []:
        doc = effective.get("configurationoverlay", str(name))
        if doc is not None:
            nodes.update(effective.overlay_members(doc))
    return sorted(nodes)


def labelset_unit(cluster: str, labelset: dict, effective: Effective) -> Unit:
    name = str(labelset.get("name", ""))
    labels = parse_labels(labelset.get("labels") or [])
    unit = Unit(f"{cluster}/labelsets/{name}", cluster, "labelsets", name)
    unit.nodes = {n: dict(labels) for n in labelset_nodes(effective, labelset)} if labels else {}
    return unit


def units(cluster_doc: dict, effective: Effective) -> dict[str, Unit]:
    """Every target of one cluster object, by target name."""
    cluster = str(cluster_doc.get("name", ""))
    out: list[Unit] = []
    for group in cluster_doc.get("appgroups") or []:
        for app in group.get("applications") or []:
            out.append(app_unit(cluster, group, app))
    out += [labelset_unit(cluster, ls, effective) for ls in cluster_doc.get("labelsets") or []]
    out += [user_unit(cluster, u) for u in cluster_doc.get("users") or []]
    return {u.target: u for u in out}


def labelset_manager(name: str) -> str:
    return f"{MANAGER}-labelset-{name}"[:128]


def split_target(target: str) -> tuple[str, str, str] | None:
    """(cluster, kind, rest) of a target of this backend, or None for another backend's."""
    parts = target.split("/", 2)
    if len(parts) == 3 and parts[1] in ("apps", "labelsets", "users"):
        return parts[0], parts[1], parts[2]
    return None


def fingerprint(unit: Unit) -> str:
    """What decides whether a target's desired state changed between two commits."""
    import json
    data = {"objects": unit.objects, "nodes": unit.nodes, "error": unit.error,
            "parent": unit.parent.key() if unit.parent else None}
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()
