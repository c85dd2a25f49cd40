"""`--load FILE` and `--dump`: whole clusters as YAML documents (docs/schema.md)."""
from __future__ import annotations

import os
from collections.abc import Iterable, Iterator

from cmshell.commit import CommitRefused, Committer
from cmshell.errors import CommandError
from cmshell.model import values
from cmshell.model.schema import Mode, Schema
from cmshell.shell import cluster_yaml
from cmshell.store.base import StoreError
from cmshell.workspace import Workspace


def _yaml():
    import yaml
    return yaml


def load(committer: Committer, path: str) -> int:
    """Read the file object by object, check each, and commit them all in one transaction
    (written in batches as they are read: the tree is never held twice); the object count."""
    if not committer.ws.store.is_empty():
        raise CommandError("The store is not empty; --load needs an empty store (use another --db)")
    try:
        try:
            return _load(committer, path, cluster_yaml.objects(path))
        except cluster_yaml.Restart:        # laid out unusually: read whole (nothing was stored)
            return _load(committer, path, _whole(path))
    except OSError as e:
        raise CommandError(f"Cannot read {path}: {e.strerror}") from None
    except UnicodeDecodeError:
        raise CommandError(f"Cannot read {path}: not UTF-8 text") from None
    except cluster_yaml.YamlError as e:
        raise CommandError(f"{path}: not valid YAML ({e})") from None


def _whole(path: str) -> Iterator[tuple[str, object]]:
    data = cluster_yaml.whole(path)
    if not isinstance(data, dict):
        raise CommandError(f"{path}: expected a mapping of mode names to lists of objects")
    for mode_name, docs in data.items():
        if docs is not None and not isinstance(docs, list):
            yield mode_name, _NOT_A_LIST
        elif not docs:
            yield mode_name, None
        else:
            for doc in docs:
                yield mode_name, doc


_NOT_A_LIST = object()


def _holds_mask(path: str) -> bool:
    """Whether the file holds `*****` anywhere: only then can it hold a masked secret."""
    import mmap
    from cmshell.model import secrets
    with open(path, "rb") as fh:
        if os.fstat(fh.fileno()).st_size == 0:
            return False
        with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            return mm.find(secrets.MASK.encode()) >= 0


def _load(committer: Committer, path: str, items: Iterable[tuple[str, object]]) -> int:
    schema = committer.ws.schema
    count = 0
    masks = _holds_mask(path)

    def checked() -> Iterator[tuple[str, dict]]:
        nonlocal count
        for mode_name, doc in items:
            mode = schema.modes.get(mode_name) if isinstance(mode_name, str) else None
            if mode is None or not mode.top:
                raise CommandError(f"{path}: unknown mode {mode_name}")
            if doc is _NOT_A_LIST:
                raise CommandError(f"{path}: {mode_name} must be a list of objects")
            if doc is None:
                continue
            if not isinstance(doc, dict) or not doc.get(mode.key):
                raise CommandError(f"{path}: a {mode_name} object without {mode.key}")
            _check_keys(schema, mode, doc, f"{path}: {mode_name} {doc[mode.key]}")
            if masks:
                _no_masked_secrets(schema, mode, doc, f"{path}: {mode_name} {doc[mode.key]}")
            _strip_index(schema, mode, doc)
            count += 1
            yield mode_name, doc

    try:
        committer.load(checked(), comment=f"load {path}", if_empty=True)
    except StoreError as e:
        raise CommandError(str(e)) from None
    except CommitRefused as e:
        p, more = e.problems[0], len(e.problems) - 1
        raise CommandError(f"{path}: {p.field}: {p.message}" + (f" (and {more} more)" if more else "")) from None
    return count


def _strip_index(schema: Schema, mode: Mode, doc: dict) -> None:
    """Rows of index-keyed submodes are stored without `index` (their position is their index)."""
    for p in mode.spec(doc).submodes.values():
        rows = doc.get(p.name)
        if not rows or p.mode not in schema.modes:
            continue
        sub = schema.mode(p.mode)
        for row in rows:
            if isinstance(row, dict):
                if sub.indexed:
                    row.pop("index", None)
                _strip_index(schema, sub, row)


_PLAIN: dict[int, frozenset[str]] = {}     # id(spec) -> its parameters a text passes as it is


def _no_masked_secrets(schema: Schema, mode: Mode, doc: dict, where: str) -> None:
    """A dump made without --with-secrets holds `*****` for each secret: loading it would
    replace real secrets by that text, so it is refused."""
    from cmshell.model import secrets
    hidden = secrets.masked_fields(schema, mode, doc)
    if hidden:
        more = f" (and {len(hidden) - 1} more)" if len(hidden) > 1 else ""
        raise CommandError(f"{where}: {hidden[0]} is a masked secret (*****){more}; load a dump made"
                           " with --dump --with-secrets, or set the real value in the file")


