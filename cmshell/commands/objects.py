"""Object commands: show, get, set, clear, append, removefrom, add, clone, remove, assign,
unassign (`list` is in lists.py)."""
from __future__ import annotations

import copy

from cmshell.commands import review
from cmshell.commands.bulk import clone_addresses, clone_doc, names
from cmshell.shell.dispatch import ModeHelp, command
from cmshell.model import values
from cmshell.output import table
from cmshell.shell.location import find_row, row_key
from cmshell.shell import navigate
from cmshell.shell.files import read_text
from cmshell.errors import CommandError
from cmshell.workspace import clone as copy_value
from cmshell.shell.target import (display, effective_table, get_lines, param_of, raw, sibling, spec_of,
                                  split_target)


# -- show / get ----------------------------------------------------------------------------
@command("show", "Show the parameters of an object", usage=[
    "show [<object>]",
    "show --effective [<object>]   (each value with the layer it comes from and what it overrides)"],
         examples=["show", "show node001", "show --effective node001"], args=("object?",))
def show(s, args):
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
        if not p.list_only:                     # a category's Nodes: a list column only
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
def _prepare_set(args):
    """`set <parameter> <value>` for `foreach` over many objects: the parameter is looked up and
    the value parsed once per kind of object (its Spec), then only assigned in each. Whatever
    is not a plain assignment at a top-level object (an unknown or read-only parameter, a bad
    value, a blob, a node list, a rename, `set -e`) runs `set` itself, so that every message,
    check and mark stays as it is."""
    if len(args) < 2 or args[0] in ("-e", "--extra"):
        return None
    name, words = args[0], args[1:]
    plans: dict[int, tuple] = {}          # id(spec) -> (spec, param or None, value, unset)

    def plan(mode, spec) -> tuple:
        p = spec.param(name)
        if p is None or p.readonly or p.is_submode or p.type in ("internal", "blob") \
                or (p.name == mode.key and not mode.indexed) or (p.type == "list" and p.target == "device"):
            return (spec, None, None, False)
        try:
            value = values.parse(p, words)
        except values.ValueError_:
            return (spec, None, None, False)
        return (spec, p, value, value == values.empty(p) and p.default is None)

    def run(s) -> None:
        path = s.path
        top = path[0] if len(path) == 1 else None
        doc = s.ws.doc(top.mode.name, top.key) if top is not None and top.key is not None else None
        if doc is None:
            set_(s, args)
            return
        spec = top.mode.spec(doc)
        got = plans.get(id(spec))
        if got is None:
            got = plans[id(spec)] = plan(top.mode, spec)
        p = got[1]
        if p is None:
            set_(s, args)
            return
        edoc = s.element(path, editable=True)
        if got[3]:
            edoc.pop(p.name, None)
        else:
            edoc[p.name] = copy_value(got[2])       # a list value: each object its own
    return run


@command("set", "Set the value of a parameter", usage=[
    "set [<object>] <parameter> <value> [<value> ...]",
    "set -e|--extra <name> <value>",
    "set <blob parameter> <file>      (loads the file's content)",
    "set <blob parameter>             (opens $VISUAL/$EDITOR on the content)"],
    examples=["set iptables no", "set node001 mac 00:11:22:33:44:55", "set config /tmp/app.yaml",
              "set -e ingress_proxy_enable true"], args=("target", "param:set", "value*"),
         prepare=_prepare_set)
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
    from cmshell.model import names
    if not name:
        raise CommandError("The name cannot be empty")
    bad = names.problem(name)
    if bad is not None:
        raise CommandError(f"Invalid name {names.shown(name)}: it {bad}")
    lvl = listpath[-1]
    key = lvl.mode.base.param(lvl.mode.key)
    wrong = values.problem(key, name) if key is not None else None
    if wrong is not None:            # a device's hostname: RFC 1123
        raise CommandError(f"Invalid value for {key.name}: {wrong}")
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
    from cmshell.model import names
    bad = names.problem(rest[0])
    if bad is not None:
        raise CommandError(f"Invalid name {names.shown(rest[0])}: it {bad}")
    s.element(path, editable=True).setdefault("extra", {})[rest[0]] = " ".join(rest[1:])


