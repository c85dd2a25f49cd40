"""`imageupdate`: a software image's directory (on this machine) synced to a node's root over the
SSH backend's transport, as rsync would, honouring exclude lists.

What is compared is what rsync's quick check compares: the type, size and modification time
of a file, the target of a link, the mode and owner of everything. A sync writes each file to a
temporary name beside it and renames it into place, so a node never sees half a file. Files on
the node that the image lacks are removed, but only below the image's own top-level
directories (a partial image never empties the node's root).

Nothing is synced where an exclude rule says so: the exclude list snippets of the node's
category and of its roles (own, category's and overlays'), with `modeupdate` on and not
`disabled`; the files the SSH backend renders for the node (they are the cluster's, not the
image's); and DEFAULT_EXCLUDES (what makes a node itself). Rules are rsync's: `/a/b` anchored,
`name` any component, `*`, `**`, `?`, a trailing `/` for directories only, `+ ` to re-include;
the first rule that matches wins, and an excluded directory excludes what is below it.
"""
from __future__ import annotations

import os
import posixpath
import re
import shlex
import stat
import uuid
from dataclasses import dataclass, field
from typing import Iterable

import paramiko

from cmshell.backends.ssh.transport import Connection, RemoteError

# a node's own files and the kernel's, never taken from an image
DEFAULT_EXCLUDES = ("/proc/", "/sys/", "/dev/", "/run/", "/tmp/", "/var/tmp/", "/var/run/",
                    "/var/log/", "/home/", "/cm/shared/", "/root/.ssh/", "/etc/ssh/ssh_host_*",
                    "/etc/hostname", "/etc/machine-id", "lost+found/")


@dataclass(frozen=True)
class Entry:
    kind: str            # "f" file, "d" directory, "l" symbolic link, "o" anything else
    mode: int
    uid: int
    gid: int
    size: int = 0
    mtime: int = 0
    target: str = ""     # of a link


@dataclass(frozen=True)
class Rule:
    regex: re.Pattern
    dir_only: bool
    include: bool
    source: str          # what the rule came from, for `imageupdate -v`
    nonewfiles: bool = False

    def matches(self, path: str, is_dir: bool) -> bool:
        return (is_dir or not self.dir_only) and self.regex.search(path) is not None


def rule(pattern: str, source: str, nonewfiles: bool = False) -> Rule | None:
    """An rsync filter rule (`/var/lib/containerd`, `- /proc/*`, `+ /etc/keep`, `*.log`)."""
    p = pattern.strip()
    include = p.startswith("+ ")
    if p[:2] in ("+ ", "- "):
        p = p[2:].strip()
    if not p or p == "/":
        return None
    dir_only = p.endswith("/")
    p = p.rstrip("/")
    body = _glob(p.lstrip("/"))
    # anchored at the root, else matched against the end of the path (`name`: its last component)
    rx = ("^/" if p.startswith("/") else "(^|/)") + body + "$"
    return Rule(re.compile(rx), dir_only, include, source, nonewfiles)


def _glob(p: str) -> str:
    out, i = [], 0
    while i < len(p):
        if p.startswith("**", i):
            out.append(".*")
            i += 2
        elif p[i] == "*":
            out.append("[^/]*")
            i += 1
        elif p[i] == "?":
            out.append("[^/]")
            i += 1
        elif p[i] == "[" and "]" in p[i + 1:]:
            j = p.index("]", i + 1)
            out.append("[" + p[i + 1:j].replace("\\", "\\\\") + "]")
            i = j + 1
        else:
            out.append(re.escape(p[i]))
            i += 1
    return "".join(out)


