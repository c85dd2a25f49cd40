"""What every renderer shares: its input (a node's effective configuration and the committed
view), errors, and $VAR substitution."""
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
