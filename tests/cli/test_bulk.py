"""Bulk work through the real entry point: the node-list grammar wherever objects are listed,
`foreach` (objects, `*`, -n -c -e -l -m -t -s -i -u -v -q, `( cmd; cmd )`, --clone) and
`range` (prompt, one line per member, staging, --show, --clear, `..`). Sessions are compared
whole, prompts included, as transcripts (cmsh-behaviour §4.14; scenarios.transcript)."""
from __future__ import annotations

import re
import subprocess
import sys

import pytest
from scenarios import journal_length, notes, store, transcript

from conftest import GENERATE, assert_clean, assert_ok


# -- the grammar in foreach ---------------------------------------------------------------------
def test_dot_and_bracket_ranges_name_the_same_nodes(cm, tmp_path):
    transcript(cm, tmp_path, """
        [basecm10]% device
        [basecm10->device]% foreach node001..node004 (get ip)
        10.141.0.1
        10.141.0.2
        10.141.0.3
        10.141.0.4
        [basecm10->device]% foreach -n node00[1-4] (get ip)
        10.141.0.1
        10.141.0.2
        10.141.0.3
        10.141.0.4
        [basecm10->device]% foreach -n node001..004 (get ip)
        10.141.0.1
        10.141.0.2
        10.141.0.3
        10.141.0.4
        """)


def test_exclusion_stride_lists_and_words(cm, tmp_path):
    transcript(cm, tmp_path, """
        [basecm10]% device
        [basecm10->device]% foreach -n node001..node005,-node002..node003 (get hostname)
        node001
        node004
        node005
        [basecm10->device]% foreach -n node00[1..6:2] (get hostname)
        node001
        node003
        node005
        [basecm10->device]% foreach gpu002 node00[5,1] gpu001,-gpu002 (get hostname)
        node005
        node001
        gpu001
        """)


def test_node_list_from_a_file(cm, tmp_path):
    (tmp_path / "rack1").write_text("# rack 1\nnode002 node004\ngpu00[1-2]\n")
    transcript(cm, tmp_path, f"""
        [basecm10]% device
        [basecm10->device]% foreach -n ^{tmp_path}/rack1 (get hostname)
        node002
        node004
        gpu001
        gpu002
        """)


def test_two_brackets_and_compressed_lists_in_cells(cm, tmp_path):
    transcript(cm, tmp_path, """
        [basecm10]% device
        [basecm10->device]% foreach --clone node006 --next-ip -n node[007-008]s[01-03] ()
        [basecm10->device*]% list -f hostname:12,ip
        hostname (ke ip
        ------------ --------------
        basecm10     10.141.255.254
        gpu001       10.141.1.1
        gpu002       10.141.1.2
        node001      10.141.0.1
        node002      10.141.0.2
        node003      10.141.0.3
        node004      10.141.0.4
        node005      10.141.0.5
        node006      10.141.0.6
        node007s01   10.141.0.7
        node007s02   10.141.0.8
        node007s03   10.141.0.9
        node008s01   10.141.0.10
        node008s02   10.141.0.11
        node008s03   10.141.0.12
        [basecm10->device*]% configurationoverlay use kube-default-worker
        [basecm10->configurationoverlay[kube-default-worker]]% set nodes node[007-008]s[01-03],-node008s02
        [basecm10->configurationoverlay*[kube-default-worker*]]% get nodes
        node007s01
        node007s02
        node007s03
        node008s01
        node008s03
        [basecm10->configurationoverlay*[kube-default-worker*]]% set nodes node001..node006,-node00[2..4:2]
        [basecm10->configurationoverlay*[kube-default-worker*]]% exit
        [basecm10->configurationoverlay*]% list -f name,nodes
        name (key)          nodes
        ------------------- -------------------------------
        kube-default-etcd   node001..node003
        kube-default-master node001..node003
        kube-default-worker node001,node003,node005,node006
        """)


def test_remove_takes_a_node_list(cm, tmp_path):
    transcript(cm, tmp_path, """
        [basecm10]% device
        [basecm10->device]% remove gpu00[1-2]
        [basecm10->device*]% modified
        State  Type                     Name
        ------ ------------------------ ----------------------------------
        ~      Device                   gpu001
        ~      Device                   gpu002
        """)


# -- foreach -------------------------------------------------------------------------------------
def test_foreach_objects_star_and_command_lists(cm, tmp_path):
    transcript(cm, tmp_path, """
        [basecm10]% category
        [basecm10->category]% foreach * (get name; get softwareimage)
        default
        default-image
        gpu-nodes
        gpu-image
        [basecm10->category]% device use node001
        [basecm10->device[node001]]% foreach gpu001 gpu002 (get ip; get category)
        10.141.1.1
        gpu-nodes
        10.141.1.2
        gpu-nodes
        [basecm10->device[node001]]% foreach * -node00[1-6] (get hostname)
        basecm10
        gpu001
        gpu002
        """)


