"""Lists and names: format, sort, delimiter, listnodes, usedby, swap, rename
(cmsh-behaviour §4.10, §4.12, §4.13, §4.15). `list` itself is in objects.py; it takes the
format, sort order and delimiter set here from session.settings. See docs/bulk-and-lists.md.
"""
from __future__ import annotations

from cmshell.commands.bulk import names
from cmshell.commands.registry import command
from cmshell.model.validate import pointer_modes, references
from cmshell.output import table
from cmshell.shell.location import Level, find_row
from cmshell.errors import CommandError
from cmshell.syntax.nodelist import plain, split_number


def known_fields(mode) -> dict:
    """Every field `list -f`, `format` and `sort` accept in this mode."""
    known = mode.all_params()
    if mode.roles is not None:
        for r in mode.roles.roles:
            known.update(r.spec(mode.params).by_name)
    return known


def _mode(s, cmd):
    if not s.path:
        raise CommandError(f"{cmd}: enter a mode first (e.g. 'device')")
    return s.path[-1].mode


def _check_fields(mode, fields, cmd):
    known = known_fields(mode)
    for f in fields:
        if f not in known and not (f == "index" and mode.indexed):
            raise CommandError(f"{cmd}: unknown field '{f}'; 'format' lists the valid fields")


def spec_text(cols) -> str:
    """Columns back as cmsh prints a format: `type:22, hostname:[16-32], mac`."""
    out = []
    for c in cols:
        if c.lo is None:
            out.append(c.field)
        elif c.lo == c.hi:
            out.append(f"{c.field}:{c.lo}")
        else:
            out.append(f"{c.field}:[{c.lo}-{c.hi}]")
    return ", ".join(out)


# -- format ------------------------------------------------------------------------------------
@command("format", "Show or set the columns 'list' prints in this mode", usage=[
    "format                        the current format and the valid fields",
    "format <field>[:<width>],...  set it (width N, [min-max], or 0 for no padding)",
    "format -r|--reset             back to the mode's default"],
    examples=["format", "format hostname:[10-20],ip:15,category", "format -r"], args=("any*",))
def format_(s, args):
    mode = _mode(s, "format")
    default = mode.list_format or mode.key
    if not args:
        current = s.settings.formats.get(mode.name) or default
        s.write("Current list printing format:")
        s.write("-" * 29)
        s.write(spec_text(table.parse_format(current)))
        s.write("")
        s.write("Valid fields:")
        s.write("-" * 13)
        known = known_fields(mode)
        fields = sorted(known.items())
        if mode.indexed:
            fields.insert(0, ("index", None))
        w = max(len(n) for n, _ in fields)
        for name, p in fields:
            text = "Position of the entry" if p is None else (p.help or p.label)
            s.write(f"{name.ljust(w)} : {text.splitlines()[0] if text else ''}".rstrip())
        return
    if args[0] in ("-r", "--reset"):
        if len(args) > 1:
            raise CommandError(f"format: unexpected argument {args[1]}")
        s.settings.formats.pop(mode.name, None)
        return
    if args[0].startswith("-"):
        raise CommandError(f"format: unknown option {args[0]}")
    try:
        cols = table.parse_format(",".join(args))
    except table.FormatError as e:
        raise CommandError(f"format: {e}") from None
    _check_fields(mode, [c.field for c in cols], "format")
    s.settings.formats[mode.name] = spec_text(cols).replace(", ", ",")


# -- sort --------------------------------------------------------------------------------------
@command("sort", "Show or set the fields 'list' sorts by in this mode", usage=[
    "sort                          the current order",
    "sort <field> [<field> ...]    sort by these fields (then by the next ...)",
    "sort -r|--reset               back to sorting by the key"],
    examples=["sort category hostname", "sort -r"], args=("any*",))
