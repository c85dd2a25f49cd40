"""The Kubernetes backend against a real kube-apiserver + etcd (tests/infra/kube.py).

Every assertion reads the objects back from the server, with their managedFields.
"""
from __future__ import annotations

import secrets
import threading

import pytest

pytest.importorskip("kubernetes")
from kubernetes import client  # noqa: E402

from cmshell.backends.kubernetes import render  # noqa: E402
from cmshell.store import Change, open_store  # noqa: E402
from tests.backends.kube_helpers import Harness, app, configmap, group, managers  # noqa: E402
from tests.backends.kube_scenario import h, kube_client, kubeconfig_file, v1  # noqa: E402,F401


def test_apply_reapply_and_only_the_changed_app(h, v1, kube_namespace):
    ns = kube_namespace
    apps = [app(f"a{i}", configmap(f"cm{i}", ns, n=str(i))) for i in range(3)]
    recap = h.put("kubernetes", h.cluster_doc([group("g", *apps)]))
    assert sorted(r.target for r in recap.results) == [f"default/apps/g/a{i}" for i in range(3)]
    assert {r.status for r in recap.results} == {"changed"}
    cm = v1.read_namespaced_config_map("cm1", ns)
    assert cm.data == {"n": "1"} and managers(cm) == [("cmshell", "Apply")]
    assert cm.metadata.labels[render.MANAGED_BY] == "cmshell"
    assert cm.metadata.labels[render.APP_LABEL] == "a1"
    assert "[notice] default: Application a1 applied (1 objects)" in h.lines()
    inv = h.store.get_state("kubernetes", ["inv/default/apps/g/a1"])["inv/default/apps/g/a1"]
    assert [row[:5] for row in inv] == [["", "v1", "ConfigMap", ns, "cm1"]]
    rv = {i: v1.read_namespaced_config_map(f"cm{i}", ns).metadata.resource_version for i in range(3)}

    # sync re-applies everything: nothing changes on the server
    recap = h.engine.sync()[0]
    assert {r.status for r in recap.results} == {"ok"}
    assert v1.read_namespaced_config_map("cm0", ns).metadata.resource_version == rv[0]

    # a commit changing one application touches only that one
    apps[2] = app("a2", configmap("cm2", ns, n="$val"), env={"val": "two"})
    recap = h.put("kubernetes", h.cluster_doc([group("g", *apps)]))
    assert [(r.target, r.status) for r in recap.results] == [("default/apps/g/a2", "changed")]
    assert v1.read_namespaced_config_map("cm2", ns).data == {"n": "two"}
    assert v1.read_namespaced_config_map("cm0", ns).metadata.resource_version == rv[0]


def test_prune_and_disable_group(h, v1, kube_namespace):
    ns = kube_namespace
    both = configmap("keep", ns, a="1") + "---\n" + configmap("drop", ns, b="2")
    h.put("kubernetes", h.cluster_doc([group("g", app("a", both))]))
    # an object that cmshell did not apply, with the same labels, is never deleted
    v1.create_namespaced_config_map(ns, {"metadata": {"name": "foreign", "labels": {
        render.MANAGED_BY: "cmshell", render.APP_LABEL: "a"}}})
    recap = h.put("kubernetes", h.cluster_doc([group("g", app("a", configmap("keep", ns, a="1")))]))
    assert recap.results[0].changes == [f"deleted v1/ConfigMap {ns}/drop"]
    names = {c.metadata.name for c in v1.list_namespaced_config_map(ns).items}
    assert {"keep", "foreign"} <= names and "drop" not in names
    assert "[notice] default: Application a applied (1 objects, 1 deleted)" in h.lines()

    recap = h.put("kubernetes", h.cluster_doc([group("g", app("a", configmap("keep", ns, a="1")), enabled=False)]))
    assert recap.results[0].status == "changed"
    names = {c.metadata.name for c in v1.list_namespaced_config_map(ns).items}
    assert "keep" not in names and "foreign" in names
    assert h.store.get_state("kubernetes", ["inv/default/apps/g/a"]) == {}
    assert "[notice] default: Application a removed (1 objects deleted)" in h.lines()


