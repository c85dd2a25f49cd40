"""Hardening (issue 12): bad input that must never be stored or run, write skew between
sessions, rollback through identity, names and values that cmsh would refuse."""
from __future__ import annotations

import sqlite3

import pytest

from scenarios import assert_refused, foreign_sqlite

from conftest import assert_clean, assert_ok, assert_one_error, snapshot


def _doc(db, mode, name) -> dict:
    import json
    conn = sqlite3.connect(str(db))
    try:
        row = conn.execute("SELECT doc FROM objects WHERE mode=? AND name=?", (mode, name)).fetchone()
    finally:
        conn.close()
    return json.loads(row[0]) if row else None


# -- 1. invalid UTF-8 is never stored; --dump never fails -----------------------------------------
def test_invalid_utf8_in_c_runs_nothing(cm, db):
    before = snapshot(db)
    res = cm("-c", "device use node001; set notes a\udcffb; commit")
    assert_one_error(res)
    assert "0xFF" in res.stderr and "UTF-8" in res.stderr
    assert snapshot(db) == before


def test_invalid_utf8_on_stdin_is_refused_and_the_rest_runs(cm, db):
    before = snapshot(db)
    res = cm(input="device use node001\nset notes x\udcfey\nset notes fine\ncommit\n")
    assert_clean(res)
    assert res.returncode == 1
    assert res.err_lines == ["Invalid input, the line was not run: byte 0xFE at column 12 is not UTF-8"]
    assert _doc(db, "device", "node001")["notes"] == "fine"
    assert snapshot(db) != before


def test_invalid_utf8_bytes_from_a_real_process(cm, db):
    """The bytes as the OS hands them over: argv and a pipe (surrogateescape)."""
    before = snapshot(db)
    res = cm.process("-c", "device use node001; set notes \udcff; commit")
    assert_one_error(res)
    import subprocess
    proc = subprocess.run(cm.argv(), input=b"device use node002\nset notes \xff\xfe\ncommit\n",
                          capture_output=True, cwd=cm.cwd, env=cm.env())
    assert b"Traceback" not in proc.stderr and proc.returncode == 1, proc.stderr
    assert b"not UTF-8" in proc.stderr
    assert snapshot(db) == before


def test_commit_validation_refuses_undecodable_text_whatever_its_way_in():
    """The last guard, below the shell: validation before every commit."""
    from cmshell.model import validate
    from cmshell.model.schema import load_schema
    schema = load_schema()
    doc = {"name": "c", "notes": "a\udcffb", "extra": {"k\udcfe": "v"}}
    probs = validate.check(schema, schema.mode("category"), doc, lambda m, n: True)
    assert {(p.code, p.field) for p in probs} == {(validate.INVALID, "notes"), (validate.INVALID, "extra"),
                                                  (validate.INVALID, "extra.k\\xfe")}
    assert "'a\\\\xffb': byte 0xFF at column 2 is not UTF-8" in [p.message for p in probs]


def test_dump_of_a_store_holding_undecodable_text_does_not_fail(cm, db):
    """A store written before the check (the value is valid JSON: `\\udcff`)."""
    conn = sqlite3.connect(str(db))
    doc = conn.execute("SELECT doc FROM objects WHERE mode='device' AND name='node001'").fetchone()[0]
    conn.execute("UPDATE objects SET doc=? WHERE mode='device' AND name='node001'",
                 (doc[:-1] + ',"notes":"a\\udcffb"}',))
    conn.commit()
    conn.close()
    for res in (cm("--dump", "--with-secrets"), cm.process("--dump", "--with-secrets")):
        assert_clean(res)
        assert res.returncode == 0
        assert "  notes: a\\xffb" in res.stdout.splitlines()
        assert res.err_lines == ["Warning: 1 values in the store are not UTF-8 text; "
                                 "they were dumped with \\x escapes"]


# -- 2. write skew: pointers are checked inside the commit's transaction -------------------------
def _two_sessions(db, shared_cache):
    from conftest import session_on
    from cmshell.store import open_store
    return [session_on(open_store(db), shared_cache) for _ in range(2)]


def _ok(s, line):
    assert s.run_line(line), s.err.getvalue()


def test_write_skew_pointer_committed_after_its_target_was_removed(cm, db, shared_cache):
    assert_ok(cm("-c", "category; add spare; commit"))
    a, b = _two_sessions(db, shared_cache)
    _ok(b, "category; list; device use node001")            # b has seen category spare
    _ok(a, "category; remove spare; commit")
    _ok(b, "set category spare")
    assert not b.run_line("commit")
    assert b.err.getvalue().splitlines()[-1] == (
        "Commit refused: device node001 points at category spare, which no longer exists (another "
        "session removed or renamed it); refresh and try again")
    assert _doc(db, "device", "node001")["category"] == "default"


def test_write_skew_target_removed_after_a_pointer_to_it_was_committed(cm, db, shared_cache):
    assert_ok(cm("-c", "category; add spare; commit"))
    a, b = _two_sessions(db, shared_cache)
    _ok(a, "device; list; category; list; remove spare")     # nothing uses spare in a's view
    _ok(b, "device use node001; set category spare; commit")
    assert not a.run_line("commit")
    assert a.err.getvalue().splitlines()[-1] == (
        "Commit refused: category spare is used by device node001; refresh and try again")
    assert _doc(db, "category", "spare") is not None


def test_renaming_away_a_name_in_use_is_refused_like_a_removal(cm, db):
    """`set name` (not `rename`, which moves the pointers) would leave nodes pointing nowhere."""
    assert_refused(cm, db, "category use gpu-nodes; set name g2; commit",
                   "Category gpu-nodes is used by Device gpu001")
    assert_ok(cm("-c", "category; swap default gpu-nodes; commit"))       # both names stay taken
    assert_ok(cm("-c", "category; rename gpu-nodes g2; commit"))
    assert _doc(db, "device", "gpu001")["category"] == "g2"


