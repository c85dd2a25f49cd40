"""The objects of applications and users, in two phases over every target of a run: first every
object is applied (server-side apply; in one order across targets, CRDs and Namespaces first),
then what dropped out is pruned (reverse order). Pruning after all applies, and only objects that
no other target owns after this run, lets an object move between applications in one commit.

Only objects that cmshell recorded are ever deleted: the inventory (`inv/<target>`) and the
pending deletions (`del/<target>`: deletions that failed, retried by every later run)."""
from __future__ import annotations

from dataclasses import dataclass, field

from cmshell.backends.kubernetes.client import Cluster, Unreachable, classify
from cmshell.backends.kubernetes.render import MANAGER, ObjRef, Unit, order_key, ordered_refs

Inventory = dict[str, tuple[ObjRef, str]]       # ref key -> (ref, resourceVersion we last saw)


def load_inventory(rows: object) -> Inventory:
    out: Inventory = {}
    for row in rows if isinstance(rows, list) else []:
        ref = ObjRef.from_list(list(row))
        out[ref.key()] = (ref, str(row[5]) if len(row) > 5 else "")
    return out


def dump_inventory(inv: Inventory) -> list[list[str]] | None:
    if not inv:
        return None
    return [ref.to_list() + [rv] for ref, rv in (inv[k] for k in sorted(inv))]


@dataclass
class Step:
    """One target's part of a run: what the store had, and what became of it."""
    unit: Unit
    prev: Inventory                                        # owned before the run
    pending: Inventory                                     # deletions still to do, before/after
    parents: Inventory                                     # ApplySet parents that exist
    inventory: Inventory = field(default_factory=dict)     # owned after the run
    current: set[str] = field(default_factory=set)         # keys the rendering wants
    applied: list[str] = field(default_factory=list)       # keys whose object changed
    unchanged: int = 0
    deleted: list[str] = field(default_factory=list)
    handed: list[str] = field(default_factory=list)        # "handed over <key> to <target>"
    errors: list[str] = field(default_factory=list)        # one line per object
    unreachable: str = ""
    parent_notes: dict = field(default_factory=dict)       # annotations the parent got

    @property
    def prunes(self) -> bool:
        """A half-applied rendering is no basis for deleting: then the old objects stay."""
        return not self.errors and not self.unreachable


def _short(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}".splitlines()[0][:300]


def apply_all(cl: Cluster, steps: list[Step], force: bool) -> str:
    """Phase 1. Returns the text of an unreachable API (then every step says so; what was
    applied before is recorded with what was there)."""
    for s in steps:
        s.inventory = {}
        s.current = {ObjRef.of(o).key() for o in s.unit.objects}
    work = sorted(((order_key(o)[0], i, o) for i, s in enumerate(steps) for o in s.unit.objects),
                  key=lambda t: (t[0], t[1]))          # stable: each unit's own order within a rank
    for _, i, obj in work:
        s = steps[i]
        ref = ObjRef.of(obj)
        key = ref.key()
        try:
            got = cl.apply(obj, MANAGER, force=force)
        except Exception as exc:          # noqa: BLE001 - classified below, one line each
            err = classify(exc)
            if err is None:
                text = _short(exc)
                for t in steps:
                    t.unreachable = text
                    t.inventory = {**t.prev, **t.inventory}
                return text
            s.errors.append(f"{key}: {err.text}")
            if key in s.prev:
                s.inventory[key] = s.prev[key]
            continue
        rv = str((got.get("metadata") or {}).get("resourceVersion") or "")
        if key in s.prev and s.prev[key][1] == rv:
            s.unchanged += 1
        else:
            s.applied.append(key)
        s.inventory[key] = (ref, rv)
        s.pending.pop(key, None)              # wanted again: no longer to be deleted
    return ""


def keep_stale(steps: list[Step]) -> None:
    """Steps that do not prune keep their old objects owned (so nobody else deletes them)."""
    for s in steps:
        if not s.prunes:
            s.inventory.update({k: v for k, v in s.prev.items() if k not in s.current})


def other_owner(owners: dict[str, set[str]], key: str, target: str) -> str | None:
    return next((t for t in sorted(owners.get(key, ())) if t != target), None)


def prune_all(cl: Cluster, steps: list[Step], owners: dict[str, set[str]]) -> str:
    """Phase 2: delete what steps no longer want, unless `owners` (object key -> targets whose
    inventory has it after this run) says another target has it now."""
    todo: dict[str, tuple[ObjRef, list[Step]]] = {}
    for s in steps:
        if not s.prunes:
            continue
        stale = {k: v for k, v in {**s.pending, **s.prev}.items() if k not in s.current}
        s.pending = {}
        for key, (ref, rv) in stale.items():
            other = other_owner(owners, key, s.unit.target)
            if other:
                s.handed.append(f"handed over {key} to {other}")
                continue
            s.pending[key] = (ref, rv)            # until the server says it is gone
            todo.setdefault(key, (ref, []))[1].append(s)
    for ref in ordered_refs([ref for ref, _ in todo.values()], reverse=True):
        mine = todo[ref.key()][1]
        try:
            gone = cl.delete(ref)
        except Exception as exc:          # noqa: BLE001
            err = classify(exc)
            if err is None:
                text = _short(exc)
                for s in steps:
                    s.unreachable = s.unreachable or text
                return text
            for s in mine:
                s.errors.append(f"{ref.key()}: delete failed: {err.text}")
            continue
        for s in mine:
            s.pending.pop(ref.key(), None)
            if gone:
                s.deleted.append(ref.key())
    return ""


def plan_unit(cl: Cluster, unit: Unit, prev: Inventory, owners: dict[str, set[str]]
              ) -> tuple[list[str], list[str]]:
    """(lines, errors): what a server-side dry run says applying would create, change or prune."""
    from cmshell.backends.kubernetes.client import field_diff
    lines: list[str] = []
    errors: list[str] = []
    current: set[str] = set()
    for obj in unit.objects:
        ref = ObjRef.of(obj)
        current.add(ref.key())
        try:
            before = cl.get(ref)
            after = cl.apply(obj, MANAGER, dry_run=True)
        except Unreachable:
            raise
        except Exception as exc:          # noqa: BLE001
            err = classify(exc)
            if err is None:
                raise Unreachable(str(exc).splitlines()[0]) from None
            errors.append(f"{ref.key()}: {err.text}")
            continue
        if before is None:
            lines.append(f"create {ref.key()}")
            continue
        diff = field_diff(before, after)
        if diff:
            lines.append(f"change {ref.key()}: " + "; ".join(diff))
    for k in sorted(prev):
        if k in current:
            continue
        other = other_owner(owners, k, unit.target)
        lines.append(f"hand over {k} to {other}" if other else f"prune {k}")
    return lines, errors
