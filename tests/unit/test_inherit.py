"""Pure inheritance rules (cmshell/model/inherit.py): values with provenance, OR-ed booleans,
which overlays apply to a node, and role priorities."""
from cmshell.model import inherit
from cmshell.model.inherit import DEFAULT, Layer, Parent
from cmshell.model.schema import Param

NODE = Layer("node", "", 750, own=True)
CAT = Layer("category", "default")

SI = Param("softwareimage", "Software image", "pointer", target="softwareimage", inherit="category")
CAT_SI = Param("softwareimage", "Software image", "pointer", target="softwareimage")
IM = Param("installmode", "Install mode", "enum", choices=("AUTO", "FULL"), default="", inherit="category")
CAT_IM = Param("installmode", "Install mode", "enum", choices=("AUTO", "FULL"), default="AUTO")
DN = Param("datanode", "Data node", "boolean", default=False, inherit="category")
CAT_DN = Param("datanode", "Data node", "boolean", default=False)
NS = Param("nameservers", "Name servers", "list", inherit="category")
CAT_NS = Param("nameservers", "Name servers", "list")


def parent(doc, p):
    return Parent(CAT, doc, p)


# -- settings ---------------------------------------------------------------------------------
def test_an_empty_value_comes_from_the_category_with_its_source():
    r = inherit.resolve(SI, {}, NODE, parent({"softwareimage": "default-image"}, CAT_SI))
    assert (r.value, str(r.layer), r.inherited, r.overrides) == ("default-image", "category:default", True, ())


def test_a_value_set_on_the_node_overrides_and_names_what_it_hides():
    r = inherit.resolve(SI, {"softwareimage": "my-image"}, NODE, parent({"softwareimage": "default-image"}, CAT_SI))
    assert (r.value, str(r.layer), r.inherited) == ("my-image", "node", False)
    assert [(str(layer), v) for layer, v in r.overrides] == [("category:default", "default-image")]


def test_cleared_node_value_falls_back_to_the_category_again():
    for cleared in ({}, {"softwareimage": ""}, {"softwareimage": None}):
        r = inherit.resolve(SI, cleared, NODE, parent({"softwareimage": "default-image"}, CAT_SI))
        assert r.value == "default-image" and r.layer == CAT


def test_the_categorys_default_is_inherited_when_the_category_stores_nothing():
    r = inherit.resolve(IM, {}, NODE, parent({}, CAT_IM))
    assert (r.value, str(r.layer)) == ("AUTO", "category:default")


def test_nothing_anywhere_gives_the_default_layer():
    r = inherit.resolve(SI, {}, NODE, parent({}, CAT_SI))
    assert (r.value, r.layer, r.inherited) == ("", DEFAULT, False)
    r = inherit.resolve(SI, {}, NODE, None)
    assert (r.value, r.layer) == ("", DEFAULT)


def test_lists_inherit_whole_and_an_empty_list_is_empty():
    r = inherit.resolve(NS, {"nameservers": []}, NODE, parent({"nameservers": ["10.0.0.1"]}, CAT_NS))
    assert (r.value, r.layer) == (["10.0.0.1"], CAT)


def test_booleans_are_ored_node_or_category():
    cases = [  # node value (None: unset), category value, effective, winning layer
        (None, False, False, DEFAULT), (None, True, True, CAT), (False, True, True, CAT),
        (True, False, True, NODE), (True, True, True, NODE), (False, False, False, NODE)]
    for mine, theirs, value, layer in cases:
        doc = {} if mine is None else {"datanode": mine}
        r = inherit.resolve(DN, doc, NODE, parent({"datanode": theirs}, CAT_DN))
        assert (r.value, r.layer) == (value, layer), (mine, theirs)
        assert [(str(lay), v) for lay, v in r.ored] == [("node", bool(mine)), ("category:default", theirs)]
        assert r.overrides == ()


def test_without_a_parent_a_boolean_is_just_the_nodes():
    r = inherit.resolve(DN, {"datanode": True}, NODE, None)
    assert (r.value, r.layer, r.ored) == (True, NODE, ())


# -- overlays -----------------------------------------------------------------------------------
OVERLAYS = [
    {"name": "etcd", "priority": 500, "nodes": ["node001", "node002"], "roles": [{"name": "Etcd::Host"}]},
    {"name": "worker", "nodes": ["node004"], "categories": ["default"], "roles": [{"name": "kubelet"}]},
    {"name": "heads", "priority": 600, "allheadnodes": True, "roles": [{"name": "kubelet"}]},
    {"name": "off", "priority": -1, "nodes": ["node001"], "categories": ["default"],
     "allheadnodes": True, "roles": [{"name": "Docker::Host"}]},
]


def names(overlays):
    return [o.name for o in overlays]


