"""Bulk work over lists of objects: `foreach` (cmsh-behaviour §4.14; `range` is in ranges.py), and the
node-list grammar wherever commands take several objects (cmshell/syntax/nodelist.py).

    foreach [options] [objects] ( cmd; cmd … )     run the commands in every object
    range [options] [objects]                       later commands apply to every member

Selection (device mode; combined as a union, `-i` for the intersection): `-n` node list,
`-c` categories, `-e` configuration overlays, `-l` roles, `-m` software images, `-t` device
types; plain objects and `*` (everything `list` shows) work in every mode. `-s` (status) is
refused: cmshell has no status data. See docs/bulk-and-lists.md.
"""
from __future__ import annotations

import copy
import time
from contextlib import nullcontext
from dataclasses import dataclass, field

from cmshell.shell import navigate
from cmshell.shell.dispatch import ModeHelp, command
from cmshell.shell.location import Level, find_row, row_key
from cmshell.errors import CommandError
from cmshell.shell.target import effective_of
from cmshell.syntax.nodelist import NodeListError, parse, parse_parts, read_file, render, short
from cmshell.store.common import paused_gc

GROUPS = {"-n": "nodes", "--nodes": "nodes", "-c": "category", "--category": "category",
          "-e": "overlay", "--overlay": "overlay", "-l": "role", "--role": "role",
          "-m": "image", "--image": "image", "-t": "type", "--type": "type",
          "-s": "status", "--status": "status", "-g": "group", "--group": "group",
          "-r": "rack", "--rack": "rack", "-h": "chassis", "--chassis": "chassis"}
FLAGS = {"-i": "intersection", "--intersection": "intersection", "-u": "union", "--union": "union",
         "-v": "verbose", "--verbose": "verbose", "-q": "quit", "--quitonunknown": "quit",
         "--next-ip": "next_ip"}
# what the selection options' values are, for completion (CommandDef.options)
SELECT_OPTIONS = {"-n|--nodes": "ref:device", "-c|--category": "ref:category",
                  "-e|--overlay": "ref:configurationoverlay", "-l|--role": "role:any",
                  "-m|--image": "ref:softwareimage", "-t|--type": "type:device"}
SHORT = {"nodes": "-n", "category": "-c", "overlay": "-e", "role": "-l", "image": "-m", "type": "-t"}


def names(s, words: list[str]) -> list[str]:
    """The names a list of objects typed as `words` stands for (node-list grammar)."""
    try:
        return parse(words, reader=_reader(s))
    except NodeListError as e:
        raise CommandError(str(e)) from None


def _reader(s):
    """`^file` in a node list: `~` is this session's HOME."""
    return lambda path: read_file(path, s.env.expand)


# -- selection ---------------------------------------------------------------------------------
@dataclass
class Selection:
    objects: list[str] = field(default_factory=list)          # positional words (grammar, `*`)
    groups: list[tuple[str, str]] = field(default_factory=list)   # (kind, value) in typed order
    flags: set = field(default_factory=set)
    clone: str | None = None
    rest: list[str] = field(default_factory=list)              # words from `(` on

    @property
    def empty(self) -> bool:
        return not self.objects and not self.groups


def parse_options(cmd: str, args: list[str], extra_flags=()) -> Selection:
    sel = Selection()
    i = 0
    while i < len(args):
        a = args[i]
        if a == "(":
            sel.rest = args[i:]
            break
        if a in GROUPS or a in ("-o", "--clone"):
            if i + 1 >= len(args) or args[i + 1] == "(":
                raise CommandError(f"{cmd}: missing value after {a}")
            if a in ("-o", "--clone"):
                sel.clone = args[i + 1]
            else:
                sel.groups.append((GROUPS[a], args[i + 1]))
            i += 2
            continue
        if a in FLAGS or a in extra_flags:
            sel.flags.add(FLAGS.get(a) or a.lstrip("-"))
        elif a.startswith("-") and a != "-" and len(a) > 1 and not _negated_list(a):
            raise CommandError(f"{cmd}: unknown option {a}")
        else:
            sel.objects.append(a)
        i += 1
    if "intersection" in sel.flags and "union" in sel.flags:
        raise CommandError(f"{cmd}: -i (intersection) and -u (union) exclude each other")
    for kind, _ in sel.groups:
        if kind == "status":
            raise CommandError(f"{cmd} -s: cmshell has no device status data (no monitoring "
                               "backend), so it cannot select by status; use -n, -c, -e, -l, -m or -t")
        if kind in ("group", "rack", "chassis"):
            raise CommandError(f"{cmd}: cmshell's schema has no node groups, racks or chassis "
                               f"(-g, -r, -h); use -n, -c, -e, -l, -m or -t")
    return sel


