"""Change review through the real entry point: `diff` / `show changes` (field level, scopes,
exit statuses), `commit -m`, `journal`, `journal show`, `rollback` round trips; and the pure
field-level diff of model/diff.py."""
from __future__ import annotations

import json
import re
import sqlite3

from scenarios import assert_errors

from conftest import assert_clean, assert_ok, journal_user

from cmshell.model import diff as fdiff
from cmshell.model.schema import load_schema


def state(db) -> dict:
    """(mode, name) -> document of every object: what a cluster holds, ids and revisions aside."""
    conn = sqlite3.connect(str(db))
    try:
        return {(m, n): json.loads(d) for m, n, d in conn.execute("SELECT mode, name, doc FROM objects")}
    finally:
        conn.close()


def journal_rows(db) -> list[tuple]:
    conn = sqlite3.connect(str(db))
    try:
        return list(conn.execute("SELECT seq, user, comment, summary FROM journal ORDER BY seq"))
    finally:
        conn.close()


def silent_failure(res) -> None:
    """diff with differences: status 1, nothing on stderr (the differences are the output)."""
    assert_clean(res)
    assert res.returncode == 1 and res.stderr == "", str(res)


# -- diff ---------------------------------------------------------------------------------------
def test_diff_without_changes_prints_nothing_and_exits_0(cm):
    res = cm("-c", "diff; device; diff; use node001; diff; set notes same; clear notes; diff")
    assert_ok(res)
    assert res.stdout == ""


def test_diff_prints_parameters_and_submode_entries_and_exits_1(cm):
    res = cm("-c", 'device use node001; set notes "rack 4"; set ip 10.141.9.1; roles; '
                   "assign docker::host; set iptables no; home; diff")
    silent_failure(res)
    assert res.stdout.splitlines() == [
        "--- device node001 (committed)",
        "+++ device node001 (candidate)",
        "- Ip  10.141.0.1",
        "+ Ip  10.141.9.1",
        "- Notes",
        "+ Notes  rack 4",
        "+ roles[Docker::Host] (added)",
        "+ roles[Docker::Host].iptables  no",
    ]


def test_diff_of_index_keyed_rows_and_nested_submodes(cm):
    res = cm("-c", "device use basecm10; roles; use firewall; openports; add ACCEPT net 10443 tcp fw; "
                   "remove 0; kubernetes use default; appgroups; use system; applications; use calico; "
                   "environment; use cidr; set value 10.0.0.0/8; home; diff")
    silent_failure(res)
    out = res.stdout.splitlines()
    assert out[0] == "ok."        # `add` of an index-keyed row says so, as cmsh does
    out = out[1:]
    assert out[:3] == ["--- device basecm10 (committed)", "+++ device basecm10 (candidate)",
                       "- roles[firewall].openports[0] (removed)"]
    assert "- roles[firewall].openports[0].port  30080" in out
    assert "+ roles[firewall].openports[2] (added)" in out
    assert "+ roles[firewall].openports[2].port  10443" in out
    k = out.index("--- kubernetes default (committed)")
    assert out[k:] == ["--- kubernetes default (committed)", "+++ kubernetes default (candidate)",
                       "- appgroups[system].applications[calico].environment[cidr].value  10.141.0.0/16",
                       "+ appgroups[system].applications[calico].environment[cidr].value  10.0.0.0/8"]


def test_added_and_removed_objects_are_one_line_unless_verbose(cm):
    script = ("device; add physicalnode node100 10.141.0.100; ..; remove gpu002; "
              "category use default; set notes x; home; ")
    res = cm("-c", script + "diff")
    silent_failure(res)
    assert res.stdout.splitlines() == [
        "--- category default (committed)",
        "+++ category default (candidate)",
        "- Notes",
        "+ Notes  x",
        "- device gpu002 (removed)",
        "+ device node100 (added)",
    ]
    res = cm("-c", script + "device; diff -v")
    silent_failure(res)
    assert res.stdout.splitlines() == [
        "- device gpu002 (removed)",
        "- Hostname  gpu002",
        "- Type  PhysicalNode",
        "- MAC  FA:16:3E:98:84:41",
        "- Ip  10.141.1.2",
        "- Network  internalnet",
        "- Category  gpu-nodes",
        "+ device node100 (added)",
        "+ Hostname  node100",
        "+ Type  PhysicalNode",
        "+ Ip  10.141.0.100",
        "+ Network  internalnet",      # the network whose range holds the IP (cmsh does so)
        "+ Category  default",
    ]