# -- 3. rollback works through identity ------------------------------------------------------
def _ids(db, mode):
    conn = sqlite3.connect(str(db))
    try:
        return dict(conn.execute("SELECT name, id FROM objects WHERE mode=?", (mode,)))
    finally:
        conn.close()


def _last_commit(db) -> int:
    conn = sqlite3.connect(str(db))
    try:
        return conn.execute("SELECT max(seq) FROM journal").fetchone()[0]
    finally:
        conn.close()


def test_rollback_when_another_object_took_a_referenced_name(cm, db):
    """node001 is renamed away (the overlays follow), a new node001 is added and put in an
    overlay; rolling back removes the new node001, which the overlays name again — by then for
    the old node001, which gets its name back in the same commit."""
    start, before, ids = _last_commit(db), snapshot(db), _ids(db, "device")
    assert_ok(cm("-c", "device; rename node001 n1; commit"))
    assert_ok(cm("-c", "device; add physicalnode node001; commit"))
    assert_ok(cm("-c", "configurationoverlay use kube-default-worker; append nodes node001; commit"))
    assert_ok(cm("-c", "device; swap node002 node003; commit"))
    res = cm("-c", f"rollback {start}; commit")
    assert_ok(res)
    assert _ids(db, "device") == ids
    assert [r[:3] for r in snapshot(db)[0]] == [r[:3] for r in before[0]]


def test_rollback_recreates_a_removed_object_under_its_own_id(cm, db):
    start, ids = _last_commit(db), _ids(db, "device")
    assert_ok(cm("-c", "device; remove gpu002; commit"))
    assert_ok(cm("-c", f"rollback {start}; commit"))
    assert _ids(db, "device") == ids
    # and a later rollback sees one object all along: nothing to remove and re-add
    mid = _last_commit(db)
    assert_ok(cm("-c", "device use gpu002; set notes x; commit"))
    res = cm("-c", f"rollback {mid}")
    assert_ok(res)
    assert "1 to modify." in res.stdout and "add" not in res.stdout


# -- 4. names, values and one-of-a-kind objects ---------------------------------------------------
BAD_NAMES = [("newline", "x\ny", "holds a newline"), ("nul", "x\x00y", "holds a NUL"),
             ("semicolon", "a;b", "holds ';'"), ("tab", "a\tb", "holds a tab"),
             ("escape", "a\x1bb", "holds the control character \\x1b"), ("pipe", "a|b", "holds '|'"),
             ("comma", "a,b", "holds ','"), ("dash", "-a", "starts with '-'")]


@pytest.mark.parametrize("name, bad, why", BAD_NAMES, ids=[b[0] for b in BAD_NAMES])
def test_bad_names_are_refused_by_add_clone_and_set(cm, db, name, bad, why):
    from cmshell.commands.scripting import quote
    before = snapshot(db)
    for cmd in (f"category; add {quote(bad)}", f"category; clone default {quote(bad)}",
                f"category use default; set name {quote(bad)}", f"device; add physicalnode {quote(bad)}",
                f"device use node001; services; add {quote(bad)}", f"kubernetes use default; set -e {quote(bad)} 1"):
        res = cm("-c", cmd + "; commit")
        assert_one_error(res)
        # a newline ends a line of -c (the quote is left open); a NUL is no input at all
        why = {"newline": "Unbalanced quotes", "nul": "a NUL character"}.get(name, why)
        assert why in res.stderr, str(res)
    assert snapshot(db) == before


@pytest.mark.parametrize("name, bad, why", BAD_NAMES, ids=[b[0] for b in BAD_NAMES])
def test_bad_names_are_refused_by_load(cm, tmp_path, name, bad, why):
    import yaml
    src = tmp_path / "bad.yaml"
    src.write_text(yaml.safe_dump({"category": [{"name": bad}]}))
    res = cm("--load", str(src), db=tmp_path / "new.db")
    assert_one_error(res)
    assert f"name: The name " in res.stderr and why in res.stderr, str(res)


LOAD_VALUES = {
    "number-for-text": ("category:\n- name: c\n  notes: 5\n", "notes must be text, not int 5 (quote it)"),
    "float-for-text": ("softwareimage:\n- name: i\n  kernelversion: 6.10\n", "kernelversion must be text, not float 6.1"),
    "boolean-name": ("category:\n- name: yes\n", "name must be text, not bool True"),
    "number-in-list": ("configurationoverlay:\n- name: o\n  nodes: [node001, 5]\n",
                       "nodes must be a list of text values, not int 5"),
    "number-in-extra": ("kubernetes:\n- name: k\n  extra: {x: 1}\n",
                        "extra must be a mapping of names to text values"),
    "two-roles-of-a-type": ("category:\n- name: c\n  roles:\n  - name: Docker::Host\n  - name: docker::host\n",
                            "The role docker::host is there twice (as Docker::Host)"),
    "two-rows-of-a-name": ("category:\n- name: c\n  services:\n  - service: sshd\n  - service: SSHD\n",
                           "The entry SSHD is there twice (as sshd)"),
    "second-head-node": ("device:\n- {hostname: h1, type: headnode}\n- {hostname: h2, type: headnode}\n",
                         "cannot be a second head node"),
}


@pytest.mark.parametrize("name", sorted(LOAD_VALUES))
def test_load_refuses_values_of_the_wrong_kind(cm, tmp_path, name):
    text, message = LOAD_VALUES[name]
    src = tmp_path / f"{name}.yaml"
    src.write_text(text)
    new = tmp_path / "new.db"
    res = cm("--load", str(src), db=new)
    assert_one_error(res)
    assert message in res.stderr, str(res)


