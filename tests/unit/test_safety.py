"""The pure parts of plan / drift / commit confirmed: the report's wording, colour and JSON, the
outcome text of the journal, durations, and the candidate view (docs/safety.md)."""
from __future__ import annotations

import io

from conftest import session_on

from cmshell.backends.base import CHANGED, FAILED, OK, UNREACHABLE, FileChange, TargetResult
from cmshell.safety import confirm, outcome
from cmshell.safety.candidate import as_commit, candidate_view, staged_changes
from cmshell.safety.plan import BackendPlan
from cmshell.safety.report import Report
from cmshell.store import open_store

DIFF = "--- /etc/x (on the node)\n+++ /etc/x (cmshell)\n@@ -1 +1 @@\n-a\n+b\n"


def node(name: str, *files: FileChange, actions: tuple[str, ...] = (), status: str = CHANGED) -> TargetResult:
    return TargetResult(name, status, "", [f"write {f.path}" for f in files] + list(actions), list(files))


def example() -> list[BackendPlan]:
    """The issue's example: 3 nodes change 4 files and restart 2 services; 1 object created,
    2 changed, 1 pruned; 1 node unreachable."""
    ssh = BackendPlan("ssh", [
        node("node001", FileChange("/etc/x", diff=DIFF), actions=("restart docker",)),
        node("node002", FileChange("/etc/x", diff=DIFF), actions=("restart docker",)),
        node("node003", FileChange("/etc/y", mode=(0o600, 0o644)), FileChange("/etc/z", created=True,
                                                                            diff=DIFF, mode=(None, 0o644),
                                                                            owner=(None, "root:root"))),
        TargetResult("node004", UNREACHABLE, "cannot connect to 10.141.0.4:22: No route to host"),
        TargetResult("node005", OK)])
    kube = BackendPlan("kubernetes", [
        TargetResult("default/apps/g/a", CHANGED, "", [
            "create v1/ConfigMap ns/q", 'change v1/ConfigMap ns/p: .data.a: "1" -> "2"; .data.b: (none) -> "3"',
            "prune v1/ConfigMap ns/old"]),
        TargetResult("default/apps/g/b", CHANGED, "", ["change apps/v1/Deployment ns/web: .spec.replicas: 1 -> 3"]),
        TargetResult("default/apps/g/c", OK)])
    return [ssh, kube]


def test_summary_line_as_the_issue_words_it():
    r = Report(example())
    assert r.summary() == ("Plan: 3 nodes change 4 files and restart 2 services; 1 object created, 2 changed, "
                           "1 pruned; 1 node unreachable")
    assert r.changes and not r.complete
    assert Report([]).summary() == "Plan: no changes"
    one = Report([BackendPlan("ssh", [node("n1", FileChange("/a", diff=DIFF), actions=("reload nginx",))])])
    assert one.summary() == "Plan: 1 node changes 1 file and reload 1 service"


def test_text_groups_identical_nodes_and_colours_only_when_asked():
    text = Report(example()).text()
    lines = text.splitlines()
    assert lines[:8] == ["node001,node002:", "  ~ /etc/x", "      --- /etc/x (on the node)",
                         "      +++ /etc/x (cmshell)", "      @@ -1 +1 @@", "      -a", "      +b",
                         "  restart docker"]
    assert "node003:" in lines and "  ~ /etc/y: mode 0600 -> 0644" in lines
    assert "  + /etc/z (new file, 0644 root:root)" in lines
    assert "node004: unreachable: cannot connect to 10.141.0.4:22: No route to host" in lines
    assert "node005" not in text and "default/apps/g/c" not in text
    assert lines[-10:-1] == ["default/apps/g/a:", "  + create v1/ConfigMap ns/q", "  ~ change v1/ConfigMap ns/p",
                             '      .data.a: "1" -> "2"', '      .data.b: (none) -> "3"',
                             "  - prune v1/ConfigMap ns/old", "default/apps/g/b:",
                             "  ~ change apps/v1/Deployment ns/web", "      .spec.replicas: 1 -> 3"]
    assert "\x1b[" not in text
    colored = Report(example()).text(color=True)
    assert "      \x1b[32m+b\x1b[0m" in colored and "      \x1b[31m-a\x1b[0m" in colored
    assert "\x1b[31m  - prune v1/ConfigMap ns/old\x1b[0m" in colored
    assert "\x1b[1;31mnode004: \x1b[0m" in colored


def test_json_lists_what_changes():
    got = Report(example()).as_json()
    assert [n["node"] for n in got["nodes"]] == ["node001", "node002", "node003", "node004"]
    assert got["nodes"][2]["files"][0] == {"path": "/etc/y", "created": False, "diff": "",
                                           "mode": ["0600", "0644"], "owner": None}
    assert got["nodes"][0]["services"] == [{"unit": "docker", "action": "restart", "owed": False}]
    assert got["kubernetes"][0]["changed"] == [{"object": "v1/ConfigMap ns/p",
                                                "fields": ['.data.a: "1" -> "2"', '.data.b: (none) -> "3"']}]
    assert got["counts"]["clusters_unreachable"] == 0 and got["counts"]["nodes_unreachable"] == 1