def test_foreach_grouping_options(cm, tmp_path):
    transcript(cm, tmp_path, """
        [basecm10]% device
        [basecm10->device]% foreach -c gpu-nodes (get hostname)
        gpu001
        gpu002
        [basecm10->device]% foreach -t headnode (get hostname)
        basecm10
        [basecm10->device]% foreach -m gpu-image (get hostname)
        gpu001
        gpu002
        [basecm10->device]% foreach -e kube-default-etcd (get hostname)
        node001
        node002
        node003
        [basecm10->device]% foreach -l kubelet -c gpu-nodes (get hostname)
        node001
        node002
        node003
        node004
        node005
        node006
        gpu001
        gpu002
        [basecm10->device]% foreach -u -l kubelet -c gpu-nodes -n basecm10 (get hostname)
        node001
        node002
        node003
        node004
        node005
        node006
        gpu001
        gpu002
        basecm10
        [basecm10->device]% foreach -i -l etcd::host -e kube-default-worker (get hostname)
        node001
        node002
        node003
        [basecm10->device]% foreach -i -c default -n node00[4-6],gpu001 (get hostname)
        node004
        node005
        node006
        """)


def test_foreach_role_follows_the_category_and_overlays_that_are_on(cm, tmp_path):
    transcript(cm, tmp_path, """
        [basecm10]% configurationoverlay use kube-default-etcd
        [basecm10->configurationoverlay[kube-default-etcd]]% set priority -1
        [basecm10->configurationoverlay*[kube-default-etcd*]]% device
        [basecm10->device]% foreach -l etcd::host (get hostname)
        [basecm10->device]% foreach -l docker::host -t physicalnode -i (get hostname)
        node001
        node002
        node003
        node004
        node005
        node006
        """)


def test_foreach_verbose_prints_a_header_per_object(cm):
    res = cm("-c", "device; foreach -v -n node001,gpu001 (get ip)")
    assert_ok(res)
    lines = res.stdout.splitlines()
    assert [re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$", "TIME", x) for x in lines] == [
        "== node001 == TIME", "10.141.0.1", "== gpu001 == TIME", "10.141.1.1"]


def test_set_in_foreach_stages_one_change_per_object_and_one_commit_stores_them(cm, tmp_path, db):
    journal = journal_length(db)
    transcript(cm, tmp_path, """
        [basecm10]% device
        [basecm10->device]% foreach -n node00[1-4] (set notes "rack 1"; set revision "changed on 10th May")
        [basecm10->device*]% modified
        State  Type                     Name
        ------ ------------------------ ----------------------------------
               Device                   node001
               Device                   node002
               Device                   node003
               Device                   node004
        [basecm10->device*]% commit
        Successfully committed 4 Devices
        [basecm10->device]% get node003 revision
        changed on 10th May
        """)
    assert notes(db) == {f"node00{i}": "rack 1" for i in range(1, 5)}
    assert journal_length(db) == journal + 1


def test_foreach_enters_submodes_per_object_and_comes_back(cm, tmp_path):
    transcript(cm, tmp_path, """
        [basecm10]% device
        [basecm10->device]% foreach -c gpu-nodes (roles; assign generic::harbor; set datanode yes)
        [basecm10->device*]% foreach gpu001 gpu002 (roles; use generic::harbor; get datanode)
        yes
        yes
        [basecm10->device*]% modified
        State  Type                     Name
        ------ ------------------------ ----------------------------------
               Device                   gpu001
               Device                   gpu002
        """)


def test_foreach_nests(cm, tmp_path):
    transcript(cm, tmp_path, """
        [basecm10]% kubernetes
        [basecm10->kubernetes[default]]% appgroups
        [basecm10->kubernetes[default]->appgroups]% foreach * (applications; foreach calico,dashboard (get name; get enabled))
        calico
        yes
        dashboard
        yes
        """)


def test_foreach_clone_guesses_ips(cm, tmp_path):
    transcript(cm, tmp_path, """
        [basecm10]% device
        [basecm10->device]% foreach --clone node001 -n node022..node024 (get ip)
        10.141.0.22
        10.141.0.23
        10.141.0.24
        [basecm10->device*]% foreach --clone node001 -n gpu010 (get ip)
        Base name mismatch, IP settings will not be modified!
        10.141.0.1
        [basecm10->device*]% foreach -o node001 --next-ip -n w1,w2 (get ip; get mac; get category)
        10.141.0.7
        00:00:00:00:00:00
        default
        10.141.0.8
        00:00:00:00:00:00
        default
        [basecm10->device*]% commit
        [basecm10->device*]% set gpu010 ip 10.141.1.10
        [basecm10->device*]% commit
        Successfully committed 6 Devices
        """, errors=["Code  Field                    Message",
                     "----- ------------------------ ---------------------------------------------------------------------",
                     "4     ip                       gpu010 and node001 have the same IP 10.141.0.1 in network internalnet"])


