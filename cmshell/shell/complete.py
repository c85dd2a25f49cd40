"""What fits at the cursor: the pure part of tab completion and of highlighting.

    suggest(session, text_before_cursor) -> [Candidate, ...]
    classify(session, line) -> [(start, end, role), ...]

Both walk the line with the same `Walker`, which follows the session's own rules (mode words,
mode-prefixed commands, submode words, aliases, `;`, `(`…`)`, `|`, `!`, `>`) and the argument
kinds each command declares (`CommandDef.args`, see shell/dispatch.py). Nothing here
imports prompt_toolkit or pygments, changes the session, or touches anything but the
workspace's in-memory view (and, for file names, the local directory being completed). Object
names come from `ws.names(mode)` only — never from documents — through a sorted index, so a
100,000-node cluster completes `device use node0` by bisection.
"""
from __future__ import annotations

import bisect
import os
import re
from dataclasses import dataclass

from cmshell.shell.location import Level, find_row, row_key
from cmshell.syntax.partial import Tok, scan

LIMIT = 1000                   # candidates returned at most (the first LIMIT-1 and the last)
_VIRTUAL = object()            # the "each object" of a foreach-style `( … )` block
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
_OPTION = re.compile(r"^--?[A-Za-z][\w-]*$")
_SPECIAL = re.compile(r'[\s;|()>#"\\]')
_DESTRUCTIVE = {"commit", "remove", "refresh", "rollback"}


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


# -- the session seen from another location ------------------------------------------------------
class _At:
    """The session as if it stood at `path` (what CommandDef.available needs); read-only."""

    def __init__(self, session, path):
        self._s = session
        self.path = path

    def element(self, path=None):
        return self._s.element(self.path if path is None else path)

    def __getattr__(self, name):
        return getattr(self._s, name)


def _cache(session) -> dict:
    return session.__dict__.setdefault("_completion_cache", {})


class _Names:
    """A sorted view of `ws.names(mode)`, rebuilt when the workspace replaces that dict."""

    def __init__(self, names: dict):
        self.source = names
        self.sorted = sorted(names)
        self._lower: dict | None = None
        self._lower_sorted: list | None = None

    def lower(self) -> dict:
        if self._lower is None:
            low: dict = {}
            for n in self.sorted:
                low.setdefault(n.lower(), n)
            self._lower = low
        return self._lower

    def has(self, name: str) -> str | None:
        if name in self.source:
            return name
        return self.lower().get(name.lower())

    def matching(self, prefix: str) -> list[str]:
        hits = _range(self.sorted, prefix)
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
        return _cap(sorted(out))


def _range(items: list[str], prefix: str) -> list[str]:
    """The items of a sorted list that start with prefix, capped (first LIMIT-1 and the last, so
    that the common part of what is returned is the common part of every match)."""
    lo = bisect.bisect_left(items, prefix)
    hi = bisect.bisect_left(items, prefix + "\U0010ffff", lo) if prefix else len(items)
    if hi - lo <= LIMIT:
        return items[lo:hi]
    return items[lo:lo + LIMIT - 1] + [items[hi - 1]]


def _cap(items: list) -> list:
    return items if len(items) <= LIMIT else items[:LIMIT - 1] + [items[-1]]


def names_of(session, mode: str) -> _Names:
    cache = _cache(session)
    names = session.ws.names(mode)
    got = cache.get(("names", mode))
    if got is None or got.source is not names:
        got = cache[("names", mode)] = _Names(names)
    return got


# -- the walker -----------------------------------------------------------------------------------
def _kinds(args) -> list[tuple[str, str, str]]:
    out = []
    for a in args or ():
        rep = a[-1] if a[-1:] in "?*" else ""
        kind = a.rstrip("?*")
        qual = ""
        if "|" not in kind and ":" in kind:
            kind, qual = kind.split(":", 1)
        out.append((kind, qual, rep))
    return out


def options_of(cmd) -> dict[str, str]:
    """Options a command's usage lines show: `-f|--format <spec>` takes a value ("value"),
    `-v` is a flag ("flag"); a valued option right after the command's name starts another
    form of it whose arguments are not described (`set -e|--extra <name> <value>`: "form")."""
    out: dict[str, str] = {}
    for line in cmd.usage:
        toks = re.findall(r"\[|\]|<[^>]*>|[^\s\[\]]+", line)
        for i, t in enumerate(toks):
            names = [o for o in t.split("|") if _OPTION.match(o)]
            if not names or len(names) != len(t.split("|")):
                continue
            nxt = toks[i + 1] if i + 1 < len(toks) else ""
            valued = nxt.startswith("<")
            kind = "form" if i == 1 and valued else ("value" if valued else "flag")
            for o in names:
                out.setdefault(o, kind)
    return out


