"""Real sshd "nodes" for the SSH backend tests, each with its own copy-on-write root filesystem.

Every node is one `/usr/sbin/sshd -D` started through
`unshare --pid --fork --kill-child --mount --uts --propagation private`: inside, an overlay of the
host's `/` (upper dir per node) is mounted on the node's root, /sys and /dev are bind-mounted, /proc
is fresh (the node sees only its own processes, so `pkill nginx` on a node cannot hit the host),
/run and /root are fresh tmpfs (no slow root .bashrc), the hostname is the node's name, then sshd is
exec'ed under chroot. sshd is PID 1 of the node's PID namespace: killing it takes down everything
the node runs (commands started over SSH included), and the mounts die with the namespace.

What a node writes lands in its upper dir; the host's files are never changed. Read a running node
from outside through /proc/PID/root (see Node.read). Addresses are loopback only: 127.0.1.N port 22
(meant for the private network namespace of the test run), or 127.0.0.1 with one port per node.
The paper this follows: /work/shared/reference/test-infra.md, section 1 (whole-root variant).
"""
from __future__ import annotations

import ctypes
import errno
import os
import shlex
import shutil
import signal
import socket
import stat as stat_mod
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from types import TracebackType

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

SSHD = "/usr/sbin/sshd"
TOOLS = (SSHD, "unshare", "chroot", "nsenter", "mount")

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

# Runs in the new namespaces as PID 1 and ends by becoming sshd. /run is private so that
# /run/sshd (privilege separation) and pid files of nginx and friends are per node.
LAUNCH = """\
set -e
R={root}
hostname {name}
mount -t overlay overlay -o lowerdir=/,upperdir={upper},workdir={work} "$R"
mount -t proc proc "$R/proc"
mount --rbind /sys "$R/sys"
mount --rbind /dev "$R/dev"
mount -t tmpfs -o mode=0755 tmpfs "$R/run"
mkdir -m 0755 "$R/run/sshd"
mount -t tmpfs -o mode=0700 tmpfs "$R/root"
mkdir -m 0700 "$R/root/.ssh"
cp {keys} "$R/root/.ssh/authorized_keys"
chmod 0600 "$R/root/.ssh/authorized_keys"
cp -R {seed}/. "$R/"
exec chroot "$R" {sshd} -D -f /etc/ssh/sshd_config -E /var/log/sshd.log
"""

_PR_SET_PDEATHSIG = 1


def missing_tools() -> str | None:
    """Why nodes cannot be started here, or None."""
    if os.geteuid() != 0:
        return "sshd nodes need root (mount namespaces, overlayfs, chroot)"
    missing = [t for t in TOOLS if not shutil.which(t)]
    if missing:
        return f"missing {', '.join(missing)} (apt-get install -y openssh-server util-linux mount)"
    return None


def keypair(comment: str) -> tuple[bytes, str]:
    """A fresh ed25519 key: (private key in OpenSSH format, "ssh-ed25519 AAAA... comment")."""
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                serialization.NoEncryption())
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                           serialization.PublicFormat.OpenSSH).decode()
    return private, f"{public} {comment}"


