"""Commit and journal logic shared by the SQLite and PostgreSQL stores (pure: no SQL).

A store reads the current rows of the objects a batch touches as tuples
``(id, mode, name, revision, jkey, handle)`` (handle: the store's own row address, or None)
and hands them here; the checks, the Committed value, the journal members and the messages are
built the same way for every store, so that the two cannot drift apart. Where a check needs to
look something up, the store passes a small object that does it in its own SQL (`Lookup`).
"""
from __future__ import annotations

import gc
import json
import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from json.encoder import encode_basestring_ascii as quote  # noqa: F401  (a name as a stored document has it)
from typing import TYPE_CHECKING, Protocol, Self, Sequence
from zlib import error as zlib_error

from . import delta as jd
from .base import (ADDED, MODIFIED, REMOVED, Change, Committed, ConflictError, JournalEntry, JournalRecord,
                   ObjectChange, ObjectDelta, References, StoreError)

dumps = json.JSONEncoder(separators=(",", ":")).encode
loads = json.loads
BATCH = 5000                    # objects per batch of a streamed commit or a journal snapshot
EVENTS_KEEP = 1000              # events kept for other sessions (publish), and read at once
RESTORE = "restore it from a dump (cmshell --db NEW.db --load BACKUP.yaml)"
NO_STORE = "create one with --init (empty), --load FILE (a cluster file) or --demo"   # NoStore's hint


def new_id() -> str:
    """A fresh object id (32 hex digits)."""
    import uuid  # imported lazily: uuid costs several ms at import time

    return uuid.uuid4().hex


def new_ids(n: int) -> list[str]:
    """n fresh object ids at once (random, in the form of new_id: version-4 UUIDs)."""
    raw = bytearray(os.urandom(16 * n))
    raw[6::16] = bytes((b & 0x0F) | 0x40 for b in raw[6::16])
    raw[8::16] = bytes((b & 0x3F) | 0x80 for b in raw[8::16])
    text = raw.hex()
    return [text[i:i + 32] for i in range(0, 32 * n, 32)]


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while a bulk operation makes many containers (it
    would rescan every document again and again; documents hold no cycles)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def chunks(seq: list, size: int = 500) -> Iterator[list]:
    for i in range(0, len(seq), size):
        yield seq[i:i + size]


def one_line(text: object) -> str:
    return " ".join(str(text).split())


def kind(doc: dict | None) -> str | None:
    """The `kind` column of a document: its `type` when that is a string."""
    t = doc.get("type") if doc is not None else None
    return t if type(t) is str else None


def text(ch: Change) -> str:
    """The JSON text of a change's document (a StoreError when it cannot be stored)."""
    try:
        return dumps(ch.after)
    except (TypeError, ValueError) as exc:
        raise StoreError(f"Commit refused: {ch.mode} {ch.name} cannot be stored: {one_line(exc)}") from None


def event_text(event: dict) -> str:
    """The JSON text of an event to publish (a StoreError when it is not JSON-able)."""
    try:
        return dumps(event)
    except (TypeError, ValueError) as exc:
        raise StoreError(f"Cannot publish event {event!r:.100}: {one_line(exc)}") from None


def load_docs(texts: list[str]) -> list:
    """Many JSON documents at once (one json.loads over all is much faster than one per row)."""
    return loads("[" + ",".join(texts) + "]") if texts else []


def docs(texts: list[str], where: str, what: str = "") -> list:
    """load_docs; a damaged document is a StoreError naming the store and `what` (a mode)."""
    try:
        return load_docs(texts)
    except ValueError as exc:
        what = f"{what} " if what else ""
        raise StoreError(f"Store {where} holds a damaged {what}document: {one_line(exc)}") from None


