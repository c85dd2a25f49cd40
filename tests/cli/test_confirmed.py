"""`commit confirmed` through the real entry point, without backends: the detached watcher rolls
the store back through the ordinary commit path unless `commit` confirms in time; other users'
commits are refused meanwhile; the prompt and `journal` show the pending confirmation."""
from __future__ import annotations

import re
import time

from conftest import assert_clean, assert_ok, journal_user

from cmshell.safety import confirm
from cmshell.store import open_store

ME = journal_user()      # the journal's user of these runs (USER=tester): the OS account with the claim

SHORT = "0.04"          # minutes: 2.4 seconds


def wait_for(predicate, timeout: float = 20.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        got = predicate()
        if got:
            return got
        time.sleep(0.2)
    raise AssertionError("timed out")


def notes(cm, node: str = "node001") -> str:
    res = cm("-c", f"device get {node} notes")
    assert_ok(res)
    return res.stdout.strip()


def journal(cm) -> list[str]:
    res = cm("-c", "journal")
    assert_ok(res)
    return res.stdout.splitlines()


def pending(db):
    with open_store(db) as store:
        return confirm.pending(store)


def test_not_confirmed_is_rolled_back_through_a_commit(cm, db):
    res = cm("-c", "device use node001; set notes hello; home; commit confirmed " + SHORT)
    assert_ok(res)
    assert re.match(r"Commit 2 will be rolled back at \d\d:\d\d:\d\d unless confirmed with 'commit' "
                    r"within 2.4 seconds$", res.stdout.splitlines()[0]), res.stdout
    assert notes(cm) == "hello"
    shown = cm("--show-prompt", "-c", "journal -n 1")
    assert re.match(r"\[basecm10\(confirm \ds\)\]% journal -n 1", shown.stdout), shown.stdout
    assert "awaiting confirmation until" in shown.stdout.splitlines()[-1]
    wait_for(lambda: pending(db) is None)
    assert notes(cm) == ""
    rows = journal(cm)
    assert "not confirmed: rolled back by 3" in rows[-2]
    assert f"automatic rollback: commit 2 by {ME} not confirmed within 2.4 seconds" in rows[-1]
    assert "device node001 modified" in rows[-1]
    res = cm("--show-prompt", "-c", "journal show 2")
    assert "Outcome: not confirmed: rolled back by 3" in res.stdout
    assert cm("--show-prompt", "-c", "home").stdout.startswith("[basecm10]% home")


def test_commit_confirms_in_time(cm, db):
    assert_ok(cm("-c", "device use node001; set notes kept; home; commit confirmed " + SHORT))
    res = cm("-c", "commit")              # nothing staged: confirms only
    assert_ok(res)
    assert res.stdout == "Commit 2 confirmed\n"
    assert pending(db) is None
    time.sleep(3.5)                       # past the deadline: nothing happens
    assert notes(cm) == "kept"
    rows = journal(cm)
    assert len(rows) == 4 and "confirmed" in rows[-1] and "not confirmed" not in rows[-1]


def test_other_users_are_refused_until_confirmed(cm, db):
    assert_ok(cm("-c", "device use node001; set notes mine; home; commit confirmed 1"))
    bob = {"USER": "bob", "LOGNAME": "bob"}
    res = cm("-c", "device use node002; set notes bob; commit", env=bob)
    assert_clean(res)
    assert res.returncode == 1
    me = re.escape(ME)
    assert re.fullmatch(rf"Commit refused: commit 2 by {me} awaits confirmation until \d\d:\d\d:\d\d "
                        rf"\(commit confirmed\); it is rolled back then unless {me} confirms it with "
                        r"'commit'\n", res.stderr), res.stderr
    res = cm("--show-prompt", "-c", "home", env=bob)
    assert re.match(rf"\[basecm10\({me}: confirm \d\ds\)\]%", res.stdout), res.stdout
    res = cm("-c", "device use node002; set notes bob; commit confirmed 1", env=bob)
    assert res.returncode == 1 and f"Commit refused: commit 2 by {ME}" in res.stderr
    res = cm("-c", "commit", env=bob)       # nothing staged: nothing to refuse, nothing confirmed
    assert_ok(res)
    assert pending(db) is not None
    # tester confirms by a commit of more changes, then bob may commit
    res = cm("-c", "device use node003; set notes more; home; commit")
    assert_ok(res)
    assert res.stdout.splitlines()[0] == "Commit 2 confirmed"
    assert_ok(cm("-c", "device use node002; set notes bob; commit", env=bob))
    assert notes(cm, "node002") == "bob"


def test_a_second_commit_confirmed_extends_and_both_roll_back(cm, db):
    assert_ok(cm("-c", "device use node001; set notes one; home; commit confirmed " + SHORT))
    first = pending(db)
    res = cm("-c", "device use node002; set notes two; home; commit confirmed " + SHORT)
    assert_ok(res)
    assert res.stdout.startswith("Commit 2, 3 will be rolled back at")
    second = pending(db)
    assert second.token == first.token and second.deadline > first.deadline and second.base == 1
    wait_for(lambda: pending(db) is None)
    assert notes(cm, "node001") == "" and notes(cm, "node002") == ""
    assert f"automatic rollback: commits 2, 3 by {ME}" in journal(cm)[-1]


def test_refused_confirmed_commit_leaves_nothing_pending(cm, db):
    res = cm("-c", "device use node001; set category nosuch; home; commit confirmed 1")
    assert res.returncode == 1
    assert pending(db) is None
    res = cm("-c", "commit confirmed 1")
    assert res.returncode == 1 and res.stderr == "commit confirmed: nothing to commit\n"
    res = cm("-c", "device use node001; set notes x; home; commit confirmed 0")
    assert res.returncode == 1 and "minutes must be more than 0" in res.stderr
    assert pending(db) is None


def test_a_lost_watcher_is_replaced_and_the_rollback_still_happens(cm, db):
    """The head node rebooted: the marker is past its deadline and no watcher runs; the next
    session that meets it starts one."""
    assert_ok(cm("-c", "device use node001; set notes orphan; commit"))
    with open_store(db) as store:
        confirm.put(store, confirm.Pending(base=1, user=ME, deadline=time.time() - confirm.GRACE - 5,
                                           minutes=1, token=confirm.new_token(), commits=[2]))
    res = cm("-c", "device use node002; set notes bob; commit", env={"USER": "bob", "LOGNAME": "bob"})
    assert res.returncode == 1 and "Commit refused" in res.stderr
    wait_for(lambda: pending(db) is None)
    assert notes(cm) == ""
    assert f"automatic rollback: commit 2 by {ME} not confirmed within 1 minute" in journal(cm)[-1]


def test_commit_check_confirms_as_in_junos(cm, db):
    assert_ok(cm("-c", "device use node001; set notes checked; home; commit confirmed 1"))
    res = cm("-c", "commit check")
    assert_ok(res)
    assert res.stdout.splitlines() == ["Commit 2 confirmed",
                                       "Configuration check succeeds (applying is off: nothing to plan)"]
    assert pending(db) is None
