"""The candidate: a lazily loaded snapshot of the store plus this session's staged edits.

Top-level objects are identified by their store id, so renames are ordinary edits. Nothing
reaches the store until `commit`, which sends one revision-checked change set.
"""
from __future__ import annotations

import copy
import heapq
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from cmshell.model import validate as checks
from cmshell.model.schema import Mode, Schema
from cmshell.store.base import Change, Record, Store
from cmshell.store.common import new_id, paused_gc


def clone(doc: Any) -> Any:
    """A deep copy of a JSON document (dicts, lists and scalars), several times faster than
    copy.deepcopy; anything else inside is copied with copy.deepcopy."""
    t = type(doc)
    if t is dict:
        if _all_scalars(map(type, doc.values())):     # a flat document: a copy of the dict
            return doc.copy()
        return {k: v if type(v) in _SCALARS else clone(v) for k, v in doc.items()}
    if t is list:
        return [v if type(v) in _SCALARS else clone(v) for v in doc]
    if t in _SCALARS:
        return doc
    return copy.deepcopy(doc)


_SCALARS = frozenset((str, int, float, bool, type(None)))
_all_scalars = _SCALARS.issuperset
_NO_ADDRESSES: set[str] = set()    # Workspace._moved of a mode without addresses (kept empty)
_ITSELF = frozenset({()})       # Workspace.marks of an object edited itself only: one set for all


@dataclass(slots=True)
class Staged:
    mode: str
    base: Record | None      # None: added in this session
    doc: dict | None         # None: removed


