"""Bad input of every kind: exactly one line on stderr, exit status 1, no traceback, and
nothing lost (staged edits survive the failure, the store is untouched)."""
from __future__ import annotations

import os
import sqlite3

import pytest

from scenarios import foreign_sqlite

from conftest import DEMO_YAML, assert_clean, assert_ok, assert_one_error, snapshot

APP = "kubernetes use default; appgroups; use system; applications; use bootstrap"

# (id, commands run in one -c, a word the error line must contain)
BAD_COMMANDS = [
    ("unknown-command", "nosuchcommand", "nosuchcommand"),
    ("unknown-command-in-mode", "device; frobnicate node001", "frobnicate"),
    ("unknown-mode-word-args", "device nosuchcommand", "nosuchcommand"),
    ("unknown-object", "device; use nosuch", "nosuch"),
    ("unknown-object-in-get", "device; get nosuch ip", "nosuch"),
    ("unknown-object-in-submode", "kubernetes use default; appgroups; use nosuch", "nosuch"),
    ("unknown-parameter", "device use node001; set nosuch 1", "nosuch"),
    ("unknown-parameter-get", "device use node001; get nosuch", "nosuch"),
    ("unknown-parameter-category", "category use default; set nosuch x", "nosuch"),
    ("bad-boolean", "kubernetes use default; set external maybe", "maybe"),
    ("bad-integer", "kubernetes use default; set externalport abc", "abc"),
    ("bad-enum", APP + "; set format xml", "xml"),
    ("unbalanced-quote", 'device use node001; set notes "abc', "quote"),
    ("unbalanced-parenthesis", "device use node001; set notes (abc", "parenthes"),
    ("missing-set-arguments", "device use node001; set", "Usage"),
    ("missing-set-value", "device use node001; set notes", "notes"),
    ("missing-use-argument", "device; use", "Usage"),
    ("missing-get-argument", "device use node001; get", "Usage"),
    ("set-at-top", "set", "set"),
    ("use-at-top", "use", "use"),
    ("get-at-top", "get", "get"),
    ("set-no-object", "device; set", "object"),
    ("get-no-object", "device; get", "object"),
    ("blob-from-missing-file", APP + "; set config /no/such/file", "/no/such/file"),
    ("blob-from-directory", "kubernetes use default; set modulefiletemplate /", "/"),
    ("readonly", "device use node001; set type switch", "type"),
    ("list-bad-option", "device; list --bogus", "--bogus"),
    ("list-bad-field", "device; list -f nosuchfield", "nosuchfield"),
    ("commit-with-argument", "device; commit now", "now"),
    ("duplicate-add", "device; add physicalnode node001", "node001"),
    ("unknown-role", "device use node001; roles; assign nosuch::role", "nosuch::role"),
    ("missing-pipe-command", "device; list |", "|"),
]


@pytest.mark.parametrize("commands, word", [c[1:] for c in BAD_COMMANDS], ids=[c[0] for c in BAD_COMMANDS])
def test_bad_command_is_one_line_status_1_and_store_unchanged(cm, db, commands, word):
    before = snapshot(db)
    res = cm("-c", commands)
    assert_one_error(res)
    assert word.lower() in res.stderr.lower(), str(res)
    assert snapshot(db) == before


# bad commands that fail where node001 is selected, so the `get notes` after them still works
IN_PLACE = ["nosuchcommand", "set nosuch 1", "get nosuch", "set notes", "set", "get", "use nosuch",
            "set type switch", "list -f nosuchfield", "commit now", "set datanode maybe",
            "roles; assign nosuch::role; exit"]


@pytest.mark.parametrize("bad", IN_PLACE)
def test_staged_edit_survives_a_failing_command_in_c(cm, db, bad):
    before = snapshot(db)
    res = cm("-c", f"device use node001; set notes keep; {bad}; get notes; modified")
    assert_clean(res)
    assert res.returncode == 1
    assert len(res.err_lines) == 1, str(res)
    out = res.stdout.splitlines()
    assert out[0] == "keep", str(res)
    assert out[1].split() == ["State", "Type", "Name"]
    assert out[3].split() == ["Device", "node001"]
    assert snapshot(db) == before


