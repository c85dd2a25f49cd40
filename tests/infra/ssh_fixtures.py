"""pytest fixtures for the SSH backend tests: real sshd nodes (tests/infra/sshnodes.py).

`ssh_cluster` is a started cluster of node001..node003, fresh for every test, so fault injection
(stop_node, change_host_key, deny_key, fill_disk) never leaks into the next test. For other
shapes, `make_ssh_cluster(["head", "node001", ...])`. Everything is killed at teardown, also
when the test fails.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.infra.sshnodes import SshCluster, missing_tools

__all__ = ["ssh_cluster", "make_ssh_cluster", "ssh_connect"]


def ssh_connect(cluster: SshCluster, name: str, timeout: float = 5.0):
    """A paramiko client logged in to the node as root, strict about host keys (RejectPolicy)."""
    import paramiko
    n = cluster.node(name)
    client = paramiko.SSHClient()
    client.load_host_keys(str(cluster.known_hosts))
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    try:
        client.connect(n.addr, port=n.port, username="root", key_filename=str(cluster.identity_file),
                       allow_agent=False, look_for_keys=False, timeout=timeout)
    except BaseException:
        client.close()
        raise
    return client


@pytest.fixture
def make_ssh_cluster(private_network: None, tmp_path: Path) -> Iterator[Callable[[list[str]], SshCluster]]:
    """Factory: make_ssh_cluster(names) -> a started SshCluster; all are stopped at teardown."""
    why = missing_tools()
    if why:
        pytest.skip(why)
    clusters: list[SshCluster] = []

    def make(names: list[str]) -> SshCluster:
        cluster = SshCluster(tmp_path / f"ssh{len(clusters)}", names)
        clusters.append(cluster)
        return cluster.start()

    try:
        yield make
    finally:
        for cluster in clusters:
            cluster.stop()


@pytest.fixture
def ssh_cluster(make_ssh_cluster: Callable[[list[str]], SshCluster]) -> SshCluster:
    """node001..node003 on 127.0.1.1-3 port 22; see SshCluster for the files and fault injection."""
    return make_ssh_cluster(["node001", "node002", "node003"])
