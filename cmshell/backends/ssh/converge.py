"""One node brought to its desired state over an open connection (or, for a plan, only compared).

Files first: each remote file is read, and written (staged beside it, then renamed in one command)
only when its content, mode or owner differs, or always under `force`. Then the service actions:
each (unit, action) once, when one of its files changed, when a previous apply still owes it (its
files were written but the action failed or never ran), or always under `force`.

A plan (`plan`, `drift`, `commit check`, `SshBackend.plan`/`plan_view`) makes the same comparison
and writes nothing: per file a FileChange (unified diff, mode and owner changes, new file) and a
`write <path> (<why>)` line, then the actions that would run, an owed one marked
`(owed by an earlier apply)`.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Callable

from cmshell.backends.base import (CHANGED, FAILED, OWED, DesiredFile, FileChange, NodeState,
                                   ServiceAction, TargetResult)
from cmshell.backends.ssh.transport import Connection, RemoteError
from cmshell.events import APPLY_FAILED, FILE, SERVICE

Action = tuple[str, str]                 # (unit, action), as recorded under "owed"
DONE = {"restart": "restarted", "reload": "reloaded", "stop": "stopped"}
Post = Callable[[str, str, str], None]   # (severity, text, kind)
MAX_DIFF_LINES = 400                     # a plan of a regenerated big file stays readable


@dataclass
class Pending:
    """A file that differs: what it will be, why, and how (for plans and the recap)."""
    file: DesiredFile
    content: bytes
    uid: int
    gid: int
    change: FileChange
    why: list[str] = field(default_factory=list)


def unified(path: str, now: bytes | None, wanted: bytes) -> str:
    """`--- /etc/x (on the node)` / `+++ /etc/x (cmshell)` diff of the content ("" when equal),
    without the node's name, so that nodes with the same change can be shown once; binary data
    is named, not shown; a long diff is cut at MAX_DIFF_LINES."""
    if now == wanted:
        return ""
    if b"\0" in wanted or (now is not None and b"\0" in now):
        return f"Binary content of {path} differs\n"
    a = (now or b"").decode("utf-8", "replace").splitlines(keepends=True)
    b = wanted.decode("utf-8", "replace").splitlines(keepends=True)
    lines = list(difflib.unified_diff(a, b, f"{path} (on the node)" if now is not None else "/dev/null",
                                      f"{path} (cmshell)"))
    lines = [line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines]
    if len(lines) > MAX_DIFF_LINES:
        lines = lines[:MAX_DIFF_LINES] + [f"... ({len(lines) - MAX_DIFF_LINES} more diff lines)\n"]
    return "".join(lines)


def compare(conn: Connection, desired: NodeState, force: bool, diffs: bool = False) -> list[Pending]:
    """The files that must be written (every one under `force`), with the reason for each and
    (with `diffs`, for a plan) the unified diff of its content."""
    out = []
    for f in desired.files:
        remote = conn.read(f.path)
        content = f.edit(remote.content) if f.edit is not None else f.content
        if content is None:
            continue                 # an edit with nothing to edit (no manifest yet)
        uid, gid = conn.ids(f.owner, f.group)
        owner = f"{f.owner}:{f.group}"
        diff = unified(f.path, remote.content, content) if diffs else ""
        if remote.content is None:
            p = Pending(f, content, uid, gid, FileChange(f.path, created=True, diff=diff, mode=(None, f.mode),
                                                         owner=(None, owner)), ["new file"])
        else:
            p = Pending(f, content, uid, gid, FileChange(f.path, diff=diff))
            if remote.content != content:
                p.why.append("content")
            if remote.mode != f.mode:
                p.why.append(f"mode {remote.mode:04o} -> {f.mode:04o}")
                p.change.mode = (remote.mode, f.mode)
            if (remote.uid, remote.gid) != (uid, gid):
                p.why.append(f"owner {remote.uid}:{remote.gid} -> {owner}")
                p.change.owner = (f"{remote.uid}:{remote.gid}", owner)
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
    """What applying would do; reads only. Each file that differs is a FileChange in `files`
    and a `write <path> (<why>)` line in `changes`; the actions that would run follow."""
    result = TargetResult(desired.node, "ok")
    pending = compare(conn, desired, False, diffs=True)
    for p in pending:
        result.files.append(p.change)
        result.changes.append(f"write {p.file.path} ({', '.join(p.why)})")
    for a in due(desired.actions, {p.file.path for p in pending}, owed, False):
        owes = f" ({OWED})" if (a.unit, a.action) in owed else ""
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
