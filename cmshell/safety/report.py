"""Plans and drift as the user reads them: per node its files (unified diff, mode, owner) and
service actions, per Kubernetes target its objects (created, changed with a field diff, pruned)
and node labels, unreachable and failed targets listed; a closing summary line; JSON for -d {}.

The Kubernetes backend words its plan lines `create <object>`, `change <object>: <field>; …`,
`prune <object>`, `label <node>: +k=v -k`, `warning: …` (docs/backends.md, "Plan"); they are
parsed here into counts and structure. A node's files come as FileChange records; its service
actions as lines `restart docker`, or `restart docker (owed by an earlier apply)` for one an
earlier apply left undone (docs/backends.md, "Plan and sync --force").
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from cmshell.backends.base import CHANGED, FAILED, OK, OWED, UNREACHABLE, FileChange, TargetResult
from cmshell.model.nodeset import compress
from cmshell.safety.plan import BackendPlan

ACTIONS = ("restart", "reload", "stop")        # ServiceAction.action
Paint = Callable[[str, str], str]              # (kind in _COLORS, text) -> the text, maybe coloured
_COLORS = {"add": "32", "del": "31", "mod": "33", "hunk": "36", "head": "1", "bad": "1;31"}


def _n(count: int, word: str, plural: str | None = None) -> str:
    return f"{count} {word if count == 1 else (plural or word + 's')}"


@dataclass
class Item:
    verb: str                 # create | change | prune | label | warning | other
    name: str                 # the object (`v1/ConfigMap ns/x`) or node
    details: list[str] = field(default_factory=list)


def parse_kube(line: str) -> Item:
    for verb in ("create", "prune"):
        if line.startswith(verb + " "):
            return Item(verb, line[len(verb) + 1:])
    if line.startswith("change "):
        name, _, rest = line[7:].partition(": ")
        return Item("change", name, [d for d in rest.split("; ") if d])
    if line.startswith("label "):
        name, _, rest = line[6:].partition(": ")
        return Item("label", name, rest.split())
    if line.startswith("warning: "):
        return Item("warning", "", [line[9:]])
    if line.startswith("conflict "):
        name, _, rest = line[9:].partition(": ")
        return Item("conflict", name, [rest])
    return Item("other", line)


@dataclass
class Service:
    action: str               # restart | reload | stop
    unit: str
    owed: bool = False        # an earlier apply wrote its files but the action failed or never ran


def services(r: TargetResult) -> list[Service]:
    """The service actions of a node plan, from its `restart docker` lines."""
    out = []
    for words in (c.split(None, 1) for c in r.changes):
        if len(words) == 2 and words[0] in ACTIONS:
            unit, owed = words[1], words[1].endswith(f" ({OWED})")
            out.append(Service(words[0], unit[:-len(OWED) - 3] if owed else unit, owed))
    return out


class Report:
    """A plan (`drift=False`) or a drift report over the backends' plan results."""

    def __init__(self, plans: list[BackendPlan], *, drift: bool = False,
                 pending: dict[str, int] | None = None):
        self.drift = drift
        self.pending = pending or {}            # target -> commit not applied yet (apply: manual)
        self.nodes: list[TargetResult] = []
        self.targets: list[TargetResult] = []
        for bp in plans:
            nodes = bp.backend == "ssh" or any(r.files for r in bp.results)
            (self.nodes if nodes else self.targets).extend(bp.results)
        if drift:
            self.targets = [_conflicts_as_drift(r) for r in self.targets]
        self.nodes.sort(key=lambda r: r.target)
        self.targets.sort(key=lambda r: r.target)

    # -- counts -----------------------------------------------------------------------------
    def counts(self) -> dict[str, int]:
        c = dict.fromkeys(("nodes_changed", "files", "files_created", "files_edited", "modes",
                           "owners", "created", "changed", "pruned", "labels", "nodes_unreachable",
                           "nodes_failed", "clusters_unreachable", "targets_failed",
                           "nodes_unchanged", "targets_unchanged", "nodes_differing", "owed"), 0)
        for a in ACTIONS:
            c[a] = 0
        for r in self.nodes:
            c["nodes_changed" if r.status == CHANGED else "nodes_unchanged" if r.status == OK
              else "nodes_unreachable" if r.status == UNREACHABLE else "nodes_failed"] += 1
            c["nodes_differing"] += bool(r.files)
            for f in r.files:
                c["files"] += 1
                c["files_created"] += f.created
                c["files_edited"] += bool(f.diff) and not f.created
                c["modes"] += f.mode is not None and not f.created
                c["owners"] += f.owner is not None and not f.created
            for sv in services(r):
                c[sv.action] += 1
                c["owed"] += sv.owed
        down: set[str] = set()
        for r in self.targets:
            if r.status == UNREACHABLE:
                down.add(r.target.split("/")[0])
            elif r.status == FAILED:
                c["targets_failed"] += 1
            elif r.status == OK:
                c["targets_unchanged"] += 1
            for it in map(parse_kube, r.changes):
                if it.verb in ("create", "change", "prune", "conflict"):
                    c[{"create": "created", "change": "changed", "prune": "pruned",
                       "conflict": "changed"}[it.verb]] += 1
                elif it.verb == "label":
                    c["labels"] += 1
        c["clusters_unreachable"] = len(down)
        return c

    @property
    def changes(self) -> bool:
        return any(r.status == CHANGED for r in self.nodes + self.targets)

    @property
    def complete(self) -> bool:
        """Every target was reached and compared."""
        return all(r.status in (OK, CHANGED) for r in self.nodes + self.targets)

    def summary(self) -> str:
        c = self.counts()
        parts = []
        if self.drift:
            if c["nodes_differing"]:
                n = c["nodes_differing"]
                kinds = [f"{c['files_edited']} edited" if c["files_edited"] else "",
                         f"{c['files_created']} missing" if c["files_created"] else "",
                         _n(c["modes"], "mode") + " changed" if c["modes"] else "",
                         _n(c["owners"], "owner") + " changed" if c["owners"] else ""]
                parts.append(f"{_n(n, 'node')} differ{'s' if n == 1 else ''} in {_n(c['files'], 'file')}"
                             f" ({', '.join(k for k in kinds if k)})")
            if c["owed"]:            # files in place, but the action that should follow them never ran
                parts.append(f"{_n(c['owed'], 'service action')} owed by an earlier apply")
        elif c["nodes_changed"]:
            n = c["nodes_changed"]
            acts = [f"{a} {_n(c[a], 'service')}" for a in ACTIONS if c[a]]
            if c["files"] or not acts:
                text = f"{_n(n, 'node')} change{'s' if n == 1 else ''} {_n(c['files'], 'file')}"
                text += (" and " + ", ".join(acts)) if acts else ""
            else:                    # only actions an earlier apply owes: `1 node restarts 1 service`
                verb, what = acts[0].split(" ", 1)
                text = ", ".join([f"{_n(n, 'node')} {verb}{'s' if n == 1 else ''} {what}"] + acts[1:])
            if c["owed"]:
                text += f" ({c['owed']} owed by an earlier apply)"
            parts.append(text)
        objs = [(c["created"], "deleted" if self.drift else "created"), (c["changed"], "changed"),
                (c["pruned"], "left over" if self.drift else "pruned")]
        objs = [(k, w) for k, w in objs if k]
        if objs:
            first, *rest = objs
            parts.append(", ".join([f"{_n(first[0], 'object')} {first[1]}"] + [f"{k} {w}" for k, w in rest]))
        if c["labels"]:
            parts.append(f"labels {'differ' if self.drift else 'change'} on {_n(c['labels'], 'node')}")
        head = "Drift: " if self.drift else "Plan: "
        if not parts:
            parts.append("none" if self.drift else "no changes")
        issues = [_n(c["nodes_unreachable"], "node") + " unreachable" if c["nodes_unreachable"] else "",
                  _n(c["clusters_unreachable"], "Kubernetes cluster") + " unreachable"
                  if c["clusters_unreachable"] else "",
                  _n(c["nodes_failed"], "node") + " failed" if c["nodes_failed"] else "",
                  _n(c["targets_failed"], "Kubernetes target") + " failed" if c["targets_failed"] else ""]
        return head + "; ".join(parts + [i for i in issues if i])

    # -- JSON -------------------------------------------------------------------------------
    def as_json(self) -> dict:
        def f(x: FileChange) -> dict:
            return {"path": x.path, "created": x.created, "diff": x.diff,
                    "mode": [None if m is None else f"{m:04o}" for m in x.mode] if x.mode else None,
                    "owner": list(x.owner) if x.owner else None}

        nodes = [{"node": r.target, "status": r.status, "reason": r.reason,
                  "files": [f(x) for x in r.files],
                  "services": [{"unit": sv.unit, "action": sv.action, "owed": sv.owed} for sv in services(r)],
                  "pending_commit": self.pending.get(r.target)}
                 for r in self.nodes if r.status != OK]
        kube = []
        for r in self.targets:
            if r.status == OK:
                continue
            items = [parse_kube(line) for line in r.changes]
            kube.append({"target": r.target, "status": r.status, "reason": r.reason,
                         "created": [i.name for i in items if i.verb == "create"],
                         "changed": [{"object": i.name, "fields": i.details} for i in items if i.verb == "change"]
                         + [{"object": i.name, "conflict": i.details[0]} for i in items if i.verb == "conflict"],
                         "pruned": [i.name for i in items if i.verb == "prune"],
                         "labels": [{"node": i.name, "change": i.details} for i in items if i.verb == "label"],
                         "warnings": [i.details[0] for i in items if i.verb == "warning"]
                         + [i.name for i in items if i.verb == "other"],
                         "pending_commit": self.pending.get(r.target)})
        return {"nodes": nodes, "kubernetes": kube, "counts": self.counts(), "summary": self.summary()}

    # -- text -------------------------------------------------------------------------------
    def text(self, color: bool = False, brief: bool = False) -> str:
        """The report; `brief`: only the targets that could not be planned, and the summary."""
        def paint(kind: str, s: str) -> str:
            return f"\x1b[{_COLORS[kind]}m{s}\x1b[0m" if color and s else s

        out: list[str] = []
        # nodes with the same changes are shown once, under their names (`node001..node006:`)
        groups: dict[tuple[str, ...], list[str]] = {}
        for r, lines in [(r, self._node_lines) for r in self.nodes] + \
                        [(r, self._object_lines) for r in self.targets]:
            if r.status == OK:
                continue
            note = f" (commit {self.pending[r.target]} not applied yet)" if r.target in self.pending else ""
            body: tuple[str, ...]
            if r.status in (UNREACHABLE, FAILED):
                body = (paint("bad", f"{r.status}: {r.reason}") + note,)
            else:
                body = tuple([note] + lines(r, paint))
            groups.setdefault(body, []).append(r.target)
        nodes = {r.target for r in self.nodes}
        for body, who in groups.items():
            head = compress(who) if who[0] in nodes else ", ".join(who)
            if len(body) == 1:                      # unreachable / failed: one line
                out.append(paint("bad", f"{head}: ") + body[0])
            elif not brief:
                out.append(paint("head", f"{head}:") + body[0])
                out += body[1:]
        out.append(paint("head", self.summary()))
        return "\n".join(out)

    def _node_lines(self, r: TargetResult, paint: Paint) -> list[str]:
        out = []
        for x in r.files:
            if x.created:
                mode = f"{x.mode[1]:04o} " if x.mode else ""
                out.append(paint("add", f"  {x.path}: missing" if self.drift
                                 else f"  + {x.path} (new file, {mode}{x.owner[1] if x.owner else ''})"))
            elif x.diff:
                # a pending commit explains the difference: no hand edit is implied
                edited = "differs" if r.target in self.pending else "edited by hand"
                out.append(paint("mod", f"  {x.path}: {edited}" if self.drift else f"  ~ {x.path}"))
            if x.diff:
                out += ["      " + _paint_diff(line, paint) for line in x.diff.rstrip("\n").split("\n")]
            if x.mode and not x.created:
                now = f"{x.mode[0]:04o}" if x.mode[0] is not None else "?"
                out.append(paint("mod", f"  {x.path}: mode {now}, the model has {x.mode[1]:04o}" if self.drift
                                 else f"  ~ {x.path}: mode {now} -> {x.mode[1]:04o}"))
            if x.owner and not x.created:
                out.append(paint("mod", f"  {x.path}: owner {x.owner[0]}, the model has {x.owner[1]}" if self.drift
                                 else f"  ~ {x.path}: owner {x.owner[0]} -> {x.owner[1]}"))
        for sv in services(r):
            owed = f", {OWED}" if sv.owed else ""
            out.append(f"  (sync would {sv.action} {sv.unit}{owed})" if self.drift
                       else f"  {sv.action} {sv.unit}{f' ({OWED})' if sv.owed else ''}")
        return out

    def _object_lines(self, r: TargetResult, paint: Paint) -> list[str]:
        out = []
        for it in map(parse_kube, r.changes):
            if it.verb == "create":
                out.append(paint("add", f"  {it.name}: deleted (the model has it)" if self.drift
                                 else f"  + create {it.name}"))
            elif it.verb == "change":
                out.append(paint("mod", f"  {it.name}: changed by someone else" if self.drift
                                 else f"  ~ change {it.name}"))
                out += [f"      {d}" for d in it.details]
            elif it.verb == "prune":
                out.append(paint("del", f"  {it.name}: still there (no longer in the model)" if self.drift
                                 else f"  - prune {it.name}"))
            elif it.verb == "conflict":
                out.append(paint("mod", f"  {it.name}: changed by someone else: {it.details[0]}"))
            elif it.verb == "label":
                if self.drift:
                    gone = [d[1:] for d in it.details if d.startswith("+")]
                    extra = [d[1:] for d in it.details if d.startswith("-")]
                    words = ([f"label {', '.join(gone)} removed or changed"] if gone else []) + \
                            ([f"label {', '.join(extra)} still set"] if extra else [])
                    out.append(paint("mod", f"  Node {it.name}: {'; '.join(words)}"))
                else:
                    out.append(paint("mod", f"  ~ label Node {it.name}: {' '.join(it.details)}"))
            elif it.verb == "warning":
                out.append(f"  warning: {it.details[0]}")
            else:
                out.append(f"  {it.name}")
        return out


def _conflicts_as_drift(r: TargetResult) -> TargetResult:
    """A dry run that conflicts with another field manager means someone else changed a field
    cmshell owns (`kubectl edit`): drift, which `sync --force` takes back, not a failure."""
    parts = r.reason.split("; ") if r.status == FAILED and r.reason else []
    if not parts or not all(": conflict with " in p for p in parts):
        return r
    return TargetResult(r.target, CHANGED, "", r.changes + [f"conflict {p}" for p in parts])


def _paint_diff(line: str, paint: Paint) -> str:
    if line.startswith(("---", "+++")):
        return paint("head", line)
    if line.startswith("@@"):
        return paint("hunk", line)
    if line.startswith("+"):
        return paint("add", line)
    if line.startswith("-"):
        return paint("del", line)
    return line