class Walker:
    def __init__(self, session, path=None):
        self.s = session
        self.path = list(session.path if path is None else path)
        self.stack: list = []
        self.depth = 0
        self._segment()

    # -- state --------------------------------------------------------------------------------
    def _segment(self):
        self.seg_path = self.path
        self.prefix_mode = None
        self.phase = "head"
        self.cmd = None
        self.kinds: list = []
        self.ki = 0
        self.target = None
        self.param = None
        self.values: list[str] = []
        self.typed = ""
        self.sub = None
        self.skip_next = False
        self.expect_file = False
        self.opts: dict = {}

    def at(self):
        return _At(self.s, self.path)

    def _element_level(self) -> bool:
        return bool(self.path) and self.path[-1].key is not None

    def _end_segment(self):
        """Where the next `;`-separated command starts (navigation of this one applied)."""
        name = self.cmd.name if self.cmd else None
        navigated = False
        if name == "use" and self.target is not None:
            self.path, navigated = self.target, True
        elif name == "exit":
            if self.path:
                last = self.path[-1]
                self.path = self.path[:-1] + ([last.select(None)] if last.key is not None else [])
            navigated = True
        elif name == "home":
            self.path, navigated = [], True
        elif name in ("add", "clone") and self.path:
            self.path, navigated = self.path[:-1] + [self.path[-1].select(_VIRTUAL)], True
        if self.prefix_mode is not None and self.cmd is not None and not navigated:
            self.path = self.seg_path          # a mode-prefixed command that did not navigate
        elif self.prefix_mode is not None and self.cmd is None and self.path == [Level(self.prefix_mode)]:
            mode = self.prefix_mode           # a bare mode word enters it (and its singleton)
            if mode.auto_enter:
                names = self.s.ws.names(mode.name)
                if len(names) == 1:
                    self.path = [Level(mode, None, next(iter(names.values())))]
        self._segment()

    # -- feeding tokens -------------------------------------------------------------------------
    def feed(self, tok: Tok) -> str:
        k = tok.kind
        if k == "sep":
            if self.stack:          # inside ( … ): a new command for the same objects
                self.path = self.stack[-1][1]
                self._segment()
            else:
                self._end_segment()
            return "sep"
        if k == "open":
            saved = (self.__dict__.copy(), self.path)
            inner = self.path
            if inner and inner[-1].key is None:
                inner = inner[:-1] + [inner[-1].select(_VIRTUAL)]
            self.stack.append((saved[0], inner))
            self.path = inner
            self._segment()
            return "paren"
        if k == "close":
            if self.stack:
                state, _ = self.stack.pop()
                stack = self.stack
                self.__dict__.update(state)
                self.stack = stack
            return "paren"
        if k == "comment":
            return "comment"
        if k == "shell":
            self.phase = "dead"
            return "shell"
        if k == "rest":
            return "shell"
        if k == "pipe":
            return "pipe"
        if k == "redir":
            self.expect_file = True
            return "redirect"
        return self.word(tok.value)

    def word(self, w: str) -> str:
        if self.expect_file:
            self.expect_file = False
            return "file"
        if self.phase == "head":
            return self._head(w)
        if self.phase == "subobj":
            return self._subobj(w)
        if self.phase == "args":
            return self._arg(w)
        return "text"

    def _head(self, w: str) -> str:
        s = self.s
        low = w.lower()
        mode = s.schema.modes.get(low)
        if mode is not None and mode.top:
            self.path = [Level(mode)]
            self.prefix_mode = mode
            return "mode"
        aliases = s.commands.aliases
        if w in aliases and w not in s.commands.defs and self.depth < 8:
            text = aliases[w]
            first = text.split()[0] if text.split() else ""
            if not (first in s.commands.defs and len(text.split()) == 1):
                self.depth += 1
                for t in scan(text):
                    self.feed(t)
                self.depth -= 1
                return "alias"
            w = first
        d = s.commands.defs.get(w)
        if d is not None:
            try:
                ok = d.available(self.at())
            except Exception:
                ok = False
            if ok:
                self.cmd = d
                self.phase = "args"
                self.kinds = _kinds(d.args)
                self.opts = options_of(d)
                self.target = self.path if self._element_level() else None
                self._settle()
                return "command"
            self.phase = "dead"
            return "error"
        sub = self._submodes().get(low)
        if sub is not None:
            if self._element_level():
                self.path = self.path + [Level(s.schema.mode(sub.mode), sub.name)]
            else:
                self.phase = "subobj"
                self.sub = sub
            return "submode"
        self.phase = "dead"
        return "error"

    def _submodes(self) -> dict:
        if not self.path:
            return {}
        try:
            return self.s.submodes(self.path)
        except Exception:
            return {}

    def _subobj(self, w: str) -> str:
        path = self._object_path(w)
        if path is None:
            self.phase = "dead"
            return "error"
        self.path = path + [Level(self.s.schema.mode(self.sub.mode), self.sub.name)]
        self.phase = "head"
        return "object"

    def _object_path(self, name: str):
        """The path to object `name` beside the current level, or None."""
        if not self.path:
            return None
        lvl = self.path[-1]
        if len(self.path) == 1:
            found = names_of(self.s, lvl.mode.name).has(name)
            if found is None and lvl.mode.name == "device" and name == "master":
                found = self.s.head_node()
            if found is None:
                return None
            return [lvl.select(self.s.ws.names(lvl.mode.name)[found])]
        row = find_row(lvl.mode, self._rows(), name)
        if row is None:
            return None
        return self.path[:-1] + [lvl.select(row_key(lvl.mode, row))]

    def _rows(self) -> list:
        try:
            return self.s.rows(self.path)
        except Exception:
            return []

    def _settle(self):
        while self.ki < len(self.kinds):
            kind = self.kinds[self.ki][0]
            mode = self.path[-1].mode if self.path else None
            if kind == "target" and (self._element_level() or not self.path):
                self.ki += 1
            elif kind == "type" and (mode is None or not mode.types):
                self.ki += 1
            elif kind == "new" and (mode is None or mode.indexed):
                self.ki += 1
            else:
                break

    def _arg(self, w: str) -> str:
        if self.skip_next:
            self.skip_next = False
            return "value"
        kind = self.kinds[self.ki][0] if self.ki < len(self.kinds) else None
        if _OPTION.match(w) and not (kind and "|" in kind and w.lower() in kind.split("|")):
            opt = self.opts.get(w)
            if opt == "value":
                self.skip_next = True
            elif opt == "form":
                self.kinds, self.ki = [("any", "", "*")], 0
            return "option" if opt or not self.opts else "error"
        if kind is None:
            return "error" if self.cmd.args is not None else "text"
        _, qual, rep = self.kinds[self.ki]
        role = self._consume(kind, qual, w)
        if rep != "*" and self.phase == "args":
            self.ki += 1
            self._settle()
        return role

    def _consume(self, kind: str, qual: str, w: str) -> str:
        s = self.s
        if kind in ("target", "object"):
            self.values.append(w)
            path = self._object_path(w)
            if path is None:
                return "error"
            self.target = path
            return "object"
        if kind == "param":
            p = self._spec_param(w)
            if p is None:
                return "error"
            self.param, self.values = p, []
            return "param"
        if kind in ("value", "member", "addarg"):
            self.values.append(w)
            return "number" if _NUMBER.match(w) else "value"
        if kind == "role":
            roles = self.path[-1].mode.roles if self.path else None
            return "type" if roles is not None and roles.find(w) is not None else "error"
        if kind == "type":
            self.typed = w.lower()
            return "type" if self.typed in self.path[-1].mode.types else "error"
        if kind == "new":
            return "value"
        if kind == "file":
            return "file"
        if kind == "mode":
            m = s.schema.modes.get(w.lower())
            return "mode" if m is not None and m.top else "error"
        if kind == "command":
            known = w in s.commands.defs or w in s.commands.aliases or w.lower() in s.schema.modes
            return "command" if known else "error"
        if kind == "line":
            self.phase = "head"
            self.cmd = None
            return self._head(w)
        if "|" in kind:
            return "keyword" if w.lower() in kind.split("|") else "text"
        return "text"

    def _spec(self):
        """The parameters of the target (of the whole mode when it is not known)."""
        if not self.path:
            return None
        path = self.target
        mode = self.path[-1].mode
        if path is None:
            return _AllParams(mode)
        doc = self.s.element(path) if path[-1].key is not _VIRTUAL else None
        return path[-1].mode.spec(doc)

    def _spec_param(self, name: str):
        spec = self._spec()
        return spec.param(name) if spec is not None else None

    # -- what may come next ----------------------------------------------------------------------
    def expected(self) -> tuple[str, str]:
        if self.expect_file:
            return "file", ""
        if self.phase == "head":
            return "head", ""
        if self.phase == "subobj":
            return "object", ""
        if self.phase != "args" or self.skip_next:
            return "none", ""
        if self.ki >= len(self.kinds):
            return "none", ""
        kind, qual, _ = self.kinds[self.ki]
        return kind, qual


