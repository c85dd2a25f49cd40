"""Plans across every backend: the candidate (what committing it would do) or the committed model
(what `sync` would do, i.e. drift). Each backend reads the real state of its targets; nothing is
written and no event is posted.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from cmshell.backends.base import FAILED, TargetResult
from cmshell.backends.engine import Engine
from cmshell.model.effective import View
from cmshell.safety.candidate import as_commit
from cmshell.store.base import ObjectChange


@dataclass
class BackendPlan:
    backend: str
    results: list[TargetResult]


def _broken(name: str, what: str, exc: Exception) -> BackendPlan:
    """A backend that cannot plan is one failed line, never a lost plan for the others."""
    return BackendPlan(name, [TargetResult(name, FAILED, f"cannot {what}: {type(exc).__name__}: {exc}")])


def plan_candidate(engine: Engine, changes: list[ObjectChange], view: View, *, user: str,
                   when: float, every_target: bool = False) -> list[BackendPlan]:
    """Per backend, what committing `changes` (reaching `view`) would change on the targets the
    commit touches (every target with `every_target`, as a commit then `sync` would)."""
    committed = as_commit(changes, user, when)
    out = []
    for name in engine.names():
        backend = engine.backend(name)
        ctx = engine.context(name)
        planner = getattr(backend, "plan_view", None)
        if planner is None:
            out.append(BackendPlan(name, [TargetResult(name, FAILED, "this backend cannot plan a candidate")]))
            continue
        try:
            targets = None if every_target else backend.targets(ctx, committed, view)
        except Exception as exc:       # noqa: BLE001 - one backend's bug must not hide the others
            out.append(_broken(name, "work out the targets", exc))
            continue
        if targets is not None and not targets:
            continue
        try:
            out.append(BackendPlan(name, planner(ctx, view, targets)))
        except Exception as exc:       # noqa: BLE001
            out.append(_broken(name, "plan", exc))
    return out


def plan_committed(engine: Engine, backends: Iterable[str] | None = None,
                   targets: Iterable[str] | None = None) -> list[BackendPlan]:
    """Per backend, what applying the newest committed state would change: the drift."""
    out = []
    wanted = list(targets) if targets is not None else None
    for name in list(backends) if backends is not None else engine.names():
        backend = engine.backend(name)
        try:
            out.append(BackendPlan(name, backend.plan(engine.context(name), wanted)))
        except Exception as exc:       # noqa: BLE001
            out.append(_broken(name, "compare", exc))
    return out
