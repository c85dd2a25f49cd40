"""Field-level differences between two versions of an object document (pure, schema-aware).

`object_diff(schema, mode, before, after)` → lines such as::

    --- device node001 (committed)
    +++ device node001 (candidate)
    - Notes
    + Notes  rack 4
    + roles[Docker::Host] (added)
    + roles[Docker::Host].iptables  no
    - roles[firewall].openports[1] (removed)
    - roles[firewall].openports[1].port  10443
    - services[sshd].autostart  yes
    + services[sshd].autostart  no

Top-level parameters carry their label (as `show` prints it); parameters of submode entries
carry their path: submode name, entry key in brackets (the name, or the index of index-keyed
submodes), parameter name. Added and removed top-level objects are one line
(`+ device node100 (added)`, `- device node006 (removed)`) unless `verbose`.

Documents may be normalised (rows of index-keyed submodes carry `index`) or as stored (rows
are numbered by position); both give the same keys.
"""
from __future__ import annotations

import json

from cmshell.model import values
from cmshell.model.values import Value
from cmshell.model.schema import Mode, Param, Schema

_SKIP = ("index",)


def object_diff(schema: Schema, mode: Mode, before: dict | None, after: dict | None, *,
                old: str = "committed", new: str = "candidate", verbose: bool = False) -> list[str]:
    """The unified lines of one top-level object ([] when nothing differs)."""
    if before is None:
        if after is None:
            return []
        head = [f"+ {mode.name} {_name(mode, after)} (added)"]
        return head + (_fields("+", schema, mode, after, "") if verbose else [])
    if after is None:
        head = [f"- {mode.name} {_name(mode, before)} (removed)"]
        return head + (_fields("-", schema, mode, before, "") if verbose else [])
    body = field_lines(schema, mode, before, after)
    if not body:
        return []
    return [f"--- {mode.name} {_name(mode, before)} ({old})",
            f"+++ {mode.name} {_name(mode, after)} ({new})"] + body


def field_lines(schema: Schema, mode: Mode, before: dict, after: dict, prefix: str = "") -> list[str]:
    """`- label  old` / `+ label  new` for every parameter that differs, submodes included."""
    out: list[str] = []
    for p in _params(mode, before, after):
        if p.is_submode:
            out += _rows_diff(schema, p, before.get(p.name) or [], after.get(p.name) or [], prefix)
            continue
        vb, va = before.get(p.name), after.get(p.name)
        if _same(p, vb, va):
            continue
        label = _path(prefix, p.name) if prefix else p.label
        tb, ta = _show(p, vb, mode), _show(p, va, mode)
        if tb == ta:      # same text, different stored values: say which side is which
            if vb is None:
                tb += " (default)"
            elif va is None:
                ta += " (default)"
            else:
                ta += " (changed)"
        out.append(_line("-", label, tb))
        out.append(_line("+", label, ta))
    eb, ea = before.get("extra") or {}, after.get("extra") or {}
    for k in sorted(set(eb) | set(ea)):
        if eb.get(k) != ea.get(k):
            label = _path(prefix, k) if prefix else k
            if k in eb:
                out.append(_line("-", label, str(eb[k])))
            if k in ea:
                out.append(_line("+", label, str(ea[k])))
    known = {p.name for p in _params(mode, before, after)} | {"extra", *_SKIP}
    for k in sorted((set(before) | set(after)) - known):     # fields the schema does not know
        if before.get(k) != after.get(k):
            label = _path(prefix, k)
            if k in before:
                out.append(_line("-", label, _raw(before[k])))
            if k in after:
                out.append(_line("+", label, _raw(after[k])))
    return out


# -- helpers -----------------------------------------------------------------------------------
def _params(mode: Mode, before: dict | None, after: dict | None) -> list[Param]:
    """The parameters of both versions, in the schema's order (a type change keeps both)."""
    seen: dict[str, Param] = {}
    for doc in (after, before):
        for p in mode.spec(doc).params:
            seen.setdefault(p.name, p)
    return list(seen.values())


def _rows_diff(schema: Schema, p: Param, rows_b: list, rows_a: list, prefix: str) -> list[str]:
    sub = schema.modes.get(p.mode or "")
    if sub is None:
        if rows_b == rows_a:
            return []
        return [_line("-", _path(prefix, p.name), _raw(rows_b)), _line("+", _path(prefix, p.name), _raw(rows_a))]
    kb = _keyed(sub, rows_b)
    ka = _keyed(sub, rows_a)
    keys = list(kb) + [k for k in ka if k not in kb]
    if sub.indexed:
        keys.sort(key=lambda k: (not isinstance(k, int), k if isinstance(k, int) else 0, str(k)))
    out: list[str] = []
    for k in keys:
        path = f"{_path(prefix, p.name)}[{k}]"
        rb, ra = kb.get(k), ka.get(k)
        if rb is not None and ra is not None:
            out += field_lines(schema, sub, rb, ra, path)
        elif ra is not None:
            out.append(f"+ {path} (added)")
            out += _fields("+", schema, sub, ra, path)
        elif rb is not None:
            out.append(f"- {path} (removed)")
            out += _fields("-", schema, sub, rb, path)
    return out


def _keyed(mode: Mode, rows: list) -> dict[int | str, dict]:
    out: dict[int | str, dict] = {}
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            continue
        k = row.get("index", i) if mode.indexed else str(row.get(mode.key, ""))
        out.setdefault(k, row)
    return out


def _fields(sign: str, schema: Schema, mode: Mode, doc: dict, prefix: str) -> list[str]:
    """The values an added (or removed) object or entry carries, one line each."""
    out: list[str] = []
    for p in mode.spec(doc).params:
        v = doc.get(p.name)
        if p.is_submode:
            sub = schema.modes.get(p.mode or "")
            if sub is None or not v:
                continue
            for k, row in _keyed(sub, v).items():
                path = f"{_path(prefix, p.name)}[{k}]"
                out.append(f"{sign} {path} ({'added' if sign == '+' else 'removed'})")
                out += _fields(sign, schema, sub, row, path)
            continue
        if (p.name == mode.key and not mode.indexed and prefix) or _same(p, None, v):
            continue
        out.append(_line(sign, _path(prefix, p.name) if prefix else p.label, _show(p, v, mode)))
    for k, v in sorted((doc.get("extra") or {}).items()):
        out.append(_line(sign, _path(prefix, k) if prefix else k, str(v)))
    return out


def _same(p: Param, vb: Value, va: Value) -> bool:
    if vb == va:
        return True
    empty = values.empty(p)
    if p.default is None or not empty:     # unset and an empty value are one state for these
        return (empty if vb is None else vb) == (empty if va is None else va)
    return False                           # unset vs an explicit `AUTO`: inheritance differs


def _show(p: Param, v: Value, mode: Mode | None = None) -> str:
    if p.name == "type" and mode is not None and v in mode.type_labels:
        return mode.type_labels[v]          # as `show` prints it: PhysicalNode
    return values.show(p, values.empty(p) if v is None else v)


def _raw(v: Value) -> str:
    return v if isinstance(v, str) else json.dumps(v, sort_keys=True)


def _path(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _name(mode: Mode, doc: dict) -> str:
    return str(doc.get(mode.key, ""))


def _line(sign: str, label: str, text: str) -> str:
    return f"{sign} {label}  {text}".rstrip()
