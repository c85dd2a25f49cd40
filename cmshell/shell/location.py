"""Where the session is: a path of levels from a top-level mode down through submodes."""
from __future__ import annotations

from dataclasses import dataclass

from cmshell.model.schema import Mode


@dataclass(frozen=True, slots=True)
class Level:
    mode: Mode
    param: str | None = None     # submode parameter of the parent element; None at the top
    key: object = None           # selected element: an id at the top, a key value below

    def select(self, key) -> "Level":
        return Level(self.mode, self.param, key)


def find_row(mode: Mode, rows: list[dict], key) -> dict | None:
    """The element of a collection named `key` (index, exact name, then any case)."""
    if rows is None:
        return None
    if mode.indexed:
        try:
            k = int(key)
        except (TypeError, ValueError):
            return None
        return next((r for r in rows if r.get("index") == k), None)
    key = str(key)
    for r in rows:
        if str(r.get(mode.key, "")) == key:
            return r
    low = key.lower()
    hits = [r for r in rows if str(r.get(mode.key, "")).lower() == low]
    if len(hits) == 1:
        return hits[0]
    if mode.roles is not None:
        canon = mode.roles.canonical(key)
        if canon:
            return next((r for r in rows if str(r.get("name", "")).lower() == canon.lower()), None)
    return None


def row_key(mode: Mode, row: dict):
    return row.get("index") if mode.indexed else row.get(mode.key, "")
