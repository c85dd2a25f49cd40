"""The candidate: a lazily loaded snapshot of the store plus this session's staged edits.

Top-level objects are identified by their store id, so renames are ordinary edits. Nothing
reaches the store until `commit`, which sends one revision-checked change set.
"""
from __future__ import annotations

import copy
import gc
import heapq
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from cmshell.model import validate as checks
from cmshell.model.schema import Mode, Schema
from cmshell.store.base import Change, Record, Store


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while a bulk operation makes many containers (it
    would rescan every document of the session again and again; documents hold no cycles)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def clone(doc):
    """A deep copy of a JSON document (dicts, lists and scalars), several times faster than
    copy.deepcopy; anything else inside is copied with copy.deepcopy."""
    t = type(doc)
    if t is dict:
        return {k: v if type(v) in _SCALARS else clone(v) for k, v in doc.items()}
    if t is list:
        return [v if type(v) in _SCALARS else clone(v) for v in doc]
    if t in _SCALARS:
        return doc
    return copy.deepcopy(doc)


_SCALARS = frozenset((str, int, float, bool, type(None)))


@dataclass
class Staged:
    mode: str
    base: Record | None      # None: added in this session
    doc: dict | None         # None: removed


class Workspace:
    # after this many single-object reads in one mode, read the whole mode in one query
    BULK_AFTER = 32

    def __init__(self, store: Store, schema: Schema):
        self.store = store
        self.schema = schema
        self._index: dict[str, dict[str, str]] = {}      # mode -> id -> name (committed)
        self._recs: dict[str, dict[str, Record]] = {}    # mode -> id -> record read so far
        self._complete: set[str] = set()                 # modes whose records are all read
        self._reads: dict[str, int] = {}                 # mode -> single reads so far
        self._docs: dict[str, dict] = {}                 # id -> normalised base doc
        self._names: dict[str, dict[str, str]] = {}      # mode -> name -> id (current view)
        self.staged: dict[str, Staged] = {}
        self._touched: set[str] = set()                  # edited since the last prune()
        self._differs: set[str] = set()                  # staged, found unlike the base by prune()
        self._subnames: dict[str, frozenset[str]] = {}   # mode -> its submode field names

    # -- reading ---------------------------------------------------------------------------
    def _ids(self, mode: str) -> dict[str, str]:
        idx = self._index.get(mode)
        if idx is None:
            idx = self._index[mode] = dict(self.store.index(mode))
        return idx

    def _record(self, mode: str, rid: str) -> Record | None:
        recs = self._recs.setdefault(mode, {})
        rec = recs.get(rid)
        if rec is None and mode not in self._complete and rid in self._ids(mode):
            self._reads[mode] = self._reads.get(mode, 0) + 1
            if self._reads[mode] > self.BULK_AFTER:
                self.prefetch(mode)
                rec = recs.get(rid)
            else:
                got = self.store.records(mode, [rid])
                if got:
                    rec = recs[rid] = got[0]
        return rec

    def prefetch(self, mode: str) -> None:
        """Read every record of a mode in one query (before walking all its objects)."""
        if mode in self._complete:
            return
        recs = self._recs.setdefault(mode, {})
        got = self.store.load(mode)
        for r in got:
            recs.setdefault(r.id, r)     # keep records whose documents are already cached
        if mode not in self._index:      # the (id, name) index too, sharing the records' strings
            self._index[mode] = {r.id: r.name for r in got}
        self._complete.add(mode)

    def loaded_modes(self) -> list[str]:
        return list(self._index)

    def names(self, mode: str) -> dict[str, str]:
        """name -> id of every object of the mode as this session sees it."""
        idx = self._names.get(mode)
        if idx is None:
            key = self.schema.mode(mode).key
            idx = {name: rid for rid, name in self._ids(mode).items()}
            for rid, st in self.staged.items():
                if st.mode == mode and st.base is not None:
                    idx.pop(st.base.name, None)
            for rid, st in self.staged.items():
                if st.mode == mode and st.doc is not None:
                    idx[str(st.doc.get(key, ""))] = rid
            self._names[mode] = idx
        return idx

    def names_cached(self, mode: str) -> dict[str, str]:
        """`names(mode)` when the mode's index is in memory; otherwise, without reading the
        store, just the objects this session added (what completion can answer at once)."""
        if mode in self._index:
            return self.names(mode)
        key = self.schema.mode(mode).key
        return {str(st.doc.get(key, "")): rid for rid, st in self.staged.items()
                if st.mode == mode and st.base is None and st.doc is not None}

    def adopt_index(self, mode: str, index: list[tuple[str, str]]) -> bool:
        """Take a mode's (id, name) index read elsewhere (a background thread's own store
        connection), unless this session read it already; whether it was taken."""
        if mode in self._index:
            return False
        self._index[mode] = dict(index)
        self._names.pop(mode, None)
        return True

    def where(self, mode: str, field: str, value) -> list[str]:
        """Names of the objects (as this session sees them) whose `field` is `value`."""
        key = self.schema.mode(mode).key
        staged = {rid: st for rid, st in self.staged.items() if st.mode == mode}
        gone = {st.base.name for st in staged.values() if st.base is not None}
        names = {n for n in self.store.where(mode, field, value) if n not in gone}
        names.update(str(st.doc.get(key, "")) for st in staged.values()
                     if st.doc is not None and st.doc.get(field) == value)
        return sorted(names)

    def find(self, mode: str, name: str) -> str | None:
        idx = self.names(mode)
        if name in idx:
            return idx[name]
        low = name.lower()
        hits = [rid for n, rid in idx.items() if n.lower() == low]
        return hits[0] if len(hits) == 1 else None

    def get(self, mode: str, name: str) -> dict | None:
        """The document of object `name` as this session sees it (model/effective.py's View)."""
        rid = self.find(mode, name)
        return self.doc(mode, rid) if rid is not None else None

    def base_doc(self, mode: str, rid: str) -> dict | None:
        doc = self._docs.get(rid)
        if doc is None:
            rec = self._record(mode, rid)
            if rec is None:
                return None
            doc = self._docs[rid] = self.normalise(self.schema.mode(mode), rec.doc)
        return doc

    def doc(self, mode: str, rid: str) -> dict | None:
        st = self.staged.get(rid)
        if st is not None:
            return st.doc
        return self.base_doc(mode, rid)

    def stream(self, mode: str) -> Iterator[tuple[str, dict]]:
        """(id, document as this session sees it) of every object of the mode, in name order,
        read from the store a chunk at a time and not cached: a long `list` holds one chunk of
        documents, not the mode. Staged objects take their place in the order."""
        m = self.schema.mode(mode)
        staged = {rid: st for rid, st in self.staged.items() if st.mode == mode}
        mine = sorted(((str(st.doc.get(m.key, "")), rid, st.doc) for rid, st in staged.items()
                       if st.doc is not None), key=lambda t: t[0])

        seen = self._recs.get(mode, {})         # records this session read already: as read

        def stored() -> Iterator[tuple[str, str, dict]]:
            for rid, name, doc in self.store.scan(mode):
                if rid in staged:
                    continue
                if rid in seen:
                    doc = self.base_doc(mode, rid) or {}
                elif self._has_rows(m, doc):
                    doc = self.normalise(m, doc)
                yield name, rid, doc

        if not mine:
            for _, rid, doc in stored():
                yield rid, doc
            return
        for _, rid, doc in heapq.merge(stored(), mine, key=lambda t: t[0]):
            yield rid, doc

    def items(self, mode: str) -> list[tuple[str, dict]]:
        """(id, document as this session sees it) of every object of the mode, in name order:
        what walking `names` with `doc` gives, in one pass (bulk selections of 100,000 nodes)."""
        with paused_gc():
            return self._items(mode)

    def _items(self, mode: str) -> list[tuple[str, dict]]:
        self.prefetch(mode)
        names = self.names(mode)
        m = self.schema.mode(mode)
        recs, docs, staged = self._recs.get(mode, {}), self._docs, self.staged
        out = []
        for name in sorted(names):
            rid = names[name]
            st = staged.get(rid)
            if st is not None:
                if st.doc is not None:
                    out.append((rid, st.doc))
                continue
            d = docs.get(rid)
            if d is None:
                rec = recs.get(rid)
                d = self.base_doc(mode, rid) if rec is None else docs.setdefault(rid, self.normalise(m, rec.doc))
                if d is None:
                    continue
            out.append((rid, d))
        return out

    def docs(self, mode: str) -> list[dict]:
        self.prefetch(mode)
        return [self.doc(mode, rid) for rid in self.names(mode).values()]

    def name_of(self, mode: str, rid: str) -> str:
        doc = self.doc(mode, rid) or self.base_doc(mode, rid) or {}
        return str(doc.get(self.schema.mode(mode).key, ""))

    # -- editing ---------------------------------------------------------------------------
    def edit(self, mode: str, rid: str) -> dict:
        """The staged (mutable) document of an object, copied from the base on first edit."""
        st = self.staged.get(rid)
        if st is None:
            base = self._record(mode, rid)
            if base is None:
                raise KeyError(rid)
            st = self.staged[rid] = Staged(mode, base, clone(self.base_doc(mode, rid)))
        if st.doc is None:
            raise KeyError(rid)
        self._touched.add(rid)
        return st.doc

    def add(self, mode: str, doc: dict) -> str:
        rid = uuid.uuid4().hex
        self.staged[rid] = Staged(mode, None, doc)
        self._names.pop(mode, None)
        return rid

    def remove(self, mode: str, rid: str) -> None:
        st = self.staged.get(rid)
        if st is not None and st.base is None:
            del self.staged[rid]
        else:
            self.staged[rid] = Staged(mode, self._record(mode, rid), None)
        self._names.pop(mode, None)

    def renamed(self, mode: str) -> None:
        self._names.pop(mode, None)

    def discard(self, rids) -> None:
        modes = set()
        for rid in list(rids):
            st = self.staged.pop(rid, None)
            self._differs.discard(rid)
            if st is not None:
                modes.add(st.mode)
        for m in modes:
            self.forget(m)        # refresh re-reads the store (e.g. after a refused commit)

    def forget(self, mode: str) -> None:
        """Re-read a mode from the store on next use. Cached docs go too (a fresh record with a
        stale doc would let a later edit overwrite another session's commit); staged objects
        keep theirs, which their edits are compared against."""
        for rid in self._recs.pop(mode, {}):
            if rid not in self.staged:
                self._docs.pop(rid, None)
        self._index.pop(mode, None)
        self._complete.discard(mode)
        self._reads.pop(mode, None)
        self._names.pop(mode, None)

    # -- state -----------------------------------------------------------------------------
    def state(self, rid: str) -> str | None:
        """'+' added, '~' removed, ' ' modified, None unchanged."""
        st = self.staged.get(rid)
        if st is None:
            return None
        if st.base is None:
            return "+"
        if st.doc is None:
            return "~"
        if rid in self._differs and rid not in self._touched:
            return " "                  # compared at the last prune, not edited since
        if st.doc != self.base_doc(st.mode, rid):
            return " "
        return None

    def pending(self, mode: str | None = None) -> list[tuple[str, str, str]]:
        """(state, mode, id) of every staged change, optionally of one mode."""
        out = []
        for rid, st in self.staged.items():
            if mode is None or st.mode == mode:
                s = self.state(rid)
                if s is not None:
                    out.append((s, st.mode, rid))
        return out

    def mode_changed(self, mode: str) -> bool:
        return any(st.mode == mode and self.state(rid) for rid, st in self.staged.items())

    def prune(self) -> None:
        """Forget staged copies edited back to their base (so stars vanish)."""
        differs = self._differs
        for rid in self._touched:
            st = self.staged.get(rid)
            if st is None or st.base is None:
                differs.discard(rid)
            elif st.doc == self.base_doc(st.mode, rid):
                del self.staged[rid]
                differs.discard(rid)
            else:
                differs.add(rid)
        self._touched.clear()

    # -- validation ------------------------------------------------------------------------
    def validate(self, items) -> list[checks.Problem]:
        """Problems of the candidate objects `items` [(mode, id)]; removals must be unreferenced."""
        out: list[checks.Problem] = []

        known: dict[tuple[str, str], bool] = {}

        def exists(mode, name):
            got = known.get((mode, name))
            if got is None:
                got = known[(mode, name)] = mode in self.schema.modes and self.find(mode, name) is not None
            return got

        for mode_name, rid in items:
            mode = self.schema.mode(mode_name)
            doc = self.doc(mode_name, rid)
            if doc is not None:
                out.extend(checks.check(self.schema, mode, doc, exists))
                continue
            name = self.staged[rid].base.name
            for other in checks.pointer_modes(self.schema, mode_name):
                omode = self.schema.mode(other)
                for orid in self.names(other).values():
                    for field in checks.references(self.schema, omode, self.doc(other, orid), mode_name, name):
                        out.append(checks.Problem(checks.IN_USE, field, f"{mode.entity} {name} is used by "
                                                  f"{omode.entity} {self.name_of(other, orid)}"))
        return out

    # -- commit ----------------------------------------------------------------------------
    def changes(self, rids) -> list[Change]:
        out = []
        for rid in rids:
            st = self.staged[rid]
            m = self.schema.mode(st.mode)
            if st.doc is None:
                out.append(Change(rid, st.mode, st.base.name, st.base.revision, None, st.base))
            else:
                out.append(Change(rid, st.mode, str(st.doc.get(m.key, "")),
                                  st.base.revision if st.base else None, self.denormalise(m, st.doc),
                                  st.base))
        return out

    def committed(self, rids) -> None:
        """The staged objects `rids` are stored now: drop them and re-read their modes."""
        modes = set()
        for rid in rids:
            st = self.staged.pop(rid)
            modes.add(st.mode)
            self._docs.pop(rid, None)
            self._differs.discard(rid)
        for mode in modes:
            self.forget(mode)

    def refresh_all(self) -> None:
        self.staged.clear()
        self._differs.clear()
        for mode in list(self._index) + list(self._recs):
            self.forget(mode)
        self._docs.clear()

    # -- index-keyed rows -----------------------------------------------------------------
    def _walk(self, mode: Mode, doc: dict, fn) -> dict:
        spec = mode.spec(doc)
        for p in spec.submodes.values():
            rows = doc.get(p.name)
            if not rows or p.mode not in self.schema.modes:
                continue
            sub = self.schema.mode(p.mode)
            doc[p.name] = [self._walk(sub, fn(sub, i, dict(row)), fn) for i, row in enumerate(rows)]
        return doc

    def _has_rows(self, mode: Mode, doc: dict) -> bool:
        anywhere = self._subnames.get(mode.name)
        if anywhere is None:             # submode fields of any type or role of the mode
            specs = [mode.base, *mode.types.values()]
            if mode.roles is not None:
                specs += [r.spec(mode.params) for r in mode.roles.roles]
            anywhere = self._subnames[mode.name] = frozenset(n for sp in specs for n in sp.submodes)
        if anywhere.isdisjoint(doc):
            return False
        subs = mode.spec(doc).submodes
        return any(doc.get(n) for n in subs)

    def normalise(self, mode: Mode, doc: dict) -> dict:
        """Give rows of index-keyed collections their `index` (their position in the store). A
        document without rows comes back as it is (not copied: base documents are read-only)."""
        if not self._has_rows(mode, doc):
            return doc

        def f(sub, i, row):
            if sub.indexed:
                row["index"] = i
            return row
        return self._walk(mode, dict(doc), f)

    def denormalise(self, mode: Mode, doc: dict) -> dict:
        if not self._has_rows(mode, doc):
            return doc

        def f(sub, i, row):
            if sub.indexed:
                row.pop("index", None)
            return row
        return self._walk(mode, dict(doc), f)   # _walk copies the rows it changes