def _negated_list(word: str) -> bool:
    """`-node002` (or `-3` for a row) as a positional word is an exclusion, not an option."""
    return len(word) > 1 and word[1] != "-" and (len(word) > 2 or word[1].isdigit())


def listpath(s, cmd: str) -> list[Level]:
    if not s.path:
        raise CommandError(f"{cmd}: enter a mode first (e.g. 'device')")
    lvl = s.path[-1]
    return s.path[:-1] + [lvl.select(None)]


def select(s, cmd: str, lp: list[Level], sel: Selection) -> list:
    """The keys (store ids at the top, row keys below) the selection names, in order."""
    mode = lp[-1].mode
    top = len(lp) == 1
    sets: list[list] = []
    gone: set = set()                  # `-name` among the objects leaves the whole selection
    if sel.objects:
        sets.append(_named(s, cmd, lp, sel.objects, gone))
    if sel.groups:
        if not (top and mode.name == "device"):
            kinds = sorted({SHORT.get(k, k) for k, _ in sel.groups})
            raise CommandError(f"{cmd} {' '.join(kinds)}: selects devices; use it in device mode")
        by_kind: dict[str, list[str]] = {}
        for kind, value in sel.groups:
            by_kind.setdefault(kind, []).append(value)
        for kind, vals in by_kind.items():
            sets.append(_group(s, cmd, kind, vals))
    if sel.objects and not any(w != "*" and not w.startswith("-") for w in sel.objects) \
            and "*" not in sel.objects:
        sets = sets[1:]                # only exclusions: they do not make a set of their own
    if not sets:
        return []
    if "intersection" in sel.flags:
        keep = sets[0]
        for other in sets[1:]:
            o = set(other)
            keep = [k for k in keep if k in o]
    else:
        keep = list(dict.fromkeys(k for part in sets for k in part))
    return [k for k in keep if k not in gone]


def _all(s, lp) -> list:
    """Every object of the level, in the order `list` shows them (device: by type, then name)."""
    mode = lp[-1].mode
    if len(lp) == 1:
        rids = [rid for _, rid in sorted(s.ws.names(mode.name).items())]
        if mode.sort:
            rids.sort(key=lambda rid: _sort_cells(mode, s.ws.doc(mode.name, rid) or {}))
        return rids
    rows = s.rows(lp)
    keys = [row_key(mode, r) for r in rows]
    return sorted(keys, key=(lambda k: int(k)) if mode.indexed else (lambda k: str(k)))


def _sort_cells(mode, doc) -> list[str]:
    out = []
    for f in mode.sort:
        if f == "type":
            t = str(doc.get("type", ""))
            out.append(mode.type_labels.get(t, t))
        else:
            out.append(str(doc.get(f, "")))
    return out


def _named(s, cmd, lp, words, drop_out=None) -> list:
    """Keys of the objects named by `words` (`*` for all). Names after `-` are excluded from
    the result (or, with `drop_out`, collected there for the caller to exclude)."""
    mode = lp[-1].mode
    out, missing = [], []
    if "*" in words:
        out += _all(s, lp)
        words = [w for w in words if w != "*"]
    try:
        keep, drop = parse_parts(words, reader=_reader(s))
    except NodeListError as e:
        raise CommandError(str(e)) from None
    if len(lp) == 1:
        for name in keep:
            try:
                out.append(s.lookup(mode, name))
            except CommandError:
                missing.append(name)
    else:
        rows = s.rows(lp)
        for name in keep:
            row = find_row(mode, rows, name)
            if row is None:
                missing.append(name)
            else:
                out.append(row_key(mode, row))
    if missing:
        what = mode.entity.lower() if len(lp) == 1 else f"{mode.name} entry"
        raise CommandError(f"{cmd}: no {what} named {render(missing)}")
    gone = set()
    for name in drop:
        if len(lp) == 1:
            rid = s.ws.find(mode.name, name)
            if rid is not None:
                gone.add(rid)
        else:
            row = find_row(mode, s.rows(lp), name)
            if row is not None:
                gone.add(row_key(mode, row))
    if drop_out is not None:
        drop_out.update(gone)
        return list(dict.fromkeys(out))
    return [k for k in dict.fromkeys(out) if k not in gone]


