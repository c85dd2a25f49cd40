"""`--load FILE` and `--dump`: whole clusters as YAML documents (docs/schema.md)."""
from __future__ import annotations

from cmshell.commit import CommitRefused, Committer
from cmshell.errors import CommandError
from cmshell.model.schema import Mode, Schema
from cmshell.store.base import StoreError
from cmshell.workspace import Workspace


def _yaml():
    import yaml
    return yaml


def load(committer: Committer, path: str) -> int:
    """Stage every object of the file, validate, commit in one transaction; the object count."""
    from cmshell.model import secrets
    ws, schema = committer.ws, committer.ws.schema
    yaml = _yaml()
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
        raw.decode("utf-8")                 # UTF-8 text, or UnicodeDecodeError (bytes parse fastest)
        data = yaml.load(raw, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except OSError as e:
        raise CommandError(f"Cannot read {path}: {e.strerror}") from None
    except UnicodeDecodeError:
        raise CommandError(f"Cannot read {path}: not UTF-8 text") from None
    except yaml.YAMLError as e:
        raise CommandError(f"{path}: not valid YAML ({str(e).splitlines()[0]})") from None
    if not isinstance(data, dict):
        raise CommandError(f"{path}: expected a mapping of mode names to lists of objects")
    if not ws.store.is_empty():
        raise CommandError("The store is not empty; --load needs an empty store (use another --db)")
    rids = []
    masks = secrets.MASK.encode() in raw      # only a file holding ***** can hold a masked secret
    for mode_name, docs in data.items():
        mode = schema.modes.get(mode_name)
        if mode is None or not mode.top:
            raise CommandError(f"{path}: unknown mode {mode_name}")
        if docs is not None and not isinstance(docs, list):
            raise CommandError(f"{path}: {mode_name} must be a list of objects")
        for doc in docs or []:
            if not isinstance(doc, dict) or not doc.get(mode.key):
                raise CommandError(f"{path}: a {mode_name} object without {mode.key}")
            _check_keys(schema, mode, doc, f"{path}: {mode_name} {doc[mode.key]}")
            if masks:
                _no_masked_secrets(schema, mode, doc, f"{path}: {mode_name} {doc[mode.key]}")
            rids.append(ws.add(mode_name, ws.normalise(mode, doc)))
    try:
        committer.commit(rids, comment=f"load {path}", if_empty=True)
    except StoreError as e:
        raise CommandError(str(e)) from None
    except CommitRefused as e:
        p, more = e.problems[0], len(e.problems) - 1
        raise CommandError(f"{path}: {p.field}: {p.message}" + (f" (and {more} more)" if more else "")) from None
    return len(rids)


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
    for k, v in doc.items():
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
    from cmshell.model import values
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
