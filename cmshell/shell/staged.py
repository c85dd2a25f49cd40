"""Which staged objects a command covers at the session's level, and their validation problems:
what `commit`, `refresh`, `validate` (commands/staging.py) and `plan`, `commit check`
(commands/safety.py) work on. At the top every modified object, at a mode's list level that
mode's, at an object that object."""
from __future__ import annotations

from cmshell.errors import Failed
from cmshell.output import table


def scope(s) -> tuple[list[str], str | None]:
    """The top-level objects the command covers here, and the mode when at a mode's list level."""
    if not s.path:
        return [rid for _, _, rid in s.ws.pending()], None
    top = s.path[0]
    if top.key is not None:
        return [top.key], None
    return [rid for _, _, rid in s.ws.pending(top.mode.name)], top.mode.name


def problems(s, rids) -> list:
    return s.committer.problems(rids, s.path[0].mode.name if s.path else None)


def print_problems(s, probs) -> None:
    """As cmsh prints them: a Code / Field / Message table on stderr."""
    rows = [[str(p.code), p.field, p.message] for p in probs]
    s.err.write("\n".join(table.simple(["Code", "Field", "Message"], [5, 24, 26], rows)) + "\n")


def validated(s) -> list[str]:
    """The objects a commit here would store, with the pointers a rename moved; their problems
    are printed and the command fails when there are any."""
    rids = s.ws.with_renames(scope(s)[0])
    probs = problems(s, rids)
    if probs:
        print_problems(s, probs)
        raise Failed()
    return rids
