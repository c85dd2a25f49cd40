"""Inheritance with provenance through the real entry point (docs/inheritance.md,
cmsh-behaviour.md §6): a node's roles list with the roles of its category and of the
configuration overlays that apply to it, role priorities, `get`/`set`/`clear` of inherited
settings, OR-ed booleans and `show --effective`.

Each test is a session: the commands go to `cmshell --show-prompt` on stdin and the whole
output (prompt lines with their command, then what the command prints) must be exactly the
transcript. The demo cluster: node001..node006 in category default (which has Docker::Host),
gpu001/gpu002 in gpu-nodes; overlays kube-default-etcd (500, node001..003, Etcd::Host),
kube-default-master (510, node001..003, generic::containerd + kubelet) and
kube-default-worker (500, node004..006 and category default, generic::containerd + kubelet).
"""
from __future__ import annotations

import textwrap

from conftest import assert_clean, assert_ok

HEAD = "[basecm10]% "


def transcript(text: str) -> tuple[str, str]:
    """(stdin, expected stdout) of a session written as cmsh prints it."""
    text = textwrap.dedent(text).strip("\n") + "\n"
    commands = []
    for line in text.splitlines():
        if line.startswith("[basecm10") and "]% " in line:
            commands.append(line.split("]% ", 1)[1])
    return "".join(c + "\n" for c in commands), text


def session(cm, text: str, *, errors: list[str] | None = None):
    stdin, expected = transcript(text)
    res = cm("--show-prompt", input=stdin)
    assert_clean(res)
    assert res.stdout == expected, "\n" + res.stdout
    if errors is None:
        assert_ok(res)
    else:
        assert res.err_lines == errors, str(res)
        assert res.returncode == 1
    return res


# -- roles ------------------------------------------------------------------------------------
def test_roles_list_shows_category_and_overlay_roles_with_their_origin(cm):
    session(cm, """
        [basecm10]% device use node001
        [basecm10->device[node001]]% roles
        [basecm10->device[node001]->roles]% list
        Name (key)
        -------------------------------------------------
        [category:default] Docker::Host
        [overlay:kube-default-etcd] Etcd::Host
        [overlay:kube-default-master] generic::containerd
        [overlay:kube-default-master] kubelet
        [basecm10->device[node001]->roles]% device use node005
        [basecm10->device[node005]]% roles
        [basecm10->device[node005]->roles]% list -f name:52,type:14
        name (key)                                           type
        ---------------------------------------------------- --------------
        [category:default] Docker::Host                      DockerHostRole
        [overlay:kube-default-worker] generic::containerd    GenericRole
        [overlay:kube-default-worker] kubelet                KubeletRole
        [basecm10->device[node005]->roles]% device use gpu001
        [basecm10->device[gpu001]]% roles
        [basecm10->device[gpu001]->roles]% list
        Name (key)
        ----------
        [basecm10->device[gpu001]->roles]% device use basecm10
        [basecm10->device[basecm10]]% roles
        [basecm10->device[basecm10]->roles]% list
        Name (key)
        --------------------------
        Docker::Host
        Kubernetes::ApiServerProxy
        firewall
        generic::docker_registry
        generic::harbor
        [basecm10->device[basecm10]->roles]% category use default
        [basecm10->category[default]]% roles
        [basecm10->category[default]->roles]% list
        Name (key)
        ------------
        Docker::Host
    """)


def test_an_overlay_applies_through_its_categories_and_to_head_nodes(cm):
    session(cm, """
        [basecm10]% configurationoverlay use kube-default-etcd
        [basecm10->configurationoverlay[kube-default-etcd]]% set categories gpu-nodes
        [basecm10->configurationoverlay*[kube-default-etcd*]]% set allheadnodes yes
        [basecm10->configurationoverlay*[kube-default-etcd*]]% device use gpu002
        [basecm10->device[gpu002]]% roles
        [basecm10->device[gpu002]->roles]% list
        Name (key)
        --------------------------------------
        [overlay:kube-default-etcd] Etcd::Host
        [basecm10->device[gpu002]->roles]% device use basecm10
        [basecm10->device[basecm10]]% roles
        [basecm10->device[basecm10]->roles]% list
        Name (key)
        --------------------------------------
        Docker::Host
        Kubernetes::ApiServerProxy
        [overlay:kube-default-etcd] Etcd::Host
        firewall
        generic::docker_registry
        generic::harbor
    """)


def test_a_node_role_overrides_an_overlay_role_and_a_higher_overlay_beats_the_node(cm):
    session(cm, """
        [basecm10]% device use node004
        [basecm10->device[node004]]% roles
        [basecm10->device[node004]->roles]% assign kubelet
        [basecm10->device*[node004*]->roles*[kubelet*]]% set kubernetescluster default
        [basecm10->device*[node004*]->roles*[kubelet*]]% commit
        [basecm10->device[node004]->roles[kubelet]]% list
        Name (key)
        -------------------------------------------------
        [category:default] Docker::Host
        [overlay:kube-default-worker] generic::containerd
        kubelet
        [basecm10->device[node004]->roles[kubelet]]% configurationoverlay use kube-default-worker
        [basecm10->configurationoverlay[kube-default-worker]]% set priority 900
        [basecm10->configurationoverlay*[kube-default-worker*]]% commit
        [basecm10->configurationoverlay[kube-default-worker]]% device use node004
        [basecm10->device[node004]]% roles
        [basecm10->device[node004]->roles]% list
        Name (key)
        -------------------------------------------------
        [category:default] Docker::Host
        [overlay:kube-default-worker] generic::containerd
        [overlay:kube-default-worker] kubelet
        kubelet
    """)


