"""A kubeconfig for a Kubernetes user of cmshell: the cluster's server and CA from the admin's
connection, and a bound, expiring token of the user's ServiceAccount from the TokenRequest API
(no long-lived Secret token is ever created)."""
from __future__ import annotations

import base64
from typing import TYPE_CHECKING

from cmshell.backends.base import Context
from cmshell.store.view import StoreView

if TYPE_CHECKING:
    from cmshell.backends.kubernetes.backend import KubernetesBackend

DEFAULT_SECONDS = 3600


def user_kubeconfig(backend: KubernetesBackend, ctx: Context, cluster: str, user: str, seconds: int = DEFAULT_SECONDS) -> str:
    import yaml
    doc = StoreView(ctx.store, ctx.schema).get("kubernetes", cluster)
    if doc is None:
        raise LookupError(f"no Kubernetes cluster named {cluster}")
    entry = next((u for u in doc.get("users") or [] if u.get("name") == user), None)
    if entry is None:
        raise LookupError(f"no Kubernetes user {user} in cluster {cluster}")
    ns = str(entry.get("namespace") or f"{user}-restricted")
    cl = backend.connect(cluster, ctx)
    try:
        token = cl.token(ns, user, seconds)
        cfg = cl.api.configuration
        server: dict = {"server": cfg.host}
        if cfg.ssl_ca_cert:
            with open(cfg.ssl_ca_cert, "rb") as fh:
                server["certificate-authority-data"] = base64.b64encode(fh.read()).decode()
    finally:
        cl.close()
    name = f"{user}@{cluster}"
    return yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": name,
        "clusters": [{"name": cluster, "cluster": server}],
        "users": [{"name": user, "user": {"token": token}}],
        "contexts": [{"name": name, "context": {"cluster": cluster, "user": user, "namespace": ns}}],
    }, sort_keys=False)
