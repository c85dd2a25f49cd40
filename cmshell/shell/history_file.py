"""The history file `~/.cmshell_history` (mode 0600), in prompt_toolkit's FileHistory format:

    # 2024-10-31 15:58:56.123456
    +device use node001

Reading it needs nothing heavy (the `history` command runs in batch mode too); the
prompt_toolkit History class over it is in repl/history.py.
"""
from __future__ import annotations

import datetime
import os

KEEP = 10_000          # entries kept when the file is rewritten at start-up


def read(path: str) -> list[tuple[float | None, str]]:
    """(time, line) of every entry, oldest first; time is None when the file has none."""
    out: list[tuple[float | None, str]] = []
    when: float | None = None
    lines: list[str] = []

    def flush():
        if lines:
            out.append((when, "\n".join(lines)))
            lines.clear()

    try:
        with open(path, "rb") as fh:
            for raw in fh:
                line = raw.decode("utf-8", errors="replace").rstrip("\n")
                if line.startswith("+"):
                    lines.append(line[1:])
                    continue
                flush()
                when = None
                if line.startswith("# "):
                    try:
                        when = datetime.datetime.fromisoformat(line[2:].strip()).timestamp()
                    except ValueError:
                        when = None
    except OSError:
        return []
    flush()
    return out


def _private_open(path: str, flags: int):
    fd = os.open(path, flags | os.O_CREAT, 0o600)
    try:
        os.fchmod(fd, 0o600)
    except OSError:
        pass
    return os.fdopen(fd, "ab" if flags & os.O_APPEND else "wb")


def append(path: str, line: str, when: datetime.datetime | None = None) -> None:
    """Add an entry stamped `when` (default: now)."""
    when = when or datetime.datetime.now()
    with _private_open(path, os.O_WRONLY | os.O_APPEND) as fh:
        fh.write(f"\n# {when}\n".encode("utf-8"))
        for part in line.split("\n"):
            fh.write(f"+{part}\n".encode("utf-8"))


def trim(path: str, keep: int = KEEP, *, now: float | None = None) -> None:
    """Keep the newest `keep` entries (rewritten atomically, still 0600); an entry without a
    time gets `now`."""
    entries = read(path)
    if len(entries) <= keep:
        return
    undated = datetime.datetime.now() if now is None else datetime.datetime.fromtimestamp(now)
    tmp = f"{path}.{os.getpid()}.tmp"
    with _private_open(tmp, os.O_WRONLY | os.O_TRUNC) as fh:
        for when, line in entries[-keep:]:
            stamp = datetime.datetime.fromtimestamp(when) if when is not None else undated
            fh.write(f"\n# {stamp}\n".encode("utf-8"))
            for part in line.split("\n"):
                fh.write(f"+{part}\n".encode("utf-8"))
    os.replace(tmp, path)
