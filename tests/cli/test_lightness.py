"""A -c run on an existing store stays light: none of the heavy optional libraries load."""
from __future__ import annotations

import re
import subprocess
import sys

import pytest

from conftest import assert_ok

HEAVY = ("prompt_toolkit", "pygments", "paramiko", "kubernetes", "yaml", "tabulate", "psycopg")

# runs the real entry point in-process, then reports what got imported
WRAPPER = r"""
import runpy, sys
sys.argv = ["cmshell"] + sys.argv[1:]
try:
    runpy.run_module("cmshell", run_name="__main__", alter_sys=True)
except SystemExit as e:
    code = e.code
else:
    code = 0
sys.stderr.write("MODULES " + " ".join(sorted(sys.modules)) + "\n")
sys.exit(code)
"""


def heavy_in(names) -> list[str]:
    return sorted({n for n in names if n.split(".")[0].lstrip("_") in HEAVY})


@pytest.fixture
def warm(cm):
    """The schema cache is written by a first run (which may parse YAML); later runs use it."""
    assert_ok(cm("-c", "device; list"))
    return cm


@pytest.mark.parametrize("commands", ["device; list", "device use node001; show; get ip",
                                      "category use default; roles; list; kubernetes; list"])
def test_importtime_shows_no_heavy_module(warm, commands):
    argv = [sys.executable, "-X", "importtime"] + warm.argv("-c", commands)[1:]
    proc = subprocess.run(argv, capture_output=True, text=True, env=warm.env(), cwd=warm.cwd)
    assert proc.returncode == 0, proc.stderr[-2000:]
    imported = re.findall(r"^import time:\s+\d+ \|\s+\d+ \|\s*(\S+)", proc.stderr, re.M)
    assert "cmshell.cli" in imported and "sqlite3" in imported     # the measurement works
    assert heavy_in(imported) == []
    assert proc.stdout.strip()


def test_sys_modules_after_a_c_run(warm):
    argv = [sys.executable, "-c", WRAPPER] + warm.argv("-c", "device; list; use node001; show")[3:]
    proc = subprocess.run(argv, capture_output=True, text=True, env=warm.env(), cwd=warm.cwd)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "node001" in proc.stdout
    modules = proc.stderr.rsplit("MODULES ", 1)[1].split()
    assert "cmshell.store.sqlite" in modules
    assert heavy_in(modules) == []


def test_a_cold_schema_cache_still_works_and_is_then_reused(cm, tmp_path):
    cold = tmp_path / "cold-cache"
    res = cm("-c", "device; list", env={"XDG_CACHE_HOME": str(cold)})
    assert_ok(res)
    assert list((cold / "cmshell").glob("schema-*.json"))
    argv = [sys.executable, "-X", "importtime"] + cm.argv("-c", "device; list")[1:]
    proc = subprocess.run(argv, capture_output=True, text=True, env=cm.env(XDG_CACHE_HOME=str(cold)),
                          cwd=cm.cwd)
    imported = re.findall(r"^import time:\s+\d+ \|\s+\d+ \|\s*(\S+)", proc.stderr, re.M)
    assert proc.returncode == 0 and heavy_in(imported) == []
    assert proc.stdout == res.stdout


def test_an_unusable_cache_directory_only_costs_speed(cm, tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    res = cm("-c", "device; get node001 ip", env={"XDG_CACHE_HOME": str(blocker)})
    assert_ok(res)
    assert res.stdout == "10.141.0.1\n"