def test_rename_refuses_names_that_are_no_node_list(cm, db):
    for bad, why in (("a;b", "holds ';'"), ("a#b", "holds '#'"), ("a|b", "holds '|'")):
        res = cm("-c", f'device; rename node001 "{bad}"')
        assert_one_error(res)
        assert why in res.stderr


def test_a_second_head_node_is_refused(cm, db):
    before = snapshot(db)
    res = cm("-c", "device; add headnode head2")
    assert_one_error(res)
    assert res.err_lines == ["add: basecm10 is the head node; a cluster has one"]
    assert snapshot(db) == before
    # a role of one type twice under two of its names: refused at assign
    res = cm("-c", "device use node001; roles; assign etcdhost; assign Etcd::Host")
    assert_one_error(res)
    assert "already assigned" in res.stderr


# -- 5. odd input that used to end a session or print oddly ---------------------------------------
@pytest.mark.parametrize("line", ["device; list > a\x00b", "device; list >> \x00", "device; list | cat\x00",
                                  "!echo a\x00b", "device use node001; set notes a\x00b"])
def test_nul_anywhere_in_a_line_is_one_error(cm, db, tmp_path, line):
    before = snapshot(db)
    for res in (cm("-c", line), cm(input=line + "\ndevice; get node001 ip\n")):
        assert_clean(res)
        assert res.returncode == 1
        assert len(res.err_lines) == 1 and "a NUL character at column" in res.stderr, str(res)
    assert res.stdout.splitlines()[-1] == "10.141.0.1"       # the session went on
    assert snapshot(db) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cluster.db", "home"]


def test_the_os_refusing_a_redirection_or_pipe_is_one_error(cm, tmp_path, monkeypatch):
    from cmshell.shell import osshell

    def refuse(*args, **kwargs):
        raise ValueError("embedded null byte")
    monkeypatch.setattr(osshell.subprocess, "run", refuse)
    res = cm("-c", "device; list | cat; device; get node001 ip")
    assert_clean(res)
    assert res.err_lines == ["Cannot run list | cat: embedded null byte"]
    assert res.stdout == "10.141.0.1\n"


def test_newlines_in_c_separate_commands(cm):
    res = cm("-c", "device use node001\nget ip\n\nget mac; home")
    assert_ok(res)
    assert res.stdout == "10.141.0.1\nFA:16:3E:E4:8D:8C\n"
    res = cm("-c", 'device use node001\nset notes "open\ncommit')       # a quote ends with its line
    assert_one_error(res)
    assert res.err_lines == ["Unbalanced quotes"] and res.stdout == ""


def test_unpadded_columns_have_a_rule_under_their_header(cm):
    res = cm("-c", "device; list -f hostname:0,ip:0")
    assert_ok(res)
    assert res.stdout.splitlines()[:3] == ["hostname (key) ip", "-------------- --", "basecm10 10.141.255.254"]


@pytest.mark.parametrize("line, message", [
    ("journal -n 99999999999999999999999", None),
    ("journal show 99999999999999999999999", "Not a commit number: 99999999999999999999999; 'journal' lists them"),
    ("rollback 99999999999999999999999", "Not a commit number: 99999999999999999999999; 'journal' lists them"),
    ("device; list -f hostname:99999999999999999999",
     "Invalid format field: hostname:99999999999999999999 (widths go up to 4096)"),
    ("device; rename node001 %.999999999d", "rename: invalid format %.999999999d (widths go up to 99)"),
    ("alias q list; unalias q q; alias q", "No alias named q; 'alias' lists them"),
])
def test_huge_numbers_and_repeated_words(cm, line, message):
    res = cm("-c", line)
    if message is None:
        assert_ok(res)
    else:
        assert_one_error(res)
        assert res.err_lines == [message]


# -- 6. store integrity -------------------------------------------------------------------------
def _damage_pages(db, first=3, last=8):
    """Overwrite pages `first`..`last` (of 4 KiB) with garbage: the sort of damage a bad disk,
    a bad copy or a stray write leaves."""
    data = bytearray(db.read_bytes())
    for i in range(4096 * (first - 1), min(len(data), 4096 * last)):
        data[i] = 0x41
    db.write_bytes(bytes(data))


