"""Prune against a real kube-apiserver: objects that move between applications, and deletions
that fail and stay recorded until `sync` gets them through."""
from __future__ import annotations

import secrets

import pytest

pytest.importorskip("kubernetes")
from kubernetes import client  # noqa: E402

from cmshell.backends.kubernetes import render  # noqa: E402
from tests.backends.kube_helpers import app, configmap, group  # noqa: E402
from tests.backends.kube_scenario import deny, h, kube_client, kubeconfig_file, v1  # noqa: E402,F401


def _inv(h, target: str) -> list[list[str]]:
    return [row[:5] for row in h.store.get_state("kubernetes", [f"inv/{target}"]).get(f"inv/{target}") or []]


@pytest.mark.parametrize("old,new", [("a", "b"), ("b", "a")])
def test_object_moving_between_applications_in_one_commit_is_kept(h, v1, kube_namespace, old, new):
    """Either way round (targets run in name order), the object is applied by its new application
    and never deleted by the old one's prune: same uid, new application's labels."""
    ns = kube_namespace
    moving = configmap("moving", ns, v="1")
    apps = {old: app(old, configmap(f"{old}-own", ns, v="1") + "---\n" + moving),
            new: app(new, configmap(f"{new}-own", ns, v="1"))}
    h.put("kubernetes", h.cluster_doc([group("g", *apps.values())]))
    uid = v1.read_namespaced_config_map("moving", ns).metadata.uid

    apps = {old: app(old, configmap(f"{old}-own", ns, v="1")),
            new: app(new, configmap(f"{new}-own", ns, v="1") + "---\n" + moving)}
    recap = h.put("kubernetes", h.cluster_doc([group("g", *apps.values())]))
    by = {r.target: r for r in recap.results}
    assert {r.status for r in recap.results} <= {"ok", "changed"}, recap.results
    cm = v1.read_namespaced_config_map("moving", ns)
    assert cm.metadata.uid == uid and cm.metadata.deletion_timestamp is None
    assert cm.metadata.labels[render.APP_LABEL] == new
    assert ["", "v1", "ConfigMap", ns, "moving"] in _inv(h, f"default/apps/g/{new}")
    assert ["", "v1", "ConfigMap", ns, "moving"] not in _inv(h, f"default/apps/g/{old}")
    assert not any(c.startswith("deleted") for c in by[f"default/apps/g/{old}"].changes)
    assert f"handed over v1/ConfigMap {ns}/moving to default/apps/g/{new}" in by[f"default/apps/g/{old}"].changes

    # the old application no longer lists it: dropping it from the new one deletes it
    apps[new] = app(new, configmap(f"{new}-own", ns, v="1"))
    recap = h.put("kubernetes", h.cluster_doc([group("g", *apps.values())]))
    assert recap.results[0].changes == [f"deleted v1/ConfigMap {ns}/moving"]
    assert "moving" not in {c.metadata.name for c in v1.list_namespaced_config_map(ns).items}


def test_object_in_two_applications_survives_one_dropping_it(h, v1, kube_namespace):
    ns = kube_namespace
    shared = configmap("shared", ns, v="1")
    h.put("kubernetes", h.cluster_doc([group("g", app("a", shared), app("b", shared))]))
    recap = h.put("kubernetes", h.cluster_doc([group("g", app("a", configmap("x", ns, v="1")), app("b", shared))]))
    assert f"handed over v1/ConfigMap {ns}/shared to default/apps/g/b" in recap.results[0].changes
    assert v1.read_namespaced_config_map("shared", ns).metadata.deletion_timestamp is None


def test_removed_user_whose_delete_fails_stays_pending_until_sync(h, v1, kube_client, deny):
    rbac = client.RbacAuthorizationV1Api(kube_client)
    user = f"u{secrets.token_hex(3)}"
    target = f"default/users/{user}"
    ctx = h.engine.context("kubernetes")
    h.put("kubernetes", h.cluster_doc(users=[{"name": user, "role": "view"}]))
    probe = lambda: rbac.delete_cluster_role(f"{user}-nodes", dry_run="All")  # noqa: E731
    with deny("clusterroles", "rbac.authorization.k8s.io", "DELETE",
              f"oldObject.metadata.name != '{user}-nodes'", probe):
        recap = h.put("kubernetes", h.cluster_doc(users=[]))
        [r] = recap.results
        assert r.status == "failed" and "delete failed: forbidden" in r.reason
        key = f"rbac.authorization.k8s.io/v1/ClusterRole {user}-nodes"
        state = h.store.get_state("kubernetes")
        assert [row[:5] for row in state[f"del/{target}"]] == [
            ["rbac.authorization.k8s.io", "v1", "ClusterRole", "", f"{user}-nodes"]]
        assert f"inv/{target}" not in state                 # it owns nothing any more
        seen = h.backend.observe(ctx, [target])[target]
        assert seen["in_sync"] is False and seen["pending_deletions"] == [key]

        # another commit does not lose it; sync retries it (and fails while refused)
        h.put("kubernetes", h.cluster_doc(users=[{"name": f"{user}x", "role": "view"}]))
        assert h.backend.observe(ctx, [target])[target]["pending_deletions"] == [key]
        recap = h.engine.sync(["kubernetes"])[0]
        assert {x.target: x.status for x in recap.results}[target] == "failed"
        assert rbac.read_cluster_role(f"{user}-nodes")
    recap = h.engine.sync(["kubernetes"])[0]
    assert {x.target: x.changes for x in recap.results}[target] == [f"deleted {key}"]
    with pytest.raises(client.ApiException) as gone:
        rbac.read_cluster_role(f"{user}-nodes")
    assert gone.value.status == 404
    assert not [k for k in h.store.get_state("kubernetes") if k.endswith(f"/{target}")]
    assert target not in h.backend.observe(ctx, None)        # removed, and nothing is left


