"""Parameter values: parse what the user typed, render for `show`, `get` and `list`."""
from __future__ import annotations

from typing import Any

from cmshell.model.nodeset import compress
from cmshell.model.schema import Param

# A value as documents hold it (JSON): a string, an integer, a boolean, a list of strings, or
# the rows (dicts) of a submode. Stored documents are not validated against the schema when
# read, so the renderers take Any and cope with what they find.
Value = Any

TRUE = {"yes", "1", "on", "true"}
FALSE = {"no", "0", "off", "false"}


class ValueError_(Exception):
    """A value the parameter does not accept (message fit for the user)."""


def empty(param: Param) -> Value:
    """The value of a parameter nobody has set."""
    if param.default is not None:
        if param.type == "list" and not isinstance(param.default, list):
            return split_list(str(param.default))
        return param.default
    return {"boolean": False, "integer": 0, "list": [], "submode": []}.get(param.type, "")


def parse(param: Param, words: list[str]) -> str | int | bool | list[str]:
    """Turn the words after `set <param>` into the stored value."""
    t = param.type
    if t == "list":
        if param.target == "device":     # node lists: node00[1-4],-node002, ^file (nodelist.py)
            from cmshell.model.nodeset import NodeListError, expand_words
            try:
                return expand_words(words)
            except NodeListError as e:
                raise ValueError_(f"Invalid value for {param.name}: {e}") from None
        out: list[str] = []
        for w in words:
            out.extend(split_list(w))
        return out
    text = " ".join(words)
    if t == "boolean":
        low = text.lower()
        if low in TRUE:
            return True
        if low in FALSE:
            return False
        raise ValueError_(f"Invalid value for {param.name}: {text!r} (expected yes or no)")
    if t == "integer":
        try:
            return int(text, 10)
        except ValueError:
            raise ValueError_(f"Invalid value for {param.name}: {text!r} (expected an integer)") from None
    if t == "enum":
        for c in param.choices:
            if c.lower() == text.lower():
                return c
        if text == "":
            return ""
        raise ValueError_(f"Invalid value for {param.name}: {text!r} (expected one of: "
                          + ", ".join(c.lower() for c in param.choices if c) + ")")
    return text


def split_list(text: str) -> list[str]:
    return [w for w in text.split(",") if w != ""]


def blob_size(text: str) -> str:
    n = len(text.encode("utf-8"))
    if n < 1024:
        return f"<{n}B>"
    value = float(n)
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        value /= 1024
        if value < 1024 or unit == "TiB":
            break
    digits = 0 if value >= 100 else 1 if value >= 10 else 2
    s = f"{value:.{digits}f}"
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    return f"<{s}{unit}>"


def show(param: Param, value: Value) -> str:
    """The value as `show` and `list` print it."""
    t = param.type
    if t == "boolean":
        return "yes" if value else "no"
    if t == "list":
        if param.target == "device":
            return compress(value or [])
        return ",".join(str(v) for v in value or [])
    if t == "blob":
        return blob_size(value or "")
    if t == "secret":
        return "*****" if value else "< not set >"
    if t == "submode":
        return f"<{len(value or [])} in submode>"
    if t == "internal":
        return "<0 internally used>"
    if value is None:
        return ""
    return str(value)


def get_lines(param: Param, value: Value) -> list[str]:
    """The value as `get` prints it: lists one element a line, blobs whole."""
    t = param.type
    if t == "list":
        return [str(v) for v in value or []]
    if t == "blob":
        return (value or "").splitlines()
    if t in ("submode", "internal", "secret"):
        return [show(param, value)]
    return [show(param, value)]
