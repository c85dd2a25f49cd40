"""`imageupdate` (device mode): bring running nodes up to date with their software image, as
cmsh does (cmsh-behaviour §4.15): a dry run by default that lists what would change, `-w` to
do it. The sync itself is the SSH backend's (backends/ssh/imageupdate.py), over its transport
and settings (the configuration file's `ssh:` section), with the nodes' exclude lists.

    [basecm10->device]% imageupdate -n node001..node003
    [basecm10->device[node001]]% imageupdate -w
"""
from __future__ import annotations

from cmshell.commands.bulk import SELECT_OPTIONS, listpath, parse_options, select
from cmshell.errors import CommandError
from cmshell.shell.dispatch import command

MARKS = {"+": "new", "~": "changed", "-": "removed"}


@command("imageupdate", "Update running nodes from their software image (a dry run unless -w)",
         scope="mode:device", usage=[
             "imageupdate [-w|--wait] [-v] [<node> ...]   (the selected node when none is named)",
             "imageupdate -n <nodes> | -c <categories> | -l <roles> | -m <images> | -t <types> | -e <overlays>",
             "  -w|--write   do the update (without it: a dry run that lists what would change)",
             "  --wait       accepted for cmsh's scripts: cmshell always waits",
             "  -v           also list what the exclude lists keep, and why",
             "lines: + new, ~ changed, - removed (on the node), x kept by an exclude list"],
         examples=["imageupdate -n node001", "imageupdate -n node00[4-6] -w --wait",
                   "device use node001; imageupdate -w", "imageupdate -c default -v"],
         args=("object*",), options=SELECT_OPTIONS)
def imageupdate(s, args):
    from cmshell.backends.base import CHANGED, OK, Context
    from cmshell.backends.ssh import imageupdate as iu

    sel = parse_options("imageupdate", args, extra_flags=("-w", "--write", "--wait"))
    if sel.rest:
        raise CommandError("imageupdate: takes no ( ... )")
    nodes = _nodes(s, sel)
    write = bool({"w", "write"} & sel.flags)
    settings = s.engine.config.section("ssh") if s.engine is not None else {}
    ctx = Context(s.ws.store, s.schema, settings, s.events, env=s.env)
    if s.ws.pending():
        s.error("Note: uncommitted changes are not used; imageupdate works from what is committed")
    if not write:
        s.write("Performing dry run (pass -w to perform the real update)...")
    else:
        for n in nodes:
            s.events.post("notice", s.host, f"Provisioning started on node {n}")
    failed = False
    for r in iu.update(ctx, nodes, write):
        if r.status not in (OK, CHANGED):
            failed = True
            s.error(f"{r.node}: {r.reason}")
            if write:
                s.events.post("warning", s.host, f"Provisioning failed on node {r.node}: {r.reason}")
            continue
        p = r.plan
        assert p is not None
        s.write(f"{r.node}: {_summary(p, write)} (software image {r.image})")
        for mark, path in p.changes:
            s.write(f"  {mark} {path}")
        if "verbose" in sel.flags:
            for path, why in p.excluded:
                s.write(f"  x {path} ({why})")
        if write:
            s.events.post("notice", s.host, f"Provisioning completed on node {r.node}")
    s.write(f"imageupdate [ {'FAILED' if failed else 'COMPLETED'} ]")
    if failed:
        raise CommandError("")


def _nodes(s, sel) -> list[str]:
    here = s.path[-1] if s.path else None
    if sel.empty:
        if here is None or here.key is None or len(s.path) != 1:
            raise CommandError("imageupdate: name the nodes (imageupdate node001, -n node00[1-4], "
                               "-c default) or 'use' one first")
        return [s.ws.name_of("device", here.key)]
    lp = listpath(s, "imageupdate")
    if len(lp) != 1:
        raise CommandError("imageupdate: only for devices (in device mode, or a device selected)")
    return [s.ws.name_of("device", k) for k in select(s, "imageupdate", lp, sel)]


def _summary(p, write: bool) -> str:
    new = p.count("+") + p.count("~")
    gone = p.count("-")
    if not new and not gone:
        return "up to date"
    if write:
        return f"{new} written, {gone} removed"
    return f"{new} to write, {gone} to remove"
