"""The lexical pieces both line parsers share: one word, and the extent of a shell pipeline."""
from __future__ import annotations

from typing import NamedTuple


class Word(NamedTuple):
    value: str        # without quotes and escapes
    end: int          # index just after the word
    quoted: bool
    unclosed: bool    # a `"` was never closed (the word runs to the end of the line)


def word_at(line: str, i: int) -> Word:
    """The word starting at i: double quotes group, backslash escapes; it ends at a blank or
    at one of `; | ( ) >` (and at `#` when that starts it)."""
    n = len(line)
    out: list[str] = []
    quoted = False
    while i < n:
        c = line[i]
        if c == '"':
            quoted = True
            j = i + 1
            while j < n and line[j] != '"':
                if line[j] == "\\" and j + 1 < n and line[j + 1] in '"\\':
                    j += 1
                out.append(line[j])
                j += 1
            if j >= n:
                return Word("".join(out), n, True, True)
            i = j + 1
            continue
        if c in " \t;|()>" or (c == "#" and not out and not quoted):
            break
        if c == "\\" and i + 1 < n:
            out.append(line[i + 1])
            i += 2
            continue
        out.append(c)
        i += 1
    return Word("".join(out), i, quoted, False)


def pipeline_end(line: str, i: int) -> tuple[int, bool]:
    """Where a pipeline for the OS shell ends (the first `;` outside its quotes, or the end
    of the line), and whether a quote was left open."""
    quote = None
    for j in range(i, len(line)):
        c = line[j]
        if quote:
            if c == quote:
                quote = None
        elif c in "'\"":
            quote = c
        elif c == ";":
            return j, False
    return len(line), quote is not None
