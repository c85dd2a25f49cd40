"""Lists and names: list, format, sort, delimiter, listnodes, usedby, swap, rename
(cmsh-behaviour §4.10, §4.12, §4.13, §4.15). `list` takes the format, sort order and
delimiter set here from session.settings. See docs/bulk-and-lists.md.
"""
from __future__ import annotations

import re

from cmshell.commands.bulk import names
from cmshell.shell.dispatch import command
from cmshell.model.names import problem as names_problem, shown
from cmshell.model import values
from cmshell.model.values import problem as value_problem
from cmshell.model.validate import pointer_modes, references
from cmshell.output import table
from cmshell.shell.location import Level, find_row, row_key
from cmshell.shell.target import display, inherited_role_rows, spec_of
from cmshell.errors import CommandError
from cmshell.syntax.nodelist import plain


def _mode(s, cmd):
    if not s.path:
        raise CommandError(f"{cmd}: enter a mode first (e.g. 'device')")
    return s.path[-1].mode


def _check_fields(mode, fields, cmd):
    known = mode.all_params()
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


# -- list ------------------------------------------------------------------------------------
@command("list", "List objects of this level", usage=[
    "list [-f|--format <spec>] [-d|--delimiter <string>] [-v|--verbose] [-s|--sort <fields>]",
    "list -d {} [--field-keys]     JSON: keyed by the column headers (\"hostname (key)\"), as cmsh;",
    "                              --field-keys: by the field names (\"hostname\")",
    "list --output grid|markdown|rst|csv|tsv   (whole values, for documents and scripts)"],
    examples=["list", "list -f hostname:20,category:10", "list -d {}", "list -f hostname,ip -d {} --field-keys",
              "list --output markdown"],
    args=("any*",), options={"-f|--format": "field:spec", "-s|--sort": "field",
                             "--output": "grid|markdown|rst|csv|tsv"})
def list_(s, args, only=None):
    """`only`: the ids of the top-level objects to list (listnodes, a range), else all."""
    opts = _options(args, {"-f": "format", "--format": "format", "-d": "delimiter",
                           "--delimiter": "delimiter", "-s": "sort", "--sort": "sort",
                           "--output": "output"},
                    {"-v": "verbose", "--verbose": "verbose", "--field-keys": "field_keys"})
    if opts.rest:
        raise CommandError(f"list: unexpected argument {opts.rest[0]}")
    if opts.get("output") is not None:
        from cmshell.output import formats
        try:
            formats.check(opts["output"])
        except formats.FormatError as e:
            raise CommandError(f"list: {e}") from None
    lvl = s.path[-1]
    mode = lvl.mode
    # fields named with -f or `format` head their columns as typed, in lower case (§2.5.3:
    # `hostname (key)`); the mode's default format shows the labels (`Hostname (key)`)
    explicit = opts.get("format") or s.settings.formats.get(mode.name)
    spec_text = explicit or mode.list_format or mode.key
    try:
        cols = table.parse_format(spec_text)
    except table.FormatError as e:
        raise CommandError(str(e)) from None
    known = mode.all_params()
    for c in cols:
        if c.field not in known and c.field != "index":
            raise CommandError(f"Unknown field '{c.field}'; 'format' lists the valid fields")
    typed = bool(explicit)
    headers = []
    for c in cols:
        if c.field == "index":
            headers.append("Index" if not typed else "index")
            continue
        p = known[c.field]
        text = c.field.lower() if typed else (p.list_label or p.label)
        headers.append(text + (" (key)" if c.field == mode.key and not mode.indexed else ""))
    order = sort_columns(s, mode, cols, opts.get("sort"))   # -s, else the mode's `sort`
    ki = next((i for i, c in enumerate(cols) if c.field == mode.key), None)
    delim = opts.get("delimiter", s.settings.delimiter)
    indent = table.json_indent(delim)
    by_type = streamed_order(mode, cols, order, known)
    if (len(s.path) == 1 and only is None and by_type is not None and ki is not None and indent is None
            and opts.get("output") is None and not opts.flag("field_keys")):
        # the common case streams: rows in the list's order straight from the store (by key,
        # or by type and key: an index serves both), written as read
        out = table.Stream(headers, cols, s.write, delimiter=delim, verbose=opts.flag("verbose"))
        makers: dict[int, list] = {}
        for rid, doc in s.ws.stream(mode.name, by_type=by_type):
            spec = mode.spec(doc)
            fns = makers.get(id(spec))
            if fns is None:
                fns = makers[id(spec)] = [_cell_maker(s, mode, spec.param(c.field), c.field) for c in cols]
            out.add([f(rid, doc) for f in fns])
        out.close()
        return
    if len(s.path) == 1:
        paths = [[Level(mode, None, rid)]
                 for rid in (s.ws.names(mode.name).values() if only is None else only)]
    else:
        base = s.path[:-1]
        paths = [base + [lvl.select(row_key(mode, r))] for r in s.rows()]
    rows = [_cells(s, path, s.element(path), cols, known) for path in paths]
    rows += inherited_role_rows(s, cols)     # a node's roles from its category and overlays (§6)
    if order:
        rows.sort(key=sort_key(known, cols, order))
    elif mode.indexed:
        rows.sort(key=lambda r: int(r[0]) if cols[0].field == "index" and r[0].isdigit() else 0)
    else:
        rows.sort(key=(lambda r: r[ki]) if ki is not None else None)
    if opts.get("output") is not None:
        from cmshell.output import formats
        machine = opts["output"] in ("csv", "tsv")        # scripts: the field names
        lines = formats.render(opts["output"], [c.field for c in cols] if machine else headers, rows)
    elif indent is not None:     # keyed by the headers, as cmsh (or the field names); whole values
        keys = [c.field for c in cols] if opts.flag("field_keys") else headers
        lines = table.render_json(keys, rows, indent)
    elif opts.flag("field_keys"):
        raise CommandError("list: --field-keys goes with JSON output (-d {})")
    else:
        lines = table.render(headers, cols, rows, delimiter=delim, verbose=opts.flag("verbose"))
    s.write("\n".join(lines))