def sort_(s, args):
    mode = _mode(s, "sort")
    if not args:
        cur = s.settings.sorts.get(mode.name)
        s.write(f"Current sort order: {', '.join(cur) if cur else mode.key + ' (the key)'}")
        return
    if args[0] in ("-r", "--reset"):
        if len(args) > 1:
            raise CommandError(f"sort: unexpected argument {args[1]}")
        s.settings.sorts.pop(mode.name, None)
        return
    if args[0].startswith("-"):
        raise CommandError(f"sort: unknown option {args[0]}")
    fields = [f.strip() for a in args for f in a.split(",") if f.strip()]
    if not fields:
        raise CommandError("Usage: sort <field> [<field> ...]")
    _check_fields(mode, fields, "sort")
    s.settings.sorts[mode.name] = fields


def sort_columns(s, mode, cols, explicit: str | None) -> list[int]:
    """The columns `list` sorts by: `-s f1,f2` (each must be a column), else the mode's `sort`
    (fields that are not columns of this list are passed over)."""
    if explicit:
        out = []
        for f in (x.strip() for x in explicit.split(",")):
            if not f:
                continue
            i = next((i for i, c in enumerate(cols) if c.field == f), None)
            if i is None:
                raise CommandError(f"list -s: {f} is not a column of the list")
            out.append(i)
        return out
    stored = s.settings.sorts.get(mode.name) or []
    out = []
    for f in stored:
        i = next((i for i, c in enumerate(cols) if c.field == f), None)
        if i is not None:
            out.append(i)
    return out


def sort_key(known, cols, idx):
    """Rows compare by the chosen cells; integer fields as numbers, the rest in byte order."""
    numeric = [known.get(cols[i].field) is not None and known[cols[i].field].type == "integer"
               for i in idx]

    def key(row):
        out = []
        for i, num in zip(idx, numeric):
            cell = row[i]
            if num and cell.lstrip("-").isdigit():
                out.append((0, int(cell), ""))
            else:
                out.append((1, 0, cell))
        return out
    return key


# -- delimiter ----------------------------------------------------------------------------------
@command("delimiter", "Show or set the column separator of 'list'", scope="top", usage=[
    "delimiter                     the current one",
    "delimiter <string>            set it (\"|\", \",\", {} for JSON, {4} for JSON indented by 4)",
    "delimiter -r|--reset          back to one space"],
    examples=['delimiter "|"', "delimiter {}", "delimiter -r"], args=("any?",))
def delimiter(s, args):
    if not args:
        s.write(f'Current delimiter: "{s.settings.delimiter}"')
        return
    if len(args) > 1:
        raise CommandError('Usage: delimiter <string> (quote it: delimiter " | ")')
    if args[0] in ("-r", "--reset"):
        s.settings.delimiter = " "
        return
    s.settings.delimiter = args[0]


# -- listnodes ---------------------------------------------------------------------------------
@command("listnodes", "List the nodes of a category", scope="mode:category", usage=[
    "listnodes [<category>] [-f <format>] [-d <delimiter>] [-v] [-s <fields>]"],
    examples=["listnodes default", "listnodes gpu-nodes -f hostname:0,ip:0"], args=("object?",))
def listnodes(s, args):
    lvl = s.path[0]
    args = list(args)
    if lvl.key is not None:
        cat = s.ws.name_of("category", lvl.key)
    elif args and not args[0].startswith("-"):
        cat = s.ws.name_of("category", s.lookup(lvl.mode, args.pop(0)))
    else:
        raise CommandError("Usage: listnodes <category> (or 'use <category>' first)")
    rids = [rid for _, rid in sorted(s.ws.names("device").items())
            if (s.ws.doc("device", rid) or {}).get("category") == cat]
    from cmshell.commands import objects
    saved = s.path
    s.path = [Level(s.schema.mode("device"))]
    try:
        objects.list_(s, args, only=rids)
    finally:
        s.path = saved


# -- usedby ------------------------------------------------------------------------------------
@command("usedby", "List the objects that use (point at) an object", usage=["usedby [<object>]"],
         examples=["usedby node001", "usedby default"], args=("object?",))
