"""cmsh's tables: a header, a dash line, rows; one space between columns (or a delimiter)."""
from __future__ import annotations

import json
import re
import sys
from itertools import starmap
from operator import gt
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


def _width(c: Column, longest: int, verbose: bool) -> int:
    """A column's width given its longest cell (header included); grows with `longest`."""
    if c.unpadded:
        return 0
    if c.lo is None:
        return longest
    if c.lo == c.hi:
        return max(c.lo, longest) if verbose else c.lo
    w = min(max(longest, c.lo), c.hi)
    return max(w, longest) if verbose else w


def _line(cells: list[str], widths: list[int], delimiter: str, is_header: bool = False) -> str:
    out = []
    for cell, w in zip(cells, widths):
        if w == 0:
            out.append(cell)
        else:
            out.append((cell[:w] if is_header else cut(cell, w)).ljust(w))
    return delimiter.join(out).rstrip()


def _rule(headers: list[str], widths: list[int], delimiter: str) -> str:
    # an unpadded column (`hostname:0`) is ruled as wide as its header, not left blank
    return delimiter.join("-" * (w or len(h)) for w, h in zip(widths, headers)).rstrip()


def render(headers: list[str], cols: list[Column], rows: list[list[str]], *,
           delimiter: str = " ", verbose: bool = False) -> list[str]:
    widths = [_width(c, max([len(headers[i])] + [len(r[i]) for r in rows]), verbose)
              for i, c in enumerate(cols)]
    lines = [_line(headers, widths, delimiter, True), _rule(headers, widths, delimiter)]
    lines.extend(_line(r, widths, delimiter) for r in rows)
    return lines


class Stream:
    """`render` for rows that arrive one at a time, written as they come (`write` gets a few
    hundred lines at a time, joined by newlines). The widths come from the rows seen: the
    first `hold` rows are held and set them (a table of no more rows prints exactly as
    `render` prints it); a longer cell later widens its column from that row on, as far as the
    format lets it."""

    def __init__(self, headers: list[str], cols: list[Column], write, *, delimiter: str = " ",
                 verbose: bool = False, hold: int = 1000, chunk: int = 500):
        self.headers, self.cols, self.write = headers, cols, write
        self.delimiter, self.verbose, self.hold, self.chunk = delimiter, verbose, hold, chunk
        self.longest = [len(h) for h in headers]
        self.held: list[list[str]] | None = []
        self.widths: list[int] = []
        self.lines: list[str] = []
        self._fmt = ""
        self._room: list[int] = []
        self.pending: list[list[str]] = []

    def add(self, row: list[str]) -> None:
        if self.held is not None:
            longest = self.longest
            for i, cell in enumerate(row):
                if len(cell) > longest[i]:
                    longest[i] = len(cell)
            self.held.append(row)
            if len(self.held) >= self.hold:
                self._start()
            return
        self.pending.append(row)
        if len(self.pending) >= self.chunk:
            self._rows()

    def _rows(self) -> None:
        """Format the pending rows: the whole chunk at once when no cell in it widens or
        overflows its column (the common case), else row by row."""
        rows, self.pending = self.pending, []
        if not rows:
            return
        most = [max(map(len, col)) for col in zip(*rows)]
        if any(map(gt, most, self.longest)) or any(map(gt, most, self._room)):
            for row in rows:
                self._row(row)
        else:
            self.lines.extend(map(str.rstrip, starmap(self._fmt.format, rows)))
        self._flush()

    def _row(self, row: list[str]) -> None:
        longest = self.longest
        lens = [*map(len, row)]
        if any(map(gt, lens, longest)):
            widths = self.widths
            for i, n in enumerate(lens):
                if n > longest[i]:
                    longest[i] = n
                    w = _width(self.cols[i], n, self.verbose)
                    if w != widths[i]:
                        widths[i] = w
                        self._format()
        if any(map(gt, lens, self._room)):
            self.lines.append(_line(row, self.widths, self.delimiter))
        else:
            self.lines.append(self._fmt.format(*row).rstrip())

    def _format(self) -> None:
        """A format string for rows whose cells all fit their columns."""
        d = self.delimiter.replace("{", "{{").replace("}", "}}")
        self._fmt = d.join("{:<%d}" % w if w else "{}" for w in self.widths)
        self._room = [w if w else sys.maxsize for w in self.widths]    # longer cells are cut

    def _start(self) -> None:
        held, self.held = self.held or [], None
        self.widths = [_width(c, n, self.verbose) for c, n in zip(self.cols, self.longest)]
        self._format()
        self.lines = [_line(self.headers, self.widths, self.delimiter, True),
                      _rule(self.headers, self.widths, self.delimiter)]
        self.lines.extend(_line(r, self.widths, self.delimiter) for r in held)
        self._flush()

    def _flush(self) -> None:
        if self.lines:
            text = "\n".join(self.lines)
            self.lines = []
            self.write(text)

    def close(self) -> None:
        if self.held is not None:
            self._start()
        self._rows()
        self._flush()


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
