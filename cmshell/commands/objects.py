"""Object commands: list, show, get, set, clear, append, removefrom, add, clone, remove,
assign, unassign."""
from __future__ import annotations

import copy
import os

from cmshell.commands.registry import command
from cmshell.model import values
from cmshell.output import table
from cmshell.shell.location import Level, find_row, row_key
from cmshell.shell.files import read_text
from cmshell.errors import CommandError
from cmshell.shell.target import (display, effective_table, get_lines, inherited_role_rows, param_of,
                                  raw, sibling, spec_of, split_target)


# -- list ------------------------------------------------------------------------------------
@command("list", "List objects of this level", usage=[
    "list [-f|--format <spec>] [-d|--delimiter <string>] [-v|--verbose] [-s|--sort <fields>]"],
    examples=["list", "list -f hostname:20,category:10", "list -d {}"], args=("any*",))
def list_(s, args, only=None):
    """`only`: the ids of the top-level objects to list (listnodes, a range), else all."""
    opts = _options(args, {"-f": "format", "--format": "format", "-d": "delimiter",
                           "--delimiter": "delimiter", "-s": "sort", "--sort": "sort"},
                    {"-v": "verbose", "--verbose": "verbose"})
    if opts.rest:
        raise CommandError(f"list: unexpected argument {opts.rest[0]}")
    lvl = s.path[-1]
    mode = lvl.mode
    spec_text = opts.get("format") or s.settings.formats.get(mode.name) or mode.list_format or mode.key
    try:
        cols = table.parse_format(spec_text)
    except table.FormatError as e:
        raise CommandError(str(e)) from None
    known = mode.all_params()
    if mode.roles is not None:
        for r in mode.roles.roles:
            known.update(r.spec(mode.params).by_name)
    for c in cols:
        if c.field not in known and c.field != "index":
            raise CommandError(f"Unknown field '{c.field}'; 'format' lists the valid fields")
    typed = bool(opts.get("format"))
    headers = []
    for c in cols:
        if c.field == "index":
            headers.append("Index" if not typed else "index")
            continue
        p = known[c.field]
        text = c.field if typed else (p.list_label or p.label)
        headers.append(text + (" (key)" if c.field == mode.key and not mode.indexed else ""))
    from cmshell.commands import lists
    order = lists.sort_columns(s, mode, cols, opts.get("sort"))   # -s, else the mode's `sort`
    ki = next((i for i, c in enumerate(cols) if c.field == mode.key), None)
    delim = opts.get("delimiter", s.settings.delimiter)
    indent = table.json_indent(delim)
    if len(s.path) == 1 and only is None and not order and ki is not None and indent is None:
        # the common case streams: rows in key order straight from the store, written as read
        out = table.Stream(headers, cols, s.write, delimiter=delim, verbose=opts.flag("verbose"))
        makers: dict[int, list] = {}
        for rid, doc in s.ws.stream(mode.name):
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
        rows.sort(key=lists.sort_key(known, cols, order))
    elif mode.indexed:
        rows.sort(key=lambda r: int(r[0]) if cols[0].field == "index" and r[0].isdigit() else 0)
    else:
        rows.sort(key=(lambda r: r[ki]) if ki is not None else None)
    if indent is not None:
        lines = table.render_json([c.field for c in cols], rows, indent)   # whole values
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
    if p.name == "type" or p.is_submode or p.inherit or p.type in (
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


# -- show / get ----------------------------------------------------------------------------
@command("show", "Show the parameters of an object", usage=[
    "show [<object>]",
    "show --effective [<object>]   (each value with the layer it comes from and what it overrides)"],
         examples=["show", "show node001", "show --effective node001"], args=("object?",))
def show(s, args):
    from cmshell.commands import review
    if review.shows_changes(s, args):          # `show changes` = `diff`
        return review.diff(s, args[1:])
    effective = "--effective" in args          # value, layer and what it overrides (§6)
    args = [a for a in args if a != "--effective"]
    if args and s.path and s.path[-1].key is not None:
        path, rest = sibling(s, args[0]), args[1:]
    else:
        path, rest = split_target(s, args)
    if rest:
        raise CommandError(f"show: unexpected argument {rest[0]}")
    doc = s.element(path)
    if effective:
        s.write("\n".join(effective_table(s, path)))
        return
    spec = spec_of(s, path)
    rows = [(k, str(v)) for k, v in sorted((doc.get("extra") or {}).items())]
    for p in spec.params:
        rows.append((p.label, display(s, path, p, doc)))
    s.write("\n".join(table.pairs(rows)))


@command("get", "Get the value of a parameter", usage=["get [<object>] <parameter>"],
         examples=["get softwareimage", "get node001 ip"], args=("target", "param"))
def get(s, args):
    path, rest = split_target(s, args)
    if len(rest) != 1:
        raise CommandError("Usage: get [<object>] <parameter>")
    doc = s.element(path)
    extra = doc.get("extra") or {}
    if rest[0] in extra and spec_of(s, path).param(rest[0]) is None:
        s.write(str(extra[rest[0]]))
        return
    p = param_of(s, path, rest[0])
    for line in get_lines(s, path, p, doc):      # inherited values name their source (§6)
        s.write(line)


# -- set / clear / append / removefrom -----------------------------------------------------------
@command("set", "Set the value of a parameter", usage=[
    "set [<object>] <parameter> <value> [<value> ...]",
    "set -e|--extra <name> <value>",
    "set <blob parameter> <file>      (loads the file's content)",
    "set <blob parameter>             (opens $VISUAL/$EDITOR on the content)"],
    examples=["set iptables no", "set node001 mac 00:11:22:33:44:55", "set config /tmp/app.yaml",
              "set -e ingress_proxy_enable true"], args=("target", "param:set", "value*"))
def set_(s, args):
    if args and args[0] in ("-e", "--extra"):
        _set_extra(s, args[1:])
        return
    path, rest = split_target(s, args)
    if not rest:
        raise CommandError("Usage: set [<object>] <parameter> <value>")
    p = param_of(s, path, rest[0])
    words = rest[1:]
    _check_settable(p)
    if p.type == "blob":
        value = _blob_value(s, path, p, words)
        if value is None:
            return
    elif not words:
        raise CommandError(f"Missing value for {p.name}")
    else:
        try:
            value = values.parse(p, words)
        except values.ValueError_ as e:
            raise CommandError(str(e)) from None
    _assign(s, path, p, value)


def _check_settable(p):
    if p.readonly:
        raise CommandError(f"{p.name} is read-only")
    if p.is_submode:
        raise CommandError(f"{p.name} is a submode; enter it with '{p.name}'")
    if p.type == "internal":
        raise CommandError(f"{p.name} is managed internally")


def _blob_value(s, path, p, words):
    if words:
        return read_text(s.env.expand(words[0]), words[0])
    from cmshell.shell import editor
    current = raw(s.element(path), p)
    return editor.edit_text(s, current, p.name)


def _assign(s, path, p, value):
    mode = path[-1].mode
    doc = s.element(path)
    if p.name == mode.key and not mode.indexed:
        value = str(value)
        if value != doc.get(p.name):
            _check_new_name(s, path[:-1] + [path[-1].select(None)], value, exclude=doc)
    edoc = s.element(path, editable=True)
    if value == values.empty(p) and p.default is None:
        edoc.pop(p.name, None)
    else:
        edoc[p.name] = value
    if p.name == mode.key and not mode.indexed:
        _renamed(s, path, value)


def _renamed(s, path, new):
    if len(path) == 1:
        s.ws.renamed(path[0].mode.name)
        return
    depth = len(path) - 1
    if s.path[: depth + 1] == path:
        s.path = s.path[:depth] + [s.path[depth].select(new)] + s.path[depth + 1:]


def _check_new_name(s, listpath, name, exclude=None):
    if not name:
        raise CommandError("The name cannot be empty")
    lvl = listpath[-1]
    if len(listpath) == 1:
        rid = s.ws.names(lvl.mode.name).get(name)
        if rid is not None and s.ws.doc(lvl.mode.name, rid) is not exclude:
            raise CommandError(f"{lvl.mode.entity} {name} already exists")
    else:
        rows = s.rows(listpath)
        if any(str(r.get(lvl.mode.key, "")) == name and r is not exclude for r in rows):
            raise CommandError(f"{name} already exists in {lvl.mode.name}")


def _set_extra(s, args):
    path, rest = split_target(s, args)
    if not path[-1].mode.extras:
        raise CommandError(f"{path[-1].mode.name} objects take no extra parameters")
    if len(rest) < 2:
        raise CommandError("Usage: set -e <name> <value>")
    s.element(path, editable=True).setdefault("extra", {})[rest[0]] = " ".join(rest[1:])


@command("clear", "Clear the value of a parameter (or all parameters)",
         usage=["clear [<object>] [<parameter>]", "clear -e <name>"],
         examples=["clear softwareimage"], args=("target", "param:set*"))
def clear(s, args):
    if args and args[0] in ("-e", "--extra"):
        path, rest = split_target(s, args[1:])
        extra = s.element(path, editable=True).get("extra") or {}
        if not rest or rest[0] not in extra:
            raise CommandError("Usage: clear -e <existing extra parameter>")
        del extra[rest[0]]
        return
    path, rest = split_target(s, args)
    spec = spec_of(s, path)
    mode = path[-1].mode
    if not rest:
        targets = [p for p in spec.params if not (p.readonly or p.is_submode or p.type == "internal"
                                                 or p.name == mode.key)]
    else:
        targets = [param_of(s, path, w) for w in rest]
        for p in targets:
            _check_settable(p)
            if p.name == mode.key:
                raise CommandError(f"{p.name} names the object and cannot be cleared")
    edoc = s.element(path, editable=True)
    for p in targets:
        edoc.pop(p.name, None)


@command("append", "Append values to a list parameter", usage=["append [<object>] <parameter> <value> ..."],
         examples=["append categories gpu-nodes"], args=("target", "param:list", "value*"))
def append(s, args):
    _list_edit(s, args, add=True)


@command("removefrom", "Remove values from a list parameter",
         usage=["removefrom [<object>] <parameter> <value> ..."], examples=["removefrom nodes node003"],
         args=("target", "param:list", "member*"))
def removefrom(s, args):
    _list_edit(s, args, add=False)


def _list_edit(s, args, add):
    path, rest = split_target(s, args)
    if len(rest) < 2:
        raise CommandError(f"Usage: {'append' if add else 'removefrom'} [<object>] <parameter> <value> ...")
    p = param_of(s, path, rest[0])
    if not p.is_list:
        raise CommandError(f"{p.name} is not a list")
    _check_settable(p)
    new = values.parse(p, rest[1:])
    cur = list(raw(s.element(path), p))
    if add:
        cur += [v for v in new if v not in cur]
    else:
        missing = [v for v in new if v not in cur]
        if missing:
            raise CommandError(f"{missing[0]} is not in {p.name}")
        cur = [v for v in cur if v not in new]
    s.element(path, editable=True)[p.name] = cur


# -- add / clone / remove -----------------------------------------------------------------
@command("add", "Add a new object", usage=["add <name>", "add <type> <name> [<arguments>]"],
         examples=["add amd", "add physicalnode node100 10.141.0.100", "add overlay2 mylargebackend",
                   "add ACCEPT net 10443 tcp fw"], args=("type", "new", "addarg*"))
def add(s, args):
    lvl = s.path[-1]
    mode = lvl.mode
    if mode.roles is not None:
        raise CommandError("Roles are added with 'assign <role>'")
    listpath = s.path[:-1] + [lvl.select(None)]
    doc: dict = {}
    if mode.indexed:
        positional = list(mode.add_args)
        if len(args) > len(positional):
            raise CommandError(f"Usage: add {' '.join('<' + a + '>' for a in positional)}")
        spec = mode.base
        for name, word in zip(positional, args):
            doc[name] = _parse(spec.param(name), [word])
        rows = s.rows(listpath)
        base_rows = s.base_of(listpath) or []
        doc["index"] = max([r.get("index", -1) for r in rows + base_rows] + [-1]) + 1
        s.element(s.path[:-1], editable=True).setdefault(lvl.param, []).append(doc)
        s.go(s.path[:-1] + [lvl.select(doc["index"])])
        s.write("ok.")
        return
    words = list(args)
    spec = mode.base
    if mode.types:
        if not words or words[0].lower() not in mode.types:
            raise CommandError(f"Usage: add <type> <name>; types: {', '.join(sorted(mode.types))}")
        doc["type"] = words.pop(0).lower()
        spec = mode.types[doc["type"]]
    if not words:
        raise CommandError("Usage: add " + ("<type> " if mode.types else "") + "<name>")
    name = words.pop(0)
    if len(words) > len(mode.add_args):
        raise CommandError(f"add: unexpected argument {words[len(mode.add_args)]}")
    _check_new_name(s, listpath, name)
    doc[mode.key] = name
    for pname, word in zip(mode.add_args, words):
        doc[pname] = _parse(spec.param(pname), [word])
    _insert(s, listpath, doc)


def _parse(p, words):
    try:
        return values.parse(p, words)
    except values.ValueError_ as e:
        raise CommandError(str(e)) from None


def _insert(s, listpath, doc):
    lvl = listpath[-1]
    for p in lvl.mode.spec(doc).params:
        if p.initial is not None and p.name not in doc:
            doc[p.name] = p.initial
    if len(listpath) == 1:
        rid = s.ws.add(lvl.mode.name, doc)
        s.go([lvl.select(rid)])
    else:
        s.element(listpath[:-1], editable=True).setdefault(lvl.param, []).append(doc)
        s.go(listpath[:-1] + [lvl.select(row_key(lvl.mode, doc))])


@command("clone", "Clone an object under a new name", usage=["clone <object> <new name>"],
         examples=["clone node001 node100"], args=("object", "new"))
def clone(s, args):
    lvl = s.path[-1]
    if len(args) != 2:
        raise CommandError("Usage: clone <object> <new name>")
    if lvl.mode.indexed or lvl.mode.roles is not None:
        raise CommandError(f"{lvl.mode.name} entries cannot be cloned")
    listpath = s.path[:-1] + [lvl.select(None)]
    src = s.element(sibling(s, args[0]))
    _check_new_name(s, listpath, args[1])
    doc = copy.deepcopy(src)
    doc[lvl.mode.key] = args[1]
    _insert(s, listpath, doc)


@command("remove", "Remove objects", usage=["remove <object> [<object> ...]"],
         examples=["remove node100", "remove 0"], args=("object*",))
def remove(s, args):
    if not args:
        raise CommandError("Usage: remove <object> [<object> ...]")
    from cmshell.commands.bulk import names       # node lists: remove node00[5-6]
    paths = [sibling(s, a) for a in names(s, args)]
    for path in paths:
        _remove(s, path)


def _remove(s, path):
    lvl = path[-1]
    if len(path) == 1:
        s.ws.remove(lvl.mode.name, lvl.key)
    else:
        parent = s.element(path[:-1], editable=True)
        rows = parent.get(lvl.param) or []
        row = find_row(lvl.mode, rows, lvl.key)
        rows.remove(row)
    if s.path[: len(path)] == path:
        s.go(path[:-1] + [lvl.select(None)])


# -- roles ---------------------------------------------------------------------------------
@command("assign", "Assign a role", scope="roles", usage=["assign <role>"],
         examples=["assign docker::host", "assign generic::harbor"], args=("role",))
def assign(s, args):
    lvl = s.path[-1]
    if len(args) != 1:
        raise CommandError("Usage: assign <role>")
    canon = lvl.mode.roles.canonical(args[0])
    if canon is None:
        raise CommandError(f"Unknown role: {args[0]}; roles: {', '.join(lvl.mode.roles.names())}")
    listpath = s.path[:-1] + [lvl.select(None)]
    if find_row(lvl.mode, s.rows(listpath), canon) is not None:
        raise CommandError(f"Role {canon} is already assigned; 'use {canon}' to change it")
    _insert(s, listpath, {"name": canon})


@command("unassign", "Unassign a role", scope="roles", usage=["unassign <role>"],
         examples=["unassign docker::host"], args=("object",))
def unassign(s, args):
    if len(args) != 1:
        raise CommandError("Usage: unassign <role>")
    _remove(s, sibling(s, args[0]))


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