@command("clear", "Clear the value of a parameter (or all parameters)",
         usage=["clear [<object>] [<parameter>]", "clear -e <name>"],
         examples=["clear softwareimage"], args=("target", "param:set*"), options={"-e": "extra"})
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
    if add or p.target == "device":
        new = _parse(p, rest[1:])
    else:                # removefrom: any value that is there may go, a malformed one included
        new = [v for w in rest[1:] for v in values.split_list(w)]
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
def _add_help(s) -> ModeHelp:
    """`help add` in this mode, as cmsh gives it (§2.5.3: device mode's own usage and types)."""
    mode = s.path[-1].mode
    if mode.roles is not None:
        return ModeHelp("Roles are not added: assign one, or import one with its values",
                        ["assign <role>", "import [-c <category> | -n <node> | -o <overlay>] <role>"],
                        examples=["assign docker::host", "import -c default docker::host"])
    if mode.indexed:
        return ModeHelp(f"Add an entry to {mode.name} (numbered 0, 1, ...) and use it",
                        ["add " + " ".join(f"<{a}>" for a in mode.add_args)],
                        [(a, _arg_help(mode, a)) for a in mode.add_args],
                        ["add ACCEPT net 10443 tcp fw"] if mode.name == "openports" else [])
    key = mode.key
    what = mode.entity.lower() if len(s.path) == 1 else f"{mode.name} entry"
    extra = " ".join(f"[{a}]" for a in mode.add_args)
    args = [(a, _arg_help(mode, a)) for a in mode.add_args]
    if mode.types:
        usage = [f"add <type> <{key}>"] + ([f"add <type> <{key}> {extra}"] if extra else [])
        first = next(iter(mode.types))
        examples = (["add physicalnode node100 10.141.0.100", "add switch switch01 10.141.0.50"]
                    if mode.name == "device" else [f"add {first} my{first}"])
        return ModeHelp(f"Create a new {what} of the given type with specified {key}", usage,
                        [("type", ", ".join(mode.types))] + args, examples)
    usage = [f"add <{key}>"] + ([f"add <{key}> {extra}"] if extra else [])
    return ModeHelp(f"Create a new {what} with specified {key}, and use it", usage, args,
                    [f"add new-{mode.name}"])


def _arg_help(mode, name: str) -> str:
    p = mode.base.param(name)
    text = (p.help if p is not None else "") or name
    if name == "ip" and mode.base.param("network") is not None:
        text += "; the device joins the network whose range holds it"
    return text


@command("add", "Add a new object", usage=["add <name>", "add <type> <name> [<arguments>]"],
         examples=["add amd", "add physicalnode node100 10.141.0.100", "add overlay2 mylargebackend",
                   "add ACCEPT net 10443 tcp fw"], args=("type", "new", "addarg*"),
         moves=lambda view, path, args: navigate.new_object(path), mode_help=_add_help)
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
    if doc.get("type") == "headnode" and len(listpath) == 1 and s.head_node():
        raise CommandError(f"add: {s.head_node()} is the head node; a cluster has one")
    doc[mode.key] = name
    for pname, word in zip(mode.add_args, words):
        doc[pname] = _parse(spec.param(pname), [word])
    if len(listpath) == 1:
        join_network(s, spec, doc)
    _insert(s, listpath, doc)


def join_network(s, spec, doc) -> None:
    """A device added with an IP joins the network whose range holds it (as cmsh does)."""
    p = spec.param("network")
    if p is None or p.target not in s.schema.modes or doc.get("network") or not doc.get("ip"):
        return
    from cmshell.model.addresses import network_of
    name = network_of(str(doc["ip"]), (d for d in s.ws.docs(p.target) if d))
    if name:
        doc["network"] = name


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


def _clone_help(s) -> ModeHelp | None:
    mode = s.path[-1].mode
    if len(s.path) != 1 or mode.base.param("ip") is None:
        return None
    return ModeHelp(f"Clone a {mode.entity.lower()} and use the clone", ["clone <object> <new name>"], [
        ("new name", "the clone gets no MAC, and the next free IP of the original's network: with "
                     "the original's base name, its IP moved by the difference of their numbers "
                     "(node100 at 10.141.0.100 -> node101 at 10.141.0.101), else the next free one")],
        ["clone node100 node101"])


@command("clone", "Clone an object under a new name", usage=["clone <object> <new name>"],
         examples=["clone node001 node100", "clone default gpu-nodes"], args=("object", "new"),
         moves=lambda view, path, args: navigate.new_object(path), mode_help=_clone_help)
