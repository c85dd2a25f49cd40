"""After a commit: hand it to each backend (apply: auto), or mark its targets out of sync
(apply: manual); `sync` applies on demand. The engine keeps no state of its own: what each
backend saw and did is in the store (backend_state), so every session sees it.

Backends are created on first use, so that a run that applies nothing imports neither
paramiko nor kubernetes. The events a run posts (service restarted, apply failed) are shown in
this session and then published through the store, so that every other session sees them too.
"""
from __future__ import annotations

import threading
import time
from typing import Callable, Iterable

from cmshell.backends import config as cfg
from cmshell.backends.base import FAILED, Backend, Context, Recap, TargetResult, discover
from cmshell.env import Environment
from cmshell.events import APPLY_FAILED, MESSAGE, Event, EventQueue
from cmshell.model.schema import Schema
from cmshell.store.base import Committed, Store, StoreError

PENDING = "pending"      # backend_state key prefix: targets committed but not applied (manual)


class SharedEvents:
    """What the backends post during a run: passed on to this session's queue, and kept to be
    published to the other sessions once the run is over (one store write per run, not one per
    event from many threads)."""

    def __init__(self, queue: EventQueue | None, origin: str):
        self.queue, self.origin = queue, origin
        self.posted: list[Event] = []
        self._lock = threading.Lock()

    def post(self, severity: str, source: str, text: str, *, broadcast: bool = False,
             when: float | None = None, kind: str = MESSAGE, seq: int | None = None) -> Event:
        if self.queue is not None:
            ev = self.queue.post(severity, source, text, broadcast=broadcast, when=when, kind=kind, seq=seq)
        else:
            ev = Event(time.time() if when is None else when, severity, source, text, broadcast, kind, seq)
        with self._lock:
            self.posted.append(ev)
        return ev

    def publish(self, store: Store) -> None:
        """Best effort: the commit and this session's events stand whatever happens here."""
        with self._lock:
            evs, self.posted = self.posted, []
        if evs:
            try:
                store.publish([dict(e.as_dict(), origin=self.origin) for e in evs])
            except StoreError:
                pass


class Engine:
    def __init__(self, store: Store, schema: Schema, config: cfg.Config, *,
                 events: EventQueue | None = None, env: Environment | None = None,
                 factories: dict[str, Callable[[], Backend]] | None = None):
        self.store, self.schema, self.config, self.events = store, schema, config, events
        self.env = env or Environment()
        self._factories = factories
        self._backends: dict[str, Backend] = {}
        self.recaps: list[Recap] = []          # of this session, newest last
        self.progress: Callable[[str], None] | None = None
        self.shared = SharedEvents(events, events.origin if events is not None else "engine")

    @property
    def enabled(self) -> bool:
        return self.config.apply != "off"

    def names(self) -> list[str]:
        """The backends this configuration turns on: those with a section of their own
        (`ssh:`, `kubernetes:`; an empty one takes the defaults). A site with nodes but no
        Kubernetes never has its commits fail on a missing kubeconfig."""
        if self._factories is None:
            self._factories = discover()
        return sorted(n for n in self._factories if n in self.config.backends)

    def backend(self, name: str) -> Backend:
        got = self._backends.get(name)
        if got is None:
            factory = (self._factories or {}).get(name) if self._factories is not None else discover().get(name)
            if factory is None:
                raise KeyError(name)
            backend_class = factory()
            got = self._backends[name] = backend_class() if isinstance(backend_class, type) else backend_class
        return got

    def context(self, name: str) -> Context:
        return Context(self.store, self.schema, self.config.section(name), self.shared, self.progress,
                       self.env)

    # -- after a commit ---------------------------------------------------------------------
    def after_commit(self, committed: Committed) -> None:
        """Called by the Committer with every stored commit."""
        if not self.enabled:
            return
        try:
            self._after_commit(committed)
        finally:
            self.shared.publish(self.store)

    def _after_commit(self, committed: Committed) -> None:
        for name in self.names():
            backend = self.backend(name)
            ctx = self.context(name)
            try:
                targets = backend.targets(ctx, committed)
            except Exception as exc:      # noqa: BLE001 - the commit is stored whatever happens
                self._failed(name, committed.seq, f"cannot work out the targets: {exc}")
                continue
            if not targets:
                continue
            if self.config.apply == "manual":
                self.store.put_state(name, {f"{PENDING}/{t}": committed.seq for t in targets})
                continue
            self._run(name, backend, ctx, targets, committed.seq)

    def sync(self, names: Iterable[str] | None = None, targets: Iterable[str] | None = None,
             force: bool = False) -> list[Recap]:
        """Apply the newest committed state to the targets (all when None) of the backends."""
        out = []
        wanted = list(targets) if targets is not None else None
        try:
            for name in list(names) if names is not None else self.names():
                backend = self.backend(name)
                out.append(self._run(name, backend, self.context(name), wanted, None, force))
        finally:
            self.shared.publish(self.store)
        return out

    def _run(self, name: str, backend: Backend, ctx: Context, targets: list[str] | None,
             seq: int | None, force: bool = False) -> Recap:
        try:
            recap = backend.apply(ctx, targets, seq, force)
        except Exception as exc:          # noqa: BLE001 - a backend bug must not lose the commit
            recap = Recap(name, seq, [TargetResult(t, FAILED, f"{type(exc).__name__}: {exc}")
                                      for t in (targets or ["*"])])
            self._failed(name, seq, f"{type(exc).__name__}: {exc}")
        finally:
            if ctx.progress is not None:
                ctx.progress("")          # the run is over: erase the status line
        done = [r.target for r in recap.results if r.status != FAILED and r.status != "unreachable"]
        if done:
            self.store.put_state(name, {f"{PENDING}/{t}": None for t in done})
        self.recaps.append(recap)
        return recap

    def _failed(self, name: str, seq: int | None, text: str) -> None:
        self.shared.post("error", name, text, kind=APPLY_FAILED, seq=seq)

    # -- what is known --------------------------------------------------------------------------
    def pending(self, name: str) -> dict[str, int]:
        """Targets committed under apply: manual and not applied since: target -> commit."""
        prefix = f"{PENDING}/"
        return {k[len(prefix):]: int(v) for k, v in self.store.get_state(name).items()  # type: ignore[call-overload]
                if k.startswith(prefix)}

    def incomplete(self) -> bool:
        """Some commit of this session was stored but not applied everywhere."""
        return any(not r.complete for r in self.recaps)