def test_foreach_errors_are_one_line_and_lose_nothing(cm, tmp_path):
    transcript(cm, tmp_path, """
        [basecm10]% device
        [basecm10->device]% set node001 notes kept
        [basecm10->device*]% foreach -n node001..node003 (set nosuch 1; get ip)
        10.141.0.1
        10.141.0.2
        10.141.0.3
        [basecm10->device*]% foreach -q -n node001..node003 (set nosuch 1; get ip)
        [basecm10->device*]% foreach -n node005..node009 (set notes x)
        [basecm10->device*]% foreach -n node009..node005 (get ip)
        [basecm10->device*]% foreach -s UP (get ip)
        [basecm10->device*]% foreach -r rack1 (get ip)
        [basecm10->device*]% foreach -n node001 get ip
        [basecm10->device*]% foreach -n node001 (get ip) x
        [basecm10->device*]% foreach -x node001 (get ip)
        [basecm10->device*]% category foreach -n default (get name)
        [basecm10->device*]% foreach --clone node001 -n node002 ()
        [basecm10->device*]% get node001 notes
        kept
        """, errors=[
        "node001..node003: Unknown parameter 'nosuch' in device; 'show' lists the parameters",
        "node001: Unknown parameter 'nosuch' in device; 'show' lists the parameters",
        "foreach: no device named node007..node009",
        "Invalid range: node009..node005 (it starts after it ends)",
        "foreach -s: cmshell has no device status data (no monitoring backend), so it cannot "
        "select by status; use -n, -c, -e, -l, -m or -t",
        "foreach: cmshell's schema has no node groups, racks or chassis (-g, -r, -h); use -n, -c, -e, -l, -m or -t",
        "Usage: foreach [options] <objects> ( <command>; <command> ... )",
        "foreach: unexpected x after ')'",
        "foreach: unknown option -x",
        "foreach -n: selects devices; use it in device mode",
        "foreach --clone: node002 already exists",
    ])


def test_unknown_role_names_the_roles(cm):
    res = cm("-c", "device; foreach -l nosuchrole (get ip)")
    assert res.returncode == 1 and res.stdout == "", str(res)
    assert len(res.err_lines) == 1
    assert res.stderr.startswith("foreach -l: unknown role nosuchrole; roles: capi, Docker::Host, "), str(res)


def test_pipes_go_after_the_parentheses(cm):
    res = cm("-c", "device; foreach -n node00[1-3] (get ip) | sort -r")
    assert_ok(res)
    assert res.stdout == "10.141.0.3\n10.141.0.2\n10.141.0.1\n"
    res = cm("-c", "device; foreach * (list | grep x)")
    assert_clean(res)
    assert res.returncode == 1 and "inside ( ... ) is not supported" in res.stderr


# -- range -----------------------------------------------------------------------------------------
def test_range_prompt_members_staging_and_leaving(cm, tmp_path, db):
    transcript(cm, tmp_path, """
        [basecm10]% device
        [basecm10->device]% range -n node0[01-06]
        [basecm10->device{-n node001..006}]% get ip
        10.141.0.1
        10.141.0.2
        10.141.0.3
        10.141.0.4
        10.141.0.5
        10.141.0.6
        [basecm10->device{-n node001..006}]% set notes "in range"
        [basecm10->device*{-n node001..006}]% list -f hostname,notes
        hostname (key) notes
        -------------- --------
        node001        in range
        node002        in range
        node003        in range
        node004        in range
        node005        in range
        node006        in range
        [basecm10->device*{-n node001..006}]% range --show
        node001..node006
        [basecm10->device*{-n node001..006}]% commit
        Successfully committed 6 Devices
        [basecm10->device{-n node001..006}]% ..
        [basecm10->device]% range -c gpu-nodes
        [basecm10->device{-c gpu-nodes}]% get hostname
        gpu001
        gpu002
        [basecm10->device{-c gpu-nodes}]% range --clear
        [basecm10->device]% range gpu001,node001
        [basecm10->device{gpu001,node001}]% category
        [basecm10->category]% device
        [basecm10->device]%
        """)
    assert notes(db) == {f"node00{i}": "in range" for i in range(1, 7)}


