"""Kubernetes backend: requests sent and wall time against a real kube-apiserver + etcd.

1. A commit that changes one of ten applications (50 ConfigMaps each): only that application's
   objects may be sent.
2. The first apply of 500 objects (ten applications of 50), and a re-apply with nothing to change.
3. Label sets over 200 Nodes (one set across a category, one listing half the nodes): the first
   apply, a sync with nothing to change, and `sync -n` of one node. Nodes are read with one LIST
   per cluster and run, so the GETs do not grow with the nodes.

Needs the binary of .ci/build-kube-apiserver and etcd (tests/infra/kube.py finds both).
Run: python benchmarks/bench_kube.py
"""
from __future__ import annotations

import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.backends.kube_helpers import Harness, app, configmap  # noqa: E402
from tests.infra.kube import KubeApiServer, find_etcd, find_kube_apiserver  # noqa: E402

APPS, PER_APP = 10, 50
NODES = 200


def counting():
    """Count every HTTP request the kubernetes client sends, by method (a GET of a collection,
    such as the Node LIST, counts as LIST)."""
    from kubernetes.client import ApiClient
    seen: Counter = Counter()
    original = ApiClient.call_api

    def call_api(self, method, url, *a, **kw):
        path = url.split("?")[0]
        seen["LIST" if method == "GET" and path.endswith("/api/v1/nodes") else method] += 1
        return original(self, method, url, *a, **kw)
    ApiClient.call_api = call_api
    return seen


def cluster(h: Harness, ns: str, version: dict[int, str]) -> dict:
    apps = []
    for i in range(APPS):
        docs = "---\n".join(configmap(f"a{i}-cm{j}", ns, v=version.get(i, "1")) for j in range(PER_APP))
        apps.append(app(f"a{i}", docs))
    return h.cluster_doc([{"name": "bench", "enabled": True, "applications": apps}])


def measure(label: str, seen: Counter, fn) -> None:
    seen.clear()
    t = time.perf_counter()
    recap = fn()
    wall = time.perf_counter() - t
    counts = recap.counts() if recap else {}
    print(f"{label:<44} {wall * 1000:8.0f} ms  {sum(seen.values()):5d} requests  "
          f"{dict(sorted(seen.items()))}  {counts}")


def labelsets(h: Harness, v1, seen: Counter) -> None:
    names = [f"bench{i:03d}" for i in range(NODES)]
    for n in names:
        v1.create_node({"metadata": {"name": n}})
        h.put("device", {"hostname": n, "type": "physicalnode", "category": "benchcat"})
    doc = h.store.get("kubernetes", h.cluster).doc
    doc["labelsets"] = [{"name": "rack", "labels": ["rack=r1"], "categories": ["benchcat"]},
                        {"name": "half", "labels": ["half=yes"], "nodes": names[::2]}]
    measure(f"label sets, first apply ({NODES} nodes)", seen, lambda: h.put("kubernetes", doc))
    measure(f"label sets, sync, nothing changed ({NODES} nodes)", seen,
            lambda: h.engine.sync(["kubernetes"], [f"{h.cluster}/labelsets/rack", f"{h.cluster}/labelsets/half"])[0])
    v1.patch_node(names[0], {"metadata": {"labels": {"rack": None}}})
    measure("label sets, sync -n of 1 drifted node", seen, lambda: h.engine.sync(["kubernetes"], [names[0]])[0])


def main() -> int:
    apiserver, etcd = find_kube_apiserver(), find_etcd()
    if not apiserver or not etcd:
        print("kube-apiserver or etcd missing: run .ci/build-kube-apiserver", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp, KubeApiServer(Path(tmp) / "kube", apiserver, etcd) as kube:
        from kubernetes import client, config
        api = config.new_client_from_config(str(kube.kubeconfig))
        client.CoreV1Api(api).create_namespace({"metadata": {"name": "bench"}})
        h = Harness(Path(tmp), str(kube.kubeconfig))
        seen = counting()
        measure(f"first apply, {APPS * PER_APP} objects", seen, lambda: h.put("kubernetes", cluster(h, "bench", {})))
        measure("sync, nothing changed (500 objects)", seen, lambda: h.engine.sync(["kubernetes"])[0])
        measure("commit changing 1 of 10 apps (50 objects)", seen,
                lambda: h.put("kubernetes", cluster(h, "bench", {3: "2"})))
        labelsets(h, client.CoreV1Api(api), seen)
        h.store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
