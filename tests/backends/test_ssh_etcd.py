"""The cm-etcd.conf that the backend renders for the demo's kube-default-etcd overlay starts a real
3-member etcd (Debian's etcd 3.4) on the test nodes, over TLS with certificates made here.

Each node's `systemctl restart etcd` (the backend's service action) runs the unit's stand-in: it
(re)starts `etcd --config-file /cm/local/apps/etcd/current/etc/cm-etcd.conf`, as etcd.service does.
"""
from __future__ import annotations

import json
import os
import shutil
import ssl
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

from conftest import session_on
from cmshell.store import open_store
from tests.backends.ssh_helpers import attach, calls
from tests.infra.tls import Ca

CONF = "/cm/local/apps/etcd/current/etc/cm-etcd.conf"
PKI = "/cm/local/apps/etcd/var/etc"       # the demo etcd cluster's ca/member/client paths
NAMES = ["node001", "node002", "node003"]

UNIT = r"""#!/bin/sh
# etcd.service as the test runs it: Type=simple, ExecStart=etcd --config-file cm-etcd.conf
pid=/run/etcd.pid
stop() {
    [ -f $pid ] || return 0
    p=$(cat $pid); kill "$p" 2>/dev/null
    while kill -0 "$p" 2>/dev/null; do sleep 0.02; done
    rm -f $pid
}
case $1 in
    stop) stop ;;
    start|restart)
        stop
        setsid etcd --config-file /cm/local/apps/etcd/current/etc/cm-etcd.conf \
            </dev/null >>/var/log/etcd.log 2>&1 &
        echo $! > $pid ;;
esac
"""


def call(ca: Ca, url: str) -> dict:
    ctx = ssl.create_default_context(cadata=ca.pem.decode())
    with urllib.request.urlopen(url, context=ctx, timeout=3) as r:
        return json.loads(r.read())


def etcdctl(cafile: Path, addr: str, *args: str) -> str:
    """etcdctl over gRPC, as kube-apiserver talks to etcd (the HTTP gateway is off by default
    when etcd reads a configuration file)."""
    out = subprocess.run(["etcdctl", f"--endpoints=https://{addr}:5001", f"--cacert={cafile}",
                          "--dial-timeout=3s", *args], capture_output=True, text=True, timeout=20,
                         env={"ETCDCTL_API": "3", "PATH": os.environ["PATH"]})
    assert out.returncode == 0, out.stderr
    return out.stdout


def wait_healthy(ca: Ca, cluster, addrs: list[str], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    waiting = list(addrs)
    while waiting:
        try:
            if call(ca, f"https://{waiting[0]}:5001/health").get("health") == "true":
                waiting.pop(0)
                continue
        except OSError:
            pass
        if time.monotonic() > deadline:
            logs = {n: (cluster.node(n).read("/var/log/etcd.log") or b"")[-2000:].decode(errors="replace")
                    for n in NAMES}
            pytest.fail(f"etcd on {waiting} not healthy after {timeout} s: {logs}")
        time.sleep(0.1)


def test_rendered_cm_etcd_conf_runs_a_healthy_three_member_etcd(make_ssh_cluster, db, shared_cache, tmp_path):
    if not (shutil.which("etcd") and shutil.which("etcdctl")):
        pytest.skip("needs etcd and etcdctl (apt-get install -y etcd-server etcd-client)")
    cluster = make_ssh_cluster(NAMES)
    addrs = [cluster.node(n).addr for n in NAMES]
    store = open_store(db)
    s = session_on(store, shared_cache)
    # the demo's node addresses (10.141.0.x) become the test nodes' loopback addresses
    assert s.run_line("; ".join(f"device use {n}; set ip {a}; commit" for n, a in zip(NAMES, addrs)))
    # the three share this network namespace: only one of them could have 127.0.0.1:2379
    assert s.run_line("configurationoverlay use kube-default-etcd; roles; use etcd::host; "
                      "set listenclienturls https://$hostname:5001; commit"), s.env.stderr.getvalue()
    ca = Ca("kube-default etcd CA")
    # etcd checks a peer's certificate against the address it connects from, and in this shared
    # namespace every connection to 127.0.1.N comes from 127.0.0.1
    member = ca.issue("etcd member", NAMES, addrs + ["127.0.0.1"])
    client = ca.issue("etcd", NAMES + ["localhost"], addrs + ["127.0.0.1"])
    hosts = "127.0.0.1 localhost\n" + "".join(f"{a} {n}\n" for n, a in zip(NAMES, addrs))
    for n in NAMES:
        node = cluster.node(n)
        node.write("/etc/hosts", hosts.encode())      # BCM keeps node names in /etc/hosts
        for name, data, mode in (("ca.pem", ca.pem, 0o644), ("member.pem", member.cert, 0o644),
                                 ("member.key", member.key, 0o600), ("client.pem", client.cert, 0o644),
                                 ("client.key", client.key, 0o600)):
            node.write(f"{PKI}/{name}", data, mode)
        node.hook("etcd", UNIT)
    engine = attach(s, store, cluster)
    (recap,) = engine.sync(targets=NAMES)
    assert recap.complete, [(r.target, r.reason) for r in recap.results]
    conf = yaml.safe_load(cluster.node("node002").read(CONF))
    assert conf["listen-client-urls"] == "https://127.0.1.2:5001"
    assert conf["initial-cluster"] == ",".join(f"{n}=https://{n}:5002" for n in NAMES)
    assert conf["peer-transport-security"]["cert-file"] == f"{PKI}/member.pem"
    for n in NAMES:
        assert calls(cluster, n).count("restart etcd") == 1
    wait_healthy(ca, cluster, addrs)
    cafile = tmp_path / "ca.pem"
    cafile.write_bytes(ca.pem)
    members = json.loads(etcdctl(cafile, addrs[0], "member", "list", "-w", "json"))["members"]
    assert sorted(m["name"] for m in members) == NAMES
    assert sorted(u for m in members for u in m["clientURLs"]) == [f"https://{n}:5001" for n in NAMES]
    # one cluster: what node001 stores, node003 reads
    etcdctl(cafile, addrs[0], "put", "/cmshell", "applied")
    assert etcdctl(cafile, addrs[2], "get", "/cmshell", "--print-value-only") == "applied\n"
    # nothing changed: the next sync neither writes nor restarts, and etcd keeps running
    (again,) = engine.sync(targets=NAMES)
    assert [r.status for r in again.results] == ["ok"] * 3
    assert all(calls(cluster, n).count("restart etcd") == 1 for n in NAMES)
    wait_healthy(ca, cluster, addrs, timeout=2)
    store.close()
