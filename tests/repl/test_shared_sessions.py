"""Several sessions on one store, each in its own terminal: what one does reaches the others as
events — commits from the journal, and what the backends did (apply failed, outcome) through
Store.publish — on a store file (polled) and on PostgreSQL (LISTEN/NOTIFY), docs/postgresql.md."""
from __future__ import annotations

import re
import socket
import time

import pytest

pytest.importorskip("pexpect")
from conftest import assert_ok, journal_user  # noqa: E402
from tests.repl.test_terminal import Term, prompt  # noqa: E402


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, cm) -> str:
    """The demo cluster in a store file, or moved into a PostgreSQL database."""
    return str(cm.db) if request.param == "sqlite" else request.getfixturevalue("pg_demo")


def closed_port() -> int:
    """A loopback port nothing listens on (connections to it are refused at once)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def apply_config(tmp_path) -> str:
    """apply: auto with an SSH backend whose node001 is a closed loopback port: unreachable."""
    (tmp_path / "ssh_config").write_text(f"Host node001\n  HostName 127.0.0.1\n  Port {closed_port()}\n")
    (tmp_path / "known_hosts").write_text("")
    path = tmp_path / "apply.yaml"
    path.write_text(f"apply: auto\nssh:\n  ssh_config: {tmp_path / 'ssh_config'}\n"
                    f"  known_hosts: {tmp_path / 'known_hosts'}\n  connect_timeout: 2\n")
    return str(path)


def test_commits_reach_the_other_terminal_within_a_second(cm, store):
    a, b = Term(cm, db=store), Term(cm, db=store)
    a.expect(prompt(""))
    b.expect(prompt(""))
    b.settle()
    a.line("device use node001; set notes from-a; commit")
    a.expect("[notice] basecm10: Committed 1 Device (node001)")
    shown = time.monotonic()
    b.expect(f"Committed 1 Device (node001) by {journal_user()}", timeout=10)
    # measured from the moment `a` printed its own notice, which is after the commit landed;
    # the bound leaves room for a loaded machine (PostgreSQL wakes the watcher at once, a file
    # is looked at twice a second)
    assert time.monotonic() - shown < 3.0
    b.line("device get node001 notes")
    b.expect("from-a")
    for t in (a, b):
        t.line("quit")
        assert t.eof() == 0


def test_backend_events_reach_the_other_terminal(cm, store, tmp_path):
    """Session `a` commits with apply: auto and node001 unreachable; the warning its SSH backend
    posted and the commit's outcome show in terminal `b`, which applies nothing itself."""
    b = Term(cm, db=store)
    b.expect(prompt(""))
    b.settle()
    res = cm("--config", apply_config(tmp_path), "-c", "device use node001; set notes applied; commit", db=store)
    assert res.returncode == 3, str(res)              # stored, not applied everywhere
    assert "Configuration not applied" in res.stdout + res.stderr, str(res)
    b.expect("[warning] node001: Configuration not applied", timeout=10)
    b.expect(f"by {journal_user()}: applied 0/1, 1 unreachable", timeout=10)
    b.line("quit")
    assert b.eof() == 0


def test_a_server_restart_is_said_once_and_watching_goes_on(cm, pg_demo, pg_server):
    """The PostgreSQL server restarts under an open terminal: one warning, then the watcher
    connects again by itself and shows what was committed meanwhile; the session's own
    commands reconnect too."""
    t = Term(cm, db=pg_demo)
    t.expect(prompt(""))
    t.settle()
    pg_server.restart()
    t.expect("[warning] basecm10: Lost the connection to store postgresql://cmshell:****@", timeout=20)
    assert_ok(cm("-c", "device use node002; set notes after-restart; commit", db=pg_demo))
    notice, back = f"Committed 1 Device (node002) by {journal_user()}", "is back"
    t.expect(re.compile(re.escape(notice) + "|" + back), timeout=20)
    t.expect(back if t.matched == notice else notice, timeout=20)   # either order
    t.line("device get node002 notes")
    t.expect("\nafter-restart")                  # the session's own connection is back too
    assert t.text.count("Lost the connection") == 1 and "Stopped watching" not in t.text
    t.line("quit")
    assert t.eof() == 0
