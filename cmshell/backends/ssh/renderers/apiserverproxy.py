"""Kubernetes::ApiServerProxy -> /etc/nginx/nginx.conf (then `nginx` reload).

A `stream` block listens on the proxy port (the role's, else the cluster's, 10443 by default) and
balances over the API servers of the cluster's control-plane nodes; the cluster's
`ingress_proxy_*` settings (set -e) add the ingress proxy."""
from __future__ import annotations

from cmshell.backends.base import DesiredFile, ServiceAction
from cmshell.backends.ssh.renderers.common import RenderError, RenderInput, Rendered

PATH = "/etc/nginx/nginx.conf"
API_PORT = 6443


def control_plane(inp: RenderInput, cluster: str) -> list[str]:
    out = []
    for peer in inp.peers("kubelet"):
        k = peer.role("kubelet") or {}
        if k.get("kubernetescluster") == cluster and str(k.get("controlplane")).lower() in ("true", "yes"):
            out.append(str(peer.doc.get("ip") or peer.name))
    return out


def _servers(addrs: list[str], port: int) -> str:
    # an upstream needs a server: with no control plane yet, one that refuses (nginx -t passes)
    return "".join(f"        server {a}:{port};\n" for a in addrs) or f"        server 127.0.0.1:{port} down;\n"


def nginx_conf(inp: RenderInput, role: dict) -> str:
    cname = str(role.get("kubernetescluster") or "")
    cluster = inp.obj("kubernetes", cname)
    if cluster is None:
        raise RenderError(f"Kubernetes::ApiServerProxy: no Kubernetes cluster named {cname!r}")
    port = int(role.get("port") or 0) or int(cluster.get("kubernetesapiserverproxyport") or 10443)
    extra = cluster.get("extra") or {}
    nodes = control_plane(inp, cname)
    text = ("# Managed by cmshell: Kubernetes::ApiServerProxy\n"
            "include /etc/nginx/modules-enabled/*.conf;\n"
            "worker_processes auto;\npid /run/nginx.pid;\n\n"
            "events {\n    worker_connections 1024;\n}\n\n"
            "stream {\n"
            f"    upstream kube_apiservers {{\n{_servers(nodes, API_PORT)}    }}\n"
            f"    server {{\n        listen {port};\n        proxy_pass kube_apiservers;\n    }}\n")
    if str(extra.get("ingress_proxy_enable", "")).lower() in ("true", "yes", "1"):
        backend = int(extra.get("ingress_proxy_backend_port") or 30443)
        listen = int(extra.get("ingress_proxy_listen_port") or 443)
        text += (f"    upstream kube_ingress {{\n{_servers(nodes, backend)}    }}\n"
                 f"    server {{\n        listen {listen};\n        proxy_pass kube_ingress;\n    }}\n")
    for directive in role.get("options") or []:
        text += f"    {str(directive).rstrip(';')};\n"
    return text + "}\n"


def render(inp: RenderInput, role: dict) -> Rendered:
    return ([DesiredFile(PATH, nginx_conf(inp, role).encode(), 0o644)],
            [ServiceAction("nginx", "reload", after=(PATH,))])