def _write(path: Path, data: bytes, mode: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    os.chmod(path, mode)


def _die_with_parent() -> None:
    # if pytest itself is killed, unshare dies and --kill-child takes the node down with it
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def _listening() -> set[str]:
    """Listening TCP sockets of this network namespace, as /proc/net/tcp spells them."""
    with open("/proc/net/tcp") as f:
        rows = [line.split() for line in f.readlines()[1:]]
    return {r[1] for r in rows if r[3] == "0A"}


def _tcp_key(addr: str, port: int) -> str:
    return f"{socket.inet_aton(addr)[::-1].hex().upper()}:{port:04X}"


def resolve_in_root(root: Path, path: str) -> PurePosixPath:
    """`path` as the node sees it, symlinks followed inside `root` (absolute targets included).

    Following links through /proc/PID/root by the kernel would resolve an absolute link against
    the host's root, and a write could land on the host."""
    parts = list(PurePosixPath(path).parts[1:])
    cur = PurePosixPath("/")
    for _ in range(256):
        if not parts:
            return cur
        part = parts.pop(0)
        if part in (".", ""):
            continue
        if part == "..":
            cur = cur.parent
            continue
        full = root / (cur / part).relative_to("/")
        if full.is_symlink():
            target = PurePosixPath(os.readlink(full))
            if target.is_absolute():
                cur = PurePosixPath("/")
            parts = list(target.parts[1:] if target.is_absolute() else target.parts) + parts
            continue
        cur = cur / part
    raise OSError(errno.ELOOP, "too many symlinks", path)


@dataclass
class Node:
    name: str
    addr: str
    port: int
    dir: Path                   # upper/, work/, root/ (mount point), seed/, launch.log
    host_key: str = ""          # "ssh-ed25519 AAAA..." the node currently presents
    pid: int | None = None      # host PID of sshd, which is PID 1 of the node's PID namespace
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)   # unshare

    @property
    def running(self) -> bool:
        return self.pid is not None and self.proc is not None and self.proc.poll() is None

    def host_path(self, path: str) -> Path:
        """Where the node's `path` is reachable from the host, following the node's symlinks."""
        if not self.running:
            raise RuntimeError(f"{self.name} is not running")
        root = Path(f"/proc/{self.pid}/root")
        return root / resolve_in_root(root, path).relative_to("/")

    def _view(self, path: str) -> Path | None:
        if self.running:
            return self.host_path(path)
        # a stopped node: its changes are in upper/, the rest is the host's (whiteout = deleted)
        rel = PurePosixPath(path).relative_to("/")
        up = self.dir / "upper" / rel
        if not os.path.lexists(up):
            return Path("/") / rel
        st = up.lstat()
        return None if stat_mod.S_ISCHR(st.st_mode) and st.st_rdev == 0 else up

    def read(self, path: str) -> bytes | None:
        """The node's file, or None if it has none (works after stop_node too)."""
        try:
            return p.read_bytes() if (p := self._view(path)) else None
        except (FileNotFoundError, NotADirectoryError):
            return None

    def stat(self, path: str) -> os.stat_result | None:
        try:
            return p.stat() if (p := self._view(path)) else None
        except (FileNotFoundError, NotADirectoryError):
            return None

    def write(self, path: str, data: bytes, mode: int = 0o644) -> None:
        """Preset a file on the (running) node; missing parent directories are created."""
        _write(self.host_path(path), data, mode)

    def systemctl_calls(self) -> list[str]:
        """Argument lines of every systemctl (or reboot, ...) call on this node, oldest first."""
        return (self.read("/var/log/systemctl.calls") or b"").decode().splitlines()

    def hook(self, unit: str, script: str) -> None:
        """`systemctl VERB unit` runs `script VERB` on the node (after logging the call): the
        test's stand-in for the unit file, e.g. one that really (re)starts etcd. A non-zero exit
        fails the systemctl call as a failed unit would."""
        self.write(f"/etc/systemctl-hooks/{unit}", script.encode(), 0o755)

    def fail_unit(self, unit: str) -> None:
        """From now on `systemctl ACTION unit` exits 1 on this node (is-active says `failed`)."""
        old = self.read("/etc/systemctl-fail") or b""
        self.write("/etc/systemctl-fail", old + unit.encode() + b"\n")


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
        _write(self.identity_file, private, 0o600)
        _write(self.identity_file.with_suffix(".pub"), public.encode() + b"\n", 0o644)
        for n in self.nodes.values():
            for sub in ("upper", "work", "root", "seed"):
                (n.dir / sub).mkdir(parents=True, exist_ok=True)
            _write(n.dir / "authorized_keys", public.encode() + b"\n", 0o600)
            self._seed(n)
        self._write_client_files()
        try:
            for n in self.nodes.values():
                self._launch(n)
            self._wait_ready(list(self.nodes.values()))
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Kill every node (and all it runs) and wait for it; safe to call twice."""
        for n in self.nodes.values():
            self._halt(n)

    def __enter__(self) -> SshCluster:
        return self.start()

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    # -- fault injection ------------------------------------------------------------------------

    def stop_node(self, name: str) -> None:
        """The node goes down: its sshd and everything it ran are killed, connects are refused."""
        self._halt(self.nodes[name])

    def start_node(self, name: str) -> None:
        """Boot a stopped node again; files it wrote before are still there."""
        n = self.nodes[name]
        if not n.running:
            self._launch(n)
            self._wait_ready([n])

    def change_host_key(self, name: str) -> None:
        """Restart the node with a new host key; known_hosts keeps the old one."""
        self._halt(self.nodes[name])
        self._seed(self.nodes[name])
        self.start_node(name)

    def deny_key(self, name: str) -> None:
        """The client key is no longer authorized on this node (until the cluster is rebuilt)."""
        n = self.nodes[name]
        _write(n.dir / "authorized_keys", b"", 0o600)
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
        _write(seed / "etc/ssh/sshd_config", SSHD_CONFIG.format(addr=n.addr, port=n.port).encode(), 0o644)
        _write(seed / "etc/ssh/ssh_host_ed25519_key", private, 0o600)
        _write(seed / "etc/ssh/ssh_host_ed25519_key.pub", public.encode() + b"\n", 0o644)
        _write(seed / "etc/hostname", n.name.encode() + b"\n", 0o644)
        for stub in ("usr/local/bin/systemctl", "usr/bin/systemctl"):
            _write(seed / stub, SYSTEMCTL_STUB.encode(), 0o755)

    def _write_client_files(self) -> None:
        hosts, config = [], []
        for n in self.nodes.values():
            pattern = n.addr if n.port == 22 else f"[{n.addr}]:{n.port}"
            hosts.append(f"{pattern} {n.host_key}\n")
            config.append(f"Host {n.name}\n    HostName {n.addr}\n    Port {n.port}\n    User root\n"
                          f"    IdentityFile {self.identity_file}\n    IdentitiesOnly yes\n"
                          f"    UserKnownHostsFile {self.known_hosts}\n    StrictHostKeyChecking yes\n\n")
        _write(self.known_hosts, "".join(hosts).encode(), 0o644)
        _write(self.ssh_config, "".join(config).encode(), 0o644)

    def _launch(self, n: Node) -> None:
        q = lambda p: shlex.quote(str(p))   # noqa: E731
        script = LAUNCH.format(root=q(n.dir / "root"), name=q(n.name), upper=q(n.dir / "upper"),
                               work=q(n.dir / "work"), keys=q(n.dir / "authorized_keys"),
                               seed=q(n.dir / "seed"), sshd=SSHD)
        with open(n.dir / "launch.log", "ab") as log:
            n.proc = subprocess.Popen(
                ["unshare", "--pid", "--fork", "--kill-child", "--mount", "--uts", "--propagation",
                 "private", "--", "sh", "-c", script],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, preexec_fn=_die_with_parent)
        n.pid = None

    def _wait_ready(self, nodes: list[Node], timeout: float = 10.0) -> None:
        """Until each node's sshd listens; a node that died on the way raises with its logs."""
        deadline = time.monotonic() + timeout
        pending = {_tcp_key(n.addr, n.port): n for n in nodes}
        while pending:
            for n in pending.values():
                assert n.proc is not None
                if n.pid is None:   # unshare's child: sh, which becomes chroot, then sshd
                    kids = Path(f"/proc/{n.proc.pid}/task/{n.proc.pid}/children")
                    try:
                        n.pid = int(kids.read_text().split()[0])
                    except (OSError, IndexError, ValueError):
                        pass
                if n.proc.poll() is not None:
                    raise RuntimeError(f"node {n.name} did not start:\n{self._logs(n)}")
            for key in pending.keys() & _listening():
                if pending[key].pid is not None:
                    del pending[key]
            if pending and time.monotonic() > deadline:
                late = sorted(pending.values(), key=lambda n: n.name)
                raise RuntimeError(f"nodes not listening after {timeout} s: {[n.name for n in late]}\n"
                                   f"{self._logs(late[0])}")
            if pending:
                time.sleep(0.005)

    def _logs(self, n: Node) -> str:
        sshd_log = n.dir / "upper/var/log/sshd.log"
        return "".join(p.read_text(errors="replace") for p in (n.dir / "launch.log", sshd_log) if p.exists())

    def _halt(self, n: Node) -> None:
        if n.proc is None:
            return
        if n.pid is not None and n.proc.poll() is None:
            # SIGKILL to PID 1 of the node's PID namespace kills everything in it; unshare, which
            # waits for it, exits once they are all gone, so the address is free after wait()
            try:
                os.kill(n.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        else:
            n.proc.kill()   # --kill-child takes the child along
        n.proc.wait(timeout=10)
        n.proc, n.pid = None, None