# bad lines of any kind, in a session fed line by line; the prompt keeps its stars
ANY_LINE = [c[1] for c in BAD_COMMANDS if c[0] != "missing-pipe-command"]


@pytest.mark.parametrize("bad", ANY_LINE, ids=[c[0] for c in BAD_COMMANDS if c[0] != "missing-pipe-command"])
def test_staged_edit_survives_any_failing_line_on_stdin(cm, db, bad):
    before = snapshot(db)
    script = f"device use node001\nset notes keep\n{bad}\ndevice use node001\nget notes\nmodified\n"
    res = cm("--show-prompt", input=script)
    assert_clean(res)
    assert res.returncode == 1
    assert len(res.err_lines) == 1, str(res)
    lines = res.stdout.splitlines()
    assert "[basecm10->device*[node001*]]% get notes" in lines, str(res)
    assert lines[lines.index("[basecm10->device*[node001*]]% get notes") + 1] == "keep"
    assert lines[-1].split() == ["Device", "node001"]
    assert snapshot(db) == before


def test_unbalanced_quote_in_c_runs_nothing(cm, db):
    before = snapshot(db)
    res = cm("-c", 'device use node001; set notes keep; commit; set notes "oops')
    assert_one_error(res)
    assert res.stdout == ""
    assert snapshot(db) == before


# -- start-up failures ----------------------------------------------------------------------

def test_unreadable_f_file(cm, tmp_path, db):
    before = snapshot(db)
    for path in (tmp_path / "missing.cmsh", tmp_path):
        res = cm("-f", str(path))
        assert_one_error(res)
        assert str(path) in res.stderr
    if os.geteuid() != 0:      # root reads anything
        locked = tmp_path / "locked.cmsh"
        locked.write_text("device; list\n")
        locked.chmod(0)
        res = cm("-f", str(locked))
        assert_one_error(res)
    assert snapshot(db) == before


def test_binary_f_file(cm, tmp_path):
    bad = tmp_path / "binary.cmsh"
    bad.write_bytes(b"device\n\xff\xfe\x00garbage\n")
    res = cm("-f", str(bad))
    assert_one_error(res)
    assert res.stdout == ""


def test_binary_rc_file_is_reported_and_the_run_goes_on(cm, home):
    (home / ".cmshellrc").write_bytes(b"device\n\xff\xfe\n")
    res = cm("-c", "device; get node001 ip", norc=False)
    assert_clean(res)
    assert res.stdout == "10.141.0.1\n"
    assert len(res.err_lines) == 1 and ".cmshellrc" in res.stderr


def test_store_path_is_a_directory(cm, tmp_path):
    d = tmp_path / "adir"
    d.mkdir()
    res = cm("-c", "device; list", db=d)
    assert_one_error(res)
    assert str(d) in res.stderr
    assert list(d.iterdir()) == []


@pytest.mark.parametrize("content", [b"this is not a database, only text\n" * 20, b"\x00" * 100,
                                     b"SQLite format 3\x00" + b"\xff" * 4000])
def test_store_path_is_not_a_database(cm, tmp_path, content):
    bad = tmp_path / "notadb"
    bad.write_bytes(content)
    res = cm("-c", "device; list", db=bad)
    assert_one_error(res)
    assert res.stdout == ""
    assert bad.read_bytes() == content


def test_store_is_someone_elses_sqlite_database(cm, tmp_path):
    other = foreign_sqlite(tmp_path / "other.db")
    res = cm("-c", "device; list", db=other)
    assert_one_error(res)
    conn = sqlite3.connect(str(other))
    assert conn.execute("SELECT name FROM sqlite_master WHERE type='table'").fetchall() == [("accounts",)]
    conn.close()


