"""What the SSH backend tests share: the `ssh:` settings for a test cluster, an Engine whose ssh
backend is this tree's (injected, not the installed entry point), a config file for cli runs, and
the fixture `ssh_session` (sshd nodes and a shell session on the demo store, wired together)."""
from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from conftest import session_on
from cmshell.backends.config import Config
from cmshell.backends.engine import Engine
from cmshell.backends.ssh.backend import SshBackend
from cmshell.store import open_store
from tests.infra.sshnodes import SshCluster

DEMO = ["basecm10", "node001", "node002", "node003", "node004", "node005", "node006", "gpu001", "gpu002"]
DEFAULT = ["node001", "node002", "node003", "node004", "node005", "node006"]    # category default
DAEMON = "/etc/docker/daemon.json"


def settings(cluster: SshCluster, **more: object) -> dict:
    out: dict = {"known_hosts": str(cluster.known_hosts), "identity_file": str(cluster.identity_file),
                 "ssh_config": str(cluster.ssh_config), "fanout": 8, "connect_timeout": 3,
                 "command_timeout": 20}
    out.update(more)
    return out


def attach(s, store, cluster: SshCluster, apply: str = "auto", **more: object) -> Engine:
    """Give session `s` an engine with the ssh backend; its commits go to it (auto or manual)."""
    s.engine = Engine(store, s.schema, Config(None, apply, {"ssh": settings(cluster, **more)}),
                      events=s.events, factories={"ssh": lambda: SshBackend})
    if apply != "off":
        s.committer.after.append(s.engine.after_commit)
    return s.engine


def config_file(path: Path, cluster: SshCluster, apply: str = "auto") -> Path:
    """A cmshell configuration file (docs/backends.md) pointing at the test cluster."""
    ssh = "".join(f"  {k}: {v}\n" for k, v in settings(cluster).items())
    path.write_text(f"apply: {apply}\nssh:\n{ssh}")
    return path


def calls(cluster: SshCluster, name: str) -> list[str]:
    return cluster.node(name).systemctl_calls()


def logins(cluster: SshCluster, name: str) -> int:
    """How many SSH logins the node's sshd accepted (its log, which survives a stop)."""
    return (cluster.node(name).read("/var/log/sshd.log") or b"").count(b"Accepted publickey")


def mtu_of(cluster: SshCluster, name: str) -> object:
    """The mtu of the node's docker daemon.json (None if it sets none; no file is an error)."""
    text = cluster.node(name).read(DAEMON)
    assert text is not None, f"{name} has no {DAEMON}"
    return json.loads(text).get("mtu")


def out(s) -> str:
    """What session `s` printed since the last call (and forget it)."""
    text = s.env.stdout.getvalue()
    s.env.stdout.seek(0)
    s.env.stdout.truncate()
    return text


@pytest.fixture
def ssh_session(make_ssh_cluster, db, shared_cache) -> Iterator[Callable[..., tuple]]:
    """Factory: ssh_session(names, apply="auto", **settings) -> (cluster, s, store): `names` as
    sshd nodes, and a shell session `s` on this test's demo store whose engine has the ssh backend
    (attach: apply auto, manual or off; settings override the `ssh:` ones). The store is closed at
    teardown, before the nodes are stopped."""
    stores = []

    def make(names: list[str], apply: str = "auto", **more: object) -> tuple:
        cluster = make_ssh_cluster(names)
        store = open_store(db)
        stores.append(store)
        s = session_on(store, shared_cache)
        attach(s, store, cluster, apply, **more)
        return cluster, s, store

    try:
        yield make
    finally:
        for store in stores:
            store.close()
