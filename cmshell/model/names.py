"""Names of objects and of submode entries: what a name may hold.

A name must read back as itself wherever it is typed: on the command line (`;` `|` `>` `#`
`"` `(` `)` `\\` and blanks are syntax), in node lists (`,` `[` `]` `..`, a leading `-` or
`^`) and in the store, the journal and the history file, which are line-based in places
(control characters: newline, NUL ...). cmsh's names are as plain.
"""
from __future__ import annotations

import re
import unicodedata

_PLAIN = re.compile(r"[A-Za-z0-9_.:@+=/][A-Za-z0-9_.:@+=/-]*")

_SYNTAX = ';|>#"()\\'
_LISTS = ",[]"


def problem(name: object) -> str | None:
    """None when `name` is a usable name; else what is wrong, to follow the name in a message
    (`holds a newline`)."""
    if not isinstance(name, str):
        return f"must be text, not {type(name).__name__}"
    if _PLAIN.fullmatch(name) and ".." not in name:     # the common case, at once
        return None
    if name == "":
        return "cannot be empty"
    from cmshell.syntax.text import not_utf8
    if not_utf8(name) is not None:
        return "is not UTF-8 text"
    for c in name:
        if unicodedata.category(c) in ("Cc", "Cs"):
            what = {"\n": "a newline", "\t": "a tab", "\x00": "a NUL", "\r": "a carriage return"}
            return "holds " + what.get(c, f"the control character {ascii(c)[1:-1]}")
        if c.isspace():
            return "holds a blank"
        if c in _SYNTAX:
            return f"holds {c!r}, which the command line reads as syntax"
        if c in _LISTS:
            return f"holds {c!r}, which node lists read as syntax"
    if ".." in name:
        return "holds '..', which node lists read as a range"
    if name[0] in "-^":
        return f"starts with {name[0]!r}, which node lists read as syntax"
    return None


def shown(name: object) -> str:
    """A name as an error message quotes it (escapes for what would break the line)."""
    text = name if isinstance(name, str) else repr(name)
    return "".join(c if c.isprintable() else ascii(c)[1:-1] for c in text)
