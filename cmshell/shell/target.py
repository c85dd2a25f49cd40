"""Which object a command works on: the selected one, or one named as the first argument."""
from __future__ import annotations

from cmshell.model import inherit, values
from cmshell.model.effective import Effective
from cmshell.model.effective import own_layer as effective_own_layer
from cmshell.model.schema import Param, Spec
from cmshell.shell.location import Level, find_row, row_key
from cmshell.errors import CommandError


def split_target(s, args: list[str], *, need_more: int = 0) -> tuple[list[Level], list[str]]:
    """At a list level the first argument names the object; at an object it is the object."""
    if not s.path:
        raise CommandError("Enter a mode first (e.g. 'device')")
    lvl = s.path[-1]
    if lvl.key is not None:
        return s.path, args
    if not args:
        raise CommandError("No object selected: name one, or 'use <object>' first")
    return sibling(s, args[0]), args[1:]


def sibling(s, name: str) -> list[Level]:
    """The path to object `name` at the current list level (or next to the selected one)."""
    lvl = s.path[-1]
    if len(s.path) == 1:
        return [lvl.select(s.lookup(lvl.mode, name))]
    row = find_row(lvl.mode, s.rows(), name)
    if row is None:
        raise CommandError(inherited_role_hint(s, s.path, name) or f"No {lvl.mode.name} entry named {name}")
    return s.path[:-1] + [lvl.select(row_key(lvl.mode, row))]


def spec_of(s, path) -> Spec:
    top = path[0]
    if len(path) == 1 and top.key is not None:          # once per `list` row: the short way
        return top.mode.spec(s.ws.doc(top.mode.name, top.key))
    return path[-1].mode.spec(s.element(path))


def param_of(s, path, name: str) -> Param:
    spec = spec_of(s, path)
    p = spec.param(name)
    if p is None:
        what = path[-1].mode.name
        raise CommandError(f"Unknown parameter '{name}' in {what}; 'show' lists the parameters")
    return p


def raw(doc: dict, p: Param):
    v = doc.get(p.name)
    return values.empty(p) if v is None else v


# -- inheritance (device <- configuration overlays <- category; model/effective.py) -----------
def effective_of(s) -> Effective:
    """The effective configuration over the session's candidate, one per command (Session.memo is
    cleared by every execute): categories and overlays are looked up once, not once per row."""
    memo = s.memo
    eff = memo.get("effective")
    if eff is None:
        eff = memo["effective"] = Effective(s.schema, s.ws)
    return eff


def own_layer(path) -> inherit.Layer:
    return effective_own_layer(path[0].mode)


def parent_of(s, path, p: Param, doc: dict) -> inherit.Parent | None:
    """The object `p` inherits from (e.g. the node's category), or None."""
    if len(path) != 1:
        return None
    return effective_of(s).parent(path[0].mode, p, doc)


def effective(s, path, p: Param, doc: dict) -> inherit.Resolved:
    """The value of `p` on the object at `path` with the layer it comes from."""
    return inherit.resolve(p, doc, own_layer(path), parent_of(s, path, p, doc))


def inherited(s, path, p: Param, doc: dict):
    """(value, source) of a value the object inherits, e.g. ('default-image', 'category:default');
    None when the object's own value (or the default) applies."""
    if not p.inherit:
        return None
    r = effective(s, path, p, doc)
    return (r.value, str(r.layer)) if r.inherited else None


def count_of(s, path, p: Param, doc: dict) -> int:
    """A computed count (`count: device.category`): the objects of that mode whose field names
    this object, in the candidate (a category's Nodes)."""
    mode_name, _, field = str(p.count).partition(".")
    memo = s.memo.setdefault(("count", p.count), None)
    if memo is None:
        memo = {}
        for d in s.ws.docs(mode_name) if mode_name in s.schema.modes else ():
            if d and d.get(field):
                memo[str(d[field])] = memo.get(str(d[field]), 0) + 1
        s.memo[("count", p.count)] = memo
    return memo.get(str(doc.get(path[-1].mode.key, "")), 0)


def get_lines(s, path, p: Param, doc: dict) -> list[str]:
    """`get` of a parameter: an inherited value carries its source, `default-image
    (category:default)`, on the (last) line; lists print one element a line."""
    if p.count:
        return [str(count_of(s, path, p, doc))]
    if p.name == "type":
        return [display(s, path, p, doc)]
    if not p.inherit:
        return values.get_lines(p, raw(doc, p))
    r = effective(s, path, p, doc)
    lines = values.get_lines(p, r.value)
    if r.inherited:
        lines = (lines or [""])
        lines[-1] = f"{lines[-1]} ({r.layer})"
    return lines