def test_overlays_apply_by_node_list_category_and_head_node_and_minus_one_is_off():
    idx = inherit.OverlayIndex(OVERLAYS)
    assert names(idx.applying("node001", "default", False)) == ["etcd", "worker"]
    assert names(idx.applying("node004", "gpu-nodes", False)) == ["worker"]
    assert names(idx.applying("node009", "default", False)) == ["worker"]
    assert names(idx.applying("gpu001", "gpu-nodes", False)) == []
    assert names(idx.applying("basecm10", None, True)) == ["heads"]
    assert inherit.overlay(OVERLAYS[1]).priority == inherit.OVERLAY_DEFAULT_PRIORITY
    off = inherit.overlay(OVERLAYS[3])
    assert off.off and not off.applies("node001", "default", True)


def test_applying_is_sorted_by_priority_then_name():
    idx = inherit.OverlayIndex([{"name": "b", "priority": 100, "nodes": ["n"]},
                                {"name": "a", "priority": 100, "nodes": ["n"]},
                                {"name": "z", "priority": 900, "categories": ["c"]}])
    assert names(idx.applying("n", "c", False)) == ["z", "a", "b"]


# -- roles --------------------------------------------------------------------------------------
def roles_of(*names_):
    return [{"name": n} for n in names_]


def summary(effective):
    return [(e.name, str(e.layer), [str(s) for s in e.shadowed]) for e in effective]


def sources(own=(), category=(), overlays=()):
    ovs = [inherit.overlay(d) for d in overlays]
    return inherit.role_sources(roles_of(*own), NODE, "default", roles_of(*category), ovs)


def test_category_roles_are_inherited_and_node_roles_win_over_the_category():
    eff = inherit.effective_roles(sources(own=["Docker::Host"], category=["Docker::Host", "slurmclient"]))
    assert summary(eff) == [("Docker::Host", "node", ["category:default"]),
                            ("slurmclient", "category:default", [])]


def test_the_highest_priority_overlay_wins():
    ovs = [{"name": "worker", "priority": 500, "roles": roles_of("kubelet", "generic::containerd")},
           {"name": "master", "priority": 510, "roles": roles_of("kubelet")}]
    eff = inherit.effective_roles(sources(overlays=ovs))
    assert summary(eff) == [("generic::containerd", "overlay:worker", []),
                            ("kubelet", "overlay:master", ["overlay:worker"])]


def test_overlay_above_750_beats_the_node_and_below_250_loses_to_the_category():
    ovs = [{"name": "high", "priority": 900, "roles": roles_of("kubelet")},
           {"name": "low", "priority": 100, "roles": roles_of("Docker::Host")}]
    eff = inherit.effective_roles(sources(own=["kubelet"], category=["Docker::Host"], overlays=ovs))
    assert summary(eff) == [("Docker::Host", "category:default", ["overlay:low"]),
                            ("kubelet", "overlay:high", ["node"])]
    # the node's own kubelet stays its own entry; the list adds only winning inherited roles
    assert [t for t, _ in inherit.inherited_entries(eff)] == ["[category:default] Docker::Host",
                                                              "[overlay:high] kubelet"]


def test_an_overlay_at_minus_one_contributes_nothing():
    idx = inherit.OverlayIndex([{"name": "off", "priority": -1, "nodes": ["node001"],
                                 "roles": roles_of("kubelet")}])
    ovs = idx.applying("node001", "default", False)
    eff = inherit.effective_roles(inherit.role_sources([], NODE, "default", [], ovs))
    assert eff == []


def test_role_names_match_case_insensitively_and_ties_prefer_node_then_overlay():
    ovs = [{"name": "b", "priority": 250, "roles": roles_of("docker::host")},
           {"name": "a", "priority": 750, "roles": roles_of("KUBELET")}]
    eff = inherit.effective_roles(sources(own=["kubelet"], category=["Docker::Host"], overlays=ovs))
    assert summary(eff) == [("docker::host", "overlay:b", ["category:default"]),
                            ("kubelet", "node", ["overlay:a"])]


def test_a_node_without_category_has_no_category_source():
    srcs = inherit.role_sources(roles_of("firewall"), NODE, None, roles_of("x"), [])
    assert [str(s.layer) for s in srcs] == ["node"]
    assert inherit.label(inherit.effective_roles(srcs)[0]) == "[node] firewall"


def test_value_agrees_with_resolve():
    """`value` (the fast path of `list`) gives what `resolve` gives, in every combination."""
    cases = [(SI, CAT_SI, [None, "", "mine"], [None, "", "theirs"]),
             (IM, CAT_IM, [None, "", "FULL"], [None, "", "AUTO"]),
             (DN, CAT_DN, [None, False, True], [None, False, True]),
             (NS, CAT_NS, [None, [], ["a"]], [None, [], ["b"]])]
    for p, cp, mine_values, their_values in cases:
        for mine in mine_values:
            for theirs in their_values:
                doc = {} if mine is None else {p.name: mine}
                pdoc = {} if theirs is None else {p.name: theirs}
                for par in (parent(pdoc, cp), None):
                    assert inherit.value(p, doc, par) == inherit.resolve(p, doc, NODE, par).value, \
                        (p.name, mine, theirs, par)
