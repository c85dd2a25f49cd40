"""The SSH backend against real sshd nodes: apply, idempotence, changes through category and
overlay, and every failure kept to its node (down, host key, denied key, full disk, action)."""
from __future__ import annotations

import json

import pytest

from cmshell.backends.ssh.backend import SshBackend
from tests.backends.ssh_helpers import DAEMON, DEMO, calls


@pytest.fixture
def demo(ssh_session):
    """Every demo device as an sshd node, a session on the demo store with apply: auto."""
    return ssh_session(DEMO)


def by_target(recap):
    return {r.target: r for r in recap.results}


def test_sync_applies_then_changes_nothing(demo):
    cluster, s, store = demo
    (recap,) = s.engine.sync()
    assert recap.complete, [(r.target, r.reason) for r in recap.results if r.reason]
    assert json.loads(cluster.node("node004").read(DAEMON))["storage-driver"] == "overlay2"
    assert b"https://node002:5002" in cluster.node("node002").read("/cm/local/apps/etcd/current/etc/cm-etcd.conf")
    assert b"listen 10443;" in cluster.node("basecm10").read("/etc/nginx/nginx.conf")
    assert b"30443" in cluster.node("basecm10").read("/etc/shorewall/rules")
    assert cluster.node("node005").stat("/cm/local/apps/containerd/var/etc/conf.d/cri.toml") is not None
    assert calls(cluster, "node001") == ["restart docker", "restart etcd", "restart containerd"]
    # the head node is a Docker host too (with the registry and Harbor, as the manual shows it)
    assert calls(cluster, "basecm10") == ["restart docker", "restart shorewall", "reload nginx"]
    texts = [e.text for e in s.events.log if e.source == "node001"]
    assert "Service docker was restarted" in texts
    # the second sync: nothing written, nothing restarted
    (again,) = s.engine.sync()
    assert all(r.status == "ok" for r in again.results), [(r.target, r.changes) for r in again.results]
    assert calls(cluster, "node001") == ["restart docker", "restart etcd", "restart containerd"]
    state = SshBackend().observe(s.engine.context("ssh"), ["node001"])["node001"]
    assert state["in_sync"] and state["revision"] == store.journal(1)[-1].seq


def test_change_through_category_and_overlay(demo, tmp_path):
    cluster, s, store = demo
    blob = tmp_path / "registry.toml"
    blob.write_text("root=$containerd_root")
    s.engine.sync()
    assert s.run_line("category use default; roles; use docker::host; set mtu 1400; commit")
    for n in ("node001", "node006"):
        assert json.loads(cluster.node(n).read(DAEMON))["mtu"] == 1400
        assert calls(cluster, n).count("restart docker") == 2
    assert cluster.node("gpu001").read(DAEMON) is None      # category gpu-nodes has no Docker::Host
    # the head node is a Docker host too (with the registry and Harbor, as the manual shows it)
    assert calls(cluster, "basecm10") == ["restart docker", "restart shorewall", "reload nginx"]     # untouched
    before = calls(cluster, "node004")
    assert s.run_line("configurationoverlay use kube-default-worker; roles; use generic::containerd; "
                      "environments; use containerd_root; set value /data/containerd; commit")
    assert calls(cluster, "node004") == before       # value not used in content: nothing written
    assert s.run_line("configurationoverlay use kube-default-worker; roles; use generic::containerd; "
                      "configurations; use containerd-registry; " f"set content {blob}; commit")
    assert cluster.node("node005").read("/cm/local/apps/containerd/var/etc/conf.d/registry.toml") == \
        b"root=/data/containerd"
    assert calls(cluster, "node005")[-1] == "restart containerd"
    assert calls(cluster, "node001").count("restart containerd") == 1


def test_failures_stay_on_their_node(demo):
    cluster, s, store = demo
    cluster.stop_node("node002")
    cluster.change_host_key("node003")
    cluster.deny_key("node004")
    cluster.fill_disk("node005", "/etc/docker")
    cluster.node("node006").fail_unit("docker")
    (recap,) = s.engine.sync()
    r = by_target(recap)
    assert r["node002"].status == "unreachable" and "cannot connect" in r["node002"].reason
    assert r["node003"].status == "unreachable" and "CHANGED" in r["node003"].reason
    assert r["node004"].status == "unreachable" and "refused our key" in r["node004"].reason
    assert r["node005"].status == "failed" and DAEMON in r["node005"].reason
    assert r["node006"].status == "failed" and "systemctl restart docker failed" in r["node006"].reason
    assert r["node001"].status == "changed" and r["gpu001"].status == "ok"
    assert cluster.node("node003").read(DAEMON) is None
    assert not any(c.startswith("restart docker") for c in calls(cluster, "node005"))
    state = SshBackend().observe(s.engine.context("ssh"), None)
    assert not state["node002"]["in_sync"] and state["node001"]["in_sync"]
    assert s.engine.incomplete()
    assert s.run_line("ds")
    shown = s.env.stdout.getvalue()
    assert "node002 ............... [  DOWN  ]" in shown and "out of sync: cannot connect" in shown
    assert "node001 ............... [   UP   ] revision" in shown
    # the node comes back: sync re-applies it alone
    cluster.start_node("node002")
    (recap,) = s.engine.sync(targets=["node002"])
    assert recap.complete and json.loads(cluster.node("node002").read(DAEMON))


def test_accept_new_records_unknown_keys_only(demo):
    cluster, s, store = demo
    cluster.known_hosts.write_text("")
    (recap,) = s.engine.sync(targets=["node001"])
    assert by_target(recap)["node001"].status == "unreachable"
    assert "unknown" in by_target(recap)["node001"].reason
    s.engine.config.backends["ssh"]["host_key_policy"] = "accept-new"
    (recap,) = s.engine.sync(targets=["node001"])
    assert recap.complete and "127.0.1.2 ssh-ed25519" in cluster.known_hosts.read_text()
