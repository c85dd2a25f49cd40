"""The SSH backend end to end through the real entry point: `cli.main` with a configuration file
(`--config`), the backends found through the `cmshell.backends` entry points, real sshd nodes.

In-process runs (cli.main with StringIO streams) use this tree's code; the backend comes from the
installed package's entry-point metadata (not injected), as in a real run.
"""
from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import tomllib
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from cmshell import cli
from cmshell.env import Environment
from cmshell.status import Exit
from conftest import ROOT
from tests.backends.ssh_helpers import DAEMON, DEMO, calls, config_file, logins

MTU = "category use default; roles; use docker::host; set mtu {}; commit"
CATEGORY = ["node001", "node002", "node003", "node004", "node005", "node006"]
NOTICE = re.compile(r"^\w{3} \w{3} +\d+ \d\d:\d\d:\d\d \d{4} \[notice\] (\S+): Service docker was restarted$")


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


class Run:
    """cli.main in this process, on the test's store and configuration file."""

    def __init__(self, db: Path, conf: Path, home: Path, cache: Path):
        self.db, self.conf, self.home, self.cache = db, conf, home, cache

    def __call__(self, commands: str, stderr: io.StringIO | None = None) -> tuple[int, str, str]:
        env = Environment(stdin=io.StringIO(), stdout=io.StringIO(), stderr=stderr or io.StringIO(),
                          environ={"HOME": str(self.home), "USER": "tester",
                                   "XDG_CACHE_HOME": str(self.cache)})
        code = cli.main(["--db", str(self.db), "-n", "--config", str(self.conf), "-c", commands], env)
        return code, env.stdout.getvalue(), env.stderr.getvalue()


@pytest.fixture
def nodes(make_ssh_cluster):
    return make_ssh_cluster(DEMO)


@pytest.fixture
def run(nodes, db, home, shared_cache, tmp_path) -> Run:
    return Run(db, config_file(tmp_path / "config.yaml", nodes), home, shared_cache)


def mtu(cluster, node: str) -> int | None:
    data = cluster.node(node).read(DAEMON)
    return json.loads(data).get("mtu") if data else None


def ds_line(out: str, node: str) -> str:
    return next(line for line in out.splitlines() if line.startswith(node + " "))


def test_commit_applies_and_prints_the_service_events(nodes, run):
    code, out, err = run(MTU.format(1400))
    assert (code, err) == (Exit.OK, ""), out + err
    assert all(mtu(nodes, n) == 1400 for n in CATEGORY)
    assert mtu(nodes, "gpu001") is None                     # gpu-nodes has no Docker::Host
    restarted = [m.group(1) for line in out.splitlines() if (m := NOTICE.match(line))]
    assert sorted(restarted) == CATEGORY, out
    assert all(calls(nodes, n).count("restart docker") == 1 for n in CATEGORY)


def test_a_stopped_node_exits_3_shows_in_ds_and_sync_catches_it_up(nodes, run):
    assert run(MTU.format(1400))[0] == Exit.OK
    nodes.stop_node("node003")
    code, out, err = run(MTU.format(1300))
    assert code == Exit.NOT_APPLIED == 3, out + err
    assert "[warning] node003: Configuration not applied: cannot connect to 127.0.1.4:22" in out
    assert [mtu(nodes, n) for n in CATEGORY] == [1300, 1300, 1400, 1300, 1300, 1300]
    code, out, _ = run("device; ds")
    assert code == Exit.OK
    assert re.match(r"node003 \.+ \[  DOWN  \] revision \d+, seen .*, out of sync: cannot connect to 127\.0\.1\.4:22",
                    ds_line(out, "node003")), out
    assert "out of sync" not in ds_line(out, "node001")
    nodes.start_node("node003")
    code, out, err = run("sync -n node003")
    assert (code, err) == (Exit.OK, ""), out + err
    assert mtu(nodes, "node003") == 1300 and calls(nodes, "node003").count("restart docker") == 2
    code, out, _ = run("device; ds")
    assert "[   UP   ]" in ds_line(out, "node003") and "out of sync" not in ds_line(out, "node003")


