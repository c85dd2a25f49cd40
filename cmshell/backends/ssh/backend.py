"""SshBackend: the newest committed configuration, rendered per node, applied over SSH.

Per node, under the store's lock `ssh-<node>` (one session applies a node at a time, across
machines when the store is shared): render from the newest committed state, read each remote
file, write only what differs (temp file, fsync, rename), then run each service action once, and
only when one of its files changed (converge.py).
An action whose files were written but which failed or never ran is stored as owed and run by the
next apply, though its files no longer differ. Nodes run in parallel with a bounded fan-out; a node
that fails never stops the others. What was applied (the revision, the status, the reason, the
owed actions) is stored per node, for `device status` and `sync`.
"""
from __future__ import annotations

import dataclasses
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING, Iterable

from cmshell.backends.base import (CHANGED, FAILED, OK, UNREACHABLE, Context, NodeState, Recap,
                                   TargetResult)
from cmshell.backends.ssh.renderers import render_node
from cmshell.backends.ssh.renderers.common import RenderError, RenderInput
from cmshell.events import APPLY_FAILED
from cmshell.model.effective import Effective, View, affected_nodes
from cmshell.store.base import Committed
from cmshell.store.view import StoreView

if TYPE_CHECKING:
    from cmshell.backends.ssh.transport import Transport

NAME = "ssh"


def state_key(node: str) -> str:
    return f"node/{node}"


class _Snapshot:
    """The newest committed state, re-read when another session commits meanwhile; or a given
    view (a plan of the candidate), which stays as it is."""

    def __init__(self, ctx: Context, view: View | None = None):
        self.ctx, self._lock = ctx, threading.Lock()
        self.seq: int = -1
        self.eff: Effective | None = None
        self.view = view
        self.refresh()

    def _newest(self) -> int:
        j = self.ctx.store.journal(limit=1)
        return j[0].seq if j else 0

    def refresh(self) -> tuple[int, Effective]:
        with self._lock:
            seq = self._newest()
            if self.view is not None:
                if self.eff is None:
                    self.seq, self.eff = seq, Effective(self.ctx.schema, self.view)
            elif seq != self.seq or self.eff is None:
                self.seq, self.eff = seq, Effective(self.ctx.schema, StoreView(self.ctx.store, self.ctx.schema))
            eff = self.eff
            return self.seq, eff


def node_lock(ctx: Context, node: str) -> AbstractContextManager[bool]:
    """One session applies (or image-updates) a node at a time, on every machine sharing the store."""
    return ctx.store.lock(f"ssh-{node}")


