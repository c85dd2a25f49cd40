"""Moving around: use, exit, home, quit, help."""
from __future__ import annotations

import textwrap

from cmshell.shell.dispatch import command
from cmshell.errors import CommandError, Quit
from cmshell.shell import navigate


def _to_object(view, path, args):
    return navigate.find(view, path, args[0]) if len(args) == 1 else None


@command("use", "Use the specified object", usage=["use <object>"],
         examples=["use node001", "use docker::host"], args=("object",), moves=_to_object)
def use(s, args):
    if len(args) != 1:
        raise CommandError("Usage: use <object>")
    s.use(args[0])          # navigate.find, or the error that says why not


@command("exit", "Exit from current object or mode", scope="top", usage=["exit"], args=(),
         moves=lambda view, path, args: navigate.up(path))
def exit_(s, args):
    if not s.path:
        raise Quit()
    s.go(navigate.up(s.path))


@command("home", "Go to the top level", scope="top", usage=["home"], args=(),
         moves=lambda view, path, args: [])
def home(s, args):
    s.go([])


@command("quit", "Quit the shell", scope="top", usage=["quit"], args=())
def quit_(s, args):
    raise Quit()


@command("help", "Display the commands of this level, or help on one command", scope="top",
         usage=["help", "help <command>"], examples=["help", "help set"], args=("command?",))
def help_(s, args):
    reg = s.commands
    if args:
        name = args[0]
        d = reg.defs.get(name) or reg.defs.get(reg.aliases.get(name, ""))
        if d is None:
            from cmshell.shell.target import param_help       # `help iptables`: a parameter here
            lines = param_help(s, name)
            if lines:
                s.write("\n".join(lines))
                return
            mode = s.schema.modes.get(name)
            if mode is not None and mode.top:
                s.write(f"Name:\n{name} - {mode.help}\n\nUsage:\n{name}\n{name} <command> [arguments]")
                return
            raise CommandError(f"No help for unknown command: {name}")
        here = d.mode_help(s) if d.mode_help is not None and s.path else None   # this mode's own
        s.write("Name:")
        s.write(f"{d.name} - {(here and here.summary) or d.summary}")
        usage = (here and here.usage) or d.usage or ([d.synopsis()] if d.args is not None else [])
        if usage:
            s.write("\nUsage:")
            for u in usage:
                s.write(u)
        if here and here.arguments:
            s.write("\nArguments:")
            w = max(len(a) for a, _ in here.arguments) + 2
            for a, text in here.arguments:
                lines = textwrap.wrap(text, max(30, 78 - w)) or [""]
                s.write(a.ljust(w) + lines[0])
                for more in lines[1:]:
                    s.write(" " * w + more)
        examples = here.examples if here is not None else d.examples
        if examples:
            s.write("\nExamples:")
            for e in examples:
                s.write(e)
        return
    top = [d for d in reg.defs.values() if d.scope == "top"]
    top += [_ModeEntry(m.name, m.help) for m in s.schema.top_modes()]
    _block(s, "Top", top)
    if s.path:
        local = [d for d in reg.visible(s) if d.scope != "top"]
        local += [_ModeEntry(p.name, f"Enter {p.name} submode") for p in s.submodes().values()]
        _block(s, s.path[-1].mode.name, local)


class _ModeEntry:
    def __init__(self, name, summary):
        self.name, self.summary = name, summary


def _block(s, title, entries):
    s.write(f" {title} ".center(62, "=") if title else "")
    for e in sorted(entries, key=lambda e: e.name):
        s.write(f"{e.name} {'.' * max(3, 30 - len(e.name))} {e.summary}")
