"""Open the store, build the session, and run -c / -f / stdin / the interactive shell."""
from __future__ import annotations

import os
import shutil
import tempfile

from cmshell.status import Exit
from cmshell.env import Environment

DEMO = os.path.join(os.path.dirname(__file__), "fixtures", "basecm10.yaml")
if not os.path.exists(DEMO):     # running from a source checkout
    DEMO = os.path.join(os.path.dirname(os.path.dirname(__file__)), "fixtures", "basecm10.yaml")


class StartError(Exception):
    pass


class Runner:
    def __init__(self, args, env: Environment):
        from cmshell.commands import registry
        from cmshell.errors import CommandError
        from cmshell.model.schema import load_schema
        from cmshell.shell.session import Session
        from cmshell.store import StoreError, open_store
        from cmshell.workspace import Workspace
        from cmshell.backends.config import ConfigError

        self.args, self.env = args, env
        self._tmp = None
        if args.demo:
            self._tmp = tempfile.mkdtemp(prefix="cmshell-demo-", dir=env.temp_dir())
            path = os.path.join(self._tmp, "cluster.db")
        else:
            path = args.db or env.default_db()
        try:
            self.store = open_store(path)
        except StoreError as e:
            self.close()
            raise StartError(str(e)) from None
        self.schema = load_schema(cache_dir=env.cache_dir())
        self.ws = Workspace(self.store, self.schema)
        interactive = env.stdin_isatty and not (args.commands or args.file)
        self.session = Session(self.ws, self.schema, registry.load(), env=env, interactive=interactive)
        self.session.settings.quit_confirmation = not args.noquitconfirmation
        self.session.settings.completion = getattr(args, "completion", None) or "readline"
        self.session.settings.color = env.color(args.color)
        try:
            self._backends()
            if args.demo:
                self._load(DEMO)
            if args.load:
                self._load(args.load)
        except (CommandError, StoreError, ConfigError) as e:
            self.close()
            raise StartError(str(e)) from None

    def _backends(self) -> None:
        """Read the configuration; when it turns applying on, every commit goes to the backends."""
        from cmshell.backends import config
        from cmshell.backends.engine import Engine
        conf = config.load(config.locate(self.args.config, self.env.environ, self.env.config_dir()))
        s = self.session
        s.engine = Engine(self.store, self.schema, conf, events=s.events, env=self.env)
        if s.engine.enabled:
            from cmshell.safety import outcome
            s.committer.after.append(s.engine.after_commit)
            s.committer.after.append(outcome.attach(s.engine, s.events, s.committer.source))
            if self.env.stderr_isatty:      # beside the results, never inside redirected output
                from cmshell.output.progress import Progress
                s.engine.progress = Progress(self.env.stderr)

    def _load(self, path):
        from cmshell.shell import cluster_io
        cluster_io.load(self.session.committer, path)

    def close(self) -> None:
        store = getattr(self, "store", None)
        if store is not None:
            store.close()
        if self._tmp:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    # -- running ----------------------------------------------------------------------------
    def run(self) -> int:
        args, env = self.args, self.env
        if args.dump:
            from cmshell.shell import cluster_io
            cluster_io.dump(self.ws, self.schema, env.stdout)
        if not args.norc:
            self._rc()
        if args.commands is not None:
            return self._batch([args.commands], echo=args.echo, split_commands=True)
        if args.file is not None:
            try:
                with open(args.file, encoding="utf-8") as fh:
                    lines = fh.read().splitlines()
            except OSError as e:
                env.stderr.write(f"Cannot read {args.file}: {e.strerror}\n")
                return Exit.FAILED
            except UnicodeDecodeError:
                env.stderr.write(f"Cannot read {args.file}: not UTF-8 text\n")
                return Exit.FAILED
            return self._batch(lines, echo=args.echo)
        if args.dump or args.load:
            return Exit.OK
        if not env.stdin_isatty:
            return self._batch(env.stdin, echo=True)
        from cmshell.repl.app import run
        return run(self.session, env, color=env.color(args.color))

    def _rc(self) -> None:
        path = self.env.rc_file()
        if os.path.isfile(path):
            try:
                with open(path, encoding="utf-8") as fh:
                    lines = fh.read().splitlines()
            except (OSError, UnicodeDecodeError) as e:
                self.session.error(f"Cannot read {path}: "
                                   f"{getattr(e, 'strerror', None) or 'not UTF-8 text'}")
                return
            for line in lines:
                self.session.run_line(line)

    def _batch(self, lines, *, echo: bool, split_commands: bool = False) -> int:
        from cmshell.errors import Quit
        from cmshell.syntax.line import LineError, split
        s, out = self.session, self.env.stdout
        s.events.listener = lambda: None      # events go to `pending`; printed after each command
        ok = True
        try:
            for line in lines:
                line = line.rstrip("\n")
                if split_commands:
                    try:
                        units = [c.text for c in split(line)]
                    except LineError as e:
                        s.error(str(e))
                        return Exit.FAILED
                else:
                    units = [line]
                for unit in units:
                    if self.args.show_prompt:
                        # a blank line shows the bare prompt, as transcripts print it
                        out.write((s.prompt() + unit if unit else s.prompt().rstrip()) + "\n")
                    elif echo or self.args.echo:
                        out.write(unit + "\n")
                    good = s.run_line(unit)
                    self._print_events()
                    out.flush()
                    ok = ok and good
                    if not good and self.args.quit:
                        return Exit.FAILED
        except Quit:
            pass
        finally:
            s.events.listener = None
        if not ok:
            return Exit.FAILED
        if s.engine is not None and s.engine.incomplete():
            return Exit.NOT_APPLIED
        return s.status_hint or Exit.OK

    def _print_events(self) -> None:
        """The consequences of this run's own commits (backend events), right after the command
        that caused them; the commit notice itself is left to `events` (the command's own
        output already says what was committed). Other events wait for `events`."""
        from cmshell.events import COMMIT
        q = self.session.events
        later = []
        for ev in q.take_pending():
            if ev.seq in q.own and ev.kind != COMMIT:
                self.env.stdout.write(ev.line() + "\n")
            else:
                later.append(ev)
        q.defer(later)
