"""Lists through the real entry point: `list -f` widths (N, [min-max], 0), cut cells and `-v`,
`format`, `sort` and `list -s`, the top-level `delimiter`, `listnodes`, `usedby`, `swap`,
`rename` (cmsh-behaviour §4.10, §4.12, §4.13, §4.15), as whole-session transcripts."""
from __future__ import annotations

import json

from scenarios import store, transcript

from conftest import assert_ok


# -- list -f, widths, cut cells -----------------------------------------------------------------
def test_list_format_widths_cut_cells_and_verbose(cm, tmp_path):
    transcript(cm, tmp_path, """
        [basecm10]% configurationoverlay
        [basecm10->configurationoverlay]% list -f name:10,priority:[3-5],nodes:[5-20]
        name (key) prior nodes
        ---------- ----- ----------------
        kube-defa+ 500   node001..node003
        kube-defa+ 510   node001..node003
        kube-defa+ 500   node004..node006
        [basecm10->configurationoverlay]% list -f name:[4-12],nodes:12
        name (key)   nodes
        ------------ ------------
        kube-defaul+ node001..no+
        kube-defaul+ node001..no+
        kube-defaul+ node004..no+
        [basecm10->configurationoverlay]% list -v -f name:[4-12],nodes:12
        name (key)          nodes
        ------------------- ----------------
        kube-default-etcd   node001..node003
        kube-default-master node001..node003
        kube-default-worker node004..node006
        [basecm10->configurationoverlay]% device
        [basecm10->device]% list -f hostname:10,ip:0,category:0
        hostname ( ip category
        ---------- -- --------
        basecm10   10.141.255.254
        gpu001     10.141.1.1 gpu-nodes
        gpu002     10.141.1.2 gpu-nodes
        node001    10.141.0.1 default
        node002    10.141.0.2 default
        node003    10.141.0.3 default
        node004    10.141.0.4 default
        node005    10.141.0.5 default
        node006    10.141.0.6 default
        """)


# -- format ------------------------------------------------------------------------------------
def test_format_sets_and_resets_per_mode(cm, tmp_path):
    transcript(cm, tmp_path, """
        [basecm10]% network
        [basecm10->network]% format name:22,baseaddress
        [basecm10->network]% list
        name (key)             baseaddress
        ---------------------- -------------
        externalnet            192.168.200.0
        internalnet            10.141.0.0
        kube-default-pod       172.29.0.0
        kube-default-service   10.150.0.0
        [basecm10->network]% category list
        Name (key) Software image Nodes
        ---------- -------------- --------
        default    default-image  6
        gpu-nodes  gpu-image      2
        [basecm10->network]% format -r
        [basecm10->network]% list -f name
        name (key)
        --------------------
        externalnet
        internalnet
        kube-default-pod
        kube-default-service
        [basecm10->network]% format nosuch:10
        [basecm10->network]% format name:x
        """, errors=["format: unknown field 'nosuch'; 'format' lists the valid fields",
                     "format: Invalid format field: name:x"])


def test_format_lists_the_current_spec_and_every_field(cm):
    res = cm("-c", "network; format name:22,baseaddress; format")
    assert_ok(res)
    lines = res.stdout.splitlines()
    assert lines[:5] == ["Current list printing format:", "-" * 29, "name:22, baseaddress", "",
                         "Valid fields:"]
    assert lines[5] == "-" * 13
    fields = dict((k.strip(), v) for k, v in (line.split(" : ", 1) for line in lines[6:]))
    assert set(fields) >= {"name", "baseaddress", "netmaskbits", "revision"}
    assert list(fields) == sorted(fields)
    assert fields["name"] == "Name of the network"
    res = cm("-c", "device; format")
    assert_ok(res)
    assert res.stdout.splitlines()[2] == \
        "type:22, hostname:[16-32], mac:18, category:[16-32], ip:15, network:[14-32]"


