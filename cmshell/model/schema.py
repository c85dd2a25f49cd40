"""Load the declarative schema (modes/*.yaml, modes/roles/*.yaml) into Mode and Role specs."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

_PKG = os.path.dirname(os.path.dirname(__file__))
# installed: cmshell/modes (package data); source checkout: modes/ beside cmshell/
MODES_DIR = next((d for d in (os.path.join(_PKG, "modes"), os.path.join(os.path.dirname(_PKG), "modes"))
                  if os.path.isdir(d)), os.path.join(_PKG, "modes"))

@dataclass
class Param:
    name: str
    label: str
    type: str = "string"
    default: object = None
    initial: object = None         # value `add` gives a new object (e.g. a node's category)
    help: str = ""
    choices: tuple = ()
    target: str | None = None      # pointer / list of pointers: mode of the target
    mode: str | None = None        # submode: mode name of the collection
    required: bool = False
    readonly: bool = False
    inherit: str | None = None     # pointer parameter whose target supplies the value when empty
    list_label: str | None = None
    list_render: str | None = None
    count: str | None = None       # "device.category": computed, the objects that point here
    list_only: bool = False        # a `list` column only (not in `show`)
    syntax: str | None = None      # what a value must look like: ip, ipv4, cidr, mac, hostname … (values.py)
    min: int | None = None         # integers: the range of values
    max: int | None = None

    @classmethod
    def from_yaml(cls, d: dict) -> "Param":
        name = str(d["name"])
        return cls(
            name=name,
            label=str(d.get("label", name)),
            type=str(d.get("type", "string")),
            default=d.get("default"),
            initial=d.get("initial"),
            help=str(d.get("help", "")),
            choices=tuple(str(c) for c in d.get("choices", ()) or ()),
            target=d.get("target"),
            mode=d.get("mode"),
            required=bool(d.get("required", False)),
            readonly=bool(d.get("readonly", False)),
            inherit=d.get("inherit"),
            list_label=d.get("list_label"),
            list_render=d.get("list_render"),
            count=d.get("count"),
            list_only=bool(d.get("list_only", False)),
            syntax=d.get("syntax"),
            min=d.get("min"),
            max=d.get("max"),
        )

    @property
    def is_submode(self) -> bool:
        return self.type == "submode"

    @property
    def is_list(self) -> bool:
        return self.type == "list"


@dataclass
class Spec:
    """The parameters one kind of object has (a mode's params plus its type's or role's)."""
    params: list[Param]
    type_label: str = ""
    commands: tuple = ()

    @cached_property
    def by_name(self) -> dict[str, Param]:
        return {p.name: p for p in self.params}

    def param(self, name: str) -> Param | None:
        return self.by_name.get(name) or self.by_name.get(name.lower())    # exact first: cheaper

    @cached_property
    def submodes(self) -> dict[str, Param]:
        return {p.name: p for p in self.params if p.is_submode}

    @cached_property
    def checked(self) -> list[Param]:
        """The parameters validation looks at: required, pointers, submodes, typed values."""
        return [p for p in self.params if (p.required and not p.readonly) or p.target or p.is_submode
                or p.syntax or p.min is not None or p.max is not None]


@dataclass
class Role:
    name: str
    type: str
    params: list[Param]
    aliases: tuple = ()
    generic: bool = False
    help: str = ""
    commands: tuple = ()
    environment: tuple = ()        # Params: documented variables of its `environments` submode
    extends: str | None = None     # a documented instance of a generic role (generic::harbor)

    def spec(self, common: list[Param]) -> Spec:
        """Common role parameters (Name, Revision, Type) followed by this role's."""
        cached = self.__dict__.get("_spec")
        if cached is None:
            cached = self.__dict__["_spec"] = Spec(list(common) + self.params, self.type, self.commands)
        return cached


@dataclass
class Mode:
    name: str
    entity: str
    plural: str
    top: bool
    key: str
    keying: str
    help: str
    extras: bool
    auto_enter: bool
    params: list[Param]
    types: dict[str, Spec] = field(default_factory=dict)     # typed name -> extra params
    type_labels: dict[str, str] = field(default_factory=dict)
    add_args: tuple = ()
    list_format: str = ""
    sort: tuple = ()               # fields `list` sorts by until `sort` says otherwise
    roles: "Roles | None" = None                               # set for the roles mode
    # rows whose key matches one of the patterns hold a secret in `param` (environment variables
    # named *password* …): (param, patterns)
    secret_rows: tuple | None = None
    quiet_commit: bool = False     # `commit` at its list level prints no `Successfully …` lines

    @property
    def indexed(self) -> bool:
        return self.keying == "index"

    @cached_property
    def base(self) -> Spec:
        return Spec(self.params)

    def spec(self, doc: dict | None) -> Spec:
        """The parameters of one object of this mode (depends on its type or role)."""
        if self.secret_rows is not None and doc is not None and self._secret_row(doc):
            return self._secret_spec
        if doc is not None:
            if self.roles is not None:
                role = self.roles.find(doc.get("name", ""))
                if role is not None:
                    return role.spec(self.params)
            t = doc.get("type")
            if t in self.types:
                return self.types[t]
        return self.base

    def _secret_row(self, doc: dict) -> bool:
        from fnmatch import fnmatchcase
        if self.secret_rows is None:
            return False
        name = str(doc.get(self.key, "")).lower()
        return any(fnmatchcase(name, pat) for pat in self.secret_rows[1])

    @cached_property
    def _secret_spec(self) -> Spec:
        """The base spec with the secret-holding parameter of a secret row typed `secret`."""
        import dataclasses
        param = self.secret_rows[0] if self.secret_rows is not None else None
        return Spec([dataclasses.replace(p, type="secret") if p.name == param else p for p in self.params])

    def all_params(self) -> dict[str, Param]:
        """Every parameter any object of this mode may have, whatever its type or role (for
        `list`, `format`, `sort`, help and completion when the object is not known)."""
        out = {p.name: p for p in self.params}
        for spec in self.types.values():
            out.update(spec.by_name)
        if self.roles is not None:
            for r in self.roles.roles:
                out.update(r.spec(self.params).by_name)
        return out


class Roles:
    """The role types that `assign` knows, matched case-insensitively."""

    def __init__(self, roles: list[Role]):
        # the role types; documented generic instances (`extends:`) are found by name only
        self.roles = sorted((r for r in roles if not r.extends), key=lambda r: r.name.lower())
        self._by = {}
        for r in sorted(roles, key=lambda r: bool(r.extends)):
            for n in (r.name, *r.aliases):
                self._by[n.lower()] = r

    def find(self, name: str) -> Role | None:
        role = self._by.get(name.lower())
        if role is None and name.lower().startswith("generic::") and len(name) > 9:
            role = next((r for r in self.roles if r.generic), None)
        return role

    def canonical(self, name: str) -> str | None:
        role = self.find(name)
        if role is None:
            return None
        return name.lower() if role.generic else role.name

    def names(self) -> list[str]:
        return [r.name for r in self.roles]


class Schema:
    def __init__(self, modes: dict[str, Mode]):
        self.modes = modes

    def mode(self, name: str) -> Mode:
        return self.modes[name]

    def top_modes(self) -> list[Mode]:
        return sorted((m for m in self.modes.values() if m.top), key=lambda m: m.name)


def _params(raw: list | None) -> list[Param]:
    return [Param.from_yaml(p) for p in raw or ()]


def _load_yaml(path: str) -> Any:
    import yaml
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with open(path, encoding="utf-8") as fh:
        return yaml.load(fh, Loader=loader)


def _mode_from(d: dict) -> Mode:
    name = str(d["name"])
    entity = str(d.get("entity", name.capitalize()))
    params = _params(d.get("params"))
    types, labels = {}, {}
    for t in d.get("types", ()) or ():
        tname = str(t["name"])
        labels[tname] = str(t.get("label", tname))
        own = {p.name: p for p in _params(t.get("params"))}
        drop = set(t.get("drop", ()) or ())               # common params this type has not
        merged = [own.pop(p.name, p) for p in params if p.name not in drop]   # or redeclares
        types[tname] = Spec(merged + list(own.values()), labels[tname])
    rows = d.get("secret_rows")
    return Mode(
        name=name,
        entity=entity,
        secret_rows=(str(rows["param"]), tuple(str(n).lower() for n in rows["names"])) if rows else None,
        quiet_commit=bool(d.get("quiet_commit", False)),
        plural=str(d.get("plural", entity + "s")),
        top=bool(d.get("top", False)),
        key=str(d.get("key", "name")),
        keying=str(d.get("keying", "name")),
        help=str(d.get("help", f"Enter {name} mode")),
        extras=bool(d.get("extras", False)),
        auto_enter=bool(d.get("auto_enter", False)),
        params=params,
        types=types,
        type_labels=labels,
        add_args=tuple(d.get("add_args", ()) or ()),
        list_format=str(d.get("list", "") or ""),
        sort=tuple(str(f) for f in d.get("sort", ()) or ()),
    )


def _raw_schema(directory: str, cache_dir: str | None) -> tuple[list[dict], list[dict]]:
    """The parsed YAML of every mode and role file, through a JSON cache keyed by the files'
    names, sizes and mtimes (parsing 27 YAML files costs more than the rest of a start-up)."""
    import hashlib
    import json
    files = []
    for sub in ("", "roles"):
        d = os.path.join(directory, sub)
        if os.path.isdir(d):
            files += sorted(os.path.join(d, e.name) for e in os.scandir(d) if e.name.endswith(".yaml"))
    stamp = hashlib.sha1(repr([(f, os.stat(f).st_mtime_ns, os.stat(f).st_size) for f in files])
                         .encode()).hexdigest()[:16]
    cache = os.path.join(cache_dir, f"schema-{stamp}.json") if cache_dir else None
    if cache:
        try:
            with open(cache, encoding="utf-8") as fh:
                data = json.load(fh)
            return data["modes"], data["roles"]
        except (OSError, ValueError, KeyError):
            pass
    rdir = os.path.join(directory, "roles")
    modes = [_load_yaml(f) for f in files if os.path.dirname(f) != rdir]
    roles = [_load_yaml(f) for f in files if os.path.dirname(f) == rdir]
    if not cache_dir or not cache:
        return modes, roles
    try:
        os.makedirs(cache_dir, mode=0o700, exist_ok=True)
        tmp = f"{cache}.{os.getpid()}.tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump({"modes": modes, "roles": roles}, fh)
        os.replace(tmp, cache)
    except OSError:
        pass      # a read-only home only costs speed
    return modes, roles


def load_schema(directory: str = MODES_DIR, *, cache_dir: str | None = None) -> Schema:
    """The schema of `directory`; with `cache_dir`, parsed once and kept there as JSON (so that
    later runs need no YAML parser)."""
    raw_modes, raw_roles = _raw_schema(directory, cache_dir)
    modes: dict[str, Mode] = {}
    for d in raw_modes:
        m = _mode_from(d)
        modes[m.name] = m
    by_name = {str(d["role"]): d for d in raw_roles}
    roles = [Role(name=str(d["role"]), type=str(d.get("type", "")),
                  # `extends: generic::*`: the named role's params first (a specific generic role)
                  params=_params((by_name.get(str(d.get("extends")), {}).get("params") or [])
                                 + (d.get("params") or [])),
                  aliases=tuple(str(a) for a in d.get("aliases", ()) or ()),
                  generic=bool(d.get("generic", False)), help=str(d.get("help", "")),
                  commands=tuple(d.get("commands", ()) or ()),
                  environment=tuple(_params(d.get("environment"))),
                  extends=str(d["extends"]) if d.get("extends") else None)
             for d in raw_roles]
    if "roles" in modes:
        modes["roles"].roles = Roles(roles)
    return Schema(modes)
