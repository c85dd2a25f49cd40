"""plan, commit check, drift and apply outcomes against real sshd nodes (docs/safety.md)."""
from __future__ import annotations

import json

import pytest

from conftest import journal_user
from cmshell.safety import outcome
from cmshell.status import Exit
from tests.backends.ssh_helpers import DAEMON, DEFAULT, DEMO, mtu_of, out, settings

CRI = "/cm/local/apps/containerd/var/etc/conf.d/cri.toml"


@pytest.fixture
def demo(ssh_session):
    """The demo's devices as sshd nodes, already in sync; a session with apply: auto whose commits
    record their outcome in the journal."""
    cluster, s, store = ssh_session(DEMO)
    s.committer.after.append(outcome.attach(s.engine, s.events, s.committer.source))
    (recap,) = s.engine.sync()
    assert recap.complete, [(r.target, r.reason) for r in recap.results if r.reason]
    return cluster, s, store


def plan_after(s, *lines: str, ok: bool = True) -> str:
    """Run `lines` (each must succeed) and forget their output; then `home; plan`, which succeeds
    or (ok=False) fails: what the plan printed."""
    for line in lines:
        assert s.run_line(line), s.env.stderr.getvalue()
    out(s)
    assert s.run_line("home; plan") == ok
    return out(s)


def test_plan_shows_diffs_and_actions_and_changes_nothing(demo):
    cluster, s, store = demo
    calls = {n: cluster.node(n).systemctl_calls() for n in DEMO}
    before = {n: cluster.node(n).read(DAEMON) for n in DEFAULT}
    text = plan_after(s, "category use default; roles; use docker::host; set mtu 1400",
                      "configurationoverlay use kube-default-worker; roles; use generic::containerd; "
                      "configurations; use containerd-cri; set filemask 0600")
    # nodes with the same changes are shown once: node004..node006 are also kube workers
    assert text.startswith("node001..node003:\n  ~ /etc/docker/daemon.json\n"
                           "      --- /etc/docker/daemon.json (on the node)\n"
                           "      +++ /etc/docker/daemon.json (cmshell)\n      @@ "), text
    assert '+  "mtu": 1400' in text and "  restart docker" in text
    worker = text.split("node004..node006:\n")[1]
    assert f"  ~ {CRI}: mode 0644 -> 0600" in worker and "  restart containerd" in worker
    assert "gpu001" not in text and "basecm10" not in text
    assert text.strip().splitlines()[-1] == "Plan: 6 nodes change 9 files and restart 9 services"
    assert s.status_hint == Exit.CHANGES_PENDING
    # nothing was written, restarted or committed
    assert {n: cluster.node(n).read(DAEMON) for n in DEFAULT} == before
    assert {n: cluster.node(n).systemctl_calls() for n in DEMO} == calls
    assert cluster.node("node004").stat(CRI).st_mode & 0o777 == 0o644
    assert s.ws.pending()

    # JSON, and a plan of only what a commit at this level would store
    assert s.run_line("category; plan -d {}")
    got = json.loads(out(s))
    assert sorted(n["node"] for n in got["nodes"]) == DEFAULT
    n1 = next(n for n in got["nodes"] if n["node"] == "node001")
    assert n1["services"] == [{"unit": "docker", "action": "restart", "owed": False}]
    assert n1["files"][0]["path"] == DAEMON and '"mtu": 1400' in n1["files"][0]["diff"]
    assert got["counts"]["nodes_changed"] == len(DEFAULT) and got["summary"].startswith("Plan: 6 nodes")


