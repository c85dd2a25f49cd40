"""Text that came from outside: bytes that are not UTF-8 arrive as lone surrogates (Python's
`surrogateescape` of argv and of stdin, `\\udcff` escapes in YAML). Such text is never run or
stored; these helpers find it and make it printable."""
from __future__ import annotations

import re

_SURROGATE = re.compile("[\ud800-\udfff]")


def not_utf8(text: str) -> str | None:
    """None for proper text; else what is wrong, for a one-line error:
    `byte 0xFF at column 24 is not UTF-8`."""
    m = _SURROGATE.search(text)
    if m is None:
        return None
    code = ord(m.group())
    what = f"byte 0x{code - 0xDC00:02X}" if 0xDC80 <= code <= 0xDCFF else f"character U+{code:04X}"
    return f"{what} at column {m.start() + 1} is not UTF-8"


def not_a_line(text: str) -> str | None:
    """Like not_utf8, and a NUL (which no file name, argument or value can hold) too."""
    i = text.find("\x00")
    m = _SURROGATE.search(text)
    if i >= 0 and (m is None or i < m.start()):
        return f"a NUL character at column {i + 1}"
    return not_utf8(text)


def has_surrogates(text: str) -> bool:
    return _SURROGATE.search(text) is not None


def printable(text: str) -> str:
    """The text with every such character written as an escape (`\\xff`, `\\ud800`)."""
    if _SURROGATE.search(text) is None:
        return text
    return _SURROGATE.sub(lambda m: (f"\\x{ord(m.group()) - 0xDC00:02x}" if 0xDC80 <= ord(m.group()) <= 0xDCFF
                                     else f"\\u{ord(m.group()):04x}"), text)
