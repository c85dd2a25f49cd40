"""The PostgreSQL store end to end: `--init` on a URL, `--load`/`--dump` moving a cluster from
SQLite to PostgreSQL and back, `$CMSHELL_DB`, the URL's password never shown, TLS settings
passed through, and a server restart in the middle of a session."""
from __future__ import annotations

import sys

import pytest

from conftest import assert_clean, assert_ok
from tests.infra.postgres import PASSWORD

from cmshell.store import Change, StoreError, new_id, open_store


def redacted(url: str) -> str:
    return url.replace(PASSWORD, "****")


def test_init_creates_the_schema_once_and_a_missing_one_is_named(cm, pg_url):
    res = cm("-c", "device; list", db=pg_url)
    assert_clean(res)
    assert res.returncode == 1 and res.err_lines == [
        f"No store at {redacted(pg_url)}; create one with --init (empty), --load FILE (a cluster file) or --demo"]
    assert_ok(cm("--init", db=pg_url))
    res = cm("--init", db=pg_url)
    assert res.returncode == 1 and res.err_lines == [f"--init: there is a store at {redacted(pg_url)} already"]
    res = cm("-c", "device; list", db=pg_url)
    assert_ok(res)
    assert_ok(cm("--check", db=pg_url))
    assert cm("--check", db=pg_url).stdout == f"Store {redacted(pg_url)}: ok\n"


def test_load_and_dump_move_a_cluster_from_sqlite_to_postgres_and_back(cm, pg_url, tmp_path):
    original = cm("--dump", "--with-secrets")
    assert_ok(original)
    assert "node001" in original.stdout
    path = tmp_path / "cluster.yaml"
    path.write_text(original.stdout)
    assert_ok(cm("--load", str(path), db=pg_url))
    there = cm("--dump", "--with-secrets", db=pg_url)
    assert_ok(there)
    assert there.stdout == original.stdout
    back = tmp_path / "back.db"
    path.write_text(there.stdout)
    assert_ok(cm("--load", str(path), db=str(back)))
    again = cm("--dump", "--with-secrets", db=str(back))
    assert_ok(again)
    assert again.stdout == original.stdout
    for commands in ("device; list", "category; list", "device; show node001"):
        assert cm("-c", commands, db=pg_url).stdout == cm("-c", commands).stdout
    res = cm("--load", str(path), db=pg_url)           # a second load never merges
    assert res.returncode == 1 and "not empty" in res.stderr


def test_cmshell_db_may_be_a_url(cm, pg_url):
    from conftest import DEMO_YAML
    assert_ok(cm("--load", str(DEMO_YAML), db=pg_url))
    res = cm("-c", "device use node002; set notes from-env; commit; journal", db=None, env={"CMSHELL_DB": pg_url})
    assert_ok(res)
    assert "from-env" not in res.stderr
    res = cm("-c", "device; get node002 notes", db=None, env={"CMSHELL_DB": pg_url})
    assert_ok(res)
    assert res.stdout == "from-env\n"


def test_the_password_is_never_shown(cm, pg_server, pg_url):
    wrong = pg_url.replace(PASSWORD, "wrong-Pw")
    with pytest.raises(StoreError) as err:
        open_store(wrong)
    text = str(err.value)
    assert "wrong-Pw" not in text and "cmshell:****@127.0.0.1" in text and "\n" not in text
    res = cm("--init", db=wrong)
    assert res.returncode == 1 and "wrong-Pw" not in res.stdout + res.stderr and len(res.err_lines) == 1
    # everything a session prints, on success and on errors
    from conftest import DEMO_YAML
    outputs = [cm("--load", str(DEMO_YAML), db=pg_url),
               cm("-c", "device use node001; set notes x; commit; journal; device use nosuch", db=pg_url),
               cm("--check", db=pg_url), cm("--dump", db=pg_url), cm("--init", db=pg_url)]
    for res in outputs:
        assert_clean(res)
        assert PASSWORD not in res.stdout + res.stderr
    assert "****" in outputs[-1].stderr


def test_tls_settings_pass_through_to_libpq(cm, pg_url):
    assert_ok(cm("--init", db=pg_url + "&sslmode=disable"))
    res = cm("-c", "device; list", db=pg_url + "&sslmode=require")      # the test server has no TLS
    assert res.returncode == 1 and len(res.err_lines) == 1
    assert "SSL" in res.stderr and PASSWORD not in res.stderr and "sslmode=require" in res.stderr


def test_a_server_restart_mid_session(pg_server, pg_url, cm):
    s = open_store(pg_url)
    try:
        oid = new_id()
        s.commit([Change(oid, "device", "node001", None, {"hostname": "node001"})], user="root")
        pg_server.restart()
        assert s.names("device") == ["node001"]             # a read connects again at once
        pg_server.restart()
        s.commit([Change(oid, "device", "node001", 1, {"hostname": "node001", "notes": "x"})], user="root")
        # the connection is lost while a commit is in flight: one line, which says so
        with pytest.raises(StoreError) as err:
            s.commit_stream([[Change(oid, "device", "node001", 2, {"hostname": "node001", "notes": "lost"})]],
                            user="root", before_commit=pg_server.restart)
        text = str(err.value)
        assert "\n" not in text and PASSWORD not in text and "****" in text
        assert text.startswith(f"Lost the connection to store {redacted(pg_url)}")
        assert "nothing of it was stored" in text
        rec = s.get("device", "node001")                    # the next call reconnects
        assert rec.revision == 2 and rec.doc["notes"] == "x"
        pg_server.stop()
        try:
            with pytest.raises(StoreError) as err:
                s.get("device", "node001")
            text = str(err.value)
            assert "\n" not in text and PASSWORD not in text and redacted(pg_url) in text
            res = cm("-c", "device; list", db=pg_url)
            assert_clean(res)
            assert res.returncode == 1 and len(res.err_lines) == 1 and PASSWORD not in res.stderr
        finally:
            pg_server.start()
        s.commit([Change(oid, "device", "node001", 2, {"hostname": "node001", "notes": "y"})], user="root")
        assert [e.seq for e in s.journal()] == [1, 2, 3]      # nothing lost, nothing twice
        assert s.get("device", "node001").doc["notes"] == "y"
    finally:
        s.close()


def test_without_psycopg_a_url_is_one_line_saying_what_to_install(cm, monkeypatch):
    """No server and no driver needed: the URL is refused before anything connects."""
    monkeypatch.setitem(sys.modules, "psycopg", None)               # import psycopg fails
    monkeypatch.setitem(sys.modules, "cmshell.store.postgres", None)
    url = "postgresql://admin:hunter2@127.0.0.1:1/cluster?sslmode=require"
    res = cm("-c", "device; list", db=url)
    assert_clean(res)
    assert res.returncode == 1 and res.err_lines == [
        "Cannot open store postgresql://admin:****@127.0.0.1:1/cluster?sslmode=require: PostgreSQL support"
        " is not installed (pip install 'cmshell[postgres]')"], str(res)
