"""ApplySet parents (KEP-3659) against a real kube-apiserver: one per application, kept in step
on apply and prune, removed with the application; prune still only from the store."""
from __future__ import annotations

import base64
import hashlib
import os
import secrets
import shutil
import subprocess

import pytest

pytest.importorskip("kubernetes")
from kubernetes import client  # noqa: E402

from cmshell import __version__  # noqa: E402
from cmshell.backends.kubernetes import render  # noqa: E402
from tests.backends.kube_helpers import app, configmap, group, managers  # noqa: E402
from tests.backends.kube_scenario import h, kube_client, kubeconfig_file, v1  # noqa: E402,F401

ID, TOOLING = "applyset.kubernetes.io/id", "applyset.kubernetes.io/tooling"
KINDS, SPACES = "applyset.kubernetes.io/contains-group-kinds", "applyset.kubernetes.io/additional-namespaces"


def spec_id(name: str, namespace: str, kind: str, group: str) -> str:
    """The KEP's formula, written out here independently of cmshell's."""
    digest = hashlib.sha256(f"{name}.{namespace}.{kind}.{group}".encode()).digest()
    return f"applyset-{base64.urlsafe_b64encode(digest).decode().rstrip('=')}-v1"


def deployment(name: str, ns: str) -> str:
    return f"""apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}, namespace: {ns}}}
spec:
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec: {{containers: [{{name: c, image: nginx}}]}}
"""


@pytest.fixture
def other_namespace(v1):
    name = f"cmshell-test-{secrets.token_hex(4)}"
    v1.create_namespace({"metadata": {"name": name}})
    yield name
    v1.delete_namespace(name)


def test_parent_secret_follows_apply_and_prune_and_goes_with_the_app(h, v1, kube_namespace, other_namespace):
    ns, ns2 = kube_namespace, other_namespace
    both = configmap("conf", ns, a="1") + "---\n" + deployment("web", ns)
    h.put("kubernetes", h.cluster_doc([group("g", app("web", both))]))
    parent = v1.read_namespaced_secret("cmshell.g.web", ns)
    want_id = spec_id("cmshell.g.web", ns, "Secret", "")
    assert parent.metadata.labels[ID] == want_id
    assert parent.metadata.annotations[TOOLING] == f"cmshell/{__version__}"
    assert parent.metadata.annotations[KINDS] == "ConfigMap,Deployment.apps"
    assert parent.metadata.annotations[SPACES] == ""
    assert managers(parent) == [("cmshell-applyset", "Apply")]
    members = client.AppsV1Api(v1.api_client).list_namespaced_deployment(ns, label_selector=f"{render.PART_OF}={want_id}")
    assert [d.metadata.name for d in members.items] == ["web"]
    assert v1.read_namespaced_config_map("conf", ns).metadata.labels[render.PART_OF] == want_id
    assert [row[:5] for row in h.store.get_state("kubernetes")["parent/default/apps/g/web"]] == [
        ["", "v1", "Secret", ns, "cmshell.g.web"]]

    # an object of another tool labelled as a member is no business of prune: the store decides
    v1.create_namespaced_config_map(ns, {"metadata": {"name": "foreign", "labels": {render.PART_OF: want_id}}})
    # drop the Deployment, add a ConfigMap in a second namespace
    h.put("kubernetes", h.cluster_doc([group("g", app("web", configmap("conf", ns, a="1") + "---\n"
                                                          + configmap("far", ns2, b="2")))]))
    parent = v1.read_namespaced_secret("cmshell.g.web", ns)
    assert parent.metadata.annotations[KINDS] == "ConfigMap"
    assert parent.metadata.annotations[SPACES] == ns2
    assert v1.read_namespaced_config_map("far", ns2).metadata.labels[render.PART_OF] == want_id
    assert "foreign" in {c.metadata.name for c in v1.list_namespaced_config_map(ns).items}

    # the first namespaced document decides where the parent is: it moves, the old one goes
    h.put("kubernetes", h.cluster_doc([group("g", app("web", configmap("far", ns2, b="2") + "---\n"
                                                          + configmap("conf", ns, a="1")))]))
    moved_id = spec_id("cmshell.g.web", ns2, "Secret", "")
    assert v1.read_namespaced_secret("cmshell.g.web", ns2).metadata.annotations[SPACES] == ns
    assert v1.read_namespaced_config_map("conf", ns).metadata.labels[render.PART_OF] == moved_id
    assert "cmshell.g.web" not in {s.metadata.name for s in v1.list_namespaced_secret(ns).items}

    h.put("kubernetes", h.cluster_doc([group("g", app("web", both), enabled=False)]))
    with pytest.raises(client.ApiException) as gone:
        v1.read_namespaced_secret("cmshell.g.web", ns2)
    assert gone.value.status == 404
    assert not [k for k in h.store.get_state("kubernetes") if k.startswith("parent/")]
    assert "foreign" in {c.metadata.name for c in v1.list_namespaced_config_map(ns).items}