def test_the_higher_priority_overlay_wins_and_an_overlay_at_minus_one_is_off(cm):
    session(cm, """
        [basecm10]% configurationoverlay use kube-default-master
        [basecm10->configurationoverlay[kube-default-master]]% set priority 400
        [basecm10->configurationoverlay*[kube-default-master*]]% configurationoverlay use kube-default-etcd
        [basecm10->configurationoverlay*[kube-default-etcd]]% set priority -1
        [basecm10->configurationoverlay*[kube-default-etcd*]]% ..
        [basecm10->configurationoverlay*]% commit
        Successfully committed 2 ConfigurationOverlays
        [basecm10->configurationoverlay]% device use node002
        [basecm10->device[node002]]% roles
        [basecm10->device[node002]->roles]% list
        Name (key)
        -------------------------------------------------
        [category:default] Docker::Host
        [overlay:kube-default-worker] generic::containerd
        [overlay:kube-default-worker] kubelet
    """)


def test_use_of_an_inherited_role_says_where_to_change_it_and_keeps_staged_edits(cm):
    session(cm, """
        [basecm10]% device use node001
        [basecm10->device[node001]]% set notes kept
        [basecm10->device*[node001*]]% roles
        [basecm10->device*[node001*]->roles]% use docker::host
        [basecm10->device*[node001*]->roles]% unassign kubelet
        [basecm10->device*[node001*]->roles]% get "[overlay:kube-default-etcd] Etcd::Host" etcdcluster
        [basecm10->device*[node001*]->roles]% assign docker::host
        [basecm10->device*[node001*]->roles*[Docker::Host*]]% list
        Name (key)
        -------------------------------------------------
        Docker::Host
        [overlay:kube-default-etcd] Etcd::Host
        [overlay:kube-default-master] generic::containerd
        [overlay:kube-default-master] kubelet
        [basecm10->device*[node001*]->roles*[Docker::Host*]]% ..
        [basecm10->device*[node001*]->roles*]% ..
        [basecm10->device*[node001*]]% get notes
        kept
    """, errors=[
        "Docker::Host is inherited from category:default: change it with 'category use default; "
        "roles; use Docker::Host', or 'assign Docker::Host' to give node001 its own",
        "kubelet is inherited from overlay:kube-default-master: change it with 'configurationoverlay "
        "use kube-default-master; roles; use kubelet', or 'assign kubelet' to give node001 its own",
        "Etcd::Host is inherited from overlay:kube-default-etcd: change it with 'configurationoverlay "
        "use kube-default-etcd; roles; use Etcd::Host', or 'assign Etcd::Host' to give node001 its own",
    ])


# -- settings ---------------------------------------------------------------------------------
def test_get_set_clear_of_an_inherited_value_with_its_source(cm):
    session(cm, """
        [basecm10]% device use node001
        [basecm10->device[node001]]% get softwareimage
        default-image (category:default)
        [basecm10->device[node001]]% get installmode
        AUTO (category:default)
        [basecm10->device[node001]]% set softwareimage gpu-image
        [basecm10->device*[node001*]]% set installmode full
        [basecm10->device*[node001*]]% get softwareimage
        gpu-image
        [basecm10->device*[node001*]]% get installmode
        FULL
        [basecm10->device*[node001*]]% clear softwareimage
        [basecm10->device*[node001*]]% get softwareimage
        default-image (category:default)
        [basecm10->device*[node001*]]% device use gpu002
        [basecm10->device*[gpu002]]% get softwareimage
        gpu-image (category:gpu-nodes)
        [basecm10->device*[gpu002]]% category use gpu-nodes
        [basecm10->category[gpu-nodes]]% set softwareimage default-image
        [basecm10->category*[gpu-nodes*]]% set installmode nosync
        [basecm10->category*[gpu-nodes*]]% device use gpu002
        [basecm10->device*[gpu002]]% get softwareimage
        default-image (category:gpu-nodes)
        [basecm10->device*[gpu002]]% get installmode
        NOSYNC (category:gpu-nodes)
        [basecm10->device*[gpu002]]% show
        Parameter                        Value
        -------------------------------- ------------------------------------------------
        Hostname                         gpu002
        Revision
        Type                             PhysicalNode
        MAC                              FA:16:3E:98:84:41
        Ip                               10.141.1.2
        Network                          internalnet
        Category                         gpu-nodes
        Software image                   default-image (category:gpu-nodes)
        Install mode                     NOSYNC (category:gpu-nodes)
        Next install mode
        Install boot record              no
        Data node                        no
        Notes
        Roles                            <0 in submode>
        Services                         <0 in submode>
        Interfaces                       <0 in submode>
        [basecm10->device*[gpu002]]% list -f hostname:10,category:10,softwareimage:14,installmode:11
        hostname ( category   softwareimage  installmode
        ---------- ---------- -------------- -----------
        basecm10
        gpu001     gpu-nodes  default-image  NOSYNC
        gpu002     gpu-nodes  default-image  NOSYNC
        node001    default    default-image  FULL
        node002    default    default-image  AUTO
        node003    default    default-image  AUTO
        node004    default    default-image  AUTO
        node005    default    default-image  AUTO
        node006    default    default-image  AUTO
    """)


