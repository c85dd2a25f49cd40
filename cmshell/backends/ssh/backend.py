"""SshBackend: the newest committed configuration, rendered per node, applied over SSH.

Per node, under a lock file beside the store (one session applies a node at a time): render from
the newest committed state, read each remote file, write only what differs (temp file, fsync,
rename), then run each service action once, and only when one of its files changed. Nodes run in
parallel with a bounded fan-out; a node that fails never stops the others. What was applied (the
revision, the status, the reason) is stored per node, for `device status` and `sync`.
"""
from __future__ import annotations

import dataclasses
import fcntl
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Iterable, Iterator

from cmshell.backends.base import (CHANGED, FAILED, OK, UNREACHABLE, Context, NodeState, Recap,
                                   TargetResult)
from cmshell.backends.ssh.renderers import RenderError, RenderInput, render_node
from cmshell.events import APPLY_FAILED, FILE, SERVICE
from cmshell.model.effective import Effective, View, affected_nodes
from cmshell.store.base import Committed
from cmshell.store.view import StoreView

NAME = "ssh"
DONE = {"restart": "restarted", "reload": "reloaded", "stop": "stopped"}


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
            assert self.eff is not None
            return self.seq, self.eff


def _lock_dir(ctx: Context) -> str:
    path = getattr(ctx.store, "path", None)
    base = f"{path}.locks" if path else os.path.join(os.environ.get("TMPDIR", "/tmp"), "cmshell-locks")
    os.makedirs(base, exist_ok=True)
    return base


