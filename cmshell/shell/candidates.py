"""What may come next at the cursor, once a Walker has read the line before it.

Object names come from `ws.names(mode)` only — never from documents — through a sorted index,
so a 100,000-node cluster completes `device use node0` by bisection. Lists are capped at LIMIT
in a way that keeps the common part of every match.
"""
from __future__ import annotations

import bisect
import os
from dataclasses import dataclass

from cmshell.shell import navigate
from cmshell.shell.location import row_key
from cmshell.shell.walker import Walker

LIMIT = 1000                   # candidates returned at most (the first LIMIT-1 and the last)


@dataclass(frozen=True)
class Candidate:
    text: str            # what replaces the word being typed
    kind: str            # command, alias, mode, submode, object, param, value, role, type, file, option, word
    meta: str = ""       # one line shown beside it
    start: int = 0       # where the replacement starts, relative to the cursor (<= 0)
    final: bool = True   # a whole word: the shell may add a space after it
    display: str = ""    # as listed (defaults to text)

    @property
    def shown(self) -> str:
        return self.display or self.text


# -- the sorted name index ---------------------------------------------------------------------
class _Names:
    """A sorted view of `ws.names(mode)`, rebuilt when the workspace replaces that dict."""

    def __init__(self, names: dict):
        self.source = names
        self.sorted = sorted(names)
        self._lower_sorted: list | None = None

    def matching(self, prefix: str) -> list[str]:
        hits = prefixed(self.sorted, prefix)
        if hits or not prefix:
            return hits
        if self._lower_sorted is None:
            self._lower_sorted = sorted((n.lower(), n) for n in self.sorted)
        low = prefix.lower()
        i = bisect.bisect_left(self._lower_sorted, (low,))
        out = []
        while i < len(self._lower_sorted) and self._lower_sorted[i][0].startswith(low):
            out.append(self._lower_sorted[i][1])
            i += 1
        return cap(sorted(out))


def prefixed(items: list[str], prefix: str) -> list[str]:
    """The items of a sorted list that start with prefix, capped (first LIMIT-1 and the last, so
    that the common part of what is returned is the common part of every match)."""
    lo = bisect.bisect_left(items, prefix)
    hi = bisect.bisect_left(items, prefix + "\U0010ffff", lo) if prefix else len(items)
    if hi - lo <= LIMIT:
        return items[lo:hi]
    return items[lo:lo + LIMIT - 1] + [items[hi - 1]]


def cap(items: list) -> list:
    return items if len(items) <= LIMIT else items[:LIMIT - 1] + [items[-1]]


def names_of(session, mode: str) -> _Names:
    cache = session.__dict__.setdefault("_completion_cache", {})
    names = session.ws.names(mode)
    got = cache.get(("names", mode))
    if got is None or got.source is not names:
        got = cache[("names", mode)] = _Names(names)
    return got


# -- candidates ----------------------------------------------------------------------------------
def _filter(items: list[Candidate], prefix: str) -> list[Candidate]:
    hits = [c for c in items if c.shown.startswith(prefix)]
    if not hits and prefix:
        low = prefix.lower()
        hits = [c for c in items if c.shown.lower().startswith(low)]
    seen: set = set()
    out = []
    for c in sorted(hits, key=lambda c: c.shown):
        if c.shown not in seen:
            seen.add(c.shown)
            out.append(c)
    return cap(out)


