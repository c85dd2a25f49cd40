"""Commands about the session itself: history, events, quitconfirmation, completion."""
from __future__ import annotations

from cmshell.shell.dispatch import command
from cmshell.events import SEVERITIES, stamp
from cmshell.errors import CommandError


@command("history", "Show the command history (~/.cmshell_history)", scope="top",
         usage=["history [-t|--timestamps] [<count>]"],
         examples=["history", "history -t 20", "history | grep commit"], args=("any?",))
def history_(s, args):
    from cmshell.shell import history_file
    stamps, count = False, None
    for a in args:
        if a in ("-t", "--timestamps"):
            stamps = True
        elif a.isdigit():
            count = int(a)
        else:
            raise CommandError(f"history: unexpected argument {a} (usage: history [-t] [<count>])")
    entries = list(enumerate(history_file.read(s.env.history_file()), 1))
    if count is not None:
        entries = entries[-count:] if count else []
    width = len(str(entries[-1][0])) if entries else 1
    for n, (when, line) in entries:
        text = line.replace("\n", "; ")
        if stamps:
            s.write(f"{n:>{width}} {stamp(when) if when is not None else '-'} {text}")
        else:
            s.write(f"{n:>{width}} {text}")


@command("events", "Show or change which events are printed", scope="top",
         usage=["events", "events on|off [private|broadcast]", "events level <info|notice|warning|error|alert>",
                "events clear", "events <count> [<level>]"],
         examples=["events", "events off", "events on broadcast", "events level warning", "events 10"],
         args=("on|off|level|clear?", "private|broadcast|info|notice|warning|error|alert?"))
def events_(s, args):
    q = s.events
    if not args:
        s.write(f"Private events: {_onoff(q.private)}")
        s.write(f"Broadcast events: {_onoff(q.broadcast)}")
        s.write(f"Level: {q.level}")
        for ev in q.take_undisplayed():
            s.write(ev.line())
        return
    what = args[0].lower()
    if what in ("on", "off"):
        if len(args) > 2:
            raise CommandError(f"events: unexpected argument {args[2]}")
        which = args[1].lower() if len(args) > 1 else None
        if which not in (None, "private", "broadcast"):
            raise CommandError(f"events {what}: private or broadcast, not {args[1]}")
        if which in (None, "private"):
            q.private = what == "on"
            s.write(f"Private events: {what}")
        if which in (None, "broadcast"):
            q.broadcast = what == "on"
            s.write(f"Broadcast events: {what}")
        s.settings.events = q.private or q.broadcast
        return
    if what == "level":
        if len(args) != 2 or args[1].lower() not in SEVERITIES:
            raise CommandError(f"Usage: events level <{'|'.join(SEVERITIES)}>")
        q.level = args[1].lower()
        s.write(f"Level: {q.level}")
        return
    if what == "clear":
        q.clear()
        return
    if what.isdigit():
        level = args[1].lower() if len(args) > 1 else "info"
        if level not in SEVERITIES:
            raise CommandError(f"events {what}: the level is one of {', '.join(SEVERITIES)}")
        for ev in q.last(int(what), level):
            s.write(ev.line())
        return
    raise CommandError(f"events: unknown argument {args[0]}; 'help events' shows the usage")


@command("quitconfirmation", "Show or set whether quitting with uncommitted changes asks first",
         scope="top", usage=["quitconfirmation [on|off]"], examples=["quitconfirmation off"],
         args=("on|off?",))
def quitconfirmation(s, args):
    if len(args) > 1 or (args and args[0].lower() not in ("on", "off")):
        raise CommandError("Usage: quitconfirmation [on|off]")
    if args:
        s.settings.quit_confirmation = args[0].lower() == "on"
    s.write(f"Quit confirmation: {_onoff(s.settings.quit_confirmation)}")


@command("completion", "Show or set how Tab completes: as readline does, or with a menu",
         scope="top", usage=["completion [readline|menu]",
                             "  readline  Tab completes what every choice shares; a second Tab lists them",
                             "  menu      a menu of the choices follows the cursor while typing"],
         examples=["completion menu", "completion readline"], args=("readline|menu?",))
def completion(s, args):
    if len(args) > 1 or (args and args[0].lower() not in ("readline", "menu")):
        raise CommandError("Usage: completion [readline|menu]")
    if args:
        s.settings.completion = args[0].lower()
    s.write(f"Completion: {s.settings.completion}")


def _onoff(flag: bool) -> str:
    return "on" if flag else "off"
