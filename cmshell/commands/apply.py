"""Applying the committed configuration: `sync` now, and the recap of what the backends did."""
from __future__ import annotations

import json

from cmshell.backends.base import Recap
from cmshell.commands.bulk import names
from cmshell.shell.dispatch import command
from cmshell.errors import CommandError
from cmshell.output import formats
from cmshell.store.base import StoreError

ORDER = ("ok", "changed", "failed", "unreachable")


def engine_of(s):
    engine = s.engine
    if engine is None or not engine.enabled:
        raise CommandError("Applying is off: set 'apply: auto' or 'apply: manual' in the configuration"
                           " file (docs/backends.md)")
    return engine


@command("sync", "Apply the committed configuration to nodes and Kubernetes now", scope="top",
         usage=["sync [-n|--nodes <nodes>] [-c|--category <categories>] [--force] [-d {}] [<backend> ...]"],
         examples=["sync", "sync -n node001..node004", "sync -c gpu-nodes ssh", "sync --force -n node001 ssh",
                   "sync --force kubernetes"],
         args=("ssh|kubernetes*",), options={"-n|--nodes": "ref:device", "-c|--category": "ref:category"})
def sync(s, args):
    engine = engine_of(s)
    targets: list[str] | None = None
    backends: list[str] = []
    force = as_json = False
    it = iter(args)
    for a in it:
        if a in ("-n", "--nodes", "-c", "--category"):
            value = next(it, None)
            if value is None:
                raise CommandError(f"sync: {a} needs a value")
            targets = (targets or []) + _nodes(s, a, value)
        elif a == "--force":
            force = True
        elif a == "-d":
            if next(it, None) != "{}":
                raise CommandError("sync: -d takes {} (JSON)")
            as_json = True
        elif a in engine.names():
            backends.append(a)
        else:
            raise CommandError(f"sync: unexpected argument {a}; backends: {', '.join(engine.names())}")
    recaps = engine.sync(backends or None, targets, force)
    from cmshell.safety import outcome
    try:
        outcome.record_sync(s.ws.store, recaps, s.user)     # journal: the commits' outcomes now
    except StoreError as e:
        s.error(f"sync: the journal's apply outcomes were not updated: {e}")
    show_recaps(s, recaps, as_json=as_json)


def _nodes(s, option: str, value: str) -> list[str]:
    if option in ("-n", "--nodes"):
        return names(s, [value])
    cats = set(names(s, [value]))
    for c in cats:
        if s.ws.find("category", c) is None:
            raise CommandError(f"sync {option}: no category named {c}")
    return sorted({n for c in cats for n in s.ws.where("device", "category", c)})


def show_recaps(s, recaps: list[Recap], *, as_json: bool = False) -> None:
    """Per target: ok / changed / failed / unreachable with the reason, then the counts."""
    if as_json:
        s.write(json.dumps([{"backend": r.backend, "commit": r.seq, "counts": r.counts(),
                             "targets": [{"target": t.target, "status": t.status, "reason": t.reason,
                                          "changes": t.changes} for t in r.results]}
                            for r in recaps], indent=2))
        return
    for recap in recaps:
        if not recap.results:
            continue
        rows = [[t.target, t.status, t.reason or "; ".join(t.changes)] for t in recap.results]
        s.write("\n".join(formats.report(["Target", "Status", "Details"], rows)))
        counts = recap.counts()
        s.write(f"{recap.backend}: " + " ".join(f"{k}={counts.get(k, 0)}" for k in ORDER))
