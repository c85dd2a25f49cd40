"""The store through the CLI: --load / --dump round trip, file mode, journal, validation."""
from __future__ import annotations

import json
import os
import shutil
import sqlite3
import stat
import subprocess

import pytest
import yaml

from conftest import DEMO_YAML, ROOT, assert_clean, assert_ok, journal_user, snapshot

from cmshell.store import open_store

TOP_MODES = sorted(d["name"] for d in (yaml.safe_load(p.read_text()) for p in (ROOT / "modes").glob("*.yaml"))
                   if d.get("top"))


def list_all(cm, db) -> str:
    """`list` of every top-level mode, from one process."""
    res = cm("-x", "-c", "; ".join(f"{m}; list" for m in TOP_MODES), db=db)
    assert_ok(res)
    return res.stdout


def test_top_modes_found():
    assert {"device", "category", "network", "softwareimage", "kubernetes"} <= set(TOP_MODES)


def test_dump_load_dump_round_trip(cm, db, tmp_path):
    first = cm("--dump", "--with-secrets")
    assert_ok(first)
    data = yaml.safe_load(first.stdout)
    assert set(data) == set(yaml.safe_load(DEMO_YAML.read_text()))
    assert len(data["device"]) == 9

    dumped = tmp_path / "dump.yaml"
    dumped.write_text(first.stdout)
    second_db = tmp_path / "second.db"
    assert_ok(cm("--load", str(dumped), db=second_db))
    second = cm("--dump", "--with-secrets", db=second_db)
    assert_ok(second)
    assert second.stdout == first.stdout

    # the reloaded cluster looks the same in every mode
    assert list_all(cm, second_db) == list_all(cm, db)
    assert cm("-c", "device; show node001", db=second_db).stdout == cm("-c", "device; show node001").stdout


def test_dump_reflects_a_commit_and_round_trips(cm, tmp_path):
    assert_ok(cm("-c", 'device use node001; set notes "multi word"; commit; '
                       "category use default; roles; use docker::host; set iptables no; commit"))
    first = cm("--dump", "--with-secrets")
    assert_ok(first)
    node = next(d for d in yaml.safe_load(first.stdout)["device"] if d["hostname"] == "node001")
    assert node["notes"] == "multi word"
    (tmp_path / "d.yaml").write_text(first.stdout)
    assert_ok(cm("--load", str(tmp_path / "d.yaml"), db=tmp_path / "b.db"))
    assert cm("--dump", "--with-secrets", db=tmp_path / "b.db").stdout == first.stdout


@pytest.mark.parametrize("umask", [0o022, 0o000])
def test_new_store_file_is_mode_0600(cm, tmp_path, home, umask):
    new = tmp_path / f"new{umask}.db"
    old = os.umask(umask)          # inherited by the child
    try:
        assert_ok(cm("--load", str(DEMO_YAML), db=new))
        fresh = tmp_path / f"fresh{umask}.db"
        assert_ok(cm("--init", "-c", "device; list", db=fresh))
        assert_ok(cm("--init", db=None, env={"XDG_DATA_HOME": str(home / f"data{umask}")}))
    finally:
        os.umask(old)
    default = home / f"data{umask}" / "cmshell" / "cluster.db"
    for f in (new, fresh, default):
        assert stat.S_IMODE(f.stat().st_mode) == 0o600, oct(f.stat().st_mode)
    assert stat.S_IMODE(default.parent.stat().st_mode) & 0o077 == 0   # a directory it made is private


def test_default_store_lives_under_xdg_data_home(cm, home):
    res = cm("--load", str(DEMO_YAML), db=None)
    assert_ok(res)
    default = home / ".local" / "share" / "cmshell" / "cluster.db"
    assert stat.S_IMODE(default.stat().st_mode) == 0o600
    other = home / "elsewhere.db"
    assert_ok(cm("--load", str(DEMO_YAML), db=None, env={"CMSHELL_DB": str(other)}))
    assert other.exists()


