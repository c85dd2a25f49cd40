"""The journal's storage format: each commit as field-level deltas, grouped and compressed (pure).

A commit is stored as a list of *records*, one JSON line each, zlib-compressed together::

    [mode, action, keys, names, which, payloads]

one record per (mode, action) and batch of the commit, members sorted by name:

* ``keys``: the members' object keys (small integers standing for object ids, see the store's
  ``object_keys`` table) as runs ``[[first, count], ...]`` (`int_runs`);
* ``names``: their names as runs (`name_runs`): a string is one name, ``[prefix, first, width,
  count]`` is ``prefix + f"{first + i:0{width}d}"`` for i < count;
* ``payloads``: the distinct payloads of the record, ``which`` says whose is whose as runs
  ``[[payload index, count], ...]``. A payload is an added object's whole document (``"A"``),
  a removed object's whole document (``"R"``), or for a modified object (``"M"``) ``[old, new,
  old_name, type]``: the fields that changed with their values before (``old``) and after
  (``new``), the name before when the commit renamed it, and the object's unchanged ``type``.

So a commit that sets one field to one value on 8,750 nodes stores one payload and a few runs,
whatever the size of the documents; an added or removed object's document is stored once.
"""
from __future__ import annotations

import json
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from .base import ADDED, MODIFIED, REMOVED, JournalGroup, ObjectDelta

FORMAT = "cmshell-journal-1"
FIRST = 5                       # names a group keeps in commit order (for the commit notice)
_CODE = {ADDED: "A", MODIFIED: "M", REMOVED: "R"}
_ACTION = {v: k for k, v in _CODE.items()}
_ORDER = {ADDED: 0, MODIFIED: 1, REMOVED: 2}

_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
_loads = json.loads


