"""What the tests of tests/cli share: `transcript` replays a session typed after its prompts and
compares it whole; `store`, `notes` and `journal_length` read the store behind it; the constants
and `foreign_sqlite` are set-ups that several tests start from; `assert_errors` and
`assert_refused` check failures the way the user sees them."""
from __future__ import annotations

import difflib
import re
import sqlite3
import textwrap

from conftest import assert_clean, snapshot

PROMPT = re.compile(r"^(\[basecm10(?:->.*?)?\]%)(?: (.*))?$")

# Docker::Host of category default with iptables off, committed: the prompt after it is
# `[basecm10->category[default]->roles[Docker::Host]]%`
IPTABLES_OFF_IN_DEFAULT = """
    [basecm10]% category use default
    [basecm10->category[default]]% roles
    [basecm10->category[default]->roles]% use docker::host
    [basecm10->category[default]->roles[Docker::Host]]% set iptables no
    [basecm10->category*[default*]->roles*[Docker::Host*]]% commit
    """


def transcript(cm, tmp_path, *parts: str, errors: list[str] | None = None):
    """Run the commands typed after the prompts of the session (-f, --show-prompt) and check that
    it prints exactly the session, and exactly `errors` on stderr. The session is `parts` one
    after the other (a set-up, then the test's own lines), each indented as it likes."""
    text = "".join(textwrap.dedent(part).lstrip("\n") for part in parts)
    commands = [m.group(2) or "" for m in map(PROMPT.match, text.splitlines()) if m]
    script = tmp_path / "session.cmsh"
    script.write_text("\n".join(commands) + "\n")
    res = cm("--show-prompt", "-f", str(script))
    assert_clean(res)
    diff = "".join(difflib.unified_diff(text.splitlines(True), res.stdout.splitlines(True),
                                        "expected", "cmshell"))
    assert res.stdout == text, diff + "\n--- stderr ---\n" + res.stderr
    assert res.err_lines == (errors or []), str(res)
    assert res.returncode == (1 if errors else 0), str(res)
    return res


def store(db, sql, *args):
    """The rows of `sql` on the store file `db`."""
    conn = sqlite3.connect(str(db))
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def journal_length(db) -> int:
    return store(db, "SELECT count(*) FROM journal")[0][0]


def notes(db) -> dict:
    """The devices' notes that are set, by device name."""
    rows = store(db, "SELECT name, json_extract(doc, '$.notes') FROM objects WHERE mode='device'")
    return {n: v for n, v in rows if v}


def foreign_sqlite(path):
    """An SQLite database that is not a cmshell store (a table of accounts), at `path`."""
    conn = sqlite3.connect(str(path))
    conn.execute("CREATE TABLE accounts(id INTEGER PRIMARY KEY, owner TEXT)")
    conn.execute("INSERT INTO accounts(owner) VALUES('alice')")
    conn.commit()
    conn.close()
    return path


def assert_errors(cm, cases) -> None:
    """Each (command line, message) of `cases`, run alone with -c, fails with status 1 and says
    exactly that one line on stderr."""
    for line, msg in cases:
        res = cm("-c", line)
        assert_clean(res)
        assert res.returncode == 1 and res.err_lines == [msg], str(res)


def assert_refused(cm, db, line: str, message: str):
    """`cmshell -c line` fails (status 1, `message` in what it says) and changes nothing in `db`."""
    before = snapshot(db)
    res = cm("-c", line)
    assert_clean(res)
    assert res.returncode == 1, str(res)
    assert message in res.stderr, str(res)
    assert snapshot(db) == before
    return res