def test_commit_is_journalled(cm, db):
    conn = sqlite3.connect(str(db))
    (n_before,) = conn.execute("SELECT count(*) FROM journal").fetchone()
    rev_before = conn.execute("SELECT revision FROM objects WHERE mode='device' AND name='node001'").fetchone()
    conn.close()

    res = cm("-c", "device use node001; set notes journalled; commit", env={"USER": "alice"})
    assert_ok(res)

    conn = sqlite3.connect(str(db))
    rows = conn.execute("SELECT seq, time, user, summary FROM journal ORDER BY seq").fetchall()
    (rev_after,) = conn.execute("SELECT revision FROM objects WHERE mode='device' AND name='node001'").fetchone()
    conn.close()
    assert len(rows) == n_before + 1
    seq, when, user, summary = rows[-1]
    assert user == journal_user("alice")        # the OS account; $USER only as a claim
    assert json.loads(summary) == [["device", "modified", 1, "node001", ["node001"]]]
    with open_store(db) as s:
        (change,) = s.journal_entry(seq).changes
    assert change.mode == "device" and change.name == "node001" and change.action == "modified"
    assert change.old.get("notes", "") == ""                  # only the field that changed
    assert change.new == {"notes": "journalled"}
    assert rev_after == rev_before[0] + 1


def test_nothing_to_commit_writes_no_journal(cm, db):
    before = snapshot(db)
    assert_ok(cm("-c", "device use node001; set notes x; set notes ''; clear notes; commit; device; commit"))
    assert snapshot(db) == before


def test_validation_failure_keeps_stars_and_store(cm, db):
    before = snapshot(db)
    res = cm("--show-prompt", "-c", "device use node001; clear category; commit; modified")
    assert_clean(res)
    assert res.returncode == 1
    err = res.stderr.splitlines()
    assert err[0].split() == ["Code", "Field", "Message"]
    assert set(err[1]) <= {"-", " "}
    assert any("category" in line and "The category should be set" in line for line in err[2:])
    out = res.stdout.splitlines()
    assert "[basecm10->device*[node001*]]% modified" in out     # stars kept after the failure
    assert out[-1].split() == ["Device", "node001"]
    assert snapshot(db) == before


def test_validation_failure_then_fix_then_commit(cm, db):
    res = cm("-c", "device use node001; clear category; set notes fixed; commit; set category gpu-nodes; "
                   "commit; get category")
    assert_clean(res)
    assert res.returncode == 1          # the first commit failed
    assert res.stdout == "gpu-nodes\n"
    res = cm("-c", "device use node001; get category; get notes")
    assert res.stdout == "gpu-nodes\nfixed\n"


@pytest.mark.parametrize("commands,named", [
    ("device use node001; set category nosuchcategory; commit", "nosuchcategory"),   # dangling pointer
    ("category; remove default; commit", "default"),                                 # still referenced
])
def test_commit_validation_refuses_and_keeps_the_store(cm, db, commands, named):
    before = snapshot(db)
    res = cm("-c", commands)
    assert_clean(res)
    assert res.returncode == 1
    assert named in res.stderr
    assert snapshot(db) == before


def test_refresh_discards_and_store_stays(cm, db):
    before = snapshot(db)
    res = cm("-c", "device use node001; set notes gone; refresh; get notes; modified")
    assert_ok(res)
    assert res.stdout.splitlines()[-1] == "No modified objects of type device"
    assert snapshot(db) == before


def test_store_is_fine_for_plain_sqlite(cm, db):
    assert_ok(cm("-c", "device use node001; set notes x; commit"))
    conn = sqlite3.connect(str(db))
    assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    conn.close()
    if shutil.which("sqlite3"):
        out = subprocess.run(["sqlite3", str(db), "SELECT user FROM journal ORDER BY seq DESC LIMIT 1;"],
                             capture_output=True, text=True)
        assert out.stdout.rstrip("\n") == journal_user()
