"""`commit confirmed` for real: the committing cmshell is SIGKILLed; its detached watcher rolls the
store back at the deadline and re-applies the previous state to the sshd nodes and the
kube-apiserver (docs/safety.md)."""
from __future__ import annotations

import json
import os
import queue
import signal
import threading
import time

import pytest

pytest.importorskip("kubernetes")
from kubernetes import client  # noqa: E402

from conftest import journal_user  # noqa: E402
from cmshell.safety import confirm, outcome  # noqa: E402
from cmshell.store import open_store  # noqa: E402
from tests.backends.kube_helpers import configmap  # noqa: E402
from tests.backends.ssh_helpers import DEFAULT, DEMO, mtu_of, settings  # noqa: E402


def lines_of(proc) -> queue.Queue:
    q: queue.Queue = queue.Queue()

    def pump() -> None:
        for line in proc.stdout:
            q.put(line)
    threading.Thread(target=pump, daemon=True).start()
    return q


def wait_line(q: queue.Queue, text: str, timeout: float = 120) -> str:
    end = time.monotonic() + timeout
    seen = []
    while time.monotonic() < end:
        try:
            line = q.get(timeout=0.5)
        except queue.Empty:
            continue
        seen.append(line)
        if text in line:
            return line
    raise AssertionError(f"no {text!r} in {''.join(seen)!r}")


def test_unconfirmed_commit_is_reverted_after_the_session_was_killed(make_ssh_cluster, cm, db, tmp_path,
                                                                     kube_api, kube_client, kube_namespace):
    v1 = client.CoreV1Api(kube_client)
    cluster = make_ssh_cluster(DEMO)
    conf = tmp_path / "config.yaml"
    conf.write_text(json.dumps({"apply": "auto", "ssh": settings(cluster),
                                "kubernetes": {"default": {"kubeconfig": str(kube_api.kubeconfig)}}}))
    one, two = tmp_path / "one.yaml", tmp_path / "two.yaml"
    one.write_text(configmap("web", kube_namespace, port="80"))
    two.write_text(configmap("web", kube_namespace, port="8080"))
    res = cm("--config", str(conf), "-c", "sync ssh")
    assert res.returncode == 0, str(res)
    res = cm("--config", str(conf), "-c", f"kubernetes; appgroups; add safety; applications; add web; "
                                          f"set config {one}; commit")
    assert res.returncode == 0, str(res)
    assert v1.read_namespaced_config_map("web", kube_namespace).data == {"port": "80"}
    restarts = cluster.node("node001").systemctl_calls().count("restart docker")

    proc = cm.popen("--config", str(conf))
    out = lines_of(proc)
    proc.stdin.write("category use default; roles; use docker::host; set mtu 1400\n"
                     f"kubernetes; appgroups; use safety; applications; use web; set config {two}\n"
                     "home; commit confirmed 0.05\n")
    proc.stdin.flush()
    said = wait_line(out, "will be rolled back at")
    assert said.startswith("Commit 3 will be rolled back at") and "within 3 seconds" in said
    # applied before the prompt came back
    assert all(mtu_of(cluster, n) == 1400 for n in DEFAULT)
    assert v1.read_namespaced_config_map("web", kube_namespace).data == {"port": "8080"}
    with open_store(db) as store:
        token = confirm.pending(store).token
        assert confirm.watcher_alive(store, token)
    os.kill(proc.pid, signal.SIGKILL)              # the session dies without confirming
    proc.wait()

    end = time.monotonic() + 120
    with open_store(db) as store:
        while confirm.pending(store) is not None and time.monotonic() < end:
            time.sleep(0.5)
        assert confirm.pending(store) is None
        last = store.journal(1)[-1]
        assert last.seq == 4 and last.user == journal_user()
        assert last.comment == f"automatic rollback: commit 3 by {journal_user()} not confirmed within 3 seconds"
        # 6 nodes, the application, and the head node (its ApiServerProxy points at the cluster)
        assert outcome.notes(store, [3, 4]) == {3: "applied 8/8; not confirmed: rolled back by 4",
                                                4: "applied 8/8"}
    assert all(mtu_of(cluster, n) is None for n in DEFAULT)
    assert cluster.node("node001").systemctl_calls().count("restart docker") == restarts + 2
    assert v1.read_namespaced_config_map("web", kube_namespace).data == {"port": "80"}
    res = cm("-c", "journal -n 2")
    assert "not confirmed: rolled back by 4" in res.stdout.splitlines()[-2]