def usedby(s, args):
    mode = _mode(s, "usedby")
    if len(s.path) != 1:
        raise CommandError("usedby: only for objects of a top-level mode (device, category ...)")
    if len(args) > 1:
        raise CommandError(f"usedby: unexpected argument {args[1]}")
    if args:
        rid = s.lookup(mode, args[0])
    elif s.path[0].key is not None:
        rid = s.path[0].key
    else:
        raise CommandError("Usage: usedby <object>")
    name = s.ws.name_of(mode.name, rid)
    rows = []
    for other in pointer_modes(s.schema, mode.name):
        omode = s.schema.mode(other)
        for oname, orid in sorted(s.ws.names(other).items()):
            for f in references(s.schema, omode, s.ws.doc(other, orid) or {}, mode.name, name):
                rows.append([omode.entity, oname, f])
    s.write(f"{mode.entity} used by the following:")
    s.write("\n".join(table.simple(["Type", "Name", "Parameter"], [16, 10, 21], rows)))


# -- swap --------------------------------------------------------------------------------------
@command("swap", "Exchange the names of two objects", usage=["swap <object> <object>"],
         examples=["swap node001 node002"], args=("object", "object"))
def swap(s, args):
    mode = _mode(s, "swap")
    if len(args) != 2:
        raise CommandError("Usage: swap <object> <object>")
    if mode.indexed or mode.roles is not None:
        raise CommandError(f"swap: {mode.name} entries are not named")
    if len(s.path) == 1:
        a, b = s.lookup(mode, args[0]), s.lookup(mode, args[1])
        if a == b:
            raise CommandError("swap: name two different objects")
        da, db = s.ws.edit(mode.name, a), s.ws.edit(mode.name, b)
        da[mode.key], db[mode.key] = db[mode.key], da[mode.key]
        s.ws.renamed(mode.name)
        return
    lp = s.path[:-1] + [s.path[-1].select(None)]
    rows = s.rows(lp)
    ra, rb = find_row(mode, rows, args[0]), find_row(mode, rows, args[1])
    for word, row in ((args[0], ra), (args[1], rb)):
        if row is None:
            raise CommandError(f"No {mode.name} entry named {word}")
    if ra is rb:
        raise CommandError("swap: name two different objects")
    na, nb = ra[mode.key], rb[mode.key]
    rows = s.rows(lp, editable=True)
    ea, eb = find_row(mode, rows, na), find_row(mode, rows, nb)
    ea[mode.key], eb[mode.key] = nb, na
    cur = s.path[-1]
    if cur.key in (na, nb):              # the selection follows its object
        s.path = s.path[:-1] + [cur.select(nb if cur.key == na else na)]


# -- rename ------------------------------------------------------------------------------------
@command("rename", "Rename objects, and the pointers to them", usage=[
    "rename [--dry-run] <object> <new name>",
    "rename [--dry-run] <list> <list of new names>     (pairwise: node001..node003 rack1n01..rack1n03)",
    "rename [--dry-run] <list> <new base name>         (keeps each number: node001..node003 gpu)",
    "rename [--dry-run] <list> <printf format>         (with each number: node001..node003 gpu%02d)"],
    examples=["rename node001 test1", "rename node001..node004 worker", "rename --dry-run node00[1-4] w%03d"],
    args=("object", "new"))
def rename(s, args):
    mode = _mode(s, "rename")
    dry = False
    words = []
    for a in args:
        if a == "--dry-run":
            dry = True
        elif a.startswith("-") and len(a) > 1 and not words:
            raise CommandError(f"rename: unknown option {a}")
        else:
            words.append(a)
    if len(words) != 2:
        raise CommandError("Usage: rename [--dry-run] <objects> <new name(s)>")
    if len(s.path) != 1:
        raise CommandError("rename: only for objects of a top-level mode (in submodes: set name)")
    olds = [s.ws.name_of(mode.name, s.lookup(mode, n)) for n in names(s, [words[0]])]
    if not olds:
        raise CommandError("rename: the list names no objects")
    pairs = list(zip(olds, _new_names(s, olds, words[1])))
    news = [n for _, n in pairs]
    dup = sorted({n for n in news if news.count(n) > 1})
    if dup:
        raise CommandError(f"rename: {dup[0]} would be given to more than one object")
    for old, new in pairs:
        if not plain(new):
            raise CommandError(f"rename: invalid name {new!r}")
        rid = s.ws.find(mode.name, new)
        if rid is not None and s.ws.name_of(mode.name, rid) != old:
            raise CommandError(f"rename: {mode.entity} {new} already exists (use 'swap' to exchange names)")
    for old, new in pairs:
        if old == new:
            continue
        if dry:
            s.write(f"Would rename: {old} to {new}")
            continue
        rid = s.ws.find(mode.name, old)
        s.ws.edit(mode.name, rid)[mode.key] = new
        s.ws.renamed(mode.name)
        _retarget_all(s, mode.name, old, new)
        s.write(f"Renamed: {old} to {new}")


