"""SSH transport on paramiko: one connection per node for all its reads, writes and commands.

Imported only when something is applied (paramiko is not loaded by `device; list`). What is
costly and shared is done once per apply, not once per node: known_hosts is parsed once, the
OpenSSH client configuration once, each identity file once.
"""
from __future__ import annotations

import fcntl
import os
import posixpath
import shlex
import socket
import threading
import uuid
from dataclasses import dataclass

import paramiko

from cmshell.env import Environment

POLICIES = ("strict", "accept-new")


class Unreachable(Exception):
    """The node cannot be reached or refuses us (down, host key, authentication, timeout)."""


class RemoteError(Exception):
    """Reached, but an operation on the node failed; the message is one line."""


class ConnectionLost(EOFError):
    """The connection broke off half-way (the node went down, its sshd was killed)."""


SSHException = paramiko.SSHException


@dataclass(frozen=True)
class Remote:
    """A remote file as it is now (content None: no such file)."""
    content: bytes | None
    mode: int = 0
    uid: int = -1
    gid: int = -1


class Transport:
    """Settings of one apply (the config file's `ssh:` section) and what it loads once."""

    def __init__(self, settings: dict, env: Environment):
        self.expand = env.expand
        self.user = str(settings.get("user") or "root")
        self.policy = str(settings.get("host_key_policy") or "strict")
        if self.policy not in POLICIES:
            raise ValueError(f"ssh host_key_policy must be one of {', '.join(POLICIES)}, not {self.policy}")
        self.connect_timeout = float(settings.get("connect_timeout") or 10)
        self.command_timeout = float(settings.get("command_timeout") or 120)
        self.known_hosts = self.expand(str(settings.get("known_hosts") or "~/.ssh/known_hosts"))
        self.identity = self.expand(str(settings.get("identity_file") or "~/.ssh/id_ed25519"))
        self.host_keys = paramiko.HostKeys()
        if os.path.isfile(self.known_hosts):
            self.host_keys.load(self.known_hosts)
        self.ssh_config = paramiko.SSHConfig()
        cfg = settings.get("ssh_config")
        if cfg and os.path.isfile(self.expand(str(cfg))):
            self.ssh_config = paramiko.SSHConfig.from_path(self.expand(str(cfg)))
        self._keys: dict[str, paramiko.PKey] = {}
        self._lock = threading.Lock()

    def address(self, node: str, ip: str | None) -> tuple[str, int, str, str]:
        """(host, port, user, identity file): the OpenSSH client config may map the node elsewhere."""
        c = self.ssh_config.lookup(node)
        host = c.get("hostname", node)
        if host == node and ip:
            host = ip                # no Host block renames it: the device's ip
        ident = (c.get("identityfile") or [self.identity])[0]
        return host, int(c.get("port", 22)), str(c.get("user", self.user)), self.expand(ident)

    def _key(self, path: str) -> paramiko.PKey:
        with self._lock:
            if path not in self._keys:
                try:
                    self._keys[path] = paramiko.PKey.from_path(path)
                except (OSError, paramiko.SSHException) as e:
                    raise Unreachable(f"cannot load identity file {path}: {e}") from None
            return self._keys[path]

    def _verify(self, node: str, host: str, port: int, key: paramiko.PKey) -> None:
        names = [host if port == 22 else f"[{host}]:{port}", node]
        for name in names:
            known = self.host_keys.lookup(name)
            if known is None or key.get_name() not in known:
                continue
            if known[key.get_name()] == key:
                return
            raise Unreachable(f"host key of {names[0]} has CHANGED ({key.get_name()} "
                              f"{key.fingerprint}); refusing to connect (fix {self.known_hosts})")
        if self.policy != "accept-new":
            raise Unreachable(f"host key of {names[0]} is unknown ({key.get_name()} {key.fingerprint});"
                              f" add it to {self.known_hosts} or set host_key_policy: accept-new")
        with self._lock:
            self.host_keys.add(names[0], key.get_name(), key)
            # appended under a file lock: parallel applies of other sessions may record keys too
            with open(self.known_hosts, "a", encoding="ascii") as fh:
                fcntl.flock(fh, fcntl.LOCK_EX)
                fh.write(f"{names[0]} {key.get_name()} {key.get_base64()}\n")

    def connect(self, node: str, ip: str | None) -> Connection:
        host, port, user, ident = self.address(node, ip)
        pkey = self._key(ident)
        try:
            sock = socket.create_connection((host, port), timeout=self.connect_timeout)
        except OSError as e:
            raise Unreachable(f"cannot connect to {host}:{port}: {e.strerror or e}") from None
        t = paramiko.Transport(sock)
        try:
            t.banner_timeout = t.handshake_timeout = t.auth_timeout = self.connect_timeout
            t.start_client(timeout=self.connect_timeout)
            self._verify(node, host, port, t.get_remote_server_key())
            t.auth_publickey(user, pkey)
        except Unreachable:
            t.close()
            raise
        except paramiko.AuthenticationException:
            t.close()
            raise Unreachable(f"{user}@{host}:{port} refused our key ({ident})") from None
        except (paramiko.SSHException, OSError, EOFError) as e:
            t.close()
            raise Unreachable(f"ssh to {host}:{port} failed: {e or type(e).__name__}") from None
        return Connection(t, self.command_timeout)