def _group(s, cmd, kind, vals) -> list[str]:
    """Devices in the named categories / overlays / with the roles / images / types."""
    want = names(s, vals)
    docs = s.ws.items("device")
    if kind == "nodes":
        return _named(s, cmd, [Level(s.schema.mode("device"))], vals)
    if kind == "type":
        mode = s.schema.mode("device")
        known = {t.lower(): t for t in mode.types} | {lbl.lower(): t for t, lbl in mode.type_labels.items()}
        bad = [w for w in want if w.lower() not in known]
        if bad:
            raise CommandError(f"{cmd} -t: unknown device type {bad[0]}; types: {', '.join(sorted(mode.types))}")
        types = {known[w.lower()] for w in want}
        return [rid for rid, d in docs if d.get("type") in types]
    if kind == "category":
        cats = set(_existing(s, cmd, "-c", "category", want))
        return [rid for rid, d in docs if d.get("category") in cats]
    if kind == "image":
        images = set(_existing(s, cmd, "-m", "softwareimage", want))
        cat_image = {c.get("name"): c.get("softwareimage") for c in s.ws.docs("category") if c}
        return [rid for rid, d in docs
                if (d.get("softwareimage") or cat_image.get(d.get("category"))) in images]
    eff = effective_of(s)
    if kind == "overlay":
        chosen = _existing(s, cmd, "-e", "configurationoverlay", want)
        members = {n for o in chosen for n in eff.overlay_members(s.ws.get("configurationoverlay", o) or {})}
        return [rid for rid, d in docs if d.get("hostname") in members]
    # roles: the device's own, its category's, and those of the overlays that are on (§6)
    roles = s.schema.mode("roles").roles
    canon = set()
    for w in want:
        c = roles.canonical(w)
        if c is None:
            raise CommandError(f"{cmd} -l: unknown role {w}; roles: {', '.join(roles.names())}")
        canon.add(c.lower())
    having = set(eff.nodes_with_roles(canon))
    return [rid for rid, d in docs if d.get("hostname") in having]


def _existing(s, cmd, opt, mode_name, want) -> list[str]:
    out, missing = [], []
    for w in want:
        rid = s.ws.find(mode_name, w)
        if rid is None:
            missing.append(w)
        else:
            out.append(s.ws.name_of(mode_name, rid))
    if missing:
        raise CommandError(f"{cmd} {opt}: no {s.schema.mode(mode_name).entity.lower()} named {render(missing)}")
    return out


def label(s, sel: Selection, lp, keys) -> str:
    """How the prompt shows a range: `-n node001..024`, `-c default`, `*`."""
    parts = []
    for kind, value in sel.groups:
        if kind == "nodes":
            value = short(names(s, [value]))
        parts.append(f"{SHORT[kind]} {value}")
    if sel.objects:
        stars = ["*"] if "*" in sel.objects else []
        rest = [w for w in sel.objects if w != "*"]
        parts += stars + ([short(names(s, rest))] if rest else [])
    if "intersection" in sel.flags:
        parts.insert(0, "-i")
    return " ".join(parts)


# -- running commands in objects --------------------------------------------------------------
def body(cmd: str, rest: list[str]) -> list[list[str]]:
    """`( a b ; c )` → [[a, b], [c]] (parentheses nest)."""
    if not rest or rest[0] != "(":
        raise CommandError(f"Usage: {cmd} [options] <objects> ( <command>; <command> ... )")
    depth, end = 0, None
    for i, w in enumerate(rest):
        depth += (w == "(") - (w == ")")
        if depth == 0:
            end = i
            break
    if end is None:
        raise CommandError(f"{cmd}: missing ')'")
    if end != len(rest) - 1:
        raise CommandError(f"{cmd}: unexpected {rest[end + 1]} after ')'")
    out, cur, depth = [], [], 0
    for w in rest[1:end]:
        if w == ";" and depth == 0:
            if cur:
                out.append(cur)
            cur = []
            continue
        depth += (w == "(") - (w == ")")
        cur.append(w)
    if cur:
        out.append(cur)
    return out


