"""kubelet options -> flags of the containers in the static-pod manifests under
/etc/kubernetes/manifests. Only the named flags of the named container change; the rest of the
manifest stays as the node has it. The kubelet picks the change up itself (no service action)."""
from __future__ import annotations

import yaml

from cmshell.backends.base import DesiredFile
from cmshell.backends.ssh.renderers.common import RenderInput, Rendered

DIR = "/etc/kubernetes/manifests"


def set_flags(manifest: bytes | None, container: str, flags: list[tuple[str, str]]) -> bytes | None:
    """The manifest with each --key=value set in the container's command (None: no manifest)."""
    if not manifest:
        return None          # kubeadm has not written it yet: nothing to edit
    doc = yaml.safe_load(manifest)
    for c in (doc.get("spec") or {}).get("containers") or []:
        if container and c.get("name") != container:
            continue
        cmd = list(c.get("command") or [])
        for key, value in flags:
            flag = f"--{key}={value}" if value != "" else f"--{key}"
            at = [i for i, a in enumerate(cmd) if a == f"--{key}" or str(a).startswith(f"--{key}=")]
            if at:
                cmd[at[0]] = flag
            else:
                cmd.append(flag)
        c["command"] = cmd
    out = yaml.safe_dump(doc, sort_keys=False).encode()
    return manifest if yaml.safe_load(out) == yaml.safe_load(manifest) else out


def render(inp: RenderInput, role: dict) -> Rendered:
    wanted: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for o in role.get("options") or []:
        wanted.setdefault((str(o["filename"]), str(o.get("container") or "")), []).append(
            (str(o["key"]), str(o.get("value") or "")))
    files = []
    for filename in sorted({f for f, _ in wanted}):
        edits = [(c, flags) for (f, c), flags in wanted.items() if f == filename]
        summary = "".join(f"{c}: --{k}={v}\n" for c, flags in edits for k, v in flags)

        def edit(cur: bytes | None, edits: list[tuple[str, list[tuple[str, str]]]] = edits) -> bytes | None:
            for c, flags in edits:
                cur = set_flags(cur, c, flags)
            return cur
        files.append(DesiredFile(f"{DIR}/{filename}", summary.encode(), 0o600, edit=edit))
    return files, []
