"""One node brought to its desired state over an open connection (or, for a plan, only compared).

Files first: each remote file is read, and written (staged beside it, then renamed in one command)
only when its content, mode or owner differs, or always under `force`. Then the service actions:
each (unit, action) once, when one of its files changed, when a previous apply still owes it (its
files were written but the action failed or never ran), or always under `force`.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Callable

from cmshell.backends.base import CHANGED, FAILED, DesiredFile, NodeState, ServiceAction, TargetResult
from cmshell.backends.ssh.transport import Connection, RemoteError
from cmshell.events import APPLY_FAILED, FILE, SERVICE

Action = tuple[str, str]                 # (unit, action), as recorded under "owed"
DONE = {"restart": "restarted", "reload": "reloaded", "stop": "stopped"}
Post = Callable[[str, str, str], None]   # (severity, text, kind)


@dataclass
class Pending:
    """A file that differs: what it will be, and why (for plans and the recap)."""
    file: DesiredFile
    content: bytes
    uid: int
    gid: int
    why: list[str] = field(default_factory=list)
    diff: str = ""


def _diff(path: str, old: bytes | None, new: bytes) -> str:
    if old == new:
        return ""
    lines = difflib.unified_diff((old or b"").decode(errors="replace").splitlines(keepends=True),
                                 new.decode(errors="replace").splitlines(keepends=True),
                                 "/dev/null" if old is None else f"a{path}", f"b{path}")
    return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n"
                   for line in lines)


def compare(conn: Connection, desired: NodeState, force: bool) -> list[Pending]:
    """The files that must be written (every one under `force`), with the reason for each."""
    out = []
    for f in desired.files:
        remote = conn.read(f.path)
        content = f.edit(remote.content) if f.edit is not None else f.content
        if content is None:
            continue                 # an edit with nothing to edit (no manifest yet)
        uid, gid = conn.ids(f.owner, f.group)
        p = Pending(f, content, uid, gid, diff=_diff(f.path, remote.content, content))
        if remote.content is None:
            p.why.append("new file")
        else:
            if remote.content != content:
                p.why.append("content")
            if remote.mode != f.mode:
                p.why.append(f"mode {remote.mode:04o} -> {f.mode:04o}")
            if (remote.uid, remote.gid) != (uid, gid):
                p.why.append(f"owner {remote.uid}:{remote.gid} -> {f.owner}:{f.group}")
        if p.why or force:
            out.append(p)
    return out


def due(actions: tuple[ServiceAction, ...], changed: set[str], owed: set[Action],
        force: bool) -> list[ServiceAction]:
    """The actions to run, each (unit, action) once, in the renderers' order."""
    out, seen = [], set()
    for a in actions:
        key = (a.unit, a.action)
        if key in seen:
            continue
        mine = changed.intersection(a.after) if a.after else changed
        if force or key in owed or mine:
            seen.add(key)
            out.append(a)
    return out


def plan(conn: Connection, desired: NodeState, owed: set[Action]) -> TargetResult:
    """What applying would do; reads only."""
    result = TargetResult(desired.node, "ok")
    pending = compare(conn, desired, False)
    for p in pending:
        result.changes.append(f"write {p.file.path} ({', '.join(p.why)})")
        if p.diff:
            result.diffs[p.file.path] = p.diff
    for a in due(desired.actions, {p.file.path for p in pending}, owed, False):
        owes = " (owed by an earlier apply)" if (a.unit, a.action) in owed else ""
        result.changes.append(f"{a.action} {a.unit}{owes}")
    if result.changes:
        result.status = CHANGED
    return result


def apply(conn: Connection, desired: NodeState, owed: set[Action], force: bool,
          post: Post) -> TargetResult:
    """Write what differs, then run what is due. `owed` is updated in place as actions become
    due and succeed, so that the caller records what is still owed even if the connection
    breaks half-way."""
    result = TargetResult(desired.node, "ok")
    pending = compare(conn, desired, force)
    moves: list[tuple[str, str]] = []
    try:
        for p in pending:
            f = p.file
            moves.append((conn.stage(f.path, p.content, f.mode, p.uid, p.gid, f.mkdir, f.dir_mode), f.path))
        conn.commit(moves)
    except RemoteError:
        if moves:
            conn.run("rm -f " + " ".join(t for t, _ in moves))
        raise
    changed = {p.file.path for p in pending}
    actions = due(desired.actions, changed, owed, force)
    owed.intersection_update((a.unit, a.action) for a in desired.actions)   # roles gone: not owed
    owed.update((a.unit, a.action) for a in actions)
    for path in sorted(changed):
        result.changes.append(f"wrote {path}")
        post("info", f"File {path} was written", FILE)
    failures = []
    for a in actions:
        rc, _, err = conn.run(f"systemctl {a.action} {a.unit}")
        if rc == 0:
            owed.discard((a.unit, a.action))
            result.changes.append(f"{a.action} {a.unit}")
            post("notice", f"Service {a.unit} was {DONE.get(a.action, a.action)}", SERVICE)
            continue
        why = (err.strip().splitlines() or [f"exit status {rc}"])[-1]
        failures.append(f"systemctl {a.action} {a.unit} failed: {why}")
        if a.stop_on_failure:
            conn.run(f"systemctl stop {a.unit}")
            failures[-1] += f"; {a.unit} stopped"
    if result.changes:
        result.status = CHANGED
    if failures:
        result.status, result.reason = FAILED, "; ".join(failures)
        post("warning", result.reason, APPLY_FAILED)
    return result
