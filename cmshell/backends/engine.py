"""After a commit: hand it to each backend (apply: auto), or mark its targets out of sync
(apply: manual); `sync` applies on demand. The engine keeps no state of its own: what each
backend saw and did is in the store (backend_state), so every session sees it.

Backends are created on first use, so that a run that applies nothing imports neither
paramiko nor kubernetes.
"""
from __future__ import annotations

from typing import Callable, Iterable

from cmshell.backends import config as cfg
from cmshell.backends.base import FAILED, Backend, Context, Recap, TargetResult, discover
from cmshell.env import Environment
from cmshell.events import APPLY_FAILED, EventQueue
from cmshell.model.schema import Schema
from cmshell.store.base import Committed, Store

PENDING = "pending"      # backend_state key prefix: targets committed but not applied (manual)


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
        return Context(self.store, self.schema, self.config.section(name), self.events, self.progress,
                       self.env)

    # -- after a commit ---------------------------------------------------------------------
    def after_commit(self, committed: Committed) -> None:
        """Called by the Committer with every stored commit."""
        if not self.enabled:
            return
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
        for name in list(names) if names is not None else self.names():
            backend = self.backend(name)
            out.append(self._run(name, backend, self.context(name), wanted, None, force))
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
        if self.events is not None:
            self.events.post("error", name, text, kind=APPLY_FAILED, seq=seq)

    # -- what is known --------------------------------------------------------------------------
    def pending(self, name: str) -> dict[str, int]:
        """Targets committed under apply: manual and not applied since: target -> commit."""
        prefix = f"{PENDING}/"
        return {k[len(prefix):]: int(v) for k, v in self.store.get_state(name).items()  # type: ignore[call-overload]
                if k.startswith(prefix)}

    def incomplete(self) -> bool:
        """Some commit of this session was stored but not applied everywhere."""
        return any(not r.complete for r in self.recaps)
