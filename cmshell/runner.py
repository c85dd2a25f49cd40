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


WELCOME = """No cluster store yet ({path}). Start with one of:
  cmshell --demo                 the demo cluster (basecm10), in a temporary store
  cmshell --load CLUSTER.yaml    a new store from a cluster file (see docs/schema.md)
  cmshell --init                 a new, empty store"""


class Runner:
    def __init__(self, args, env: Environment):
        from cmshell.commands import registry
        from cmshell.errors import CommandError
        from cmshell.model.schema import load_schema
        from cmshell.shell.session import Session
        from cmshell.store import NoStore, StoreError, open_store
        from cmshell.workspace import Workspace
        from cmshell.backends.config import ConfigError

        self.args, self.env = args, env
        self._tmp = None
        if args.demo:
            self._tmp = tempfile.mkdtemp(prefix="cmshell-demo-", dir=env.temp_dir())
            path = os.path.join(self._tmp, "cluster.db")
        else:
            path = args.db or env.default_db()
        # the default location ($XDG_DATA_HOME/cmshell) is made when needed; a path that is
        # named must exist, or be created on purpose (--init, --load): a typo creates nothing
        default = args.demo or not (args.db or env.environ.get("CMSHELL_DB"))
        from cmshell.store.pgurl import is_url, redact
        url = is_url(path)
        if args.init and (self._schema_exists(path) if url else os.path.exists(path)):
            raise StartError(f"--init: there is a store at {redact(path) if url else path} already")
        # removed again if --load fails (a file; a database's schema stays, empty)
        self._created = None if url or os.path.exists(path) else path
        try:
            self.store = open_store(path, create=bool(args.demo or args.load or args.init),
                                    parents=bool(default))
        except NoStore as e:
            self.close()
            raise StartError(WELCOME.format(path=path) if default else str(e)) from None
        except StoreError as e:
            self.close()
            raise StartError(str(e)) from None
        for warning in getattr(self.store, "warnings", ()):
            env.stderr.write(warning + "\n")
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
            if self._created and args.load:    # a failed --load leaves nothing behind
                for suffix in ("", "-wal", "-shm", "-journal"):
                    try:
                        os.unlink(self._created + suffix)
                    except OSError:
                        pass
            raise StartError(str(e)) from None

    @staticmethod
    def _schema_exists(url: str) -> bool:
        """Whether the database at `url` has cmshell's schema (--init refuses to make it twice)."""
        from cmshell.store import NoStore, StoreError, open_store
        try:
            open_store(url, create=False).close()
        except NoStore:
            return False
        except StoreError as e:
            raise StartError(str(e)) from None
        return True

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
        session = getattr(self, "session", None)
        if session is not None:
            session.close()
        store = getattr(self, "store", None)
        if store is not None:
            store.close()
        if self._tmp:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    # -- running ----------------------------------------------------------------------------
    def run(self) -> int:
        args, env = self.args, self.env
        if args.check:
            problems = self.store.check()
            for p in problems[:10]:
                env.stderr.write(f"Store {self.store.shown}: {p}\n")
            if problems:
                env.stderr.write("The store is damaged; restore it from a dump "
                                 "(cmshell --db NEW.db --load BACKUP.yaml)\n")
                return Exit.FAILED
            env.stdout.write(f"Store {self.store.shown}: ok\n")
            if args.commands is None and args.file is None:
                return Exit.OK
        if args.dump:
            from cmshell.shell import cluster_io
            from cmshell.store import StoreError
            try:
                escaped, hidden = cluster_io.dump(self.ws, self.schema, env.stdout,
                                                  with_secrets=args.with_secrets)
            except StoreError as e:
                env.stderr.write(f"{e}\n")
                return Exit.FAILED
            if hidden:
                env.stderr.write(f"Note: {hidden} secrets are masked (*****); --dump --with-secrets "
                                 "writes them, for a backup that --load takes back\n")
            if escaped:
                env.stderr.write(f"Warning: {escaped} values in the store are not UTF-8 text; "
                                 "they were dumped with \\x escapes\n")
        if not args.norc:
            self._rc()
        if args.commands is not None:
            from cmshell.syntax.text import not_a_line
            bad = not_a_line(args.commands)
            if bad is not None:
                env.stderr.write(f"Invalid -c text, nothing was run: {bad}\n")
                return Exit.FAILED
            # its lines are commands like its `;`s (a shell's multi-line -c "…"); all of it is
            # parsed before anything runs
            from cmshell.syntax.line import LineError, split
            try:
                units = [c.text for line in args.commands.splitlines() for c in split(line)]
            except LineError as e:
                self.session.error(str(e))
                return Exit.FAILED
            return self._batch(units, echo=args.echo)
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
        if args.dump or args.load or args.init or args.check:
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

    def _batch(self, lines, *, echo: bool) -> int:
        from cmshell.errors import Quit
        s, out = self.session, self.env.stdout
        s.events.listener = lambda: None      # events go to `pending`; printed after each command
        ok = True
        try:
            for line in lines:
                unit = line.rstrip("\n")
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
