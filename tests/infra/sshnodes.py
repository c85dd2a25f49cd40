"""A cluster of real sshd "nodes" for the SSH backend tests: node001..N (tests/infra/nsnode.py:
each in namespaces of its own, on a copy-on-write root), a client key they all accept, each node's
seed files (sshd_config, a host key, a systemctl stand-in) and the client's known_hosts and
ssh_config; and the faults a test injects (a node down, a new host key, a denied key, a full disk).

Addresses are loopback only: 127.0.1.N port 22 (meant for the private network namespace of the
test run), or 127.0.0.1 with one port per node.
"""
from __future__ import annotations

import errno
import subprocess
from pathlib import Path
from types import TracebackType

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.infra.nsnode import Node, missing_tools, wait_ready, write_file

__all__ = ["Node", "SshCluster", "keypair", "missing_tools"]

SSHD_CONFIG = """\
ListenAddress {addr}
Port {port}
HostKey /etc/ssh/ssh_host_ed25519_key
PidFile none
AuthorizedKeysFile .ssh/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
PrintMotd no
UseDNS no
# the default 10:30:100 drops parallel connects from a backend that fans out
MaxStartups 100:30:200
MaxSessions 50
Subsystem sftp internal-sftp
"""

# Installed as /usr/local/bin/systemctl and over /usr/bin/systemctl (reboot, poweroff... are
# symlinks to it on Debian, so they are logged too instead of reaching a real systemd).
SYSTEMCTL_STUB = r"""#!/bin/sh
# systemctl stand-in for cmshell tests: logs each call, fails the units listed in /etc/systemctl-fail,
# runs /etc/systemctl-hooks/UNIT VERB when that exists (a test's stand-in for the unit file)
name=${0##*/}
if [ "$name" = systemctl ]; then printf '%s\n' "$*"; else printf '%s\n' "$name $*"; fi >> /var/log/systemctl.calls
verb= rc=0
for a in "$@"; do
    case $a in -*) continue ;; esac
    if [ -z "$verb" ]; then verb=$a; continue; fi
    u=${a%.service}
    if [ -f /etc/systemctl-fail ] && grep -qxF -e "$u" -e "$u.service" /etc/systemctl-fail; then
        case $verb in
            is-active) echo failed; rc=3 ;;
            *) echo "Job for $u.service failed because the control process exited with error code." >&2
               exit 1 ;;
        esac
    else
        case $verb in is-active) echo active ;; is-enabled) echo enabled ;; esac
        # a unit the test made real: its hook starts/stops the daemon (Node.hook)
        if [ -x "/etc/systemctl-hooks/$u" ]; then
            "/etc/systemctl-hooks/$u" "$verb" || {
                echo "Job for $u.service failed because the control process exited with error code." >&2
                exit 1; }
        fi
    fi
done
exit $rc
"""


def keypair(comment: str) -> tuple[bytes, str]:
    """A fresh ed25519 key: (private key in OpenSSH format, "ssh-ed25519 AAAA... comment")."""
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                serialization.NoEncryption())
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                           serialization.PublicFormat.OpenSSH).decode()
    return private, f"{public} {comment}"