def _check_keys(schema: Schema, mode: Mode, doc: dict, where: str) -> None:
    if not isinstance(doc, dict):
        raise CommandError(f"{where}: expected a mapping, got {type(doc).__name__}")
    if not isinstance(doc.get("type", ""), str) or (mode.roles is not None
                                                    and not isinstance(doc.get("name", ""), str)):
        raise CommandError(f"{where}: type and role names must be strings")
    spec = mode.spec(doc)
    if mode.roles is not None and mode.roles.find(str(doc.get("name", ""))) is None:
        raise CommandError(f"{where}: unknown role {doc.get('name')}")
    if mode.types and doc.get("type") not in mode.types:
        raise CommandError(f"{where}: unknown type {doc.get('type')}")
    plain = _PLAIN.get(id(spec))
    if plain is None:
        plain = _PLAIN[id(spec)] = frozenset(p.name for p in spec.params if not (
            p.is_list or p.is_submode or p.type in ("boolean", "integer", "enum") or p.syntax))
    for k, v in doc.items():
        if k in plain and type(v) is str:
            continue                    # a plain text parameter without a syntax: as it is
        if k == "extra" and mode.extras:
            if v is not None and (not isinstance(v, dict)
                                  or not all(isinstance(x, str) for kv in v.items() for x in kv)):
                raise CommandError(f"{where}: extra must be a mapping of names to text values")
            continue
        if k == "type" and (mode.types or mode.roles is not None):
            continue
        p = spec.param(k)
        if p is None:
            raise CommandError(f"{where}: unknown parameter {k}")
        if p.is_submode:
            sub = schema.mode(p.mode)
            if v is not None and not isinstance(v, list):
                raise CommandError(f"{where}: {p.name} must be a list")
            for row in v or []:
                _check_keys(schema, sub, row, f"{where} {p.name}")
        elif v is not None:
            doc[k] = _check_value(p, v, where)


def _check_value(p, v, where: str):
    """A loaded value of the parameter's type (canonical enum case), or a one-line error."""
    if p.is_list:
        if isinstance(v, list) and not any(isinstance(x, (dict, list)) for x in v):
            bad = next((x for x in v if not isinstance(x, str)), None)
            if bad is not None:      # `nodes: [node001, 5]`: a YAML number, not a name
                raise CommandError(f"{where}: {p.name} must be a list of text values, not "
                                   f"{type(bad).__name__} {bad!r} (quote it)")
            wrong = values.problem(p, v)
            if wrong is not None:
                raise CommandError(f"{where}: Invalid value for {p.name}: {wrong}")
            return v
        raise CommandError(f"{where}: {p.name} must be a list of values")
    if isinstance(v, (dict, list)):
        raise CommandError(f"{where}: {p.name} must be a single value")
    if p.type in ("boolean", "integer", "enum") and type(v) is not {"boolean": bool, "integer": int}.get(p.type):
        try:
            return values.parse(p, [str(v)])
        except values.ValueError_ as e:
            raise CommandError(f"{where}: {e}") from None
    if p.type not in ("boolean", "integer") and not isinstance(v, str):
        # `notes: 5`, `version: 1.30`, `hostname: yes`: YAML read a number or a boolean
        raise CommandError(f"{where}: {p.name} must be text, not {type(v).__name__} {v!r} (quote it)")
    bad = values.problem(p, v)        # addresses, names, ranges, as `set` checks them
    if bad is not None:
        raise CommandError(f"{where}: Invalid value for {p.name}: {bad}")
    return values.canonical(p, v)


def dump(ws: Workspace, schema: Schema, out, *, with_secrets: bool = False) -> tuple[int, int]:
    """Write the store as cluster YAML; never fails on a store cmshell wrote. Secrets are
    `*****` unless `with_secrets` (the form for backups). Strings that are not UTF-8 text (a
    store written before such input was refused) are written with `\\xff` escapes. Returns
    (escaped strings, masked secrets), for the notes on stderr."""
    from cmshell.model import secrets
    from cmshell.syntax.text import not_utf8, printable
    yaml = _yaml()
    escaped = hidden = 0
    data = {}
    for mode in sorted((m for m in schema.modes.values() if m.top), key=lambda m: m.name):
        recs = sorted(ws.store.load(mode.name), key=lambda r: r.name)
        if recs:
            docs = [r.doc for r in recs]
            if not with_secrets:
                for i, doc in enumerate(docs):
                    docs[i], n = secrets.masked(schema, mode, doc)
                    hidden += n
            data[mode.name] = docs

    class Dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):
        pass

    def text(dumper, value):
        nonlocal escaped
        if not_utf8(value) is not None:
            escaped += 1
            value = printable(value)
        style = "|" if "\n" in value else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    Dumper.add_representer(str, text)
    yaml.dump(data, out, Dumper=Dumper, sort_keys=False, default_flow_style=False,
              allow_unicode=True, width=100)
    return escaped, hidden
