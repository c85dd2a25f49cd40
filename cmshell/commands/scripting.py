"""Scripting: alias, unalias, run, path, bookmark, goto, export, time, watch.

See docs/scripts-and-review.md. Aliases live in the session's registry (`s.commands.aliases`,
name -> command text, starting with cmsh's built-in ones); `Session.execute` expands them
through `run_alias`, and runs `~/.cmshell/NAME.cmsh` for an otherwise unknown NAME through
`run_script_alias`.
"""
from __future__ import annotations

import os
import re
import time

from cmshell.shell.dispatch import BUILTIN_ALIASES, HOOKS, command
from cmshell.shell.files import read_text
from cmshell.errors import CommandError, Failed
from cmshell.syntax.line import LineError, split

SCRIPT_SUFFIX = ".cmsh"
MAX_DEPTH = 16                      # nested `run`s and alias expansions
_PLAIN = re.compile(r"^[A-Za-z0-9_.:@/+=]+$")
_SPECIAL = re.compile(r'[;|>#()!"\\]|^\s|\s$|^$')
_UNSAFE = re.compile(r'[\s;|>()"\\]|^[#!]')      # what the line syntax would not read back as one word
_SCRIPT_NAME = re.compile(r"^[A-Za-z0-9_+][A-Za-z0-9_.+-]*$")
_PARAM = re.compile(r"\$(?:(\d)|\{(\d+)(?::?-([^}]*))?\}|([@*#]))")


def quote(word: str) -> str:
    """A word as cmshell's line syntax reads it back (double quotes when needed)."""
    if word and not _UNSAFE.search(word):
        return word
    return '"' + word.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _stack(s) -> list:
    return s.__dict__.setdefault("_scripting_stack", [])


# -- aliases -------------------------------------------------------------------------------
def run_alias(s, name: str, args: list[str]) -> bool:
    """Run alias `name` with `args` appended to its (last) command. False: not expanded here
    (an alias that names one command is left to the registry; an alias met again inside its
    own expansion is the command of that name)."""
    text = s.commands.aliases[name]
    if (text in s.commands.defs and name not in s.commands.defs) or ("alias", name) in _stack(s):
        return False
    if text == BUILTIN_ALIASES.get(name) == "device status" and "status" not in s.commands.defs:
        raise CommandError(f"{name} (device status): not available in cmshell, which has no "
                           "monitoring data (docs/differences.md)")
    try:
        cmds = split(text)
    except LineError as e:
        raise CommandError(f"alias {name}: {e}") from None
    if not cmds:
        return True
    last = cmds[-1]
    if last.shell is not None:
        last.shell = " ".join([last.shell, *args]).strip()
    else:
        last.words = last.words + list(args)
    _run_nested(s, ("alias", name), lambda: all([s.run_command(c) for c in cmds]))
    return True


def _run_nested(s, frame, fn) -> None:
    stack = _stack(s)
    if len(stack) >= MAX_DEPTH:
        raise CommandError(f"{frame[0]} {frame[1]}: nested more than {MAX_DEPTH} deep")
    stack.append(frame)
    try:
        ok = fn()
    finally:
        stack.pop()
    if not ok:
        raise Failed()       # the failing command has printed its error


def script_path(s, name: str) -> str | None:
    if not _SCRIPT_NAME.match(name):
        return None
    path = os.path.join(s.env.scripts_dir(), name + SCRIPT_SUFFIX)
    return path if os.path.isfile(path) else None


def run_script_alias(s, name: str, args: list[str]) -> bool:
    """`NAME args` runs ~/.cmshell/NAME.cmsh when nothing else is called NAME."""
    path = script_path(s, name)
    if path is None:
        return False
    run_file(s, path, args)
    return True


def script_aliases(s) -> dict[str, str]:
    """name -> `run PATH` for the scripts in ~/.cmshell that no command, mode or alias hides."""
    out = {}
    try:
        entries = sorted(os.scandir(s.env.scripts_dir()), key=lambda e: e.name)
    except OSError:
        return out
    for e in entries:
        if not e.name.endswith(SCRIPT_SUFFIX):
            continue
        name = e.name[: -len(SCRIPT_SUFFIX)]
        if (not _SCRIPT_NAME.match(name) or name in s.commands.aliases or name in s.commands.defs
                or name.lower() in s.schema.modes or not e.is_file()):
            continue
        out[name] = "run " + quote(e.path)
    return out


def alias_line(name: str, text: str) -> str:
    shown = '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"' if _SPECIAL.search(text) else text
    return f"alias {quote(name) if _SPECIAL.search(name) else name} {shown}"


