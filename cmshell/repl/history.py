"""The prompt_toolkit History over the history file (shell/history_file.py)."""
from __future__ import annotations

import datetime
import time
from typing import Callable

from cmshell.shell.history_file import append, read, trim


def prompt_history(path: str, clock: Callable[[], float] = time.time,
                   scrub: Callable[[str], str] = lambda line: line):
    """A prompt_toolkit History over the file (private to its owner; unwritable: memory only);
    entries are stamped with `clock`. `scrub` is applied to every line before it is kept, in
    the file and in memory (secrets become *****, model/secrets.py)."""
    from prompt_toolkit.history import History

    class CmshellHistory(History):
        def __init__(self):
            super().__init__()
            self.broken = False

        def append_string(self, string: str) -> None:
            try:
                string = scrub(string)
            except Exception:          # noqa: BLE001 - never lose the line over the scrubbing
                pass
            super().append_string(string)

        def load_history_strings(self):
            try:
                trim(path, now=clock())
            except OSError:
                pass
            return [line for _, line in reversed(read(path))]

        def store_string(self, string: str) -> None:
            if self.broken:
                return
            try:
                append(path, string, datetime.datetime.fromtimestamp(clock()))
            except OSError:
                self.broken = True      # e.g. a read-only home: keep the history in memory

    return CmshellHistory()


def scrub(session, line: str) -> str:
    """The line as the history file keeps it: the value words of a `set` (or `append`) of a
    secret are `*****` — wherever the `set` stands (after `;`, inside `foreach … ( … )`). A
    secret parameter is one of that name anywhere in the schema, or the value of a secret
    environment row — the row named in the command or the one selected."""
    from cmshell.commands.scripting import quote
    from cmshell.model.secrets import MASK, secret_words
    from cmshell.syntax.line import LineError, split
    try:
        commands = split(line)
    except LineError:
        return line
    secret = secret_words(session.schema)
    out, changed = [], False
    for cmd in commands:
        w = list(cmd.words)
        hidden = False
        i = 0
        while cmd.shell is None and i < len(w):
            if w[i].lower() in ("set", "append"):
                at = _secret_at(session, w[i:i + 3], secret)
                if at is not None:
                    j = i + at + 1
                    end = j
                    while end < len(w) and w[end] not in (")", ";"):
                        end += 1
                    if end > j:
                        w[j:end] = [MASK]
                        hidden = True
            i += 1
        if not hidden:
            out.append(cmd.text)
            continue
        text = " ".join(x if x in ("(", ")", ";", MASK) else quote(x) for x in w)
        if cmd.pipe is not None:
            text += " | " + cmd.pipe
        if cmd.redirect is not None:
            text += f" {cmd.redirect[0]} {quote(cmd.redirect[1])}"
        out.append(text)
        changed = True
    return "; ".join(out) if changed else line


def _secret_at(session, words: list[str], secret: set[str]) -> int | None:
    """In `set [object] param value…` (words[0] is `set`): the index of the parameter word
    when it names a secret, else None."""
    for i, w in enumerate(words[1:3], 1):
        if w.lower() in secret:
            return i
    lows = [x.lower() for x in words[1:3]]
    if "value" in lows:
        i = lows.index("value") + 1
        row = words[1] if i == 2 else None          # `set db_password value x`
        lvl = session.path[-1] if session.path else None
        if row is None and lvl is not None and lvl.key is not None:
            row = str(lvl.key)                       # `set value x` inside the row
        mode = lvl.mode if lvl is not None else None
        if row is not None and mode is not None and mode.secret_rows is not None \
                and mode._secret_row({mode.key: row}):
            return i
    return None