def clone(s, args):
    lvl = s.path[-1]
    if len(args) != 2:
        raise CommandError("Usage: clone <object> <new name>")
    if lvl.mode.indexed or lvl.mode.roles is not None:
        raise CommandError(f"{lvl.mode.name} entries cannot be cloned")
    listpath = s.path[:-1] + [lvl.select(None)]
    src = s.element(sibling(s, args[0]))
    _check_new_name(s, listpath, args[1])
    if len(listpath) == 1:            # a device: cleared MAC, the next free IP of its network
        ip = clone_addresses(s, lvl.mode, src, [args[1]]).get(args[1])
        doc = clone_doc(lvl.mode, src, args[1], ip)
    else:
        doc = copy.deepcopy(src)
        doc[lvl.mode.key] = args[1]
    _insert(s, listpath, doc)


@command("remove", "Remove objects", usage=["remove <object> [<object> ...]"],
         examples=["remove node100", "remove 0"], args=("object*",))
def remove(s, args):
    if not args:
        raise CommandError("Usage: remove <object> [<object> ...]")
    paths = [sibling(s, a) for a in names(s, args)]      # node lists: remove node00[5-6]
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


IMPORT_FROM = {"-c": "category", "--category": "category", "-n": "device", "--node": "device",
               "-o": "configurationoverlay", "--overlay": "configurationoverlay"}


@command("import", "Import a role, with its values, from a category, node or overlay", scope="roles",
         usage=["import -c|--category <category> <role>",
                "import -n|--node <node> <role>",
                "import -o|--overlay <overlay> <role>",
                "import <role>             (in a node's roles: the role it inherits)",
                "  assign starts a role from its defaults; import copies one with its values, and the",
                "  copy is the object's own: later changes at the source do not reach it"],
         examples=["import --overlay kube-default-worker kubelet", "import -c default docker::host"],
         args=("role",))
def import_(s, args):
    lvl = s.path[-1]
    listpath = s.path[:-1] + [lvl.select(None)]
    source, words = None, []
    it = iter(args)
    for a in it:
        if a in IMPORT_FROM:
            if source is not None:
                raise CommandError("import: name one source (-c, -n or -o)")
            try:
                source = (IMPORT_FROM[a], next(it))
            except StopIteration:
                raise CommandError(f"import: {a} needs a name") from None
        elif a.startswith("-") and len(a) > 1:
            raise CommandError(f"import: unknown option {a}; 'help import' shows the usage")
        else:
            words.append(a)
    if len(words) != 1:
        raise CommandError("Usage: import [-c <category> | -n <node> | -o <overlay>] <role>")
    roles = lvl.mode.roles
    canon = roles.canonical(words[0])
    if canon is None:
        raise CommandError(f"Unknown role: {words[0]}; roles: {', '.join(roles.names())}")
    if find_row(lvl.mode, s.rows(listpath), canon) is not None:
        raise CommandError(f"Role {canon} is already assigned; 'use {canon}' to change it")
    if source is None:
        row = _inherited_role(s, listpath, canon)
    else:
        row = _role_of(s, lvl.mode, listpath, source, canon)
    s.element(listpath[:-1], editable=True).setdefault(lvl.param, []).append(copy.deepcopy(row))


def _role_of(s, roles_mode, listpath, source, canon) -> dict:
    mode_name, name = source
    if mode_name not in s.schema.modes:
        raise CommandError(f"import: there is no {mode_name} mode")
    mode = s.schema.mode(mode_name)
    rid = s.lookup(mode, name)
    if listpath[0].mode.name == mode_name and listpath[0].key == rid:
        raise CommandError(f"import: {name} is the object the role would be imported into")
    doc = s.ws.doc(mode_name, rid) or {}
    param = next((p for p in mode.spec(doc).params if p.is_submode and p.mode == roles_mode.name), None)
    row = find_row(roles_mode, doc.get(param.name) or [], canon) if param is not None else None
    if row is None:
        raise CommandError(f"{mode.entity} {s.ws.name_of(mode_name, rid)} has no role {canon}")
    return row


def _inherited_role(s, listpath, canon) -> dict:
    from cmshell.model import inherit
    from cmshell.shell.target import effective_roles, roles_param
    if roles_param(s, listpath) is not None:
        for _, e in inherit.inherited_entries(effective_roles(s, listpath)):
            if e.name.lower() == canon.lower():
                return e.doc
        node = s.ws.name_of(listpath[0].mode.name, listpath[0].key)
        raise CommandError(f"import: {node} inherits no role {canon}; name the source with -c, -n or -o")
    raise CommandError("import: name the source: -c <category>, -n <node> or -o <overlay>")