def test_diff_scope_object_mode_everything(cm):
    script = "device use node001; set notes a; use node002; set notes b; category use default; set notes c; "
    # inside an object: that object; at a mode: the mode; at the top: everything; named object
    res = cm("-c", script + "device use node002; diff")
    silent_failure(res)
    assert res.stdout.splitlines()[0] == "--- device node002 (committed)" and len(res.stdout.splitlines()) == 4
    res = cm("-c", script + "device; diff")
    heads = [line for line in res.stdout.splitlines() if line.startswith("---")]
    assert heads == ["--- device node001 (committed)", "--- device node002 (committed)"]
    res = cm("-c", script + "home; diff")
    heads = [line for line in res.stdout.splitlines() if line.startswith("---")]
    assert heads == ["--- category default (committed)", "--- device node001 (committed)",
                     "--- device node002 (committed)"]
    res = cm("-c", script + "device diff node001")
    silent_failure(res)
    assert res.stdout.splitlines()[0] == "--- device node001 (committed)" and len(res.stdout.splitlines()) == 4
    res = cm("-c", script + "device diff node003")     # a named object without changes
    assert_ok(res)
    assert res.stdout == ""


def test_diff_stays_a_review_it_keeps_edits_and_location(cm):
    res = cm("--show-prompt", "-c", "device use node001; set notes a; diff; get notes")
    assert res.returncode == 1
    assert res.stdout.splitlines()[-2:] == ["[basecm10->device*[node001*]]% get notes", "a"]


def test_show_changes_is_diff_unless_an_object_is_named_changes(cm):
    a = cm("-c", "device use node001; set notes a; ..; diff")
    b = cm("-c", "device use node001; set notes a; ..; show changes")
    silent_failure(b)
    assert a.stdout == b.stdout and b.stdout.startswith("--- device node001 (committed)")
    res = cm("-c", "category; add changes; commit; category; show changes")
    assert_ok(res)
    assert res.stdout.splitlines()[0].split() == ["Parameter", "Value"]
    assert "changes" in res.stdout


def test_diff_exit_status_in_batch_and_with_q(cm):
    assert cm("-c", "diff").returncode == 0
    assert cm("-c", "device use node001; set notes a; diff").returncode == 1
    assert cm(input="device use node001\nset notes a\ndiff\n").returncode == 1
    assert cm("-c", "device use node001; set notes a; commit; diff").returncode == 0
    # documented: with -q a diff that finds changes ends the run like any failing command
    res = cm("-q", "-c", "device use node001; set notes q; diff; commit")
    assert res.returncode == 1
    assert cm("-c", "device use node001; get notes").stdout == "a\n"     # q was not committed


def test_diff_errors_are_one_line(cm):
    assert_errors(cm, [("diff -z", "diff: unknown option -z"),
                       ("device diff nosuch", "No device named nosuch"),
                       ("diff node001", "diff <object>: enter a mode first (e.g. 'device diff node001')")])


# -- commit -m and journal ----------------------------------------------------------------------
def test_commit_message_is_journalled_and_listed(cm, db):
    res = cm("-c", 'device use node001; set notes a; commit -m "first change"; '
                   'category use default; set notes b; home; commit --message second; journal')
    assert_ok(res)
    rows = journal_rows(db)
    me = journal_user()          # the OS account, with $USER=tester beside it as a claim
    assert [(r[1], r[2]) for r in rows[-2:]] == [(me, "first change"), (me, "second")]
    assert json.loads(rows[-2][3]) == [["device", "modified", 1, "node001", ["node001"]]]
    lines = res.stdout.splitlines()
    assert lines[0] == "Successfully committed 1 Categories"
    assert lines[1].split() == ["Commit", "Time", "User", "Comment", "Objects"]
    lines = lines[1:]
    n = len(rows)
    assert re.fullmatch(rf"{n - 1} +\d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d +{re.escape(me)} +first change +"
                        r"device node001 modified", lines[-2]), lines[-2]
    assert re.fullmatch(rf"{n} +\S+ \S+ +{re.escape(me)} +second +category default modified", lines[-1]), lines[-1]
    last = cm("-c", "journal -n 1")
    assert_ok(last)
    assert len(last.stdout.splitlines()) == 3 and last.stdout.splitlines()[-1].startswith(f"{n} ")