def test_pending_delete_of_an_object_another_application_took_is_dropped(h, v1, kube_namespace, deny):
    ns = kube_namespace
    x = configmap("x", ns, v="1")
    h.put("kubernetes", h.cluster_doc([group("g", app("a", x))]))
    probe = lambda: v1.delete_namespaced_config_map("x", ns, dry_run="All")  # noqa: E731
    with deny("configmaps", "", "DELETE", "oldObject.metadata.name != 'x'", probe):
        recap = h.put("kubernetes", h.cluster_doc([group("g", app("a", configmap("y", ns, v="1")))]))
        assert recap.results[0].status == "failed"
    # b now has x: a's pending deletion must not delete it
    recap = h.put("kubernetes", h.cluster_doc([group("g", app("a", configmap("y", ns, v="1")), app("b", x))]))
    recap = h.engine.sync(["kubernetes"])[0]
    by = {r.target: r for r in recap.results}
    assert f"handed over v1/ConfigMap {ns}/x to default/apps/g/b" in by["default/apps/g/a"].changes
    assert v1.read_namespaced_config_map("x", ns).metadata.labels[render.APP_LABEL] == "b"
    assert h.backend.observe(h.engine.context("kubernetes"), None)["default/apps/g/a"]["in_sync"] is True


def test_removed_label_set_whose_label_removal_fails_is_pending(h, v1, deny):
    node = f"pend{secrets.token_hex(3)}"
    v1.create_node({"metadata": {"name": node}})
    h.put("device", {"hostname": node, "type": "physicalnode"})
    h.put("kubernetes", h.cluster_doc(labelsets=[{"name": "p", "labels": ["team=a"], "nodes": [node]}]))
    assert v1.read_node(node).metadata.labels["team"] == "a"
    rule = (f"object.metadata.name != '{node}' || !has(oldObject.metadata.labels) || "
            "!('team' in oldObject.metadata.labels) || "
            "(has(object.metadata.labels) && 'team' in object.metadata.labels)")
    probe = lambda: v1.patch_node(node, {"metadata": {"labels": {"team": None}}}, dry_run="All")  # noqa: E731
    target = "default/labelsets/p"
    with deny("nodes", "", "UPDATE", rule, probe):
        recap = h.put("kubernetes", h.cluster_doc(labelsets=[]))
        assert recap.results[0].status == "failed"
        seen = h.backend.observe(h.engine.context("kubernetes"), [target])[target]
        assert seen["in_sync"] is False and seen["pending_deletions"] == [f"{node}: -team"]
        assert h.store.get_state("kubernetes", [f"del/{target}"]) == {f"del/{target}": {node: ["team"]}}
    recap = h.engine.sync(["kubernetes"], [node])[0]            # sync -n <node>
    assert [(r.target, r.status) for r in recap.results] == [(target, "changed")]
    assert "team" not in (v1.read_node(node).metadata.labels or {})
    assert not [k for k in h.store.get_state("kubernetes") if k.endswith(target)]


def test_plan_of_a_move_shows_a_hand_over_not_a_prune(h, v1, kube_namespace):
    from cmshell.model.effective import DocsView
    from tests.backends.kube_helpers import SCHEMA
    ns = kube_namespace
    moving = configmap("moving", ns, v="1")
    h.put("kubernetes", h.cluster_doc([group("g", app("a", moving), app("b", configmap("b", ns, v="1")))]))
    doc = h.cluster_doc([group("g", app("a", configmap("a", ns, v="1")),
                               app("b", configmap("b", ns, v="1") + "---\n" + moving))])
    plan = {r.target: r for r in h.backend.plan_view(h.engine.context("kubernetes"),
                                                     DocsView(SCHEMA, {"kubernetes": [doc]}), None)}
    assert f"hand over v1/ConfigMap {ns}/moving to default/apps/g/b" in plan["default/apps/g/a"].changes
    assert not [c for c in plan["default/apps/g/a"].changes if c.startswith("prune")]
    assert v1.read_namespaced_config_map("moving", ns).metadata.labels[render.APP_LABEL] == "a"
