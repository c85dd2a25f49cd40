"""Secrets: values of parameters of type `secret` (Kubernetes keys) and of environment rows
named like passwords (Harbor's `db_password` …, see `secret_rows` in modes/environments.yaml).

`show`, `list`, `get` and diffs print them as `*****` (values.show); here: masking whole
documents (`--dump` without `--with-secrets`), finding masked values (`--load` refuses them),
collecting the values (events are scrubbed of them) and masking a typed line before it goes
to the history file.
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

    def hide(field, value):
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
    out = set()
    for m in schema.modes.values():
        specs = [m.base, *m.types.values()]
        if m.roles is not None:
            specs += [r.spec(m.params) for r in m.roles.roles]
        out.update(p.name.lower() for spec in specs for p in spec.params if p.type == "secret")
    return out


def history_line(session, line: str) -> str:
    """The line as the history file keeps it: the value words of a `set` (or `append`) of a
    secret are `*****` — wherever the `set` stands (after `;`, inside `foreach … ( … )`). A
    secret parameter is one of that name anywhere in the schema, or the value of a secret
    environment row — the row named in the command or the one selected."""
    from cmshell.commands.scripting import quote
    from cmshell.syntax.line import LineError, split
    try:
        commands = split(line)
    except LineError:
        return line
    secret = secret_words(session.schema)
    out, changed = [], False
    for cmd in commands:
        w = list(cmd.words)
        hidden = False
        i = 0
        while cmd.shell is None and i < len(w):
            if w[i].lower() in ("set", "append"):
                at = _secret_at(session, w[i:i + 3], secret)
                if at is not None:
                    j = i + at + 1
                    end = j
                    while end < len(w) and w[end] not in (")", ";"):
                        end += 1
                    if end > j:
                        w[j:end] = [MASK]
                        hidden = True
            i += 1
        if not hidden:
            out.append(cmd.text)
            continue
        text = " ".join(x if x in ("(", ")", ";", MASK) else quote(x) for x in w)
        if cmd.pipe is not None:
            text += " | " + cmd.pipe
        if cmd.redirect is not None:
            text += f" {cmd.redirect[0]} {quote(cmd.redirect[1])}"
        out.append(text)
        changed = True
    return "; ".join(out) if changed else line


def _secret_at(session, words: list[str], secret: set[str]) -> int | None:
    """In `set [object] param value…` (words[0] is `set`): the index of the parameter word
    when it names a secret, else None."""
    for i, w in enumerate(words[1:3], 1):
        if w.lower() in secret:
            return i
    lows = [x.lower() for x in words[1:3]]
    if "value" in lows:
        i = lows.index("value") + 1
        row = words[1] if i == 2 else None          # `set db_password value x`
        lvl = session.path[-1] if session.path else None
        if row is None and lvl is not None and lvl.key is not None:
            row = str(lvl.key)                       # `set value x` inside the row
        mode = lvl.mode if lvl is not None else None
        if row is not None and mode is not None and mode.secret_rows is not None \
                and mode._secret_row({mode.key: row}):
            return i
    return None
