"""A pygments lexer for cmshell lines. It asks shell/complete.py what each word is where it
stands (mode word, command, object name, parameter, value …), so highlighting, completion and
`help` agree: an unknown command or object name shows as an error while it is typed."""
from __future__ import annotations

from pygments.lexer import Lexer
from pygments.token import (Comment, Error, Keyword, Name, Number, Operator, Punctuation, String,
                            Text)

from cmshell.shell.complete import classify

TOKENS = {
    "mode": Keyword.Namespace,
    "command": Keyword,
    "alias": Keyword.Pseudo,
    "submode": Name.Namespace,
    "object": Name.Class,
    "param": Name.Attribute,
    "value": String,
    "string": String.Double,
    "number": Number,
    "type": Name.Builtin,
    "keyword": Keyword.Constant,
    "option": Name.Tag,
    "file": String.Other,
    "shell": String.Backtick,
    "pipe": Operator,
    "redirect": Operator,
    "sep": Punctuation,
    "paren": Punctuation,
    "comment": Comment,
    "text": Text,
    "error": Error,
}

class CmshellLexer(Lexer):
    """Lexes against a session: `CmshellLexer.bind(session, lock)` gives a class for
    prompt_toolkit's PygmentsLexer (which instantiates it itself)."""

    name = "cmshell"
    aliases = ["cmshell", "cmsh"]
    filenames = ["*.cmsh"]
    session = None
    lock = None

    @classmethod
    def bind(cls, session, lock=None):
        return type("BoundCmshellLexer", (cls,), {"session": session, "lock": lock})

    def get_tokens_unprocessed(self, text):
        pos = 0
        for line in text.splitlines(keepends=True):
            body = line.rstrip("\r\n")
            for start, end, role in self._roles(body):
                yield pos + start, TOKENS.get(role, Text), body[start:end]
            if len(line) > len(body):
                yield pos + len(body), Text, line[len(body):]
            pos += len(line)

    def _roles(self, body: str):
        spans = []
        got = False
        if self.session is not None:
            lock = self.lock
            if lock is None or lock.acquire(timeout=0.02):
                try:
                    spans = classify(self.session, body)
                    got = True
                except Exception:        # highlighting must never break typing
                    spans = []
                finally:
                    if lock is not None:
                        lock.release()
        if not got:
            spans = [(0, len(body), "text")]
        # fill the gaps (blanks) so every character is yielded once
        out, at = [], 0
        for start, end, role in spans:
            if start > at:
                out.append((at, start, "text"))
            out.append((start, end, role))
            at = end
        if at < len(body):
            out.append((at, len(body), "text"))
        return out
