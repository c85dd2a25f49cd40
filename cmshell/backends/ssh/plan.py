"""What applying would change on one node, read from the node: per file a unified diff, the mode
and owner changes, and the service actions that would run (`plan`, `drift`). Nothing is written.

The comparison is the one `SshBackend._converge` makes before writing, so a plan shows exactly
the files an apply would write and the actions it would run.
"""
from __future__ import annotations

import difflib

from cmshell.backends.base import CHANGED, OK, FileChange, NodeState, TargetResult

MAX_DIFF_LINES = 400      # a plan of a regenerated big file stays readable


def unified(path: str, now: bytes | None, wanted: bytes) -> str:
    """`--- /etc/x (on the node)` / `+++ /etc/x (cmshell)` diff of the content (without the
    node's name, so that nodes with the same change can be shown once); binary data is named,
    not shown."""
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


def plan_node(conn, desired: NodeState) -> TargetResult:
    """Compare each desired file with the node's (content, mode, owner); RemoteError goes to the
    caller, which reports the node as failed, as an apply would."""
    node = desired.node
    result = TargetResult(node, OK)
    changed: set[str] = set()
    for f in desired.files:
        remote = conn.read(f.path)
        content = f.edit(remote.content) if f.edit is not None else f.content
        if content is None:
            continue                     # an edit with nothing to edit: an apply leaves it alone
        uid, gid = conn.ids(f.owner, f.group)
        wanted_owner = f"{f.owner}:{f.group}"
        if remote.content is None:
            fc = FileChange(f.path, created=True, diff=unified(f.path, None, content),
                            mode=(None, f.mode), owner=(None, wanted_owner))
        else:
            fc = FileChange(f.path)
            if remote.content != content:
                fc.diff = unified(f.path, remote.content, content)
            if remote.mode != f.mode:
                fc.mode = (remote.mode, f.mode)
            if (remote.uid, remote.gid) != (uid, gid):
                fc.owner = (f"{remote.uid}:{remote.gid}", wanted_owner)
            if not (fc.diff or fc.mode or fc.owner):
                continue
        changed.add(f.path)
        result.files.append(fc)
        result.changes.append(f"write {f.path}")
    if not changed:
        return result
    result.status = CHANGED
    seen: set[tuple[str, str]] = set()
    for a in desired.actions:          # the same rule as an apply: once, and only after its files
        if (a.unit, a.action) in seen or (a.after and not changed.intersection(a.after)):
            continue
        seen.add((a.unit, a.action))
        result.changes.append(f"{a.action} {a.unit}")
    return result