class SshBackend:
    name = NAME

    def targets(self, ctx: Context, committed: Committed, view: View | None = None) -> list[str]:
        view = view if view is not None else StoreView(ctx.store, ctx.schema)
        changes = [(c.mode, c.before, c.after) for c in committed.changes]
        return sorted(affected_nodes(ctx.schema, view, changes))

    def observe(self, ctx: Context, targets: Iterable[str] | None) -> dict[str, dict]:
        keys = [state_key(t) for t in targets] if targets is not None else None
        prefix = state_key("")
        return {k[len(prefix):]: v for k, v in ctx.store.get_state(NAME, keys).items()
                if k.startswith(prefix) and isinstance(v, dict)}

    def plan(self, ctx: Context, targets: Iterable[str] | None) -> list[TargetResult]:
        """Per node: the files that differ (with the reason and a unified diff) and the service
        actions that applying would run. It connects and reads; it writes nothing, runs no
        action, records nothing, posts no event and takes no node lock."""
        return self._fan_out(ctx, targets, None, dry_run=True).results

    def plan_view(self, ctx: Context, view: View, targets: Iterable[str] | None) -> list[TargetResult]:
        """What applying `view` (a candidate) would change, read from the nodes themselves."""
        return self._fan_out(ctx, targets, None, dry_run=True, view=view).results

    def apply(self, ctx: Context, targets: Iterable[str] | None, seq: int | None,
              force: bool = False) -> Recap:
        """Bring the nodes to the newest committed state. `force` (`sync --force`) writes every
        desired file and runs every service action of the node, even when nothing differs."""
        return self._fan_out(ctx, targets, seq, dry_run=False, force=force)

    # -- the fan-out ----------------------------------------------------------------------------
    def _fan_out(self, ctx: Context, targets: Iterable[str] | None, seq: int | None,
                 dry_run: bool, force: bool = False, view: View | None = None) -> Recap:
        from cmshell.backends.ssh.transport import Transport   # paramiko only when applying
        if dry_run:
            ctx = dataclasses.replace(ctx, events=None)   # a plan is not an apply: no events
        snap = _Snapshot(ctx, view)
        nodes = sorted(set(targets)) if targets is not None else snap.refresh()[1].node_names()
        recap = Recap(NAME, seq)
        if not nodes:
            return recap
        transport = Transport(ctx.settings, ctx.env)
        fanout = max(1, int(ctx.settings.get("fanout") or 64))
        done = [0]
        count_lock = threading.Lock()
        store_lock = threading.Lock()     # one store connection: its reads and writes take turns

        def one(node: str) -> TargetResult:
            with nullcontext() if dry_run else node_lock(ctx, node):
                with store_lock:
                    applied_seq, eff = snap.refresh()   # newest state, read after taking the lock
                    desired = self._render(eff, node)
                    owed = self._owed(ctx, node)
                result = self._node(ctx, transport, desired, node, seq, owed, dry_run, force)
                if not dry_run:
                    with store_lock:
                        self._record(ctx, node, result, applied_seq, owed)
            with count_lock:
                done[0] += 1
                if ctx.progress is not None and len(nodes) > 1:
                    ctx.progress(f"ssh: {done[0]}/{len(nodes)} nodes")
            return result

        with ThreadPoolExecutor(max_workers=min(fanout, len(nodes))) as pool:
            recap.results = list(pool.map(one, nodes))
        return recap

    def _owed(self, ctx: Context, node: str) -> set[tuple[str, str]]:
        state = self.observe(ctx, [node]).get(node, {})
        return {(str(u), str(a)) for u, a in state.get("owed") or []}

    def _record(self, ctx: Context, node: str, r: TargetResult, applied_seq: int,
                owed: set[tuple[str, str]]) -> None:
        old = self.observe(ctx, [node]).get(node, {})
        good = r.status in (OK, CHANGED)
        state = {"status": r.status, "reason": r.reason, "seen": time.time(),
                 "revision": applied_seq if good else old.get("revision"),
                 "in_sync": good and not owed, "owed": sorted([u, a] for u, a in owed)}
        ctx.store.put_state(NAME, {state_key(node): state})

    @staticmethod
    def _render(eff: Effective, node: str) -> tuple[NodeState, str | None] | str:
        """(what the node should have, its ip), or why it cannot be rendered."""
        cfg = eff.node(node)
        if cfg is None:
            return "no such device"
        try:
            return render_node(RenderInput(cfg, eff)), str(cfg.doc.get("ip") or "") or None
        except RenderError as e:
            return str(e)
        except Exception as e:       # noqa: BLE001 - a renderer's bug fails its node, not the run
            return f"cannot render ({type(e).__name__}: {e})"

    def _node(self, ctx: Context, transport: Transport, rendered: tuple[NodeState, str | None] | str, node: str,
              seq: int | None, owed: set[tuple[str, str]], dry_run: bool, force: bool) -> TargetResult:
        from cmshell.backends.ssh import converge
        from cmshell.backends.ssh.transport import RemoteError, SSHException, Unreachable

        def post(severity: str, text: str, kind: str) -> None:
            if not dry_run and ctx.events is not None:     # a plan changes nothing: no events
                ctx.events.post(severity, node, text, kind=kind, seq=seq)

        def fail(r: TargetResult) -> TargetResult:
            post("warning", f"Configuration not applied: {r.reason}", APPLY_FAILED)
            return r

        if isinstance(rendered, str):
            return fail(TargetResult(node, FAILED, rendered))
        desired, ip = rendered
        if not desired.files and not owed:
            return TargetResult(node, OK)
        try:
            conn = transport.connect(node, ip)
        except Unreachable as e:
            return fail(TargetResult(node, UNREACHABLE, str(e)))
        try:
            if dry_run:
                return converge.plan(conn, desired, owed)
            return converge.apply(conn, desired, owed, force, post)
        except RemoteError as e:
            return fail(TargetResult(node, FAILED, str(e)))
        except (OSError, EOFError, SSHException) as e:
            if isinstance(e, SSHException) and conn.alive:
                return fail(TargetResult(node, FAILED, f"ssh: {e}"))
            return fail(TargetResult(node, UNREACHABLE, f"connection lost: {e}"))   # broke half-way
        finally:
            conn.close()
