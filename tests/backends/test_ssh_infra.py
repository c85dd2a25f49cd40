"""The sshd test nodes behave like real hosts to paramiko, and fault injection does what it says."""
from __future__ import annotations

import io
import socket
import subprocess
from pathlib import Path

import paramiko
import pytest

from tests.infra.ssh_fixtures import ssh_connect
from tests.infra.sshnodes import SshCluster


def run(client: paramiko.SSHClient, command: str) -> tuple[int, str, str]:
    _, out, err = client.exec_command(command, timeout=10)
    rc = out.channel.recv_exit_status()
    return rc, out.read().decode(), err.read().decode()


def test_nodes_are_separate_hosts_with_own_files(ssh_cluster: SshCluster) -> None:
    host_etc = sorted(p.name for p in Path("/etc").iterdir())
    with ssh_connect(ssh_cluster, "node002") as c:
        assert run(c, "hostname") == (0, "node002\n", "")
        with c.open_sftp() as sftp:
            sftp.putfo(io.BytesIO(b"key=value\n"), "/etc/cmshell-test.conf")
            sftp.chmod("/etc/cmshell-test.conf", 0o600)
    node = ssh_cluster.node("node002")
    assert node.read("/etc/cmshell-test.conf") == b"key=value\n"
    st = node.stat("/etc/cmshell-test.conf")
    assert st is not None and st.st_mode & 0o777 == 0o600
    assert ssh_cluster.node("node001").read("/etc/cmshell-test.conf") is None
    assert not Path("/etc/cmshell-test.conf").exists()
    assert sorted(p.name for p in Path("/etc").iterdir()) == host_etc


def test_preset_file_and_ssh_config(ssh_cluster: SshCluster) -> None:
    node = ssh_cluster.node("node003")
    node.write("/etc/cmshell/preset.conf", b"x=1\n", mode=0o640)
    cfg = paramiko.SSHConfig.from_path(str(ssh_cluster.ssh_config)).lookup("node003")
    assert (cfg["hostname"], cfg["port"], cfg["user"]) == (node.addr, "22", "root")
    assert cfg["identityfile"] == [str(ssh_cluster.identity_file)]
    with ssh_connect(ssh_cluster, "node003") as c:
        assert run(c, "stat -c %a /etc/cmshell/preset.conf; cat /etc/cmshell/preset.conf") == (0, "640\nx=1\n", "")


def test_systemctl_is_logged_and_can_fail(ssh_cluster: SshCluster) -> None:
    node = ssh_cluster.node("node001")
    node.fail_unit("nginx")
    with ssh_connect(ssh_cluster, "node001") as c:
        assert run(c, "systemctl restart docker") == (0, "", "")
        rc, out, err = run(c, "systemctl reload nginx.service")
        assert rc == 1 and "nginx.service failed" in err
        assert run(c, "systemctl is-active docker nginx") == (3, "active\nfailed\n", "")
        assert run(c, "/usr/bin/systemctl daemon-reload")[0] == 0
    assert node.systemctl_calls() == ["restart docker", "reload nginx.service",
                                      "is-active docker nginx", "daemon-reload"]
    assert ssh_cluster.node("node002").systemctl_calls() == []


def test_changed_host_key_is_rejected(ssh_cluster: SshCluster) -> None:
    ssh_cluster.change_host_key("node001")
    with pytest.raises(paramiko.BadHostKeyException):
        ssh_connect(ssh_cluster, "node001")
    ssh_connect(ssh_cluster, "node002").close()


def test_denied_key_fails_authentication(ssh_cluster: SshCluster) -> None:
    ssh_cluster.deny_key("node002")
    with pytest.raises(paramiko.AuthenticationException):
        ssh_connect(ssh_cluster, "node002")


def test_stopped_node_refuses_and_comes_back(ssh_cluster: SshCluster) -> None:
    with ssh_connect(ssh_cluster, "node003") as c:
        run(c, "echo kept > /var/tmp/kept; sleep 600 >/dev/null 2>&1 </dev/null &")
    ssh_cluster.stop_node("node003")
    with pytest.raises((paramiko.ssh_exception.NoValidConnectionsError, ConnectionRefusedError)):
        ssh_connect(ssh_cluster, "node003")
    assert ssh_cluster.node("node003").read("/var/tmp/kept") == b"kept\n"
    assert ssh_cluster.node("node001").read("/var/tmp/kept") is None
    ssh_cluster.start_node("node003")
    with ssh_connect(ssh_cluster, "node003") as c:
        assert run(c, "cat /var/tmp/kept; pgrep -x sleep || echo none") == (0, "kept\nnone\n", "")


def test_full_disk_fails_sftp_write(ssh_cluster: SshCluster) -> None:
    ssh_cluster.fill_disk("node001", "/var/lib/cmshell")
    with ssh_connect(ssh_cluster, "node001") as c, c.open_sftp() as sftp:
        with pytest.raises(OSError):
            sftp.putfo(io.BytesIO(b"x" * 65536), "/var/lib/cmshell/big.conf")
        sftp.putfo(io.BytesIO(b"ok\n"), "/var/lib/other.conf")   # only that directory is full
    assert ssh_cluster.node("node001").read("/var/lib/other.conf") == b"ok\n"


def test_nothing_outlives_the_cluster(make_ssh_cluster) -> None:
    cluster = make_ssh_cluster(["head", "node001"])
    with ssh_connect(cluster, "head") as c:
        assert run(c, "hostname")[1] == "head\n"
        run(c, "setsid sleep 600 >/dev/null 2>&1 < /dev/null &")
    pids = [n.pid for n in cluster.nodes.values()]
    cluster.stop()
    for pid in pids:
        assert not Path(f"/proc/{pid}").exists()
    assert "sleep 600" not in subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    with pytest.raises(OSError):
        socket.create_connection(("127.0.1.1", 22), timeout=1)