def _cell_maker(s, mode, p, field):
    """A function (id, doc) -> the cell of one column of a top-level `list` row: `display`,
    with the common plain parameters done without its look-ups."""
    if field == "index":
        return lambda rid, doc: str(doc.get("index", ""))
    if p is None:
        return lambda rid, doc: ""
    if p.name == "type" and mode.roles is None:
        labels = mode.type_labels
        return lambda rid, doc: labels.get(doc.get("type", ""), doc.get("type", ""))
    if p.name == "type" or p.is_submode or p.inherit or p.count or p.syntax or p.type in (
            "boolean", "list", "blob", "secret", "internal"):
        return lambda rid, doc: display(s, [Level(mode, None, rid)], p, doc, annotate=False)
    name, unset = p.name, values.show(p, values.empty(p))
    return lambda rid, doc: unset if (v := doc.get(name)) is None else str(v)


def _cells(s, path, doc, cols, known) -> list[str]:
    spec = path[-1].mode.spec(doc) if len(path) == 1 else spec_of(s, path)
    cells = []
    for c in cols:
        if c.field == "index":
            cells.append(str(doc.get("index", "")))
            continue
        p = spec.param(c.field)
        cells.append(display(s, path, p, doc, annotate=False) if p is not None else "")
    return cells


# -- format ------------------------------------------------------------------------------------
@command("format", "Show or set the columns 'list' prints in this mode", usage=[
    "format                        the current format and the valid fields",
    "format <field>[:<width>],...  set it (width N, [min-max], or 0 for no padding)",
    "format -r|--reset             back to the mode's default"],
    examples=["format", "format hostname:[10-20],ip:15,category", "format -r"], args=("field:spec*",))
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
        known = mode.all_params()
        fields = sorted(known.items())
        if mode.indexed:
            fields.insert(0, ("index", None))
        w = max(len(n) for n, _ in fields)
        for name, p in fields:
            text = "Position of the entry" if p is None else (p.help or p.label)
            s.write(f"{name.ljust(w)} : {text.splitlines()[0] if text else ''}".rstrip())
        return
    if _reset(args, s.settings.formats, mode.name, "format"):
        return
    try:
        cols = table.parse_format(",".join(args))
    except table.FormatError as e:
        raise CommandError(f"format: {e}") from None
    _check_fields(mode, [c.field for c in cols], "format")
    s.settings.formats[mode.name] = spec_text(cols).replace(", ", ",")


def _reset(args: list[str], settings: dict, mode: str, command: str) -> bool:
    """`format`/`sort` with options: -r|--reset drops the mode's setting (True); any other
    option is an error; no option: False (the arguments are fields)."""
    if args[0] in ("-r", "--reset"):
        if len(args) > 1:
            raise CommandError(f"{command}: unexpected argument {args[1]}")
        settings.pop(mode, None)
        return True
    if args[0].startswith("-"):
        raise CommandError(f"{command}: unknown option {args[0]}")
    return False