@command("alias", "Define an alias, or list the aliases", scope="top",
         usage=["alias", "alias <name>", "alias <name> <command> [<arguments>]",
                'alias <name> "<command>; <command>"'],
         examples=["alias lv device list", 'alias n1 "device; use node001"', "alias"],
         args=("new?", "line?"))
def alias(s, args):
    aliases = s.commands.aliases
    if not args:
        every = dict(script_aliases(s))
        every.update(aliases)
        for name in sorted(every):
            s.write(alias_line(name, every[name]))
        return
    name = args[0]
    if len(args) == 1:
        text = aliases.get(name) or script_aliases(s).get(name)
        if text is None:
            raise CommandError(f"No alias named {name}; 'alias' lists them")
        s.write(alias_line(name, text))
        return
    if not name or any(c.isspace() or not c.isprintable() for c in name) or _SPECIAL.search(name):
        raise CommandError(f"Invalid alias name: {name!r}")
    text = args[1] if len(args) == 2 else " ".join(quote(w) for w in args[1:])
    try:
        if not split(text):
            raise CommandError(f"alias {name}: the command is empty")
    except LineError as e:
        raise CommandError(f"alias {name}: {e}") from None
    aliases[name] = text


@command("unalias", "Remove aliases", scope="top", usage=["unalias <name> [<name> ...]"],
         examples=["unalias lv"], args=("any*",))
def unalias(s, args):
    if not args:
        raise CommandError("Usage: unalias <name> [<name> ...]")
    for name in args:
        if name not in s.commands.aliases:
            if script_path(s, name):
                raise CommandError(f"{name} runs {script_path(s, name)}; remove or rename the file "
                                   "to drop the alias")
            raise CommandError(f"No alias named {name}")
    for name in dict.fromkeys(args):      # `unalias q q` removes q once
        del s.commands.aliases[name]


# -- run -----------------------------------------------------------------------------------
@command("run", "Run a file of cmshell commands", scope="top",
         usage=["run [-x|--echo] [-q|--quit] <file> [<argument> ...]",
                "in the file: $1 .. $9, ${10}, ${1-default} (when the argument is missing or empty),"
                " $# (count), $@ (all), $0 (the file)"],
         examples=["run ~/setup.cmsh", "run -x -q addnode.cmsh node100 10.141.0.100"],
         args=("file", "any*"))
def run(s, args):
    echo = stop = False
    args = list(args)
    while args and args[0].startswith("-") and len(args[0]) > 1:
        opt = args.pop(0)
        if opt in ("-x", "--echo"):
            echo = True
        elif opt in ("-q", "--quit"):
            stop = True
        elif opt == "--":
            break
        else:
            raise CommandError(f"run: unknown option {opt}")
    if not args:
        raise CommandError("Usage: run [-x] [-q] <file> [<argument> ...]")
    run_file(s, s.env.expand(args[0]), args[1:], echo=echo, stop=stop)


def run_file(s, path: str, params: list[str], *, echo: bool = False, stop: bool = False) -> None:
    lines = read_text(path).splitlines()

    def go() -> bool:
        ok = True
        for line in lines:
            line = substitute(line, path, params)
            if echo:
                s.write(line)
            good = s.run_line(line)
            ok = ok and good
            if not good and stop:
                break
        return ok

    _run_nested(s, ("run", path), go)


def substitute(line: str, path: str, params: list[str]) -> str:
    """`$1`, `${1}`, `${1-default}` (also `${1:-default}`), `$#`, `$@`, `$*`, `$0`.

    Arguments are data, never code: each goes in as the words it is, quoted for where it
    lands — a cmshell word (`quote`), inside a cmshell `"…"`, or in a command for the OS shell
    (`!…`, `| …`), quoted as /bin/sh reads it. An argument holding `;`, `|`, `!` or quotes
    cannot end the command or start another. A default (`${1-…}`) is text of the file."""
    if "$" not in line:
        return line
    contexts = _contexts(line)

    def one(m: re.Match) -> str:
        where = contexts[m.start()]
        if where == "esc":          # `\\$1` is the text $1
            return m.group(0)
        if m.group(4) == "#":
            return str(len(params))
        if m.group(4):
            values = params
        else:
            n = int(m.group(1) or m.group(2))
            value = path if n == 0 else (params[n - 1] if n <= len(params) else "")
            if value == "" and m.group(3) is not None:
                return m.group(3)
            values = [value]
        if where in ('"', 'sh"', "sh'"):           # inside quotes: one string
            return _escape(" ".join(values), where)
        return " ".join(_escape(v, where) for v in values if v != "")
    return _PARAM.sub(one, line)