def test_manual_marks_nodes_pending_contacts_nothing_and_sync_applies(nodes, run, tmp_path):
    config_file(run.conf, nodes, apply="manual")
    code, out, err = run(MTU.format(1400))
    assert (code, out, err) == (Exit.OK, "", "")
    assert [logins(nodes, n) for n in DEMO] == [0] * len(DEMO)       # no node was contacted
    assert all(mtu(nodes, n) is None for n in CATEGORY)
    code, out, _ = run("device; ds")
    assert re.match(r"node001 \.+ \[ UNKNOWN \] out of sync: commit \d+ pending \(run sync\)$",
                    ds_line(out, "node001")), out
    assert "pending" not in ds_line(out, "gpu001")
    code, out, err = run("sync ssh -d {}")     # kubernetes has no cluster here
    assert (code, err) == (Exit.OK, ""), out + err
    (recap,) = json.loads(out[out.index("["):])
    assert recap["backend"] == "ssh" and recap["commit"] is None
    by = {t["target"]: t for t in recap["targets"]}
    assert by["node001"]["status"] == "changed" and "wrote /etc/docker/daemon.json" in by["node001"]["changes"]
    assert "restart docker" in by["node001"]["changes"] and by["node001"]["reason"] == ""
    # gpu001/gpu002 have no role that writes a file
    assert recap["counts"] == {"ok": 2, "changed": len(DEMO) - 2, "failed": 0, "unreachable": 0}
    assert all(mtu(nodes, n) == 1400 for n in CATEGORY)
    code, out, _ = run("device; ds")
    assert "out of sync" not in out and "pending" not in out


def test_recap_json_names_failures(nodes, run):
    nodes.stop_node("node002")
    nodes.node("node004").fail_unit("docker")
    code, out, _ = run("sync -n node001..node004 ssh -d {}")
    assert code == Exit.NOT_APPLIED
    (recap,) = json.loads(out[out.index("["):])
    by = {t["target"]: t for t in recap["targets"]}
    assert sorted(by) == ["node001", "node002", "node003", "node004"]
    assert by["node002"]["status"] == "unreachable" and "cannot connect" in by["node002"]["reason"]
    assert by["node004"]["status"] == "failed"
    assert by["node004"]["reason"].startswith("systemctl restart docker failed: Job for docker.service failed")
    assert recap["counts"] == {"ok": 0, "changed": 2, "failed": 1, "unreachable": 1}


def test_progress_on_a_terminal(nodes, run, monkeypatch):
    from cmshell.output.progress import Progress
    monkeypatch.setattr(Progress, "DELAY", 0)       # else an apply quicker than 0.5 s shows nothing
    monkeypatch.setattr(Progress, "INTERVAL", 0)
    tty = Tty()
    code, out, _ = run("sync ssh", stderr=tty)
    assert code == Exit.OK
    shown = tty.getvalue()
    assert f"\r\x1b[Kssh: {len(DEMO)}/{len(DEMO)} nodes" in shown and shown.endswith("\r\x1b[K")
    assert "nodes" not in out and "\x1b" not in out          # results stay clean
    code, _, err = run("sync ssh")                            # not a terminal: no progress
    assert code == Exit.OK and err == ""


# -- a real process --------------------------------------------------------------------------------

def test_entry_points_of_the_installed_package_match_pyproject():
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["entry-points"]["cmshell.backends"]
    installed = {ep.name: ep.value for ep in entry_points(group="cmshell.backends")}
    assert installed == declared, "the installed cmshell is stale: pip install '.[test]' again"


def test_python_m_cmshell_applies_through_entry_points_and_list_imports_no_paramiko(nodes, cm, tmp_path):
    conf = config_file(tmp_path / "config.yaml", nodes)
    res = cm("--config", str(conf), "-c", MTU.format(1400))
    assert res.returncode == 0 and res.stderr == "", str(res)
    assert all(mtu(nodes, n) == 1400 for n in CATEGORY)
    assert len([line for line in res.stdout.splitlines() if NOTICE.match(line)]) == len(CATEGORY)
    # with applying on, a run that commits nothing never loads paramiko
    code = ("import atexit, runpy, sys; sys.argv = ['cmshell'] + sys.argv[1:];"
            "atexit.register(lambda: sys.stderr.write('PARAMIKO' if 'paramiko' in sys.modules else 'CLEAN'));"
            "runpy.run_module('cmshell', run_name='__main__')")
    argv = cm.argv("--config", str(conf), "-c", "device; list")
    out = subprocess.run([sys.executable, "-c", code, *argv[3:]], capture_output=True, text=True,
                         cwd=tmp_path, env=cm.env(), timeout=60)
    assert "node001" in out.stdout and out.stderr.endswith("CLEAN"), out.stderr
