"""The apply outcome of each commit, for `journal` (`applied 32/32`, `applied 30/32,
2 unreachable`) and `journal show`: per target its last status, who applied and when.

Stored in the store's backend_state (namespace `cmshell`, key `outcome/<seq>`), so every session
and the confirmation watcher see the same record. A commit's record covers the targets that
commit touched; a later `sync` updates those targets' statuses in the records of recent commits.
"""
from __future__ import annotations

import time
from typing import Callable

from cmshell.backends.base import CHANGED, OK, Recap
from cmshell.backends.engine import Engine
from cmshell.events import APPLIED, INTERNAL, EventQueue
from cmshell.store.base import Committed, Store, StoreError

NAMESPACE = "cmshell"
PENDING = "pending"          # committed under apply: manual, not applied yet
RECENT = 20                  # how many commits back a sync updates


def key(seq: int) -> str:
    return f"outcome/{seq}"


def get(store: Store, seqs: list[int]) -> dict[int, dict]:
    got = store.get_state(NAMESPACE, [key(s) for s in seqs])
    return {int(k.split("/", 1)[1]): v for k, v in got.items() if isinstance(v, dict)}


def text(rec: dict) -> str:
    """`applied 32/32`, `applied 30/32, 2 unreachable`, `pending 4 (apply: manual)`."""
    statuses = list((rec.get("targets") or {}).values())
    if not statuses:
        return ""
    done = sum(1 for s in statuses if s in (OK, CHANGED))
    others: dict[str, int] = {}
    for s in statuses:
        if s not in (OK, CHANGED):
            others[s] = others.get(s, 0) + 1
    if done == 0 and set(others) == {PENDING}:
        return f"pending {others[PENDING]} (apply: manual)"
    return ", ".join([f"applied {done}/{len(statuses)}"] + [f"{n} {s}" for s, n in sorted(others.items())])


def _statuses(recaps: list[Recap]) -> dict[str, str]:
    return {f"{r.backend}:{t.target}": t.status for r in recaps for t in r.results}


def attach(engine: Engine, events: EventQueue | None,
           source: Callable[[], str]) -> Callable[[Committed], None]:
    """A Committer listener to add after `engine.after_commit`: records what the engine did with
    the commit, and posts one event saying it (`Commit 7 by alice: applied 30/32, 2 unreachable`)
    when it applied anything."""
    def record(committed: Committed) -> None:
        targets = _statuses([r for r in engine.recaps if r.seq == committed.seq])
        if engine.config.apply == "manual":
            for name in engine.names():
                targets.update({f"{name}:{t}": PENDING for t, s in engine.pending(name).items()
                                if s == committed.seq})
        if not targets:
            return
        rec = {"targets": targets, "user": committed.user, "time": time.time(), "via": "commit"}
        try:
            engine.store.put_state(NAMESPACE, {key(committed.seq): rec})
        except StoreError as e:     # the commit is stored and applied: say so, do not fail it
            if events is not None:
                events.post("error", source(), f"Outcome of commit {committed.seq} not recorded: {e}",
                            kind=INTERNAL, seq=committed.seq)
            return
        if set(targets.values()) != {PENDING}:
            # (apply: manual only marked targets pending and contacted nothing: a silent
            # commit, as cmsh's; `journal` and `device status` say it). Through the engine's
            # shared events: this session shows it, every other session is told too
            complete = all(s in (OK, CHANGED, PENDING) for s in targets.values())
            engine.shared.post("notice" if complete else "warning", source(),
                               f"Commit {committed.seq} by {committed.user}: {text(rec)}", kind=APPLIED,
                               seq=committed.seq)
            engine.shared.publish(engine.store)
    return record


def record_sync(store: Store, recaps: list[Recap], user: str) -> None:
    """A sync applied the newest state: the targets it reached get their new status in the
    records of the recent commits that touched them."""
    now = _statuses(recaps)
    if not now:
        return
    newest = store.journal(1)
    if not newest:
        return
    last = newest[-1].seq
    updates: dict[str, object] = {}
    for seq, rec in get(store, list(range(max(1, last - RECENT + 1), last + 1))).items():
        targets = rec.get("targets") or {}
        hit = {t: s for t, s in now.items() if t in targets and targets[t] != s}
        if hit:
            targets.update(hit)
            rec.update(targets=targets, synced_by=user, synced=time.time())
            updates[key(seq)] = rec
    if updates:
        store.put_state(NAMESPACE, updates)


def notes(store: Store, seqs: list[int]) -> dict[int, str]:
    """What `journal` says of each commit beyond its objects: the apply outcome and, for a
    `commit confirmed`, whether it awaits confirmation, was confirmed or was rolled back."""
    from cmshell.safety import confirm
    if not seqs:
        return {}
    outs = get(store, seqs)
    hist = confirm.history(store, seqs)
    p = confirm.pending(store)
    out: dict[int, str] = {}
    for seq in seqs:
        parts = [text(outs[seq])] if seq in outs else []
        if p is not None and seq in p.commits:
            parts.append("rolling back" if p.state == "reverting"
                         else f"awaiting confirmation until {confirm.clock_text(p.deadline)}")
        elif seq in hist:
            h = hist[seq]
            state = h.get("state")
            if state == "confirmed":
                parts.append("confirmed")
            elif state == "rolled back":
                parts.append(f"not confirmed: rolled back by {h['by']}" if h.get("by") is not None
                             else "not confirmed: nothing left to roll back")
            else:
                parts.append(f"not confirmed: rollback failed: {h.get('reason', '')}")
        joined = "; ".join(part for part in parts if part)
        if joined:
            out[seq] = joined
    return out
