"""`cli.main(argv, env)` runs in-process, again and again: everything a run takes from outside
(variables, home, user, clock, streams) comes through its Environment, never from the process."""
from __future__ import annotations

import io
import os
import re
import shlex
import subprocess
import time
from collections.abc import MutableMapping

from conftest import assert_ok

from cmshell import cli
from cmshell.env import Environment


class WatchedEnviron(MutableMapping):
    """Stands in for os.environ during a run and notes every use (each is a hidden dependency)."""

    def __init__(self, real: MutableMapping):
        self.real, self.used = real, []

    def __getitem__(self, key):
        self.used.append(key)
        return self.real[key]

    def __setitem__(self, key, value):
        self.used.append(key)
        self.real[key] = value

    def __delitem__(self, key):
        self.used.append(key)
        del self.real[key]

    def __iter__(self):
        self.used.append("*")
        return iter(self.real)

    def __len__(self):
        self.used.append("*")
        return len(self.real)


# argparse's messages go through gettext, which looks at the locale variables itself
GETTEXT = {"LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"}


def run(cm, *args: str, environ: dict | None = None, clock=None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    env = Environment(stdin=io.StringIO(), stdout=out, stderr=err, environ=environ or cm.env(),
                      **({"clock": clock} if clock else {}))
    rc = cli.main(cm.args(*args, norc=False), env)
    return int(rc), out.getvalue(), err.getvalue()


def test_a_run_reads_nothing_from_os_environ(cm, home, tmp_path, monkeypatch):
    (home / ".cmshellrc").write_text("alias nodes device list\n")
    (home / "rack").write_text("node001 node002\n")
    (home / ".cmshell").mkdir()
    (home / ".cmshell" / "ipof.cmsh").write_text("device use $1; get ip\n")
    script = tmp_path / "script.cmsh"
    script.write_text("device use node003\nget hostname\n")
    commands = ("nodes; device; foreach -n ^~/rack (get ip); ipof node002; list > ~/listing; "
                f"run {script}; use node001; set notes x; commit; journal -n 1; history; alias; "
                "list | wc -l; !cat ~/listing")
    environ = cm.env()
    watched = WatchedEnviron(os.environ)
    monkeypatch.setattr(os, "environ", watched)
    try:
        rc, out, err = run(cm, "-c", commands, environ=environ)
        help_rc, help_out, _ = run(cm, "--help", environ=environ)
        usage_rc, _, usage_err = run(cm, "--bogus", environ=environ)
    finally:
        monkeypatch.undo()
    assert set(watched.used) <= GETTEXT, watched.used
    assert (rc, err) == (0, ""), err
    lines = out.splitlines()
    assert "10.141.0.1" in lines and "10.141.0.2" in lines and "node003" in lines
    assert (home / "listing").exists()
    assert help_rc == 0 and help_out.startswith("usage: cmshell")
    assert usage_rc == 2 and "usage:" in usage_err


def test_runs_in_one_process_do_not_share_state(cm):
    assert_ok(cm("-c", "alias zz device list; device use node001; set notes mine; commit",
                 env={"USER": "alice"}))
    res = cm("-c", "alias zz; journal -n 1", env={"USER": "bob"})
    assert res.returncode == 1 and res.stderr == "No alias named zz; 'alias' lists them\n"
    assert re.search(r" alice +device node001 modified$", res.stdout.splitlines()[-1])


def test_the_clock_is_the_environments(cm):
    rc, out, err = run(cm, "-c", "device use node001; set notes x; commit; journal -n 1; "
                       "device; foreach -v -n node001 (get ip)", clock=lambda: 1e9)
    assert (rc, err) == (0, "")
    then = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(1e9))      # in 2001
    journal, header, ip = out.splitlines()[-3:]
    assert then in journal and header == f"== node001 == {then}" and ip == "10.141.0.1"


def test_a_broken_pipe_in_process_leaves_the_process_stdout_alone(cm, monkeypatch):
    class Gone(io.StringIO):
        def write(self, text):
            raise BrokenPipeError()

    dup2 = []
    monkeypatch.setattr(os, "dup2", lambda *args: dup2.append(args))
    env = Environment(stdin=io.StringIO(), stdout=Gone(), stderr=io.StringIO(), environ=cm.env())
    try:
        rc = cli.main(cm.args("-c", "device; list"), env)
    finally:
        monkeypatch.undo()
    assert rc == 1 and dup2 == [] and env.stderr.getvalue() == ""


def test_a_reader_that_leaves_is_no_traceback(cm):
    """A process: `cmshell … | head -n 1` closes the pipe under a real stdout."""
    many = "device; " + "; ".join(["list"] * 3000)
    cmd = shlex.join(cm.argv("-c", many)) + " | head -n 1"
    proc = subprocess.run(["/bin/sh", "-c", cmd], capture_output=True, text=True, env=cm.env(),
                          cwd=cm.cwd, timeout=60)
    assert proc.returncode == 0 and proc.stdout.startswith("Type"), proc.stdout
    assert proc.stderr == "", proc.stderr