def test_journal_summarises_big_commits_and_v_lists_them(cm):
    res = cm("-c", "device use node001; set notes x; use node002; set notes x; use node003; set notes x; "
             "use gpu001; set notes x; use gpu002; set notes x; category use default; set notes x; "
             "home; commit; journal -n 1; journal -n 1 -v")
    assert_ok(res)
    lines = res.stdout.splitlines()[2:]     # after the commit's two lines
    assert lines[2].endswith("6 objects: 6 modified"), lines[2]
    assert lines[5].endswith("category default modified; device gpu001,gpu002,node001..node003 modified"), lines[5]


def test_journal_show_prints_the_diff_of_a_commit(cm, db):
    cm("-c", 'device; add physicalnode node100 10.141.0.100; use node001; set notes a; home; commit -m A')
    n = journal_rows(db)[-1][0]
    res = cm("-c", f"journal show {n}")
    assert_ok(res)
    lines = res.stdout.splitlines()
    assert re.fullmatch(rf"Commit {n} by {re.escape(journal_user())} at \S+ \S+: A", lines[0])
    assert lines[1:] == ["--- device node001 (before)", "+++ device node001 (after)", "- Notes",
                         "+ Notes  a", "+ device node100 (added)", "+ Hostname  node100",
                         "+ Type  PhysicalNode", "+ Ip  10.141.0.100", "+ Network  internalnet",
                         "+ Category  default"]
    assert_errors(cm, [("journal show 99", "No commit 99; 'journal' lists them"),
                       ("journal show x", "Not a commit number: x; 'journal' lists them"),
                       ("journal show", "Usage: journal show <commit>"),
                       ("journal -n 0", "-n needs a positive number")])


# -- rollback -------------------------------------------------------------------------------------
COMMIT_A = ("device; add physicalnode node100 10.141.0.100; use node001; set notes A; "
            "home; commit -m A")
COMMIT_B = ("device; remove gpu002; use node002; set ip 10.141.9.2; category use default; set notes B; "
            "roles; use docker::host; set iptables no; network; add kube-test; home; commit -m B")


def test_rollback_round_trip_and_rollback_of_the_rollback(cm, db):
    before_a = state(db)
    start = journal_rows(db)[-1][0]
    assert_ok(cm("-c", COMMIT_A))
    assert_ok(cm("-c", COMMIT_B))
    after_b = state(db)
    b = journal_rows(db)[-1][0]
    assert ("device", "node100") in after_b and ("device", "gpu002") not in after_b

    res = cm("-c", f"rollback {start}; diff")
    silent_failure(res)
    out = res.stdout.splitlines()
    assert out[0] == (f"Staged the configuration as of commit {start}: 1 to add, 3 to modify, 2 to remove. "
                      "Review with 'diff'; 'commit' at the top level stores it.")
    assert out[1:] == [
        "--- category default (committed)", "+++ category default (candidate)",
        "- Notes  B", "+ Notes",
        "- roles[Docker::Host].iptables  no", "+ roles[Docker::Host].iptables  yes",
        "+ device gpu002 (added)",
        "--- device node001 (committed)", "+++ device node001 (candidate)", "- Notes  A", "+ Notes",
        "--- device node002 (committed)", "+++ device node002 (candidate)",
        "- Ip  10.141.9.2", "+ Ip  10.141.0.2",
        "- device node100 (removed)",
        "- network kube-test (removed)",
    ]
    assert state(db) == after_b                      # staged only: nothing stored yet
    assert_ok(cm("-c", f'rollback {start}; commit -m "back to {start}"; diff'))
    assert state(db) == before_a

    # the rollback is a commit like any other: rolling it back restores B exactly
    res = cm("-c", f"rollback {b}; commit -m undo; diff")
    assert_ok(res)
    assert state(db) == after_b
    rows = journal_rows(db)
    assert [r[2] for r in rows[-4:]] == ["A", "B", f"back to {start}", "undo"]


