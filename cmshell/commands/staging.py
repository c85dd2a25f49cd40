"""Staged changes: commit, refresh, modified, validate."""
from __future__ import annotations

from cmshell.shell.dispatch import command
from cmshell.commit import CommitRefused
from cmshell.errors import CommandError, Failed
from cmshell.output import table
from cmshell.store.base import StoreError


def _scope(s) -> tuple[list[str], str | None]:
    """The top-level objects the command covers here, and the mode when at a mode's list level."""
    if not s.path:
        return [rid for _, _, rid in s.ws.pending()], None
    top = s.path[0]
    if top.key is not None:
        return [top.key], None
    return [rid for _, _, rid in s.ws.pending(top.mode.name)], top.mode.name


def problems(s, rids) -> list:
    return s.committer.problems(rids, s.path[0].mode.name if s.path else None)


def _print_problems(s, probs) -> None:
    rows = [[str(p.code), p.field, p.message] for p in probs]
    s.err.write("\n".join(table.simple(["Code", "Field", "Message"], [5, 24, 26], rows)) + "\n")


@command("commit", "Commit local changes", scope="top", usage=["commit [-m|--message <comment>]"],
         examples=["commit", 'commit -m "rack 4 moved to gpu-nodes"'], args=())
def commit(s, args):
    comment = ""
    if args and args[0] in ("-m", "--message"):
        if len(args) < 2:
            raise CommandError(f"commit: {args[0]} needs a comment")
        comment, args = args[1], args[2:]
    if args:
        raise CommandError(f"commit: unexpected argument {args[0]}")
    rids, mode = _scope(s)
    rids = s.ws.with_renames(rids)      # a rename commits with the pointers it moved
    counts: dict[str, list[int]] = {}
    for rid in rids:                           # modified, but set back to the stored values:
        st = s.ws.staged.get(rid)              # committed as cmsh would, with nothing to store
        if st is not None and s.ws.state(rid) is not None and not s.ws.differs(rid):
            counts.setdefault(st.mode, [0, 0])[1] += 1
    try:
        done = s.committer.commit(rids, comment=comment)
    except CommitRefused as e:
        _print_problems(s, e.problems)
        raise Failed() from None
    except StoreError as e:
        raise CommandError(str(e)) from None
    if s.path and s.path[0].key is not None:
        return          # object level: silent, as cmsh
    for ch in done.changes if done else ():
        c = counts.setdefault(ch.mode, [0, 0])
        c[0 if ch.after is None else 1] += 1
    modes = [mode] + sorted(set(counts) - {mode}) if mode else sorted(counts)
    for m in modes:
        removed, committed = counts.get(m, [0, 0])
        plural = s.schema.mode(m).plural
        if removed:
            s.write(f"Successfully removed {removed} {plural}")
        s.write(f"Successfully committed {committed} {plural}")


@command("refresh", "Discard local changes", scope="top", usage=["refresh"], args=())
def refresh(s, args):
    if not s.path:
        s.ws.refresh_all()
        return
    rids, _ = _scope(s)
    # a proposed rename goes with the pointers it moved (§2.5.5: refresh clears a rename)
    s.ws.discard(s.ws.with_renames(rids))


@command("modified", "List modified objects", scope="top", usage=["modified"], args=())
def modified(s, args):
    mode = s.path[0].mode.name if s.path else None
    pending = s.ws.pending(mode)
    if not pending:
        s.write(f"No modified objects of type {mode}" if mode else "No modified objects")
        return
    rows = sorted([[st, s.schema.mode(m).entity, s.ws.name_of(m, rid)] for st, m, rid in pending],
                  key=lambda r: (r[1], r[2]))
    s.write("\n".join(table.simple(["State", "Type", "Name"], [6, 24, 34], rows)))


@command("validate", "Validate local changes without committing", usage=["validate"], args=())
def validate(s, args):
    rids, _ = _scope(s)
    rids = s.ws.with_renames(rids)
    probs = problems(s, rids)
    if probs:
        _print_problems(s, probs)
        raise Failed()
    s.write("All good")