def display(s, path, p: Param, doc: dict, *, annotate: bool = True) -> str:
    """A value as `show`/`list` print it, with the inherited source when annotated."""
    if p.count:
        return str(count_of(s, path, p, doc))
    if p.name == "type":
        mode = path[-1].mode
        if mode.roles is not None:
            return mode.spec(doc).type_label
        t = doc.get("type", "")
        return mode.type_labels.get(t, t)
    if p.is_submode and p.list_render == "names":     # list and show (S:1976, S:6254)
        sub = s.schema.mode(p.mode)
        return ", ".join(str(r.get(sub.key, "")) for r in doc.get(p.name) or [])
    if p.inherit and len(path) == 1 and not p.is_submode:
        v = doc.get(p.name)
        if v is not None and v != "" and v != [] and p.type != "boolean":
            return values.show(p, v)                  # the node's own value: no look-up
        if not annotate:                              # `list`: the value alone, no provenance
            return values.show(p, inherit.value(p, doc, parent_of(s, path, p, doc)))
        r = effective(s, path, p, doc)
        text = values.show(p, r.value)
        return f"{text} ({r.layer})" if annotate and r.inherited else text
    return values.show(p, raw(doc, p))


# -- roles a node inherits (its category's, its configuration overlays') ----------------------
OVERLAY_MODE = "configurationoverlay"


def roles_param(s, path) -> Param | None:
    """The `roles` submode parameter of the top-level object at path[0] when it inherits roles
    (`inherit: category` on device `roles`), else None."""
    top = path[0]
    if top.key is None or len(path) < 2:
        return None
    doc = s.ws.doc(top.mode.name, top.key)
    if doc is None:
        return None
    p = top.mode.spec(doc).param(path[1].param or "")
    if p is None or not p.is_submode or not p.inherit or path[1].mode.roles is None:
        return None
    return p


def effective_roles(s, path, p: Param | None = None) -> list[inherit.EffectiveRole]:
    """Every role of the top-level object at path[0], each with the source that wins."""
    top = path[0]
    return effective_of(s).roles(top.mode, s.ws.doc(top.mode.name, top.key) or {}, p)


def inherited_role_rows(s, cols) -> list[list[str]]:
    """Rows a node's `roles` list adds for its inherited roles: the key column reads
    `[category:default] Docker::Host` / `[overlay:kube-default-worker] kubelet`."""
    path = s.path
    if len(path) != 2:
        return []
    p = roles_param(s, path)
    if p is None:
        return []
    mode = path[-1].mode
    rows = []
    for text, e in inherit.inherited_entries(effective_roles(s, path, p)):
        spec = mode.spec(e.doc)
        cells = []
        for c in cols:
            q = spec.param(c.field)
            if c.field == mode.key:
                cells.append(text)
            elif q is None:
                cells.append("")
            elif q.name == "type":
                cells.append(spec.type_label)
            elif q.is_submode and q.list_render == "names":
                sub = s.schema.mode(q.mode)
                cells.append(", ".join(str(r.get(sub.key, "")) for r in e.doc.get(q.name) or []))
            else:
                cells.append(values.show(q, raw(e.doc, q)))
        rows.append(cells)
    return rows


def inherited_role_hint(s, listpath, name: str) -> str | None:
    """Why `use`/`show`/`unassign NAME` finds no role of the node's own, when NAME is one it
    inherits: where to change it instead (one line)."""
    if len(listpath) != 2 or roles_param(s, listpath) is None:
        return None
    mode = listpath[-1].mode
    text = str(name).strip()
    canon = (mode.roles.canonical(text) or text).lower()
    for label, e in inherit.inherited_entries(effective_roles(s, listpath)):
        if e.name.lower() == canon or label.lower() == text.lower():
            node = s.ws.name_of(listpath[0].mode.name, listpath[0].key)
            where = (f"{e.layer.kind} use {e.layer.name}" if e.layer.kind != "overlay"
                     else f"{OVERLAY_MODE} use {e.layer.name}")
            return (f"{e.name} is inherited from {e.layer}: change it with '{where}; roles; use "
                    f"{e.name}', or 'assign {e.name}' to give {node} its own")
    return None


