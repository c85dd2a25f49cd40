"""A store with a kubernetes cluster object, committed the way the Committer does, and an Engine
whose kubernetes backend talks to the test's API server."""
from __future__ import annotations

import copy

from cmshell.backends import config as cfg
from cmshell.backends.engine import Engine
from cmshell.backends.kubernetes.backend import KubernetesBackend
from cmshell.events import EventQueue
from cmshell.model.schema import load_schema
from cmshell.store.base import Change
from cmshell.store import new_id, open_store

SCHEMA = load_schema()


def configmap(name: str, ns: str, **data: str) -> str:
    body = "\n".join(f"  {k}: \"{v}\"" for k, v in data.items())
    return f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  namespace: {ns}\ndata:\n{body}\n"


def app(name: str, config: str, enabled: bool = True, env: dict | None = None) -> dict:
    return {"name": name, "format": "Yaml", "enabled": enabled, "config": config,
            "environment": [{"name": k, "value": v, "nodesenvironment": False}
                            for k, v in (env or {}).items()]}


def group(name: str, *apps: dict, enabled: bool = True) -> dict:
    return {"name": name, "enabled": enabled, "applications": list(apps)}


def managers(obj) -> list[tuple[str, str]]:
    """(manager, operation) of a client model object's managedFields."""
    return sorted((m.manager, m.operation) for m in obj.metadata.managed_fields)


class Harness:
    """Commits documents to a real SQLite store and runs them through Engine.after_commit."""

    def __init__(self, tmp_path, kubeconfig: str, cluster: str = "default", apply: str = "auto"):
        self.store = open_store(tmp_path / "cmshell.db")
        self.events = EventQueue()
        self.backend = KubernetesBackend()
        conf = cfg.Config(None, apply, {"kubernetes": {cluster: {"kubeconfig": kubeconfig}}})
        self.engine = Engine(self.store, SCHEMA, conf, events=self.events,
                             factories={"kubernetes": lambda: self.backend})
        self.ids: dict[tuple[str, str], tuple[str, int]] = {}
        self.cluster = cluster

    def put(self, mode: str, doc: dict | None, name: str | None = None):
        key = SCHEMA.mode(mode).key
        name = name or str(doc[key])
        rid, rev = self.ids.get((mode, name), (new_id(), None))
        committed = self.store.commit([Change(rid, mode, name, rev, copy.deepcopy(doc))], user="test")
        if doc is None:
            self.ids.pop((mode, name), None)
        else:
            self.ids[(mode, name)] = (rid, committed.revisions[rid])
        self.engine.after_commit(committed)
        return self.engine.recaps[-1] if self.engine.recaps else None

    def cluster_doc(self, appgroups=(), labelsets=(), users=()) -> dict:
        return {"name": self.cluster, "appgroups": list(appgroups), "labelsets": list(labelsets),
                "users": list(users)}

    def lines(self) -> list[str]:
        return [f"[{e.severity}] {e.source}: {e.text}" for e in self.events.log]
