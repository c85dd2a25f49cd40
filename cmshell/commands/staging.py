"""Staged changes: commit, refresh, modified, validate."""
from __future__ import annotations

from cmshell.commands import safety
from cmshell.commit import CommitRefused
from cmshell.errors import CommandError, Failed
from cmshell.output import table
from cmshell.shell.dispatch import command
from cmshell.shell.staged import print_problems, scope, validated
from cmshell.store.base import StoreError
from cmshell.store.common import paused_gc


@command("commit", "Commit local changes", scope="top",
         usage=["commit [-m|--message <comment>]",
                "commit confirmed [<minutes>] [-m <comment>]   (rolled back unless confirmed in time)",
                "commit check [-d {}]                          (validate and plan, then stop)"],
         examples=["commit", 'commit -m "rack 4 moved to gpu-nodes"', "commit confirmed 5", "commit check"],
         args=("check|confirmed?", "any*"))
def commit(s, args):
    # the collector paused for the whole command, not only the store's part: the passes over
    # the staged objects (87,500 after a foreach) would each set off a collection of all of them
    with paused_gc():
        _commit(s, args)


def _commit(s, args):
    if args and args[0] == "check":
        safety.commit_check(s, args[1:])
        return
    comment, confirmed, minutes = "", False, None
    it = iter(args)
    for a in it:
        if a in ("-m", "--message"):
            comment = next(it, None)
            if comment is None:
                raise CommandError(f"commit: {a} needs a comment")
        elif a == "confirmed" and not confirmed:
            confirmed = True
        elif confirmed and minutes is None and not a.startswith("-"):
            minutes = safety.minutes_of(a)
        else:
            raise CommandError(f"commit: unexpected argument {a}")
    rids, mode = scope(s)
    rids = s.ws.with_renames(rids)      # a rename commits with the pointers it moved
    counts: dict[str, list[int]] = {}
    same: set[str] = set()
    for rid in rids:                           # modified, but set back to the stored values:
        st = s.ws.staged.get(rid)              # committed as cmsh would, with nothing to store
        if st is not None and s.ws.state(rid) is not None and not s.ws.differs(rid):
            counts.setdefault(st.mode, [0, 0])[1] += 1
            same.add(rid)
    armed = safety.arm(s, minutes or safety.DEFAULT_MINUTES, rids) if confirmed else None
    try:     # (compared just now: the committer need not again, unless arming staged something)
        done = s.committer.commit(rids, comment=comment, same=None if confirmed else same)
    except CommitRefused as e:
        if armed:
            safety.disarm(s, armed[0])
        print_problems(s, e.problems)
        raise Failed() from None
    except StoreError as e:
        if armed:
            safety.disarm(s, armed[0])
        raise CommandError(str(e)) from None
    if armed:
        safety.armed(s, *armed, done)
    else:
        safety.confirm_own(s)
    if s.path and s.path[0].key is not None:
        return          # object level: silent, as cmsh
    for ch in done.changes if done else ():
        c = counts.setdefault(ch.mode, [0, 0])
        c[0 if ch.after is None else 1] += 1
    modes = [mode] + sorted(set(counts) - {mode}) if mode else sorted(counts)
    if mode and s.schema.mode(mode).quiet_commit:      # cmsh's kubernetes mode says nothing
        return
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
    rids, _ = scope(s)
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
    validated(s)
    s.write("All good")