def candidates(w: Walker, prefix: str) -> list[Candidate]:
    """What fits where the walker stands, starting with `prefix`, sorted."""
    kind, qual = w.expected()
    s = w.s
    if w.phase == "args" and prefix.startswith("-") and w.opts and not w.skip_next:
        return _filter([Candidate(o, "option") for o in w.opts], prefix)
    if kind == "head":
        return _filter(_heads(w, prefix), prefix)
    if kind in ("object", "target"):
        many = w.kinds and w.ki < len(w.kinds) and w.kinds[w.ki][2] == "*"
        # `remove a b <Tab>`, `swap a <Tab>`: never an object already named
        return _objects(w, prefix, exclude=w.values if many or qual == "other" else ())
    if kind in ("ref", "field", "bookmark", "extra") or (kind, qual) == ("role", "any") \
            or (kind == "type" and qual):
        return _listed(prefix, lambda tail: _named_items(w, kind, qual, tail))
    if kind == "param":
        spec = w.spec()
        if spec is None:
            return []
        items = []
        for p in spec.params:
            if p.is_submode:
                continue
            if qual in ("set", "list") and (p.readonly or p.type == "internal"):
                continue
            if qual == "list" and not p.is_list:
                continue
            items.append(Candidate(p.name, "param", p.help or p.label))
        return _filter(items, prefix)
    if kind == "value":
        return _values(w, w.param, prefix)
    if kind == "member":
        return _members(w, prefix)
    if kind == "addarg":
        mode = w.path[-1].mode if w.path else None
        if mode is None:
            return []
        pos = len(w.values)
        if pos >= len(mode.add_args):
            return []
        spec = mode.types.get(w.typed, mode.base)
        return _values(w, spec.param(mode.add_args[pos]), prefix, given=())   # each its own value
    if kind == "role":
        roles = w.path[-1].mode.roles if w.path else None
        if roles is None:
            return []
        have = {str(r.get("name", "")).lower() for r in w.rows()}
        items = []
        for r in roles.roles:
            if r.generic:
                items.append(Candidate("generic::", "role", r.help, final=False))
            elif r.name.lower() not in have:
                items.append(Candidate(r.name.lower(), "role", r.help or r.type))
        return _filter(items, prefix)
    if kind == "type":
        mode = w.path[-1].mode
        return _filter([Candidate(t, "type", mode.type_labels.get(t, t)) for t in mode.types], prefix)
    if kind == "file":
        return files(prefix)
    if kind == "mode":
        return _filter([Candidate(m.name, "mode", m.help) for m in s.schema.top_modes()], prefix)
    if kind == "command":
        items = [Candidate(d.name, "command", d.summary) for d in s.commands.defs.values()]
        items += [Candidate(m.name, "mode", m.help) for m in s.schema.top_modes()]
        items += [Candidate(a, "alias", f"alias: {t}") for a, t in s.commands.aliases.items()
                  if a[:1].isalnum()]
        return _filter(items, prefix)
    if kind == "line":
        return _filter(_heads(w, prefix), prefix)
    if "|" in kind:
        return _filter([Candidate(x, "word") for x in kind.split("|")], prefix)
    return []


def _listed(prefix: str, items) -> list[Candidate]:
    """A comma-separated list (`-c default,gpu`, `-f hostname:20,ca`) completes its last item;
    items already in the list are not offered again. `items(tail)` gives the candidates for
    the last item, already filtered; each is listed under its own name."""
    head, sep, tail = prefix.rpartition(",")
    if ".." in tail:                 # a node range: `node001..no`
        a, dots, tail = tail.rpartition("..")
        head, sep = head + sep + a, dots
    lead = head + sep
    pieces = head.split(",") if sep == "," else []
    done = set(pieces) | {x.split(":")[0] for x in pieces}      # `hostname:20` names hostname
    return [Candidate(lead + c.text, c.kind, c.meta, c.start, c.final, display=c.shown)
            for c in items(tail) if c.shown not in done]


def _named_items(w: Walker, kind: str, qual: str, prefix: str) -> list[Candidate]:
    s = w.s
    if kind == "ref":
        mode = s.schema.modes.get(qual)
        if mode is None or "[" in prefix:
            return []
        return [Candidate(n, "object", mode.entity) for n in names_of(s, qual).matching(prefix)]
    if kind == "field":
        return _fields(w, qual, prefix)
    if kind == "bookmark":
        marks = s.__dict__.get("bookmarks") or {}
        return _filter([Candidate(m, "word", "bookmark") for m in marks if m], prefix)
    if kind == "extra":
        doc = s.element(w.target) if w.target is not None else None
        extra = (doc or {}).get("extra") or {}
        return _filter([Candidate(str(k), "param", "extra parameter") for k in extra], prefix)
    if kind == "role":
        roles = s.schema.mode("roles").roles
        items = [Candidate("generic::" if r.generic else r.name.lower(), "role", r.help or r.type,
                           final=not r.generic) for r in roles.roles]
        return _filter(items, prefix)
    mode = s.schema.modes.get(qual)             # type:MODE
    if mode is None:
        return []
    return _filter([Candidate(t, "type", mode.type_labels.get(t, t)) for t in mode.types], prefix)


