"""Node names: compress `node001,node002,node003` to `node001..node003`, expand ranges back."""
from __future__ import annotations

import re

_TAIL = re.compile(r"^(.*?)(\d+)$")


def compress(names: list[str]) -> str:
    """Runs of three or more consecutive, equally padded names print as `first..last`."""
    parts: list[str] = []
    run: list[str] = []
    prev = None  # (prefix, width, number)

    def flush():
        if len(run) >= 3:
            parts.append(f"{run[0]}..{run[-1]}")
        else:
            parts.extend(run)
        run.clear()

    for name in names:
        m = _TAIL.match(name)
        cur = (m.group(1), len(m.group(2)), int(m.group(2))) if m else None
        if cur and prev and cur[:2] == prev[:2] and cur[2] == prev[2] + 1:
            run.append(name)
        else:
            flush()
            run.append(name)
        prev = cur
    flush()
    return ",".join(parts)


def expand(word: str) -> list[str]:
    """`node001..node003` → node001, node002, node003; anything else stands for itself."""
    if ".." not in word:
        return [word]
    first, _, last = word.partition("..")
    a, b = _TAIL.match(first), _TAIL.match(last)
    if not a or not b or a.group(1) != b.group(1) or int(a.group(2)) > int(b.group(2)):
        return [word]
    width = len(a.group(2))
    return [f"{a.group(1)}{i:0{width}d}" for i in range(int(a.group(2)), int(b.group(2)) + 1)]
