"""The environment a run happens in: streams, terminal, colour, paths, clock, user.

Everything a run takes from outside comes through here, so that `cli.main(argv, env)` runs
in-process in tests with its own streams, variables and clock.
"""
from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable, MutableMapping


@dataclass
class Environment:
    stdin: Any = field(default_factory=lambda: sys.stdin)
    stdout: Any = field(default_factory=lambda: sys.stdout)
    stderr: Any = field(default_factory=lambda: sys.stderr)
    environ: MutableMapping[str, str] = field(default_factory=lambda: os.environ)
    clock: Callable[[], float] = time.time

    @property
    def stdin_isatty(self) -> bool:
        return _isatty(self.stdin)

    @property
    def stdout_isatty(self) -> bool:
        return _isatty(self.stdout)

    @property
    def stderr_isatty(self) -> bool:
        return _isatty(self.stderr)

    def color(self, choice: str | None) -> bool:
        """Colour only on a terminal, never with NO_COLOR, `--color no` wins over both."""
        if choice is not None:
            return choice == "yes"
        return self.stdout_isatty and not self.environ.get("NO_COLOR")

    @property
    def account(self) -> str:
        """The operating system's account of the process (its uid), which nobody can set."""
        import pwd
        try:
            return pwd.getpwuid(os.getuid()).pw_name
        except KeyError:
            return str(os.getuid())

    @property
    def user(self) -> str:
        """Who commits, as the journal records it: the OS account, and beside it, when it says
        something else, what $USER (else $LOGNAME) claims: `root ($USER=alice)` (a shared
        account, sudo -E). The claim is anyone's to set; the account is not."""
        account = self.account
        for var in ("USER", "LOGNAME"):
            claim = self.environ.get(var)
            if claim:
                if claim == account:
                    return account
                shown = "".join(c if c.isprintable() else "?" for c in claim)[:64]
                return f"{account} (${var}={shown})"
        return account

    @property
    def home(self) -> str:
        """$HOME of this environment, else the account's home (never the process's $HOME)."""
        if self.environ.get("HOME"):
            return self.environ["HOME"]
        import pwd
        try:
            return pwd.getpwuid(os.getuid()).pw_dir
        except KeyError:
            return "/"

    @property
    def debug(self) -> bool:
        """CMSHELL_DEBUG=1: unexpected errors raise (with a traceback) instead of one line."""
        return bool(self.environ.get("CMSHELL_DEBUG"))

    @property
    def editor(self) -> str:
        return self.environ.get("VISUAL") or self.environ.get("EDITOR") or "vi"

    @property
    def shell(self) -> str:
        return self.environ.get("SHELL") or "/bin/sh"

    def expand(self, path: str) -> str:
        """`~` and `~/x` against this environment's HOME (not the process's); `~user/x` from
        the password database."""
        if path == "~" or path.startswith("~/"):
            return self.home + path[1:]
        return os.path.expanduser(path)      # only `~user` is left: no $HOME involved

    def temp_dir(self) -> str | None:
        """Where temporary files go: $TMPDIR of this environment when it is a directory, else
        None (tempfile's default, /tmp)."""
        tmp = self.environ.get("TMPDIR")
        return tmp if tmp and os.path.isdir(tmp) else None

    def terminal_size(self) -> os.terminal_size:
        """$COLUMNS / $LINES of this environment, else the size of the terminal stdout is on,
        else 80x24."""
        try:
            size = os.get_terminal_size(self.stdout.fileno())
        except (AttributeError, OSError, ValueError):
            size = os.terminal_size((80, 24))
        return os.terminal_size((_positive(self.environ.get("COLUMNS"), size.columns),
                                 _positive(self.environ.get("LINES"), size.lines)))

    def default_db(self) -> str:
        if self.environ.get("CMSHELL_DB"):
            return self.environ["CMSHELL_DB"]
        data = self.environ.get("XDG_DATA_HOME") or os.path.join(self.home, ".local", "share")
        return os.path.join(data, "cmshell", "cluster.db")

    def cache_dir(self) -> str:
        return os.path.join(self.environ.get("XDG_CACHE_HOME") or os.path.join(self.home, ".cache"),
                            "cmshell")

    def config_dir(self) -> str:
        return os.path.join(self.environ.get("XDG_CONFIG_HOME") or os.path.join(self.home, ".config"),
                            "cmshell")

    def rc_file(self) -> str:
        return os.path.join(self.home, ".cmshellrc")

    def history_file(self) -> str:
        return os.path.join(self.home, ".cmshell_history")

    def scripts_dir(self) -> str:
        """Where `NAME.cmsh` script aliases live."""
        return os.path.join(self.home, ".cmshell")


def _positive(text: str | None, default: int) -> int:
    try:
        n = int(text or "")
    except ValueError:
        return default
    return n if n > 0 else default


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False