class _AllParams:
    """Every parameter objects of a mode may have (when the target object is not known)."""

    def __init__(self, mode):
        self.by_name = mode.all_params()
        if mode.roles is not None:
            for r in mode.roles.roles:
                self.by_name.update(r.spec(mode.params).by_name)
        self.params = list(self.by_name.values())

    def param(self, name):
        return self.by_name.get(name.lower()) or self.by_name.get(name)


# -- candidates -------------------------------------------------------------------------------------
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
    return _cap(out)


def _candidates(w: Walker, prefix: str) -> list[Candidate]:
    kind, qual = w.expected()
    s = w.s
    if w.phase == "args" and prefix.startswith("-") and w.opts and not w.skip_next:
        return _filter([Candidate(o, "option") for o in w.opts], prefix)
    if kind == "head":
        return _filter(_heads(w, prefix), prefix)
    if kind in ("object", "target"):
        return _objects(w, prefix, exclude=w.values if w.kinds and w.ki < len(w.kinds)
                        and w.kinds[w.ki][2] == "*" else ())
    if kind == "param":
        spec = w._spec()
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
        return _values(w, spec.param(mode.add_args[pos]), prefix)
    if kind == "role":
        roles = w.path[-1].mode.roles if w.path else None
        if roles is None:
            return []
        have = {str(r.get("name", "")).lower() for r in w._rows()}
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