# -- committing ---------------------------------------------------------------------------------
def classify(changes: list[Change], seen: set[str]) -> tuple[list[Change], list[Change], list[Change],
                                                              dict[str, str]]:
    """(inserts, updates, removals, id -> document text of each insert) of a batch; refuses
    malformed ones. `seen`: the ids of the commit so far (an object may appear once)."""
    inserts: list[Change] = []
    updates: list[Change] = []
    removals: list[Change] = []
    targets: dict[str, set[str]] = {}           # mode -> names the commit gives objects
    for ch in changes:
        if not (type(ch.id) is str and type(ch.mode) is str and type(ch.name) is str):
            raise StoreError(f"Commit refused: bad change {ch!r:.200}")
        if ch.id in seen:
            raise StoreError(f"Commit refused: {ch.mode} {ch.name} appears twice in one commit")
        seen.add(ch.id)
        if ch.after is None:
            if ch.base_revision is None:
                raise StoreError(f"Commit refused: {ch.mode} {ch.name} was never committed"
                                 " and cannot be removed")
            removals.append(ch)
            continue
        names = targets.get(ch.mode)
        if names is None:
            names = targets[ch.mode] = set()
        if ch.name in names:
            raise ConflictError(f"Commit refused: {ch.mode} {ch.name} would exist twice")
        names.add(ch.name)
        (inserts if ch.base_revision is None else updates).append(ch)
    # the texts of new objects now (the journal keeps them too); of updated ones as they are
    # written (not all held at once)
    return inserts, updates, removals, {ch.id: text(ch) for ch in inserts}


def check_revisions(changes: list[Change], current: dict[str, tuple]) -> None:
    """Optimistic concurrency: every updated or removed object is still at its base revision."""
    for ch in changes:
        row = current.get(ch.id)
        if row is None or row[1] != ch.mode:
            raise ConflictError(f"Commit refused: {ch.mode} {ch.name} was removed by another"
                                " session; refresh and try again")
        if row[3] != ch.base_revision:
            raise ConflictError(
                f"Commit refused: {ch.mode} {ch.name} was changed by another session"
                f" (revision {row[3]}, you started from {ch.base_revision}); refresh and try again")


def known_befores(changes: list[Change]) -> dict[str, dict]:
    """id -> document before, of the changes that carry the record they started from (the
    store reads the others)."""
    return {ch.id: ch.base.doc for ch in changes if ch.base is not None and ch.base.id == ch.id
            and ch.base.revision == ch.base_revision}


def pointers(changes: list[Change], current: dict[str, tuple], removals: list[Change], updates: list[Change],
             wanted: dict[tuple[str, str], tuple[str, str]], gone: list[tuple[str, str]]) -> None:
    """Note what a written batch points at (`wanted`: target -> the first (mode, name) using
    it) and the names it removed or renamed away (`gone`), for check_references."""
    for ch in changes:
        if ch.after is not None:
            for ref in ch.refs:
                wanted.setdefault(ref, (ch.mode, ch.name))
    gone += [(ch.mode, current[ch.id][2]) for ch in removals]
    gone += [(ch.mode, current[ch.id][2]) for ch in updates if current[ch.id][2] != ch.name]


def members(changes: list[Change], current: dict[str, tuple], befores: dict[str, dict],
            after_text: dict[str, str], keys: dict[str, int], done: list[ObjectChange],
            revisions: dict[str, int]) -> list[jd.Member]:
    """The journal members of a written batch; fills `done` (the Committed changes) and
    `revisions` (the revision of every object now)."""
    out: list[jd.Member] = []
    modified = jd.Payloads().modified
    add_done, add = done.append, out.append
    for ch in changes:
        oid, mode, name, after = ch.id, ch.mode, ch.name, ch.after
        row = current.get(oid)
        before = befores.get(oid)
        add_done(ObjectChange(oid, mode, name, before, after))
        if after is None:
            action, payload = REMOVED, dumps(before)
        elif row is None:
            action, payload = ADDED, after_text[oid]
            revisions[oid] = 1
        else:
            action = MODIFIED
            payload = modified(before or {}, after, row[2] if row[2] != name else None)
            revisions[oid] = (ch.base_revision or 0) + 1
        add((keys[oid], mode, name, action, payload))
    return out


class Lookup(Protocol):
    """What check_references asks of the stored objects (inside the commit's transaction)."""

    def existing(self, mode: str, names: list[str]) -> set[str]:
        """Those of `names` that objects of `mode` have."""
        ...

    def exists_folded(self, mode: str, name: str) -> bool:
        """Whether an object of `mode` has `name` but for case."""
        ...

    def mentioning(self, mode: str, name: str) -> Iterable[tuple[str, str]]:
        """(name, document text) of the objects of `mode` whose text holds `quote(name)`."""
        ...