def test_range_submodes_apply_to_every_member(cm, tmp_path):
    transcript(cm, tmp_path, """
        [basecm10]% device
        [basecm10->device]% range -n gpu00[1-2]
        [basecm10->device{-n gpu001,gpu002}]% roles
        [basecm10->device{-n gpu001,gpu002}->roles]% assign generic::harbor
        [basecm10->device*{-n gpu001,gpu002}->roles[generic::harbor]]% set datanode yes
        [basecm10->device*{-n gpu001,gpu002}->roles[generic::harbor]]% get datanode
        yes
        yes
        [basecm10->device*{-n gpu001,gpu002}->roles[generic::harbor]]% ..
        [basecm10->device*{-n gpu001,gpu002}->roles]% ..
        [basecm10->device*{-n gpu001,gpu002}]% modified
        State  Type                     Name
        ------ ------------------------ ----------------------------------
               Device                   gpu001
               Device                   gpu002
        [basecm10->device*{-n gpu001,gpu002}]% ..
        [basecm10->device*]%
        """)


def test_range_errors(cm, tmp_path):
    transcript(cm, tmp_path, """
        [basecm10]% device
        [basecm10->device]% range --show
        [basecm10->device]% range -n node0[01-99]
        [basecm10->device]% range -n node00[1-2]
        [basecm10->device{-n node001,node002}]% set nosuch x
        [basecm10->device{-n node001,node002}]% range -n node001 (get ip)
        [basecm10->device{-n node001,node002}]% get mac
        FA:16:3E:E4:8D:8C
        FA:16:3E:FC:DD:1C
        """, errors=[
        "range --show: no range is active",
        "range: no device named node007..node099",
        "node001,node002: Unknown parameter 'nosuch' in device; 'show' lists the parameters",
        "range: takes no ( ... ); use foreach for that",
    ])


# -- 10,000 nodes ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def big_db(tmp_path_factory, shared_cache):
    d = tmp_path_factory.mktemp("big")
    yaml_file = d / "c10k.yaml"
    with open(yaml_file, "w") as fh:
        subprocess.run([sys.executable, str(GENERATE), "--nodes", "10000"], stdout=fh, check=True)
    from conftest import Cmshell
    (d / "home").mkdir()
    db = d / "c10k.db"
    assert_ok(Cmshell(d / "home", shared_cache, db, d)("--load", str(yaml_file)))
    return db


def test_foreach_over_10000_nodes_and_one_commit(cm, big_db, tmp_path):
    from conftest import copy_store
    db = copy_store(big_db, tmp_path / "work.db")
    res = cm("-c", "device; foreach -c default (set notes x); commit", db=db)   # speed: bench_bulk.py
    assert_ok(res)
    assert res.stdout == "Successfully committed 8750 Devices\n"
    rows = store(db, "SELECT json_extract(doc, '$.category'), count(*) FROM objects "
                     "WHERE mode='device' AND json_extract(doc, '$.notes') = 'x' GROUP BY 1")
    assert rows == [("default", 8750)]
    assert journal_length(db) == 2      # the load, then this commit


def test_foreach_set_prepared_once_does_what_set_in_each_object_does(db, shared_cache):
    """`set` in a foreach is prepared once (CommandDef.prepare): whatever the body, the output,
    the errors, the staged documents, the `*` marks and the prompt are those of dispatching
    `set` in each object."""
    from cmshell.shell import dispatch
    from cmshell.store import open_store

    from conftest import copy_store, session_on
    lines = ["device", "foreach * (set notes x)", "foreach -n node001..node004 (set nosuch 1; get notes)",
             "foreach -t physicalnode,switch (set mac 00:11:22:33:44:zz; set ip 10.1.2.3)",
             "foreach -n node001,node002 (set notes; set revision r1; set revision)",
             "foreach -n node003,node004 (set datanode yes; set hostname renamed-x)",
             "foreach * (set type switch)", "foreach -c default (set notes x)", "foreach node005 (set notes y)",
             "foreach -n node005,node006 (set notes)", "category; foreach * (set notes cat; set name c)",
             "device; foreach -n node001,node002,node005 (set -e k v; set extra x)", "modified"]

    used = []

    def run(prepared: bool):
        path = db.parent / f"copy-{prepared}.db"
        store = open_store(copy_store(db, path))
        s = session_on(store, shared_cache)
        prepare = s.commands.defs["set"].prepare
        s.commands.defs = dict(s.commands.defs, set=dispatch.CommandDef(**{
            **s.commands.defs["set"].__dict__,
            "prepare": (lambda args: used.append(args) or prepare(args)) if prepared else None}))
        prompts = []
        for line in lines:
            s.run_line(line)
            prompts.append(s.prompt())
        staged = {rid: (st.mode, st.doc) for rid, st in s.ws.staged.items()}
        got = (s.env.stdout.getvalue(), s.env.stderr.getvalue(), prompts, staged, s.ws.marks, s.ws.pending())
        store.close()
        return got

    fast, slow = run(True), run(False)
    assert fast == slow
    assert len(used) > 10
    assert "Unknown parameter 'nosuch'" in fast[1] and "renamed-x" in str(fast[3])