@contextmanager
def node_lock(directory: str, node: str) -> Iterator[None]:
    with open(os.path.join(directory, f"ssh-{node}.lock"), "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


class SshBackend:
    name = NAME

    def targets(self, ctx: Context, committed: Committed, view: View | None = None) -> list[str]:
        view = view if view is not None else StoreView(ctx.store, ctx.schema)
        changes = [(c.mode, c.before, c.after) for c in committed.changes]
        return sorted(affected_nodes(ctx.schema, view, changes))

    def observe(self, ctx: Context, targets: Iterable[str] | None) -> dict[str, dict]:
        keys = [state_key(t) for t in targets] if targets is not None else None
        prefix = state_key("")
        return {k[len(prefix):]: v for k, v in ctx.store.get_state(NAME, keys).items()   # type: ignore[misc]
                if k.startswith(prefix) and isinstance(v, dict)}

    def plan(self, ctx: Context, targets: Iterable[str] | None) -> list[TargetResult]:
        return self._fan_out(ctx, targets, None, dry_run=True).results

    def plan_view(self, ctx: Context, view: View, targets: Iterable[str] | None) -> list[TargetResult]:
        """What applying `view` (a candidate) would change, read from the nodes themselves."""
        return self._fan_out(ctx, targets, None, dry_run=True, view=view).results

    def apply(self, ctx: Context, targets: Iterable[str] | None, seq: int | None,
              force: bool = False) -> Recap:
        return self._fan_out(ctx, targets, seq, dry_run=False)

    # -- the fan-out ----------------------------------------------------------------------------
    def _fan_out(self, ctx: Context, targets: Iterable[str] | None, seq: int | None,
                 dry_run: bool, view: View | None = None) -> Recap:
        from cmshell.backends.ssh.transport import Transport   # paramiko only when applying
        if dry_run:
            ctx = dataclasses.replace(ctx, events=None)   # a plan is not an apply: no events
        snap = _Snapshot(ctx, view)
        nodes = sorted(set(targets)) if targets is not None else snap.refresh()[1].node_names()
        recap = Recap(NAME, seq)
        if not nodes:
            return recap
        transport = Transport(ctx.settings)
        locks = _lock_dir(ctx)
        fanout = max(1, int(ctx.settings.get("fanout") or 64))
        done = [0]
        count_lock = threading.Lock()
        store_lock = threading.Lock()     # one store connection: its reads and writes take turns

        def one(node: str) -> TargetResult:
            with node_lock(locks, node):
                with store_lock:
                    applied_seq, eff = snap.refresh()   # newest state, read after taking the lock
                    desired = self._render(eff, node)
                result = self._node(ctx, transport, desired, node, seq, dry_run)
                if not dry_run:
                    with store_lock:
                        self._record(ctx, node, result, applied_seq)
            with count_lock:
                done[0] += 1
                if ctx.progress is not None and len(nodes) > 1:
                    ctx.progress(f"ssh: {done[0]}/{len(nodes)} nodes")
            return result

        with ThreadPoolExecutor(max_workers=min(fanout, len(nodes))) as pool:
            recap.results = list(pool.map(one, nodes))
        return recap

    def _record(self, ctx: Context, node: str, r: TargetResult, applied_seq: int) -> None:
        old = self.observe(ctx, [node]).get(node, {})
        state = {"status": r.status, "reason": r.reason, "seen": time.time(),
                 "revision": applied_seq if r.status in (OK, CHANGED) else old.get("revision"),
                 "in_sync": r.status in (OK, CHANGED)}
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

    def _node(self, ctx: Context, transport, rendered: tuple[NodeState, str | None] | str, node: str,
              seq: int | None, dry_run: bool) -> TargetResult:
        from cmshell.backends.ssh.transport import RemoteError, Unreachable
        if isinstance(rendered, str):
            return self._fail(ctx, TargetResult(node, FAILED, rendered), seq)
        desired, ip = rendered
        if not desired.files:
            return TargetResult(node, OK)
        try:
            conn = transport.connect(node, ip)
        except Unreachable as e:
            return self._fail(ctx, TargetResult(node, UNREACHABLE, str(e)), seq)
        try:
            if dry_run:
                from cmshell.backends.ssh.plan import plan_node
                return plan_node(conn, desired)
            return self._converge(ctx, conn, desired, seq, dry_run)
        except RemoteError as e:
            return self._fail(ctx, TargetResult(node, FAILED, str(e)), seq)
        except (OSError, EOFError) as e:       # the connection broke half-way
            return self._fail(ctx, TargetResult(node, UNREACHABLE, f"connection lost: {e}"), seq)
        finally:
            conn.close()

    def _converge(self, ctx: Context, conn, desired: NodeState, seq: int | None,
                  dry_run: bool) -> TargetResult:
        from cmshell.backends.ssh.transport import RemoteError
        node = desired.node
        result = TargetResult(node, OK)
        moves: list[tuple[str, str]] = []
        changed: set[str] = set()
        try:
            for f in desired.files:
                remote = conn.read(f.path)
                content = f.edit(remote.content) if f.edit is not None else f.content
                if content is None:
                    continue                     # an edit with nothing to edit (no manifest yet)
                uid, gid = conn.ids(f.owner, f.group)
                if (remote.content == content and remote.mode == f.mode
                        and (remote.uid, remote.gid) == (uid, gid)):
                    continue
                changed.add(f.path)
                result.changes.append(f"wrote {f.path}")
                if not dry_run:
                    moves.append((conn.stage(f.path, content, f.mode, uid, gid, f.mkdir, f.dir_mode), f.path))
            if not dry_run:
                conn.commit(moves)
        except RemoteError:
            if moves:
                conn.run("rm -f " + " ".join(t for t, _ in moves))
            raise
        if not changed:
            return result
        result.status = CHANGED
        if dry_run:
            return result
        for path in sorted(changed):
            self._post(ctx, "info", node, f"File {path} was written", FILE, seq)
        failures = []
        seen: set[tuple[str, str]] = set()
        for a in desired.actions:
            if (a.unit, a.action) in seen or (a.after and not changed.intersection(a.after)):
                continue
            seen.add((a.unit, a.action))
            rc, _, err = conn.run(f"systemctl {a.action} {a.unit}")
            if rc == 0:
                result.changes.append(f"{a.action} {a.unit}")
                self._post(ctx, "notice", node, f"Service {a.unit} was {DONE.get(a.action, a.action)}",
                           SERVICE, seq)
                continue
            why = (err.strip().splitlines() or [f"exit status {rc}"])[-1]
            failures.append(f"systemctl {a.action} {a.unit} failed: {why}")
            if a.stop_on_failure:
                conn.run(f"systemctl stop {a.unit}")
                failures[-1] += f"; {a.unit} stopped"
        if failures:
            result.status, result.reason = FAILED, "; ".join(failures)
            self._post(ctx, "warning", node, result.reason, APPLY_FAILED, seq)
        return result

    def _fail(self, ctx: Context, r: TargetResult, seq: int | None) -> TargetResult:
        self._post(ctx, "warning", r.target, f"Configuration not applied: {r.reason}", APPLY_FAILED, seq)
        return r

    @staticmethod
    def _post(ctx: Context, severity: str, node: str, text: str, kind: str, seq: int | None) -> None:
        if ctx.events is not None:
            ctx.events.post(severity, node, text, kind=kind, seq=seq)