def _damage_a_data_page(db):
    """Damage the first page whose loss leaves the store openable but its documents unreadable
    (found on a scratch copy: the layout of the file is SQLite's business)."""
    import shutil
    scratch = db.with_name("scratch.db")
    for page in range(2, db.stat().st_size // 4096 + 1):
        shutil.copyfile(db, scratch)
        _damage_pages(scratch, page, page)
        conn = sqlite3.connect(str(scratch))
        try:
            conn.execute("SELECT name FROM sqlite_master").fetchall()
            conn.execute("SELECT value FROM meta").fetchall()
            try:
                conn.execute("SELECT doc FROM objects WHERE mode='device'").fetchall()
                continue
            except sqlite3.DatabaseError:
                pass
        except sqlite3.DatabaseError:
            continue
        finally:
            conn.close()
            scratch.unlink()
        _damage_pages(db, page, page)
        return page
    raise AssertionError("no page to damage")


def _files(d):
    return sorted(p.name for p in d.iterdir() if p.name != "home")


def test_truncated_store_is_one_line_and_untouched(cm, db, tmp_path):
    data = db.read_bytes()
    db.write_bytes(data[: len(data) // 2])
    for res in (cm("-c", "device; list"), cm("--dump"), cm("--check")):
        assert_one_error(res)
        assert res.err_lines[0] == (f"Store {db} is damaged: the file is {len(data) // 2} bytes, it should "
                                    f"be {len(data)} bytes (truncated?); restore it from a dump (cmshell "
                                    "--db NEW.db --load BACKUP.yaml)")
    assert db.read_bytes() == data[: len(data) // 2]
    assert _files(tmp_path) == ["cluster.db"]


def test_damaged_small_store_is_found_at_start(cm, db):
    _damage_pages(db)
    res = cm("-c", "device; list")
    assert_one_error(res)
    assert res.err_lines[0].startswith(f"Store {db} is damaged (")
    assert res.err_lines[0].endswith("); restore it from a dump (cmshell --db NEW.db --load BACKUP.yaml)")
    assert "***" not in res.stderr


def test_damage_found_later_is_one_line_and_check_finds_it(cm, db, monkeypatch):
    """A store too big to check at every start: the damage shows when a command reads it."""
    from cmshell.store import sqlite
    monkeypatch.setattr(sqlite, "QUICK_CHECK_SIZE", 0)
    _damage_a_data_page(db)
    res = cm("-c", "device; list; device; get node001 ip")
    assert_clean(res)
    assert res.returncode == 1 and res.err_lines and "Internal error" not in res.stderr
    assert all(line.startswith(f"Store {db} is damaged (") for line in res.err_lines), str(res)
    res = cm("--dump")
    assert_one_error(res)
    assert "is damaged (" in res.stderr
    res = cm("--check")
    assert_clean(res)
    assert res.returncode == 1 and res.stdout == ""
    assert res.err_lines[-1] == "The store is damaged; restore it from a dump (cmshell --db NEW.db --load BACKUP.yaml)"
    assert res.err_lines[0].startswith(f"Store {db}: ")


def test_check_of_a_sound_store(cm, db):
    res = cm("--check")
    assert_ok(res)
    assert res.stdout == f"Store {db}: ok\n"


def test_foreign_sqlite_file_is_refused_before_anything_changes(cm, tmp_path):
    other = foreign_sqlite(tmp_path / "other.db")
    data = other.read_bytes()
    for args in (["-c", "device; list"], ["--load", str(tmp_path / "x.yaml")], ["--dump"]):
        res = cm(*args, db=other)
        assert_one_error(res)
        assert res.err_lines == [f"Cannot open store {other}: it is an SQLite database but not a cmsh store "
                                 "(it has table accounts); nothing in it was changed"]
    assert other.read_bytes() == data                   # not even switched to WAL
    assert _files(tmp_path) == ["cluster.db", "other.db"]


def test_failed_load_into_a_new_store_leaves_nothing_behind(cm, tmp_path):
    bad = tmp_path / "bad.yaml"
    for text in ("device: [\n  - {hostname: n1\n", "category:\n- name: c\n  notes: 5\n",
                 "device:\n- {hostname: n1, type: physicalnode, category: nosuch}\n"):
        bad.write_text(text)
        res = cm("--load", str(bad), db=tmp_path / "new.db")
        assert_one_error(res)
        assert _files(tmp_path) == ["bad.yaml", "cluster.db"], str(res)


def test_the_empty_store_check_of_load_is_inside_its_transaction(cm, db, monkeypatch):
    """Two loads at once: the second one's early check saw an empty store, but by its commit
    the first one has loaded; the commit itself refuses, so the two never merge."""
    from conftest import DEMO_YAML
    from cmshell.store.sqlite import SqliteStore
    before = snapshot(db)
    monkeypatch.setattr(SqliteStore, "is_empty", lambda self: True)
    res = cm("--load", str(DEMO_YAML))
    assert_one_error(res)
    assert res.err_lines == ["Commit refused: the store is not empty (another session has committed "
                             "into it meanwhile)"]
    assert snapshot(db) == before


# -- 7. a store is created only on purpose ------------------------------------------------------
def test_a_mistyped_db_path_is_an_error_that_names_it_and_creates_nothing(cm, tmp_path):
    for path in (tmp_path / "clsuter.db", tmp_path / "no" / "such" / "dir" / "cluster.db"):
        for args in (["-c", "device; list"], ["--dump"], [], ["--check"]):
            res = cm(*args, db=path)
            assert_one_error(res)
            assert res.err_lines == [f"No store at {path}; create one with --init (empty), --load FILE "
                                     "(a cluster file) or --demo"]
        res = cm("-c", "device; list", db=None, env={"CMSHELL_DB": str(path)})
        assert_one_error(res)
        assert str(path) in res.stderr
    assert _files(tmp_path) == ["cluster.db"]


def test_load_and_init_create_a_store_but_not_its_directories(cm, tmp_path):
    from conftest import DEMO_YAML
    deep = tmp_path / "no" / "such" / "cluster.db"
    for args in (["--load", str(DEMO_YAML)], ["--init"]):
        res = cm(*args, db=deep)
        assert_one_error(res)
        assert res.err_lines == [f"Cannot create store {deep}: there is no directory {deep.parent}"]
    assert _files(tmp_path) == ["cluster.db"]
    new = tmp_path / "new.db"
    assert_ok(cm("--init", db=new))
    assert_ok(cm("-c", "device; list; category; list", db=new))
    res = cm("--init", db=new)
    assert_one_error(res)
    assert res.err_lines == [f"--init: there is a store at {new} already"]


def test_plain_cmshell_on_a_new_machine_says_how_to_start(cm, home):
    res = cm(db=None)
    assert_clean(res)
    assert res.returncode == 1 and res.stdout == ""
    default = home / ".local" / "share" / "cmshell" / "cluster.db"
    assert res.err_lines == [
        f"No cluster store yet ({default}). Start with one of:",
        "  cmshell --demo                 the demo cluster (basecm10), in a temporary store",
        "  cmshell --load CLUSTER.yaml    a new store from a cluster file (see docs/schema.md)",
        "  cmshell --init                 a new, empty store"]
    assert not (home / ".local").exists()
    assert_ok(cm("--init", db=None))
    assert default.exists()
    assert_ok(cm("-c", "device; list", db=None))


# -- 8. files and arguments are data, never code -------------------------------------------------
def test_bookmark_file_holds_locations_and_runs_nothing(cm, db, tmp_path):
    before = snapshot(db)
    marks = tmp_path / "marks"
    pwned = tmp_path / "PWNED"
    for where in (f"home;!touch {pwned};", "home;device;use node001;set notes pwned;commit;",
                  f"home;device | sh -c 'touch {pwned}';", "home;device;use node001;roles;commit",
                  f"home;device > {pwned};"):
        marks.write_text(f"good\thome;device;use node002;\nbad\t{where}\n")
        res = cm("-c", f"bookmark -x {marks}; goto good; path")
        assert_clean(res)
        assert res.returncode == 1
        assert res.err_lines[0] == (f"bookmark -x {marks}: line 2 is not a location ({where!r}); "
                                    "nothing was loaded"), str(res)
        assert not pwned.exists()
    assert snapshot(db) == before
    # locations replay without any alias stepping in, submodes included
    marks.write_text("n\thome;category;use default;roles;use docker::host;\n")
    res = cm("-c", f'alias category "!touch {pwned}"; alias use "!touch {pwned}"; bookmark -x {marks}; '
                   "goto n; path")
    assert_ok(res)
    assert res.stdout == "home;category;use default;roles;use Docker::Host;\n"
    assert not pwned.exists()


def test_run_arguments_are_words_not_code(cm, db, tmp_path):
    before = snapshot(db)
    pwned = tmp_path / "PWNED"
    script = tmp_path / "s.cmsh"
    script.write_text('device use node001\nget $1\nset notes "note: $2"\n!echo $2\n!echo "$2" \'$2\'\n'
                      "list -f hostname:0 | grep $3\nget ${4-ip}\n")
    evil = f"x; touch {pwned}; echo 'q\"|!"
    res = cm("-c", f"run {script} notes {quote(evil)} {quote('node001; touch ' + str(pwned))} "
                   f"{quote('ip; home; device use node002; set notes pwned; commit')}")
    assert_clean(res)
    assert not pwned.exists()
    out = res.stdout.splitlines()
    assert out[0] == ""                                   # get notes
    assert out[1:3] == [evil, f"{evil} {evil}"]           # the text itself, three times
    assert "Unknown parameter" in res.stderr or "Usage" in res.stderr
    assert snapshot(db) == before                         # nothing was committed


def quote(word: str) -> str:
    from cmshell.commands.scripting import quote as q
    return q(word)


# -- 9. secrets -----------------------------------------------------------------------------------
HARBOR = ("device use basecm10; roles; use generic::harbor; environments; use db_password; "
          "set value S3cretHarbor; ..; use port; set value 9444; home; commit")


def test_dump_masks_secrets_unless_with_secrets(cm, db, tmp_path):
    import yaml
    assert_ok(cm("-c", HARBOR))
    res = cm("--dump")
    assert_clean(res)
    assert res.returncode == 0
    assert res.err_lines == ["Note: 4 secrets are masked (*****); --dump --with-secrets writes them, "
                             "for a backup that --load takes back"]
    assert "S3cretHarbor" not in res.stdout and "BEGIN CERTIFICATE" not in res.stdout
    kube = yaml.safe_load(res.stdout)["kubernetes"][0]
    assert (kube["kubeadmcertkey"], kube["kubecacert"], kube["kubecakey"]) == ("*****",) * 3
    clear = cm("--dump", "--with-secrets")
    assert_ok(clear)
    assert "S3cretHarbor" in clear.stdout and "BEGIN CERTIFICATE" in clear.stdout
    # the masked dump is refused by --load, naming the secret; the clear one round-trips
    masked, backup = tmp_path / "masked.yaml", tmp_path / "backup.yaml"
    masked.write_text(res.stdout)
    backup.write_text(clear.stdout)
    res = cm("--load", str(masked), db=tmp_path / "new.db")
    assert_one_error(res)
    assert res.err_lines == [f"{masked}: device basecm10: roles[generic::harbor].environments[db_password].value"
                             " is a masked secret (*****); load a dump made with --dump --with-secrets, or "
                             "set the real value in the file"]
    assert not (tmp_path / "new.db").exists()
    assert_ok(cm("--load", str(backup), db=tmp_path / "new.db"))
    assert cm("--dump", "--with-secrets", db=tmp_path / "new.db").stdout == clear.stdout
    res = cm("--with-secrets")
    assert res.returncode == 2 and "--with-secrets goes with --dump" in res.stderr


def test_secrets_stay_out_of_printed_diffs_and_the_journal(cm, db):
    assert_ok(cm("-c", HARBOR))
    res = cm("-c", "kubernetes use default; set kubeadmcertkey NewKey123; diff; commit; journal show 0; "
                   "device use basecm10; roles; use generic::harbor; environments; use db_password; "
                   "set value Other456; show; get value; list; home; diff")
    assert_clean(res)
    assert "NewKey123" not in res.stdout and "Other456" not in res.stdout and "S3cretHarbor" not in res.stdout
    n = _last_commit(db)
    for shown in (cm("-c", f"journal show {n}"), cm("-c", f"journal show {n - 1}")):
        assert_ok(shown)
        assert "NewKey123" not in shown.stdout and "S3cretHarbor" not in shown.stdout
        assert "*****" in shown.stdout


def test_secrets_stay_out_of_the_history_file(db, tmp_path, shared_cache):
    from conftest import session_on
    from cmshell.repl.history import prompt_history, scrub
    from cmshell.shell import history_file
    from cmshell.store import open_store
    s = session_on(open_store(db), shared_cache)
    path = str(tmp_path / "history")
    hist = prompt_history(path, scrub=lambda line: scrub(s, line))
    hist.append_string("kubernetes use default; set kubecakey TopSecret1; commit")
    hist.append_string("set default kubecacert TopSecret2 | cat")
    assert s.run_line(HARBOR.replace("; ..; use port; set value 9444; home; commit", ""))
    hist.append_string("set value TopSecret3")                      # inside the db_password row
    hist.append_string("..; set db_password value TopSecret4")
    hist.append_string("..; set port value 9444")                   # not a secret
    hist.append_string("kubernetes; foreach * (set kubecakey TopSecret5; set notes x)")
    lines = [line for _, line in history_file.read(path)]
    assert lines == ["kubernetes use default; set kubecakey *****; commit", "set default kubecacert ***** | cat",
                     "set value *****", "..; set db_password value *****", "..; set port value 9444",
                     "kubernetes; foreach * ( set kubecakey ***** ; set notes x )"]
    assert list(hist.get_strings()) == lines                        # the session's memory too


def test_secrets_stay_out_of_events(db, shared_cache):
    from conftest import session_on
    from cmshell.store import open_store
    s = session_on(open_store(db), shared_cache)
    assert s.run_line(HARBOR)
    ev = s.events.post("warning", "basecm10", "apply failed: harbor.yml: password S3cretHarbor refused")
    assert ev.text == "apply failed: harbor.yml: password ***** refused"
    s.close()


def test_a_store_others_may_read_is_made_private_with_a_warning(cm, db):
    import os
    import stat
    os.chmod(db, 0o644)
    res = cm("-c", "device; get node001 ip")
    assert_clean(res)
    assert res.err_lines == [f"Warning: store {db} was readable by others (mode 0644); it is now 0600"]
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
    assert_ok(cm("-c", "device; get node001 ip"))


# -- 10. the journal's user is the OS account; $USER is only a claim beside it -------------------
def test_journal_user_is_the_os_account_with_user_as_a_claim(cm, db):
    import pwd
    import os
    account = pwd.getpwuid(os.getuid()).pw_name
    for claim, recorded in (("mallory", f"{account} ($USER=mallory)"), (account, account),
                            ("x\ny", f"{account} ($USER=x?y)")):
        assert_ok(cm("-c", "device use node001; set notes x; commit; clear notes; commit", env={"USER": claim}))
        conn = sqlite3.connect(str(db))
        users = [r[0] for r in conn.execute("SELECT user FROM journal ORDER BY seq DESC LIMIT 2")]
        conn.close()
        assert users == [recorded, recorded]
    res = cm("-c", "device use node001; set notes y; commit", env={"USER": "", "LOGNAME": "lm"})
    assert_ok(res)
    assert cm("-c", f"journal show {_last_commit(db)}").stdout.startswith(
        f"Commit {_last_commit(db)} by {account} ($LOGNAME=lm) at ")


# -- 11. typed values, as cmsh checks them -------------------------------------------------------
TYPED = [
    ("device use node001; set ip 10.141.0.300", "Invalid value for ip: '10.141.0.300' (expected an IPv4 or IPv6 address, e.g. 10.141.0.1)"),
    ("device use node001; set ip garbage", "Invalid value for ip: 'garbage' (expected an IPv4 or IPv6 address, e.g. 10.141.0.1)"),
    ("device use node001; set mac 00:11:22:33:44", "Invalid value for mac: '00:11:22:33:44' (expected a MAC address, e.g. 00:11:22:33:44:55)"),
    ("device use node001; set mac 00:11:22-33:44:55", "Invalid value for mac: '00:11:22-33:44:55' (expected a MAC address, e.g. 00:11:22:33:44:55)"),
    ("device use node001; set hostname node_1", "Invalid value for hostname: 'node_1' (expected a host name of letters, digits and hyphens (RFC 1123), e.g. node001)"),
    ("device; add physicalnode -node", "Invalid name -node: it starts with '-', which node lists read as syntax"),
    ("device; add physicalnode node1- 10.141.0.99", "Invalid value for hostname: 'node1-' (expected a host name of letters, digits and hyphens (RFC 1123), e.g. node001)"),
    ("device; add physicalnode node100 10.141.0.1000", "Invalid value for ip: '10.141.0.1000' (expected an IPv4 or IPv6 address, e.g. 10.141.0.1)"),
    ("device; rename node001 node.x_y", "rename: invalid value for hostname: 'node.x_y' (expected a host name of letters, digits and hyphens (RFC 1123), e.g. node001)"),
    ("network use internalnet; set netmaskbits 33x", "Invalid value for netmaskbits: '33x' (expected an integer)"),
    ("network use internalnet; set netmaskbits 129", "Invalid value for netmaskbits: 129 (expected 0 to 128)"),
    ("network use internalnet; set mtu 10", "Invalid value for mtu: 10 (expected 0, not set, or an MTU of 68 to 65536 bytes)"),
    ("network use internalnet; set gateway 10.141.0", "Invalid value for gateway: '10.141.0' (expected an IPv4 or IPv6 address, e.g. 10.141.0.1)"),
    ("network use internalnet; set domainname -bad.cluster", "Invalid value for domainname: '-bad.cluster' (expected a domain name of letters, digits, hyphens and dots, e.g. eth.cluster)"),
    ("category use default; set nameservers 8.8.8.8,dns", "Invalid value for nameservers: 'dns' (expected an IPv4 or IPv6 address, e.g. 10.141.0.1)"),
    ("category use default; set defaultgateway 999.1.1.1", "Invalid value for defaultgateway: '999.1.1.1' (expected an IPv4 or IPv6 address, e.g. 10.141.0.1)"),
    ("kubernetes use default; set kubednsip ::zz", "Invalid value for kubednsip: '::zz' (expected an IPv4 or IPv6 address, e.g. 10.141.0.1)"),
    ("kubernetes use default; set kubernetesapiserverproxyport 70000", "Invalid value for kubernetesapiserverproxyport: 70000 (expected 1 to 65535)"),
    ("kubernetes use default; set podnetworknodemask 255.0.255.0", "Invalid value for podnetworknodemask: '255.0.255.0' (expected a prefix length or a netmask, e.g. 24 or 255.255.255.0)"),
    ("category use default; roles; use docker::host; set mtu 1", "Invalid value for mtu: 1 (expected 0, not set, or an MTU of 68 to 65536 bytes)"),
    ("category use default; roles; use docker::host; set bridgeip 10.0.0.1/40", "Invalid value for bridgeip: '10.0.0.1/40' (expected an address or a range of them, e.g. 10.141.0.0/16)"),
    ("etcd use kube-default; set electiontimeout 0", "Invalid value for electiontimeout: 0 (expected 1 or more)"),
]


@pytest.mark.parametrize("line, message", TYPED, ids=[t[0].split("; ")[-1] for t in TYPED])
def test_typed_values_are_checked_naming_field_and_value(cm, db, line, message):
    before = snapshot(db)
    res = cm("-c", line + "; commit")
    assert_one_error(res)
    assert res.err_lines == [message]
    assert snapshot(db) == before


def test_good_typed_values_and_their_stored_form(cm, db):
    assert_ok(cm("-c", "device use node001; set mac aa-bb-cc-dd-ee-0f; set ip fe80::1; commit; "
                       "network use internalnet; set mtu 9000; set netmaskbits 16; set domainname a-b.c0; "
                       "category use default; set nameservers 10.1.1.1,2001:db8::1; "
                       "kubernetes use default; set podnetworknodemask 24; set podnetworknodemask /24; "
                       "set podnetworknodemask 255.255.255.0; "
                       "category use default; roles; use docker::host; set mtu 0; set bridgeip 172.17.0.1/16; "
                       "home; commit"))
    assert _doc(db, "device", "node001")["mac"] == "AA:BB:CC:DD:EE:0F"       # as cmsh shows MACs


def test_load_checks_typed_values_too(cm, tmp_path):
    src = tmp_path / "bad.yaml"
    for text, message in (
            ("device:\n- {hostname: n1, type: physicalnode, ip: 10.1.1.256}\n",
             "device n1: Invalid value for ip: '10.1.1.256' (expected an IPv4 or IPv6 address"),
            ("device:\n- {hostname: n_1, type: physicalnode}\n", "Invalid value for hostname: 'n_1'"),
            ("network:\n- {name: n, mtu: 12}\n", "network n: Invalid value for mtu: 12"),
            ("category:\n- {name: c, nameservers: [1.1.1.1, x]}\n", "Invalid value for nameservers: 'x'")):
        src.write_text(text)
        res = cm("--load", str(src), db=tmp_path / "new.db")
        assert_one_error(res)
        assert message in res.stderr, str(res)


def test_commit_refuses_bad_values_that_come_another_way(cm, db):
    """foreach --clone makes names from a node list: the commit's validation has the last word."""
    assert_refused(cm, db, "device; foreach --clone node001 -n node_1 (); commit",
                   "Invalid value for hostname: 'node_1'")


# -- 16. the demo as the manual shows it, and small habits -----------------------------------------
def test_demo_has_what_the_manual_shows(cm):
    res = cm("-c", "kubernetes; appgroups; use system; applications; use calico; "
                   "show; excludelistsnippets; list -f name:0; "
                   "home; device use basecm10; roles; list; use docker::host; storagebackends; list -f name:0,type:0; "
                   "..; ..; use generic::docker_registry; environments; list -f name:0; ..; ..; "
                   "use generic::harbor; environments; list -f name:0; "
                   "home; configurationoverlay use kube-default-master; roles; use generic::containerd; "
                   "excludelistsnippets; list -f name:0")
    assert_ok(res)
    out = res.stdout
    assert "Config                           <244KiB>\n" in out
    assert "Exclude list snippets            <2 in submode>\n" in out
    assert "calico-cni\ncalico-lib\n" in out
    assert "Docker::Host\nKubernetes::ApiServerProxy\nfirewall\ngeneric::docker_registry\ngeneric::harbor\n" in out
    assert "devicemapper devicemapper\n" in out
    assert "alt_domains\ndomain\nport\nspool_dir\n" in out
    assert "alt_domains\ndb_password\ndomain\nexternal_network\nport\nredirect_port\nspool_dir\n" in out
    assert out.endswith("containerd\ncontainerd-config\n")


def test_options_rows_are_sorted(cm):
    res = cm("-c", "configurationoverlay use kube-default-master; roles; use kubelet; "
                   "options kube-scheduler.yaml set b=1; options kube-apiserver.yaml set zz=2; "
                   "options kube-apiserver.yaml set aa=3; options")
    assert_ok(res)
    rows = [line.split()[:3] for line in res.stdout.splitlines()[2:]]
    assert rows == sorted(rows)
    assert rows[0] == ["kube-apiserver.yaml", "kube-apiserver", "aa"] and rows[-1][0] == "kube-scheduler.yaml"


def test_kubernetes_remove_commits_without_extra_lines(cm, db):
    assert_ok(cm("-c", "kubernetes; add byoh; commit"))
    res = cm("--show-prompt", "-c", "kubernetes; remove byoh; commit")
    assert_ok(res)
    assert res.stdout == ("[basecm10]% kubernetes\n[basecm10->kubernetes]% remove byoh\n"
                          "[basecm10->kubernetes*]% commit\n")
    assert _doc(db, "kubernetes", "byoh") is None


@pytest.mark.parametrize("word", ["master", "MASTER", "Master"])
def test_device_use_master_in_any_case(cm, word):
    res = cm("-c", f"device use {word}; get hostname")
    assert_ok(res)
    assert res.stdout == "basecm10\n"


# -- 17. tabulate where it serves ---------------------------------------------------------------
def test_list_output_formats_for_documents_and_scripts(cm):
    assert_ok(cm("-c", 'device use node001; set notes "a, \\"b\\"|c"; commit'))
    base = "device; list -f hostname,notes,ip -s hostname --output "
    grid = cm("-c", base + "grid")
    assert_ok(grid)
    assert grid.stdout.splitlines()[:3] == [
        "+------------------+----------+----------------+",
        "| hostname (key)   | notes    | ip             |",
        "+==================+==========+================+"]
    assert "| node001          | a, \"b\"|c | 10.141.0.1     |" in grid.stdout.splitlines()
    md = cm("-c", base + "markdown").stdout.splitlines()
    assert md[:2] == ["| hostname (key)   | notes     | ip             |",
                      "|------------------|-----------|----------------|"]
    assert "| node001          | a, \"b\"\\|c | 10.141.0.1     |" in md
    csv_lines = cm("-c", base + "csv").stdout.splitlines()
    assert csv_lines[0] == "hostname,notes,ip" and 'node001,"a, ""b""|c",10.141.0.1' in csv_lines
    tsv_lines = cm("-c", base + "tsv").stdout.splitlines()
    assert tsv_lines[0] == "hostname\tnotes\tip" and "gpu001\t\t10.141.1.1" in tsv_lines
    rst = cm("-c", base + "rst").stdout.splitlines()
    assert rst[0].startswith("================  ") and rst[1].startswith("hostname (key)")
    res = cm("-c", "device; list --output xml")
    assert_one_error(res)
    assert res.err_lines == ["list: Unknown output format xml; formats: grid, markdown, rst, csv, tsv"]


def test_reports_of_cmshell_own_use_tabulate():
    from cmshell.output import formats
    assert formats.report(["Target", "Status", "Details"], [["node001", "changed", "wrote /etc/x"],
                                                          ["node002", "ok", ""]]) == [
        "Target    Status    Details",
        "--------  --------  ------------",
        "node001   changed   wrote /etc/x",
        "node002   ok"]


def test_every_declared_dependency_is_used():
    """A dependency that nothing imports is a defect (pyproject.toml's `dependencies`)."""
    import re
    import tomllib
    from conftest import ROOT
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    modules = {"pyyaml": "yaml"}
    source = "\n".join(p.read_text() for p in (ROOT / "cmshell").rglob("*.py"))
    for dep in deps:
        name = re.match(r"[A-Za-z0-9_.-]+", dep).group().lower()
        module = modules.get(name, name.replace("-", "_"))
        assert re.search(rf"^\s*(from|import) {module}\b", source, re.M), f"{dep} is never imported"


def test_alias_and_bookmark_names_hold_no_control_characters(cm):
    for line, message in (('alias "a\\tb" list', "Invalid alias name: 'a\\tb'"),
                          ('alias "a\x1bb" list', "Invalid alias name: 'a\\x1bb'"),
                          ('bookmark "x\\ty"', "Invalid bookmark name: 'x\\ty'")):
        res = cm("-c", line.replace("\\t", "\t"))
        assert_one_error(res)
        assert res.err_lines == [message]


def test_interface_values_are_typed_too(cm, db):
    before = snapshot(db)
    for line, message in (
            ("add physical eth7 10.141.0.300", "Invalid value for ip: '10.141.0.300' (expected an IPv4 or IPv6 address, e.g. 10.141.0.1)"),
            ("add vlan eth0.100; set vlanid 5000", "Invalid value for vlanid: 5000 (expected 0 to 4094)"),
            ("add physical eth7; set mac zz", "Invalid value for mac: 'zz' (expected a MAC address, e.g. 00:11:22:33:44:55)"),
            ("add bond bond0; set mode 9", "Invalid value for mode: 9 (expected 0 to 6)"),
            ("add physical eth7; set mtu 30", "Invalid value for mtu: 30 (expected 0, not set, or an MTU of 68 to 65536 bytes)")):
        res = cm("-q", "-c", f"device use node001; interfaces; {line}; commit")
        assert_one_error(res)
        assert res.err_lines == [message]
    assert snapshot(db) == before
    assert_ok(cm("-c", "device use node001; interfaces; add physical eth0:1 10.141.1.201; set mtu 9000; commit"))


def test_removefrom_takes_any_value_that_is_there_and_append_checks(cm, db):
    res = cm("-c", "category use default; append nameservers 0")
    assert_one_error(res)
    assert res.err_lines == ["Invalid value for nameservers: '0' (expected an IPv4 or IPv6 address, e.g. 10.141.0.1)"]
    res = cm("-c", "configurationoverlay use kube-default-worker; append nodes node[9-1]")
    assert_one_error(res)
    assert "Invalid value for nodes" in res.stderr
    res = cm("-c", "category use default; removefrom nameservers bogus")
    assert_one_error(res)
    assert res.err_lines == ["bogus is not in nameservers"]


def test_reports_leave_out_committed_and_staged_secrets(db, shared_cache):
    """`plan` prints file diffs, which may quote a password: they go through without_secrets."""
    from conftest import session_on
    from cmshell.store import open_store
    s = session_on(open_store(db), shared_cache)
    assert s.run_line(HARBOR)
    assert s.run_line("kubernetes use default; set kubeadmcertkey StagedKey42")     # not committed
    text = "+ db_password: S3cretHarbor\n+ certificateKey: StagedKey42\n+ port: 9444\n"
    assert s.without_secrets(text) == "+ db_password: *****\n+ certificateKey: *****\n+ port: 9444\n"
    s.close()