def test_rollback_recreates_a_removed_name_taken_by_a_new_object(cm, db):
    start = journal_rows(db)[-1][0]
    before = state(db)
    assert_ok(cm("-c", "device; remove gpu002; commit"))
    assert_ok(cm("-c", "device; add physicalnode gpu002 10.141.7.7; set category gpu-nodes; commit"))
    assert state(db)[("device", "gpu002")]["ip"] == "10.141.7.7"
    res = cm("-c", f"rollback {start}; diff; commit")
    assert_clean(res)
    assert res.stderr == "" and res.returncode == 1      # diff found the differences
    assert state(db) == before


def test_rollback_restores_renames_and_swaps(cm, db):
    start = journal_rows(db)[-1][0]
    before = state(db)
    # `rename` moves the pointers (`set hostname` alone would leave overlays pointing nowhere,
    # which commit refuses)
    assert_ok(cm("-c", "device; rename node001 nodeX; commit"))
    assert_ok(cm("-c", "device; rename node002 node001; commit"))
    assert_ok(cm("-c", "device; swap node003 node004; commit"))
    assert_ok(cm("-c", f"rollback {start}; commit"))
    assert state(db) == before


def test_rollback_to_0_empties_the_cluster_and_back(cm, db):
    before = state(db)
    first = journal_rows(db)[-1][0]
    res = cm("-c", "rollback 0; commit -m empty; device; list -f hostname:0")
    assert_ok(res)
    assert res.stdout.splitlines()[0] == f"Staged the configuration as of commit 0: {len(before)} to remove. " \
                                         "Review with 'diff'; 'commit' at the top level stores it."
    assert state(db) == {}
    assert_ok(cm("-c", f"rollback {first}; commit"))
    assert state(db) == before


def test_rollback_refuses_with_staged_changes_and_keeps_them(cm):
    res = cm("--show-prompt", "-c", "device use node001; set notes keep; rollback 1; get notes")
    assert_clean(res)
    assert res.returncode == 1
    assert res.err_lines == ["rollback: there are 1 uncommitted changes; commit or refresh them first"]
    assert res.stdout.splitlines()[-1] == "keep"


def test_rollback_to_the_latest_commit_and_bad_numbers(cm, db):
    n = journal_rows(db)[-1][0]
    res = cm("-c", f"rollback {n}")
    assert_ok(res)
    assert res.stdout == f"Nothing to roll back: nothing was committed after commit {n}\n"
    assert_errors(cm, [(f"rollback {n + 5}", f"No commit {n + 5}; the latest is {n}"),
                       ("rollback x", "Not a commit number: x; 'journal' lists them"),
                       ("rollback", "Usage: rollback <commit>   ('journal' lists the commits)")])


def test_rollback_of_a_change_already_undone_stages_nothing(cm, db):
    n = journal_rows(db)[-1][0]
    assert_ok(cm("-c", "device use node001; set notes a; commit; clear notes; commit"))
    res = cm("-c", f"rollback {n}; diff")
    assert_ok(res)
    assert res.stdout == f"Nothing to roll back: the configuration is as it was after commit {n}\n"


# -- the pure diff ------------------------------------------------------------------------------
SCHEMA = load_schema()


def test_pure_diff_is_empty_for_equal_documents_and_unset_empty_values():
    mode = SCHEMA.mode("device")
    doc = {"hostname": "n1", "type": "physicalnode", "notes": ""}
    assert fdiff.object_diff(SCHEMA, mode, doc, dict(doc)) == []
    assert fdiff.object_diff(SCHEMA, mode, {"hostname": "n1"}, {"hostname": "n1", "notes": ""}) == []
    assert fdiff.object_diff(SCHEMA, mode, None, None) == []


def test_pure_diff_marks_defaults_set_explicitly_and_secret_changes():
    mode = SCHEMA.mode("category")
    out = fdiff.object_diff(SCHEMA, mode, {"name": "c"}, {"name": "c", "installmode": "AUTO"})
    assert out[2:] == ["- Install mode  AUTO (default)", "+ Install mode  AUTO"]


