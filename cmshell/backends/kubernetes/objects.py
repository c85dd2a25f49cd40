"""Applying one application's (or user's) objects: server-side apply, then prune from the
recorded inventory. Returns what happened; the caller records it and posts the events."""
from __future__ import annotations

from dataclasses import dataclass, field

from cmshell.backends.kubernetes.client import Cluster, Unreachable, classify
from cmshell.backends.kubernetes.render import MANAGER, ObjRef, Unit, ordered_refs

Inventory = dict[str, tuple[ObjRef, str]]       # ref key -> (ref, resourceVersion we last saw)


def load_inventory(rows: object) -> Inventory:
    out: Inventory = {}
    for row in rows or []:                       # type: ignore[union-attr]
        ref = ObjRef.from_list(list(row))
        out[ref.key()] = (ref, str(row[5]) if len(row) > 5 else "")
    return out


def dump_inventory(inv: Inventory) -> list[list[str]] | None:
    if not inv:
        return None
    return [ref.to_list() + [rv] for ref, rv in (inv[k] for k in sorted(inv))]


@dataclass
class Outcome:
    inventory: Inventory
    applied: list[str] = field(default_factory=list)     # keys whose object changed
    unchanged: int = 0
    deleted: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)      # one line per object
    unreachable: str = ""


def apply_unit(cl: Cluster, unit: Unit, prev: Inventory, force: bool) -> Outcome:
    """Apply every rendered object (no force unless asked); when all went in, delete what the
    inventory has and the rendering no longer does, in reverse order. Only objects cmshell
    recorded are ever deleted."""
    out = Outcome(inventory={})
    current: set[str] = set()
    for obj in unit.objects:
        ref = ObjRef.of(obj)
        key = ref.key()
        current.add(key)
        try:
            got = cl.apply(obj, MANAGER, force=force)
        except Exception as exc:          # noqa: BLE001 - classified below, one line each
            err = classify(exc)
            if err is None:
                out.unreachable = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
                out.inventory = dict(prev)       # nothing is known to have changed
                return out
            out.errors.append(f"{key}: {err.text}")
            if key in prev:
                out.inventory[key] = prev[key]
            continue
        rv = str((got.get("metadata") or {}).get("resourceVersion") or "")
        if key in prev and prev[key][1] == rv:
            out.unchanged += 1
        else:
            out.applied.append(key)
        out.inventory[key] = (ref, rv)
    stale = [prev[k][0] for k in prev if k not in current]
    if out.errors:
        # a half-applied rendering is no basis for deleting: keep the old objects recorded
        for ref in stale:
            out.inventory[ref.key()] = prev[ref.key()]
        return out
    for ref in ordered_refs(stale, reverse=True):
        try:
            if cl.delete(ref):
                out.deleted.append(ref.key())
        except Exception as exc:          # noqa: BLE001
            err = classify(exc)
            if err is None:
                out.unreachable = str(exc).splitlines()[0][:300]
                out.inventory[ref.key()] = prev[ref.key()]
                continue
            out.errors.append(f"{ref.key()}: delete failed: {err.text}")
            out.inventory[ref.key()] = prev[ref.key()]
    return out


def plan_unit(cl: Cluster, unit: Unit, prev: Inventory) -> tuple[list[str], list[str]]:
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
    lines += [f"prune {k}" for k in sorted(prev) if k not in current]
    return lines, errors
