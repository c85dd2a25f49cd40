"""Two real cmshell processes editing the same store: optimistic concurrency through the CLI.

The overlap is made deterministic by driving a long-lived stdin session (process A) line by
line: A reads node001, then B commits a change to node001 from the same revision, then A
commits. Exactly one commit wins; the loser gets one line naming the conflict, exit 1, and
no update is lost."""
from __future__ import annotations

import json
import queue
import sqlite3
import threading

import pytest

from conftest import assert_clean, assert_ok, journal_user, snapshot


class Live:
    """A cmshell process fed on stdin one line at a time (batch mode echoes every line)."""

    def __init__(self, cm, *args, user: str):
        self.proc = cm.popen(*args, env={"USER": user})
        self.lines: queue.Queue = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self):
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def send(self, line: str) -> None:
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def expect(self, wanted: str, timeout: float = 20) -> None:
        """Wait until the process has printed the line `wanted` (its output, not an echo)."""
        while True:
            try:
                got = self.lines.get(timeout=timeout)
            except queue.Empty:
                raise AssertionError(f"timed out waiting for {wanted!r}; seen {self.seen!r}") from None
            if got is None:
                raise AssertionError(f"process ended before {wanted!r}; seen {self.seen!r}")
            self.seen.append(got)
            if got == wanted:
                return

    def close(self) -> None:
        """Kill the process if it still runs, and release its pipes (idempotent)."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=30)
        if not self.proc.stdout.closed:
            while self.lines.get(timeout=30) is not None:    # let the reader thread finish
                pass
        for f in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            try:
                f.close()
            except (OSError, ValueError):
                pass

    def finish(self, timeout: float = 30) -> tuple[int, list[str], str]:
        self.proc.stdin.close()
        rc = self.proc.wait(timeout=timeout)
        rest = []
        while (got := self.lines.get(timeout=timeout)) is not None:
            rest.append(got)
        err = self.proc.stderr.read()
        self.proc.stderr.close()
        self.proc.stdout.close()
        return rc, self.seen + rest, err


def node(db, name="node001") -> tuple[int, dict]:
    conn = sqlite3.connect(str(db))
    try:
        rev, doc = conn.execute("SELECT revision, doc FROM objects WHERE mode='device' AND name=?",
                                (name,)).fetchone()
    finally:
        conn.close()
    return rev, json.loads(doc)


def journal(db) -> list[tuple]:
    conn = sqlite3.connect(str(db))
    try:
        return conn.execute("SELECT seq, user, summary FROM journal ORDER BY seq").fetchall()
    finally:
        conn.close()


def overlap(cm, alice: str, shows: str, bob: str, *then: str, then_shows: str | None = None):
    """alice runs `alice` in a live session and waits until it prints `shows`; bob then commits
    with `bob` in a run of his own, which must succeed; alice goes on with the lines `then` (and
    waits for `then_shows`) and ends her session: her (exit status, output lines, stderr)."""
    a = Live(cm, user="alice")
    try:
        a.send(alice)
        a.expect(shows)
        assert_ok(cm("-c", bob, env={"USER": "bob"}))
        for line in then:
            a.send(line)
        if then_shows is not None:
            a.expect(then_shows)
        return a.finish()
    finally:
        a.close()


def test_second_commit_from_a_stale_revision_is_refused(cm, db):
    rev0, _ = node(db)
    n_journal = len(journal(db))

    a = Live(cm, user="alice")
    try:
        a.send("device use node001")
        a.send("get revision; get ip")          # A has now read node001 at rev0
        a.expect("10.141.0.1")
        a.send("set notes from-alice")
        a.send("get notes")
        a.expect("from-alice")

        b = cm("-c", "device use node001; set notes from-bob; set ip 10.141.9.9; commit", env={"USER": "bob"})
        assert_ok(b)                             # B started from rev0 too, and commits first
        assert node(db)[0] == rev0 + 1

        a.send("commit")
        a.send("get notes")                      # A's edit is still staged after the refusal
        a.send("modified")
        rc, out, err = a.finish()
    finally:
        a.close()

    assert "Traceback" not in err and "Traceback" not in "\n".join(out)
    assert rc == 1
    assert len(err.splitlines()) == 1, err
    assert "node001" in err and "another session" in err, err
    assert out.count("from-alice") == 2, out
    assert out[-1].split() == ["Device", "node001"]

    # bob's commit is intact, alice wrote nothing, one journal entry was added (bob's)
    rev, doc = node(db)
    assert rev == rev0 + 1
    assert doc["notes"] == "from-bob" and doc["ip"] == "10.141.9.9"
    entries = journal(db)
    assert len(entries) == n_journal + 1
    assert entries[-1][1] == journal_user("bob") and json.loads(entries[-1][2]) == [["device", "modified", 1, "node001", ["node001"]]]


def test_loser_refreshes_and_reapplies_without_losing_the_winner(cm, db):
    rev0, _ = node(db)
    rc, out, err = overlap(cm, "device use node001; set notes from-alice; get notes", "from-alice",
                           "device use node001; set ip 10.141.9.9; commit",
                           "commit",                                       # refused: stale
                           "refresh; set notes from-alice; commit; get ip",
                           then_shows="10.141.9.9")                        # A now sees B's change
    assert rc == 1 and len(err.splitlines()) == 1 and "another session" in err
    rev, doc = node(db)
    assert rev == rev0 + 2
    assert doc["ip"] == "10.141.9.9" and doc["notes"] == "from-alice"   # both updates kept
    assert [e[1] for e in journal(db)[-2:]] == [journal_user("bob"), journal_user("alice")]


@pytest.mark.parametrize("order", ["a-first", "b-first"])
def test_two_live_sessions_exactly_one_wins(cm, db, order):
    """Both sessions are live and have read node001; whichever commits second loses."""
    rev0, _ = node(db)
    before = snapshot(db)
    a = Live(cm, user="alice")
    b = Live(cm, user="bob")
    try:
        for s, who in ((a, "alice"), (b, "bob")):
            s.send(f"device use node001; set notes from-{who}; get notes")
            s.expect(f"from-{who}")
        first, second = (a, b) if order == "a-first" else (b, a)
        first.send("commit; get revision; set notes probe; get notes")
        first.expect("probe")                    # the first commit has completed
        second.send("commit")
        rc1, _, err1 = first.finish()
        rc2, out2, err2 = second.finish()
    finally:
        a.close()
        b.close()
    assert (rc1, err1) == (0, "")
    assert rc2 == 1 and len(err2.splitlines()) == 1 and "node001" in err2
    assert "Traceback" not in err1 + err2
    winner = "alice" if order == "a-first" else "bob"
    rev, doc = node(db)
    assert rev == rev0 + 1 and doc["notes"] == f"from-{winner}"
    assert len(journal(db)) == len(before[1]) + 1 and journal(db)[-1][1] == journal_user(winner)


def test_commits_to_different_objects_both_succeed(cm, db):
    rc, out, err = overlap(cm, "device use node001; set notes from-alice; get notes", "from-alice",
                           "device use node002; set notes from-bob; commit", "commit")
    assert (rc, err) == (0, "")
    assert node(db, "node001")[1]["notes"] == "from-alice"
    assert node(db, "node002")[1]["notes"] == "from-bob"


def test_concurrent_adds_of_the_same_name(cm, db):
    rc, out, err = overlap(cm, "device; add physicalnode node100 10.141.0.100; get ip", "10.141.0.100",
                           "device; add physicalnode node100 10.141.0.200; commit", "commit")
    assert rc == 1 and len(err.splitlines()) == 1 and "node100" in err and "Traceback" not in err
    assert node(db, "node100")[1]["ip"] == "10.141.0.200"


def test_readers_never_block_on_a_writer(cm, db):
    """A session holding uncommitted edits does not lock anybody out."""
    a = Live(cm, user="alice")
    try:
        a.send("device use node001; set notes pending; get notes")
        a.expect("pending")
        res = cm("-c", "device use node001; get notes; set notes other; commit; get notes")
        assert_clean(res)
        assert res.returncode == 0 and res.stdout == "\nother\n"
    finally:
        a.close()


def test_commit_in_a_mode_does_not_resurrect_stale_copies_of_other_objects(cm, db):
    """A lists devices (caching them), B changes node002, A commits node001 and then edits
    node002: A must start from B's version (B's ip kept), not from its stale cached copy."""
    rc, out, err = overlap(cm, "device; list; get node002 ip", "10.141.0.2",
                           "device use node002; set ip 10.141.9.9; commit",
                           "use node001; set notes a; commit; use node002; set notes a2; commit; get ip",
                           then_shows="10.141.9.9")
    assert (rc, err) == (0, "")
    doc = node(db, "node002")[1]
    assert doc["ip"] == "10.141.9.9" and doc["notes"] == "a2"


def test_stale_edit_of_a_listed_object_is_refused_not_applied(cm, db):
    """Without an intervening reload, editing a copy read before B's commit is a conflict."""
    rc, out, err = overlap(cm, "device; list; get node002 ip", "10.141.0.2",
                           "device use node002; set ip 10.141.9.9; commit", "use node002; set notes a2; commit")
    assert rc == 1 and len(err.splitlines()) == 1 and "node002" in err
    doc = node(db, "node002")[1]
    assert doc["ip"] == "10.141.9.9" and "notes" not in doc
