"""The exceptions that end a command or a session; every layer may raise them."""
from __future__ import annotations


class CommandError(Exception):
    """A command failed; the message is the one line the user sees."""


class Quit(Exception):
    """The session ends (quit, or exit at the top level)."""


class Failed(CommandError):
    """A command failed and has already explained why (a validation table, a diff, the failing
    command of a script): the session prints nothing more."""

    def __init__(self) -> None:
        super().__init__("")
