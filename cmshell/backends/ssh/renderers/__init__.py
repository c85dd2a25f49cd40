"""Renderers: pure functions from a node's effective configuration to desired files and actions.

One module per role. A renderer reads only what `RenderInput` gives it (the node's configuration,
other committed objects, the nodes that have a role) and does no I/O, so every one is tested
without a node. Files that must be merged with what the node has (a managed block, a manifest
edit) carry an `edit` function that the backend calls with the node's current content.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

from cmshell.backends.base import DesiredFile, NodeState, ServiceAction
from cmshell.model.effective import Effective, NodeConfig
from cmshell.model.schema import Schema


class RenderError(Exception):
    """The configuration cannot be rendered (e.g. an option the daemon does not know)."""


@dataclass(frozen=True)
class RenderInput:
    node: NodeConfig
    effective: Effective            # over the committed view the node was rendered from

    @property
    def schema(self) -> Schema:
        return self.effective.schema

    def obj(self, mode: str, name: str) -> dict | None:
        return self.effective.get(mode, name)

    def with_defaults(self, mode: str, doc: dict | None) -> dict:
        """`doc` with the schema's defaults for the parameters it leaves unset."""
        doc = doc or {}
        spec = self.schema.mode(mode).spec(doc)
        out = {p.name: p.default for p in spec.params if not p.is_submode and p.default is not None}
        out.update({k: v for k, v in doc.items() if v is not None})
        return out

    def role(self, name: str) -> dict:
        return self.with_defaults("roles", self.node.role(name))

    def peers(self, role: str) -> list[NodeConfig]:
        """Every node that has `role` (effective), in name order."""
        out = []
        for n in self.effective.nodes_with_roles({role.lower()}):
            cfg = self.effective.node(n)
            if cfg is not None and cfg.role(role) is not None:
                out.append(cfg)
        return out


Rendered = tuple[list[DesiredFile], list[ServiceAction]]
Renderer = Callable[[RenderInput, dict], Rendered]


def substitute(text: str, env: dict[str, str]) -> str:
    """$VAR and ${VAR} replaced by the variables known; anything else is left as written."""
    def one(m: re.Match) -> str:
        name = m.group(1) or m.group(2)
        return env.get(name, m.group(0))
    return re.sub(r"\$\{(\w+)\}|\$(\w+)", one, text)


def _registry() -> dict[str, Renderer]:
    from cmshell.backends.ssh.renderers import apiserverproxy, docker, etcd, firewall, generic, kubelet
    return {"docker::host": docker.render, "etcd::host": etcd.render, "firewall": firewall.render,
            "kubernetes::apiserverproxy": apiserverproxy.render, "kubelet": kubelet.render}


def render_node(inp: RenderInput) -> NodeState:
    """Everything the node's roles render; a file two roles write is an error."""
    from cmshell.backends.ssh.renderers import generic
    registry = _registry()
    files: dict[str, DesiredFile] = {}
    actions: list[ServiceAction] = []
    for role in inp.node.roles:
        low = role.name.lower()
        fn = generic.render if low.startswith("generic::") else registry.get(low)
        if fn is None:
            continue          # roles that put no files on the node (e.g. boot, storage)
        got_files, got_actions = fn(inp, inp.with_defaults("roles", role.doc))
        for f in got_files:
            if f.path in files:
                raise RenderError(f"{f.path} is written by two roles ({role.name})")
            files[f.path] = f
        actions.extend(got_actions)
    return NodeState(inp.node.name, tuple(files.values()), tuple(actions))