class Connection:
    def __init__(self, transport: paramiko.Transport, timeout: float):
        self.t, self.timeout = transport, timeout
        sftp = paramiko.SFTPClient.from_transport(transport)
        if sftp is None:
            raise ConnectionLost("cannot open the SFTP channel")
        self.sftp: paramiko.SFTPClient = sftp
        channel = sftp.get_channel()
        if channel is not None:
            channel.settimeout(timeout)
        self._ids: dict[tuple[str, str], int] = {("u", "root"): 0, ("g", "root"): 0}

    def close(self) -> None:
        self.sftp.close()
        self.t.close()

    @property
    def alive(self) -> bool:
        return self.t.is_active()

    def run(self, command: str) -> tuple[int, str, str]:
        try:
            chan = self.t.open_session(timeout=self.timeout)
        except paramiko.SSHException as e:
            if self.alive:
                raise RemoteError(f"cannot run {command!r}: {e}") from None
            raise ConnectionLost(str(e) or "SSH session not active") from None
        try:
            chan.settimeout(self.timeout)
            chan.exec_command(command)
            out, err = chan.makefile("rb").read(), chan.makefile_stderr("rb").read()
            if not chan.status_event.wait(self.timeout):
                raise RemoteError(f"{command!r} did not finish within {self.timeout:g} s")
            status = chan.recv_exit_status()
            if status == -1 and not self.alive:      # closed without an exit status: we lost the node
                raise ConnectionLost(f"during {command!r}")
            return status, out.decode(errors="replace"), err.decode(errors="replace")
        except socket.timeout:
            raise RemoteError(f"{command!r} did not finish within {self.timeout:g} s") from None
        finally:
            chan.close()

    def read(self, path: str) -> Remote:
        try:
            st = self.sftp.stat(path)
            with self.sftp.open(path, "rb") as fh:
                data = fh.read()
        except FileNotFoundError:
            return Remote(None)
        except OSError as e:
            raise RemoteError(f"cannot read {path}: {e.strerror or e}") from None
        return Remote(data, (st.st_mode or 0) & 0o7777, st.st_uid or 0, st.st_gid or 0)

    def ids(self, owner: str, group: str) -> tuple[int, int]:
        """Numeric ids of the node's user and group (looked up once per connection)."""
        for kind, name in (("u", owner), ("g", group)):
            if (kind, name) not in self._ids:
                cmd = f"id -u {shlex.quote(name)}" if kind == "u" else f"getent group {shlex.quote(name)}"
                rc, out, _ = self.run(cmd)
                if rc != 0:
                    raise RemoteError(f"no {'user' if kind == 'u' else 'group'} {name} on the node")
                self._ids[(kind, name)] = int(out.strip().split(":")[2] if kind == "g" else out.strip())
        return self._ids[("u", owner)], self._ids[("g", group)]

    def _mkdirs(self, directory: str, mode: int) -> None:
        missing = []
        while directory not in ("/", ""):
            try:
                self.sftp.stat(directory)
                break
            except FileNotFoundError:
                missing.append(directory)
                directory = posixpath.dirname(directory)
        for d in reversed(missing):
            self.sftp.mkdir(d, mode)
            self.sftp.chmod(d, mode)     # mkdir's mode is filtered by the server's umask

    def stage(self, path: str, content: bytes, mode: int, uid: int, gid: int,
              mkdir: bool, dir_mode: int) -> str:
        """Write `content` to a temporary file beside `path` (same file system, so the rename
        is atomic) with its final mode and owner; `commit` renames it into place."""
        directory = posixpath.dirname(path)
        tmp = posixpath.join(directory, f".{posixpath.basename(path)}.cmshell-{uuid.uuid4().hex[:8]}")
        try:
            if mkdir:
                self._mkdirs(directory, dir_mode)
            with self.sftp.open(tmp, "wb") as fh:
                fh.write(content)
            if self.sftp.stat(tmp).st_size != len(content):      # a short write (disk full)
                raise OSError(28, "No space left on device")
            self.sftp.chmod(tmp, mode)
            self.sftp.chown(tmp, uid, gid)
        except OSError as e:
            try:
                self.sftp.remove(tmp)
            except OSError:
                pass
            why = e.strerror or str(e) or type(e).__name__
            raise RemoteError(f"cannot write {path}: {why}") from None
        return tmp

    def commit(self, moves: list[tuple[str, str]]) -> None:
        """fsync the staged files, then rename each over its target, in one command."""
        if not moves:
            return
        q = shlex.quote
        script = "sync " + " ".join(q(t) for t, _ in moves) + " && " + " && ".join(
            f"mv -f {q(t)} {q(p)}" for t, p in moves)
        rc, _, err = self.run(script)
        if rc != 0:
            self.run("rm -f " + " ".join(q(t) for t, _ in moves))
            raise RemoteError(f"cannot move files into place: {err.strip().splitlines()[-1:] or rc}")
