"""Validation of candidate objects before commit: required values and pointers that resolve."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from cmshell.model import names
from cmshell.model.schema import Mode, Schema, Spec
from cmshell.model.values import SYNTAXES, problem as value_problem

REQUIRED, NO_TARGET, IN_USE, DUPLICATE = 1, 2, 3, 4


@dataclass(frozen=True)
class Problem:
    code: int
    field: str
    message: str


INVALID = 5         # a value the parameter cannot hold (not UTF-8, a bad address, a bad name)


def check(schema: Schema, mode: Mode, doc: dict, exists: Callable[[str, str], bool],
          targets: set[tuple[str, str]] | None = None) -> list[Problem]:
    """Problems of one object and everything below it. `exists(mode, name)` sees the candidate.
    `targets`, when given, receives (mode, name) of everything the object points at."""
    out: list[Problem] = []
    _check(schema, mode, doc, exists, out, "", targets)
    if not _ascii(doc) and "\\ud" in repr(doc):   # fast looks first: repr escapes lone surrogates (\udcff)
        _text(doc, "", out)
    return out


def _ascii(doc: dict) -> bool:
    """Whether the keys and values of a flat document of strings are all ASCII (then it holds no
    lone surrogate); False for anything else (a value that is no string: repr looks)."""
    try:
        return "".join(doc).isascii() and "".join(doc.values()).isascii()
    except TypeError:
        return False


def _text(value: object, field: str, out: list[Problem]) -> None:
    """Every string of the document (keys too) must be UTF-8 text: undecodable input that
    slipped past the shell (a YAML `\\udcff` escape) is refused, never stored."""
    from cmshell.syntax.text import not_utf8, printable
    if isinstance(value, str):
        bad = not_utf8(value)
        if bad is not None:
            out.append(Problem(INVALID, field or "value", f"{printable(value)!r}: {bad}"))
    elif isinstance(value, dict):
        for k, v in value.items():
            name = str(k)
            if not_utf8(name) is not None:
                _text(name, field + "." + printable(name) if field else printable(name), out)
            _text(v, f"{field}.{printable(name)}" if field else printable(name), out)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _text(v, f"{field}[{i}]", out)


def _check(schema: Schema, mode: Mode, doc: dict, exists: Callable[[str, str], bool], out: list[Problem],
           prefix: str, targets: set[tuple[str, str]] | None = None) -> None:
    spec = mode.spec(doc)
    if not mode.indexed:
        bad = names.problem(doc.get(mode.key, ""))
        if bad is not None and doc.get(mode.key) not in (None, ""):     # empty: REQUIRED says it
            out.append(Problem(INVALID, prefix + mode.key,
                               f"The name {names.shown(doc.get(mode.key))} {bad}"))
    extra = doc.get("extra")
    for k in extra if extra and isinstance(extra, dict) else ():
        bad = names.problem(k)
        if bad is not None:
            out.append(Problem(INVALID, f"{prefix}extra", f"The name {names.shown(k)} {bad}"))
    for p, required, typed, test, target, sub in _plan(spec):
        v = doc.get(p.name)
        if v is None:
            if required:
                out.append(Problem(REQUIRED, prefix + p.name, f"The {p.label.lower()} should be set"))
            continue
        if required and v in ("", []):
            out.append(Problem(REQUIRED, prefix + p.name, f"The {p.label.lower()} should be set"))
        if typed:
            # a string checked by its syntax's test at once; value_problem says what is wrong
            # (and checks everything else: integers, lists)
            bad = value_problem(p, v) if test is None or v.__class__ is not str or (v and not test(v)) \
                else None
            if bad is not None:
                out.append(Problem(INVALID, prefix + p.name, f"Invalid value for {p.name}: {bad}"))
        if target and v:
            if v.__class__ is str:          # one pointer (the common case): as the loop below
                if targets is not None:
                    targets.add((target, v))
                if not exists(target, v):
                    out.append(Problem(NO_TARGET, prefix + p.name, f"{target} {v} does not exist"))
            else:
                for name in (v if isinstance(v, list) else [v]):
                    if targets is not None:
                        targets.add((target, str(name)))
                    if not exists(target, str(name)):
                        out.append(Problem(NO_TARGET, prefix + p.name, f"{target} {name} does not exist"))
        if sub and v and p.mode in schema.modes:
            field = prefix + p.name
            sub_mode = schema.mode(p.mode)
            _unique_rows(sub_mode, v, field, out)
            for row in v:
                key = row.get("index") if sub_mode.indexed else row.get(sub_mode.key, "")
                _check(schema, sub_mode, row, exists, out, f"{prefix}{p.name}[{key}].", targets)


def _plan(spec: Spec) -> list[tuple]:
    """What _check looks at in each parameter of `spec.checked`, worked out once per Spec (and
    kept on it): (param, required and not read-only, value checked, a string's syntax test or
    None (see values.problem), pointer target, submode)."""
    got = spec.__dict__.get("_check_plan")
    if got is None:
        got = spec.__dict__["_check_plan"] = []
        for p in spec.checked:
            typed = bool(p.syntax or p.min is not None or p.max is not None)
            rule = SYNTAXES.get(p.syntax or "") if p.type not in ("list", "submode", "integer") else None
            got.append((p, p.required and not p.readonly, typed, rule[0] if rule else None,
                        p.target, p.is_submode))
    return got


def targets(schema: Schema, mode: Mode, doc: dict) -> set[tuple[str, str]]:
    """(mode, name) of every object `doc` (and everything below it) points at."""
    out: set[tuple[str, str]] = set()
    _targets(schema, mode, doc, out)
    return out


def _targets(schema: Schema, mode: Mode, doc: dict, out: set[tuple[str, str]]) -> None:
    for p in mode.spec(doc).params:
        v = doc.get(p.name)
        if not v:
            continue
        if p.target:
            for name in (v if isinstance(v, list) else [v]):
                out.add((p.target, str(name)))
        elif p.is_submode and isinstance(v, list) and p.mode in schema.modes:
            sub = schema.mode(p.mode)
            for row in v:
                if isinstance(row, dict):
                    _targets(schema, sub, row, out)


class References:
    """The schema's pointers, for the store's check inside a commit (store/base.References)."""

    def __init__(self, schema: Schema):
        self.schema = schema
        self._modes: dict[str, list[str]] = {}

    def referrer_modes(self, mode: str) -> list[str]:
        got = self._modes.get(mode)
        if got is None:
            got = self._modes[mode] = pointer_modes(self.schema, mode)
        return got

    def refers(self, referrer_mode: str, doc: dict, mode: str, name: str) -> bool:
        m = self.schema.modes.get(referrer_mode)
        return m is not None and bool(references(self.schema, m, doc, mode, name))


def _unique_rows(sub: Mode, rows: list, field: str, out: list[Problem]) -> None:
    """Entries of a named submode are unique by name (in any case); a node has at most one
    role of each type (a role met under two of its names, `etcdhost` and `Etcd::Host`)."""
    if sub.indexed:
        return
    seen: dict[str, str] = {}
    for row in rows:
        name = str(row.get(sub.key, ""))
        key = name.lower()
        if sub.roles is not None:
            role = sub.roles.find(name)
            if role is not None and not role.generic:
                key = "\0role:" + role.name.lower()
        if key in seen:
            what = "role" if sub.roles is not None else "entry"
            other = f" (as {seen[key]})" if seen[key] != name else ""
            out.append(Problem(INVALID, f"{field}[{name}]",
                               f"The {what} {name} is there twice{other}"))
        else:
            seen[key] = name


def references(schema: Schema, mode: Mode, doc: dict, target: str, name: str) -> list[str]:
    """Parameters of `doc` (and below) that point at object `name` of mode `target`."""
    out: list[str] = []
    _refs(schema, mode, doc, target, name, out, "")
    return out


def _refs(schema: Schema, mode: Mode, doc: dict, target: str, name: str, out: list[str], prefix: str) -> None:
    for p in mode.spec(doc).params:
        v = doc.get(p.name)
        if not v:
            continue
        if p.target == target and (v == name or (isinstance(v, list) and name in v)):
            out.append(prefix + p.name)
        elif p.is_submode and p.mode in schema.modes:
            sub = schema.mode(p.mode)
            for row in v:
                key = row.get("index") if sub.indexed else row.get(sub.key, "")
                _refs(schema, sub, row, target, name, out, f"{prefix}{p.name}[{key}].")


def pointer_modes(schema: Schema, target: str) -> list[str]:
    """Top-level modes whose objects (or their elements) may point at mode `target`."""
    out = []
    for m in schema.modes.values():
        if m.top and _points(schema, m, target, set()):
            out.append(m.name)
    return out


def _points(schema: Schema, mode: Mode, target: str, seen: set[str]) -> bool:
    if mode.name in seen:
        return False
    seen.add(mode.name)
    specs = [mode.base, *mode.types.values()]
    if mode.roles is not None:
        specs += [r.spec(mode.params) for r in mode.roles.roles]
    for spec in specs:
        for p in spec.params:
            if p.target == target:
                return True
            if p.is_submode and p.mode in schema.modes and _points(schema, schema.mode(p.mode), target, seen):
                return True
    return False