def check_references(lookup: Lookup, refs: References | None,
                     wanted: dict[tuple[str, str], tuple[str, str]], gone: list[tuple[str, str]]) -> None:
    """Pointers, checked against what is stored now (inside the transaction, after the writes
    of every batch), not against the session's older view: two sessions must not be able to
    commit a node pointing at a category while the other removes it (write skew)."""
    # a. every target of the written objects exists
    by_mode: dict[str, set[str]] = {}
    for mode, name in wanted:
        by_mode.setdefault(mode, set()).add(name)
    for mode, names in by_mode.items():
        missing = set(names)
        for part in chunks(sorted(names)):
            missing -= lookup.existing(mode, part)
        for name in sorted(missing):      # a pointer may differ in case (cmsh finds it so)
            if not lookup.exists_folded(mode, name):
                chmode, chname = wanted[(mode, name)]
                raise ConflictError(f"Commit refused: {chmode} {chname} points at {mode} {name},"
                                    " which no longer exists (another session removed or renamed"
                                    " it); refresh and try again")
    # b. no stored object points at a name this commit removed or renamed away
    if refs is None:
        return
    for mode, name in gone:
        if lookup.existing(mode, [name]):
            continue              # the name is taken again (a swap, a chain of renames)
        for other in refs.referrer_modes(mode):
            for oname, doc in lookup.mentioning(other, name):
                if refs.refers(other, loads(doc), mode, name):
                    raise ConflictError(f"Commit refused: {mode} {name} is used by {other} {oname};"
                                        " refresh and try again")


def collision(inserts: list[Change], updates: list[Change], removals: list[Change], current: dict[str, tuple],
              reason: str, where_id: Callable[[str], tuple | None],
              holder: Callable[[str, str], str | None]) -> StoreError:
    """Explain a UNIQUE violation (the writes were rolled back): `where_id(id)` is the
    (mode, name) an id has, `holder(mode, name)` the id that has a name."""
    leaving = {ch.id for ch in removals}
    leaving.update(ch.id for ch in updates if current[ch.id][2] != ch.name)
    for ch in inserts:
        row = where_id(ch.id)
        if row is not None:
            return ConflictError(f"Commit refused: {ch.mode} {ch.name} already exists"
                                 f" (as {row[0]} {row[1]}); refresh and try again")
    for ch in inserts + updates:
        oid = holder(ch.mode, ch.name)
        if oid is not None and oid != ch.id and oid not in leaving:
            return ConflictError(f"Commit refused: {ch.mode} {ch.name} already exists")
    return ConflictError(f"Commit refused: {reason}")


def not_empty() -> ConflictError:
    """`if_empty` found objects in the store (checked inside the commit's transaction)."""
    return ConflictError("Commit refused: the store is not empty (another session has committed"
                         " into it meanwhile)")


# -- the journal --------------------------------------------------------------------------------
def entry(row: tuple, where: str) -> JournalEntry:
    """A journal row (seq, time, user, comment, summary) as `journal` lists it."""
    try:
        groups = jd.load_groups(row[4])
    except (ValueError, TypeError) as exc:
        raise StoreError(f"Store {where} holds a damaged journal entry {row[0]}: {one_line(exc)}") from None
    return JournalEntry(row[0], row[1], row[2], row[3], groups)


def journal_record(row: tuple, changes: Sequence[ObjectDelta], snapshot: int | None, where: str) -> JournalRecord:
    """A journal row (seq, time, user, comment, summary, ...) with its deltas; `snapshot`: the
    seq of the journal's snapshot entry."""
    head = entry(row, where)
    return JournalRecord(head.seq, head.time, head.user, head.comment, head.groups, tuple(changes),
                         snapshot=head.seq == snapshot)


def decode(blob: bytes, seq: int, where: str) -> list[tuple[str, str, list[int], list[str], list]]:
    """The records of a journal entry; a damaged one is a StoreError naming `where`."""
    try:
        return list(jd.records(bytes(blob)))
    except (ValueError, TypeError, zlib_error) as exc:
        raise StoreError(f"Store {where} holds a damaged journal entry {seq}: {one_line(exc)}") from None


