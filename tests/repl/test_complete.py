"""suggest(): what fits at the cursor, over the demo cluster (basecm10), through a real store.

Each case puts a session somewhere with ordinary commands, then asks what completes the text
before the cursor. No prompt_toolkit here: the pure function on its own.
"""
from __future__ import annotations

import os

import pytest

from conftest import copy_store, session_on
from cmshell.shell import complete
from cmshell.shell.complete import classify, destructive, suggest
from cmshell.shell.session import Session
from cmshell.store import open_store


@pytest.fixture(scope="module")
def store_path(template_db, tmp_path_factory):
    return copy_store(template_db, tmp_path_factory.mktemp("complete") / "c.db")


@pytest.fixture
def at(store_path, shared_cache):
    """at("category use default; roles") -> a fresh session standing there."""
    store = open_store(store_path)

    def make(where: str = "") -> Session:
        s = session_on(store, shared_cache)
        if where:
            assert s.run_line(where), s.err.getvalue()
        return s

    yield make
    store.close()


def words(s, text):
    return [c.text for c in suggest(s, text)]


DEVICES = ["basecm10", "gpu001", "gpu002", "node001", "node002", "node003", "node004", "node005",
           "node006"]

CASES = [
    # -- commands, mode words, submode words, aliases -----------------------------------------
    ("", "devi", ["device"]),
    ("", "hist", ["history"]),
    ("", "quitc", ["quitconfirmation"]),
    ("", "ev", ["events"]),
    ("device", "clo", ["clone"]),
    ("device", "ls", ["ls"]),
    ("device", "..", [".."]),
    ("category use default; roles", "as", ["assign"]),
    ("category use default; roles; use docker::host", "stor", ["storagebackends"]),
    ("device use node001", "role", ["roles"]),
    ("kubernetes", "appg", ["appgroups"]),
    # -- object names -------------------------------------------------------------------------
    ("", "device use no", ["node001", "node002", "node003", "node004", "node005", "node006"]),
    ("device", "use ", DEVICES),
    ("device", "show gp", ["gpu001", "gpu002"]),
    ("device", "get node00", ["node001", "node002", "node003", "node004", "node005", "node006"]),
    ("device", "remove node001 node00", ["node002", "node003", "node004", "node005", "node006"]),
    ("device", "clone gpu", ["gpu001", "gpu002"]),
    ("device use node001", "use gpu", ["gpu001", "gpu002"]),
    ("device use node001", "show gpu00", ["gpu001", "gpu002"]),
    ("category use default; roles", "use doc", ["Docker::Host"]),
    ("category use default; roles", "unassign ", ["Docker::Host"]),
    ("category", "roles gpu", ["gpu-nodes"]),
    ("kubernetes; appgroups", "applications sy", ["system"]),
    ("device use node001", "category use ", ["default", "gpu-nodes"]),
    ("", "configurationoverlay use kube-default-w", ["kube-default-worker"]),
    ("device use basecm10; roles; use firewall; openports", "use ", ["0", "1"]),
    # -- parameter names ------------------------------------------------------------------------
    ("device use node001", "get softw", ["softwareimage"]),
    ("device", "get node001 i", ["installbootrecord", "installmode", "ip"]),
    ("device use node001", "clear soft", ["softwareimage"]),
    ("device use node001", "clear notes soft", ["softwareimage"]),
    ("category use default; roles; use docker::host", "set ipt", ["iptables"]),
    ("configurationoverlay use kube-default-worker", "append ", ["categories", "nodes"]),
    ("configurationoverlay use kube-default-worker", "removefrom n", ["nodes"]),
    ("device use node001", "set -", ["--extra", "-e"]),
    # -- values -----------------------------------------------------------------------------------
    ("device use node001", "set datanode ", ["no", "yes"]),
    ("device use node001", "set nextinstallmode n", ["nosync"]),
    ("device use node001", "set nextinstallmode NO", ["nosync"]),
    ("device use node001", "set installmode ", ["auto", "full", "main", "nosync", "sync"]),
    ("device use node001", "set category ", ["default", "gpu-nodes"]),
    ("device", "set node001 softwareimage ", ["default-image", "gpu-image"]),
    ("category use default; roles; use docker::host", "set iptables ", ["no", "yes"]),
    ("configurationoverlay use kube-default-worker", "append nodes gpu", ["gpu001", "gpu002"]),
    ("configurationoverlay use kube-default-worker", "removefrom nodes ", ["node004", "node005", "node006"]),
    ("configurationoverlay use kube-default-worker", "removefrom nodes node004 ", ["node005", "node006"]),
    # -- role types after assign, object types after add --------------------------------------------
    ("category use default; roles", "assign etc", ["etcd::host"]),
    ("category use default; roles; use docker::host; storagebackends", "add ",
     ["aufs", "devicemapper", "overlay2"]),
    ("device", "add p", ["physicalnode", "powerdistributionunit"]),
    ("device use basecm10; roles; use firewall; openports", "add ", ["accept", "drop", "reject"]),
    ("device interfaces node001", "add ", ["bond", "bridge", "physical", "vlan"]),
    ("device interfaces node001", "add physical eth1 10.141.1.1 ", ["externalnet", "internalnet",
                                                                   "kube-default-pod", "kube-default-service"]),
    # -- mode words and commands as arguments, literal words -----------------------------------------
    ("", "help dev", ["device"]),
    ("device", "help se", ["set"]),
    ("", "events o", ["off", "on"]),
    ("", "quitconfirmation ", ["off", "on"]),
    ("", "history -", ["--timestamps", "-t"]),
    ("device", "list -", ["--delimiter", "--field-keys", "--format", "--output", "--sort", "--verbose", "-d", "-f", "-s", "-v"]),
    # -- values of options (issue 12, item 13) ---------------------------------------------------------
    ("device", "foreach -n node00", ["node001", "node002", "node003", "node004", "node005", "node006"]),
    ("device", "foreach -c ", ["default", "gpu-nodes"]),
    ("device", "foreach --category gp", ["gpu-nodes"]),
    ("device", "foreach -e kube-default-w", ["kube-default-worker"]),
    ("device", "foreach -l kubel", ["kubelet"]),
    ("device", "foreach -m ", ["default-image", "gpu-image"]),
    ("device", "foreach -t phys", ["physicalnode"]),
    ("device", "foreach -o gpu", ["gpu001", "gpu002"]),
    ("device", "foreach -c default -i -l etc", ["etcd::host"]),
    ("device", "foreach -c default,", ["default,gpu-nodes"]),      # the list's next item
    ("device", "foreach -n node001..node00", ["node001..node001", "node001..node002", "node001..node003",
                                             "node001..node004", "node001..node005", "node001..node006"]),
    ("device", "foreach -s ", []),                  # a regular expression: nothing to offer
    ("device", "range -c ", ["default", "gpu-nodes"]),            # categories, not devices
    ("device", "range -c default ", DEVICES),      # then objects again
    ("device", "range -n gpu", ["gpu001", "gpu002"]),
    ("device", "range -m gpu", ["gpu-image"]),
    ("device", "list -f host", ["hostname"]),
    ("device", "list -f hostname:20,cat", ["hostname:20,category"]),
    ("device", "list -f hostname:2", []),           # a width
    ("device", "list --sort ty", ["type"]),
    ("category", "list -f name,soft", ["name,softwareimage"]),
    ("device", "format hostname:[10-20],inst", ["hostname:[10-20],installbootrecord",
                                                "hostname:[10-20],installmode"]),
    ("device", "format -", ["--reset", "-r"]),
    ("device", "sort cat", ["category"]),
    ("device", "sort category ", ["datanode", "hostname", "installbootrecord", "installmode", "interfaces", "ip",
                                  "mac", "network", "nextinstallmode", "notes", "revision", "roles",
                                  "services", "softwareimage", "type"]),
    ("category", "listnodes -f host", ["hostname"]),
    ("device", "swap gpu", ["gpu001", "gpu002"]),
    ("device", "swap gpu001 gpu", ["gpu002"]),     # never the object itself
    ("", "sync -c ", ["default", "gpu-nodes"]),
    ("", "sync -n gpu", ["gpu001", "gpu002"]),
    ("", "sync ", ["kubernetes", "ssh"]),
    ("", "commit ", ["check", "confirmed"]),
    ("category", "commit conf", ["confirmed"]),
    ("", "drift ", ["apps", "nodes"]),
    ("", "plan --", ["--all"]),
    ("", "ds gpu", ["gpu001", "gpu002"]),
    ("device", "status node00", ["node001", "node002", "node003", "node004", "node005", "node006"]),
    # -- several commands on a line: the context follows the navigation -------------------------------
    ("", "category use default; roles; use ", ["Docker::Host"]),
    ("", "device use node001; set notes x; set category g", ["gpu-nodes"]),
    ("device use node001", "exit; use gpu", ["gpu001", "gpu002"]),
    ("device use node001", "home; dev", ["device"]),
    ("category use default", "device list; set softwareimage g", ["gpu-image"]),
    # -- nothing fits ----------------------------------------------------------------------------------
    ("", "nosuchcommand ", []),
    ("device", "use nosuch", []),
    ("device use node001", "set nosuchparam ", []),
    ("device use node001", "set notes ", []),
    ("", "!ls ", []),
    ("device", "list | grep ", []),
    ("device", "list # a comment ", []),
    ("", "list", []),                 # list needs a mode
    ("", "set ", []),
]


