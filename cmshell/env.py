"""The environment a run happens in: streams, terminal, colour, paths, user. Injectable for tests."""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field


@dataclass
class Environment:
    stdin: object = field(default_factory=lambda: sys.stdin)
    stdout: object = field(default_factory=lambda: sys.stdout)
    stderr: object = field(default_factory=lambda: sys.stderr)
    environ: dict = field(default_factory=lambda: os.environ)

    @property
    def stdin_isatty(self) -> bool:
        return _isatty(self.stdin)

    @property
    def stdout_isatty(self) -> bool:
        return _isatty(self.stdout)

    def color(self, choice: str | None) -> bool:
        """Colour only on a terminal, never with NO_COLOR, `--color no` wins over both."""
        if choice is not None:
            return choice == "yes"
        return self.stdout_isatty and not self.environ.get("NO_COLOR")

    @property
    def user(self) -> str:
        name = self.environ.get("USER") or self.environ.get("LOGNAME")
        if not name:
            import pwd
            try:
                name = pwd.getpwuid(os.getuid()).pw_name
            except KeyError:
                name = str(os.getuid())
        return name

    @property
    def home(self) -> str:
        return self.environ.get("HOME") or os.path.expanduser("~")

    def default_db(self) -> str:
        if self.environ.get("CMSHELL_DB"):
            return self.environ["CMSHELL_DB"]
        data = self.environ.get("XDG_DATA_HOME") or os.path.join(self.home, ".local", "share")
        return os.path.join(data, "cmshell", "cluster.db")

    def rc_file(self) -> str:
        return os.path.join(self.home, ".cmshellrc")


def _isatty(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