class Errors:
    """Failures of a bulk run: the same message for many objects prints once, with the objects
    compressed (`node001..node010: Unknown parameter ...`)."""

    def __init__(self):
        self.by_message: dict[str, list[str]] = {}
        self.failed = False

    def add(self, name: str, e: CommandError) -> None:
        self.failed = True
        if str(e):
            self.by_message.setdefault(str(e), []).append(name)

    def report(self, s) -> None:
        for msg, who in self.by_message.items():
            s.error(f"{render(who)}: {msg}")
        if self.failed:
            raise CommandError("")


def run_in(s, lp: list[Level], keys: list, commands: list[list[str]], *, verbose=False,
           quit_first=False) -> None:
    """Run `commands` with each object of `keys` selected, then come back."""
    saved = s.path
    lvl = lp[-1]
    errors = Errors()
    runs = [prepared(s, words) if len(keys) > 1 else None for words in commands]
    try:
        ws, mode_name, key_field = s.ws, lvl.mode.name, lvl.mode.key
        with paused_gc() if len(keys) > 1000 else nullcontext():
            for key in keys:
                if len(lp) == 1:                # ws.name_of, its common case at once
                    doc = ws.doc(mode_name, key)
                    name = str(doc.get(key_field, "")) if doc else ws.name_of(mode_name, key)
                else:
                    name = str(key)
                if verbose:
                    now = time.localtime(s.env.clock())
                    s.write(f"== {name} == {time.strftime('%Y-%m-%d %H:%M:%S', now)}")
                here = lp[:-1] + [lvl.select(key)]
                s.path = here                   # the commands run in turn, starting at the object
                for words, fast in zip(commands, runs):
                    if not s.valid(here):
                        break                   # an earlier command removed the object
                    if s.path is not here and not s.valid(s.path):
                        s.fix_path()
                    try:
                        if fast is None:
                            s.execute(words)
                        else:
                            s.memo.clear()      # as execute does
                            fast(s)
                    except CommandError as e:
                        errors.add(name, e)
                        if quit_first:
                            break
                if quit_first and errors.failed:
                    break
    finally:
        s.path = saved
    errors.report(s)


def prepared(s, words: list[str]):
    """What running `words` in each object comes to, prepared once (CommandDef.prepare), when
    the session would dispatch them to a command that can be prepared; else None."""
    if not words or s.range is not None or words[0] in s.commands.aliases:
        return None
    d = s.commands.defs.get(words[0])
    if d is None or d.prepare is None or d.scope != "mode" or navigate.top_mode(s.schema, words[0]):
        return None
    return d.prepare(words[1:])


def other_mode_help(cmd: str):
    """`help foreach` / `help range` outside device mode: the options that select devices go."""
    def helper(s) -> ModeHelp | None:
        if s.path and s.path[0].mode.name == "device" and len(s.path) == 1:
            return None
        if cmd == "range":
            if len(s.path) > 1:
                return ModeHelp("", ["range <objects>   (in a top-level mode only, e.g. device)"], examples=[])
            return ModeHelp("", ["range <objects>               later commands apply to each of them",
                                 "range *                       every object of this level",
                                 "range --show                  the members",
                                 "range --clear                 leave the range (also '..')"],
                            examples=["range *", "range --show"])
        return ModeHelp("", [
            "foreach <objects> ( <command>; <command> ... )",
            "foreach * ( ... )                     every object of this level",
            "  -o|--clone <object>    clone <object> as each of the objects named, then run the commands",
            "  -v|--verbose           a header line before each object",
            "  -q|--quitonunknown     stop at the first command that fails",
            "  (-n -c -e -l -m -t select devices: in device mode)"],
            examples=["foreach * (get name)", "foreach --clone default gpu-a gpu-b ()"])
    return helper


