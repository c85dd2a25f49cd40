"""Validation of candidate objects before commit: required values and pointers that resolve."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from cmshell.model.schema import Mode, Schema

REQUIRED, NO_TARGET, IN_USE = 1, 2, 3


@dataclass(frozen=True)
class Problem:
    code: int
    field: str
    message: str


def check(schema: Schema, mode: Mode, doc: dict, exists: Callable[[str, str], bool]) -> list[Problem]:
    """Problems of one object and everything below it. `exists(mode, name)` sees the candidate."""
    out: list[Problem] = []
    _check(schema, mode, doc, exists, out, prefix="")
    return out


def _check(schema, mode, doc, exists, out, prefix):
    spec = mode.spec(doc)
    for p in spec.checked:
        v = doc.get(p.name)
        if p.required and v in (None, "", []) and not p.readonly:
            out.append(Problem(REQUIRED, prefix + p.name, f"The {p.label.lower()} should be set"))
        if p.target and v:
            for name in (v if isinstance(v, list) else [v]):
                if not exists(p.target, str(name)):
                    out.append(Problem(NO_TARGET, prefix + p.name, f"{p.target} {name} does not exist"))
        if p.is_submode and v and p.mode in schema.modes:
            sub = schema.mode(p.mode)
            for row in v:
                key = row.get("index") if sub.indexed else row.get(sub.key, "")
                _check(schema, sub, row, exists, out, f"{prefix}{p.name}[{key}].")


def references(schema: Schema, mode: Mode, doc: dict, target: str, name: str) -> list[str]:
    """Parameters of `doc` (and below) that point at object `name` of mode `target`."""
    out: list[str] = []
    _refs(schema, mode, doc, target, name, out, "")
    return out


def _refs(schema, mode, doc, target, name, out, prefix):
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


def _points(schema, mode, target, seen) -> bool:
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
