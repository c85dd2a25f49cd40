"""Fleet-wide safety (docs/safety.md): `plan`, `commit check`, `commit confirmed`, `drift`.

`commit` itself stays in staging.py; it calls `arm`/`armed`/`disarm` around a confirmed commit
and `confirm_own` after an ordinary one (Junos: a plain `commit` confirms).
"""
from __future__ import annotations

import json

from cmshell.commands.apply import engine_of
from cmshell.commands.bulk import names
from cmshell.errors import CommandError, Failed
from cmshell.safety import confirm
from cmshell.safety.report import Report
from cmshell.shell.dispatch import command
from cmshell.shell.staged import validated
from cmshell.status import Exit
from cmshell.store.base import Committed, StoreError

DEFAULT_MINUTES = 10.0          # as Junos
APPLY_ALLOWANCE = 300.0         # seconds the commit's own apply may take before the time runs


def _json_flag(args: list[str], cmd: str, flags: tuple[str, ...] = ()) -> tuple[bool, set[str], list[str]]:
    """(-d {} given, the flags given, the other words)."""
    as_json, seen, rest = False, set(), []
    it = iter(args)
    for a in it:
        if a == "-d":
            if next(it, None) != "{}":
                raise CommandError(f"{cmd}: -d takes {{}} (JSON)")
            as_json = True
        elif a in flags:
            seen.add(a)
        elif a.startswith("-") and len(a) > 1:
            raise CommandError(f"{cmd}: unknown option {a}")
        else:
            rest.append(a)
    return as_json, seen, rest


def _show(s, report: Report, as_json: bool) -> None:
    """The report, without the cluster's secrets (a file diff may quote a password)."""
    if as_json:
        s.write(s.without_secrets(json.dumps(report.as_json(), indent=2)))
        return
    s.write(s.without_secrets(report.text(color=_colored(s))))


def _show_brief(s, report: Report) -> None:
    s.write(s.without_secrets(report.text(color=_colored(s), brief=True)))


def _colored(s) -> bool:
    """Colour on a terminal only (a pipe or `> file` inside the shell gets plain text)."""
    return s.settings.color and bool(getattr(s.out, "isatty", lambda: False)())


def _candidate(s):
    """The changes a `commit` here would store (validated) and the view with them in place."""
    from cmshell.safety.candidate import candidate_view, staged_changes
    changes = staged_changes(s.ws, validated(s))
    return changes, candidate_view(s.schema, s.ws.store, changes)


def _plan(s, every: bool) -> Report:
    from cmshell.safety.plan import plan_candidate
    engine = engine_of(s)
    changes, view = _candidate(s)
    if not changes and not every:
        return Report([])
    try:
        return Report(plan_candidate(engine, changes, view, user=s.user, when=s.env.clock(),
                                     every_target=every))
    except StoreError as e:
        raise CommandError(str(e)) from None


# -- plan -------------------------------------------------------------------------------------
@command("plan", "Show what committing the staged changes would do on the nodes and in Kubernetes",
         scope="top", usage=["plan [--all] [-d {}]"], examples=["plan", "device; plan", "plan --all", "plan -d {}"],
         args=("any*",))
def plan(s, args):
    as_json, flags, rest = _json_flag(args, "plan", ("--all", "-a"))
    if rest:
        raise CommandError(f"plan: unexpected argument {rest[0]}")
    report = _plan(s, bool(flags))
    _show(s, report, as_json)
    if report.changes:
        s.status_hint = max(s.status_hint, Exit.CHANGES_PENDING)
    if not report.complete:
        raise Failed()               # unreachable / failed targets are listed above


def commit_check(s, args: list[str]) -> None:
    """`commit check`: validate, plan, stop. Confirms a pending `commit confirmed` of this user,
    as Junos's `commit check` does."""
    as_json, _, rest = _json_flag(args, "commit check")
    if rest:
        raise CommandError(f"commit check: unexpected argument {rest[0]}")
    engine = s.engine
    if engine is None or not engine.enabled:
        _candidate(s)
        confirm_own(s)
        s.write("Configuration check succeeds (applying is off: nothing to plan)")
        return
    report = _plan(s, False)
    confirm_own(s)
    if as_json:
        _show(s, report, True)
    else:
        _show_brief(s, report)
    if not report.complete:
        s.error("Configuration check fails: some targets could not be planned (listed above)")
        raise Failed()
    if report.changes:
        s.status_hint = max(s.status_hint, Exit.CHANGES_PENDING)
    if not as_json:
        s.write("Configuration check succeeds")


# -- drift ------------------------------------------------------------------------------------
@command("drift", "Compare the nodes and Kubernetes with the committed configuration; change nothing",
         scope="top", usage=["drift [<nodes> | nodes | apps] [-d {}]"],
         examples=["drift", "drift node001..node004", "drift nodes", "drift apps", "drift -d {}"],
         args=("nodes|apps?", "any*"))