def test_cluster_scoped_application_gets_a_cluster_scoped_parent(h, kube_client):
    rbac = client.RbacAuthorizationV1Api(kube_client)
    custom = client.CustomObjectsApi(kube_client)
    name = f"cr-{secrets.token_hex(3)}"
    role = f"""apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {{name: {name}}}
rules: [{{apiGroups: [""], resources: [pods], verbs: [get]}}]
"""
    h.put("kubernetes", h.cluster_doc([group("g", app(name, role))]))
    crd = client.ApiextensionsV1Api(kube_client).read_custom_resource_definition("applysets.cmshell.io")
    assert crd.spec.scope == "Cluster" and "applyset.kubernetes.io/is-parent-type" in crd.metadata.labels
    parent = custom.get_cluster_custom_object("cmshell.io", "v1", "applysets", f"cmshell.g.{name}")
    want_id = spec_id(f"cmshell.g.{name}", "", "ApplySet", "cmshell.io")
    assert parent["metadata"]["labels"][ID] == want_id
    assert parent["metadata"]["annotations"][KINDS] == "ClusterRole.rbac.authorization.k8s.io"
    assert rbac.read_cluster_role(name).metadata.labels[render.PART_OF] == want_id

    h.put("kubernetes", h.cluster_doc([group("g")]))            # the application is removed
    with pytest.raises(client.ApiException) as gone:
        custom.get_cluster_custom_object("cmshell.io", "v1", "applysets", f"cmshell.g.{name}")
    assert gone.value.status == 404


def test_parent_of_another_tool_is_not_taken_over(h, v1, kube_namespace, kube_client):
    from kubernetes.dynamic import DynamicClient
    ns = kube_namespace
    secrets_api = DynamicClient(kube_client).resources.get(api_version="v1", kind="Secret")
    secrets_api.server_side_apply(body={"apiVersion": "v1", "kind": "Secret", "metadata": {
        "name": "cmshell.g.web", "namespace": ns, "labels": {ID: spec_id("cmshell.g.web", ns, "Secret", "")},
        "annotations": {TOOLING: "kubectl/v1.32", KINDS: "", SPACES: ""}}},
        namespace=ns, field_manager="kubectl-applyset")
    recap = h.put("kubernetes", h.cluster_doc([group("g", app("web", configmap("c", ns, a="1")))]))
    r = recap.results[0]
    assert r.status == "failed" and "ApplySet parent" in r.reason and "kubectl-applyset" in r.reason
    assert v1.read_namespaced_secret("cmshell.g.web", ns).metadata.annotations[TOOLING] == "kubectl/v1.32"


def test_yaml_that_sets_part_of_itself_is_refused():
    u = render.app_unit("c", {"name": "g"}, app("a", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n"
                                                     f"  labels: {{{render.PART_OF}: mine}}\n"))
    assert "sets the label applyset.kubernetes.io/part-of" in u.error


@pytest.mark.skipif(not shutil.which("kubectl"), reason="kubectl not installed")
def test_kubectl_reads_the_parent(h, v1, kube_namespace, kube_client, kubeconfig_file, tmp_path):
    """kubectl (KUBECTL_APPLYSET) refuses cmshell's ApplySet as another tool's; once told it is
    kubectl's, it accepts the id and kinds and finds the members by their part-of label."""
    from kubernetes.dynamic import DynamicClient
    ns = kube_namespace
    h.put("kubernetes", h.cluster_doc([group("g", app("web", configmap("a", ns, x="1") + "---\n"
                                                      + configmap("b", ns, x="1")))]))
    manifest = tmp_path / "m.yaml"
    manifest.write_text(configmap("a", ns, x="1"))
    env = dict(os.environ, KUBECONFIG=kubeconfig_file, KUBECTL_APPLYSET="true")
    argv = ["kubectl", "apply", "--server-side", "--prune", "--applyset=secrets/cmshell.g.web",
            "-n", ns, "-f", str(manifest), "--dry-run=server"]
    refused = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)
    assert refused.returncode != 0 and 'managed by tooling "cmshell"' in refused.stderr
    DynamicClient(kube_client).resources.get(api_version="v1", kind="Secret").server_side_apply(
        body={"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "cmshell.g.web", "namespace": ns,
                                                                "annotations": {TOOLING: "kubectl/v1.32"}}},
        namespace=ns, field_manager="test", force_conflicts=True)
    dry = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)
    assert dry.returncode == 0, dry.stderr
    assert "configmap/b pruned (server dry run)" in dry.stdout
    assert {c.metadata.name for c in v1.list_namespaced_config_map(ns).items} >= {"a", "b"}
