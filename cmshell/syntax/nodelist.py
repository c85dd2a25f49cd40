"""cmsh's node-list grammar: parse a list of object names, print one compressed (pure).

    node001,node002 node003          names, separated by commas or given as several words
    node001..node004                 a dot range (the digits of the first name set the padding)
    node001..004                     the same, short form (as the `range` prompt prints it)
    node00[1-4]  node[001-004]       bracket ranges; a leading zero in the low bound pads
    node[001-002]s[001-005]          several brackets: every combination, the first slowest
    node[1-3,7,10-12]                lists inside brackets
    node00[1..7:2]  node[1-7:2]      a stride: node001, node003, node005, node007
    node001..node005,-node002..004   exclusion: a name or range after `-` is taken out
    ^/path/file                      the names in a file (words separated by blanks, commas or
                                     new lines; `#` starts a comment), each read as above

Names keep the order they are given in, without repeats. An exclusion removes its names from
the whole list, wherever it stands. A bracket and a dot range cannot be mixed in one name
(`node[1-2]..node[3-4]` is refused), as in cmsh.

`render()` prints a list back: runs of three or more consecutive, equally padded names become
`first..last` (`style="bracket"`: `prefix[first-last]`); `short()` is the form of the `range`
prompt (`node001..024`). For any list of distinct *plain* names (see `plain()`),
`parse(render(names)) == names`.
"""
from __future__ import annotations

import re
from typing import Callable, Iterable

MAX_NAMES = 1_000_000
_TAIL = re.compile(r"^(.*?)(\d+)$")
_NUM_RANGE = re.compile(r"^(\d+)(?:(-|\.\.)(\d+)(?::(\d+))?)?$")


class NodeListError(ValueError):
    """A node list that cannot be read (message fit for the user)."""


def plain(name: str) -> bool:
    """A name the grammar reads as itself (no `,`, `[`, `]`, `..`, leading `-` or `^`)."""
    return bool(name) and not any(c in name for c in ",[]") and ".." not in name \
        and name[0] not in "-^" and not name.isspace() and " " not in name


def split_number(name: str) -> tuple[str, str] | None:
    """`node001` → ("node", "001"); None for a name that does not end in digits."""
    m = _TAIL.match(name)
    return (m.group(1), m.group(2)) if m else None


def is_list(word: str) -> bool:
    """Whether `word` uses the grammar (and so may stand for other names than itself)."""
    return not plain(word)


# -- parsing -----------------------------------------------------------------------------------
def parse(words: str | Iterable[str], *, reader: Callable[[str], str] | None = None,
          limit: int = MAX_NAMES) -> list[str]:
    """The names a node list stands for, in order, without repeats."""
    keep, drop = parse_parts(words, reader=reader, limit=limit)
    return [n for n in keep if n not in drop]


def parse_parts(words: str | Iterable[str], *, reader: Callable[[str], str] | None = None,
                limit: int = MAX_NAMES) -> tuple[list[str], set[str]]:
    """(names given, names excluded) of a node list, before the exclusion is applied."""
    if isinstance(words, str):
        words = [words]
    keep: dict[str, None] = {}
    drop: set[str] = set()
    count = [0]
    for word in words:
        _word(word, keep, drop, reader, limit, count, depth=0)
    return list(keep), drop


def _word(word: str, keep: dict[str, None], drop: set[str], reader: Callable[[str], str] | None,
          limit: int, count: list[int], depth: int) -> None:
    for item in split_items(word):
        if not item:
            continue
        if item.startswith("^"):
            if depth:
                raise NodeListError(f"A node list file cannot name another file: {item}")
            path = item[1:]
            if not path:
                raise NodeListError("Missing file name after '^'")
            text = reader(path) if reader else read_file(path)
            for line in text.splitlines():
                line = line.split("#", 1)[0]
                for w in line.replace(",", " ").split():
                    _word(w, keep, drop, reader, limit, count, depth + 1)
            continue
        negative = item.startswith("-")
        if negative:
            item = item[1:]
            if not item:
                raise NodeListError("Missing name after '-'")
        names = expand(item, limit - count[0])
        count[0] += len(names)
        if negative:
            drop.update(names)
        else:
            for n in names:
                keep[n] = None


def read_file(path: str, expanduser: Callable[[str], str] | None = None) -> str:
    """The text of the file of `^path`; `~` is expanded by `expanduser` (default: the process's)."""
    import os
    try:
        with open((expanduser or os.path.expanduser)(path), encoding="utf-8") as fh:
            return fh.read()
    except OSError as e:
        raise NodeListError(f"Cannot read {path}: {e.strerror}") from None
    except UnicodeDecodeError:
        raise NodeListError(f"Cannot read {path}: not a text file") from None


def split_items(word: str) -> list[str]:
    """Split at the commas and blanks outside brackets: `a[1,2],b` → `a[1,2]`, `b`."""
    out: list[str] = []
    cur: list[str] = []
    depth = 0
    for c in word:
        if c == "[":
            depth += 1
        elif c == "]":
            depth -= 1
            if depth < 0:
                raise NodeListError(f"Unbalanced ']' in {word}")
        if (c == "," or c.isspace()) and depth == 0:
            out.append("".join(cur))
            cur = []
            continue
        cur.append(c)
    if depth:
        raise NodeListError(f"Unbalanced '[' in {word}")
    out.append("".join(cur))
    return out