@command("foreach", "Run commands in each of a list of objects", usage=[
    "foreach [options] <objects> ( <command>; <command> ... )",
    "foreach * ( ... )                     every object of this level",
    "  -n|--nodes <list>      nodes (node00[1-4], node001..node004, node001..node005,-node003, ^file)",
    "  -c|--category <list>   nodes in these categories",
    "  -e|--overlay <list>    nodes in these configuration overlays",
    "  -l|--role <list>       nodes with these roles (own, category or overlay)",
    "  -m|--image <list>      nodes with these software images (own or category)",
    "  -t|--type <list>       devices of these types (physicalnode, headnode, switch ...)",
    "  -u|--union (default), -i|--intersection   how the selections combine",
    "  -o|--clone <object>    clone <object> as each of the objects named, then run the commands",
    "  --next-ip              with --clone: the next free IP for every clone",
    "  -v|--verbose           a header line before each object",
    "  -q|--quitonunknown     stop at the first command that fails",
    "  -s|--status <regex>    refused: cmshell has no status data"],
    examples=["foreach node001 node002 (get ip)", "foreach -n node00[1-4] (set notes rack1)",
              "foreach -c default -l kubelet -i (get hostname)", "foreach * (get ip)",
              "foreach -t physicalnode (roles; assign docker::host)",
              "foreach --clone node001 -n node022..node024 ()"], args=("object*",),
    options=SELECT_OPTIONS | {"-o|--clone": "object"}, mode_help=other_mode_help("foreach"))
def foreach(s, args):
    with paused_gc():       # one collection after the selection and the edits, not one after each
        _foreach(s, args)


def _foreach(s, args):
    lp = listpath(s, "foreach")
    sel = parse_options("foreach", args)
    commands = body("foreach", sel.rest)
    if sel.clone is not None:
        keys = clone_all(s, lp, sel)
    else:
        if sel.empty:
            raise CommandError("Usage: foreach [options] <objects> ( <command>; ... ); "
                               "'help foreach' lists the options")
        keys = select(s, "foreach", lp, sel)
    if commands:
        run_in(s, lp, keys, commands, verbose="verbose" in sel.flags, quit_first="quit" in sel.flags)


# -- foreach --clone (and `clone`, commands/objects.py) ---------------------------------------------
def clone_addresses(s, mode, src: dict, new: list[str], *, foreach: bool = False,
                    next_ip: bool = False) -> dict[str, str | None]:
    """The IP of each clone of device `src` (None: keep the source's; "": none left), as cmsh
    guesses them (§2.5.3, §2.5.5); {} in modes without IPs."""
    if mode.spec(src).param("ip") is None:
        return {}
    from cmshell.model.addresses import clone_ips
    net = None
    if src.get("network") and "network" in s.schema.modes:
        net = s.ws.get("network", str(src["network"]))
    used = {str(d.get("ip")) for d in s.ws.docs(mode.name) if d and d.get("ip")}
    return clone_ips(str(src.get(mode.key, "")), str(src.get("ip") or ""), new, used, net,
                     keep_on_mismatch=foreach and not next_ip)


def clone_doc(mode, src: dict, name: str, ip: str | None) -> dict:
    """A copy of `src` named `name`: a device's MAC is cleared (it belongs to one machine) and
    its IP set to `ip` (None keeps it, "" clears it)."""
    doc = copy.deepcopy(src)
    doc[mode.key] = name
    spec = mode.spec(doc)
    if spec.param("mac") is not None:
        doc.pop("mac", None)
    if spec.param("ip") is not None and ip is not None:
        if ip:
            doc["ip"] = ip
        else:
            doc.pop("ip", None)
    return doc


def clone_all(s, lp, sel) -> list:
    if len(lp) != 1:
        raise CommandError("foreach --clone: only for objects of a top-level mode")
    mode = lp[0].mode
    src_id = s.lookup(mode, sel.clone)
    src = s.ws.doc(mode.name, src_id)
    new = names(s, sel.objects + [v for k, v in sel.groups if k == "nodes"])
    if not new or any(k != "nodes" for k, _ in sel.groups):
        raise CommandError("Usage: foreach --clone <object> [-n] <new names> ( <command>; ... )")
    taken = [n for n in new if s.ws.find(mode.name, n) is not None]
    if taken:
        raise CommandError(f"foreach --clone: {render(taken)} already exist{'s' if len(taken) == 1 else ''}")
    ips = clone_addresses(s, mode, src, new, foreach=True, next_ip="next_ip" in sel.flags)
    keys = []
    for name in new:
        ip = ips.get(name)
        if ips and ip is None:          # another base name: cmsh leaves the IP alone (§2.5.5)
            s.write("Base name mismatch, IP settings will not be modified!")
        keys.append(s.ws.add(mode.name, clone_doc(mode, src, name, ip)))
    return keys