def test_an_override_and_its_clear_survive_commit(cm):
    res = cm("-c", "device use node003; set softwareimage gpu-image; commit")
    assert_ok(res)
    res = cm("-c", "device use node003; get softwareimage; clear softwareimage; commit")
    assert_ok(res)
    assert res.stdout == "gpu-image\n"
    res = cm("-c", "device use node003; get softwareimage")
    assert_ok(res)
    assert res.stdout == "default-image (category:default)\n"


def test_booleans_are_ored_node_or_category(cm):
    session(cm, """
        [basecm10]% device use node004
        [basecm10->device[node004]]% get datanode
        no
        [basecm10->device[node004]]% category use default
        [basecm10->category[default]]% set datanode yes
        [basecm10->category*[default*]]% set installbootrecord yes
        [basecm10->category*[default*]]% device use node004
        [basecm10->device[node004]]% get datanode
        yes (category:default)
        [basecm10->device[node004]]% set datanode no
        [basecm10->device*[node004*]]% get datanode
        yes (category:default)
        [basecm10->device*[node004*]]% get installbootrecord
        yes (category:default)
        [basecm10->device*[node004*]]% category use default
        [basecm10->category*[default*]]% clear datanode
        [basecm10->category*[default*]]% device use node004
        [basecm10->device*[node004*]]% get datanode
        no
        [basecm10->device*[node004*]]% device use node001
        [basecm10->device*[node001]]% get datanode
        yes
        [basecm10->device*[node001]]% list -f hostname:10,datanode:9,installbootrecord:18
        hostname ( datanode  installbootrecord
        ---------- --------- ------------------
        basecm10   no        no
        gpu001     no        no
        gpu002     no        no
        node001    yes       yes
        node002    yes       yes
        node003    yes       yes
        node004    no        yes
        node005    no        yes
        node006    no        yes
    """)


# -- show --effective --------------------------------------------------------------------------
def test_show_effective_gives_value_layer_and_what_it_overrides(cm):
    session(cm, """
        [basecm10]% device use node001
        [basecm10->device[node001]]% set softwareimage gpu-image
        [basecm10->device*[node001*]]% roles
        [basecm10->device*[node001*]->roles]% assign kubelet
        [basecm10->device*[node001*]->roles*[kubelet*]]% category use default
        [basecm10->category[default]]% set installbootrecord yes
        [basecm10->category*[default*]]% configurationoverlay use kube-default-etcd
        [basecm10->configurationoverlay[kube-default-etcd]]% set priority -1
        [basecm10->configurationoverlay*[kube-default-etcd*]]% device
        [basecm10->device*]% show --effective node001
        Parameter                Value                Source                      Overrides
        ------------------------ -------------------- --------------------------- --------------------------------------------------------------------------------------
        Hostname                 node001              node
        Revision                                      default
        Type                     PhysicalNode         node
        MAC                      FA:16:3E:E4:8D:8C    node
        Ip                       10.141.0.1           node
        Network                  internalnet          node
        Category                 default              node
        Software image           gpu-image            node                        category:default = default-image
        Install mode             AUTO                 category:default
        Next install mode                             default
        Install boot record      yes                  category:default            OR-ed with node = no
        Data node                yes                  node                        OR-ed with category:default = no
        Notes                                         default
        Roles                    Docker::Host         category:default
                                 generic::containerd  overlay:kube-default-master priority 510 over overlay:kube-default-worker (500)
                                 kubelet              node                        priority 750 over overlay:kube-default-master (510), overlay:kube-default-worker (500)
        Services                 <2 in submode>       node
        Interfaces               <0 in submode>       node
    """)


def test_show_effective_of_a_category_and_bad_use(cm):
    session(cm, """
        [basecm10]% category use default
        [basecm10->category[default]]% show --effective
        Parameter                Value                Source           Overrides
        ------------------------ -------------------- ---------------- ---------
        Name                     default              category
        Revision                                      default
        Software image           default-image        category
        Default gateway          10.141.255.254       category
        Name servers             10.141.255.254       category
        Install mode             AUTO                 default
        Install boot record      no                   default
        Data node                no                   default
        Notes                                         default
        Roles                    <1 in submode>       category
        Services                 <0 in submode>       category
        Exclude list snippets    <0 in submode>       category
        [basecm10->category[default]]% device
        [basecm10->device]% show --effective
        [basecm10->device]% show --effective nosuch
    """, errors=["No object selected: name one, or 'use <object>' first", "No device named nosuch"])