def _escape(value: str, where: str) -> str:
    import shlex
    if where == "":                 # a cmshell word
        return quote(value)
    if where == '"':                # inside a cmshell "…"
        return value.replace("\\", "\\\\").replace('"', '\\"')
    if where == "sh":               # an OS shell word
        return shlex.quote(value)
    if where == 'sh"':              # inside an OS shell "…"
        return re.sub(r'([\\"$`])', r"\\\1", value)
    return value.replace("'", "'\\''")      # inside an OS shell '…'


def _contexts(line: str) -> list[str]:
    """For each position of a line, where a text put there lands: "" a cmshell word, '"' inside
    a cmshell quote, "sh" / 'sh"' / "sh'" in a command for the OS shell (after a `!` that starts
    a command: the rest of the line; after a `|`: up to a `;`), outside or inside its quotes."""
    out: list[str] = []
    state = ""
    bang = False            # the OS-shell part began at `!` (it takes the rest of the line)
    start = True            # only blanks since the start of the line or a `;`
    depth = 0
    i, n = 0, len(line)
    while i < n:
        c = line[i]
        nxt = line[i + 1] if i + 1 < n else ""
        width = 2 if c == "\\" and nxt and (state in ("", "sh") or nxt in '"\\$`') and state != "sh'" else 1
        if width == 1:
            if state == "":
                if c == "!" and start:
                    state, bang = "sh", True
                elif c == "|" and depth == 0:
                    state, bang = "sh", False
                elif c == '"':
                    state = '"'
                elif c in "()":
                    depth += 1 if c == "(" else -1
                start = c == ";" or (start and c in " \t")
            elif state == '"':
                if c == '"':
                    state = ""
            elif state == "sh":
                if c == "'":
                    state = "sh'"
                elif c == '"':
                    state = 'sh"'
                elif c == ";" and not bang:
                    state, start = "", True
            elif state == "sh'":
                if c == "'":
                    state = "sh"
            elif c == '"':          # state 'sh"'
                state = "sh"
        out += [state] if width == 1 else [state, "esc"]     # "esc": a character escaped by `\\`
        i += width
    return out + [state]


# -- locations -------------------------------------------------------------------------------
def path_text(s, path=None) -> str:
    """The location as commands that return to it: `home;device;use node001;`."""
    path = s.path if path is None else path
    parts = ["home"]
    for depth, lvl in enumerate(path):
        parts.append(lvl.mode.name if depth == 0 else lvl.param)
        if lvl.key is not None:
            name = s.ws.name_of(lvl.mode.name, lvl.key) if depth == 0 else str(lvl.key)
            parts.append("use " + quote_name(name))
    return ";".join(parts) + ";"


def quote_name(name: str) -> str:
    """cmsh quotes names with `-` in `path` output (`use "kube-default-worker"`)."""
    return name if _PLAIN.match(name) else '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


@command("path", "Print the current location as commands that return to it", scope="top",
         usage=["path"], examples=["path"], args=())
def path_(s, args):
    if args:
        raise CommandError(f"path: unexpected argument {args[0]}")
    s.write(path_text(s))


def _marks(s) -> dict:
    return s.__dict__.setdefault("bookmarks", {})


@command("bookmark", "Bookmark the current location", scope="top",
         usage=["bookmark [<name>]", "bookmark -l|--list", "bookmark -d|--delete <name>",
                "bookmark -s|--save <file>", "bookmark -x|--load <file>"],
         examples=["bookmark n1", "bookmark -l", "goto n1", "bookmark -s ~/marks"], args=("any?",),
         options={"-d|--delete": "bookmark", "-s|--save": "file", "-x|--load": "file"})
def bookmark(s, args):
    marks = _marks(s)
    if not args:
        marks[""] = list(s.path)
        return
    opt = args[0]
    if opt in ("-l", "--list"):
        if len(args) > 1:
            raise CommandError(f"bookmark: unexpected argument {args[1]}")
        # as cmsh (§2.5.5): `Name  Bookmark`, the unnamed bookmark with an empty name
        rows = [[name, path_text(s, p) if s.valid(p) else "(gone)"]
                for name, p in sorted(marks.items())]
        rows.append(["-", path_text(s, s.previous)])
        from cmshell.output import table
        s.write("\n".join(table.simple(["Name", "Bookmark"], [16, 23], rows)))
        return
    if opt in ("-d", "--delete"):
        if len(args) != 2:
            raise CommandError("Usage: bookmark -d <name>")
        if args[1] not in marks:
            raise CommandError(f"No bookmark named {args[1]}")
        del marks[args[1]]
        return
    if opt in ("-s", "--save"):
        if len(args) != 2:
            raise CommandError("Usage: bookmark -s <file>")
        _save_marks(s, s.env.expand(args[1]))
        return
    if opt in ("-x", "--load"):
        if len(args) != 2:
            raise CommandError("Usage: bookmark -x <file>")
        _load_marks(s, s.env.expand(args[1]))
        return
    if opt.startswith("-") and len(opt) > 1:
        raise CommandError(f"bookmark: unknown option {opt}")
    if len(args) != 1:
        raise CommandError(f"bookmark: unexpected argument {args[1]}")
    if any(not c.isprintable() for c in opt):       # a tab or newline would break `bookmark -s`
        raise CommandError(f"Invalid bookmark name: {opt!r}")
    marks[opt] = list(s.path)


