"""ApplySet parents (KEP-3659, as kubectl implements it), one per application, so that kubectl
users see what belongs together: `kubectl get secret -l applyset.kubernetes.io/id` lists them.

The parent carries the label `applyset.kubernetes.io/id` (render.applyset_id) and the
annotations `…/tooling: cmshell/<version>`, `…/contains-group-kinds` (`Kind.group`, sorted) and
`…/additional-namespaces`. It is written with kubectl's rule: after applying, the superset of
what the application had and has; after pruning, what is left. It is a hint for others only:
cmshell prunes from the inventory in its store, never from a parent or a label selector.
"""
from __future__ import annotations

import time
from typing import Iterable

from cmshell import __version__
from cmshell.backends.kubernetes.client import Cluster
from cmshell.backends.kubernetes.render import (APPLYSET_ID, MANAGED_BY, MANAGER, PARENT_API,
                                                PARENT_KIND, ObjRef, applyset_id)

TOOLING = f"cmshell/{__version__}"
TOOLING_KEY = "applyset.kubernetes.io/tooling"
KINDS_KEY = "applyset.kubernetes.io/contains-group-kinds"
NAMESPACES_KEY = "applyset.kubernetes.io/additional-namespaces"
PARENT_TYPE = "applyset.kubernetes.io/is-parent-type"    # on a CRD: its type may be a parent
PARENT_MANAGER = f"{MANAGER}-applyset"                    # kubectl's rule: <tool>-applyset
CRD_NAME = "applysets.cmshell.io"
ESTABLISH_TIMEOUT = 15.0


def parent_notes(parent: ObjRef, members: Iterable[ObjRef]) -> dict[str, str]:
    """The annotations of a parent over its members' refs."""
    members = list(members)
    kinds = sorted({m.kind + ("." + m.api_version.rpartition("/")[0] if "/" in m.api_version else "")
                    for m in members})
    spaces = sorted({m.namespace for m in members if m.namespace and m.namespace != parent.namespace})
    return {TOOLING_KEY: TOOLING, KINDS_KEY: ",".join(kinds), NAMESPACES_KEY: ",".join(spaces)}


def parent_body(parent: ObjRef, members: Iterable[ObjRef]) -> dict:
    meta: dict = {"name": parent.name,
                  "labels": {APPLYSET_ID: applyset_id(parent), MANAGED_BY: MANAGER},
                  "annotations": parent_notes(parent, members)}
    if parent.namespace:
        meta["namespace"] = parent.namespace
    body = {"apiVersion": parent.api_version, "kind": parent.kind, "metadata": meta}
    if parent.kind == "Secret":
        body["type"] = "Opaque"
    return body


def parent_crd() -> dict:
    """The cluster-scoped parent type; the label tells kubectl that it may be a parent."""
    group, _, version = PARENT_API.partition("/")
    return {
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": CRD_NAME, "labels": {PARENT_TYPE: "true", MANAGED_BY: MANAGER}},
        "spec": {"group": group, "scope": "Cluster",
                 "names": {"plural": "applysets", "singular": "applyset", "kind": PARENT_KIND,
                           "listKind": f"{PARENT_KIND}List"},
                 "versions": [{"name": version, "served": True, "storage": True,
                               "schema": {"openAPIV3Schema": {"type": "object"}}}]},
    }


def _established(crd: dict | None) -> bool:
    conds = ((crd or {}).get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Established" and c.get("status") == "True" for c in conds)


def ensure_parent_type(cl: Cluster) -> None:
    """Apply the CRD once per connection and wait until the server serves the type."""
    if getattr(cl, "parent_type_ready", False):
        return
    crd: dict | None = cl.apply(parent_crd(), MANAGER)
    deadline = time.monotonic() + ESTABLISH_TIMEOUT
    ref = ObjRef("apiextensions.k8s.io/v1", "CustomResourceDefinition", "", CRD_NAME)
    while not _established(crd):
        if time.monotonic() > deadline:
            raise TimeoutError(f"CustomResourceDefinition {CRD_NAME} not established")
        time.sleep(0.1)
        crd = cl.get(ref)
    cl.wait_for_kind(PARENT_API, PARENT_KIND, deadline)
    cl.parent_type_ready = True


def write_parent(cl: Cluster, parent: ObjRef, members: Iterable[ObjRef], force: bool) -> str:
    """Apply the parent; returns its resourceVersion. Not forced: a parent that another tool
    (kubectl-applyset, …) manages is a conflict, as the spec asks."""
    if parent.api_version == PARENT_API:
        ensure_parent_type(cl)
    got = cl.apply(parent_body(parent, members), PARENT_MANAGER, force=force)
    return str((got.get("metadata") or {}).get("resourceVersion") or "")
