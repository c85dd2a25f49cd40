"""The interactive shell: a prompt_toolkit prompt over a Session.

One loop: show the prompt (recomputed after every command, with its `*` marks), read a line
(completion from shell/complete.py in a worker thread, highlighting by repl/lexer.py, history
in ~/.cmshell_history with suggestions that never offer a destructive line), run it command by
command with the output paged when it does not fit, print events above the prompt.

Threads: the main thread runs commands and the prompt; the completer runs in prompt_toolkit's
worker thread; a watcher thread polls the store's journal for other sessions' commits. The
session is touched by one of them at a time (`self.lock`): the main thread holds it while a
command runs, the completer while it suggests, the lexer when it can get it at once.
"""
from __future__ import annotations

import io
import threading

from cmshell.repl import history, keys, pager
from cmshell.commit import summary
from cmshell.events import COMMIT, INTERNAL
from cmshell.shell.complete import destructive, suggest
from cmshell.errors import Quit
from cmshell.syntax.line import LineError, split

POLL_SECONDS = 0.5          # how often other sessions' commits are looked for
STREAM_AFTER = 0.3          # output of a command still running after this is not held back


def run(session, env, *, color: bool) -> int:
    """Run the interactive shell until quit; the exit status."""
    return Repl(session, env, color=color).loop()