def _save_marks(s, path: str) -> None:
    lines = [f"{name}\t{path_text(s, p)}" for name, p in sorted(_marks(s).items()) if s.valid(p)]
    try:
        with open(path, "w", encoding="utf-8") as fh:
            fh.write("".join(line + "\n" for line in lines))
    except OSError as e:
        raise CommandError(f"Cannot write {path}: {e.strerror}") from None


def _load_marks(s, path: str) -> None:
    """Read `NAME<tab>LOCATION` lines. A location is `home`, mode and submode words and `use
    NAME`, nothing else: the file is data, and a line that would run anything (a command, `!`,
    a pipe, an alias) refuses the whole file before any of it is used."""
    marks = []
    for number, line in enumerate(read_text(path).splitlines(), 1):
        name, tab, where = line.partition("\t")
        if not tab or not where.strip():
            continue
        try:
            steps = _location_steps(s, where)
        except (LineError, ValueError):
            raise CommandError(f"bookmark -x {path}: line {number} is not a location ({where.strip()!r});"
                               " nothing was loaded") from None
        marks.append((name, steps))
    here, before = s.path, s.previous
    bad = []
    try:
        for name, steps in marks:
            try:
                _marks(s)[name] = _walk_steps(s, steps)
            except CommandError:       # a location that no longer exists: reported once below
                bad.append(name or "(default)")
    finally:
        s.path, s.previous = here, before
    if bad:
        raise CommandError(f"Bookmarks whose location no longer exists: {', '.join(bad)}")


def _location_steps(s, text: str) -> list[tuple[str, str | None]]:
    """The steps of a `path` text: ("home", None), ("mode", word), ("use", name), ("sub", word).
    ValueError for anything else."""
    steps: list[tuple[str, str | None]] = []
    for cmd in split(text):
        w = cmd.words
        if cmd.shell is not None or cmd.pipe is not None or cmd.redirect is not None:
            raise ValueError(cmd.text)
        if w == ["home"]:
            steps.append(("home", None))
        elif len(w) == 2 and w[0] == "use":
            steps.append(("use", w[1]))
        elif len(w) == 1 and w[0].lower() in s.schema.modes and s.schema.modes[w[0].lower()].top:
            steps.append(("mode", w[0].lower()))
        elif len(w) == 1 and w[0].lower() in _submode_words(s.schema):
            steps.append(("sub", w[0].lower()))
        else:
            raise ValueError(cmd.text)
    return steps


def _submode_words(schema) -> set[str]:
    out = set()
    for m in schema.modes.values():
        specs = [m.base, *m.types.values()]
        if m.roles is not None:
            specs += [r.spec(m.params) for r in m.roles.roles]
        out.update(p.name for spec in specs for p in spec.params if p.is_submode)
    return out


def _walk_steps(s, steps) -> list:
    """The location the steps lead to, walked without running any command (no alias can step
    in); CommandError when an object on the way is gone."""
    from cmshell.shell.location import Level
    s.path = []
    for kind, word in steps:
        if kind == "home":
            s.path = []
        elif kind == "mode":
            s.path = [Level(s.schema.mode(word))]
        elif kind == "use":
            s.use(word)
        else:
            param = s.submodes().get(word)
            if param is None or not s.path or s.path[-1].key is None:
                raise CommandError(f"no submode {word} here")
            s.path = s.path + [Level(s.schema.mode(param.mode), param.name)]
    return list(s.path)


@command("goto", "Go to a bookmark, or back (-)", scope="top",
         usage=["goto [<name>]", "goto -        (the previous location; alias -)"],
         examples=["goto n1", "goto -"], args=("bookmark?",))
