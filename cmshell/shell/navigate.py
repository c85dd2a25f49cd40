"""Where words take you: pure functions over a path of levels, used by the session and the
navigation commands to move, and by completion and highlighting to follow a line being typed
without running it.

`view` is anything that reads the candidate like a Session does: `ws`, `schema`,
`element(path)`, `rows(path)` and `head_node()` (a Session, or completion's view of one
standing elsewhere). Nothing here changes the session or raises CommandError; None means
"no such object here" and the caller decides what to say.
"""
from __future__ import annotations

from typing import Any, Callable, Protocol

from cmshell.model.schema import Mode, Param
from cmshell.shell.location import Level, find_row, row_key

Path = list[Level]


class View(Protocol):
    ws: Any
    schema: Any

    def element(self, path: Path | None = None) -> dict | None: ...
    def rows(self, path: Path | None = None) -> list[dict]: ...
    def head_node(self) -> str | None: ...


# what a command that navigates declares (CommandDef.moves): where it takes you from `path`
# with these arguments, None when it would fail (it stays where it is)
Moves = Callable[[View, Path, list[str]], "Path | None"]


class _Unknown:
    """The key of an object that is not known yet: the one `add` or `clone` creates, the
    "each object" of a foreach-style `( … )` block. No object has it, so the session reads
    no element there (None) and no rows below it."""

    def __repr__(self) -> str:
        return "<an object>"


UNKNOWN = _Unknown()


def top_mode(schema, word: str) -> Mode | None:
    """The top-level mode a mode word names (`device`, `Device`), or None."""
    mode = schema.modes.get(word.lower())
    return mode if mode is not None and mode.top else None


def enter(ws, mode: Mode) -> Path:
    """Where a bare mode word takes you: the mode's list, or its only object in a mode that
    enters it by itself (`kubernetes` with one cluster)."""
    if mode.auto_enter:
        names = ws.names(mode.name)
        if len(names) == 1:
            return [Level(mode, None, next(iter(names.values())))]
    return [Level(mode)]


def settle(before: Path, mode: Mode, after: Path) -> Path:
    """Where a mode-prefixed command (`device list`) leaves you: where it went when it
    navigated, else where you were before the mode word."""
    return before if after == [Level(mode)] else after


def up(path: Path) -> Path:
    """`exit` / `..`: from an object to its list, from a list to the level above."""
    if not path:
        return []
    last = path[-1]
    return path[:-1] + [last.select(None)] if last.key is not None else path[:-1]


def submodes(view: View, path: Path) -> dict[str, Param]:
    """The submode parameters reachable from the end of `path` by name: the selected object's,
    or at a list level those of every type and role of the mode."""
    if not path:
        return {}
    lvl = path[-1]
    if lvl.key is not None:
        return lvl.mode.spec(view.element(path)).submodes
    out: dict[str, Param] = {}
    for spec in [lvl.mode.base, *lvl.mode.types.values()]:
        out.update(spec.submodes)
    if lvl.mode.roles is not None:
        for r in lvl.mode.roles.roles:
            out.update(r.spec(lvl.mode.params).submodes)
    return out


def submode(view: View, path: Path, word: str) -> Param | None:
    """The submode a word names at the end of `path` (`roles`, `openports`), or None."""
    return submodes(view, path).get(word.lower())


def into(view: View, path: Path, param: Param) -> Path:
    """Into submode `param` of the object selected at the end of `path`."""
    assert param.mode is not None
    return path + [Level(view.schema.mode(param.mode), param.name)]


def find_id(view: View, mode: Mode, name: str) -> str | None:
    """The id of top-level object `name` of `mode` (any case when unambiguous; `master` is the
    head node), or None."""
    rid = view.ws.find(mode.name, name)
    if rid is None and mode.name == "device" and name.lower() == "master":
        head = view.head_node()
        rid = view.ws.find(mode.name, head) if head else None
    return rid


def find(view: View, path: Path, name: str) -> Path | None:
    """`use <name>`: the path to object `name` at the current level (beside the selected one),
    or None when there is none."""
    if not path:
        return None
    lvl = path[-1]
    if len(path) == 1:
        rid = find_id(view, lvl.mode, name)
        return [lvl.select(rid)] if rid is not None else None
    row = find_row(lvl.mode, view.rows(path), name)
    if row is None:
        return None
    return path[:-1] + [lvl.select(row_key(lvl.mode, row))]


def new_object(path: Path) -> Path:
    """Where `add` and `clone` take you before the new object has a key: an unknown object of
    the current list."""
    return path[:-1] + [path[-1].select(UNKNOWN)] if path else path
