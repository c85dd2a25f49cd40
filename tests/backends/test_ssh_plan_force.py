"""plan (reads, writes nothing), sync --force (rewrites and re-runs), and service actions owed by
an apply that failed or broke off, on real sshd nodes."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from cmshell.backends.ssh.backend import SshBackend
from tests.backends.ssh_helpers import DAEMON, DEMO, calls

MTU = "category use default; roles; use docker::host; set mtu {}; commit"


@pytest.fixture
def demo(ssh_session):
    """All demo devices as nodes; commits mark nodes pending (apply: manual), sync applies."""
    return ssh_session(DEMO, apply="manual")


def upper(cluster, name: str) -> dict[str, tuple[int, int, float]]:
    """Every file the node ever wrote (its overlay's upper dir), but sshd's log of our logins."""
    root = cluster.node(name).dir / "upper"
    out = {}
    for dirpath, _, files in os.walk(root):
        for f in files:
            p = Path(dirpath, f)
            rel = str(p.relative_to(root))
            if rel != "var/log/sshd.log":
                st = p.lstat()
                out[rel] = (st.st_size, st.st_mode, st.st_mtime)
    return out


def by_target(results):
    return {r.target: r for r in results}


def file_of(result, path: str):
    """The FileChange of `path` in a node's plan."""
    return next(f for f in result.files if f.path == path)


def ssh_state(s, names=None):
    return SshBackend().observe(s.engine.context("ssh"), names)


def test_plan_reports_diffs_and_actions_and_changes_nothing(demo):
    cluster, s, store = demo
    names = ["node001", "node002", "node003", "node004", "gpu001"]
    (recap,) = s.engine.sync(targets=names[:3])
    assert recap.complete
    assert s.run_line(MTU.format(1400))
    cluster.node("node002").host_path(DAEMON).chmod(0o600)
    cluster.stop_node("node003")
    before = {n: upper(cluster, n) for n in names}
    recorded, events = ssh_state(s), len(s.events.log)
    plan = by_target(s.engine.backend("ssh").plan(s.engine.context("ssh"), names))
    assert plan["node001"].status == "changed"
    assert plan["node001"].changes == ["write /etc/docker/daemon.json (content)", "restart docker"]
    diff = file_of(plan["node001"], DAEMON).diff
    assert diff.startswith(f"--- {DAEMON} (on the node)\n+++ {DAEMON} (cmshell)\n") and '+  "mtu": 1400' in diff
    assert [f.path for f in plan["node001"].files] == [DAEMON]
    assert plan["node002"].changes == ["write /etc/docker/daemon.json (content, mode 0600 -> 0644)",
                                       "restart docker"]
    assert file_of(plan["node002"], DAEMON).mode == (0o600, 0o644)
    assert plan["node003"].status == "unreachable" and "cannot connect" in plan["node003"].reason
    # never applied: every file is new, every action runs
    assert "write /cm/local/apps/etcd/current/etc/cm-etcd.conf (new file)" not in plan["node004"].changes
    assert "write /etc/docker/daemon.json (new file)" in plan["node004"].changes
    new = file_of(plan["node004"], DAEMON)
    assert new.created and new.diff.startswith("--- /dev/null\n") and new.mode == (None, 0o644)
    assert {"restart docker", "restart containerd"} <= set(plan["node004"].changes)
    assert plan["gpu001"].status == "ok" and plan["gpu001"].changes == []
    # nothing written (no temporary file either), nothing run, nothing recorded, no event
    assert {n: upper(cluster, n) for n in names} == before
    assert ssh_state(s) == recorded and len(s.events.log) == events
    assert not any(c.startswith("restart docker") for c in calls(cluster, "node004"))


def test_sync_force_rewrites_every_file_and_reruns_every_action(demo):
    cluster, s, store = demo
    nodes = ["node001", "node004", "gpu001"]
    (recap,) = s.engine.sync(targets=nodes)
    assert recap.complete
    (again,) = s.engine.sync(targets=nodes)
    assert [r.status for r in again.results] == ["ok"] * 3
    inode = cluster.node("node001").stat(DAEMON).st_ino
    content = cluster.node("node001").read(DAEMON)
    assert s.run_line("sync --force -n node001,node004,gpu001 ssh")
    out = s.env.stdout.getvalue()
    assert "ssh: ok=1 changed=2 failed=0 unreachable=0" in out
    assert cluster.node("node001").read(DAEMON) == content
    assert cluster.node("node001").stat(DAEMON).st_ino != inode             # written again
    assert calls(cluster, "node001") == ["restart docker", "restart etcd", "restart containerd"] * 2
    assert calls(cluster, "node004") == ["restart docker", "restart containerd"] * 2
    texts = [e.text for e in s.events.log if e.source == "node004"]
    assert texts.count("Service docker was restarted") == 2
    (after,) = s.engine.sync(targets=nodes)                             # force is for one run only
    assert [r.status for r in after.results] == ["ok"] * 3


def test_a_failed_action_is_owed_until_it_succeeds(demo):
    cluster, s, store = demo
    cluster.node("node004").fail_unit("docker")
    (recap,) = s.engine.sync(targets=["node004"])
    r = recap.results[0]
    assert r.status == "failed" and "systemctl restart docker failed" in r.reason
    state = ssh_state(s, ["node004"])["node004"]
    assert not state["in_sync"] and state["owed"] == [["docker", "restart"]]
    # its files are in place now, yet the restart is still due
    plan = s.engine.backend("ssh").plan(s.engine.context("ssh"), ["node004"])[0]
    assert plan.changes == ["restart docker (owed by an earlier apply)"] and plan.files == []
    (recap,) = s.engine.sync(targets=["node004"])
    assert recap.results[0].status == "failed"
    assert calls(cluster, "node004").count("restart docker") == 2
    cluster.node("node004").write("/etc/systemctl-fail", b"")
    (recap,) = s.engine.sync(targets=["node004"])
    assert recap.results[0].status == "changed" and recap.results[0].changes == ["restart docker"]
    state = ssh_state(s, ["node004"])["node004"]
    assert state["in_sync"] and state["owed"] == []
    (recap,) = s.engine.sync(targets=["node004"])
    assert recap.results[0].status == "ok" and calls(cluster, "node004").count("restart docker") == 3


def test_actions_cut_off_by_a_lost_connection_are_owed(demo):
    cluster, s, store = demo
    node = cluster.node("node005")
    # the connection dies during `restart docker`: every sshd but the listener (PID 1) is killed
    node.hook("docker", "#!/bin/sh\nfor p in $(pgrep -x sshd); do [ $p = 1 ] || kill -9 $p; done\n")
    (recap,) = s.engine.sync(targets=["node005"])
    r = recap.results[0]
    assert r.status == "unreachable" and "connection lost" in r.reason, r.reason
    assert node.read(DAEMON) is not None                 # the files were in place
    state = ssh_state(s, ["node005"])["node005"]
    assert state["owed"] == [["containerd", "restart"], ["docker", "restart"]] and not state["in_sync"]
    node.hook("docker", "#!/bin/sh\nexit 0\n")
    (recap,) = s.engine.sync(targets=["node005"])
    assert recap.results[0].changes == ["restart docker", "restart containerd"]
    assert ssh_state(s, ["node005"])["node005"]["in_sync"]