class Repl:
    def __init__(self, session, env, *, color: bool):
        from prompt_toolkit import PromptSession
        from prompt_toolkit.completion import ThreadedCompleter
        from prompt_toolkit.filters import Condition
        from prompt_toolkit.output import ColorDepth, create_output

        self.session, self.env, self.color = session, env, color
        self.lock = threading.RLock()
        self.app = None
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None
        self.history_path = env.history_file()
        # stdout redirected: results go there, the prompt to the terminal (stderr); otherwise
        # prompt_toolkit's own choice (which also copes with TERM=dumb)
        self.output = None if env.stdout_isatty else create_output(always_prefer_tty=True)
        self.view = CompletionView(session)     # what completion and highlighting read
        completer = _completer(self.view, self.lock)
        kwargs = {}
        if color:
            from prompt_toolkit.styles import Style

            from cmshell.repl.style import STYLE
            kwargs.update(style=Style.from_dict(STYLE), include_default_pygments_style=False)
        else:
            kwargs.update(color_depth=ColorDepth.DEPTH_1_BIT)
        settings = session.settings
        self.ps = PromptSession(
            history=history.prompt_history(self.history_path, env.clock, scrub=self._history_line),
            completer=ThreadedCompleter(completer),
            # a menu while typing only when asked for (`completion menu`); readline never
            complete_while_typing=Condition(lambda: settings.completion == "menu"),
            auto_suggest=_suggester(),
            enable_history_search=False,          # Up/Down walk the history; Ctrl-R searches it
            reserve_space_for_menu=6,
            key_bindings=keys.bindings(completer, lambda: settings.completion),
            output=self.output,
            **kwargs,
        )
        self._confirm = None
        self._started = False

    def _history_line(self, line: str) -> str:
        """The line as the history keeps it: without the secrets it sets."""
        with self.lock:
            return history.scrub(self.session, line)
        self._seen: int | None = None       # the journal's last commit when the shell started

    # -- the loop ------------------------------------------------------------------------------
    def loop(self) -> int:
        s = self.session
        s.events.listener = self._notify
        try:
            got = s.ws.store.journal(1)
            self._seen = got[-1].seq if got else 0
        except Exception:
            self._seen = None
        try:
            while True:
                try:
                    with self.lock:
                        message = self._message()
                    text = self.ps.prompt(message, pre_run=self._pre_run)
                except KeyboardInterrupt:       # Ctrl-C: the line is dropped, staged edits stay
                    continue
                except EOFError:                # Ctrl-D on an empty line
                    if self._confirm_quit():
                        return 0
                    continue
                finally:
                    self.app = None
                try:
                    with self.lock:
                        self.run_text(text)
                except KeyboardInterrupt:
                    self.env.stdout.write("\n")
                    self.env.stdout.flush()
                except Quit:
                    if self._confirm_quit():
                        return 0
        finally:
            s.events.listener = None
            self._stop.set()
            if self._watcher is not None:
                self._watcher.join(timeout=2)

    def run_text(self, text: str) -> None:
        """Run what was entered; a pasted block runs line by line."""
        s = self.session
        for line in text.split("\n"):
            try:
                commands = split(line)
            except LineError as e:
                s.error(str(e))
                continue
            for cmd in commands:
                self._run_command(cmd)

    def _run_command(self, cmd) -> None:
        s = self.session
        real = s.out
        out = _HeldOutput(real, terminal=self.env.stdout_isatty, environ=self.env.environ)
        s.out = out
        try:
            s.run_command(cmd)
        except pager.PagerClosed:         # the reader quit the pager: the command stops there
            pass
        finally:
            s.out = real
            held = out.release()
            if held:
                pager.show(held, real, terminal=self.env.stdout_isatty, environ=self.env.environ,
                           size=self.env.terminal_size())
            real.flush()

    # -- the prompt ----------------------------------------------------------------------------
    def _message(self):
        text = self.session.prompt()
        if not self.color:
            return text
        parts = []
        for i, piece in enumerate(text.split("*")):
            if i:
                parts.append(("class:prompt.star", "*"))
            if piece:
                parts.append(("class:prompt", piece))
        return parts

    def _pre_run(self) -> None:
        self.app = self.ps.app
        if self.session.events.pending:
            self.app.create_background_task(self._print_events(self.app))
        if not self._started:
            # after the first prompt is drawn: the highlighter (pygments costs ~100 ms to
            # import) and the watcher of other sessions' commits
            self._started = True
            self.app.loop.call_later(0.05, self._start_background)

    def _start_background(self) -> None:
        if self.color:
            threading.Thread(target=self._load_lexer, name="cmshell-lexer", daemon=True).start()
        self._start_watcher()
        self._start_refresher()

    def _start_refresher(self) -> None:
        path = getattr(self.session.ws.store, "path", None)
        if not path or self._stop.is_set():
            self.view.ready = None               # nothing to build it from: read as needed
            return
        threading.Thread(target=self._refresh, args=(path,), name="cmshell-completion",
                         daemon=True).start()

    def _refresh(self, path: str) -> None:
        """Build the completion index in the background (pgcli's completion refresher): each
        top-level mode's names are read on this thread's own connection, then handed to the
        session and sorted for completion under the lock. Until a mode is ready, completion
        answers from what is cached (CompletionView)."""
        from cmshell.shell.candidates import names_of
        from cmshell.store import open_store
        s, view = self.session, self.view
        store = None
        try:
            store = open_store(path)
            modes = sorted((m.name for m in s.schema.modes.values() if m.top),
                           key=lambda m: (m != "device", m))
            for mode in modes:
                if self._stop.is_set():
                    return
                seq = _last_seq(store)
                index = store.index(mode)
                with self.lock:
                    if _last_seq(s.ws.store) == seq:       # nothing committed since: still true
                        s.ws.adopt_index(mode, index)
                    names_of(view, mode)                  # reads it now if it was not adopted
                    view.ready.add(mode)
        except Exception:            # completion falls back to reading as needed
            pass
        finally:
            view.ready = None
            if store is not None:
                store.close()
            self._recomplete()

    def _recomplete(self) -> None:
        """Once the index is built, a menu shown while typing is computed again (it was made
        from what was cached)."""
        try:
            app = self.ps.app
            loop = app.loop
            if loop is None or not app.is_running:
                return

            def redo() -> None:
                b = app.current_buffer
                if b.text and b.complete_while_typing():
                    b.start_completion(select_first=False)
            loop.call_soon_threadsafe(redo)
        except Exception:        # completion must never break typing
            pass

    def _load_lexer(self) -> None:
        try:
            from prompt_toolkit.lexers import PygmentsLexer

            from cmshell.repl.lexer import CmshellLexer
            self.ps.lexer = PygmentsLexer(CmshellLexer.bind(self.view, self.lock))
        except Exception:        # no highlighting is better than no shell
            return
        app = self.app
        if app is not None:
            app.invalidate()

    def _confirm_quit(self) -> bool:
        """With uncommitted changes ask once (unless -Q / quitconfirmation off). Ctrl-D at the
        question leaves, Ctrl-C stays."""
        s = self.session
        pending = s.ws.pending()
        if not pending or not s.settings.quit_confirmation:
            return True
        n = len(pending)
        question = (f"There {'is' if n == 1 else 'are'} {n} uncommitted change{'' if n == 1 else 's'}; "
                    "quit anyway? (yes/no) ")
        if self._confirm is None:
            from prompt_toolkit import PromptSession
            from prompt_toolkit.output import ColorDepth
            self._confirm = PromptSession(output=self.output, color_depth=None if self.color
                                          else ColorDepth.DEPTH_1_BIT)
        try:
            answer = self._confirm.prompt(question)
        except EOFError:
            return True
        except KeyboardInterrupt:
            return False
        return answer.strip().lower() in ("y", "yes")

    # -- events -----------------------------------------------------------------------------------
    def _notify(self) -> None:
        """An event is pending (called from any thread): print it if the prompt is showing;
        otherwise the next prompt prints it."""
        app = self.app
        loop = getattr(app, "loop", None) if app is not None else None
        if loop is None:
            return
        try:
            loop.call_soon_threadsafe(self._schedule, app)
        except RuntimeError:          # the loop has just closed: the next prompt prints it
            pass

    def _schedule(self, app) -> None:
        if app.is_running:
            app.create_background_task(self._print_events(app))

    async def _print_events(self, app) -> None:
        from prompt_toolkit.application import in_terminal
        from prompt_toolkit.application.current import set_app
        evs = self.session.events.take_pending()
        if not evs:
            return
        with set_app(app):
            async with in_terminal():
                out = self.env.stdout
                out.write("".join(e.line() + "\n" for e in evs))
                out.flush()

    def _start_watcher(self) -> None:
        path = getattr(self.session.ws.store, "path", None)
        if not path or self._seen is None or self._stop.is_set():
            return
        self._watcher = threading.Thread(target=self._watch, args=(path,), name="cmshell-events",
                                         daemon=True)
        self._watcher.start()

    def _watch(self, path: str) -> None:
        """Other sessions' commits to the same store, and the events they published (a service
        restarted, an apply that failed), become broadcast events. A shared store wakes this
        thread when they happen (Store.wait); a file is looked at every POLL_SECONDS. A server
        that goes away (restarted) is said once, and watched again when it is back, from where
        it was left: nothing is missed. Any other failure is shown once, as an error event, and
        ends the watching (never silently)."""
        from cmshell.store import StoreUnavailable, open_store
        s = self.session
        last = self._seen
        store = None
        try:
            store = open_store(path, create=False)     # a store removed meanwhile is not made again
            last_event = store.event_seq()
            lost = False
            while True:
                try:
                    if self._pause(store):
                        return
                    last, last_event = self._look(store, last, last_event)
                except StoreUnavailable as exc:
                    if not lost:
                        s.events.post("warning", s.host, str(exc), kind=INTERNAL)
                    lost = True
                    if self._stop.wait(POLL_SECONDS):
                        return
                    continue
                if lost:
                    s.events.post("notice", s.host, f"Store {store.shown} is back", kind=INTERNAL)
                    lost = False
        except Exception as exc:       # noqa: BLE001 - any failure must reach the user once
            if not self._stop.is_set():
                s.events.post("error", s.host, f"Stopped watching for other sessions' commits: "
                              f"{type(exc).__name__}: {exc}", kind=INTERNAL)
        finally:
            if store is not None:
                store.close()

    def _look(self, store, last: int, last_event: int) -> tuple[int, int]:
        """Post what other sessions committed and published since `last` / `last_event`; the
        newest of each seen."""
        from cmshell.events import Event
        s = self.session
        with self.lock:            # never between a commit and its being marked own
            entries = [e for e in store.journal(50) if e.seq > last]
            own = set(s.events.own)
        for e in entries:
            last = max(last, e.seq)
            if e.seq in own:
                continue
            text = summary(s.schema, e.groups) or "Committed"
            note = f' "{e.comment}"' if e.comment else ""
            s.events.post("notice", s.host, f"{text} by {e.user}{note}", broadcast=True,
                          when=e.time, kind=COMMIT, seq=e.seq)
        for seq, data in store.events_after(last_event):
            last_event = seq
            if data.get("origin") != s.events.origin:
                ev = Event.from_dict(data)
                s.events.post(ev.severity, ev.source, ev.text, broadcast=True, when=ev.time,
                              kind=ev.kind, seq=ev.seq)
        return last, last_event

    def _pause(self, store) -> bool:
        """Until something may have happened; True when the shell is leaving."""
        if store.pushes:
            store.wait(POLL_SECONDS)
            return self._stop.is_set()
        return self._stop.wait(POLL_SECONDS)


