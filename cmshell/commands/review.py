"""Change review (beyond cmsh): diff, journal, rollback. See docs/scripts-and-review.md."""
from __future__ import annotations

import time

from cmshell.shell.dispatch import command
from cmshell.model import diff as fdiff
from cmshell.model.nodeset import compress
from cmshell.output import table
from cmshell.safety import revert
from cmshell.shell.location import find_row
from cmshell.errors import CommandError, Failed
from cmshell.store.base import StoreError


# -- diff -------------------------------------------------------------------------------------
@command("diff", "Show the staged changes field by field",
         scope="top", usage=["diff [-v|--verbose] [<object>]",
                             "show changes          (the same as diff)"],
         examples=["diff", "diff node001", "device diff", "diff -v"], args=("object?",))
def diff(s, args):
    verbose = False
    rest = []
    for a in args:
        if a in ("-v", "--verbose"):
            verbose = True
        elif a.startswith("-") and len(a) > 1:
            raise CommandError(f"diff: unknown option {a}")
        else:
            rest.append(a)
    if len(rest) > 1:
        raise CommandError(f"diff: unexpected argument {rest[1]}")
    lines = []
    for mode, rid in _scope(s, rest[0] if rest else None):
        st = s.ws.staged.get(rid)
        if st is None:
            continue
        before = s.ws.base_doc(mode, rid) if st.base is not None else None
        after = st.doc
        lines += fdiff.object_diff(s.schema, s.schema.mode(mode), before, after, verbose=verbose)
    if lines:
        s.write("\n".join(lines))
        raise Failed()       # differences: the command "fails" silently (exit status 1 in batch)


def _scope(s, name: str | None) -> list[tuple[str, str]]:
    """(mode, id) of the objects diff covers here, sorted by mode and name."""
    ws = s.ws
    if name is not None:
        if not s.path:
            raise CommandError("diff <object>: enter a mode first (e.g. 'device diff node001')")
        mode = s.path[0].mode
        if len(s.path) > 1 or s.path[0].key is not None:
            raise CommandError("diff <object>: only at a mode's list level (e.g. 'device diff node001')")
        items = [(mode.name, s.lookup(mode, name))]
    elif not s.path:
        items = [(m, rid) for _, m, rid in ws.pending()]
    elif s.path[0].key is not None:
        items = [(s.path[0].mode.name, s.path[0].key)]
    else:
        items = [(m, rid) for _, m, rid in ws.pending(s.path[0].mode.name)]
    return sorted(items, key=lambda it: (it[0], _either_name(s, *it)))


def _either_name(s, mode, rid) -> str:
    st = s.ws.staged.get(rid)
    if st is not None and st.doc is None and st.base is not None:
        return st.base.name
    return s.ws.name_of(mode, rid)


def shows_changes(s, args) -> bool:
    """`show changes` means `diff` unless an object named `changes` is at hand."""
    if not args or args[0] != "changes":
        return False
    if not s.path:
        return True
    lvl = s.path[-1]
    if len(s.path) == 1:
        return s.ws.find(lvl.mode.name, "changes") is None
    return find_row(lvl.mode, s.rows(), "changes") is None


# -- journal ----------------------------------------------------------------------------------
@command("journal", "List the commits, or show what one changed", scope="top",
         usage=["journal [-n <count>] [-v|--verbose]", "journal show <commit>"],
         examples=["journal", "journal -n 5", "journal show 3"], args=("any*",))
def journal(s, args):
    if args and args[0] == "show":
        if len(args) != 2:
            raise CommandError("Usage: journal show <commit>")
        _journal_show(s, _seq(args[1]))
        return
    limit, verbose = None, False
    it = iter(args)
    for a in it:
        if a in ("-n", "--number"):
            try:
                limit = int(next(it))
            except (StopIteration, ValueError):
                raise CommandError(f"{a} needs a number") from None
            if limit < 1:
                raise CommandError(f"{a} needs a positive number")
            limit = min(limit, _MAX_SEQ)
        elif a in ("-v", "--verbose"):
            verbose = True
        else:
            raise CommandError(f"journal: unexpected argument {a}; 'help journal' shows the usage")
    entries = _store_call(s.ws.store.journal, limit)
    if not entries:
        s.write("No commits")
        return
    from cmshell.safety import outcome
    notes = _store_call(outcome.notes, s.ws.store, [e.seq for e in entries])
    if notes:       # the column is there once backends applied something or a commit was confirmed
        rows = [[str(e.seq), _when(e.time), e.user, e.comment, notes.get(e.seq, ""),
                 objects_text(e.objects, verbose)] for e in entries]
        s.write("\n".join(table.simple(["Commit", "Time", "User", "Comment", "Outcome", "Objects"],
                                       [6, 19, 8, 16, 24, 0], rows)))
        return
    rows = [[str(e.seq), _when(e.time), e.user, e.comment, objects_text(e.objects, verbose)]
            for e in entries]
    s.write("\n".join(table.simple(["Commit", "Time", "User", "Comment", "Objects"],
                                   [6, 19, 8, 16, 0], rows)))