def _heads(w: Walker, prefix: str) -> list[Candidate]:
    s, at = w.s, w.at()
    items = []
    for d in s.commands.defs.values():
        try:
            if d.available(at):
                items.append(Candidate(d.name, "command", d.summary))
        except Exception:
            pass
    for m in s.schema.top_modes():
        items.append(Candidate(m.name, "mode", m.help))
    for name in w._submodes():
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
        try:
            return d.available(w.at())
        except Exception:
            return False
    mode = w.s.schema.modes.get(words[0].lower())
    if mode is not None and mode.top:
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
    keys = [str(row_key(lvl.mode, r)) for r in w._rows()]
    return _filter([Candidate(k, "object", lvl.mode.entity) for k in keys if k not in exclude], prefix)


def _values(w: Walker, p, prefix: str) -> list[Candidate]:
    if p is None:
        return []
    typed = set(w.values)
    if p.type == "boolean":
        return _filter([Candidate("yes", "value"), Candidate("no", "value")], prefix)
    if p.type == "enum":
        return _filter([Candidate(c.lower(), "value", c) for c in p.choices if c], prefix)
    if p.type == "blob":
        return files(prefix) if not w.values else []
    if p.target and p.target in w.s.schema.modes and (p.is_list or not w.values):
        mode = w.s.schema.mode(p.target)
        names = names_of(w.s, p.target).matching(prefix)
        return [Candidate(n, "value", mode.entity) for n in names if n not in typed]
    return []


def _members(w: Walker, prefix: str) -> list[Candidate]:
    p = w.param
    if p is None or w.target is None or w.target[-1].key is _VIRTUAL:
        return []
    doc = w.s.element(w.target) or {}
    cur = doc.get(p.name) or []
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
    return _cap(sorted(out, key=lambda c: c.text))


# -- entry points ----------------------------------------------------------------------------------
def suggest(session, text_before_cursor: str) -> list[Candidate]:
    """The candidates for the word at the end of `text_before_cursor`, sorted, each with the
    text that replaces that word (quoted when needed)."""
    text = text_before_cursor
    toks = scan(text)
    current = None
    if toks and toks[-1].kind == "word" and toks[-1].end == len(text):
        current = toks.pop()
    if toks and toks[-1].kind in ("rest", "comment", "shell", "pipe"):
        return []
    w = Walker(session)
    for t in toks:
        w.feed(t)
    prefix = current.value if current is not None else ""
    cands = _candidates(w, prefix)
    start = -(len(text) - current.start) if current is not None else 0
    quote = current is not None and current.quoted
    out = []
    for c in cands:
        t = c.text
        if quote or _SPECIAL.search(t):
            t = '"' + t.replace("\\", "\\\\").replace('"', '\\"') + ('"' if c.final else "")
        out.append(Candidate(t, c.kind, c.meta, start, c.final, c.shown))
    return out


def classify(session, line: str) -> list[tuple[int, int, str]]:
    """(start, end, role) of every token of `line`, for highlighting. Roles: mode, command,
    alias, submode, object, param, value, number, type, keyword, option, file, shell, pipe,
    redirect, sep, paren, comment, text, error."""
    w = Walker(session)
    out = []
    for t in scan(line):
        role = w.feed(t)
        if t.kind == "word" and t.quoted and role in ("value", "text"):
            role = "string"
        out.append((t.start, t.end, role))
    return out


def destructive(line: str) -> bool:
    """Whether a line would commit, remove, discard or roll back anything (history suggestions
    never offer such a line)."""
    n = 0                                   # words so far in this command
    for t in scan(line):
        if t.kind in ("sep", "open"):
            n = 0
        elif t.kind == "word":
            n += 1
            # the command word, or the one after a mode word (`device remove node001`)
            if n <= 2 and not t.quoted and t.value.lower() in _DESTRUCTIVE:
                return True
    return False