def _fields(w: Walker, qual: str, prefix: str) -> list[Candidate]:
    """The fields `list` may show (`format` lists them); `spec` in the qualifier: a `:width`
    may follow, so a field is not a whole word; another word names the mode (listnodes)."""
    words = qual.split("+") if qual else []
    spec = "spec" in words
    other = [x for x in words if x != "spec"]
    if other:
        mode = w.s.schema.modes.get(other[0])
    else:
        mode = w.path[-1].mode if w.path else None
    if mode is None or ":" in prefix:
        return []
    items = [Candidate(n, "param", p.help or p.label, final=not spec)
             for n, p in mode.all_params().items()]
    if mode.indexed:
        items.append(Candidate("index", "param", "Position of the entry", final=not spec))
    typed = set(w.values)
    return [c for c in _filter(items, prefix) if c.text not in typed]


def _heads(w: Walker, prefix: str) -> list[Candidate]:
    s, at = w.s, w.at()
    items = [Candidate(d.name, "command", d.summary) for d in s.commands.defs.values() if d.available(at)]
    for m in s.schema.top_modes():
        items.append(Candidate(m.name, "mode", m.help))
    for name in w.submodes():
        items.append(Candidate(name, "submode", f"Enter {name} submode"))
    for a, text in s.commands.aliases.items():
        if (a[:1].isalnum() or prefix) and _alias_usable(w, text):
            items.append(Candidate(a, "alias", f"alias: {text}"))
    return items


def _alias_usable(w: Walker, text: str) -> bool:
    words = text.split()
    if not words:
        return False
    d = w.s.commands.defs.get(words[0])
    if d is not None:
        return d.available(w.at())
    if navigate.top_mode(w.s.schema, words[0]) is not None:
        return len(words) == 1 or words[1] in w.s.commands.defs or words[1].lower() in w.s.schema.modes
    return True


def _objects(w: Walker, prefix: str, exclude=()) -> list[Candidate]:
    if not w.path:
        return []
    lvl = w.path[-1]
    if len(w.path) == 1:
        entity = lvl.mode.entity
        names = names_of(w.s, lvl.mode.name).matching(prefix)
        return [Candidate(n, "object", entity) for n in names if n not in exclude]
    keys = [str(row_key(lvl.mode, r)) for r in w.rows()]
    return _filter([Candidate(k, "object", lvl.mode.entity) for k in keys if k not in exclude], prefix)


def _values(w: Walker, p, prefix: str, given=None) -> list[Candidate]:
    """Values of parameter `p`; `given`: the values already typed for it (default: the
    walker's)."""
    if p is None:
        return []
    values = w.values if given is None else list(given)
    typed = set(values)
    if p.type == "boolean":
        return _filter([Candidate("yes", "value"), Candidate("no", "value")], prefix)
    if p.type == "enum":
        return _filter([Candidate(c.lower(), "value", c) for c in p.choices if c], prefix)
    if p.type == "blob":
        return files(prefix) if not values else []
    if p.target and p.target in w.s.schema.modes and (p.is_list or not values):
        mode = w.s.schema.mode(p.target)
        names = names_of(w.s, p.target).matching(prefix)
        return [Candidate(n, "value", mode.entity) for n in names if n not in typed]
    return []


def _members(w: Walker, prefix: str) -> list[Candidate]:
    """The elements of the list parameter's current value (an unknown object has none)."""
    p = w.param
    if p is None or w.target is None:
        return []
    cur = (w.s.element(w.target) or {}).get(p.name) or []
    if not isinstance(cur, list):
        return []
    return _filter([Candidate(str(v), "value") for v in cur if str(v) not in w.values], prefix)


def files(prefix: str) -> list[Candidate]:
    """File names beside `prefix` (a partial path; `~` is expanded for listing, kept in the text)."""
    head, base = os.path.split(prefix)
    directory = os.path.expanduser(head) if head else "."
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return []
    out = []
    for e in entries:
        if not e.name.startswith(base) or (e.name.startswith(".") and not base.startswith(".")):
            continue
        try:
            is_dir = e.is_dir()
        except OSError:
            is_dir = False
        text = os.path.join(head, e.name) + ("/" if is_dir else "")
        out.append(Candidate(text, "file", "directory" if is_dir else "", final=not is_dir,
                             display=e.name + ("/" if is_dir else "")))
    return cap(sorted(out, key=lambda c: c.text))