def _last_seq(store) -> int:
    got = store.journal(1)
    return got[-1].seq if got else 0


class CompletionView:
    """The session as completion and highlighting see it. While the completion index is being
    built (`ready` is the set of modes done), the names of a mode not done yet come from what
    the workspace has in memory, never from the store: a keystroke never waits for 100,000
    names. `ready = None`: everything is ready (or is read when needed)."""

    def __init__(self, session):
        self._s = session
        self.ready: set[str] | None = set()
        self.ws = _CachedNames(session.ws, self)

    def __getattr__(self, name):
        return getattr(self._s, name)


class _CachedNames:
    def __init__(self, ws, view: CompletionView):
        self._ws, self._view = ws, view

    def names(self, mode: str) -> dict[str, str]:
        ready = self._view.ready
        if ready is None or mode in ready:
            return self._ws.names(mode)
        return self._ws.names_cached(mode)

    def __getattr__(self, name):
        return getattr(self._ws, name)


class _HeldOutput:
    """Holds a command's output so that, when the command ends quickly, it can go to the pager
    if it does not fit. Output that overflows the terminal while the command still runs (a
    long `list`) streams into the pager as it comes; a command still running after
    STREAM_AFTER seconds whose output fits so far (watch, a slow command) streams to the
    terminal instead. Thread-safe: a timer releases the output."""

    def __init__(self, real, *, terminal: bool = False, environ=None):
        self.real = real
        self.terminal, self.environ = terminal, environ
        self.buf = io.StringIO()
        self.rows = 0
        self.size = pager._terminal_size() if terminal else None
        self.pipe: pager.Pipe | None = None
        self.streaming = False
        self._lock = threading.Lock()
        self._timer = threading.Timer(STREAM_AFTER, self._stream)
        self._timer.daemon = True
        self._timer.start()

    def _stream(self) -> None:
        with self._lock:
            if not self.streaming and self.pipe is None:
                self.streaming = True
                self.real.write(self.buf.getvalue())
                self.real.flush()
                self.buf = io.StringIO()

    def write(self, text: str) -> int:
        with self._lock:
            if self.pipe is not None:
                return self.pipe.write(text)
            if self.streaming:
                return self.real.write(text)
            n = self.buf.write(text)
            if self.size is not None:
                self.rows += pager.rows_needed(text, self.size.columns)
                if self.rows >= self.size.lines:
                    self._page()
            return n

    def _page(self) -> None:
        """The output no longer fits: from now on it goes to the pager (if there is one)."""
        pipe = pager.open_pipe(self.environ)
        if pipe is None:
            self.size = None                # no pager: hold on, the terminal gets it whole
            return
        self.real.flush()
        self.pipe = pipe
        text, self.buf = self.buf.getvalue(), io.StringIO()
        pipe.write(text)

    def flush(self) -> None:
        with self._lock:
            if self.streaming and self.pipe is None:
                self.real.flush()

    def isatty(self) -> bool:
        return bool(getattr(self.real, "isatty", lambda: False)())

    def release(self) -> str:
        """Stop holding; the text still held (for the pager). A pager fed while the command
        ran is closed and waited for."""
        self._timer.cancel()
        with self._lock:
            self.streaming = True
            text = self.buf.getvalue()
            self.buf = io.StringIO()
            pipe, self.pipe = self.pipe, None
        if pipe is not None:
            pipe.close()
        return text

    def __getattr__(self, name):
        return getattr(self.real, name)


