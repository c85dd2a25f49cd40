"""What the SSH backend tests share: the `ssh:` settings for a test cluster, an Engine whose ssh
backend is this tree's (injected, not the installed entry point), and a config file for cli runs."""
from __future__ import annotations

from pathlib import Path

from cmshell.backends.config import Config
from cmshell.backends.engine import Engine
from cmshell.backends.ssh.backend import SshBackend
from tests.infra.sshnodes import SshCluster

DEMO = ["basecm10", "node001", "node002", "node003", "node004", "node005", "node006", "gpu001", "gpu002"]
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
