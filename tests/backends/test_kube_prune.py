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