def expand(item: str, limit: int = MAX_NAMES) -> list[str]:
    """The names of one item (no commas): a name, a dot range or a bracket pattern."""
    if "[" in item:
        outside = re.sub(r"\[[^\]]*\]", "", item)
        if ".." in outside:
            raise NodeListError(f"Brackets and '..' cannot be mixed in one name: {item}")
        return _brackets(item, limit)
    if ".." in item:
        return _dots(item, limit)
    return [item]


def _dots(item: str, limit: int) -> list[str]:
    first, _, last = item.partition("..")
    a = _TAIL.match(first)
    if not a or not last:
        raise NodeListError(f"Invalid range: {item} (expected e.g. node001..node004)")
    if last.isdigit():                         # node001..024: the short form of the prompt
        prefix, hi = a.group(1), last
    else:
        b = _TAIL.match(last)
        if not b or b.group(1) != a.group(1):
            raise NodeListError(f"Invalid range: {item} (both ends need the same name before "
                                f"their numbers)")
        prefix, hi = a.group(1), b.group(2)
    lo = a.group(2)
    start, stop = int(lo), int(hi)
    if start > stop:
        raise NodeListError(f"Invalid range: {item} (it starts after it ends)")
    if stop - start + 1 > limit:
        raise NodeListError(f"Node list too long: {item} (more than {MAX_NAMES} names)")
    width = len(lo)
    return [f"{prefix}{i:0{width}d}" for i in range(start, stop + 1)]


def _brackets(item: str, limit: int) -> list[str]:
    parts: list[list[str]] = []
    pos = 0
    for m in re.finditer(r"\[([^\]]*)\]", item):
        parts.append([item[pos:m.start()]])
        parts.append(_numbers(m.group(1), item, limit))
        pos = m.end()
    parts.append([item[pos:]])
    total = 1
    for p in parts:
        total *= len(p)
    if total > limit:
        raise NodeListError(f"Node list too long: {item} (more than {MAX_NAMES} names)")
    out = [""]
    for p in parts:
        out = [a + b for a in out for b in p]
    return out


def _numbers(inside: str, item: str, limit: int) -> list[str]:
    out: list[str] = []
    for piece in inside.split(","):
        m = _NUM_RANGE.match(piece.strip())
        if not m:
            raise NodeListError(f"Invalid range [{inside}] in {item} (expected e.g. [1-4], "
                                f"[001-024] or [1..7:2])")
        lo, hi, step = m.group(1), m.group(3), m.group(4)
        if hi is None:
            out.append(lo)
            continue
        start, stop, by = int(lo), int(hi), int(step) if step else 1
        if start > stop:
            raise NodeListError(f"Invalid range [{inside}] in {item} (it starts after it ends)")
        if by < 1:
            raise NodeListError(f"Invalid step in [{inside}] of {item}")
        if len(out) + (stop - start) // by + 1 > limit:
            raise NodeListError(f"Node list too long: {item} (more than {MAX_NAMES} names)")
        width = len(lo) if len(lo) > 1 and lo.startswith("0") else 0
        out.extend(f"{i:0{width}d}" for i in range(start, stop + 1, by))
    return out


# -- printing ------------------------------------------------------------------------------
def _numbered(name: str) -> re.Match[str]:
    """The (prefix, number) match of a name in a run of three or more (runs are of numbered
    names only)."""
    m = _TAIL.match(name)
    assert m is not None, name
    return m


def _runs(names: list[str]) -> list[list[str]]:
    """Consecutive names with the same prefix, the same digit count and numbers one apart."""
    runs: list[list[str]] = []
    prev = None
    for name in names:
        m = _TAIL.match(name)
        cur = (m.group(1), len(m.group(2)), int(m.group(2))) if m else None
        if cur and prev and runs and cur[:2] == prev[:2] and cur[2] == prev[2] + 1:
            runs[-1].append(name)
        else:
            runs.append([name])
        prev = cur
    return runs


def render(names: Iterable[str], style: str = "dot") -> str:
    """`node001,node002,node003,node007` → `node001..node003,node007` (bracket style:
    `node[001-003],node007`). Two names in a row stay as they are (`node001,node002`)."""
    parts: list[str] = []
    for run in _runs(list(names)):
        if len(run) < 3:
            parts.extend(run)
        elif style == "bracket":
            a, b = _numbered(run[0]), _numbered(run[-1])
            parts.append(f"{a.group(1)}[{a.group(2)}-{b.group(2)}]")
        else:
            parts.append(f"{run[0]}..{run[-1]}")
    return ",".join(parts)


def short(names: Iterable[str]) -> str:
    """The `range` prompt's form: runs print as `node001..024`."""
    parts: list[str] = []
    for run in _runs(list(names)):
        if len(run) < 3:
            parts.extend(run)
        else:
            parts.append(f"{run[0]}..{_numbered(run[-1]).group(2)}")
    return ",".join(parts)