def test_pure_diff_rows_by_position_when_stored_and_by_index_when_staged():
    mode = SCHEMA.mode("device")
    fw = lambda *ports: {"hostname": "h", "roles": [{"name": "firewall", "openports": [
        {"port": p} for p in ports]}]}
    stored = fdiff.field_lines(SCHEMA, mode, fw(1, 2), fw(1, 3))
    assert stored == ["- roles[firewall].openports[1].port  2", "+ roles[firewall].openports[1].port  3"]
    staged_after = fw(1, 3)
    staged_after["roles"][0]["openports"] = [{"port": 1, "index": 0}, {"port": 3, "index": 5}]
    lines = fdiff.field_lines(SCHEMA, mode, fw(1, 2), staged_after)
    assert lines == ["- roles[firewall].openports[1] (removed)", "- roles[firewall].openports[1].port  2",
                     "+ roles[firewall].openports[5] (added)", "+ roles[firewall].openports[5].port  3"]


def test_pure_diff_extras_and_unknown_fields():
    mode = SCHEMA.mode("device")
    out = fdiff.field_lines(SCHEMA, mode, {"hostname": "h", "extra": {"a": "1"}, "zz": [1]},
                            {"hostname": "h", "extra": {"a": "2", "b": "x"}, "zz": [2]})
    assert out == ["- a  1", "+ a  2", "+ b  x", "- zz  [1]", "+ zz  [2]"]


# -- journal --prune / --retain ---------------------------------------------------------------------
def test_prune_compacts_the_journal_and_rollback_reaches_the_snapshot(cm, db):
    start = journal_rows(db)[-1][0]
    assert_ok(cm("-c", COMMIT_A))
    after_a = state(db)
    assert_ok(cm("-c", COMMIT_B))
    res = cm("-c", "journal --prune 1")
    assert_ok(res)
    assert res.stdout.splitlines() == [f"Compacted {start + 1} commits into a snapshot; "
                                       "rollback goes back to it at the earliest"]
    rows = journal_rows(db)
    assert [r[0] for r in rows] == [start + 1, start + 2]
    assert rows[0][2].startswith("Snapshot: commit 1 to ") and rows[1][2] == "B"
    res = cm("-c", "journal")
    assert_ok(res)
    assert "snapshot" in res.stdout.lower() and "added" in res.stdout.splitlines()[2]
    res = cm("-c", f"rollback {start}")
    assert_clean(res)
    assert res.returncode == 1 and "compacted into the snapshot" in res.stderr, str(res)
    assert_ok(cm("-c", f"rollback {start + 1}; commit -m back"))
    assert state(db) == after_a
    res = cm("-c", "journal --prune 5")
    assert_ok(res)
    assert res.stdout.startswith("Nothing to compact")
    for cmd, msg in [("journal --prune x", "journal --prune: expected a number of commits (0 or more), got x"),
                     ("journal --prune", "Usage: journal --prune <keep>")]:
        res = cm("-c", cmd)
        assert res.returncode == 1 and res.err_lines == [msg], str(res)


def test_retain_keeps_the_journal_short(cm, db):
    res = cm("-c", "journal --retain 2")
    assert_ok(res)
    assert res.stdout.splitlines() == ["The journal keeps the last 2 commits; older ones are compacted"
                                       " into a snapshot"]
    cmds = "; ".join(f"device use node001; set notes n{i}; commit" for i in range(14))
    assert_ok(cm("-c", cmds))
    assert len(journal_rows(db)) <= 2 + 1 + 10
    assert journal_rows(db)[0][2].startswith("Snapshot")
    assert_ok(cm("-c", "journal --retain all"))


def test_journal_v_lists_long_name_lists_from_the_deltas(cm, db):
    from cmshell.store import Change, new_id, open_store
    with open_store(db) as store:
        store.commit([Change(new_id(), "network", f"net{i:03d}", None, {"name": f"net{i:03d}", "type": "internal"})
                      for i in range(0, 200, 2)], user="tester", comment="many")
    res = cm("-c", "journal -n 1; journal -n 1 -v")
    assert_ok(res)
    lines = res.stdout.splitlines()
    assert lines[2].endswith("100 objects: 100 added"), lines[2]
    assert lines[5].endswith("network " + ",".join(f"net{i:03d}" for i in range(0, 200, 2)) + " added")