# -- sort -----------------------------------------------------------------------------------------
def test_sort_and_list_s(cm, tmp_path):
    transcript(cm, tmp_path, """
        [basecm10]% configurationoverlay
        [basecm10->configurationoverlay]% set kube-default-etcd priority 90
        [basecm10->configurationoverlay*]% list -f name,priority -s priority
        name (key)          priority
        ------------------- --------
        kube-default-etcd   90
        kube-default-worker 500
        kube-default-master 510
        [basecm10->configurationoverlay*]% sort
        Current sort order: name (the key)
        [basecm10->configurationoverlay*]% sort nodes priority
        [basecm10->configurationoverlay*]% list -f name,nodes,priority
        name (key)          nodes            priority
        ------------------- ---------------- --------
        kube-default-etcd   node001..node003 90
        kube-default-master node001..node003 510
        kube-default-worker node004..node006 500
        [basecm10->configurationoverlay*]% list -f name,priority
        name (key)          priority
        ------------------- --------
        kube-default-etcd   90
        kube-default-worker 500
        kube-default-master 510
        [basecm10->configurationoverlay*]% sort
        Current sort order: nodes, priority
        [basecm10->configurationoverlay*]% sort -r
        [basecm10->configurationoverlay*]% list -f name,priority
        name (key)          priority
        ------------------- --------
        kube-default-etcd   90
        kube-default-master 510
        kube-default-worker 500
        [basecm10->configurationoverlay*]% list -f name -s priority
        [basecm10->configurationoverlay*]% sort nosuch
        """, errors=["list -s: priority is not a column of the list",
                     "sort: unknown field 'nosuch'; 'format' lists the valid fields"])


# -- delimiter ---------------------------------------------------------------------------------
def test_delimiter_is_the_default_of_list_d(cm, tmp_path):
    transcript(cm, tmp_path, """
        [basecm10]% delimiter
        Current delimiter: " "
        [basecm10]% delimiter "|"
        [basecm10]% category
        [basecm10->category]% list
        Name (key)|Software image|Nodes
        ----------|--------------|--------
        default   |default-image |6
        gpu-nodes |gpu-image     |2
        [basecm10->category]% list -d " "
        Name (key) Software image Nodes
        ---------- -------------- --------
        default    default-image  6
        gpu-nodes  gpu-image      2
        [basecm10->category]% delimiter
        Current delimiter: "|"
        [basecm10->category]% delimiter -r
        [basecm10->category]% list
        Name (key) Software image Nodes
        ---------- -------------- --------
        default    default-image  6
        gpu-nodes  gpu-image      2
        """)


def test_delimiter_json(cm):
    """JSON keys are the column headers as cmsh prints them (§2.5.5: "hostname (key)"), untruncated;
    --field-keys keys by the field names."""
    res = cm("-c", "delimiter {4}; category; list -f name:4,softwareimage")
    assert_ok(res)
    assert json.loads(res.stdout) == [{"name (key)": "default", "softwareimage": "default-image"},
                                      {"name (key)": "gpu-nodes", "softwareimage": "gpu-image"}]
    assert res.stdout.splitlines()[2].startswith("        \"name (key)\"")
    res = cm("-c", "category; list -d {}")
    assert_ok(res)
    assert json.loads(res.stdout)[0] == {"Name (key)": "default", "Software image": "default-image",
                                         "Nodes": "6"}
    res = cm("-c", "category; list -d {} --field-keys -f name,softwareimage")
    assert_ok(res)
    assert json.loads(res.stdout)[1] == {"name": "gpu-nodes", "softwareimage": "gpu-image"}
    res = cm("-c", "category; list --field-keys")
    assert res.returncode == 1 and res.err_lines == ["list: --field-keys goes with JSON output (-d {})"]


# -- listnodes ----------------------------------------------------------------------------------
def test_listnodes_in_category_mode(cm, tmp_path):
    transcript(cm, tmp_path, """
        [basecm10]% category
        [basecm10->category]% listnodes gpu-nodes
        Type                   Hostname (key)   MAC                Category         Ip              Network
        ---------------------- ---------------- ------------------ ---------------- --------------- --------------
        PhysicalNode           gpu001           FA:16:3E:12:21:A2  gpu-nodes        10.141.1.1      internalnet
        PhysicalNode           gpu002           FA:16:3E:98:84:41  gpu-nodes        10.141.1.2      internalnet
        [basecm10->category]% use default
        [basecm10->category[default]]% listnodes -f hostname:0,ip:0
        hostname (key) ip
        -------------- --
        node001 10.141.0.1
        node002 10.141.0.2
        node003 10.141.0.3
        node004 10.141.0.4
        node005 10.141.0.5
        node006 10.141.0.6
        [basecm10->category[default]]% device
        [basecm10->device]% listnodes default
        [basecm10->device]% category listnodes
        """, errors=["listnodes: only available in category mode",
                     "Usage: listnodes <category> (or 'use <category>' first)"])