def _completer(session, lock):
    from prompt_toolkit.completion import Completer, Completion

    class SessionCompleter(Completer):
        """prompt_toolkit adapter over complete.suggest (runs in a worker thread)."""

        def get_completions(self, document, complete_event):
            if not lock.acquire(timeout=2):
                return
            # Tab asks for the choices: they are read as needed (the background index may not
            # be built yet); completion while typing answers from what is cached
            target = session
            if complete_event.completion_requested and isinstance(session, CompletionView):
                target = session._s
            try:
                cands = suggest(target, document.text_before_cursor)
            except Exception:          # completion must never break typing
                return
            finally:
                lock.release()
            for c in cands:
                yield Completion(c.text + (" " if c.final else ""), start_position=c.start,
                                 display=c.shown, display_meta=menu_meta(c.shown, c.meta))

    return SessionCompleter()


def menu_meta(shown: str, meta: str) -> str:
    """What the menu prints beside a choice: nothing when it only repeats the choice (`auto
    AUTO`, `overlay2 overlay2`, `physicalnode PhysicalNode`), which looked like every entry
    twice."""
    def norm(text: str) -> str:
        return "".join(ch for ch in text.lower() if ch.isalnum())
    return "" if norm(meta) == norm(shown) else meta


def _suggester():
    from prompt_toolkit.auto_suggest import AutoSuggest, Suggestion

    class SafeHistorySuggest(AutoSuggest):
        """Fish-style suggestions from history (→ accepts), never a line that commits,
        removes, refreshes or rolls back."""

        def get_suggestion(self, buffer, document):
            text = document.text
            if not text.strip() or "\n" in text:
                return None
            for line in reversed(buffer.history.get_strings()):
                if "\n" in line or not line.startswith(text) or line == text:
                    continue
                if destructive(line):
                    continue
                return Suggestion(line[len(text):])
            return None

    return SafeHistorySuggest()