class Excludes:
    """The rules of one node; `why(path, ...)` is the source of the rule that keeps the path
    as it is on the node, or None. A no-new-files rule keeps only what the node already has
    (at or below what it matches); new files are still copied there."""

    def __init__(self, rules: Iterable[Rule]):
        rules = list(rules)
        self.rules = [r for r in rules if not r.nonewfiles]
        self.soft = [r for r in rules if r.nonewfiles and not r.include]
        self._dirs: dict[str, str | None] = {}

    def _first(self, path: str, is_dir: bool) -> str | None:
        for r in self.rules:
            if r.matches(path, is_dir):
                return None if r.include else r.source
        return None

    def why(self, path: str, is_dir: bool, exists: bool = True) -> str | None:
        parent = posixpath.dirname(path)
        got = self._dir(parent) if parent != "/" else None
        if got is None:
            got = self._first(path, is_dir)
        if got is None and exists and self.soft:
            for a in [path, *_ancestors(parent)]:
                r = next((r for r in self.soft if r.matches(a, a != path or is_dir)), None)
                if r is not None:
                    return r.source
        return got

    def _dir(self, path: str) -> str | None:
        """A directory excluded itself or through an ancestor (cached: trees share them)."""
        if path not in self._dirs:
            parent = posixpath.dirname(path)
            got = self._dir(parent) if parent != "/" else None
            self._dirs[path] = got if got is not None else self._first(path, True)
        return self._dirs[path]


# -- the two trees ------------------------------------------------------------------------------
def scan_local(root: str) -> dict[str, Entry]:
    """The image's tree, keyed by the path it has on a node (`/srv/app/x`)."""
    out: dict[str, Entry] = {}
    for here, dirs, files in os.walk(root):
        rel = "/" + os.path.relpath(here, root) if here != root else ""
        for name in dirs + files:
            full = os.path.join(here, name)
            st = os.lstat(full)
            kind = "d" if stat.S_ISDIR(st.st_mode) else "l" if stat.S_ISLNK(st.st_mode) \
                else "f" if stat.S_ISREG(st.st_mode) else "o"
            target = os.readlink(full) if kind == "l" else ""
            out[f"{rel}/{name}"] = Entry(kind, stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid,
                                         st.st_size if kind == "f" else 0, int(st.st_mtime), target)
        dirs[:] = [d for d in dirs if not os.path.islink(os.path.join(here, d))]
    return out


_FIND = "find -P {paths} -xdev -printf '%y %m %U %G %s %T@ %p\\0%l\\0' 2>/dev/null; exit 0"


def scan_remote(conn: Connection, tops: list[str]) -> dict[str, Entry]:
    """What the node has below the image's top-level entries (one `find` over SSH)."""
    if not tops:
        return {}
    rc, out, err = conn.run(_FIND.format(paths=" ".join(shlex.quote(t) for t in tops)))
    if rc != 0:
        raise RemoteError(f"cannot list the node's files: {err.strip() or rc}")
    fields = out.split("\0")
    got: dict[str, Entry] = {}
    for head, target in zip(fields[0::2], fields[1::2]):
        parts = head.split(" ", 6)
        if len(parts) != 7:
            continue
        kind, mode, uid, gid, size, mtime, path = parts
        got[path] = Entry(kind if kind in "fdl" else "o", int(mode, 8), int(uid), int(gid),
                          int(size) if kind == "f" else 0, int(float(mtime)), target)
    return got


# -- the plan ---------------------------------------------------------------------------------------
@dataclass
class Plan:
    node: str
    image: str
    changes: list[tuple[str, str]] = field(default_factory=list)    # (+ new, ~ changed, - removed; path)
    excluded: list[tuple[str, str]] = field(default_factory=list)   # (path, rule source), differing only

    def count(self, mark: str) -> int:
        return sum(1 for m, _ in self.changes if m == mark)


def _same(a: Entry, b: Entry) -> bool:
    if a.kind != b.kind or (a.kind != "l" and (a.mode, a.uid, a.gid) != (b.mode, b.uid, b.gid)):
        return False
    if a.kind == "f":
        return (a.size, a.mtime) == (b.size, b.mtime)
    return a.kind != "l" or a.target == b.target


