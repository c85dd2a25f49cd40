"""What fits at the cursor: the pure part of tab completion and of highlighting.

    suggest(session, text_before_cursor) -> [Candidate, ...]
    classify(session, line) -> [(start, end, role), ...]
    destructive(line) -> bool

Both walk the line with the same Walker (shell/walker.py: what each word is, and where the
line has taken you, through the navigation the commands themselves use); suggest then asks
shell/candidates.py what may come next. Nothing here imports prompt_toolkit or pygments,
changes the session, or touches anything but the workspace's in-memory view (and, for file
names, the local directory being completed).
"""
from __future__ import annotations

import re

from cmshell.shell.candidates import LIMIT, Candidate, candidates, files, prefixed
from cmshell.shell.walker import Walker
from cmshell.syntax.partial import scan

__all__ = ["LIMIT", "Candidate", "classify", "destructive", "files", "suggest"]

_range = prefixed              # the capped prefix search (tests/repl/test_complete.py)
_SPECIAL = re.compile(r'[\s;|()>#"\\]')
_DESTRUCTIVE = {"commit", "remove", "refresh", "rollback"}


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
    cands = candidates(w, prefix)
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
