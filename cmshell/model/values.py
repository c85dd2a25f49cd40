"""Parameter values: parse what the user typed, render for `show`, `get` and `list`."""
from __future__ import annotations

import re
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
        element = _element(param)
        for v in out:
            _raise_unless_valid(element, v)
        return [canonical(element, v) for v in out]
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
            n = int(text, 10)
        except ValueError:
            raise ValueError_(f"Invalid value for {param.name}: {text!r} (expected an integer)") from None
        _raise_unless_valid(param, n)
        return n
    if t == "enum":
        for c in param.choices:
            if c.lower() == text.lower():
                return c
        if text == "":
            return ""
        raise ValueError_(f"Invalid value for {param.name}: {text!r} (expected one of: "
                          + ", ".join(c.lower() for c in param.choices if c) + ")")
    _raise_unless_valid(param, text)
    return canonical(param, text)


# -- typed values, as cmsh checks them -----------------------------------------------------------
_V4 = re.compile(r"(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}")


def _ip(text: str, version: int | None = None) -> bool:
    if _V4.fullmatch(text):          # the common case, without the ipaddress module
        return version in (None, 4)
    import ipaddress
    try:
        addr = ipaddress.ip_address(text)
    except ValueError:
        return False
    return version is None or addr.version == version


def _cidr(text: str) -> bool:
    import ipaddress
    try:
        ipaddress.ip_interface(text)
    except ValueError:
        return False
    return True


_LABEL = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
_HOST = re.compile(rf"{_LABEL.pattern}(\.{_LABEL.pattern})*")           # labels joined by dots
_MAC = re.compile("|".join(rf"[0-9A-Fa-f]{{2}}({sep}[0-9A-Fa-f]{{2}}){{{n - 1}}}"
                             for sep in (":", "-") for n in (6, 20)))   # one separator, 6 or 20 octets


def _hostname(text: str) -> bool:
    """RFC 1123: dot-separated labels of letters, digits and inner hyphens, 63 at most each,
    253 in all."""
    return len(text) <= 253 and _HOST.fullmatch(text) is not None


def _mac(text: str) -> bool:
    """Six octets (Ethernet), or twenty (an InfiniBand address), separated by `:` (or `-`)."""
    return _MAC.fullmatch(text) is not None


def _netmask(text: str) -> bool:
    """A prefix length (`24`, `/24`) or a dotted mask of contiguous ones (`255.255.255.0`)."""
    import ipaddress
    t = text[1:] if text.startswith("/") else text
    if t.isdigit():
        return 0 <= int(t) <= 128
    try:
        ipaddress.IPv4Network(f"0.0.0.0/{t}")
    except ValueError:
        return False
    return True


# syntax -> (test of a non-empty value, what is expected)
SYNTAXES = {
    "ip": (lambda v: _ip(v), "an IPv4 or IPv6 address, e.g. 10.141.0.1"),
    "ipv4": (lambda v: _ip(v, 4), "an IPv4 address, e.g. 10.141.0.1"),
    "cidr": (_cidr, "an address or a range of them, e.g. 10.141.0.0/16"),
    "mac": (_mac, "a MAC address, e.g. 00:11:22:33:44:55"),
    "hostname": (_hostname, "a host name of letters, digits and hyphens (RFC 1123), e.g. node001"),
    "domain": (_hostname, "a domain name of letters, digits, hyphens and dots, e.g. eth.cluster"),
    "netmask": (_netmask, "a prefix length or a netmask, e.g. 24 or 255.255.255.0"),
}


def problem(param: Param, value: Any) -> str | None:
    """What is wrong with a stored value of the parameter, for a one-line error (the value
    quoted, what is expected), else None. Empty values are unset, never wrong."""
    if value is None or value == "" or param.type in ("list", "submode"):
        if param.type == "list" and isinstance(value, list):
            return next((p for p in (problem(_element(param), v) for v in value) if p), None)
        return None
    if param.type == "integer":
        if not isinstance(value, int) or isinstance(value, bool):
            return None                # another check says that it is no integer
        if param.syntax == "mtu" and not (value == 0 or 68 <= value <= 65536):
            return f"{value} (expected 0, not set, or an MTU of 68 to 65536 bytes)"
        lo, hi = param.min, param.max
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            rng = f"{lo} to {hi}" if lo is not None and hi is not None else \
                f"{lo} or more" if lo is not None else f"{hi} or less"
            return f"{value} (expected {rng})"
        return None
    rule = SYNTAXES.get(param.syntax or "")
    if rule is None or not isinstance(value, str):
        return None
    test, expected = rule
    return None if test(value) else f"{value!r} (expected {expected})"


def _element(param: Param) -> Param:
    import dataclasses
    return dataclasses.replace(param, type="string")


def _raise_unless_valid(param: Param, value: Any) -> None:
    bad = problem(param, value)
    if bad is not None:
        raise ValueError_(f"Invalid value for {param.name}: {bad}")


def canonical(param: Param, value: Any) -> Any:
    """The stored form of a valid value: MAC addresses upper case with colons, as cmsh shows
    them."""
    if param.syntax == "mac" and isinstance(value, str) and value:
        return value.replace("-", ":").upper()
    return value


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
