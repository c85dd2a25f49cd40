"""model/effective.py in-process, without the shell: effective roles and settings over a View, and
which nodes a commit's changes affect (through devices, categories, overlays, pointed-at objects)."""
from __future__ import annotations

import copy

import pytest
import yaml

from conftest import DEMO_YAML
from cmshell.model.effective import DocsView, Effective, affected_nodes, before_view
from cmshell.model.schema import load_schema


@pytest.fixture(scope="module")
def schema():
    return load_schema()


@pytest.fixture
def cluster():
    with open(DEMO_YAML, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def find(docs: list[dict], key: str, name: str) -> dict:
    return next(d for d in docs if d.get(key) == name)


def changed(docs: dict, mode: str, name: str, **fields) -> dict:
    """A deep copy of `docs` with `fields` set on one object of `mode` (a device by hostname)."""
    after = copy.deepcopy(docs)
    find(after[mode], "hostname" if mode == "device" else "name", name).update(fields)
    return after


def affected(schema, before: dict, after: dict) -> set[str]:
    """The nodes affected by turning `before` into `after` (both {mode: [docs]})."""
    changes = []
    for mode in set(before) | set(after):
        key = schema.mode(mode).key
        old = {d[key]: d for d in before.get(mode, [])}
        new = {d[key]: d for d in after.get(mode, [])}
        for name in set(old) | set(new):
            if old.get(name) != new.get(name):
                changes.append((mode, old.get(name), new.get(name)))
    return affected_nodes(schema, DocsView(schema, after), changes)


def test_a_node_gets_roles_from_category_and_overlays_with_their_layers(schema, cluster):
    eff = Effective(schema, DocsView(schema, cluster))
    node = eff.node("node001")
    layers = {r.name: str(r.layer) for r in node.roles}
    assert layers["Docker::Host"] == "category:default"
    assert layers["Etcd::Host"] == "overlay:kube-default-etcd"
    assert node.role("etcd::host")["etcdcluster"] == "kube-default"
    assert node.value("softwareimage") == "default-image"          # inherited from the category
    assert str(node.params["softwareimage"].layer) == "category:default"
    assert eff.node("gpu001").role("Docker::Host") is None           # gpu-nodes has no roles
    assert eff.node("nosuchnode") is None


def test_the_node_beats_the_category_and_a_higher_overlay_beats_a_lower_one(schema, cluster):
    node = find(cluster["device"], "hostname", "node002")
    node["roles"] = [{"name": "Docker::Host", "iptables": False}]
    node["softwareimage"] = "gpu-image"
    eff = Effective(schema, DocsView(schema, cluster))
    got = eff.node("node002")
    assert str(next(r for r in got.roles if r.name == "Docker::Host").layer) == "node"
    assert got.role("Docker::Host") == {"name": "Docker::Host", "iptables": False}
    assert got.value("softwareimage") == "gpu-image"


def test_overlay_membership_and_role_queries(schema, cluster):
    eff = Effective(schema, DocsView(schema, cluster))
    etcd = find(cluster["configurationoverlay"], "name", "kube-default-etcd")
    assert eff.overlay_members(etcd) == ["node001", "node002", "node003"]
    assert eff.overlay_members({**etcd, "priority": -1}) == []
    assert eff.overlay_members({"name": "x", "categories": ["gpu-nodes"]}) == ["gpu001", "gpu002"]
    assert eff.overlay_members({"name": "x", "allheadnodes": True}) == ["basecm10"]
    assert eff.nodes_with_roles({"etcd::host"}) == ["node001", "node002", "node003"]
    assert "gpu001" not in eff.nodes_with_roles({"docker::host"})
    assert eff.referrers("etcd", "kube-default") == {"node001", "node002", "node003"}


def test_a_device_change_affects_that_device_only(schema, cluster):
    after = changed(cluster, "device", "node004", ip="10.141.0.44")
    assert affected(schema, cluster, after) == {"node004"}


def test_a_category_role_change_affects_its_nodes_only(schema, cluster):
    after = copy.deepcopy(cluster)
    find(after["category"], "name", "default")["roles"][0]["iptables"] = False
    assert affected(schema, cluster, after) == {f"node00{i}" for i in range(1, 7)}


def test_a_category_change_that_no_node_sees_affects_none(schema, cluster):
    after = changed(cluster, "category", "gpu-nodes", notes="changed")
    assert affected(schema, cluster, after) == set()


def test_an_inherited_setting_through_the_category(schema, cluster):
    after = changed(cluster, "category", "gpu-nodes", softwareimage="default-image")
    assert affected(schema, cluster, after) == {"gpu001", "gpu002"}


def test_overlay_membership_changes_affect_who_joins_and_who_leaves(schema, cluster):
    after = changed(cluster, "configurationoverlay", "kube-default-etcd",
                    nodes=["node002", "node003", "node004"])       # node001 leaves, node004 joins
    assert affected(schema, cluster, after) == {"node001", "node004"}
    after = changed(cluster, "configurationoverlay", "kube-default-etcd", categories=["gpu-nodes"])
    assert affected(schema, cluster, after) == {"gpu001", "gpu002"}
    after = changed(cluster, "configurationoverlay", "kube-default-etcd", priority=-1)   # off
    assert affected(schema, cluster, after) == {"node001", "node002", "node003"}


def test_an_overlay_on_all_head_nodes(schema, cluster):
    after = copy.deepcopy(cluster)
    after["configurationoverlay"].append({"name": "heads", "allheadnodes": True,   # a role the head
                                          "roles": [{"name": "generic::netq"}]})    # node has not
    assert affected(schema, cluster, after) == {"basecm10"}


def test_moving_a_node_to_another_category(schema, cluster):
    after = changed(cluster, "device", "node005", category="gpu-nodes")
    assert affected(schema, cluster, after) == {"node005"}


def test_a_pointed_at_object_affects_the_nodes_whose_roles_name_it(schema, cluster):
    after = changed(cluster, "etcd", "kube-default", heartbeatinterval=200)
    assert affected(schema, cluster, after) == {"node001", "node002", "node003"}


def test_added_and_removed_nodes_are_affected(schema, cluster):
    after = copy.deepcopy(cluster)
    after["device"] = [d for d in after["device"] if d["hostname"] != "gpu002"]
    after["device"].append({"hostname": "node007", "type": "physicalnode", "category": "default"})
    assert affected(schema, cluster, after) == {"gpu002", "node007"}


def test_before_view_undoes_a_rename(schema, cluster):
    after = copy.deepcopy(cluster)
    node = find(after["device"], "hostname", "node006")
    old = copy.deepcopy(node)
    node["hostname"] = "node060"
    view = before_view(schema, DocsView(schema, after), [("device", old, node)])
    assert view.get("device", "node006") == old and view.get("device", "node060") is None
    names = sorted(d["hostname"] for d in view.docs("device"))
    assert "node006" in names and "node060" not in names
    assert affected(schema, cluster, after) == {"node006", "node060"}


def test_nodes_that_set_or_hold_their_own_values_are_told_apart_from_the_shared_ones(schema, cluster):
    before = copy.deepcopy(cluster)
    find(before["device"], "hostname", "gpu001")["softwareimage"] = "own-image"   # overrides
    find(before["device"], "hostname", "gpu002")["roles"] = [{"name": "Docker::Host"}]
    after = copy.deepcopy(before)
    cat = find(after["category"], "name", "gpu-nodes")
    cat["softwareimage"] = "new-image"
    assert affected(schema, before, after) == {"gpu002"}        # gpu001 keeps its own image
    eff = Effective(schema, DocsView(schema, after))
    a, b = eff.node("gpu001"), eff.node("gpu002")
    assert a.value("softwareimage") == "own-image" and b.value("softwareimage") == "new-image"
    assert [r.name for r in b.roles][:1] == ["Docker::Host"] and b.roles[0].layer.own
    assert a.roles is not b.roles and eff.node("gpu002").params is not a.params
    cat["roles"] = [{"name": "Docker::Host"}]                    # gpu002's own role hides it
    assert affected(schema, before, after) == {"gpu001", "gpu002"}
