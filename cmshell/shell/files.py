"""Reading a user's text file for a command (scripts, blobs, bookmarks): one-line errors."""
from __future__ import annotations

from cmshell.errors import CommandError


def read_text(path: str, shown: str | None = None) -> str:
    """The file's text; CommandError `Cannot read <shown>: <why>` when it cannot be had."""
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read()
    except OSError as e:
        raise CommandError(f"Cannot read {shown or path}: {e.strerror}") from None
    except UnicodeDecodeError:
        raise CommandError(f"Cannot read {shown or path}: not UTF-8 text") from None