def deltas(recs: Iterable[tuple[str, str, list[int], list[str], list]], ids: dict[int, str],
           seq: int, where: str) -> list[ObjectDelta]:
    """The records' members as ObjectDeltas, given the ids of their keys."""
    out: list[ObjectDelta] = []
    for mode, action, ks, names, payloads in recs:
        for k, name, payload in zip(ks, names, payloads):
            oid = ids.get(k)
            if oid is None:
                raise StoreError(f"Store {where}: journal entry {seq} names an unknown object")
            out.append(jd.delta(oid, mode, name, action, payload))
    return out


def check_reachable(seq: int, snap: int | None) -> None:
    """Commits compacted into the snapshot cannot be gone back to (0, no objects, always can)."""
    if snap is not None and 0 < seq < snap:
        raise StoreError(f"Commit {seq} was compacted into the snapshot of commit {snap}"
                         f" ('journal --prune'); the journal goes back to commit {snap}")


def revert(state: dict[str, tuple[str, str, dict | None]], ds: list[ObjectDelta],
           now: dict[str, dict], seq: int, where: str) -> None:
    """Step `state` (id -> (mode, name, document)) back over one commit's deltas; `now` holds
    the current documents of the objects not yet in `state`."""
    for d in ds:
        doc = state[d.id][2] if d.id in state else now.get(d.id)
        try:
            before = d.revert(doc)
        except ValueError as exc:
            raise StoreError(f"Store {where}: the journal does not match the objects"
                             f" (commit {seq}: {exc})") from None
        name = d.old_name if d.old_name is not None else d.name
        state[d.id] = (d.mode, name, before)


def snapshot(rows: Iterable[tuple[str, str, str, str]], state: dict[str, tuple[str, str, dict | None]],
             key: Callable[[str], int], writer: jd.Writer) -> None:
    """The members of a snapshot entry (`prune_journal`), added to `writer` in batches: every
    stored object (id, mode, name, document text) the later commits left alone, then every
    object of `state` as it was (those of a later commit). `key(id)`: its journal key."""
    batch: list[jd.Member] = []
    for oid, mode, name, doc_text in rows:
        if oid not in state:
            batch.append((key(oid), mode, name, ADDED, doc_text))
            if len(batch) >= BATCH:
                writer.add(batch)
                batch = []
    for oid, (mode, name, doc) in state.items():
        if doc is not None:
            batch.append((key(oid), mode, name, ADDED, dumps(doc)))
            if len(batch) >= BATCH:
                writer.add(batch)
                batch = []
    writer.add(batch)


def snapshot_comment(first: int, top: int, snap: int | None) -> str:
    first_text = f"the snapshot of commit {snap}" if first == snap else f"commit {first}"
    return f"Snapshot: {first_text} to {top} compacted (journal --prune)"


def prune_due(count: int, keep: int) -> bool:
    """After a commit: compact the journal once it holds a tenth (at least 10) more commits
    than the retention keeps."""
    return count > keep + 1 + max(10, keep // 10)


class Shared:
    """What both stores do the same way above their SQL (a base class of each)."""

    if TYPE_CHECKING:       # each store's
        def commit_stream(self, batches: Iterable[Sequence[Change]], *, user: str, comment: str = ...,
                          when: float | None = ..., before_commit: Callable[[], None] | None = ...,
                          if_empty: bool = ...) -> Committed | None: ...
        def journal_retention(self) -> int | None: ...
        def prune_journal(self, keep: int, *, user: str = ...) -> int: ...
        def _journal_count(self) -> int: ...
        def close(self) -> None: ...

    def commit(self, changes: list[Change], *, user: str, comment: str = "",
               when: float | None = None, if_empty: bool = False) -> Committed | None:
        """Store the changes in one transaction; None when there are none. `if_empty`: only into
        an empty store, checked inside the transaction (`--load`: two loads never merge)."""
        return self.commit_stream([changes], user=user, comment=comment, when=when, if_empty=if_empty)

    def _retain(self, user: str) -> None:
        """After a commit: compact the journal when it is due (prune_due). Best effort: the
        commit is stored whatever happens here."""
        try:
            keep = self.journal_retention()
            if keep is not None and prune_due(self._journal_count(), keep):
                self.prune_journal(keep, user=user)
        except StoreError:
            pass

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