def test_drift_words_and_conflicts():
    conflict = ("v1/ConfigMap ns/web: conflict with kubectl-edit: Apply failed with 1 conflict: "
                "conflict with \"kubectl-edit\" using v1: .data.port (sync --force takes ownership)")
    plans = [BackendPlan("ssh", [node("node001", FileChange("/etc/x", diff=DIFF)),
                                 node("node002", FileChange("/etc/x", created=True, diff=DIFF, mode=(None, 0o644)))]),
             BackendPlan("kubernetes", [
                 TargetResult("default/apps/g/web", FAILED, conflict, ["create v1/Service ns/web"]),
                 TargetResult("default/labelsets/amd", CHANGED, "", ["label gpu01: +amd=yes"])])]
    r = Report(plans, drift=True, pending={"node002": 7})
    assert r.complete and r.changes
    text = r.text()
    assert "node001:\n  /etc/x: edited by hand" in text
    assert "node002: (commit 7 not applied yet)\n  /etc/x: missing" in text
    assert "  v1/Service ns/web: deleted (the model has it)" in text
    assert "  v1/ConfigMap ns/web: changed by someone else: conflict with kubectl-edit: " in text
    assert "  Node gpu01: label amd=yes removed or changed" in text
    assert r.summary() == ("Drift: 2 nodes differ in 2 files (1 edited, 1 missing); 1 object deleted, "
                           "1 changed; labels differ on 1 node")
    # in a plan the same conflict is a failure: the apply would fail
    assert not Report(plans).complete
    assert Report([], drift=True).summary() == "Drift: none"


def test_actions_owed_by_an_earlier_apply():
    """A node whose files are in place but whose restart failed last time: the plan runs the
    action again, drift reports it (backends/ssh/converge.py words the line)."""
    owes = TargetResult("node004", CHANGED, "", ["restart docker (owed by an earlier apply)"])
    both = node("node001", FileChange("/etc/x", diff=DIFF),
                actions=("restart docker", "reload nginx (owed by an earlier apply)"))
    plan = Report([BackendPlan("ssh", [owes])])
    assert plan.summary() == "Plan: 1 node restarts 1 service (1 owed by an earlier apply)"
    assert plan.text().splitlines()[:2] == ["node004:", "  restart docker (owed by an earlier apply)"]
    assert plan.as_json()["nodes"][0]["services"] == [{"unit": "docker", "action": "restart", "owed": True}]
    assert Report([BackendPlan("ssh", [owes, both])]).summary() == \
        "Plan: 2 nodes change 1 file and restart 2 services, reload 1 service (2 owed by an earlier apply)"
    drift = Report([BackendPlan("ssh", [owes])], drift=True)
    assert drift.changes and drift.complete
    assert drift.text().splitlines()[:2] == ["node004:", "  (sync would restart docker, owed by an earlier apply)"]
    assert drift.summary() == "Drift: 1 service action owed by an earlier apply"
    assert Report([BackendPlan("ssh", [owes, both])], drift=True).summary() == \
        "Drift: 1 node differs in 1 file (1 edited); 2 service actions owed by an earlier apply"


def test_outcome_and_duration_texts():
    assert outcome.text({"targets": {f"ssh:n{i}": "changed" for i in range(32)}}) == "applied 32/32"
    t = {f"ssh:n{i}": "ok" for i in range(30)} | {"ssh:x": "unreachable", "ssh:y": "unreachable"}
    assert outcome.text({"targets": t}) == "applied 30/32, 2 unreachable"
    assert outcome.text({"targets": {"ssh:a": "pending", "ssh:b": "pending"}}) == "pending 2 (apply: manual)"
    assert outcome.text({"targets": {}}) == ""
    assert confirm.minutes_text(10) == "10 minutes" and confirm.minutes_text(1) == "1 minute"
    assert confirm.minutes_text(0.05) == "3 seconds" and confirm.minutes_text(0.025) == "1.5 seconds"
    assert confirm.left_text(599) == "9m" and confirm.left_text(42.7) == "42s" and confirm.left_text(-1) == "0s"


def test_candidate_view_has_the_staged_documents_as_the_store_holds_them(db):
    store = open_store(db)
    try:
        s = session_on(store)
        assert s.run_line("device use node001; set hostname node101; set notes moved")
        assert s.run_line("category use default; roles; use docker::host; set mtu 1400")
        rids = [rid for _, _, rid in s.ws.pending()]
        changes = staged_changes(s.ws, rids)
        assert sorted((c.mode, c.name) for c in changes) == [("category", "default"), ("device", "node101")]
        view = candidate_view(s.schema, store, changes)
        assert view.get("device", "node001") is None and view.get("device", "node101")["notes"] == "moved"
        assert "node101" in {d["hostname"] for d in view.docs("device")}
        cat = view.get("category", "default")
        assert "index" not in str(cat) and any(r.get("mtu") == 1400 for r in cat["roles"])
        assert as_commit(changes, "tester", 1.0).seq == 0
        assert store.get("device", "node001") is not None        # nothing was stored
    finally:
        store.close()


def test_plan_needs_applying_on(db):
    store = open_store(db)
    try:
        s = session_on(store)
        s.env.stderr = io.StringIO()
        s.err = s.env.stderr
        assert not s.run_line("plan")
        assert "Applying is off" in s.err.getvalue()
        assert s.run_line("device use node001; set notes x; home; commit check")
        assert s.out.getvalue().endswith("Configuration check succeeds (applying is off: nothing to plan)\n")
    finally:
        store.close()
