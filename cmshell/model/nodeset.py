"""Node names in values: print lists compressed, read them with cmsh's node-list grammar.

The grammar itself lives in cmshell/syntax/nodelist.py (pure); this module keeps the names the
model has always used.
"""
from __future__ import annotations

from cmshell.syntax.nodelist import NodeListError, parse, render

__all__ = ["NodeListError", "compress", "expand", "expand_words"]


def compress(names: list[str]) -> str:
    """Runs of three or more consecutive, equally padded names print as `first..last`."""
    return render(names)


def expand(word: str) -> list[str]:
    """`node001..node003` → node001, node002, node003; a word the grammar cannot read stands
    for itself."""
    try:
        return parse([word])
    except NodeListError:
        return [word]


def expand_words(words: list[str]) -> list[str]:
    """The names a list value typed as `words` stands for (`node00[1-4],-node002`, `^file` …);
    raises NodeListError when the list cannot be read."""
    return parse(words)
