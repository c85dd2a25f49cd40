"""The context of a line being typed: what each word is, and where the line has taken you.

A `Walker` is fed the tokens of syntax/partial.py one by one and follows the session's own
rules without running anything: mode words, mode-prefixed commands, submode words, aliases,
`;`, `(`…`)`, `|`, `!`, `>`, and the argument kinds each command declares
(`CommandDef.args`, shell/dispatch.py). Where a word takes you is asked of
shell/navigate.py — the functions the session and the navigation commands move with — and a
command that moves declares where to (`CommandDef.moves`), so `use node001; set …` completes
the parameters of node001. Completion (shell/candidates.py) reads what it expects next.
"""
from __future__ import annotations

import re

from cmshell.shell import navigate
from cmshell.shell.location import Level
from cmshell.syntax.partial import Tok, scan

_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
OPTION = re.compile(r"^--?[A-Za-z][\w-]*$")


class At:
    """The session as if it stood at `path` (what CommandDef.available needs); read-only."""

    def __init__(self, session, path):
        self._s = session
        self.path = path

    def element(self, path=None):
        return self._s.element(self.path if path is None else path)

    def rows(self, path=None):
        return self._s.rows(self.path if path is None else path)

    def __getattr__(self, name):
        return getattr(self._s, name)


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
    """Options a command's usage lines show, and what follows each: "flag" (`-v`); the kind of
    its value (`-c|--category <list>` with `options={"-c|--category": "ref:category"}` in the
    definition; "any" when the definition does not say); "form" for a valued option right
    after the command's name, which starts another form of it whose arguments are not
    described (`set -e|--extra <name> <value>`)."""
    out: dict[str, str] = {}
    for line in cmd.usage:
        toks = re.findall(r"\[|\]|<[^>]*>|[^\s\[\]]+", line)
        for i, t in enumerate(toks):
            names = [o for o in t.split("|") if OPTION.match(o)]
            if not names or len(names) != len(t.split("|")):
                continue
            nxt = toks[i + 1] if i + 1 < len(toks) else ""
            valued = nxt.startswith("<")
            kind = "form" if i == 1 and valued else ("any" if valued else "flag")
            for o in names:
                out.setdefault(o, kind)
    for spelled, kind in getattr(cmd, "options", {}).items():
        for o in spelled.split("|"):
            out[o] = kind
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
        self.bare = False                # the last word was a mode word
        self.phase = "head"
        self.cmd = None
        self.args: list[str] = []        # the command's words so far (not its options)
        self.kinds: list = []
        self.ki = 0
        self.target = None
        self.param = None
        self.values: list[str] = []
        self.typed = ""
        self.sub = None
        self.skip_next = ""              # the kind of the value an option just read takes
        self.expect_file = False
        self.opts: dict = {}

    def at(self) -> At:
        return At(self.s, self.path)

    def element_level(self) -> bool:
        return bool(self.path) and self.path[-1].key is not None

    def rows(self) -> list:
        """The rows of the collection the path ends in (nested levels only)."""
        return self.s.rows(self.path) if len(self.path) > 1 else []

    def submodes(self) -> dict:
        return navigate.submodes(self.s, self.path)

    def _end_segment(self):
        """Where the next `;`-separated command starts: where this one took you."""
        after = self.path
        if self.cmd is not None and self.cmd.moves is not None:
            moved = self.cmd.moves(self.s, self.path, self.args)
            if moved is not None:
                after = moved
        if self.prefix_mode is not None:
            if self.bare:
                after = navigate.enter(self.s.ws, self.prefix_mode)      # a bare mode word
            elif self.phase in ("dead", "subobj"):
                after = self.seg_path         # `device frobnicate`: it fails, you stay where you were
            elif self.cmd is not None:
                after = navigate.settle(self.seg_path, self.prefix_mode, after)
        self.path = after
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
                inner = navigate.new_object(inner)       # each object of the list, one by one
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
        self.bare = False
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
        mode = navigate.top_mode(s.schema, w)
        if mode is not None:
            self.path = [Level(mode)]
            self.prefix_mode = mode
            self.bare = True
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
            if d.available(self.at()):
                self.cmd = d
                self.args = []
                self.phase = "args"
                self.kinds = _kinds(d.args)
                self.opts = options_of(d)
                self.target = self.path if self.element_level() else None
                self._settle()
                return "command"
            self.phase = "dead"
            return "error"
        sub = navigate.submode(s, self.path, w)
        if sub is not None:
            if self.element_level():
                self.path = navigate.into(s, self.path, sub)
            else:
                self.phase = "subobj"         # `roles node001`: the object comes first
                self.sub = sub
            return "submode"
        self.phase = "dead"
        return "error"

    def _subobj(self, w: str) -> str:
        path = navigate.find(self.s, self.path, w)
        sub = navigate.submode(self.s, path, self.sub.name) if path is not None else None
        if sub is None:
            self.phase = "dead"
            return "error"
        self.path = navigate.into(self.s, path, sub)
        self.phase = "head"
        return "object"

    def _settle(self):
        while self.ki < len(self.kinds):
            kind = self.kinds[self.ki][0]
            mode = self.path[-1].mode if self.path else None
            if kind == "target" and (self.element_level() or not self.path):
                self.ki += 1
            elif kind == "type" and (mode is None or not mode.types):
                self.ki += 1
            elif kind == "new" and (mode is None or mode.indexed):
                self.ki += 1
            else:
                break

    def _arg(self, w: str) -> str:
        if self.skip_next:
            self.skip_next = ""
            return "value"
        kind = self.kinds[self.ki][0] if self.ki < len(self.kinds) else None
        if OPTION.match(w) and not (kind and "|" in kind and w.lower() in kind.split("|")):
            opt = self.opts.get(w)
            if opt and opt not in ("flag", "form"):
                self.skip_next = opt
            elif opt == "form":
                self.kinds, self.ki = [("any", "", "*")], 0
            return "option" if opt or not self.opts else "error"
        self.args.append(w)
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
            path = navigate.find(s, self.path, w)
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
        if kind == "field":             # `sort category hostname`, `format hostname:20,ip`
            mode = self.path[-1].mode if self.path else None
            known = mode.all_params() if mode is not None else {}
            fields = [f.split(":")[0].strip() for f in w.split(",") if f.strip()]
            self.values += fields
            ok = all(f in known or (f == "index" and mode.indexed) for f in fields)
            return "param" if ok else "error"
        if kind == "file":
            return "file"
        if kind == "mode":
            return "mode" if navigate.top_mode(s.schema, w) is not None else "error"
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

    def spec(self):
        """The parameters of the target (of the whole mode when it is not known)."""
        if not self.path:
            return None
        path = self.target
        if path is None:
            return _AllParams(self.path[-1].mode)
        return path[-1].mode.spec(self.s.element(path))

    def _spec_param(self, name: str):
        spec = self.spec()
        return spec.param(name) if spec is not None else None

    # -- what may come next ----------------------------------------------------------------------
    def expected(self) -> tuple[str, str]:
        if self.expect_file:
            return "file", ""
        if self.phase == "head":
            return "head", ""
        if self.phase == "subobj":
            return "object", ""
        if self.phase != "args":
            return "none", ""
        if self.skip_next:
            kind, _, qual = self.skip_next.partition(":")
            return kind, qual
        if self.ki >= len(self.kinds):
            return "none", ""
        kind, qual, _ = self.kinds[self.ki]
        return kind, qual


class _AllParams:
    """Every parameter objects of a mode may have (when the target object is not known)."""

    def __init__(self, mode):
        self.by_name = mode.all_params()
        self.params = list(self.by_name.values())

    def param(self, name):
        return self.by_name.get(name.lower()) or self.by_name.get(name)
