"""The kubelet role's `options` command: extra flags for the static-pod manifests."""
from __future__ import annotations

import os

from cmshell.shell.dispatch import command
from cmshell.output import table
from cmshell.errors import CommandError

USAGE = [
    "options [kubelet]",
    "options [kubelet] <filename>",
    "options [kubelet] <filename> set [name] key=value",
    "options [kubelet] <filename> set [name] key",
    "options [kubelet] <filename> clear [name] key",
]


@command("options", "Manage kubelet container command options", scope="custom", usage=USAGE,
         examples=["options kube-apiserver.yaml set advertise-address=192.168.200.148"],
         args=("any*",))
def options(s, args):
    args = list(args)
    if args and args[0].lower() == "kubelet":
        args.pop(0)
    rows_of = lambda: s.element(s.path).get("options") or []   # noqa: E731
    if len(args) <= 1:
        rows = [r for r in rows_of() if not args or _same_file(r.get("filename", ""), args[0])]
        rows.sort(key=lambda r: (r.get("filename", ""), r.get("container", ""), r.get("key", "")))
        cells = [[r.get("filename", ""), r.get("container", ""), r.get("key", ""), r.get("value", "")]
                 for r in rows]
        s.write("\n".join(table.simple(["Filename", "Container", "Key", "Value"], [20, 14, 20, 20], cells)))
        return
    filename, action, rest = args[0], args[1].lower(), args[2:]
    if action not in ("set", "clear") or not rest or len(rest) > 2:
        raise CommandError("Usage: " + "; ".join(USAGE[2:]))
    container = rest[0] if len(rest) == 2 else os.path.basename(filename).split(".")[0]
    key, _, value = rest[-1].partition("=")
    doc = s.element(s.path, editable=True)
    rows = doc.setdefault("options", [])
    match = [r for r in rows if _same_file(r.get("filename", ""), filename)
             and r.get("container") == container and r.get("key") == key]
    if action == "clear":
        if not match:
            raise CommandError(f"No option {key} for {container} in {filename}")
        rows.remove(match[0])
    elif match:
        match[0]["value"] = value
    else:
        nxt = max([r.get("index", -1) for r in rows] + [-1]) + 1
        rows.append({"filename": filename, "container": container, "key": key, "value": value,
                     "index": nxt})


def _same_file(a: str, b: str) -> bool:
    return a == b or os.path.basename(a) == os.path.basename(b)
