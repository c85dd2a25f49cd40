"""The command registry: one definition per command, used by dispatch, `help` and completion."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

# scopes: "top" everywhere; "mode" inside any mode; "roles" in a roles collection;
# "element" only with an object selected; "custom" when the selected object's schema names it
SCOPES = ("top", "mode", "roles", "element", "custom")

BUILTIN_ALIASES = {"..": "exit", "/": "home", "?": "help", "ls": "list"}


@dataclass
class CommandDef:
    name: str
    summary: str
    fn: Callable
    scope: str = "mode"
    usage: list[str] = field(default_factory=list)
    examples: list[str] = field(default_factory=list)
    navigates: bool = False

    def run(self, session, args: list[str]) -> None:
        self.fn(session, args)

    def available(self, session) -> bool:
        path = session.path
        if self.scope == "top":
            return True
        if not path:
            return False
        if self.scope == "mode":
            return True
        if self.scope == "roles":
            return path[-1].mode.roles is not None
        if self.scope == "element":
            return path[-1].key is not None
        if self.scope == "custom":
            return path[-1].key is not None and self.name in path[-1].mode.spec(session.element()).commands
        return False


_DEFS: dict[str, CommandDef] = {}


def command(name: str, summary: str, *, scope: str = "mode", usage=(), examples=()):
    def deco(fn):
        _DEFS[name] = CommandDef(name, summary, fn, scope, list(usage), list(examples))
        return fn
    return deco


class Registry:
    def __init__(self, defs: dict[str, CommandDef]):
        self.defs = defs
        self.aliases = dict(BUILTIN_ALIASES)

    def find(self, session, name: str) -> CommandDef | None:
        from cmshell.shell.session import CommandError
        d = self.defs.get(name) or self.defs.get(self.aliases.get(name, ""))
        if d is None:
            return None
        if not d.available(session):
            where = {"mode": "inside a mode", "roles": "in a roles submode",
                     "element": "with an object selected ('use <object>' first)",
                     "custom": "in the object that defines it"}.get(d.scope, "here")
            raise CommandError(f"{d.name}: only available {where}")
        return d

    def visible(self, session) -> list[CommandDef]:
        return sorted((d for d in self.defs.values() if d.available(session)), key=lambda d: d.name)


def load() -> Registry:
    # importing the families registers their commands
    from cmshell.commands import kubelet, navigation, objects, staging  # noqa: F401
    return Registry(_DEFS)
