"""Long output through a pager: only on a terminal, only when it does not fit.

`$PAGER` (default `less -FRX`; an empty PAGER turns paging off). If the pager cannot be
started the text is written directly. `show` pages a command's output once it is complete;
`Pipe` feeds a pager while the command is still writing (a long `list` streams into it), and
stops the command quietly (`PagerClosed`) when the reader quits the pager.
"""
from __future__ import annotations

import os

DEFAULT = "less -FRX"


def rows_needed(text: str, columns: int) -> int:
    """Terminal rows `text` takes when long lines wrap at `columns`."""
    if not text:
        return 0
    columns = max(columns, 1)
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return sum(max(1, -(-len(line) // columns)) for line in lines)


def fits(text: str, size: os.terminal_size) -> bool:
    """Whether `text` fits the terminal with a line left for the next prompt."""
    return rows_needed(text, size.columns) < size.lines


def pager_command(environ) -> str:
    cmd = environ.get("PAGER")
    return DEFAULT if cmd is None else cmd.strip()


def show(text: str, out, *, terminal: bool, environ, size: os.terminal_size | None = None) -> None:
    """Write `text` to `out`, through the pager when `terminal` and it does not fit `size` (by
    default the process's terminal). The pager runs with `environ`."""
    if not text:
        return
    cmd = pager_command(environ)
    if terminal and cmd and not fits(text, size or _terminal_size()):
        import subprocess
        out.flush()
        try:
            proc = subprocess.run(cmd, shell=True, input=text.encode("utf-8", "replace"),
                                  env=dict(environ))
        except OSError:
            proc = None
        if proc is not None and proc.returncode != 127:      # 127: no such pager
            return
    out.write(text)
    out.flush()


class PagerClosed(KeyboardInterrupt):
    """The reader quit the pager a command was streaming into: the command stops, quietly."""


class Pipe:
    """A pager started on a stream: write text as it comes, `close` waits for the reader."""

    def __init__(self, cmd: str):
        import subprocess
        self.proc = subprocess.Popen(cmd, shell=True, stdin=subprocess.PIPE)

    def write(self, text: str) -> int:
        try:
            self.proc.stdin.write(text.encode("utf-8", "replace"))     # type: ignore[union-attr]
            self.proc.stdin.flush()                                    # type: ignore[union-attr]
        except (BrokenPipeError, ValueError):
            raise PagerClosed() from None
        return len(text)

    def close(self) -> None:
        try:
            self.proc.stdin.close()                                    # type: ignore[union-attr]
        except (BrokenPipeError, OSError):
            pass
        self.proc.wait()


def open_pipe(environ=None) -> Pipe | None:
    """A pager to stream into, or None (paging off, or no such pager: write directly)."""
    import shlex
    import shutil
    cmd = pager_command(environ)
    try:
        first = shlex.split(cmd)[0] if cmd else ""
    except ValueError:
        return None
    if not first or shutil.which(first) is None:
        return None
    try:
        return Pipe(cmd)
    except OSError:
        return None


def _terminal_size() -> os.terminal_size:
    import shutil
    return shutil.get_terminal_size()