def test_conflict_names_the_other_manager_and_force_takes_over(h, v1, kube_namespace, kube_client):
    from kubernetes.dynamic import DynamicClient
    ns = kube_namespace
    cms = DynamicClient(kube_client).resources.get(api_version="v1", kind="ConfigMap")
    cms.server_side_apply(body={"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "web", "namespace": ns},
                                "data": {"port": "80"}}, namespace=ns, field_manager="helm")
    recap = h.put("kubernetes", h.cluster_doc([group("g", app("web", configmap("web", ns, port="8080")))]))
    r = recap.results[0]
    assert r.status == "failed" and 'conflict with helm' in r.reason and ".data.port" in r.reason
    assert h.engine.incomplete()
    assert any(line.startswith("[warning] default: Application web not applied: ") and "helm" in line
               for line in h.lines())
    assert h.store.get_state("kubernetes", ["status/default/apps/g/web"])["status/default/apps/g/web"]["status"] == "failed"
    assert h.store.get("kubernetes", "default") is not None        # the commit is stored
    assert v1.read_namespaced_config_map("web", ns).data == {"port": "80"}

    recap = h.engine.sync(["kubernetes"], force=True)[0]
    assert [x.status for x in recap.results] == ["changed"]
    cm = v1.read_namespaced_config_map("web", ns)
    assert cm.data == {"port": "8080"}
    owners = {m.manager: m.fields_v1 for m in cm.metadata.managed_fields}
    assert "f:port" in owners["cmshell"]["f:data"]


def test_invalid_object_is_422(h, v1, kube_namespace):
    ns = kube_namespace
    bad = f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: Bad_Name\n  namespace: {ns}\n"
    good = configmap("fine", ns, a="1")
    recap = h.put("kubernetes", h.cluster_doc([group("g", app("x", good + "---\n" + bad))]))
    r = recap.results[0]
    assert r.status == "failed" and "invalid:" in r.reason and "Bad_Name" in r.reason
    assert v1.read_namespaced_config_map("fine", ns).data == {"a": "1"}


def test_unreachable_api_leaves_commit_stored(tmp_path, kube_namespace):
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    kc = tmp_path / "kc"
    kc.write_text(f"""apiVersion: v1
kind: Config
clusters: [{{name: c, cluster: {{server: "https://127.0.0.1:{port}"}}}}]
users: [{{name: u, user: {{token: x}}}}]
contexts: [{{name: c, context: {{cluster: c, user: u}}}}]
current-context: c
""")
    h = Harness(tmp_path, str(kc))
    recap = h.put("kubernetes", h.cluster_doc([group("g", app("a", configmap("c", kube_namespace, a="1")))]))
    assert [r.status for r in recap.results] == ["unreachable"]
    assert "unreachable" in recap.results[0].reason.lower() or "refused" in recap.results[0].reason.lower()
    assert h.store.get("kubernetes", "default") is not None and h.engine.incomplete()
    assert any(line.startswith("[warning] default: Application a not applied") for line in h.lines())
    h.store.close()


def test_label_set_across_a_category_keeps_other_managers_labels(h, v1):
    tag = secrets.token_hex(3)
    nodes = [f"gpu{tag}-{i}" for i in range(2)]
    for n in nodes:
        v1.create_node({"metadata": {"name": n, "labels": {"site": "lab"}}})
        h.put("device", {"hostname": n, "type": "physicalnode", "category": f"gpu-{tag}"})
    v1.patch_node(nodes[0], {"metadata": {"labels": {"zone": "a"}}})     # another manager (Update)
    ls = {"name": "amd", "labels": ["nvidia.com/amd-gpu-accelerator=", "zone=b"], "categories": [f"gpu-{tag}"]}
    recap = h.put("kubernetes", h.cluster_doc(labelsets=[ls]))
    r = recap.results[0]
    assert r.target == "default/labelsets/amd"
    assert r.status == "failed" and "conflict with" in r.reason       # zone belongs to someone else
    ls["labels"] = ["nvidia.com/amd-gpu-accelerator="]
    recap = h.put("kubernetes", h.cluster_doc(labelsets=[ls]))
    assert recap.results[0].status == "changed"
    for n in nodes:
        node = v1.read_node(n)
        assert node.metadata.labels["nvidia.com/amd-gpu-accelerator"] == ""
        assert ("cmshell-labelset-amd", "Apply") in managers(node)
    assert v1.read_node(nodes[0]).metadata.labels["zone"] == "a"
    # a node leaving the category loses exactly our label
    h.put("device", {"hostname": nodes[1], "type": "physicalnode", "category": "default"})
    assert "nvidia.com/amd-gpu-accelerator" not in (v1.read_node(nodes[1]).metadata.labels or {})
    assert v1.read_node(nodes[1]).metadata.labels["site"] == "lab"
    # removing the set removes ours and keeps the rest
    h.put("kubernetes", h.cluster_doc(labelsets=[]))
    labels = v1.read_node(nodes[0]).metadata.labels
    assert "nvidia.com/amd-gpu-accelerator" not in labels and labels["zone"] == "a" and labels["site"] == "lab"
    assert h.store.get_state("kubernetes", ["labels/default/labelsets/amd"]) == {}