def test_plan_lists_unreachable_and_new_files(demo):
    cluster, s, store = demo
    cluster.stop_node("node002")
    # a plan that could not reach a node fails
    text = plan_after(s, "category use default; roles; use docker::host; set mtu 9000", ok=False)
    assert "node002: unreachable: cannot connect to" in text
    assert "node001,node003..node006:\n  ~ /etc/docker/daemon.json" in text
    assert text.strip().endswith("Plan: 5 nodes change 5 files and restart 5 services; 1 node unreachable")
    # a file the nodes do not have yet
    cluster.start_node("node002")
    text = plan_after(s, "refresh; configurationoverlay use kube-default-worker; roles; use generic::containerd; "
                         "configurations; add extra; set filename /etc/extra.conf; set content /etc/hostname")
    assert text.startswith("node004..node006:\n  + /etc/extra.conf (new file, 0644 root:root)\n"
                           "      --- /dev/null\n      +++ /etc/extra.conf (cmshell)\n"), text
    assert text.strip().endswith("Plan: 3 nodes change 3 files")


def test_commit_check_and_journal_outcome(demo):
    cluster, s, store = demo
    assert s.run_line("commit check")
    assert out(s).splitlines() == ["Plan: no changes", "Configuration check succeeds"]
    assert s.status_hint == 0
    assert s.run_line("category use default; roles; use docker::host; set mtu 1500; home; commit check")
    assert out(s).splitlines()[-1] == "Configuration check succeeds"
    assert s.status_hint == Exit.CHANGES_PENDING and s.ws.pending()
    cluster.stop_node("node005")
    assert s.run_line("commit -m mtu")
    seq = store.journal(1)[-1].seq
    assert f"Commit {seq} by {journal_user()}: applied 5/6, 1 unreachable" in [e.text for e in s.events.log]
    out(s)
    assert s.run_line("journal -n 1")
    row = out(s).splitlines()[-1]
    assert "applied 5/6, 1 unreachable" in row and "category default modified" in row
    cluster.start_node("node005")
    (recap,) = s.engine.sync(targets=["node005"])
    outcome.record_sync(store, [recap], "tester")
    assert s.run_line(f"journal show {seq}")
    shown = out(s)
    assert "Outcome: applied 6/6 (last sync by tester at" in shown


def test_drift_reports_hand_edits_and_sync_restores(demo):
    cluster, s, store = demo
    assert s.run_line("drift")
    assert out(s).strip() == "Drift: none"
    wanted = cluster.node("node001").read(DAEMON)
    cluster.node("node001").write(DAEMON, wanted.replace(b"overlay2", b"btrfs"))
    cluster.node("node002").host_path(DAEMON).unlink()
    cluster.node("node003").host_path(DAEMON).chmod(0o600)
    calls = cluster.node("node001").systemctl_calls()
    assert s.run_line("drift")
    text = out(s)
    assert "node001:\n  /etc/docker/daemon.json: edited by hand\n" in text
    assert '-  "storage-driver": "btrfs"' in text and '+  "storage-driver": "overlay2"' in text
    assert "node002:\n  /etc/docker/daemon.json: missing" in text
    assert "node003:\n  /etc/docker/daemon.json: mode 0600, the model has 0644" in text
    assert "(sync would restart docker)" in text
    assert text.strip().splitlines()[-1] == \
        "Drift: 3 nodes differ in 3 files (1 edited, 1 missing, 1 mode changed)"
    assert s.status_hint == Exit.DRIFT
    assert cluster.node("node001").systemctl_calls() == calls      # drift changes nothing
    assert cluster.node("node002").read(DAEMON) is None
    # plan: nothing staged, nothing planned; --all plans every target against the candidate
    assert s.run_line("plan")
    assert out(s) == "Plan: no changes\n"
    assert s.run_line("plan --all")
    text = out(s)
    assert "node001:\n  ~ /etc/docker/daemon.json" in text and "node002:\n  + /etc/docker/daemon.json" in text
    assert text.strip().splitlines()[-1] == "Plan: 3 nodes change 3 files and restart 3 services"
    # only some nodes
    assert s.run_line("drift node003,node004")
    text = out(s)
    assert "node003:" in text and "node001" not in text
    assert not s.run_line("drift nosuch")
    # sync restores the model's state
    assert s.run_line("sync")
    out(s)
    assert cluster.node("node001").read(DAEMON) == wanted
    assert cluster.node("node003").stat(DAEMON).st_mode & 0o777 == 0o644
    assert s.run_line("drift")
    assert out(s).strip() == "Drift: none"


