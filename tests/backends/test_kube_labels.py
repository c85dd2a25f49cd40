"""Label sets against a real kube-apiserver: `sync -n <nodes>` re-applies the label sets that
cover those nodes, and an apply reads the Nodes with one LIST per cluster, not a GET per node."""
from __future__ import annotations

import re
import secrets
from collections import Counter

import pytest

pytest.importorskip("kubernetes")
from kubernetes import client  # noqa: E402

from tests.backends.kube_scenario import h, kube_client, kubeconfig_file, v1  # noqa: E402,F401


@pytest.fixture
def nodes(h, v1):
    """Three Nodes and their devices in one category."""
    tag = secrets.token_hex(3)
    names = [f"lab{tag}-{i}" for i in range(3)]
    for n in names:
        v1.create_node({"metadata": {"name": n}})
        h.put("device", {"hostname": n, "type": "physicalnode", "category": f"cat-{tag}"})
    yield names
    for n in names:
        v1.delete_node(n)


@pytest.fixture
def requests(monkeypatch):
    """(method, path) of every request the kubernetes client sends."""
    from kubernetes.client import ApiClient
    seen: Counter = Counter()
    original = ApiClient.call_api

    def call_api(self, method, url, *a, **kw):
        seen[(method, re.sub(r"^https?://[^/]+", "", url).split("?")[0])] += 1
        return original(self, method, url, *a, **kw)
    monkeypatch.setattr(ApiClient, "call_api", call_api)
    return seen


def _drop_label(v1, node: str, key: str) -> None:
    """Someone else removes the label (an Update): the label set no longer owns it."""
    v1.patch_node(node, {"metadata": {"labels": {key: None}}})


def test_sync_nodes_reapplies_the_label_sets_covering_them(h, v1, nodes):
    cat = h.store.get("device", nodes[0]).doc["category"]
    h.put("kubernetes", h.cluster_doc(labelsets=[
        {"name": "team", "labels": ["team=a"], "categories": [cat]},
        {"name": "one", "labels": ["solo=yes"], "nodes": [nodes[2]]}]))
    for n in nodes[:2]:
        _drop_label(v1, n, "team")

    recap = h.engine.sync(None, [nodes[0]])[0]               # sync -n <node0>
    assert [(r.target, r.status) for r in recap.results] == [("default/labelsets/team", "changed")]
    assert recap.results[0].changes == [f"{nodes[0]}: +team=a"]
    assert v1.read_node(nodes[0]).metadata.labels["team"] == "a"
    assert "team" not in (v1.read_node(nodes[1]).metadata.labels or {})   # not asked for
    owned = h.store.get_state("kubernetes", ["labels/default/labelsets/team"])["labels/default/labelsets/team"]
    assert owned == {n: ["team"] for n in nodes}             # the others stay as recorded

    recap = h.engine.sync(None, [nodes[1], nodes[2]])[0]      # sync -n <node1>,<node2>
    assert [(r.target, r.status) for r in recap.results] == [
        ("default/labelsets/one", "ok"), ("default/labelsets/team", "changed")]
    assert v1.read_node(nodes[1]).metadata.labels["team"] == "a"
    assert h.engine.sync(None, ["not-a-node"])[0].results == []


def test_an_apply_lists_the_nodes_once_per_cluster(h, v1, nodes, requests):
    cat = h.store.get("device", nodes[0]).doc["category"]
    sets = [{"name": "team", "labels": ["team=a"], "categories": [cat]},
            {"name": "rack", "labels": ["rack=r1"], "nodes": nodes[:2]}]
    requests.clear()
    recap = h.put("kubernetes", h.cluster_doc(labelsets=sets))
    assert [r.status for r in recap.results] == ["changed", "changed"]
    node_calls = {k: v for k, v in requests.items() if k[1].startswith("/api/v1/nodes")}
    assert node_calls == {("GET", "/api/v1/nodes"): 1, **{("PATCH", f"/api/v1/nodes/{n}"): 2 for n in nodes[:2]},
                          ("PATCH", f"/api/v1/nodes/{nodes[2]}"): 1}
    requests.clear()
    recap = h.engine.sync(["kubernetes"])[0]
    assert {r.status for r in recap.results} == {"ok"}
    assert {k: v for k, v in requests.items() if k[1].startswith("/api/v1/nodes")} == {("GET", "/api/v1/nodes"): 1}
    for n in nodes[:2]:
        assert v1.read_node(n).metadata.labels == {"team": "a", "rack": "r1"}