def test_user_add_and_remove(h, v1, kube_client):
    rbac = client.RbacAuthorizationV1Api(kube_client)
    user = f"u{secrets.token_hex(3)}"
    ns = f"{user}-restricted"
    recap = h.put("kubernetes", h.cluster_doc(users=[{"name": user, "role": "view"}]))
    assert [(r.target, r.status) for r in recap.results] == [(f"default/users/{user}", "changed")]
    assert v1.read_namespace(ns).metadata.labels[render.USER_LABEL] == user
    assert v1.read_namespaced_service_account(user, ns)
    assert rbac.read_namespaced_role_binding(f"{user}-restricted", ns).role_ref.name == "view"
    assert rbac.read_cluster_role(f"{user}-nodes").rules[0].resources == ["nodes"]
    assert rbac.read_cluster_role_binding(f"{user}-nodes").subjects[0].name == user
    assert managers(rbac.read_cluster_role(f"{user}-nodes")) == [("cmshell", "Apply")]

    from cmshell.backends.kubernetes.kubeconfig import user_kubeconfig
    import yaml
    text = user_kubeconfig(h.backend, h.engine.context("kubernetes"), "default", user)
    kc = yaml.safe_load(text)
    token = kc["users"][0]["user"]["token"]
    assert token and kc["contexts"][0]["context"]["namespace"] == ns
    cfg = client.Configuration()
    cfg.host = kube_client.configuration.host
    cfg.ssl_ca_cert = kube_client.configuration.ssl_ca_cert
    cfg.api_key = {"authorization": f"Bearer {token}"}
    as_user = client.ApiClient(cfg)
    assert client.CoreV1Api(as_user).list_node().items is not None        # <user>-nodes
    with pytest.raises(client.ApiException) as denied:                     # view: no writes
        client.CoreV1Api(as_user).create_namespaced_config_map(ns, {"metadata": {"name": "x"}})
    assert denied.value.status == 403
    as_user.close()

    h.put("kubernetes", h.cluster_doc(users=[]))
    with pytest.raises(client.ApiException) as e:
        rbac.read_cluster_role(f"{user}-nodes")
    assert e.value.status == 404
    with pytest.raises(client.ApiException):
        rbac.read_cluster_role_binding(f"{user}-nodes")
    try:                          # without a controller-manager the namespace stays Terminating
        assert v1.read_namespace(ns).status.phase == "Terminating"
    except client.ApiException as e:
        assert e.status == 404


def test_plan_is_a_dry_run_with_a_field_diff(h, v1, kube_namespace):
    ns = kube_namespace
    h.put("kubernetes", h.cluster_doc([group("g", app("a", configmap("p", ns, a="1")))]))
    from cmshell.backends.kubernetes.render import units
    from cmshell.model.effective import DocsView, Effective
    from tests.backends.kube_helpers import SCHEMA
    doc = h.cluster_doc([group("g", app("a", configmap("p", ns, a="2") + "---\n" + configmap("q", ns, b="$nope")))])
    view = DocsView(SCHEMA, {"kubernetes": [doc]})
    assert units(doc, Effective(SCHEMA, view))
    [r] = h.backend.plan_view(h.engine.context("kubernetes"), view, None)
    assert r.status == "changed"
    assert f"change v1/ConfigMap {ns}/p: .data.a: \"1\" -> \"2\"" in r.changes
    assert f"create v1/ConfigMap {ns}/q" in r.changes
    assert "warning: undefined variables left as they are: $nope" in r.changes
    assert v1.read_namespaced_config_map("p", ns).data == {"a": "1"}
    assert "q" not in {c.metadata.name for c in v1.list_namespaced_config_map(ns).items}


def test_an_apply_waits_for_the_cluster_lock_then_applies_the_newest_state(h, v1, kube_namespace):
    """Another session (another machine, with a shared store) is applying the cluster: this apply
    waits for its lock, then renders what is committed by then, not what it saw before."""
    ns = kube_namespace
    h.put("kubernetes", h.cluster_doc([group("g", app("a", configmap("cm", ns, v="1")))]))
    other = open_store(h.store.path)                       # the other session's own connection
    try:
        with other.lock("kubernetes-default"):
            apply = threading.Thread(target=h.engine.sync, args=(["kubernetes"],))
            apply.start()
            apply.join(0.5)
            assert apply.is_alive()                        # waiting for the lock
            rid, rev = h.ids[("kubernetes", "default")]
            newer = h.cluster_doc([group("g", app("a", configmap("cm", ns, v="2")))])
            other.commit([Change(rid, "kubernetes", "default", rev, newer)], user="other")
        apply.join(60)
    finally:
        other.close()
    assert not apply.is_alive()
    assert v1.read_namespaced_config_map("cm", ns).data == {"v": "2"}