def test_batch_exit_statuses(demo, cm, tmp_path):
    """commit check: 0 nothing would change, 4 changes pending, 1 invalid or not every node
    reached; drift: 0 none, 5 drift found (docs/scripting.md)."""
    cluster, s, store = demo
    conf = tmp_path / "config.yaml"
    conf.write_text(json.dumps({"apply": "auto", "ssh": settings(cluster)}))

    def run(*commands: str):
        return cm("--config", str(conf), "-c", "; ".join(commands))

    res = run("commit check")
    assert (res.returncode, res.stdout, res.stderr) == (0, "Plan: no changes\nConfiguration check succeeds\n", "")
    mtu = "category use default; roles; use docker::host; set mtu 1400; home"
    res = run(mtu, "commit check")
    assert res.returncode == Exit.CHANGES_PENDING, str(res)
    assert res.stdout.splitlines() == ["Plan: 6 nodes change 6 files and restart 6 services",
                                       "Configuration check succeeds"]
    res = run(mtu, "plan")
    assert res.returncode == Exit.CHANGES_PENDING and "restart docker" in res.stdout
    res = run("device use node001; set category nosuch; home", "commit check")
    assert res.returncode == 1 and "Code" in res.stderr and res.stdout == ""
    cluster.stop_node("node002")
    res = run(mtu, "commit check")
    assert res.returncode == 1, str(res)
    assert res.stdout.splitlines()[0].startswith("node002: unreachable: ")
    assert res.stderr == "Configuration check fails: some targets could not be planned (listed above)\n"
    assert run("drift nodes").returncode == 1
    cluster.start_node("node002")
    assert store.journal(1)[-1].seq == 1          # nothing was committed by any of it
    res = run("drift nodes")
    assert (res.returncode, res.stdout) == (0, "Drift: none\n")
    res = run("drift")      # no kubernetes: section: only the nodes are compared
    assert (res.returncode, res.stdout) == (0, "Drift: none\n")
    # a kubernetes: section whose cluster's API cannot be reached (no kubeconfig)
    conf.write_text(json.dumps({"apply": "auto", "ssh": settings(cluster),
                                "kubernetes": {"default": {"kubeconfig": str(tmp_path / "no-kubeconfig")}}}))
    res = run("drift")
    assert res.returncode == 1
    assert res.stdout.startswith("default/apps/system/bootstrap, default/apps/system/calico, "), res.stdout
    assert ", default/labelsets/nvidia: unreachable: cannot load kubeconfig " in res.stdout
    assert res.stdout.splitlines()[-1] == "Drift: none; 1 Kubernetes cluster unreachable"
    cluster.node("node004").host_path(DAEMON).chmod(0o640)
    res = run("drift nodes -d {}")
    assert res.returncode == Exit.DRIFT, str(res)
    got = json.loads(res.stdout)
    assert got["nodes"][0]["node"] == "node004"
    assert got["nodes"][0]["files"] == [{"path": DAEMON, "created": False, "diff": "",
                                         "mode": ["0640", "0644"], "owner": None}]
    assert got["summary"] == "Drift: 1 node differs in 1 file (1 mode changed)"


def test_manual_apply_pending_in_journal_and_drift_then_sync(demo):
    cluster, s, store = demo
    s.engine.config.apply = "manual"
    assert s.run_line("category use default; roles; use docker::host; set mtu 1400; home; commit")
    out(s)
    assert s.run_line("journal -n 1")
    assert "pending 6 (apply: manual)" in out(s).splitlines()[-1]
    assert s.run_line("drift node001")
    text = out(s)
    assert text.startswith("node001: (commit 2 not applied yet)\n  /etc/docker/daemon.json: differs\n")
    assert s.run_line("sync")
    out(s)
    assert s.run_line("journal show 2")
    assert f"Outcome: applied 6/6 (last sync by {journal_user()} at " in out(s)
    assert mtu_of(cluster, "node006") == 1400