# -- sort --------------------------------------------------------------------------------------
@command("sort", "Show or set the fields 'list' sorts by in this mode", usage=[
    "sort                          the current order",
    "sort <field> [<field> ...]    sort by these fields (then by the next ...)",
    "sort -r|--reset               back to the mode's order (device: type, hostname; else the key)"],
    examples=["sort category hostname", "sort -r"], args=("field*",))
def sort_(s, args):
    mode = _mode(s, "sort")
    if not args:
        cur = s.settings.sorts.get(mode.name) or list(mode.sort)
        s.write(f"Current sort order: {', '.join(cur) if cur else mode.key + ' (the key)'}")
        return
    if _reset(args, s.settings.sorts, mode.name, "sort"):
        return
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
    stored = s.settings.sorts.get(mode.name) or list(mode.sort)   # device: type, then hostname
    out = []
    for f in stored:
        i = next((i for i, c in enumerate(cols) if c.field == f), None)
        if i is not None:
            out.append(i)
    return out


def streamed_order(mode, cols, order: list[int], known) -> bool | None:
    """Whether the store can give a top-level list's rows in the order it sorts them by: by
    key (False), by a plain-text `type` and then the key (True, device's order); None: the rows
    must be sorted whole."""
    fields = [cols[i].field for i in order]
    if fields in ([], [mode.key]):
        return False
    p = known.get("type")
    if fields == ["type", mode.key] and p is not None and p.type == "string":
        return True
    return None


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
    examples=["listnodes default", "listnodes gpu-nodes -f hostname:0,ip:0"], args=("object?",),
    options={"-f": "field:spec+device", "-s": "field:device"})
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
    saved = s.path
    s.path = [Level(s.schema.mode("device"))]
    try:
        list_(s, args, only=rids)
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
         examples=["swap node001 node002"], args=("object", "object:other"))
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
    "rename [--dry-run] <list> <new base name>         (numbered from 1: node001..node003 test -> test1..test3)",
    "rename [--dry-run] <list> <printf format>         (numbered from 1: node001..node003 gpu%02d -> gpu01..)"],
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
        if not plain(new) or names_problem(new) is not None:
            raise CommandError(f"rename: invalid name {shown(new)}: it {names_problem(new) or 'is a node list'}")
        key = mode.base.param(mode.key)
        wrong = value_problem(key, new) if key is not None else None
        if wrong is not None:
            raise CommandError(f"rename: invalid value for {key.name}: {wrong}")
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
    """The new names of `olds`: a printf format or a base name numbers them from 1, whatever
    their old numbers (§2.5.5: `rename node001..node003 test` → test1..test3; ten names give
    test01..test10, as many digits as the last number has); a list names each one."""
    if "%" in text:
        widths = [n for m in re.finditer(r"%[-+ 0#]*(\d*)(?:\.(\d*))?", text) for n in m.groups() if n]
        if any(len(n) > 2 for n in widths):         # %999999999d would take gigabytes
            raise CommandError(f"rename: invalid format {text} (widths go up to 99)")
        out = []
        for i in range(1, len(olds) + 1):
            try:
                out.append(text % i)
            except (TypeError, ValueError):
                raise CommandError(f"rename: invalid format {text} (expected e.g. node%03d)") from None
        return out
    news = names(s, [text])
    if len(news) == len(olds):
        return news
    if len(news) == 1:                   # a new base name: numbered from 1
        width = len(str(len(olds)))
        return [f"{news[0]}{i:0{width}d}" for i in range(1, len(olds) + 1)]
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


# -- option parsing ---------------------------------------------------------------------------
class _Opts(dict):
    rest: list

    def flag(self, name):
        return bool(self.get(name))


def _options(args, valued: dict, flags: dict) -> _Opts:
    out = _Opts()
    out.rest = []
    it = iter(args)
    for a in it:
        if a in valued:
            try:
                out[valued[a]] = next(it)
            except StopIteration:
                raise CommandError(f"Missing value after {a}") from None
        elif a in flags:
            out[flags[a]] = True
        elif a.startswith("-") and len(a) > 1 and not a[1:].isdigit():
            raise CommandError(f"Unknown option: {a}")
        else:
            out.rest.append(a)
    return out