# -- usedby ---------------------------------------------------------------------------------------
def test_usedby_lists_referrers(cm, tmp_path):
    transcript(cm, tmp_path, """
        [basecm10]% device
        [basecm10->device]% usedby node001
        Device used by the following:
        Type                 Name                Parameter
        -------------------- ------------------- ---------------------
        ConfigurationOverlay kube-default-etcd   nodes
        ConfigurationOverlay kube-default-master nodes
        KubeCluster          default             labelsets[etcd].nodes
        [basecm10->device]% usedby gpu001
        Device used by the following:
        Type             Name       Parameter
        ---------------- ---------- ---------------------
        [basecm10->device]% softwareimage
        [basecm10->softwareimage]% use gpu-image
        [basecm10->softwareimage[gpu-image]]% usedby
        SoftwareImage used by the following:
        Type             Name       Parameter
        ---------------- ---------- ---------------------
        Category         gpu-nodes  softwareimage
        [basecm10->softwareimage[gpu-image]]% category set gpu-nodes softwareimage default-image
        [basecm10->softwareimage[gpu-image]]% usedby gpu-image
        SoftwareImage used by the following:
        Type             Name       Parameter
        ---------------- ---------- ---------------------
        [basecm10->softwareimage[gpu-image]]% usedby nosuch
        """, errors=["No softwareimage named nosuch"])


# -- swap -----------------------------------------------------------------------------------------
def test_swap_exchanges_names(cm, tmp_path, db):
    transcript(cm, tmp_path, """
        [basecm10]% device
        [basecm10->device]% swap gpu001 gpu002
        [basecm10->device*]% list -f hostname,ip -s ip
        hostname (key) ip
        -------------- --------------
        node001        10.141.0.1
        node002        10.141.0.2
        node003        10.141.0.3
        node004        10.141.0.4
        node005        10.141.0.5
        node006        10.141.0.6
        gpu002         10.141.1.1
        gpu001         10.141.1.2
        basecm10       10.141.255.254
        [basecm10->device*]% commit
        Successfully committed 2 Devices
        [basecm10->device]% kubernetes
        [basecm10->kubernetes[default]]% appgroups
        [basecm10->kubernetes[default]->appgroups]% use system
        [basecm10->kubernetes[default]->appgroups[system]]% applications
        [basecm10->kubernetes[default]->appgroups[system]->applications]% use calico
        [basecm10->kubernetes[default]->appgroups[system]->applications[calico]]% swap calico dashboard
        [basecm10->kubernetes*[default*]->appgroups*[system*]->applications*[dashboard*]]% get name
        dashboard
        [basecm10->kubernetes*[default*]->appgroups*[system*]->applications*[dashboard*]]% swap calico calico
        [basecm10->kubernetes*[default*]->appgroups*[system*]->applications*[dashboard*]]% swap calico
        """, errors=["swap: name two different objects", "Usage: swap <object> <object>"])
    assert dict(store(db, "SELECT name, json_extract(doc, '$.ip') FROM objects "
                     "WHERE mode = 'device' AND name LIKE 'gpu%'")) \
        == {"gpu001": "10.141.1.2", "gpu002": "10.141.1.1"}


# -- rename ---------------------------------------------------------------------------------------
def test_rename_moves_the_pointers_and_commits_with_them(cm, tmp_path, db):
    transcript(cm, tmp_path, """
        [basecm10]% device
        [basecm10->device]% rename node001 test1
        Renamed: node001 to test1
        [basecm10->device*]% modified
        State  Type                     Name
        ------ ------------------------ ----------------------------------
               Device                   test1
        [basecm10->device*]% configurationoverlay list -f name,nodes
        name (key)          nodes
        ------------------- ---------------------
        kube-default-etcd   test1,node002,node003
        kube-default-master test1,node002,node003
        kube-default-worker node004..node006
        [basecm10->device*]% validate
        All good
        [basecm10->device*]% commit
        Successfully committed 1 Devices
        Successfully committed 2 ConfigurationOverlays
        Successfully committed 1 KubeClusters
        [basecm10->device]% usedby test1
        Device used by the following:
        Type                 Name                Parameter
        -------------------- ------------------- ---------------------
        ConfigurationOverlay kube-default-etcd   nodes
        ConfigurationOverlay kube-default-master nodes
        KubeCluster          default             labelsets[etcd].nodes
        """)
    names = {n for (n,) in store(db, "SELECT name FROM objects WHERE mode='device'")}
    assert "test1" in names and "node001" not in names