def goto(s, args):
    if len(args) > 1:
        raise CommandError(f"goto: unexpected argument {args[1]}")
    name = args[0] if args else ""
    if name == "-":
        target = s.previous
    else:
        marks = _marks(s)
        if name not in marks:
            raise CommandError(f"No bookmark named {name}; 'bookmark -l' lists them" if name
                               else "No default bookmark; 'bookmark' sets it")
        target = marks[name]
    if not s.valid(target):
        raise CommandError(f"{path_text(s, target[:1])} no longer leads there: the object is gone"
                           if target else "That location no longer exists")
    s.go(list(target))


# -- export ----------------------------------------------------------------------------------
@command("export", "Print aliases and list formats as commands that restore them", scope="top",
         usage=["export"], examples=["export > ~/.cmshell-settings", "run ~/.cmshell-settings"], args=())
def export(s, args):
    if args:
        raise CommandError(f"export: unexpected argument {args[0]}")
    for name in sorted(s.commands.aliases):
        text = s.commands.aliases[name]
        if BUILTIN_ALIASES.get(name) != text:
            s.write(alias_line(name, text))
    for name in sorted(set(BUILTIN_ALIASES) - set(s.commands.aliases)):
        s.write(f"unalias {quote(name)}")
    settings = []
    for mode_name, spec in s.settings.formats.items():
        settings.append((mode_name, "format", quote(spec)))
    for mode_name, fields in getattr(s.settings, "sorts", {}).items():
        settings.append((mode_name, "sort", " ".join(quote(f) for f in fields)))
    for mode_name, what, text in sorted(settings):
        mode = s.schema.modes.get(mode_name)
        if mode is not None and mode.top:
            s.write(f"{mode_name} {what} {text}")
        else:           # submodes are entered through an object: no one-line way back there
            s.write(f"# {mode_name}: run '{what} {text}' inside a {mode_name} submode")
    if s.settings.delimiter != " ":
        s.write(f"delimiter {quote(s.settings.delimiter)}")


# -- time / watch ----------------------------------------------------------------------------
def _run_args(s, args: list[str]) -> None:
    """Run command words; one argument holding `;` (or blanks) is a whole command line."""
    if len(args) == 1 and (";" in args[0] or " " in args[0].strip()):
        if not s.run_line(args[0]):
            raise Failed()
    else:
        s.execute(args)


@command("time", "Run a command and print how long it took", scope="top",
         usage=["time <command> [<arguments>]", 'time "<command>; <command>"'],
         examples=["time device list", 'time "device; foreach * (get ip)"'], args=("line",))
def time_(s, args):
    if not args:
        raise CommandError("Usage: time <command> [<arguments>]")
    start = time.perf_counter()
    try:
        _run_args(s, args)
    finally:
        s.write(f"time: {time.perf_counter() - start:.3f}s")


@command("watch", "Repeat a command every few seconds until Ctrl-C (interactive only)", scope="top",
         usage=["watch [-n <seconds>] <command> [<arguments>]"],
         examples=["watch journal -n 5", 'watch -n 10 "device; list"'], args=("line",))
def watch(s, args):
    interval = 2.0
    args = list(args)
    if args and args[0] in ("-n", "--interval"):
        if len(args) < 2:
            raise CommandError(f"watch: {args[0]} needs a number of seconds")
        try:
            interval = float(args[1])
        except ValueError:
            raise CommandError(f"watch: not a number of seconds: {args[1]}") from None
        if not 0.1 <= interval <= 86400:
            raise CommandError("watch: the interval must be between 0.1 and 86400 seconds")
        args = args[2:]
    if not args:
        raise CommandError("Usage: watch [-n <seconds>] <command> [<arguments>]")
    if not s.interactive:
        raise CommandError("watch: only in an interactive session (it repeats until Ctrl-C); "
                           "in scripts use a loop around 'cmshell -c'")
    shown = " ".join(quote(a) for a in args)
    try:
        while True:
            _forget_unstaged(s)
            s.out.write("\x1b[H\x1b[2J")
            now = time.localtime(s.env.clock())
            s.write(f"Every {interval:.1f}s: {shown}   {time.strftime('%a %b %d %H:%M:%S %Y', now)}")
            s.write()
            try:
                _run_args(s, args)
            except CommandError as e:
                if str(e):
                    s.error(str(e))
            s.out.flush()
            time.sleep(interval)
    except KeyboardInterrupt:
        s.write()


def _forget_unstaged(s) -> None:
    """Re-read, on the next use, every mode this session has no staged edits in, so that
    the repeated command sees other sessions' commits."""
    staged = {st.mode for st in s.ws.staged.values()}
    for mode in s.ws.loaded_modes():
        if mode not in staged:
            s.ws.forget(mode)


HOOKS.alias = run_alias
HOOKS.script = run_script_alias
