"""cmsh's tables: a header, a dash line, rows; one space between columns (or a delimiter)."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass

_WIDTH = re.compile(r"^(?P<field>[^:]+)(?::(?:(?P<fixed>\d+)|\[(?P<lo>\d+)-(?P<hi>\d+)\]))?$")


class FormatError(Exception):
    pass


@dataclass
class Column:
    field: str
    lo: int | None = None      # None: fit the content
    hi: int | None = None

    @property
    def unpadded(self) -> bool:
        return self.lo == 0 and self.hi == 0


MAX_WIDTH = 4096      # a column wider than any terminal or script needs


def parse_format(spec: str) -> list[Column]:
    """`type:22,hostname:[16-32],mac` → columns (cmsh `format` syntax)."""
    cols = []
    for part in spec.split(","):
        part = part.strip()
        if not part:
            continue
        m = _WIDTH.match(part)
        if not m:
            raise FormatError(f"Invalid format field: {part}")
        if any(len(w) > 4 or int(w) > MAX_WIDTH for w in m.group("fixed", "lo", "hi") if w):
            raise FormatError(f"Invalid format field: {part} (widths go up to {MAX_WIDTH})")
        if m.group("fixed") is not None:
            n = int(m.group("fixed"))
            cols.append(Column(m.group("field"), n, n))
        elif m.group("lo") is not None:
            cols.append(Column(m.group("field"), int(m.group("lo")), int(m.group("hi"))))
        else:
            cols.append(Column(m.group("field")))
    if not cols:
        raise FormatError("Empty format")
    return cols


def cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(width - 1, 0)] + "+"


def render(headers: list[str], cols: list[Column], rows: list[list[str]], *,
           delimiter: str = " ", verbose: bool = False) -> list[str]:
    widths = []
    for i, c in enumerate(cols):
        longest = max([len(headers[i])] + [len(r[i]) for r in rows])
        if c.unpadded:
            widths.append(0)
        elif c.lo is None:
            widths.append(longest)
        elif c.lo == c.hi:
            widths.append(max(c.lo, longest) if verbose else c.lo)
        else:
            w = min(max(longest, c.lo), c.hi)
            widths.append(max(w, longest) if verbose else w)

    def line(cells, is_header=False):
        out = []
        for cell, w in zip(cells, widths):
            if w == 0:
                out.append(cell)
            else:
                out.append((cell[:w] if is_header else cut(cell, w)).ljust(w))
        return delimiter.join(out).rstrip()

    # an unpadded column (`hostname:0`) is ruled as wide as its header, not left blank
    rule = delimiter.join("-" * (w or len(h)) for w, h in zip(widths, headers)).rstrip()
    lines = [line(headers, True), rule]
    lines.extend(line(r) for r in rows)
    return lines


def render_json(keys: list[str], rows: list[list[str]], indent: int = 2) -> list[str]:
    return json.dumps([dict(zip(keys, r)) for r in rows], indent=indent).splitlines()


def json_indent(delimiter: str) -> int | None:
    """`{}` → 2, `{4}` → 4; anything else is a plain delimiter (None)."""
    m = re.fullmatch(r"\{(\d?)\}", delimiter)
    if not m:
        return None
    return int(m.group(1)) if m.group(1) else 2


def simple(headers: list[str], widths: list[int], rows: list[list[str]]) -> list[str]:
    """A fixed-layout table (modified, validation errors): columns at least `widths` wide."""
    ws = [max([w, len(h)] + [len(r[i]) for r in rows]) for i, (h, w) in enumerate(zip(headers, widths))]
    out = [" ".join(h.ljust(w) for h, w in zip(headers, ws)).rstrip(),
           " ".join("-" * w for w in ws)]
    out.extend(" ".join(c.ljust(w) for c, w in zip(r, ws)).rstrip() for r in rows)
    return out


def pairs(rows: list[tuple[str, str]], label_width: int = 32, value_width: int = 48) -> list[str]:
    """`show`: Parameter / Value."""
    w = max([label_width] + [len(k) for k, _ in rows])
    out = ["Parameter".ljust(w) + " Value", "-" * w + " " + "-" * value_width]
    out.extend((k.ljust(w) + " " + v).rstrip() for k, v in rows)
    return out