@pytest.mark.parametrize("where,text,expected", CASES, ids=[f"{w}|{t}" for w, t, _ in CASES])
def test_suggest(at, where, text, expected):
    assert words(at(where), text) == expected


def test_at_least_forty_cases():
    assert len(CASES) >= 40


def test_top_level_offers_top_commands_and_modes_only(at):
    got = words(at(), "")
    for w in ("device", "category", "kubernetes", "help", "quit", "exit", "history", "events",
              "commit", "modified"):
        assert w in got
    for w in ("list", "set", "use", "assign", "ls"):     # need a mode (or a roles submode)
        assert w not in got
    assert got == sorted(got)


def test_a_list_level_adds_mode_commands_and_aliases(at):
    got = words(at("device"), "")
    assert {"list", "use", "show", "get", "set", "add", "remove", "ls", "help"} <= set(got)
    assert "assign" not in got and "options" not in got


def test_custom_commands_only_where_the_role_has_them(at):
    assert words(at("configurationoverlay use kube-default-master; roles; use kubelet"), "opt") == ["options"]
    assert words(at("category use default; roles; use docker::host"), "opt") == []


def test_roles_already_assigned_are_not_offered(at):
    got = words(at("category use default; roles"), "assign ")
    assert "docker::host" not in got
    assert {"etcd::host", "firewall", "kubelet", "generic::"} <= set(got)


