"""The shell on a real pseudo-terminal: prompts with stars, Ctrl-C, quit confirmation."""
import os
import sys
import time

import pytest

pexpect = pytest.importorskip("pexpect")


def spawn(tmp_path, *args):
    env = dict(os.environ, HOME=str(tmp_path), XDG_CACHE_HOME=str(tmp_path / "cache"),
               PROMPT_TOOLKIT_NO_CPR="1")
    return pexpect.spawn(sys.executable, ["-m", "cmshell", "--demo", "-n", *args], env=env,
                         encoding="utf-8", timeout=15)


def test_prompt_follows_staging_and_ctrl_c_keeps_edits(tmp_path):
    c = spawn(tmp_path)
    c.expect_exact("[basecm10]% ")
    c.sendline("category use default")
    c.expect_exact("[basecm10->category[default]]% ")
    c.sendline("roles; use docker::host; set iptables no")
    c.expect_exact("[basecm10->category*[default*]->roles*[Docker::Host*]]% ")
    c.send("half a line")
    time.sleep(0.3)   # let readline take the typed text before the interrupt
    c.sendcontrol("c")
    c.expect_exact("[basecm10->category*[default*]->roles*[Docker::Host*]]% ")
    c.sendline("get iptables")
    c.expect_exact("no")
    c.sendline("commit")
    c.expect_exact("[basecm10->category[default]->roles[Docker::Host]]% ")
    c.sendline("quit")
    c.expect(pexpect.EOF)   # nothing pending: no question


def test_quit_with_uncommitted_changes_asks_once(tmp_path):
    c = spawn(tmp_path)
    c.expect_exact("[basecm10]% ")
    c.sendline("device use node001; set notes pending")
    c.expect_exact("[basecm10->device*[node001*]]% ")
    c.sendline("quit")
    c.expect_exact("quit anyway? (yes/no) ")
    c.sendline("no")
    c.expect_exact("[basecm10->device*[node001*]]% ")
    c.sendeof()
    c.expect_exact("quit anyway? (yes/no) ")
    c.sendline("yes")
    c.expect(pexpect.EOF)


def test_no_quit_confirmation_with_Q(tmp_path):
    c = spawn(tmp_path, "-Q")
    c.expect_exact("[basecm10]% ")
    c.sendline("device use node001; set notes pending; quit")
    c.expect(pexpect.EOF)