def test_store_in_an_unwritable_place(cm, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    res = cm("-c", "device; list", db=blocker / "sub" / "cluster.db")
    assert_one_error(res)


LOADS = {
    "malformed": ("device: [\n  - {hostname: n1\n", "YAML"),
    "not-a-mapping": ("- just\n- a list\n", "mapping"),
    "unknown-mode": ("frobnicators:\n- name: x\n", "frobnicators"),
    "unknown-parameter": ("device:\n- hostname: n1\n  type: physicalnode\n  bogus: 1\n", "bogus"),
    "unknown-type": ("device:\n- hostname: n1\n  type: toaster\n", "toaster"),
    "missing-key": ("device:\n- type: physicalnode\n  ip: 10.0.0.1\n", "hostname"),
    "dangling-pointer": ("device:\n- hostname: n1\n  type: physicalnode\n  category: nosuchcat\n", "nosuchcat"),
    "not-utf8": ("device:\n- hostname: n\xff\n", "UTF-8"),
    "mode-not-a-list": ("device: 5\n", "list"),
    "object-not-a-mapping": ("device:\n- 5\n", "hostname"),
    "submode-not-a-list": ("category:\n- name: c\n  roles: 5\n", "roles"),
    "row-not-a-mapping": ("category:\n- name: c\n  roles:\n  - 5\n", "roles"),
    "role-name-not-a-string": ("category:\n- name: c\n  roles:\n  - {name: [1]}\n", "roles"),
    "type-not-a-string": ("device:\n- hostname: n1\n  type: [a]\n", "type"),
    "bad-boolean": ("category:\n- name: c\ndevice:\n- {hostname: n1, type: physicalnode, category: c,"
                    " datanode: maybe}\n", "maybe"),
    "bad-integer": ("etcd:\n- name: e\n  electiontimeout: twelve\n", "twelve"),
    "bad-enum": ("kubernetes:\n- name: k\n  appgroups:\n  - name: g\n    applications:\n"
                 "    - {name: a, format: xml}\n", "xml"),
    "mapping-for-a-string": ("category:\n- name: c\ndevice:\n- {hostname: n1, type: physicalnode,"
                             " category: c, notes: {a: 1}}\n", "notes"),
    "unknown-role": ("device:\n- hostname: n1\n  type: physicalnode\n  category: c\n  roles:\n"
                     "  - name: nosuch::role\ncategory:\n- name: c\n", "nosuch::role"),
}


@pytest.mark.parametrize("name", sorted(LOADS))
def test_load_of_a_bad_file_is_one_line_and_loads_nothing(cm, tmp_path, name):
    text, word = LOADS[name]
    src = tmp_path / f"{name}.yaml"
    src.write_bytes(text.encode("utf-8", "surrogateescape") if name != "not-utf8" else b"device:\n- hostname: n\xff\n")
    new = tmp_path / "new.db"
    res = cm("--load", str(src), db=new)
    assert_one_error(res)
    assert word.lower() in res.stderr.lower(), str(res)
    if new.exists():   # the store may have been created, but it holds nothing
        conn = sqlite3.connect(str(new))
        assert conn.execute("SELECT count(*) FROM objects").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM journal").fetchone() == (0,)
        conn.close()
        assert_ok(cm("--load", str(DEMO_YAML), db=new))       # and it still takes a good load


def test_load_of_a_missing_file(cm, tmp_path):
    res = cm("--load", str(tmp_path / "nosuch.yaml"), db=tmp_path / "new.db")
    assert_one_error(res)
    assert "nosuch.yaml" in res.stderr


def test_load_into_a_non_empty_store(cm, db):
    before = snapshot(db)
    res = cm("--load", str(DEMO_YAML))
    assert_one_error(res)
    assert "empty" in res.stderr
    assert snapshot(db) == before


def test_unknown_option_is_a_usage_error_without_traceback(cm):
    for args in (["--bogus"], ["-c"], ["--color", "sometimes"]):
        res = cm(*args)
        assert_clean(res)
        assert res.returncode == 2 and res.stdout == ""
        assert "usage:" in res.stderr