class Workspace:
    # after this many single-object reads in one mode, read the whole mode in one query
    BULK_AFTER = 32
    # duplicate addresses: up to this many addresses to look for, ask the store for each
    ASK_STORE_UPTO = 48

    def __init__(self, store: Store, schema: Schema):
        self.store = store
        self.schema = schema
        self._index: dict[str, dict[str, str]] = {}      # mode -> id -> name (committed)
        self._recs: dict[str, dict[str, Record]] = {}    # mode -> id -> record read so far
        self._complete: set[str] = set()                 # modes whose records are all read
        self._reads: dict[str, int] = {}                 # mode -> single reads so far
        self._docs: dict[str, dict] = {}                 # id -> normalised base doc
        self._names: dict[str, dict[str, str]] = {}      # mode -> name -> id (current view)
        # mode -> (the names() dict it was made from, lower-case name -> ids): find() in any case
        self._lower: dict[str, tuple[dict[str, str], dict[str, list[str]]]] = {}
        self.staged: dict[str, Staged] = {}
        self._touched: set[str] = set()                  # edited since the last prune()
        # id -> pointer targets found by validate(), sorted; equal ones shared (87,500 nodes of a
        # category point at the same category and network: one tuple, not one set each)
        self._refs: dict[str, tuple[tuple[str, str], ...]] = {}
        if hasattr(store, "references"):     # pointers are checked again inside each commit
            store.references = checks.References(schema)
        # id -> the places below the object edited since it was read: () for the object itself,
        # ((param, key), ...) for an element of a submode. An object once edited stays modified
        # (its `*`) until commit or refresh, even when its values are set back (§2.5.3)
        self.marks: dict[str, set[tuple] | frozenset[tuple]] = {}
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

    def where(self, mode: str, field: str, value: object) -> list[str]:
        """Names of the objects (as this session sees them) whose `field` is `value`."""
        key = self.schema.mode(mode).key
        staged = {rid: st for rid, st in self.staged.items() if st.mode == mode}
        gone = {st.base.name for st in staged.values() if st.base is not None}
        names = {n for n in self.store.where(mode, field, value) if n not in gone}
        names.update(str(st.doc.get(key, "")) for st in staged.values()
                     if st.doc is not None and st.doc.get(field) == value)
        return sorted(names)

    def find(self, mode: str, name: str) -> str | None:
        """The id of object `name`: its exact name, else any case when only one matches."""
        idx = self.names(mode)
        if name in idx:
            return idx[name]
        built = self._lower.get(mode)
        if built is None or built[0] is not idx:      # (re)built when names() is
            lower: dict[str, list[str]] = {}
            for n, rid in idx.items():
                lower.setdefault(n.lower(), []).append(rid)
            built = self._lower[mode] = (idx, lower)
        hits = built[1].get(name.lower(), [])
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

    def stream(self, mode: str, *, by_type: bool = False) -> Iterator[tuple[str, dict]]:
        """(id, document as this session sees it) of every object of the mode, in name order
        (`by_type`: by type, then name: Store.scan), read from the store a chunk at a time and
        not cached: a long `list` holds one chunk of documents, not the mode. Staged objects
        take their place in the order."""
        m = self.schema.mode(mode)

        def order(name: str, doc: dict) -> tuple:
            if not by_type:
                return (name,)
            t = doc.get("type")
            return (1, t, name) if type(t) is str else (0, "", name)   # as the store's kind column

        staged = {rid: st for rid, st in self.staged.items() if st.mode == mode}
        mine = sorted(((order(str(st.doc.get(m.key, "")), st.doc), rid, st.doc) for rid, st in staged.items()
                       if st.doc is not None), key=lambda t: t[0])

        seen = self._recs.get(mode, {})         # records this session read already: as read
        index: list[tuple[str, str]] | None = [] if mode not in self._index else None

        def stored() -> Iterator[tuple[tuple, str, dict]]:
            for rid, name, doc in self.store.scan(mode, by_type=by_type):
                if index is not None:
                    index.append((rid, name))
                if rid in staged:
                    continue
                if rid in seen:
                    doc = self.base_doc(mode, rid) or {}
                elif self._has_rows(m, doc):
                    doc = self.normalise(m, doc)
                yield order(name, doc) if mine else (), rid, doc
            if index is not None:   # the names as listed are the ones this session goes on with
                self.adopt_index(mode, index)

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
        return [d for rid in self.names(mode).values() if (d := self.doc(mode, rid)) is not None]

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

    def add(self, mode: str, doc: dict, rid: str | None = None) -> str:
        """Stage a new object; `rid` re-creates one that the store no longer holds under its
        old identity (rollback), else it gets a fresh id."""
        rid = rid or new_id()
        self.staged[rid] = Staged(mode, None, doc)
        self._names.pop(mode, None)
        return rid

    def remove(self, mode: str, rid: str) -> None:
        st = self.staged.get(rid)
        if st is not None and st.base is None:
            del self.staged[rid]
        else:
            self.staged[rid] = Staged(mode, self._record(mode, rid), None)
        self.marks.pop(rid, None)
        self._names.pop(mode, None)

    def mark(self, rid: str, where: tuple = ()) -> None:
        """Keep the object (or the element `where` below it) marked modified until commit or
        refresh, whatever its values become."""
        st = self.staged.get(rid)
        if st is not None and st.base is not None and st.doc is not None:
            got = self.marks.get(rid)
            if got is None:
                self.marks[rid] = _ITSELF if where == () else {where}
            elif where not in got:
                if isinstance(got, frozenset):
                    got = self.marks[rid] = set(got)
                got.add(where)

    def marked(self, rid: str, where: tuple = ()) -> bool:
        """Whether `where` (a place below the object, as for mark(); a (param, None) step
        stands for the whole collection) or anything below it was edited."""
        for m in self.marks.get(rid, ()):
            if len(m) < len(where):
                continue
            if all(a[0] == b[0] and (b[1] is None or a[1] == b[1]) for a, b in zip(m, where)):
                return True
        return False

    def differs(self, rid: str) -> bool:
        """Whether the staged object is added, removed, or has other values than the store."""
        st = self.staged.get(rid)
        if st is None:
            return False
        if st.base is None or st.doc is None:
            return True
        return st.doc != self.base_doc(st.mode, rid)

    def renamed(self, mode: str) -> None:
        self._names.pop(mode, None)

    def discard(self, rids: Iterable[str]) -> None:
        modes = set()
        for rid in list(rids):
            st = self.staged.pop(rid, None)
            self.marks.pop(rid, None)
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
        if rid in self.marks:
            return " "                  # edited, and kept modified until commit or refresh
        if rid in self._differs and rid not in self._touched:
            return " "                  # compared at the last prune, not edited since
        if st.doc != self.base_doc(st.mode, rid):
            return " "
        return None

    def pending(self, mode: str | None = None) -> list[tuple[str, str, str]]:
        """(state, mode, id) of every staged change, optionally of one mode."""
        out = []
        marks, state = self.marks, self.state
        for rid, st in self.staged.items():
            if mode is None or st.mode == mode:
                if rid in marks and st.base is not None and st.doc is not None:
                    s: str | None = " "         # what state() says of an edited object, at once
                else:
                    s = state(rid)
                if s is not None:
                    out.append((s, st.mode, rid))
        return out

    def mode_changed(self, mode: str) -> bool:
        return any(st.mode == mode and self.state(rid) for rid, st in self.staged.items())

    def prune(self, keep: bool = False) -> None:
        """After a command: with `keep` (it succeeded), the objects it edited stay modified until
        commit or refresh, as in cmsh, even when edited back to their stored values; without,
        staged copies that equal their base are forgotten (no star for a refused edit)."""
        differs, marks = self._differs, self.marks
        for rid in self._touched:
            st = self.staged.get(rid)
            if st is None or st.base is None or st.doc is None:
                differs.discard(rid)
                continue
            if keep:                        # self.mark(rid); inline where it is the first mark
                if rid not in marks:
                    marks[rid] = _ITSELF
                elif () not in marks[rid]:
                    self.mark(rid)
            if rid in marks:
                differs.discard(rid)    # state() says modified without comparing
            elif st.doc == self.base_doc(st.mode, rid):
                del self.staged[rid]
                differs.discard(rid)
            else:
                differs.add(rid)
        self._touched.clear()

    def with_renames(self, rids: Iterable[str]) -> list[str]:
        """`rids` plus the staged objects that must be committed with them: the objects whose
        pointers a rename moved, and the renamed objects that staged pointers name. Pointers hold
        names, so a renamed object and the pointers to its new name reach the store together."""
        renamed: dict[str, tuple[str, str, str]] = {}     # id -> (mode, old name, new name)
        for rid, staged in self.staged.items():
            if staged.base is not None and staged.doc is not None:
                new = str(staged.doc.get(self.schema.mode(staged.mode).key, ""))
                if new != staged.base.name:
                    renamed[rid] = (staged.mode, staged.base.name, new)
        out = list(rids)
        if not renamed:
            return out
        seen = set(out)
        queue = list(out)
        while queue:
            rid = queue.pop()
            st = self.staged.get(rid)
            if st is None or st.doc is None:
                continue
            group = []
            if rid in renamed:
                m, old, new = renamed[rid]
                for other in checks.pointer_modes(self.schema, m):
                    omode = self.schema.mode(other)
                    for orid, ost in self.staged.items():
                        if ost.mode != other or ost.doc is None or orid in seen:
                            continue
                        base = self.base_doc(other, orid) if ost.base is not None else None
                        if checks.references(self.schema, omode, ost.doc, m, new) and \
                                (base is None or checks.references(self.schema, omode, base, m, old)):
                            group.append(orid)
            mode = self.schema.mode(st.mode)
            for rrid, (m, old, new) in renamed.items():
                if rrid not in seen and checks.references(self.schema, mode, st.doc, m, new):
                    group.append(rrid)
            for g in group:
                if g not in seen:
                    seen.add(g)
                    out.append(g)
                    queue.append(g)
        return out

    # -- validation ------------------------------------------------------------------------
    def validate(self, items: Iterable[tuple[str, str]]) -> list[checks.Problem]:
        """Problems of the candidate objects `items` [(mode, id)]; removed and renamed objects
        must be unreferenced."""
        items = list(items)
        out: list[checks.Problem] = []

        known: dict[tuple[str, str], bool] = {}

        def exists(mode: str, name: str) -> bool:
            got = known.get((mode, name))
            if got is None:
                got = known[(mode, name)] = mode in self.schema.modes and self.find(mode, name) is not None
            return got

        shared: dict[tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]] = {}
        schema, staged, check, my_refs = self.schema, self.staged, checks.check, self._refs
        modes: dict[str, Mode] = {}
        moved: dict[str, set[str]] = {}       # what _moved(items) says, for _duplicate_addresses
        for mode_name, rid in items:
            mode = modes.get(mode_name)         # (self.schema.mode, looked up once a mode)
            if mode is None:
                mode = modes[mode_name] = schema.mode(mode_name)
            st = staged.get(rid)
            doc = st.doc if st is not None else self.base_doc(mode_name, rid)    # self.doc
            if doc is not None:
                refs: set[tuple[str, str]] = set()     # the pointers, for the commit (changes())
                got_problems = check(schema, mode, doc, exists, refs)
                if got_problems:
                    out.extend(got_problems)
                got = tuple(sorted(refs))
                my_refs[rid] = shared.setdefault(got, got)
                if mode.name == "device" and doc.get("type") == "headnode":   # _one_head_node
                    out.extend(self._one_head_node(mode, rid, doc))
                self._note_moved(moved, mode_name, rid, st, doc)
            base = st.base if st is not None else None
            if base is None or (doc is not None and str(doc.get(mode.key, "")) == base.name):
                continue
            # removed, or renamed away: nothing may be left pointing at the name, unless another
            # object carries it in the candidate (a swap, a chain of renames, a rollback)
            name = base.name
            if self.names(mode_name).get(name, rid) != rid:
                continue
            for other in checks.pointer_modes(self.schema, mode_name):
                omode = self.schema.mode(other)
                for orid in self.names(other).values():
                    odoc = self.doc(other, orid) or {}
                    for field in checks.references(self.schema, omode, odoc, mode_name, name):
                        out.append(checks.Problem(checks.IN_USE, field, f"{mode.entity} {name} is used by "
                                                  f"{omode.entity} {self.name_of(other, orid)}"))
        out.extend(self._duplicate_addresses(items, moved))
        return out

    def _duplicate_addresses(self, items: list[tuple[str, str]],
                             moved: dict[str, set[str]] | None = None) -> list[checks.Problem]:
        """Two devices with one IP or one MAC in a network, once `items` are stored (the objects
        committed as they are staged, every other one as the store holds it). The store is asked
        for the devices with the same addresses only, so that a commit of one node on a large
        cluster reads a few documents, not all. `moved`: what _moved(items) says, when known."""
        from cmshell.model.addresses import UNSET_IPS, UNSET_MAC, duplicates
        out: list[checks.Problem] = []
        if moved is None:
            moved = self._moved(items)
        for mode_name in sorted(moved):
            if not moved[mode_name]:
                continue
            mode = self.schema.mode(mode_name)
            committing = {rid for m, rid in items if m == mode_name}
            mine: list[str] = []
            wanted: set[tuple[str, str]] = set()
            for rid in moved[mode_name]:
                mdoc = self.doc(mode_name, rid) or {}
                name = str(mdoc.get(mode.key, ""))
                mine.append(name)
                ip, mac = str(mdoc.get("ip") or ""), str(mdoc.get("mac") or "")
                if ip not in UNSET_IPS:
                    wanted.add(("ip", ip))
                if mac and mac.upper() != UNSET_MAC:
                    wanted.update({("mac", mac), ("mac", mac.upper()), ("mac", mac.lower())})
            if not mine:
                continue
            view = {}
            for rid in committing:
                doc = self.doc(mode_name, rid)
                if doc is not None:
                    view[str(doc.get(mode.key, ""))] = doc
            stored = {name: rid for rid, name in self._ids(mode_name).items()}
            if len(wanted) > self.ASK_STORE_UPTO:       # many: one read of the whole mode
                self.prefetch(mode_name)
                others = [rid for rid in stored.values() if rid not in committing]
            else:                                        # few: the devices with those addresses
                others = [stored[n] for f, v in sorted(wanted) for n in self.store.where(mode_name, f, v)
                          if n in stored and stored[n] not in committing]
            for rid in others:
                doc = self.base_doc(mode_name, rid)
                if doc is not None:
                    view.setdefault(str(doc.get(mode.key, "")), doc)
            for field, value, name, other, net in duplicates(view, sorted(mine)):
                label = "IP" if field == "ip" else "MAC"
                where = f" in network {net}" if net else ""
                out.append(checks.Problem(checks.DUPLICATE, field,
                                          f"{name} and {other} have the same {label} {value}{where}"))
        return out

    def _moved(self, items: list[tuple[str, str]]) -> dict[str, set[str]]:
        """mode -> the ids among `items` of that mode (one with addresses) whose addresses may
        bring a new duplicate: added, or an IP, MAC or network unlike the stored one. Removed
        objects bring none. (Workspace.validate works this out in its own pass.)"""
        out: dict[str, set[str]] = {}
        for mode_name, rid in items:
            st = self.staged.get(rid)
            doc = st.doc if st is not None else self.base_doc(mode_name, rid)
            if doc is not None:
                self._note_moved(out, mode_name, rid, st, doc)
        return out

    def _note_moved(self, out: dict[str, set[str]], mode_name: str, rid: str, st: Staged | None,
                    doc: dict) -> None:
        """Add object `rid` (not removed: `doc`) to `out` as _moved says."""
        got = out.get(mode_name)
        if got is None:
            if self.schema.mode(mode_name).base.param("ip") is None:
                out[mode_name] = _NO_ADDRESSES
                return
            got = out[mode_name] = set()
        elif got is _NO_ADDRESSES:
            return
        base = None
        if st is not None and st.base is not None:
            base = self._docs.get(rid)
            if base is None:
                base = self.base_doc(mode_name, rid)
        if base is not None and doc.get("ip") == base.get("ip") and doc.get("mac") == base.get("mac") \
                and doc.get("network") == base.get("network"):
            return              # its addresses are as stored: it brings no new duplicate
        got.add(rid)

    def _one_head_node(self, mode: Mode, rid: str, doc: dict) -> list[checks.Problem]:
        """A cluster has one head node: a second one is refused."""
        if mode.name != "device" or doc.get("type") != "headnode":
            return []
        st = self.staged.get(rid)
        if st is not None and st.base is not None and (self.base_doc(mode.name, rid) or {}).get("type") == "headnode":
            return []
        name = str(doc.get(mode.key, ""))
        others = [n for n in self.where(mode.name, "type", "headnode") if n != name]
        if not others:
            return []
        return [checks.Problem(checks.INVALID, "type", f"{name} cannot be a second head node; "
                                                        f"the cluster's head node is {others[0]}")]

    # -- commit ----------------------------------------------------------------------------
    def _base(self, rid: str) -> Record:
        """The committed record of a staged object that has one (a removal always has)."""
        base = self.staged[rid].base
        if base is None:
            raise KeyError(f"{rid} was never committed")
        return base

    def changes(self, rids: Iterable[str]) -> list[Change]:
        out = []
        staged, modes = self.staged, self.schema.modes
        for rid in rids:
            st = staged[rid]
            m = modes[st.mode]                  # self.schema.mode
            doc = st.doc
            if doc is None:
                base = self._base(rid)
                out.append(Change(rid, st.mode, base.name, base.revision, None, base=base))
            else:
                out.append(Change(rid, st.mode, str(doc.get(m.key, "")),
                                  st.base.revision if st.base else None, self.denormalise(m, doc),
                                  self._targets(m, rid, doc), st.base))
        return out

    def _targets(self, mode: Mode, rid: str, doc: dict) -> tuple[tuple[str, str], ...]:
        """What the staged object points at: as the validation before the commit found it (the
        Committer validates right before it asks for the changes), else walked again."""
        got = self._refs.pop(rid, None)
        return got if got is not None else tuple(sorted(checks.targets(self.schema, mode, doc)))

    def committed(self, rids: Iterable[str]) -> None:
        """The staged objects `rids` are stored now: drop them and re-read their modes."""
        modes = set()
        staged, marks, docs, differs = self.staged, self.marks, self._docs, self._differs
        for rid in rids:
            st = staged.pop(rid)
            marks.pop(rid, None)
            modes.add(st.mode)
            docs.pop(rid, None)
            differs.discard(rid)
        for mode in modes:
            self.forget(mode)

    def refresh_all(self) -> None:
        self.staged.clear()
        self.marks.clear()
        self._differs.clear()
        for mode in list(self._index) + list(self._recs):
            self.forget(mode)
        self._docs.clear()

    # -- index-keyed rows -----------------------------------------------------------------
    def _walk(self, mode: Mode, doc: dict, fn: Callable[[Mode, int, dict], dict]) -> dict:
        spec = mode.spec(doc)
        for p in spec.submodes.values():
            rows = doc.get(p.name)
            if not rows or p.mode not in self.schema.modes:
                continue
            sub = self.schema.mode(p.mode or "")
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

        def f(sub: Mode, i: int, row: dict) -> dict:
            if sub.indexed:
                row["index"] = i
            return row
        return self._walk(mode, dict(doc), f)

    def denormalise(self, mode: Mode, doc: dict) -> dict:
        if not self._has_rows(mode, doc):
            return doc

        def f(sub: Mode, i: int, row: dict) -> dict:
            if sub.indexed:
                row.pop("index", None)
            return row
        return self._walk(mode, dict(doc), f)   # _walk copies the rows it changes
