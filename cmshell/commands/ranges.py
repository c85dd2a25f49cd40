"""`range`: later commands apply to every member of a list of objects (cmsh-behaviour §4.14);
the prompt shows the grouping, `[basecm10->device{-n node001..024}]%`."""
from __future__ import annotations

from cmshell.commands.bulk import SELECT_OPTIONS, Errors, label, listpath, other_mode_help, parse_options, select
from cmshell.commands.lists import list_
from cmshell.shell.dispatch import HOOKS, command
from cmshell.shell.location import Level
from cmshell.errors import CommandError
from cmshell.syntax.nodelist import render

# commands that work on one object: in a range they run once per member
OBJECT_COMMANDS = {"get", "set", "clear", "append", "removefrom", "show"}
# commands that run once for the whole range, even below a member (`->roles`)
RANGE_ONCE = {"commit", "refresh", "modified", "validate", "help", "range"}


class Range:
    """The objects later commands apply to (`range -n node0[01-24]`), and where below each
    member the session is (`->roles`)."""

    def __init__(self, mode, label_text: str, keys: list[str]):
        self.mode = mode
        self.label = label_text
        self.keys = keys
        self.sub: list[Level] = []
        self.running = False

    def members(self, s) -> list[str]:
        return [k for k in self.keys if s.ws.doc(self.mode.name, k) is not None]

    def prompt(self, s) -> str:
        star = "*" if s.ws.mode_changed(self.mode.name) else ""
        parts = [s.prompt_host(), f"{self.mode.name}{star}{{{self.label}}}"]
        for lvl in self.sub:
            parts.append(lvl.mode.name + (f"[{lvl.key}]" if lvl.key is not None else ""))
        return "[" + "->".join(parts) + "]% "


@command("range", "Apply later commands to every object of a list", usage=[
    "range [options] <objects>     the options of foreach: -n -c -e -l -m -t -i -u",
    "range --show                  the members",
    "range --clear                 leave the range (also '..')"],
    examples=["range -n node0[01-24]", "range -c default", "range --show", "range --clear"],
    args=("object*",), options=SELECT_OPTIONS, mode_help=other_mode_help("range"))
def range_(s, args):
    if args == ["--clear"]:
        s.range = None
        return
    if args == ["--show"]:
        r = s.range
        if r is None:
            raise CommandError("range --show: no range is active")
        s.write(render(s.ws.name_of(r.mode.name, k) for k in r.members(s)))
        return
    if not args:
        if s.range is None:
            raise CommandError("Usage: range [options] <objects>; 'help range' lists the options")
        return range_(s, ["--show"])
    lp = listpath(s, "range")
    if len(lp) != 1:
        raise CommandError("range: only in a top-level mode (e.g. device)")
    sel = parse_options("range", args)
    if sel.rest:
        raise CommandError("range: takes no ( ... ); use foreach for that")
    if sel.clone is not None:
        raise CommandError("range: --clone belongs to foreach")
    keys = select(s, "range", lp, sel)
    if not keys:
        raise CommandError("range: the list names no objects")
    s.range = Range(lp[0].mode, label(s, sel, lp, keys), keys)
    s.go([Level(lp[0].mode)])


def in_range(s, words: list[str]) -> bool:
    """Session.execute's hook: True when the command was run for the range."""
    r = s.range
    if r.running:
        return False
    if s.path != [Level(r.mode)]:
        s.range = None                       # the session left the range's mode
        return False
    if len(words) > 1 and words[0].lower() == r.mode.name and not r.sub:
        return in_range(s, words[1:])     # `device status` (`ds`) in a device range: the range's
    name = words[0]
    reg = s.commands
    d = reg.defs.get(name) or reg.defs.get(reg.aliases.get(name, ""))
    cname = d.name if d is not None else None
    if cname == "status" and len(words) == 1 and not r.sub:    # the members' states (§2.5.5 `ds`)
        r.running = True
        try:
            s.execute(words + [s.ws.name_of(r.mode.name, k) for k in r.members(s)])
        finally:
            r.running = False
        return True
    if cname == "exit":
        if r.sub:
            last = r.sub[-1]
            r.sub = r.sub[:-1] + ([last.select(None)] if last.key is not None else [])
        else:
            s.range = None
        return True
    if cname in ("home", "quit", "range", "use"):
        if cname == "use":
            s.range = None
        return False
    mode = s.schema.modes.get(name.lower())
    per_member = False
    if mode is None or not mode.top:
        if r.sub:
            per_member = cname not in RANGE_ONCE
        elif d is None:
            per_member = name.lower() in s.submodes()
        else:
            per_member = cname in OBJECT_COMMANDS or d.scope in ("element", "custom")
    r.running = True
    try:
        if not per_member:
            if cname == "list" and not r.sub:
                list_(s, words[1:], only=r.members(s))
            else:
                s.execute(words)
            return True
        _each_member(s, r, words)
    finally:
        r.running = False
        if s.range is r and s.path != [Level(r.mode)] and not per_member:
            s.range = None                   # a command that navigated away ends the range
    return True


def _each_member(s, r: Range, words: list[str]) -> None:
    errors = Errors()
    new_sub = None
    try:
        for rid in r.members(s):
            name = s.ws.name_of(r.mode.name, rid)
            s.path = [Level(r.mode, None, rid)] + r.sub
            if not s.valid(s.path):
                errors.add(name, CommandError(f"has no {'->'.join(lv.mode.name for lv in r.sub)} "
                                              f"entry {r.sub[-1].key}" if r.sub else "is gone"))
                continue
            try:
                s.execute(words)
            except CommandError as e:
                errors.add(name, e)
                continue
            if new_sub is None and s.path[:1] == [Level(r.mode, None, rid)]:
                new_sub = s.path[1:]
    finally:
        s.path = [Level(r.mode)]
    if new_sub is not None:
        r.sub = new_sub
    errors.report(s)


HOOKS.range = in_range