def _journal_show(s, seq: int) -> None:
    e = _entry(s, seq)
    head = f"Commit {e.seq} by {e.user} at {_when(e.time)}"
    lines = [head + (f": {e.comment}" if e.comment else "")]
    lines += _outcome_lines(s, seq)
    for ch in sorted(e.changes, key=lambda c: (c.mode, c.name)):
        mode = s.schema.modes.get(ch.mode)
        if mode is None:
            lines.append(f"  {ch.mode} {ch.name} (mode unknown to this version)")
            continue
        lines += fdiff.object_diff(s.schema, mode, ch.before, ch.after,
                                   old="before", new="after", verbose=True)
    s.write("\n".join(lines))


def _outcome_lines(s, seq: int) -> list[str]:
    """`Outcome: applied 30/32, 2 unreachable`, then each target that was not applied."""
    from cmshell.safety import outcome
    note = _store_call(outcome.notes, s.ws.store, [seq]).get(seq)
    if not note:
        return []
    out = [f"Outcome: {note}"]
    rec = _store_call(outcome.get, s.ws.store, [seq]).get(seq) or {}
    if rec.get("synced_by"):
        out[0] += f" (last sync by {rec['synced_by']} at {_when(rec['synced'])})"
    out += [f"  {t}: {st}" for t, st in sorted((rec.get("targets") or {}).items())
            if st not in ("ok", "changed")]
    return out


def objects_text(objects, verbose: bool = False, width: int = 64) -> str:
    """`device node001..node003 modified; device node100 added`, or counts when that is long."""
    groups: dict[tuple[str, str], list[str]] = {}
    for mode, name, action in objects:
        groups.setdefault((action, mode), []).append(name)
    order = {"added": 0, "modified": 1, "removed": 2}
    parts = [f"{mode} {compress(sorted(names))} {action}"
             for (action, mode), names in sorted(groups.items(), key=lambda g: (order.get(g[0][0], 3), g[0][1]))]
    text = "; ".join(parts)
    if verbose or len(text) <= width:
        return text
    counts: dict[str, int] = {}
    for _, _, action in objects:
        counts[action] = counts.get(action, 0) + 1
    return f"{len(objects)} objects: " + ", ".join(
        f"{counts[a]} {a}" for a in sorted(counts, key=lambda a: order.get(a, 3)))


def _when(t: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t))


_MAX_SEQ = 2 ** 62        # beyond what the store's integers hold; no journal gets there


def _seq(word: str) -> int:
    try:
        n = int(word)
    except ValueError:
        raise CommandError(f"Not a commit number: {word}; 'journal' lists them") from None
    if n < 0 or n > _MAX_SEQ:
        raise CommandError(f"Not a commit number: {word}; 'journal' lists them")
    return n


def _entry(s, seq: int):
    e = _store_call(s.ws.store.journal_entry, seq)
    if e is None:
        raise CommandError(f"No commit {seq}; 'journal' lists them")
    return e


def _store_call(fn, *args):
    try:
        return fn(*args)
    except StoreError as e:
        raise CommandError(str(e)) from None


# -- rollback ---------------------------------------------------------------------------------
@command("rollback", "Stage the configuration as of a commit, to review and commit",
         scope="top", usage=["rollback <commit>"], examples=["rollback 3", "rollback 0"], args=("any",))
def rollback(s, args):
    if len(args) != 1:
        raise CommandError("Usage: rollback <commit>   ('journal' lists the commits)")
    seq = _seq(args[0])
    ws = s.ws
    pending = ws.pending()
    if pending:
        raise CommandError(f"rollback: there are {len(pending)} uncommitted changes; "
                           "commit or refresh them first")
    latest = _store_call(ws.store.journal, 1)
    last = latest[-1].seq if latest else 0
    if seq > last:
        raise CommandError(f"No commit {seq}; the latest is {last}")
    if seq != 0 and seq != last:
        _entry(s, seq)          # a commit number that exists
    try:
        counts = _store_call(revert.stage, ws, seq, last)
    except revert.RevertError as e:
        raise CommandError(f"rollback: {e}") from None
    if counts is None:
        s.write(f"Nothing to roll back: nothing was committed after commit {seq}")
        return
    if not any(counts.values()):
        s.write(f"Nothing to roll back: the configuration is as it was after commit {seq}")
        return
    what = ", ".join(f"{n} {w}" for n, w in ((counts["+"], "to add"), (counts[" "], "to modify"),
                                             (counts["~"], "to remove")) if n)
    s.write(f"Staged the configuration as of commit {seq}: {what}. "
            "Review with 'diff'; 'commit' at the top level stores it.")
