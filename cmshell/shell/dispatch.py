"""What the session dispatches to: one definition per command (its name, help, where it is
valid, the kinds of its arguments), the @command decorator the command families define their
commands with, the hooks the session asks before dispatching, and the Registry that holds them.
Dispatch, `help` and completion read these definitions. The families themselves live in
cmshell/commands/; commands/registry.py loads them all."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from cmshell.errors import CommandError
from cmshell.shell.navigate import Moves

# scopes: "top" everywhere; "mode" inside any mode; "roles" in a roles collection;
# "element" only with an object selected; "custom" when the selected object's schema names it
# "mode:NAME" at top-level mode NAME (its list or one of its objects)
SCOPES = ("top", "mode", "roles", "element", "custom")

BUILTIN_ALIASES = {"..": "exit", "/": "home", "?": "help", "ls": "list",
                   "-": "goto -", "ds": "device status"}   # alias text; see commands/scripting.py


@dataclass
class CommandDef:
    name: str
    summary: str
    fn: Callable
    scope: str = "mode"
    usage: list[str] = field(default_factory=list)
    examples: list[str] = field(default_factory=list)
    # what each argument is, for completion, highlighting and `help` (see ARG_KINDS); None:
    # not described (nothing is completed after the command)
    args: tuple | None = None
    # a command that moves the session: where it goes (shell/navigate.py), so that completion
    # follows `use node001; set …` without running it; the command itself moves the same way
    moves: Moves | None = None
    # `help <command>` where the usage differs per mode (cmsh's `help add` in device mode):
    # (session) -> ModeHelp, or None for the general text
    mode_help: Callable | None = None
    # what the value of each valued option is, as an argument kind (`{"-c|--category":
    # "ref:category"}`); options the usage shows with a value but that are not named here take
    # a value that is not completed (a count, a message)
    options: dict[str, str] = field(default_factory=dict)
    # bulk runs (`foreach` over many objects): (args) -> a callable (session) -> None that does
    # what running the command with these args at the session's location does, with the work
    # that is the same for every object done once; None where the command cannot be prepared
    prepare: Callable | None = None

    def synopsis(self) -> str:
        """`set [<object>] <parameter> <value> ...` from `args` (help uses it without `usage`)."""
        return " ".join([self.name] + [arg_label(a) for a in self.args or ()])

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
        if self.scope.startswith("mode:"):       # "mode:category": at that top-level mode or its objects
            return len(path) == 1 and path[0].mode.name == self.scope[5:]
        return False


_DEFS: dict[str, CommandDef] = {}


# Argument kinds of CommandDef.args, one entry per argument: KIND, KIND:QUALIFIER, a `?`
# suffix (optional) or `*` (any number, last). A kind with `|` lists literal words (`on|off`).
ARG_KINDS = {
    "target": "[<object>]",     # the object a command works on: named at list levels only
    "object": "<object>",       # an object of the current level (a sibling when one is selected)
    "param": "<parameter>",     # a parameter of the target (:set settable only, :list lists only)
    "value": "<value>",         # a value of the last parameter (yes/no, enum, pointed-to names, files)
    "member": "<value>",        # an element of the last (list) parameter's current value
    "role": "<role>",           # a role type that can be assigned here (role:any: every role type)
    "type": "<type>",           # the type of a new object (modes with types only; type:MODE: MODE's)
    "new": "<name>",            # a new name (not completed)
    "addarg": "<argument>",     # the mode's positional `add` arguments (add_args)
    "file": "<file>",           # a file name
    "mode": "<mode>",           # a top-level mode word
    "command": "<command>",     # a command, alias or mode word
    "line": "<command> [<arguments>]",   # the rest is a command line of its own (time, watch)
    "any": "<argument>",        # anything (not completed)
    # mostly option values; a comma-separated list completes its last item
    "ref": "<object>",          # ref:MODE: objects of the top-level mode MODE (`-c default,gpu-nodes`)
    "field": "<field>",         # a list field of this mode (:spec also takes `:width`; `:MODE` another mode's)
    "bookmark": "<bookmark>",   # a bookmark name
    "extra": "<name>",          # an extra parameter (`set -e`) of the target
}


def arg_label(arg: str) -> str:
    rep = arg[-1] if arg[-1:] in "?*" else ""
    kind = arg.rstrip("?*")
    label = kind if "|" in kind else ARG_KINDS.get(kind.split(":")[0], f"<{kind}>")
    if rep == "?" and not label.startswith("["):
        label = f"[{label}]"
    return label + (" ..." if rep == "*" else "")


@dataclass
class ModeHelp:
    """What `help <command>` prints in one mode instead of the general text."""
    summary: str = ""
    usage: list[str] = field(default_factory=list)
    arguments: list[tuple[str, str]] = field(default_factory=list)    # (argument, text)
    examples: list[str] = field(default_factory=list)


def command(name: str, summary: str, *, scope: str = "mode", usage=(), examples=(), args=None,
            moves: Moves | None = None, mode_help: Callable | None = None,
            options: dict[str, str] | None = None, prepare: Callable | None = None):
    def deco(fn):
        _DEFS[name] = CommandDef(name, summary, fn, scope, list(usage), list(examples),
                                 args=tuple(args) if args is not None else None, moves=moves,
                                 mode_help=mode_help, options=dict(options or {}), prepare=prepare)
        return fn
    return deco


def _declines(session, *args) -> bool:
    return False


@dataclass
class Hooks:
    """What the session asks before dispatching a word; each returns True when it ran the
    command. The command families fill these in (scripting: aliases, ranges: `range`), so that
    the session needs no import of them."""
    alias: Callable[..., bool] = _declines       # (session, name, args): alias text
    range: Callable[..., bool] = _declines       # (session, words): run for each range member
    script: Callable[..., bool] = _declines      # (session, name, args): ~/.cmshell/NAME.cmsh


HOOKS = Hooks()


class Registry:
    def __init__(self, defs: dict[str, CommandDef], hooks: Hooks = HOOKS):
        self.defs = defs
        self.hooks = hooks
        self.aliases = dict(BUILTIN_ALIASES)

    def find(self, session, name: str) -> CommandDef | None:
        d = self.defs.get(name) or self.defs.get(self.aliases.get(name, ""))
        if d is None:
            return None
        if not d.available(session):
            where = {"mode": "inside a mode", "roles": "in a roles submode",
                     "element": "with an object selected ('use <object>' first)",
                     "custom": "in the object that defines it"}.get(
                         d.scope, f"in {d.scope[5:]} mode" if d.scope.startswith("mode:") else "here")
            raise CommandError(f"{d.name}: only available {where}")
        return d

    def visible(self, session) -> list[CommandDef]:
        return sorted((d for d in self.defs.values() if d.available(session)), key=lambda d: d.name)


def defined() -> dict[str, CommandDef]:
    """Every command defined so far (by the families imported so far)."""
    return _DEFS
