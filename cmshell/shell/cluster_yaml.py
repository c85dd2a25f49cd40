"""Read a cluster file (docs/schema.md) object by object, without building the whole tree.

    for mode, doc in objects(path): ...

A cluster file is a mapping of mode names to lists of objects. Written the usual way (by
`--dump`, fixtures/generate.py, or by hand in block style), each object starts with `- ` in
column 0 under its mode's `name:` line, and most objects are flat (`key: value` lines). Those
are read here line by line, each value resolved by PyYAML's own rules for plain scalars
(`yaml.resolver.Resolver`), so the result is exactly what `yaml.safe_load` gives; any other
object (nested rows, block text, comments, anything unusual) is handed to PyYAML alone. A
file laid out any other way (flow style, anchors across objects, a mode listed twice,
directives ...) raises `Restart`, and the caller reads it whole with `whole()` instead.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

_HEAD = re.compile(r"([A-Za-z_][\w-]*):[ \t]*(\[\]|~|null|Null|NULL)?[ \t]*(?:#.*)?\n?\Z")
_LINE = re.compile(r"(?:- |  )([A-Za-z_][A-Za-z0-9_]*): (.*)\n?\Z")
_FIRST_OK = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./=~^$(+")
STR = "tag:yaml.org,2002:str"


class Restart(Exception):
    """The file is not laid out as this reader expects: read it whole (nothing is lost)."""


class YamlError(Exception):
    """The file is not valid YAML: the message is PyYAML's first line."""


def _yaml():
    import yaml
    return yaml


class _Scalars:
    """PyYAML's resolution and construction of plain scalars, for the flat lines."""

    def __init__(self) -> None:
        yaml = _yaml()
        res = yaml.resolver.Resolver
        wild = res.yaml_implicit_resolvers.get(None, [])
        self.resolvers = {k: v + wild for k, v in res.yaml_implicit_resolvers.items() if k is not None}
        self.wild = wild
        self.seen: dict[str, Any] = {}          # text -> value of the values met so far (some)
        self.ctor = yaml.constructor.SafeConstructor()
        self.node = yaml.nodes.ScalarNode
        self.bools = yaml.constructor.SafeConstructor.bool_values
        self.keys: dict[str, bool] = {}

    def tag(self, value: str) -> str:
        for tag, rx in self.resolvers.get(value[0], self.wild):
            if rx.match(value):
                return tag
        return STR

    def key_ok(self, key: str) -> bool:
        ok = self.keys.get(key)
        if ok is None:
            ok = self.keys[key] = self.tag(key) == STR
        return ok

    def value(self, text: str) -> Any:
        """The value of a flat line's text; raises ValueError when it is not a simple one."""
        c = text[:1]
        if c == "'":
            if len(text) < 2 or text[-1] != "'" or "'" in text[1:-1]:
                raise ValueError
            return text[1:-1]
        if c == '"':
            if len(text) < 2 or text[-1] != '"' or '"' in text[1:-1] or "\\" in text:
                raise ValueError
            return text[1:-1]
        if text == "[]":
            return []
        if text == "{}":
            return {}
        if not (c in _FIRST_OK or (c == "-" and text[1:2] not in ("", " "))) or text[-1] in " \t:" \
                or ": " in text or " #" in text or "\t" in text:
            raise ValueError
        tag = self.tag(text)
        if tag == STR:
            return text
        if tag.endswith(":bool"):
            return self.bools[text.lower()]
        if tag.endswith(":null"):
            return None
        if tag.endswith(":int"):
            return self.ctor.construct_yaml_int(self.node(tag, text))
        if tag.endswith(":float"):
            return self.ctor.construct_yaml_float(self.node(tag, text))
        raise ValueError                    # timestamps, merge keys ...: PyYAML reads the object


_MISS = object()


def _flat(lines: list[str], sc: _Scalars) -> dict | None:
    """The object of flat `key: value` lines, or None when they are not all flat."""
    doc: dict = {}
    match, keys, seen = _LINE.match, sc.keys, sc.seen
    for line in lines:
        m = match(line)
        if m is None:
            return None
        key, text = m.groups()
        if not (keys.get(key) or sc.key_ok(key)):
            return None
        v = seen.get(text, _MISS)
        if v is _MISS:
            try:
                v = sc.value(text)
            except ValueError:
                return None
            if len(seen) < 4096 and (v is None or type(v) in (str, bool, int, float)):
                seen[text] = v
        doc[key] = v
    return doc


def objects(path: str) -> Iterator[tuple[str, Any]]:
    """(mode name, object) of every object of the file in order; a mode with no objects yields
    (name, None) once. Raises Restart (read it whole instead), YamlError, OSError,
    UnicodeDecodeError."""
    yaml = _yaml()
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    sc = _Scalars()
    seen: set[str] = set()
    mode: str | None = None
    empty = False                    # the current mode was written `mode: []` (or `mode:` alone)
    item: list[str] = []
    count = 0

    def finish() -> Any:
        doc = _flat(item, sc)
        if doc is not None:
            return doc
        try:
            got = yaml.load("".join(item), Loader=loader)
        except yaml.YAMLError:
            raise Restart() from None         # read whole, PyYAML says where the error is
        if not isinstance(got, list) or len(got) != 1:
            raise Restart()
        return got[0]

    with open(path, encoding="utf-8") as fh:
        for line in fh:
            c = line[:1]
            if c == " " or (c == "#" and item):
                if not item:
                    if line.strip() and not line.lstrip().startswith("#"):
                        raise Restart()         # indented content outside an object
                    continue
                item.append(line)
                continue
            if c == "\n" or c == "#":
                if item:
                    item.append(line)
                continue
            if line.startswith("- ") or line.rstrip("\n") == "-":
                if mode is None or empty:
                    raise Restart()
                if item:
                    yield mode, finish()
                    count += 1
                item = [line]
                continue
            # a line at column 0 that is not an object: the next mode
            if item:
                yield mode, finish()            # type: ignore[misc]
                count += 1
                item = []
            if mode is not None and count == 0:
                yield mode, None
            m = _HEAD.match(line)
            if m is None or m.group(1) in seen:
                raise Restart()
            mode = m.group(1)
            seen.add(mode)
            empty = m.group(2) is not None
            count = 0
        if item:
            yield mode, finish()                # type: ignore[misc]
            count += 1
        if mode is not None and count == 0:
            yield mode, None
        if mode is None:
            raise Restart()                     # no mode at all: let PyYAML say what it is


def whole(path: str) -> Any:
    """The file read at once with PyYAML (any layout); raises YamlError, OSError,
    UnicodeDecodeError."""
    yaml = _yaml()
    try:
        with open(path, encoding="utf-8") as fh:
            return yaml.load(fh, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as e:
        raise YamlError(str(e).splitlines()[0]) from None