class SshCluster:
    """N sshd nodes with a shared client key: `with SshCluster(tmp, ["node001"]) as c: ...`.

    first_port=22 puts node i on 127.0.1.(i+1):22 (needs the test run's private network
    namespace); any other value puts it on 127.0.0.1:(first_port+i)."""

    def __init__(self, workdir: Path, names: list[str], first_port: int = 22) -> None:
        self.workdir = Path(workdir).resolve()
        self.nodes: dict[str, Node] = {}
        for i, name in enumerate(names):
            addr, port = (f"127.0.1.{i + 1}", 22) if first_port == 22 else ("127.0.0.1", first_port + i)
            self.nodes[name] = Node(name, addr, port, self.workdir / "nodes" / name)
        self.identity_file = self.workdir / "id_ed25519"
        self.known_hosts = self.workdir / "known_hosts"
        self.ssh_config = self.workdir / "ssh_config"

    def node(self, name: str) -> Node:
        return self.nodes[name]

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> SshCluster:
        why = missing_tools()
        if why:
            raise RuntimeError(why)
        private, public = keypair("cmshell-test-client")
        write_file(self.identity_file, private, 0o600)
        write_file(self.identity_file.with_suffix(".pub"), public.encode() + b"\n", 0o644)
        for n in self.nodes.values():
            for sub in ("upper", "work", "root", "seed"):
                (n.dir / sub).mkdir(parents=True, exist_ok=True)
            write_file(n.dir / "authorized_keys", public.encode() + b"\n", 0o600)
            self._seed(n)
        self._write_client_files()
        try:
            for n in self.nodes.values():
                n.launch()
            wait_ready(list(self.nodes.values()))
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Kill every node (and all it runs) and wait for it; safe to call twice."""
        for n in self.nodes.values():
            n.halt()

    def __enter__(self) -> SshCluster:
        return self.start()

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    # -- fault injection ------------------------------------------------------------------------

    def stop_node(self, name: str) -> None:
        """The node goes down: its sshd and everything it ran are killed, connects are refused."""
        self.nodes[name].halt()

    def start_node(self, name: str) -> None:
        """Boot a stopped node again; files it wrote before are still there."""
        n = self.nodes[name]
        if not n.running:
            n.launch()
            wait_ready([n])

    def change_host_key(self, name: str) -> None:
        """Restart the node with a new host key; known_hosts keeps the old one."""
        self.nodes[name].halt()
        self._seed(self.nodes[name])
        self.start_node(name)

    def deny_key(self, name: str) -> None:
        """The client key is no longer authorized on this node (until the cluster is rebuilt)."""
        n = self.nodes[name]
        write_file(n.dir / "authorized_keys", b"", 0o600)
        if n.running:
            n.write("/root/.ssh/authorized_keys", b"", 0o600)

    def fill_disk(self, name: str, directory: str) -> None:
        """Writes under `directory` on the node fail with ENOSPC from now on.

        A tiny tmpfs, filled up, is mounted over it in the node's mount namespace (what was in
        the directory is hidden meanwhile); it goes away when the node stops."""
        n = self.nodes[name]
        target = n.host_path(directory)
        target.mkdir(parents=True, exist_ok=True)
        # nsenter -m lands at the namespace's own "/", where the node's root is mounted on dir/root
        mount_point = n.dir / "root" / target.relative_to(f"/proc/{n.pid}/root")
        subprocess.run(["nsenter", "-t", str(n.pid), "-m", "--", "mount", "-t", "tmpfs",
                        "-o", "size=16k,mode=0755", "tmpfs", str(mount_point)], check=True)
        with open(target / ".filler", "wb", buffering=0) as f:
            try:
                while True:
                    f.write(b"\0" * 4096)
            except OSError as e:
                if e.errno != errno.ENOSPC:
                    raise

    # -- internals ------------------------------------------------------------------------------

    def _seed(self, n: Node) -> None:
        """Files copied into the node's root at every boot: sshd config, a new host key, stubs."""
        private, public = keypair(f"root@{n.name}")
        n.host_key = " ".join(public.split()[:2])
        seed = n.dir / "seed"
        write_file(seed / "etc/ssh/sshd_config", SSHD_CONFIG.format(addr=n.addr, port=n.port).encode(), 0o644)
        write_file(seed / "etc/ssh/ssh_host_ed25519_key", private, 0o600)
        write_file(seed / "etc/ssh/ssh_host_ed25519_key.pub", public.encode() + b"\n", 0o644)
        write_file(seed / "etc/hostname", n.name.encode() + b"\n", 0o644)
        for stub in ("usr/local/bin/systemctl", "usr/bin/systemctl"):
            write_file(seed / stub, SYSTEMCTL_STUB.encode(), 0o755)

    def _write_client_files(self) -> None:
        hosts, config = [], []
        for n in self.nodes.values():
            pattern = n.addr if n.port == 22 else f"[{n.addr}]:{n.port}"
            hosts.append(f"{pattern} {n.host_key}\n")
            config.append(f"Host {n.name}\n    HostName {n.addr}\n    Port {n.port}\n    User root\n"
                          f"    IdentityFile {self.identity_file}\n    IdentitiesOnly yes\n"
                          f"    UserKnownHostsFile {self.known_hosts}\n    StrictHostKeyChecking yes\n\n")
        write_file(self.known_hosts, "".join(hosts).encode(), 0o644)
        write_file(self.ssh_config, "".join(config).encode(), 0o644)
