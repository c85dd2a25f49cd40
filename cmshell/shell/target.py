"""Which object a command works on: the selected one, or one named as the first argument."""
from __future__ import annotations

from cmshell.model import values
from cmshell.model.schema import Param, Spec
from cmshell.shell.location import Level, find_row, row_key
from cmshell.shell.session import CommandError


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
        raise CommandError(f"No {lvl.mode.name} entry named {name}")
    return s.path[:-1] + [lvl.select(row_key(lvl.mode, row))]


def spec_of(s, path) -> Spec:
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


def inherited(s, path, p: Param, doc: dict):
    """(value, source) of a value the object inherits, e.g. ('default-image', 'category:default')."""
    if not p.inherit or len(path) != 1:
        return None
    spec = spec_of(s, path)
    ptr = spec.param(p.inherit)
    holder = doc.get(p.inherit)
    if ptr is None or not holder or not ptr.target:
        return None
    rid = s.ws.find(ptr.target, str(holder))
    if rid is None:
        return None
    tdoc = s.ws.doc(ptr.target, rid) or {}
    v = tdoc.get(p.name)
    if v in (None, "", []):
        return None
    return v, f"{p.inherit}:{holder}"


def display(s, path, p: Param, doc: dict, *, annotate: bool = True) -> str:
    """A value as `show`/`list` print it, with the inherited source when annotated."""
    if p.name == "type":
        mode = path[-1].mode
        if mode.roles is not None:
            return spec_of(s, path).type_label
        t = doc.get("type", "")
        return mode.type_labels.get(t, t)
    if p.is_submode and p.list_render == "names":     # list and show (S:1976, S:6254)
        sub = s.schema.mode(p.mode)
        return ", ".join(str(r.get(sub.key, "")) for r in doc.get(p.name) or [])
    v = raw(doc, p)
    if v in ("", [], None):
        inh = inherited(s, path, p, doc)
        if inh:
            text = values.show(p, inh[0])
            return f"{text} ({inh[1]})" if annotate else text
    return values.show(p, v)
