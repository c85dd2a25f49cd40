"""The committed documents of a store as a read-only View (model/effective.py)."""
from __future__ import annotations

from typing import Iterable

from cmshell.model.schema import Schema
from cmshell.store.base import Store


class StoreView:
    """Reads each mode once, on first use; build a new one to see later commits."""

    def __init__(self, store: Store, schema: Schema):
        self.store, self.schema = store, schema
        self._by: dict[str, dict[str, dict]] = {}

    def _mode(self, mode: str) -> dict[str, dict]:
        got = self._by.get(mode)
        if got is None:
            got = self._by[mode] = {r.name: r.doc for r in self.store.load(mode)}
        return got

    def get(self, mode: str, name: str) -> dict | None:
        return self._mode(mode).get(name)

    def docs(self, mode: str) -> Iterable[dict]:
        return list(self._mode(mode).values())
