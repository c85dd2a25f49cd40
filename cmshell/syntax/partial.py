"""Tokens of a line that is still being typed: like syntax/line.py, but never failing
(unclosed quotes and parentheses are normal mid-line). Used by completion and highlighting."""
from __future__ import annotations

from dataclasses import dataclass

from cmshell.syntax.words import pipeline_end, word_at


@dataclass
class Tok:
    kind: str            # word sep open close pipe shell rest redir comment
    start: int
    end: int
    value: str = ""      # a word without its quotes and escapes
    quoted: bool = False
    unclosed: bool = False


def scan(line: str) -> list[Tok]:
    """Tokens of a line as syntax/line.py reads it, without ever failing."""
    toks: list[Tok] = []
    i, n = 0, len(line)
    at_start = True                     # a `!` here escapes to the OS shell
    while i < n:
        c = line[i]
        if c in " \t":
            i += 1
            continue
        if c == ";":
            toks.append(Tok("sep", i, i + 1))
            i += 1
            at_start = True
            continue
        if c == "#":
            toks.append(Tok("comment", i, n))
            break
        if c == "!" and at_start:
            toks.append(Tok("shell", i, i + 1))
            if i + 1 < n:
                toks.append(Tok("rest", i + 1, n, line[i + 1:]))
            break
        if c == "|":
            toks.append(Tok("pipe", i, i + 1))
            end = pipeline_end(line, i + 1)[0]
            if line[i + 1:end].strip():
                toks.append(Tok("rest", i + 1, end, line[i + 1:end]))
            i = end
            continue
        if c == ">":
            op = 2 if line.startswith(">>", i) else 1
            toks.append(Tok("redir", i, i + op))
            i += op
            continue
        if c in "()":
            toks.append(Tok("open" if c == "(" else "close", i, i + 1))
            i += 1
            at_start = c == "("
            continue
        tok = _word(line, i)
        toks.append(tok)
        i = tok.end
        at_start = False
    return toks


def _word(line: str, i: int) -> Tok:
    w = word_at(line, i)
    return Tok("word", i, w.end, w.value, w.quoted, w.unclosed)
