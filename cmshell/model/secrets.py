"""Secrets: values of parameters of type `secret` (Kubernetes keys) and of environment rows
named like passwords (Harbor's `db_password` …, see `secret_rows` in modes/environments.yaml).

`show`, `list`, `get` and diffs print them as `*****` (values.show); here: masking whole
documents (`--dump` without `--with-secrets`), finding masked values (`--load` refuses them),
collecting the values (events are scrubbed of them). Masking a typed line before it goes to
the history file is repl/history.py's `scrub`.
"""
from __future__ import annotations

from typing import Callable, Iterable

from cmshell.model.schema import Mode, Schema

MASK = "*****"


def _walk(schema: Schema, mode: Mode, doc: dict, fn: Callable[[str, object], object], prefix: str) -> dict:
    """A copy of `doc` with every set secret value replaced by fn(field, value)."""
    out = dict(doc)
    for p in mode.spec(doc).params:
        v = doc.get(p.name)
        if p.type == "secret" and v not in (None, ""):
            out[p.name] = fn(prefix + p.name, v)
        elif p.is_submode and isinstance(v, list) and p.mode in schema.modes:
            sub = schema.mode(p.mode)
            rows = []
            for row in v:
                if isinstance(row, dict):
                    key = row.get("index") if sub.indexed else row.get(sub.key, "")
                    row = _walk(schema, sub, row, fn, f"{prefix}{p.name}[{key}].")
                rows.append(row)
            out[p.name] = rows
    return out


def masked(schema: Schema, mode: Mode, doc: dict) -> tuple[dict, int]:
    """The document with its secrets as `*****`, and how many there were."""
    n = 0

    def hide(field: str, value: object) -> str:
        nonlocal n
        n += 1
        return MASK
    return _walk(schema, mode, doc, hide, ""), n


def masked_fields(schema: Schema, mode: Mode, doc: dict) -> list[str]:
    """The fields of `doc` whose secret is `*****`: a dump made without --with-secrets."""
    out: list[str] = []
    _walk(schema, mode, doc, lambda field, value: out.append(field) if value == MASK else None, "")
    return out


def values(schema: Schema, docs: Iterable[tuple[str, dict]]) -> set[str]:
    """Every secret value of the documents [(mode, doc)]."""
    out: set[str] = set()
    for mode_name, doc in docs:
        if doc is not None and mode_name in schema.modes:
            _walk(schema, schema.mode(mode_name), doc, lambda f, v: out.add(str(v)), "")
    return out


def holding_modes(schema: Schema) -> list[str]:
    """Top-level modes whose objects may hold secrets (in a parameter or a row below)."""
    def holds(mode: Mode, seen: set) -> bool:
        if mode.name in seen:
            return False
        seen.add(mode.name)
        if mode.secret_rows is not None:
            return True
        specs = [mode.base, *mode.types.values()]
        if mode.roles is not None:
            specs += [r.spec(mode.params) for r in mode.roles.roles]
        return any(p.type == "secret" or (p.is_submode and p.mode in schema.modes
                                          and holds(schema.mode(p.mode), seen))
                   for spec in specs for p in spec.params)
    return [m.name for m in schema.top_modes() if holds(m, set())]


def redact(text: str, secrets: Iterable[str]) -> str:
    """`text` with every secret in it (of 4 characters or more) written as `*****`."""
    for value in sorted(secrets, key=len, reverse=True):
        if len(value) >= 4 and value in text:
            text = text.replace(value, MASK)
    return text


def secret_words(schema: Schema) -> set[str]:
    """Names of the parameters that hold secrets anywhere (lower case)."""
    out: set[str] = set()
    for m in schema.modes.values():
        specs = [m.base, *m.types.values()]
        if m.roles is not None:
            specs += [r.spec(m.params) for r in m.roles.roles]
        out.update(p.name.lower() for spec in specs for p in spec.params if p.type == "secret")
    return out
