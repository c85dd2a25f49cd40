"""Change review (beyond cmsh): diff, journal, rollback. See docs/scripts-and-review.md."""
from __future__ import annotations

import time

from cmshell.shell.dispatch import command
from cmshell.model import diff as fdiff
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
         usage=["journal [-n <count>] [-v|--verbose]", "journal show <commit>",
                "journal --prune <keep>       (compact all but the last <keep> commits into a snapshot)",
                "journal --retain <keep>|all  (compact automatically past <keep> commits; all: never)"],
         examples=["journal", "journal -n 5", "journal show 3", "journal --prune 100"], args=("any*",))
def journal(s, args):
    if args and args[0] == "show":
        if len(args) != 2:
            raise CommandError("Usage: journal show <commit>")
        _journal_show(s, _seq(args[1]))
        return
    if args and args[0] in ("--prune", "--retain"):
        _retention(s, args)
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
                 objects_text(_all_names(s, e) if verbose else e.groups, verbose)] for e in entries]
        s.write("\n".join(table.simple(["Commit", "Time", "User", "Comment", "Outcome", "Objects"],
                                       [6, 19, 8, 16, 24, 0], rows)))
        return
    rows = [[str(e.seq), _when(e.time), e.user, e.comment, objects_text(_all_names(s, e) if verbose else e.groups,
                                                                      verbose)]
            for e in entries]
    s.write("\n".join(table.simple(["Commit", "Time", "User", "Comment", "Objects"],
                                   [6, 19, 8, 16, 0], rows)))


def _retention(s, args) -> None:
    store = s.ws.store
    if len(args) != 2:
        raise CommandError(f"Usage: journal {args[0]} <keep>" + ("|all" if args[0] == "--retain" else ""))
    if args[0] == "--retain" and args[1] == "all":
        _store_call(store.set_journal_retention, None)
        s.write("The journal keeps every commit")
        return
    try:
        keep = int(args[1])
    except ValueError:
        keep = -1
    if keep < 0:
        raise CommandError(f"journal {args[0]}: expected a number of commits (0 or more), got {args[1]}")
    if args[0] == "--retain":
        _store_call(store.set_journal_retention, keep)
        s.write(f"The journal keeps the last {keep} commits; older ones are compacted into a snapshot")
        return
    gone = _store_call(lambda: store.prune_journal(keep, user=s.user))
    if not gone:
        s.write(f"Nothing to compact: the journal holds at most {keep} commits and a snapshot")
        return
    s.write(f"Compacted {gone} commits into a snapshot; rollback goes back to it at the earliest")


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
        before, after = ch.shown(mode.key)
        lines += fdiff.object_diff(s.schema, mode, before, after,
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


def _all_names(s, e):
    """The groups of a journal entry with every name (`journal -v`): the summary's, or, where
    it left long name lists out, those of the commit's deltas."""
    if all(g.complete for g in e.groups):
        return e.groups
    from cmshell.store.delta import groups_of
    rec = _entry(s, e.seq)
    return groups_of(((c.mode, c.name, c.action) for c in rec.changes), full=True)


def objects_text(groups, verbose: bool = False, width: int = 64) -> str:
    """`device node001..node003 modified; device node100 added`, or counts when that is long,
    from a commit's groups (JournalEntry.groups)."""
    order = {"added": 0, "modified": 1, "removed": 2}
    groups = sorted(groups, key=lambda g: (order.get(g.action, 3), g.mode))
    text = "; ".join(f"{g.mode} {g.names} {g.action}" for g in groups)
    if verbose or (len(text) <= width and all(g.complete for g in groups)):
        return text
    counts: dict[str, int] = {}
    for g in groups:
        counts[g.action] = counts.get(g.action, 0) + g.count
    return f"{sum(counts.values())} objects: " + ", ".join(
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
    if seq != 0 and seq != last and _store_call(ws.store.journal_head, seq) is None:
        first = _store_call(ws.store.journal, None)[0].seq
        if seq < first:
            _store_call(ws.store.state_at, seq)     # says so when it went into a snapshot
        raise CommandError(f"No commit {seq}; 'journal' lists them")
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