# -- show --effective ---------------------------------------------------------------------------
def effective_rows(s, path) -> list[list[str]]:
    """[parameter, value, source, overrides] for every parameter of the object at `path`:
    the value in force, the layer it comes from (`node`, `category:default`,
    `overlay:kube-default-worker`, `default`) and what it hides or is OR-ed with."""
    doc = s.element(path) or {}
    spec = path[-1].mode.spec(doc)
    own = own_layer(path)
    rows = [[k, str(v), str(own), ""] for k, v in sorted((doc.get("extra") or {}).items())]
    for p in spec.params:
        if p.list_only:
            continue
        if len(path) == 1 and p.is_submode and p.inherit and path[0].mode.spec(doc).param(p.name) is p:
            rows.extend(_role_rows(s, path, p))
            continue
        if p.name == "type" or p.is_submode or p.type == "internal":
            mine = p.name == "type" or p.name in doc or p.is_submode
            rows.append([p.label, display(s, path, p, doc), str(own if mine else inherit.DEFAULT), ""])
            continue
        r = inherit.resolve(p, doc, own, parent_of(s, path, p, doc))
        note = ""
        if r.overrides:
            note = ", ".join(f"{layer} = {values.show(p, v)}" for layer, v in r.overrides)
        elif r.ored and any(v for _, v in r.ored):
            others = [(layer, v) for layer, v in r.ored if layer != r.layer]
            note = "OR-ed with " + ", ".join(f"{layer} = {values.show(p, v)}" for layer, v in others)
        rows.append([p.label, values.show(p, r.value), str(r.layer), note])
    return rows


def _role_rows(s, path, p: Param) -> list[list[str]]:
    roles = effective_roles(s, path, p)
    if not roles:
        return [[p.label, values.show(p, []), str(own_layer(path)), ""]]
    out = []
    for i, e in enumerate(roles):
        note = ""
        if e.shadowed:      # `priority 510 over overlay:kube-default-worker (500)`
            note = f"priority {e.layer.priority} over " + ", ".join(
                f"{layer} ({layer.priority})" for layer in e.shadowed)
        out.append([p.label if i == 0 else "", e.name, str(e.layer), note])
    return out


def effective_table(s, path) -> list[str]:
    from cmshell.output import table
    return table.simple(["Parameter", "Value", "Source", "Overrides"], [24, 20, 16, 0],
                        effective_rows(s, path))


# -- help <parameter> ---------------------------------------------------------------------------
def _accepts(p: Param) -> str:
    t = p.type
    if t == "boolean":
        return "yes or no"
    if t == "enum":
        return "one of " + ", ".join(c.lower() for c in p.choices if c)
    if t == "integer":
        return "an integer"
    if t == "pointer":
        return f"the name of a {p.target} object"
    if t == "list":
        what = f"names of {p.target} objects" if p.target else "values"
        return f"a list of {what} (set {p.name} a b c, or a,b,c; append; removefrom)"
    if t == "blob":
        return f"text: 'set {p.name} FILE' loads a file, 'set {p.name}' opens an editor"
    if t == "secret":
        return "a secret value (shown as *****)"
    if t == "submode":
        return f"a submode: enter it with '{p.name}'"
    if t == "internal":
        return "managed internally (read-only)"
    return "any text"


def param_help(s, name: str) -> list[str] | None:
    """`help <parameter>`: what the parameter of this level means, what it takes and its
    default (the manual's parameter tables live in the schema's `help:` texts); in the
    `environments` submode of a documented generic role, its variables (tables 3.1, 3.2)."""
    if not s.path:
        return None
    lvl = s.path[-1]
    if lvl.key is not None:
        params = dict(spec_of(s, s.path).by_name)
    else:
        params = lvl.mode.all_params()
        if lvl.mode.roles is not None:
            for r in lvl.mode.roles.roles:
                params.update(r.spec(lvl.mode.params).by_name)
    p = params.get(name.lower())
    if p is not None:
        lines = ["Parameter:", f"{p.name} ({p.label}) - {p.help or p.label}", "", "Value:", _accepts(p)]
        if p.readonly:
            lines[-1] += " (read-only)"
        if p.inherit:
            lines.append(f"inherited from the {p.inherit} when not set here"
                         + (" (OR-ed)" if p.type == "boolean" else ""))
        if p.default not in (None, "", []) and p.type not in ("secret", "submode", "internal"):
            lines.append(f"default: {values.show(p, values.empty(p))}")
        return lines
    # variables of a generic role's environments submode (generic::harbor: port, spool_dir ...)
    for depth in range(len(s.path) - 1, 0, -1):
        if s.path[depth].param == "environments" and s.path[depth - 1].mode.roles is not None:
            role_doc = s.element(s.path[:depth]) or {}
            role = s.path[depth - 1].mode.roles.find(str(role_doc.get("name", "")))
            for v in getattr(role, "environment", ()) or ():
                if v.name == name.lower() or v.label.lower() == name.lower():
                    lines = ["Environment variable:", f"{v.name} ({v.label}) - {v.help}", "",
                             "Value:", f"the value of the row: add {v.name}; set value <value>"]
                    if v.default not in (None, ""):
                        lines.append(f"default: {v.default}")
                    return lines
            break
    return None