def drift(s, args):
    from cmshell.safety.plan import plan_committed
    as_json, _, rest = _json_flag(args, "drift")
    engine = engine_of(s)
    backends: list[str] | None = None
    targets: list[str] | None = None
    if rest == ["apps"] or rest == ["kubernetes"]:
        backends = [n for n in engine.names() if n != "ssh"]
    elif rest == ["nodes"]:
        backends = [n for n in engine.names() if n == "ssh"]
    elif rest:
        targets = names(s, rest)
        unknown = [n for n in targets if s.ws.find("device", n) is None]
        if unknown:
            raise CommandError(f"drift: no device named {unknown[0]}")
        backends = [n for n in engine.names() if n == "ssh"]
    try:
        pending: dict[str, int] = {}
        for n in backends if backends is not None else engine.names():
            pending.update(engine.pending(n))
        report = Report(plan_committed(engine, backends, targets), drift=True, pending=pending)
    except StoreError as e:
        raise CommandError(str(e)) from None
    _show(s, report, as_json)
    if report.changes:
        s.status_hint = max(s.status_hint, Exit.DRIFT)
    if not report.complete:
        raise Failed()


# -- commit confirmed -------------------------------------------------------------------------
def minutes_of(word: str | None) -> float:
    if word is None:
        return DEFAULT_MINUTES
    try:
        m = float(word)
    except ValueError:
        raise CommandError(f"commit confirmed: not a number of minutes: {word}") from None
    if not 0 < m <= confirm.MAX_MINUTES:
        raise CommandError(f"commit confirmed: minutes must be more than 0 and at most {confirm.MAX_MINUTES}")
    return m


def arm(s, minutes: float, rids: list[str]) -> tuple[confirm.Pending | None, confirm.Pending]:
    """Before a confirmed commit: record the pending confirmation and make sure a watcher owns
    it, so that even a session killed right after its commit is rolled back."""
    store = s.ws.store
    try:
        prev = confirm.pending(store)
        if prev is not None and prev.state == "reverting":
            raise CommandError(f"commit confirmed: the automatic rollback of commit {prev.seq} is under way")
        if prev is not None and prev.user != s.user:
            confirm.guard(store, s.user)
        if prev is None and not any(s.ws.state(r) for r in rids):
            raise CommandError("commit confirmed: nothing to commit")
        engine = s.engine
        newest = store.journal(1)
        new = confirm.Pending(
            base=prev.base if prev else (newest[-1].seq if newest else 0), user=s.user,
            # the time counts from the end of the apply (armed); a session that dies before then
            # is still rolled back, at most APPLY_ALLOWANCE later
            deadline=s.env.clock() + minutes * 60 + APPLY_ALLOWANCE, minutes=minutes,
            token=prev.token if prev else confirm.new_token(), commits=list(prev.commits) if prev else [],
            apply=engine.config.apply if engine is not None else "off",
            backends=dict(engine.config.backends) if engine is not None else {},
            names=engine.names() if engine is not None and engine.enabled else [])
        confirm.put(store, new)
        if prev is None:                 # a re-arm keeps the watcher, which reads the new deadline
            confirm.spawn(store, new.token)
    except StoreError as e:
        raise CommandError(str(e)) from None
    return prev, new


def disarm(s, prev: confirm.Pending | None) -> None:
    """The confirmed commit did not happen: what was pending before stays pending."""
    confirm.put(s.ws.store, prev)


def armed(s, prev: confirm.Pending | None, new: confirm.Pending, done: Committed | None) -> None:
    store = s.ws.store
    if done is None and prev is None:
        confirm.put(store, None)         # its watcher sees the marker gone and exits
        raise CommandError("commit confirmed: nothing to commit")
    if done is not None:
        new.commits.append(done.seq)
    new.deadline = s.env.clock() + new.minutes * 60
    confirm.put(store, new)
    what = ", ".join(str(c) for c in new.commits)
    s.write(f"Commit {what} will be rolled back at {confirm.clock_text(new.deadline)} unless confirmed "
            f"with 'commit' within {confirm.minutes_text(new.minutes)}")


def confirm_own(s) -> None:
    """A commit (or commit check) of the user who must confirm: the pending commits stay."""
    store = s.ws.store
    p = confirm.pending(store)
    if p is None or p.user != s.user:
        return
    if p.state == "reverting" or s.env.clock() > p.deadline:
        confirm.revive(store, p)
        s.error(f"Too late to confirm: commit {p.seq} is being rolled back")
        return
    confirm.put(store, None)
    confirm.record(store, p.commits, state="confirmed", by=s.user)
    what = ", ".join(str(c) for c in p.commits)
    s.write(f"Commit {what} confirmed" if what else "Confirmed: nothing is rolled back")
