"""firewall openports -> a managed block in /etc/shorewall/rules (then `shorewall` restart).

Only the lines between the markers are cmshell's; the admin's own rules around them stay."""
from __future__ import annotations

from cmshell.backends.base import DesiredFile, ServiceAction
from cmshell.backends.ssh.renderers.common import RenderInput, Rendered

PATH = "/etc/shorewall/rules"
BEGIN = "# BEGIN cmshell managed block: firewall openports (do not edit)"
END = "# END cmshell managed block"


def block(ports: list[dict]) -> str:
    lines = [BEGIN]
    for p in ports:
        if p.get("description"):
            lines.append(f"# {p['description']}")
        source = str(p.get("network") or "net")
        addr = str(p.get("address") or "0.0.0.0/0")
        if addr not in ("0.0.0.0/0", ""):
            source = f"{source}:{addr}"
        lines.append(f"{p.get('action') or 'ACCEPT'}\t{source}\t{p.get('destination') or 'fw'}\t"
                     f"{str(p.get('protocol') or 'TCP').lower()}\t{int(p.get('port') or 0)}")
    lines.append(END)
    return "\n".join(lines) + "\n"


def merge(current: bytes | None, managed: str) -> bytes:
    """`current` with its managed block replaced by `managed` (appended when it has none)."""
    text = (current or b"").decode("utf-8", "replace")
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if line.rstrip("\n") == BEGIN), None)
    if start is not None:
        end = next((i for i in range(start, len(lines)) if lines[i].rstrip("\n") == END), len(lines) - 1)
        return "".join(lines[:start] + [managed] + lines[end + 1:]).encode()
    if text and not text.endswith("\n"):
        text += "\n"
    return (text + managed).encode()


def render(inp: RenderInput, role: dict) -> Rendered:
    ports = [inp.with_defaults("openports", p) for p in role.get("openports") or []]
    managed = block(ports)
    def edit(cur: bytes | None) -> bytes:
        return merge(cur, managed)
    return ([DesiredFile(PATH, managed.encode(), 0o644, mkdir=True, edit=edit)],
            [ServiceAction("shorewall", "restart", after=(PATH,))])
