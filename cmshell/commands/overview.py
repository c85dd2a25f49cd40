"""`nodeoverview` and `sysinfo` (device mode) as far as cmshell's model holds their data.

cmsh fills both from CMDaemon's monitoring on the node (traffic per interface, BIOS, CPUs,
memory, GPUs: the Containerization Manual's `nodeoverview` shows `Interface Received
Transmitted`, S:665-677, and `sysinfo | grep GPU` the GPUs, S:1712-1720). cmshell has no
monitoring: these print what the cluster's configuration says of the node (its settings in
force, roles, interfaces, image, and the state the SSH backend last saw), never invented
figures. docs/differences.md says what is missing.
"""
from __future__ import annotations

from cmshell.commands.devstatus import WORDS
from cmshell.errors import CommandError
from cmshell.output import table
from cmshell.shell.dispatch import command
from cmshell.shell.target import effective_of

LABEL = 24


def _device(s, args, cmd: str) -> str:
    if len(args) > 1:
        raise CommandError(f"{cmd}: unexpected argument {args[1]}")
    if args:
        if s.ws.find("device", args[0]) is None:
            raise CommandError(f"No device named {args[0]}")
        return s.ws.name_of("device", s.ws.find("device", args[0]))
    here = s.path[-1] if s.path else None
    if here is None or here.key is None or len(s.path) != 1:
        raise CommandError(f"Usage: {cmd} <device> (or 'use' one first)")
    return s.ws.name_of("device", here.key)


def _pairs(s, pairs: list[tuple[str, str]]) -> None:
    for label, value in pairs:
        s.write(f"{label:<{LABEL}} {value}".rstrip())


def _state(s, name: str) -> str:
    engine = s.engine
    state: dict = {}
    if engine is not None and engine.enabled and "ssh" in engine.names():
        state = engine.backend("ssh").observe(engine.context("ssh"), [name]).get(name) or {}
    return f"[{WORDS.get(str(state.get('status')), 'UNKNOWN'):^8}]"


def _mtu(s, network: str | None, own: object = 0) -> str:
    """The interface's own MTU, else its network's (1500 unless the network says otherwise)."""
    if own:
        return str(own)
    net = s.ws.get("network", network) if network else None
    return "" if net is None else str(net.get("mtu") or 1500)


@command("nodeoverview", "Overview of a node: settings in force, roles, interfaces, state",
         scope="mode:device", usage=["nodeoverview [<device>]"],
         examples=["nodeoverview node001", "device use node001; nodeoverview"], args=("object?",))
def nodeoverview(s, args):
    name = _device(s, args, "nodeoverview")
    eff = effective_of(s)
    cfg = eff.node(name)
    if cfg is None:
        raise CommandError(f"No device named {name}")
    doc = cfg.doc
    mode = s.schema.mode("device")
    image = str(cfg.value("softwareimage") or "")
    idoc = s.ws.get("softwareimage", image) if image else None
    _pairs(s, [
        ("Hostname", name),
        ("Type", mode.type_labels.get(str(doc.get("type", "")), str(doc.get("type", "")))),
        ("State", _state(s, name)),
        ("Category", str(doc.get("category") or "")),
        ("Software image", image),
        ("Kernel version", str((idoc or {}).get("kernelversion") or "")),
        ("Install mode", str(cfg.value("installmode") or "")),
        ("MAC", str(doc.get("mac") or "")),
        ("IP", str(doc.get("ip") or "")),
        ("Network", str(doc.get("network") or "")),
        ("Roles", ", ".join(r.name for r in cfg.roles)),
        ("Services", ", ".join(str(x.get("service", "")) for x in doc.get("services") or [])),
        ("Notes", str(doc.get("notes") or "")),
    ])
    # the boot interface is the device's own ip/network; the others are in `interfaces`
    rows = [["BOOTIF", "", str(doc.get("ip") or ""), str(doc.get("network") or ""),
             _mtu(s, doc.get("network"))]]
    for i in sorted(doc.get("interfaces") or [], key=lambda r: str(r.get("networkdevicename", ""))):
        rows.append([str(i.get("networkdevicename", "")), str(i.get("type", "")), str(i.get("ip") or "0.0.0.0"),
                     str(i.get("network") or ""), _mtu(s, i.get("network"), i.get("mtu"))])
    s.write("")
    s.write("\n".join(table.simple(["Interface", "Type", "IP", "Network", "MTU"], [10, 8, 15, 12, 5], rows)))


@command("sysinfo", "System information of a node, as far as the configuration holds it",
         scope="mode:device", usage=["sysinfo [<device>]"],
         examples=["sysinfo node001", "sysinfo node001 | grep Kernel"], args=("object?",))
def sysinfo(s, args):
    name = _device(s, args, "sysinfo")
    cfg = effective_of(s).node(name)
    if cfg is None:
        raise CommandError(f"No device named {name}")
    image = str(cfg.value("softwareimage") or "")
    idoc = (s.ws.get("softwareimage", image) if image else None) or {}
    rows = [["Hostname", name],
            ["Software image", image],
            ["Kernel version", str(idoc.get("kernelversion") or "")],
            ["Kernel parameters", str(idoc.get("kernelparameters") or "")],
            ["Number of interfaces", str(1 + len(cfg.doc.get("interfaces") or []))]]
    s.write("\n".join(table.simple(["System Information", ""], [20, 48], rows)))