def test_generic_role_prefix_leaves_the_name_open(at):
    (c,) = suggest(at("category use default; roles"), "assign gen")
    assert (c.text, c.final) == ("generic::", False)


def test_replacement_offset_and_metadata(at):
    cands = suggest(at(), "device use no")
    assert {c.start for c in cands} == {-2}
    assert {c.kind for c in cands} == {"object"} and cands[0].meta == "Device"
    (c,) = suggest(at(), "dev")
    assert (c.kind, c.meta, c.start, c.final) == ("mode", "Enter device mode", -3, True)
    (p,) = suggest(at("device use node001"), "set softw")
    assert p.kind == "param" and "image" in p.meta.lower()


def test_quoted_words_stay_quoted(at):
    assert words(at(), 'device use "node00')[:2] == ['"node001"', '"node002"']


def test_blob_parameters_complete_file_names(at, tmp_path, monkeypatch):
    (tmp_path / "calico.yaml").write_text("x")
    (tmp_path / "conf.d").mkdir()
    (tmp_path / ".hidden").write_text("x")
    s = at("kubernetes; appgroups; use system; applications; use calico")
    got = suggest(s, f"set config {tmp_path}/c")
    assert [c.text for c in got] == [f"{tmp_path}/calico.yaml", f"{tmp_path}/conf.d/"]
    assert [c.final for c in got] == [True, False]          # a directory stays open
    monkeypatch.chdir(tmp_path)
    assert words(s, "set config ca") == ["calico.yaml"]
    assert words(s, "set config .h") == [".hidden"]


def test_run_and_redirections_complete_file_names(at, tmp_path, monkeypatch):
    (tmp_path / "changes.cmsh").write_text("device\n")
    monkeypatch.chdir(tmp_path)
    assert words(at(), "run ch") == ["changes.cmsh"]
    assert words(at("device"), "list > ch") == ["changes.cmsh"]
    assert words(at("device"), "list >> ch") == ["changes.cmsh"]


def test_inside_a_foreach_block_the_objects_parameters(at):
    assert words(at("device"), "foreach -n node001..node003 (set not") == ["notes"]
    assert words(at("device"), "foreach -n node001..node003 (get ip; set category g") == ["gpu-nodes"]


def test_option_values_issue_12_item_13(at):
    """Every option that takes a value completes it: what the value is comes from the command's
    definition (CommandDef.options); a comma list completes its last item, listed by name."""
    s = at("device")
    (c,) = suggest(s, "foreach -c default,gp")
    assert (c.text, c.shown, c.start) == ("default,gpu-nodes", "gpu-nodes", -len("default,gp"))
    assert words(s, "foreach -c default,gpu-nodes,") == []          # both named already
    assert words(s, "foreach -n node00[1-") == []                   # inside brackets: nothing
    # a format field may take a width: it stays open; a sort field is a whole word
    assert [c.final for c in suggest(s, "list -f hostn")] == [False]
    assert [c.final for c in suggest(s, "sort hostn")] == [True]
    assert "category,category" not in words(s, "sort category,")      # commas work too
    assert "hostname:20,hostname" not in words(s, "list -f hostname:20,")
    assert words(at("device use basecm10; roles; use firewall; openports"), "list -f ind") == ["index"]
    # swap at a nested level: not the entry named first either
    s = at("kubernetes; appgroups; use system; applications")
    got = words(s, "swap calico ")
    assert "calico" not in got and "dashboard" in got


