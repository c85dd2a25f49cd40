"""plan and drift against the real kube-apiserver: objects created, changed (field diff) and
pruned by a candidate; an object deleted, changed or a label removed by someone else; `sync`
restores (docs/safety.md)."""
from __future__ import annotations

import json
import secrets

import pytest

pytest.importorskip("kubernetes")
from kubernetes import client  # noqa: E402

from conftest import session_on  # noqa: E402
from cmshell.safety import outcome  # noqa: E402
from cmshell.status import Exit  # noqa: E402
from tests.backends.kube_helpers import Harness, app, configmap  # noqa: E402


@pytest.fixture
def hs(tmp_path, kube_api, kube_client):
    """A store with the cluster object `default`, its engine on the test API server, and a
    shell session over the same store."""
    h = Harness(tmp_path, str(kube_api.kubeconfig))
    s = session_on(h.store)
    s.engine = h.engine
    s.committer.after.append(h.engine.after_commit)
    s.committer.after.append(outcome.attach(h.engine, s.events, s.committer.source))
    yield h, s
    h.store.close()


@pytest.fixture
def v1(kube_client):
    return client.CoreV1Api(kube_client)


def out(s) -> str:
    text = s.env.stdout.getvalue()
    s.env.stdout.seek(0)
    s.env.stdout.truncate()
    return text


def group(*apps: dict) -> dict:
    return {"name": "g", "enabled": True, "applications": list(apps)}


def test_plan_of_a_candidate_creates_changes_prunes(hs, v1, kube_namespace, tmp_path):
    h, s = hs
    ns = kube_namespace
    h.put("kubernetes", h.cluster_doc([group(app("a", configmap("p", ns, a="1") + "---\n" + configmap("old", ns, b="1")),
                                             app("b", configmap("other", ns, c="1")))]))
    new = tmp_path / "a.yaml"
    new.write_text(configmap("p", ns, a="2") + "---\n" + configmap("q", ns, b="2"))
    assert s.run_line(f"kubernetes; appgroups; use g; applications; use a; set config {new}; home")
    out(s)
    assert s.run_line("plan")
    text = out(s)
    assert text.splitlines() == [
        "default/apps/g/a:",
        f"  ~ change v1/ConfigMap {ns}/p",
        '      .data.a: "1" -> "2"',
        f"  + create v1/ConfigMap {ns}/q",
        f"  - prune v1/ConfigMap {ns}/old",
        "Plan: 1 object created, 1 changed, 1 pruned"], text
    assert s.status_hint == Exit.CHANGES_PENDING
    names = {c.metadata.name for c in v1.list_namespaced_config_map(ns).items}
    assert "q" not in names and "old" in names and v1.read_namespaced_config_map("p", ns).data == {"a": "1"}
    assert s.run_line("plan -d {}")
    got = json.loads(out(s))
    assert got["kubernetes"] == [{"target": "default/apps/g/a", "status": "changed", "reason": "",
                                  "created": [f"v1/ConfigMap {ns}/q"],
                                  "changed": [{"object": f"v1/ConfigMap {ns}/p", "fields": ['.data.a: "1" -> "2"']}],
                                  "pruned": [f"v1/ConfigMap {ns}/old"], "labels": [], "warnings": [],
                                  "pending_commit": None}]
    # the commit does what the plan said, and the journal records the outcome
    assert s.run_line("commit")
    assert v1.read_namespaced_config_map("q", ns).data == {"b": "2"}
    assert s.run_line("journal -n 1")
    assert "applied 1/1" in out(s).splitlines()[-1]


def test_drift_of_objects_and_labels_and_sync_restores(hs, v1, kube_namespace, kube_client):
    h, s = hs
    ns = kube_namespace
    tag = secrets.token_hex(3)
    node = f"drift{tag}"
    v1.create_node({"metadata": {"name": node}})
    h.put("device", {"hostname": node, "type": "physicalnode", "category": "default"})
    ls = {"name": f"ls{tag}", "labels": ["site=lab"], "nodes": [node]}
    h.put("kubernetes", h.cluster_doc([group(app("a", configmap("gone", ns, a="1") + "---\n"
                                                 + configmap("edited", ns, a="1")))], labelsets=[ls]))
    assert v1.read_node(node).metadata.labels["site"] == "lab"
    assert s.run_line("drift")
    assert out(s) == "Drift: none\n"
    # someone else: deletes an object, edits one (kubectl edit: an Update), removes a label
    v1.delete_namespaced_config_map("gone", ns)
    v1.patch_namespaced_config_map("edited", ns, {"data": {"a": "5"}})
    v1.patch_node(node, {"metadata": {"labels": {"site": None}}})
    assert s.run_line("drift apps")
    text = out(s)
    assert f"  v1/ConfigMap {ns}/gone: deleted (the model has it)" in text
    # the edited field belongs to another manager now: the dry run conflicts, which is drift
    assert f"  v1/ConfigMap {ns}/edited: changed by someone else: conflict with " in text
    assert f"  Node {node}: label site=lab removed or changed" in text
    assert text.splitlines()[-1] == "Drift: 1 object deleted, 1 changed; labels differ on 1 node"
    assert s.status_hint == Exit.DRIFT
    assert "gone" not in {c.metadata.name for c in v1.list_namespaced_config_map(ns).items}
    # sync restores (--force: the edited field is taken back from its new owner)
    assert s.run_line("sync --force")
    assert v1.read_namespaced_config_map("gone", ns).data == {"a": "1"}
    assert v1.read_namespaced_config_map("edited", ns).data == {"a": "1"}
    assert v1.read_node(node).metadata.labels["site"] == "lab"
    out(s)
    assert s.run_line("drift")
    assert out(s) == "Drift: none\n"