# -- values ---------------------------------------------------------------------------------
def same(a: object, b: object) -> bool:
    """Equal as stored: JSON tells 1 from 1.0 and from true, so these differ here."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(v, b[k]) for k, v in a.items())
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b


_PLAIN = frozenset((str, int, float, bool, type(None)))


def field_delta(before: dict, after: dict) -> tuple[dict, dict]:
    """(old, new): the fields that differ, each with its value before / after (a field absent
    on one side is missing from that side's dict)."""
    old: dict = {}
    new: dict = {}
    for k, v in before.items():
        if k not in after:
            old[k] = v
            continue
        w = after[k]
        t = type(v)
        if t is type(w) and (v == w if t in _PLAIN else same(v, w)):
            continue
        old[k] = v
        new[k] = w
    for k, v in after.items():
        if k not in before:
            new[k] = v
    return old, new


# -- runs -----------------------------------------------------------------------------------
def int_runs(values: Iterable[int]) -> list[list[int]]:
    """[3, 4, 5, 9] -> [[3, 3], [9, 1]]: runs of consecutive integers."""
    out: list[list[int]] = []
    for v in values:
        if out and out[-1][0] + out[-1][1] == v:
            out[-1][1] += 1
        else:
            out.append([v, 1])
    return out


def expand_int_runs(runs: list) -> list[int]:
    out: list[int] = []
    for first, count in runs:
        out.extend(range(first, first + count))
    return out


def value_runs(values: Iterable[int]) -> list[list[int]]:
    """[0, 0, 0, 1] -> [[0, 3], [1, 1]]: runs of equal integers."""
    out: list[list[int]] = []
    for v in values:
        if out and out[-1][0] == v:
            out[-1][1] += 1
        else:
            out.append([v, 1])
    return out


def expand_value_runs(runs: list) -> list[int]:
    out: list[int] = []
    for v, count in runs:
        out.extend([v] * count)
    return out


def _split(name: str) -> tuple[str, str] | None:
    i = len(name)
    while i and name[i - 1].isdigit() and name[i - 1].isascii():
        i -= 1
    return (name[:i], name[i:]) if i < len(name) else None


def name_runs(names: Iterable[str], limit: int | None = None) -> list:
    """Names as runs: `node001, node002, node003, gpu` -> [["node", 1, 3, 3], "gpu"]. Exact:
    `expand_name_runs(name_runs(x)) == list(x)`. With `limit`, stops after limit + 1 runs."""
    out: list = []
    for name in names:
        if limit is not None and len(out) > limit:
            break
        last = out[-1] if out else None
        if type(last) is list:
            prefix, first, width, count = last
            nxt = first + count
            if name == f"{prefix}{nxt:0{width}d}":
                last[3] += 1
                continue
        parts = _split(name)
        if parts is not None:
            prefix, digits = parts
            n = int(digits)
            if f"{prefix}{n:0{len(digits)}d}" == name:
                out.append([prefix, n, len(digits), 1])
                continue
        out.append(name)
    return [r if type(r) is not list or r[3] > 1 else f"{r[0]}{r[1]:0{r[2]}d}" for r in out]


def expand_name_runs(runs: list) -> list[str]:
    out: list[str] = []
    for r in runs:
        if type(r) is str:
            out.append(r)
        else:
            prefix, first, width, count = r
            out.extend(f"{prefix}{n:0{width}d}" for n in range(first, first + count))
    return out


# -- the groups `journal` lists ---------------------------------------------------------------
def groups_of(objects: Iterable[tuple[str, str, str]], *, full: bool = False) -> tuple[JournalGroup, ...]:
    """(mode, name, action) triples, in commit order, as the groups `journal` lists (with
    every name when `full`; see _Groups.groups)."""
    acc = _Groups()
    for mode, name, action in objects:
        acc.add(mode, action, name)
    return acc.groups(full)


class _Groups:
    def __init__(self) -> None:
        self.names: dict[tuple[str, str], list[str]] = {}

    def add(self, mode: str, action: str, name: str) -> None:
        got = self.names.get((mode, action))
        if got is None:
            got = self.names[(mode, action)] = []
        got.append(name)

    def groups(self, full: bool = False) -> tuple[JournalGroup, ...]:
        """The groups; a group whose names would print longer than NAMES_MAX characters keeps
        only its count and first names (`complete` False) unless `full`."""
        from cmshell.model.nodeset import compress
        out = []
        for (mode, action), names in sorted(self.names.items(), key=lambda kv: (_ORDER[kv[0][1]], kv[0][0])):
            ordered = sorted(names)
            text = ""
            if full or len(names) <= NAMES_MAX or len(name_runs(ordered, 10)) <= 10:
                text = compress(ordered)
            complete = full or 0 < len(text) <= NAMES_MAX
            out.append(JournalGroup(mode, action, len(names), text if complete else "",
                                    tuple(names[:FIRST]), complete))
        return tuple(out)


NAMES_MAX = 256     # longest names text a group keeps in the journal's summary (journal -v: all)


def dump_groups(groups: Iterable[JournalGroup]) -> str:
    return _dumps([[g.mode, g.action, g.count, g.names if g.complete else None, list(g.first)]
                   for g in groups])


def load_groups(text: str) -> tuple[JournalGroup, ...]:
    return tuple(JournalGroup(m, a, c, n or "", tuple(f), n is not None) for m, a, c, n, f in _loads(text))


# -- writing ------------------------------------------------------------------------------------
# One object of a commit on its way to the journal: (key, mode, name, action, payload JSON text)
Member = tuple[int, str, str, str, str]


@dataclass
class Writer:
    """Builds one commit's journal data batch by batch: `add` each batch's members, then
    `finish` -> (groups JSON, compressed records)."""
    level: int = 1                  # fast: a load's documents are 15 MB of JSON at 100,000 nodes
    _z: "zlib._Compress" = field(init=False)
    _parts: list[bytes] = field(default_factory=list, init=False)
    _groups: _Groups = field(default_factory=_Groups, init=False)
    groups: tuple[JournalGroup, ...] = field(default=(), init=False)

    def __post_init__(self) -> None:
        self._z = zlib.compressobj(self.level)
        self._parts.append(self._z.compress((FORMAT + "\n").encode()))

    def add(self, members: list[Member]) -> None:
        """A batch's members, in commit order."""
        by: dict[tuple[str, str], list[Member]] = {}
        for m in members:
            got = by.get((m[1], m[3]))
            if got is None:
                got = by[(m[1], m[3])] = []
            got.append(m)
        for (mode, action), ms in sorted(by.items()):
            names = self._groups.names.setdefault((mode, action), [])
            names.extend(m[2] for m in ms)
            ms.sort(key=_by_name)
            index: dict[str, int] = {}
            which = [index.setdefault(m[4], len(index)) for m in ms]
            line = "[%s,%s,%s,%s,%s,[%s]]\n" % (
                _dumps(mode), _dumps(_CODE[action]), _dumps(int_runs(m[0] for m in ms)),
                _dumps(name_runs(m[2] for m in ms)), _dumps(value_runs(which)), ",".join(index))
            self._parts.append(self._z.compress(line.encode()))

    def finish(self) -> tuple[str, bytes]:
        """(groups as JSON, compressed records); `groups` holds the groups afterwards."""
        self._parts.append(self._z.flush())
        self.groups = self._groups.groups()
        return dump_groups(self.groups), b"".join(self._parts)


def _by_name(m: Member) -> str:
    return m[2]


class Payloads:
    """The payloads of one batch's modified objects, each distinct one encoded once (a commit
    that sets one value on many objects has one payload)."""

    def __init__(self) -> None:
        self.texts: dict[tuple, str] = {}

    def modified(self, before: dict, after: dict, old_name: str | None) -> str:
        old, new = field_delta(before, after)
        type_ = context_type(after, new)
        try:
            key = (tuple((k, type(v), v) for k, v in old.items()),      # 1, 1.0 and True differ
                   tuple((k, type(v), v) for k, v in new.items()), old_name, type_)
            got = self.texts.get(key)
        except TypeError:                 # a list or dict among the values: not hashable
            return modified_payload(old, new, old_name, type_)
        if got is None:
            got = self.texts[key] = modified_payload(old, new, old_name, type_)
        return got


def modified_payload(old: dict, new: dict, old_name: str | None, type_: object) -> str:
    return _dumps([old, new, old_name, type_ if isinstance(type_, str) else None])


def context_type(after: dict, new: dict) -> object:
    """The `type` to keep beside a modification (None when it changed or there is none)."""
    return after.get("type") if "type" not in new else None


# -- reading ------------------------------------------------------------------------------------
def records(blob: bytes) -> Iterator[tuple[str, str, list[int], list[str], list]]:
    """(mode, action, keys, names, payload per member) of every record of a commit."""
    text = zlib.decompress(blob).decode()
    lines = text.split("\n")
    if lines[0] != FORMAT:
        raise ValueError(f"unknown journal format {lines[0][:40]!r}")
    for line in lines[1:]:
        if not line:
            continue
        mode, code, keys, names, which, payloads = _loads(line)
        ks = expand_int_runs(keys)
        ns = expand_name_runs(names)
        ps = [payloads[i] for i in expand_value_runs(which)]
        if not (len(ks) == len(ns) == len(ps)):
            raise ValueError("journal record of uneven length")
        yield mode, _ACTION[code], ks, ns, ps


def delta(oid: str, mode: str, name: str, action: str, payload: Any) -> ObjectDelta:
    if action == ADDED:
        return ObjectDelta(oid, mode, name, action, None, payload)
    if action == REMOVED:
        return ObjectDelta(oid, mode, name, action, payload, None)
    old, new, old_name, type_ = payload
    return ObjectDelta(oid, mode, name, action, old, new, old_name, type_)
