"""Pure tests of the Kubernetes backend's rendering, ordering and inventory: no server."""
from __future__ import annotations

import subprocess
import sys

from cmshell.backends.kubernetes import render
from cmshell.backends.kubernetes.objects import dump_inventory, load_inventory
from tests.backends.kube_helpers import app, configmap


def test_substitution_replaces_defined_names_only():
    text, missing = render.substitute("a=$A b=${B} c=$C d=$$ e=${A}x", {"A": "1", "B": "2"})
    assert text == "a=1 b=2 c=$C d=$$ e=1x"
    assert missing == ["C"]


def test_app_unit_labels_orders_and_warns():
    cfg = configmap("cm", "ns1", v="$value ${other}") + "---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: ns1\n"
    u = render.app_unit("default", {"name": "g", "enabled": True}, app("a", cfg, env={"value": "x"}))
    assert [o["kind"] for o in u.objects] == ["Namespace", "ConfigMap"]
    assert u.objects[1]["data"]["v"] == "x ${other}"
    assert u.warnings == ["undefined variables left as they are: $other"]
    labels = u.objects[1]["metadata"]["labels"]
    assert labels[render.MANAGED_BY] == "cmshell"
    assert (labels[render.GROUP_LABEL], labels[render.APP_LABEL]) == ("g", "a")
    assert labels[render.PART_OF].startswith("applyset-") and labels[render.PART_OF].endswith("-v1")


def test_disabled_app_or_group_renders_nothing():
    cfg = configmap("cm", "ns1", v="1")
    assert render.app_unit("c", {"name": "g", "enabled": False}, app("a", cfg)).objects == []
    assert render.app_unit("c", {"name": "g"}, app("a", cfg, enabled=False)).objects == []


def test_bad_yaml_and_missing_name_are_errors():
    assert "not valid YAML" in render.app_unit("c", {"name": "g"}, app("a", "a: [")).error
    assert "metadata.name" in render.app_unit("c", {"name": "g"}, app("a", "apiVersion: v1\nkind: X\n")).error


def test_deletions_run_in_reverse_order():
    refs = [render.ObjRef("v1", "ConfigMap", "n", "x"), render.ObjRef("v1", "Namespace", "", "n"),
            render.ObjRef("apiextensions.k8s.io/v1", "CustomResourceDefinition", "", "c")]
    assert [r.kind for r in render.ordered_refs(refs, reverse=True)] == ["ConfigMap", "Namespace",
                                                                         "CustomResourceDefinition"]


def test_inventory_round_trip():
    ref = render.ObjRef("apps/v1", "Deployment", "ns", "web")
    assert ref.to_list() == ["apps", "v1", "Deployment", "ns", "web"]
    inv = {ref.key(): (ref, "42"), "v1/Namespace ns": (render.ObjRef("v1", "Namespace", "", "ns"), "7")}
    assert load_inventory(dump_inventory(inv)) == inv


def test_user_objects_follow_the_manual():
    u = render.user_unit("default", {"name": "john", "role": "view"})
    got = [(o["kind"], o["metadata"]["name"], o["metadata"].get("namespace")) for o in u.objects]
    assert got == [("Namespace", "john-restricted", None), ("ServiceAccount", "john", "john-restricted"),
                   ("ClusterRole", "john-nodes", None), ("ClusterRoleBinding", "john-nodes", None),
                   ("RoleBinding", "john-restricted", "john-restricted")]
    rb = u.objects[-1]
    assert rb["roleRef"]["name"] == "view"


def test_labels_parse_empty_values():
    assert render.parse_labels(["nvidia.com/amd-gpu-accelerator=", "a=b"]) == {
        "nvidia.com/amd-gpu-accelerator": "", "a": "b"}


def test_field_diff_leaves_out_server_bookkeeping():
    from cmshell.backends.kubernetes.client import field_diff
    a = {"metadata": {"name": "x", "resourceVersion": "1", "managedFields": [1]}, "spec": {"replicas": 1},
         "status": {"ready": 0}}
    b = {"metadata": {"name": "x", "resourceVersion": "2", "managedFields": [2]}, "spec": {"replicas": 3},
         "status": {"ready": 3}}
    assert field_diff(a, b) == [".spec.replicas: 1 -> 3"]


def test_listing_devices_does_not_import_kubernetes():
    code = ("import sys; from cmshell.backends.engine import Engine;"
            "import cmshell.backends.kubernetes.backend;"
            "assert 'kubernetes' not in sys.modules, 'imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_applyset_id_is_kubectls():
    """kubectl 1.32 accepted this id for secrets/cmshell.g.web in namespace demo (it checks the
    id against the parent's GKNN)."""
    parent = render.ObjRef("v1", "Secret", "demo", "cmshell.g.web")
    assert render.applyset_id(parent) == "applyset--dANVltTm30UEyi2ohhj-s8Iogp9N1mLmRzc1LmmUVs-v1"


def test_parent_is_in_the_first_namespace_written_or_cluster_scoped():
    cfg = configmap("a", "zz", v="1") + "---\n" + configmap("b", "aa", v="1") + "---\n" + configmap("c", "aa", v="1")
    u = render.app_unit("default", {"name": "g"}, app("web", cfg))
    assert u.parent == render.ObjRef("v1", "Secret", "zz", "cmshell.g.web")
    assert {o["metadata"]["labels"][render.PART_OF] for o in u.objects} == {render.applyset_id(u.parent)}
    role = "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: r\n"
    u = render.app_unit("default", {"name": "g"}, app("r", role))
    assert u.parent == render.ObjRef("cmshell.io/v1", "ApplySet", "", "cmshell.g.r")
    assert render.app_unit("default", {"name": "g"}, app("none", "")).parent is None


def test_parent_names_are_dns_names_and_distinct():
    assert render.parent_name("c", "g", "web") == "cmshell.g.web"
    odd = render.parent_name("c", "My Group", "App_1")
    assert odd.startswith("cmshell.my-group.app-1-") and odd == odd.lower()
    assert odd != render.parent_name("c", "my group", "App_1")


def test_parent_annotations_follow_kubectl():
    from cmshell.backends.kubernetes.applyset import KINDS_KEY, NAMESPACES_KEY, TOOLING_KEY, parent_notes
    p = render.ObjRef("v1", "Secret", "web", "cmshell.g.web")
    members = [render.ObjRef("apps/v1", "Deployment", "web", "d"), render.ObjRef("v1", "ConfigMap", "web", "c"),
               render.ObjRef("v1", "ConfigMap", "other", "c"), render.ObjRef("v1", "Namespace", "", "web")]
    assert parent_notes(p, members) == {TOOLING_KEY: "cmshell/0.1.0", KINDS_KEY: "ConfigMap,Deployment.apps,Namespace",
                                        NAMESPACES_KEY: "other"}
