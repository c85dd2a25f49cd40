"""`commit confirmed` in the interactive shell: the prompt shows the pending confirmation, the
rollback reaches the still open shell as an event, and a shell whose terminal is hung up is
rolled back all the same (docs/safety.md)."""
from __future__ import annotations

import re
import time

import pytest

pytest.importorskip("pexpect")
from conftest import journal_user  # noqa: E402
from tests.repl.test_terminal import Term  # noqa: E402

from cmshell.safety import confirm  # noqa: E402
from cmshell.store import open_store  # noqa: E402


def settled(db, timeout: float = 20) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        with open_store(db) as store:
            if confirm.pending(store) is None:
                return
        time.sleep(0.2)
    raise AssertionError("the confirmation is still pending")


def test_prompt_and_rollback_event_in_an_open_shell(cm, db):
    t = Term(cm)
    t.expect("[basecm10]%")
    t.line("device use node001; set notes hi; home; commit confirmed 0.05")
    t.expect("Commit 2 will be rolled back at")
    t.expect("[basecm10(confirm ")               # the prompt says it (e.g. `(confirm 2s)`)
    # nobody confirms: the watcher's rollback commit reaches this shell as an event
    me = journal_user()
    t.expect(f'by {me} "automatic rollback: commit 2 by {me} not confirmed within 3 seconds"', timeout=20)
    t.line("device get node001 notes; journal -n 2")
    t.expect("not confirmed: rolled back by 3")
    t.line("quit")
    assert t.eof() == 0


def test_a_hung_up_terminal_is_rolled_back(cm, db):
    t = Term(cm)
    t.expect("[basecm10]%")
    t.line("device use node001; set notes gone; home; commit confirmed 0.05")
    t.expect("will be rolled back at")
    t.child.close(force=True)                     # SIGHUP, then SIGKILL: the terminal is lost
    settled(db)
    res = cm("-c", "device get node001 notes; journal -n 1")
    assert res.stdout.splitlines()[0] == ""
    assert re.search(rf"automatic rollback: commit 2 by {re.escape(journal_user())} not confirmed within 3 seconds",
                     res.stdout)