def plan(node: str, image: str, local: dict[str, Entry], remote: dict[str, Entry],
         excludes: Excludes) -> Plan:
    """What a sync of `local` onto `remote` changes (sorted by path)."""
    out = Plan(node, image)
    for path in sorted(local):
        want, have = local[path], remote.get(path)
        if have is not None and _same(want, have):
            continue
        why = excludes.why(path, want.kind == "d", have is not None)
        if why is not None:
            out.excluded.append((path, why))
        else:
            out.changes.append(("+" if have is None else "~", path))
    removed: set[str] = set()
    for path in sorted(set(remote) - set(local)):
        parent = posixpath.dirname(path)
        if parent == "/":
            continue                        # a top-level entry the image lacks: never removed
        if any(a in removed for a in _ancestors(parent)):
            continue                        # goes with the directory it is in
        why = excludes.why(path, remote[path].kind == "d")
        if why is not None:
            out.excluded.append((path, why))
        else:
            out.changes.append(("-", path))
            removed.add(path)
    out.changes.sort(key=lambda c: c[1])
    return out


def _ancestors(path: str) -> Iterable[str]:
    while path not in ("/", ""):
        yield path
        path = posixpath.dirname(path)


# -- doing it ----------------------------------------------------------------------------------------
def apply(conn: Connection, root: str, p: Plan, local: dict[str, Entry],
          remote: dict[str, Entry]) -> None:
    """Carry out `p` on the node: removals (and entries whose type changes), directories,
    files and links through temporary names, then modes and owners."""
    q = shlex.quote
    gone = [path for m, path in p.changes if m == "-"]
    gone += [path for m, path in p.changes if m == "~" and remote[path].kind != local[path].kind]
    for i in range(0, len(gone), 200):
        rc, _, err = conn.run("rm -rf -- " + " ".join(q(g) for g in gone[i:i + 200]))
        if rc != 0:
            raise RemoteError(f"cannot remove files: {err.strip().splitlines()[-1:] or rc}")
    gone_set = set(gone)
    sftp = _sftp(conn)
    try:
        for mark, path in p.changes:
            if mark == "-":
                continue
            want = local[path]
            replaced = mark == "+" or path in gone_set
            if want.kind == "d":
                if replaced:
                    sftp.mkdir(path, want.mode)
                sftp.chmod(path, want.mode)
                sftp.chown(path, want.uid, want.gid)
            elif want.kind == "l":
                tmp = _tmp(path)
                sftp.symlink(want.target, tmp)
                sftp.posix_rename(tmp, path)
            elif want.kind == "f":
                have = remote.get(path)
                if replaced or have is None or (have.size, have.mtime) != (want.size, want.mtime):
                    _put(conn, os.path.join(root, path.lstrip("/")), path, want)
                else:
                    sftp.chmod(path, want.mode)
                    sftp.chown(path, want.uid, want.gid)
    except OSError as e:
        raise RemoteError(f"cannot update {path}: {e.strerror or e}") from None


def _tmp(path: str) -> str:
    return posixpath.join(posixpath.dirname(path), f".{posixpath.basename(path)}.cmshell-{uuid.uuid4().hex[:8]}")


def _sftp(conn: Connection) -> paramiko.SFTPClient:
    assert conn.sftp is not None          # a Connection opens its SFTP channel when it is made
    return conn.sftp


def _put(conn: Connection, source: str, path: str, want: Entry) -> None:
    sftp = _sftp(conn)
    tmp = _tmp(path)
    try:
        with open(source, "rb") as fh:
            sftp.putfo(fh, tmp, file_size=want.size, confirm=True)
        sftp.chmod(tmp, want.mode)
        sftp.chown(tmp, want.uid, want.gid)
        sftp.utime(tmp, (want.mtime, want.mtime))
        sftp.posix_rename(tmp, path)
    except (OSError, IOError):
        try:
            sftp.remove(tmp)
        except OSError:
            pass
        raise