def _new_names(s, olds, text) -> list[str]:
    if "%" in text:
        out = []
        for old in olds:
            m = split_number(old)
            if not m:
                raise CommandError(f"rename: {old} has no number for {text}")
            try:
                out.append(text % int(m[1]))
            except (TypeError, ValueError):
                raise CommandError(f"rename: invalid format {text} (expected e.g. node%03d)") from None
        return out
    news = names(s, [text])
    if len(news) == len(olds):
        return news
    if len(news) == 1:                   # a new base name: keep every number
        out = []
        for old in olds:
            m = split_number(old)
            if not m:
                raise CommandError(f"rename: {old} has no number to keep after {text}")
            out.append(news[0] + m[1])
        return out
    raise CommandError(f"rename: {len(olds)} objects but {len(news)} new names")


def _retarget_all(s, target: str, old: str, new: str) -> None:
    """Point every parameter that names `old` (of mode `target`) at `new`, in the candidate."""
    for other in pointer_modes(s.schema, target):
        omode = s.schema.mode(other)
        for orid in list(s.ws.names(other).values()):
            doc = s.ws.doc(other, orid)
            if doc and references(s.schema, omode, doc, target, old):
                _retarget(s.schema, omode, s.ws.edit(other, orid), target, old, new)


def _retarget(schema, mode, doc, target, old, new) -> None:
    for p in mode.spec(doc).params:
        v = doc.get(p.name)
        if not v:
            continue
        if p.target == target:
            if v == old:
                doc[p.name] = new
            elif isinstance(v, list) and old in v:
                doc[p.name] = [new if x == old else x for x in v]
        elif p.is_submode and p.mode in schema.modes:
            sub = schema.mode(p.mode)
            for row in v:
                _retarget(schema, sub, row, target, old, new)


def with_rename_group(s, rids) -> list[str]:
    """`rids` plus the staged objects that must be committed with them: the objects whose
    pointers a rename moved, and the renamed objects that staged pointers name. Pointers hold
    names, so a renamed object and the pointers to its new name reach the store together."""
    renamed = {}
    keys = {m.name: m.key for m in s.schema.modes.values()}
    for rid, st in s.ws.staged.items():
        if st.base is not None and st.doc is not None:
            new = st.doc.get(keys[st.mode], "")
            if new != st.base.name and str(new) != st.base.name:
                renamed[rid] = (st.mode, st.base.name, str(new))
    rids = list(rids)
    if not renamed:
        return rids
    seen = set(rids)
    queue = list(rids)
    while queue:
        rid = queue.pop()
        st = s.ws.staged.get(rid)
        if st is None or st.doc is None:
            continue
        group = []
        if rid in renamed:
            m, old, new = renamed[rid]
            for other in pointer_modes(s.schema, m):
                omode = s.schema.mode(other)
                for orid, ost in s.ws.staged.items():
                    if ost.mode != other or ost.doc is None or orid in seen:
                        continue
                    base = s.ws.base_doc(other, orid) if ost.base is not None else None
                    if references(s.schema, omode, ost.doc, m, new) and \
                            (base is None or references(s.schema, omode, base, m, old)):
                        group.append(orid)
        mode = s.schema.mode(st.mode)
        for rrid, (m, old, new) in renamed.items():
            if rrid not in seen and references(s.schema, mode, st.doc, m, new):
                group.append(rrid)
        for g in group:
            if g not in seen:
                seen.add(g)
                rids.append(g)
                queue.append(g)
    return rids
