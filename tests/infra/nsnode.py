"""One sshd "node" in namespaces of its own, with a copy-on-write root filesystem: the process
and filesystem side of the SSH test nodes (tests/infra/sshnodes.py puts them together as a cluster,
with keys, seed files and the client's ssh_config).

Every node is one `/usr/sbin/sshd -D` started through
`unshare --pid --fork --kill-child --mount --uts --propagation private`: inside, an overlay of the
host's `/` (upper dir per node) is mounted on the node's root, /sys and /dev are bind-mounted, /proc
is fresh (the node sees only its own processes, so `pkill nginx` on a node cannot hit the host),
/run and /root are fresh tmpfs (no slow root .bashrc), the hostname is the node's name, then sshd is
exec'ed under chroot. sshd is PID 1 of the node's PID namespace: killing it takes down everything
the node runs (commands started over SSH included), and the mounts die with the namespace.

What a node writes lands in its upper dir; the host's files are never changed. Read a running node
from outside through /proc/PID/root (see Node.read).
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

SSHD = "/usr/sbin/sshd"
TOOLS = (SSHD, "unshare", "chroot", "nsenter", "mount")

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


def write_file(path: Path, data: bytes, mode: int) -> None:
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
        write_file(self.host_path(path), data, mode)

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

    # -- the process --------------------------------------------------------------------------

    def launch(self) -> None:
        """Start the node (its files in dir/: seed/, authorized_keys); wait_ready() waits for it."""
        q = lambda p: shlex.quote(str(p))   # noqa: E731
        d = self.dir
        script = LAUNCH.format(root=q(d / "root"), name=q(self.name), upper=q(d / "upper"), work=q(d / "work"),
                               keys=q(d / "authorized_keys"), seed=q(d / "seed"), sshd=SSHD)
        with open(self.dir / "launch.log", "ab") as log:
            self.proc = subprocess.Popen(
                ["unshare", "--pid", "--fork", "--kill-child", "--mount", "--uts", "--propagation",
                 "private", "--", "sh", "-c", script],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, preexec_fn=_die_with_parent)
        self.pid = None

    def logs(self) -> str:
        """What unshare, the launch script and sshd said (for errors)."""
        sshd_log = self.dir / "upper/var/log/sshd.log"
        return "".join(p.read_text(errors="replace") for p in (self.dir / "launch.log", sshd_log) if p.exists())

    def halt(self) -> None:
        """Kill the node and all it runs, and wait for it; nothing happens if it is down."""
        if self.proc is None:
            return
        if self.pid is not None and self.proc.poll() is None:
            # SIGKILL to PID 1 of the node's PID namespace kills everything in it; unshare, which
            # waits for it, exits once they are all gone, so the address is free after wait()
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        else:
            self.proc.kill()   # --kill-child takes the child along
        self.proc.wait(timeout=10)
        self.proc, self.pid = None, None


def wait_ready(nodes: list[Node], timeout: float = 10.0) -> None:
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
                raise RuntimeError(f"node {n.name} did not start:\n{n.logs()}")
        for key in pending.keys() & _listening():
            if pending[key].pid is not None:
                del pending[key]
        if pending and time.monotonic() > deadline:
            late = sorted(pending.values(), key=lambda n: n.name)
            raise RuntimeError(f"nodes not listening after {timeout} s: {[n.name for n in late]}\n"
                               f"{late[0].logs()}")
        if pending:
            time.sleep(0.005)