def test_bookmarks_and_extra_parameters_complete(at):
    s = at("device use node001")
    assert s.run_line("bookmark n1; home; kubernetes; bookmark kube")
    assert words(s, "goto ") == ["kube", "n1"]
    assert words(s, "bookmark -d n") == ["n1"]
    assert s.run_line("set -e ingress_proxy_enable true")
    assert words(s, "clear -e ingr") == ["ingress_proxy_enable"]


def test_classify_option_values_and_fields(at):
    s = at("device")
    line = "sort category nosuchfield"
    assert [r for _, _, r in classify(s, line)] == ["command", "param", "error"]
    assert [r for _, _, r in classify(s, "format hostname:20,ip")] == ["command", "param"]
    assert [r for _, _, r in classify(s, "range -c default node001")] == \
        ["command", "option", "value", "object"]


def test_suggest_changes_nothing(at):
    s = at("device use node001; set notes pending")
    before = (s.path, s.prompt(), len(s.ws.pending()))
    for text in ("", "set category ", "roles; use ", "device use no", "home; kubernetes; appgroups; ",
                 "add physicalnode x 1; set ", "exit; remove node00"):
        suggest(s, text)
    assert (s.path, s.prompt(), len(s.ws.pending())) == before


def test_capped_lists_keep_the_common_part_of_every_match():
    names = [f"node{i:06d}" for i in range(1, 5001)] + ["node1zzzzz"]
    got = complete._range(names, "node")
    assert len(got) == complete.LIMIT and got[-1] == "node1zzzzz"
    assert os.path.commonprefix(got) == "node"          # not "node00": node1zzzzz matches too
    assert complete._range(names, "node0049") == [f"node{i:06d}" for i in range(4900, 5000)]
    assert complete._range(names, "x") == []


def test_classify_marks_what_each_word_is(at):
    s = at()
    line = 'device use node001; set notes "a b" | grep x # done'
    roles = [(line[a:b], r) for a, b, r in classify(s, line)]
    assert roles == [("device", "mode"), ("use", "command"), ("node001", "object"), (";", "sep"),
                     ("set", "command"), ("notes", "param"), ('"a b"', "string"), ("|", "pipe"),
                     (" grep x # done", "shell")]
    assert [r for _, _, r in classify(s, "device use nosuch; frobnicate")] == \
        ["mode", "command", "error", "sep", "error"]
    assert [r for _, _, r in classify(s, "!ls -l")] == ["shell", "shell"]


def test_destructive_lines():
    assert destructive("commit") and destructive("device; remove node001")
    assert destructive("category use default; refresh") and destructive("device commit -m x")
    assert not destructive("device use node001; set notes committed")
    assert not destructive("list # remove later") and not destructive('set notes "remove"')


NAVIGATION = [
    # completion moves the way the commands do (shell/navigate.py, CommandDef.moves)
    ("", "kubernetes; appg", ["appgroups"]),                     # a bare mode word enters its only object
    ("device use node001", "..; use gpu", ["gpu001", "gpu002"]),  # `..` is `exit`
    ("device use node001", "/; dev", ["device"]),                 # `/` is `home`
    ("", "device use master; get softwarei", ["softwareimage"]),  # master: the head node
    ("", "device use NODE001; get softwarei", ["softwareimage"]),  # any case when unambiguous
    ("", "device list; use no", []),                  # a mode-prefixed command that stays: back to the top
    ("device use node001", "device frob; get softwarei", ["softwareimage"]),   # a failing one too
    ("", "kubernetes appgroups; use ", []),           # a submode word without its object fails
    ("category", "roles default; use doc", ["Docker::Host"]),     # submode word, then its object
    ("device", "add physicalnode node100; set i", ["installbootrecord", "installmode", "ip"]),
]


@pytest.mark.parametrize("where,text,expected", NAVIGATION, ids=[f"{w}|{t}" for w, t, _ in NAVIGATION])
def test_completion_follows_the_commands_navigation(at, where, text, expected):
    assert words(at(where), text) == expected
