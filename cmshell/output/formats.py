"""Tables in the formats that scripts and documents want (tabulate), beside cmsh's own fixed-width
look (output/table.py): `list --output grid|markdown|rst|csv|tsv`, and cmshell's own reports
(the recap of `sync`)."""
from __future__ import annotations

import csv
import io

# --output NAME -> tabulate's format (csv and tsv are written by the csv module: unpadded, quoted
# as RFC 4180 where a cell needs it)
FORMATS = {"grid": "grid", "markdown": "github", "rst": "rst", "csv": None, "tsv": None}


class FormatError(Exception):
    pass


def check(name: str) -> str:
    if name not in FORMATS:
        raise FormatError(f"Unknown output format {name}; formats: {', '.join(FORMATS)}")
    return name


def render(name: str, headers: list[str], rows: list[list[str]]) -> list[str]:
    """The table in format `name`, whole cells (nothing cut), as lines."""
    check(name)
    if name in ("csv", "tsv"):      # unpadded, quoted only where needed: for scripts
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n", delimiter="," if name == "csv" else "\t")
        writer.writerow(headers)
        writer.writerows(rows)
        return buf.getvalue().splitlines()
    from tabulate import tabulate
    if name == "markdown":            # a `|` in a cell would end the cell
        rows = [[c.replace("|", "\\|") for c in r] for r in rows]
    text = tabulate(rows, headers=headers, tablefmt=FORMATS[name], disable_numparse=True)
    return text.splitlines()


def report(headers: list[str], rows: list[list[str]]) -> list[str]:
    """A report of cmshell's own (not a cmsh listing): columns as wide as their content, two
    blanks apart, a dash line under the header (tabulate's `simple`)."""
    from tabulate import tabulate
    text = tabulate(rows, headers=headers, tablefmt="simple", disable_numparse=True)
    return [line.rstrip() for line in text.splitlines()]
