"""A session: the workspace, the current location, and running parsed commands."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from cmshell.commit import Committer
from cmshell.env import Environment
from cmshell.errors import CommandError, Quit
from cmshell.events import EventQueue
from cmshell.model.schema import Mode, Schema
from cmshell.store.base import StoreError
from cmshell.shell import navigate
from cmshell.shell.location import Level, find_row, row_key
from cmshell.syntax.line import Command, LineError, split
from cmshell.workspace import Workspace

if TYPE_CHECKING:
    from cmshell.backends.engine import Engine
    from cmshell.shell.dispatch import Registry


@dataclass
class Settings:
    delimiter: str = " "
    events: bool = True
    quit_confirmation: bool = True
    completion: str = "readline"     # Tab as readline does, or "menu": prompt_toolkit's menu
    formats: dict = field(default_factory=dict)      # mode -> list format set with `format`
    sorts: dict = field(default_factory=dict)        # mode -> sort fields set with `sort`
    color: bool = False                              # --color / a terminal (runner.py)


class Session:
    def __init__(self, ws: Workspace, schema: Schema, commands: "Registry", *, env: Environment,
                 host: str | None = None, interactive: bool = False):
        self.ws = ws
        self.schema = schema
        self.env = env
        self.user = env.user
        self.out = env.stdout
        self.err = env.stderr
        self.interactive = interactive
        self.settings = Settings()
        self.path: list[Level] = []
        self.previous: list[Level] = []
        self._host = host
        self.memo: dict = {}      # per-command caches (inheritance look-ups), cleared by execute
        self._edited: list = []   # paths edited by the running command (see _keep_marks)
        self.range = None         # commands/ranges.py Range: `range -n …` applies commands to its members
        self.events = EventQueue(clock=env.clock)   # notices (commits, backends); any thread may post
        self.events.redact = self._redact
        self._secrets: tuple[int, set[str]] | None = None     # (journal head, secret values)
        self.committer = Committer(ws, user=self.user, clock=env.clock, events=self.events,
                                   source=lambda: self.host)
        from cmshell.safety import confirm
        self.committer.guard = lambda: confirm.guard(ws.store, self.user)
        self.commands = commands
        self.engine: Engine | None = None    # the backends (runner.py sets it from the configuration)
        # a batch run's exit status when every command succeeded but one found differences
        # (plan, commit check: CHANGES_PENDING; drift: DRIFT); see status.py
        self.status_hint = 0

    # -- secrets --------------------------------------------------------------------------
    def _redact(self, text: str) -> str:
        """`text` (an event from a backend) without the committed secrets in it."""
        import threading
        from cmshell.model import secrets
        from cmshell.store import open_store
        path = getattr(self.ws.store, "path", None)
        if path is None:
            return text
        lock = self.__dict__.setdefault("_secrets_lock", threading.Lock())
        with lock:
            # a connection of its own: events come from backend threads, while the session's
            # connection is the main thread's
            own = self.__dict__.get("_secrets_store")
            if own is None:
                own = self.__dict__["_secrets_store"] = open_store(path, create=False)
            head = own.journal(1)
            seq = head[-1].seq if head else 0
            if self._secrets is None or self._secrets[0] != seq:
                docs = [(m, r.doc) for m in secrets.holding_modes(self.schema) for r in own.load(m)]
                self._secrets = (seq, secrets.values(self.schema, docs))
            found = self._secrets[1]
        return secrets.redact(text, found)

    def without_secrets(self, text: str) -> str:
        """`text` without the secrets of the candidate (staged values) and of the store."""
        from cmshell.model import secrets
        docs = [(m, d) for m in secrets.holding_modes(self.schema) for d in self.ws.docs(m) if d]
        found = secrets.values(self.schema, docs)
        return self._redact(secrets.redact(text, found))

    def close(self) -> None:
        """Let go of what the session opened besides its store."""
        own = self.__dict__.pop("_secrets_store", None)
        if own is not None:
            own.close()

    # -- the head node --------------------------------------------------------------------
    @property
    def host(self) -> str:
        if self._host is None:
            self._host = self.head_node() or "cmshell"
        return self._host

    def head_node(self) -> str | None:
        if "device" not in self.schema.modes:
            return None
        heads = self.ws.where("device", "type", "headnode")
        return heads[0] if heads else None

    # -- resolving the location ------------------------------------------------------------
    def element(self, path: list[Level] | None = None, *, editable: bool = False) -> dict | None:
        """The document of the element selected at the end of `path` (None at list levels)."""
        path = self.path if path is None else path
        if not path or path[-1].key is None:
            return None
        if editable:
            self._edited.append(path)
        return self._walk(path, editable)

    def _walk(self, path, editable: bool, base: bool = False):
        top = path[0]
        if base:
            doc = self.ws.base_doc(top.mode.name, top.key)
        elif editable:
            doc = self.ws.edit(top.mode.name, top.key)
        else:
            doc = self.ws.doc(top.mode.name, top.key)
        for lvl in path[1:]:
            if doc is None:
                return None
            rows = doc.get(lvl.param)
            if rows is None and editable:
                rows = doc[lvl.param] = []
            if lvl.key is None:
                return rows
            doc = find_row(lvl.mode, rows or [], lvl.key)
        return doc

    def rows(self, path: list[Level] | None = None, *, editable: bool = False) -> list[dict]:
        """The rows of the collection the path ends in (nested levels only)."""
        path = self.path if path is None else path
        parent = path[:-1] + [path[-1].select(None)]
        if editable:
            self._edited.append(parent)
        got = self._walk(parent, editable)
        return got if got is not None else []

    def base_of(self, path: list[Level]):
        """The committed counterpart of the element or collection at the end of `path`."""
        if self.ws.state(path[0].key) == "+":
            return None
        return self._walk(path, False, base=True)

    def valid(self, path: list[Level]) -> bool:
        if not path:
            return True
        top = path[0]
        if top.key is not None and self.ws.doc(top.mode.name, top.key) is None:
            return False
        if len(path) == 1 or top.key is None:
            return True
        parent = path[:-1]
        if parent[-1].key is None:
            return False
        if self._walk(parent, False) is None:
            return False
        if path[-1].key is not None:
            return self._walk(path, False) is not None
        return True

    def fix_path(self) -> None:
        while self.path and not self.valid(self.path):
            last = self.path[-1]
            self.path = self.path[:-1] + ([last.select(None)] if last.key is not None else [])

    # -- prompt -------------------------------------------------------------------------------
    def prompt(self) -> str:
        if self.range is not None and self.path == [Level(self.range.mode)]:
            return self.range.prompt(self)          # [basecm10->device{-n node001..024}]%
        parts = [self.prompt_host()]
        for depth, lvl in enumerate(self.path):
            if depth == 0:
                text = lvl.mode.name + ("*" if self.ws.mode_changed(lvl.mode.name) else "")
                if lvl.key is not None:
                    star = "*" if self.ws.state(lvl.key) else ""
                    text += f"[{self.ws.name_of(lvl.mode.name, lvl.key)}{star}]"
            else:
                coll = self.path[:depth] + [lvl.select(None)]
                text = lvl.mode.name + ("*" if self._collection_changed(coll) else "")
                if lvl.key is not None:
                    sub = self.path[:depth] + [lvl]
                    text += f"[{self._display_key(sub)}{'*' if self._element_changed(sub) else ''}]"
            parts.append(text)
        return "[" + "->".join(parts) + "]% "

    def prompt_host(self) -> str:
        """`basecm10`, or `basecm10(confirm 9m)` while a `commit confirmed` awaits confirmation."""
        from cmshell.safety import confirm
        return self.host + confirm.prompt_note(self.ws.store, self.user, self.env.clock())

    def _display_key(self, path) -> str:
        row = self._walk(path, False)
        lvl = path[-1]
        return str(row_key(lvl.mode, row)) if row is not None else str(lvl.key)

    def _collection_changed(self, path) -> bool:
        cur = self._walk(path, False) or []
        base = self.base_of(path) or []
        mode = path[-1].mode
        if mode.indexed:
            # cmsh quirk: rows added to index-keyed submodes do not mark the submode
            keep = {r.get("index") for r in base}
            cur = [r for r in cur if r.get("index") in keep]
            return cur != base or any(self.ws.marked(path[0].key, _where(path[:-1] + [path[-1].select(k)]))
                                      for k in keep)
        return cur != base or self.ws.marked(path[0].key, _where(path))

    def _element_changed(self, path) -> bool:
        cur = self._walk(path, False)
        base = self.base_of(path)
        if base is None:
            return not path[-1].mode.indexed
        return cur != base or self.ws.marked(path[0].key, _where(path))

    def _keep_marks(self, ok: bool) -> None:
        """After a command: what it edited stays marked modified (its `*`) until commit or
        refresh, even if set back to the stored value, as cmsh does (§2.5.3); a command that
        failed marks nothing."""
        edited, self._edited = self._edited, []
        if ok:
            mark = self.ws.mark
            for path in edited:
                if path and path[0].key is not None:
                    mark(path[0].key, _where(path) if len(path) > 1 else ())
        self.ws.prune(keep=ok)

    # -- running lines --------------------------------------------------------------------
    def run_line(self, line: str) -> bool:
        """Run one input line; True when every command in it succeeded."""
        from cmshell.syntax.text import not_a_line
        bad = not_a_line(line)
        if bad is not None:    # undecodable bytes or NUL from stdin, -c or a file: never run or stored
            self.error(f"Invalid input, the line was not run: {bad}")
            return False
        try:
            commands = split(line)
        except LineError as e:
            self.error(str(e))
            return False
        ok = True
        for cmd in commands:
            ok = self.run_command(cmd) and ok
        return ok

    def run_command(self, cmd: Command) -> bool:
        from cmshell.shell import osshell
        try:
            if cmd.shell is not None:
                return osshell.run(self, cmd.shell)
            if cmd.pipe is not None or cmd.redirect is not None:
                return osshell.capture(self, cmd, self._run_words)
        except (OSError, ValueError) as e:       # the OS refused the command or the file
            self.error(f"Cannot run {cmd.text or cmd.shell}: {getattr(e, 'strerror', None) or e}")
            return False
        return self._run_words(cmd.words)

    def _run_words(self, words: list[str]) -> bool:
        here, previous = self.path, self.previous
        ok = False
        try:
            self.execute(words)
            ok = True
            return True
        except CommandError as e:
            if str(e):
                self.error(str(e))
            return False
        except StoreError as e:         # the store went away or is damaged: one line, not a bug
            self.error(str(e))
            return False
        except (Quit, KeyboardInterrupt, BrokenPipeError):   # the run ends (cli.main says how)
            raise
        except Exception as e:   # a bug: one line for the user; CMSHELL_DEBUG=1 shows the trace
            if self.env.debug:
                raise
            self.error(f"Internal error: {type(e).__name__}: {e} (CMSHELL_DEBUG=1 shows details)")
            return False
        finally:
            self._keep_marks(ok)
            self.fix_path()
            # `goto -`: the previous location is where this command started, whatever steps
            # (mode words, submode words) it took on the way
            self.previous = here if self.path != here else previous

    def error(self, message: str) -> None:
        self.err.write(message.rstrip("\n") + "\n")
        self.err.flush()

    def write(self, text: str = "") -> None:
        self.out.write(text + "\n")

    def execute(self, words: list[str]) -> None:
        """Dispatch one command (already split into words)."""
        self.memo.clear()
        if not words:
            return
        name, args = words[0], words[1:]
        hooks = self.commands.hooks
        if name in self.commands.aliases and hooks.alias(self, name, args):   # alias text
            return
        if self.range is not None and hooks.range(self, words):   # `range`: run for every member
            return
        mode = navigate.top_mode(self.schema, name)
        if mode is not None:
            self._mode_word(mode, args)
            return
        cmd = self.commands.find(self, name)
        if cmd is None:
            sub = navigate.submode(self, self.path, name)
            if sub is not None:
                self._submode_word(sub, args)
                return
            if hooks.script(self, name, args):     # ~/.cmshell/NAME.cmsh
                return
            raise CommandError(f"Unknown command: {name}; type 'help' for the commands of this level")
        cmd.run(self, args)

    # -- navigation helpers used by commands ----------------------------------------------------
    def go(self, path: list[Level]) -> None:
        if path != self.path:
            self.previous = self.path
        self.path = path

    def _mode_word(self, mode: Mode, args: list[str]) -> None:
        if not args:
            self.go(navigate.enter(self.ws, mode))
            return
        before = self.path
        self.go([Level(mode)])
        try:
            self.execute(args)
        except CommandError:
            self.path = before
            raise
        self.path = navigate.settle(before, mode, self.path)

    def submodes(self, path=None) -> dict:
        """Submode parameters reachable from the current level (by name)."""
        return navigate.submodes(self, self.path if path is None else path)

    def _submode_word(self, param, args: list[str]) -> None:
        if args:
            self.use(args[0])
            if param.name not in self.submodes():
                raise CommandError(f"{args[0]} has no submode {param.name}")
            args = args[1:]
        elif self.path[-1].key is None:
            raise CommandError(f"No object selected; use '{param.name} <object>' or 'use <object>' first")
        self.go(navigate.into(self, self.path, param))
        if args:
            self.execute(args)

    def use(self, name: str) -> None:
        """Select object `name` at the current level (a sibling if one is selected)."""
        if not self.path:
            raise CommandError("Enter a mode first (e.g. 'device'), then 'use <object>'")
        found = navigate.find(self, self.path, name)
        if found is None:
            raise CommandError(self._missing(self.path, name))
        self.go(found)

    def lookup(self, mode: Mode, name: str) -> str:
        """The id of the top-level object `name` of `mode` (`master` is the head node)."""
        rid = navigate.find_id(self, mode, name)
        if rid is None:
            raise CommandError(self._missing([Level(mode)], name))
        return rid

    def _missing(self, path: list[Level], name: str) -> str:
        """What to say when `name` is not an object at the end of `path`."""
        mode = path[-1].mode
        if len(path) == 1:
            return f"No {mode.entity.lower()} named {name}" if mode.name != "device" else f"No device named {name}"
        from cmshell.shell.target import inherited_role_hint   # a role the node inherits (§6)
        hint = inherited_role_hint(self, path, name)
        return hint or (f"No {mode.name} entry named {name}" if not mode.indexed
                        else f"No {mode.name} entry with index {name}")


def _where(path: list[Level]) -> tuple:
    """The place of `path` below its top-level object, as Workspace.mark() takes it."""
    return tuple((lvl.param, lvl.key) for lvl in path[1:])