def test_rename_lists_bases_formats_and_dry_runs(cm, tmp_path):
    transcript(cm, tmp_path, """
        [basecm10]% device
        [basecm10->device]% rename --dry-run node00[4-6] w%02d
        Would rename: node004 to w01
        Would rename: node005 to w02
        Would rename: node006 to w03
        [basecm10->device]% rename node004..node006 worker
        Renamed: node004 to worker1
        Renamed: node005 to worker2
        Renamed: node006 to worker3
        [basecm10->device*]% rename gpu001,gpu002 a100-1,a100-2
        Renamed: gpu001 to a100-1
        Renamed: gpu002 to a100-2
        [basecm10->device*]% category
        [basecm10->category]% rename gpu-nodes gpu
        Renamed: gpu-nodes to gpu
        [basecm10->category*]% device list -f hostname,category
        hostname (key) category
        -------------- --------
        a100-1         gpu
        a100-2         gpu
        basecm10
        node001        default
        node002        default
        node003        default
        worker1        default
        worker2        default
        worker3        default
        [basecm10->category*]% commit
        Successfully committed 1 Categories
        Successfully committed 2 Devices
        Successfully committed 1 KubeClusters
        [basecm10->category]% device
        [basecm10->device*]% commit
        Successfully committed 3 Devices
        Successfully committed 1 ConfigurationOverlays
        [basecm10->device]% rename node001 node002
        [basecm10->device]% rename node00[1-3] x1,x2
        [basecm10->device]% rename node001,node002 same%.0s
        [basecm10->device]% rename nosuch other
        [basecm10->device]% rename node001 a,b%d
        """, errors=["rename: Device node002 already exists (use 'swap' to exchange names)",
                     "rename: 3 objects but 2 new names",
                     "rename: same would be given to more than one object",
                     "No device named nosuch",
                     "rename: invalid name a,b1: it holds ',', which node lists read as syntax"])


def test_revision_is_a_free_text_field(cm, tmp_path):
    transcript(cm, tmp_path, """
        [basecm10]% device use node001
        [basecm10->device[node001]]% set revision "changed on 10th May"
        [basecm10->device*[node001*]]% get revision
        changed on 10th May
        [basecm10->device*[node001*]]% commit
        [basecm10->device[node001]]% category set default revision r2
        [basecm10->device[node001]]% category get default revision
        r2
        """)


def test_list_streams_staged_objects_in_their_place(cm):
    res = cm("-c", "device; use node002; set hostname zzz; add physicalnode aaa 10.141.1.1; remove node003; "
                   "list -f hostname:0,ip:0")
    assert_ok(res)
    assert res.stdout.splitlines() == [
        "hostname (key) ip", "-------------- --", "aaa 10.141.1.1", "basecm10 10.141.255.254",
        "gpu001 10.141.1.1", "gpu002 10.141.1.2", "node001 10.141.0.1", "node004 10.141.0.4",
        "node005 10.141.0.5", "node006 10.141.0.6", "zzz 10.141.0.2"]


def test_format_and_sort_reset_take_no_arguments_and_no_other_option(cm):
    for command in ("format", "sort"):
        res = cm("-c", f"network; {command} name; {command} -r name")
        assert res.returncode == 1 and res.err_lines == [f"{command}: unexpected argument name"], str(res)
        res = cm("-c", f"network; {command} --reset; {command} -x")
        assert res.returncode == 1 and res.err_lines == [f"{command}: unknown option -x"], str(res)
    res = cm("-c", "network; format name:22; sort baseaddress; format --reset; sort -r; format; sort")
    assert_ok(res)
    assert res.stdout.splitlines()[2].startswith("name:[10-30], type:"), str(res)   # the default again
    assert res.stdout.splitlines()[-1] == "Current sort order: name (the key)"


def test_a_list_by_type_streams_staged_objects_in_their_place(cm, monkeypatch):
    """device lists by type, then hostname (its `sort`); the store gives the rows in that order
    from an index, so the list streams (Store.scan by type) instead of reading every device
    into the session, and staged objects take their place in it, as the fully sorted list
    (JSON) has them."""
    from cmshell.store.sqlite import SqliteStore
    scans, real = [], SqliteStore.scan

    def scan(self, mode, *args, **kw):
        scans.append((mode, kw.get("by_type", False)))
        return real(self, mode, *args, **kw)
    monkeypatch.setattr(SqliteStore, "scan", scan)
    edits = "device; use node002; set hostname zzz; add switch aaa; add physicalnode bbb 10.141.1.9; remove node003"
    res = cm("-c", f"{edits}; list -f type:0,hostname:0")
    assert_ok(res)
    assert scans == [("device", True)]
    assert res.stdout.splitlines() == [
        "type hostname (key)", "---- --------------", "HeadNode basecm10", "PhysicalNode bbb",
        "PhysicalNode gpu001", "PhysicalNode gpu002", "PhysicalNode node001", "PhysicalNode node004",
        "PhysicalNode node005", "PhysicalNode node006", "PhysicalNode zzz", "Switch aaa"]
    monkeypatch.undo()
    whole = cm("-c", f"{edits}; list -f type,hostname -d {{}}")         # sorted whole, not streamed
    assert_ok(whole)
    assert [r["hostname (key)"] for r in json.loads(whole.stdout)] == [
        line.split()[1] for line in res.stdout.splitlines()[2:]]
