"""Scripting through the real entry point: alias/unalias (cmsh's built-ins, `;` texts, arguments,
~/.cmshellrc, recursion), run with $1 / ${1-default} / -x / -q, ~/.cmshell/NAME.cmsh scripts as
aliases, path, bookmark/goto/-, export (re-loadable), time, watch (batch refusal, terminal)."""
from __future__ import annotations

import os
import re
import sys
import time

import pytest

from conftest import assert_clean, assert_ok


def one_error(res, message: str) -> None:
    assert_clean(res)
    assert res.returncode == 1 and res.err_lines == [message], str(res)


# -- aliases ----------------------------------------------------------------------------------
def test_alias_lists_cmshs_builtin_aliases(cm):
    res = cm("-c", "alias")
    assert_ok(res)
    assert res.stdout.splitlines() == ["alias - goto -", "alias .. exit", "alias / home", "alias ? help",
                                       "alias ds device status", "alias ls list"]


def test_builtin_aliases_work_and_ds_fails_in_one_line(cm):
    res = cm("--show-prompt", "-c", "device use node001; ..; ls -f hostname:0 -s hostname; /; "
                                     "category use default; -; -; path")
    assert_ok(res)
    prompts = [line.split("% ")[0] + "%" for line in res.stdout.splitlines() if "]% " in line]
    assert prompts[-4:] == ["[basecm10]%", "[basecm10->category[default]]%", "[basecm10]%",
                            "[basecm10->category[default]]%"]
    assert res.stdout.splitlines()[-1] == "home;category;use default;"
    assert "node006" in res.stdout
    # ds is `device status`: without applying there is no last-seen state, so every device is UNKNOWN
    res = cm("-c", "ds")
    assert_ok(res)
    assert "node001 ............... [ UNKNOWN ]" in res.stdout


def test_user_alias_expands_to_command_text_with_semicolons_and_arguments(cm):
    res = cm("--show-prompt", "-c", 'alias n1 "device; use node001"; alias gip get ip; n1; gip; '
                                     "alias dget device get; dget node002 ip; "
                                     "alias lv device list -f hostname:0,ip:0; home; lv; alias n1; alias gip")
    assert_ok(res)
    out = res.stdout.splitlines()
    assert out[2:5] == ["[basecm10]% n1", "[basecm10->device[node001]]% gip", "10.141.0.1"]
    assert out[6:8] == ["[basecm10->device[node001]]% dget node002 ip", "10.141.0.2"]   # arguments appended
    assert "node006 10.141.0.6" in out
    assert out[-3:] == ['alias n1 "device; use node001"', "[basecm10]% alias gip", "alias gip get ip"]


def test_alias_overrides_a_builtin_and_unalias_removes(cm):
    res = cm("-c", "alias ls list -f hostname:0; device; ls; ls -f ip:0")
    assert_ok(res)
    lines = res.stdout.splitlines()
    assert "node001" in lines and "PhysicalNode" not in res.stdout    # not the default format
    assert "10.141.0.1" in lines            # `ls -f ip:0` = `list -f hostname:0 -f ip:0`
    res = cm("-c", "alias exit home; device use node001; exit; path")   # an alias hides a command
    assert_ok(res)
    assert res.stdout == "home;\n"
    one_error(cm("-c", "unalias nosuch"), "No alias named nosuch")
    one_error(cm("-c", "alias nosuch"), "No alias named nosuch; 'alias' lists them")
    one_error(cm("-c", 'alias a "unbalanced ("'), "alias a: Unbalanced parentheses")
    res = cm("-c", "unalias ls; ls")
    assert res.returncode == 1 and "Unknown command: ls" in res.stderr


def test_alias_failure_fails_the_line_and_recursion_ends(cm):
    res = cm("-c", 'alias bad "device; use nosuch"; bad')
    one_error(res, "No device named nosuch")
    res = cm("-c", "alias loop loop; loop")
    one_error(res, "Unknown command: loop; type 'help' for the commands of this level")
    res = cm("-c", "alias a b; alias b a; a")
    one_error(res, "Unknown command: a; type 'help' for the commands of this level")


def test_aliases_persist_through_the_rc_file(cm, home):
    (home / ".cmshellrc").write_text('alias n2 "device; use node002"\nalias gip get ip\n')
    res = cm("-c", "n2; gip", norc=False)
    assert_ok(res)
    assert res.stdout == "10.141.0.2\n"
    assert cm("-c", "n2").returncode == 1        # -n: no rc file, no alias


def test_export_is_reloadable_with_run(cm, tmp_path):
    saved = tmp_path / "settings.cmsh"
    res = cm("-c", 'alias n1 "device; use node001"; alias q2 set notes "two words"; unalias ds; '
                   f"device format hostname:10,ip:15; device sort ip; export; export > {saved}")
    assert_ok(res)
    expected = ['alias n1 "device; use node001"', 'alias q2 "set notes \\"two words\\""', "unalias ds",
                "device format hostname:10,ip:15", "device sort ip"]
    assert res.stdout.splitlines() == expected
    assert saved.read_text().splitlines() == expected
    res = cm("-c", f"run {saved}; export; n1; q2; get notes; device list")
    assert_ok(res)
    out = res.stdout.splitlines()
    assert out[:5] == expected
    assert out[5] == "two words"
    assert out[6].startswith("hostname (") and out[6].split()[-1] == "ip"    # the format came back
    ips = [line.split()[-1] for line in out[8:]]
    assert ips == sorted(ips)                                  # and the sort order


# -- run ----------------------------------------------------------------------------------------
def test_run_substitutes_arguments_and_defaults(cm, tmp_path):
    script = tmp_path / "show.cmsh"
    script.write_text("# $1: node, $2: parameter\ndevice use ${1-node001}\nget ${2:-ip}\n"
                      "get $3\n")
    res = cm("-c", f"run {script}; run {script} node004 mac notes; run {script} \"\" category")
    assert_clean(res)
    assert res.stdout.splitlines() == ["10.141.0.1", "FA:16:3E:8D:8C:95", "", "default"]
    # `get $3` with no third argument is `get`, which fails (one line each time)
    assert res.err_lines == ["Usage: get [<object>] <parameter>"] * 2
    assert res.returncode == 1


def test_run_x_echoes_and_q_stops_and_location_carries_over(cm, tmp_path):
    script = tmp_path / "s.cmsh"
    script.write_text("device use $1\nget nosuch\nget ip\n")
    res = cm("--show-prompt", "-c", f"run -x {script} node003; get mac")
    assert res.returncode == 1
    assert res.stdout.splitlines() == [f"[basecm10]% run -x {script} node003", "device use node003",
                                       "get nosuch", "get ip", "10.141.0.3",
                                       "[basecm10->device[node003]]% get mac", "FA:16:3E:A9:9D:B3"]
    res = cm("-c", f"run -q {script} node003")
    assert res.stdout == "" and res.returncode == 1 and len(res.err_lines) == 1
    one_error(cm("-c", "run /nonexistent/x.cmsh"), "Cannot read /nonexistent/x.cmsh: No such file or directory")
    one_error(cm("-c", "run -z x"), "run: unknown option -z")


def test_run_of_itself_stops_at_a_depth(cm, tmp_path):
    script = tmp_path / "self.cmsh"
    script.write_text(f"run {script}\n")
    res = cm("-c", f"run {script}")
    one_error(res, f"run {script}: nested more than 16 deep")


def test_scripts_in_dot_cmshell_are_aliases_without_restart(cm, home):
    # a process: `-f /dev/stdin` reads the OS-level stdin, which a StringIO is not
    res = cm.process("-f", "/dev/stdin", input=(
        "alias\n"
        "!mkdir -p ~/.cmshell && printf 'device use ${1-node001}\\nget ip\\n' > ~/.cmshell/ipof.cmsh\n"
        "ipof node005\n"
        "ipof\n"
        "alias ipof\n"))
    assert_ok(res)
    script = home / ".cmshell" / "ipof.cmsh"
    assert res.stdout.splitlines() == ["alias - goto -", "alias .. exit", "alias / home", "alias ? help",
                                       "alias ds device status", "alias ls list",
                                       "10.141.0.5", "10.141.0.1", f"alias ipof run {script}"]
    res = cm("-c", "alias")
    assert f"alias ipof run {script}" in res.stdout.splitlines()
    one_error(cm("-c", "unalias ipof"), f"ipof runs {script}; remove or rename the file to drop the alias")
    # a script never hides a command or a mode
    (home / ".cmshell" / "list.cmsh").write_text("get ip\n")
    assert "alias list" not in cm("-c", "alias").stdout
    assert cm("-c", "device; list -f hostname:0").stdout.splitlines()[-1] == "node006"


# -- path, bookmarks, goto ---------------------------------------------------------------------
def test_path_is_replayable_and_quotes_names_with_dashes(cm):
    res = cm("-c", "path; device; path; use node001; path; configurationoverlay use kube-default-worker; "
                   "roles; use kubelet; path; device use basecm10; roles; use firewall; openports; use 1; path")
    assert_ok(res)
    paths = res.stdout.splitlines()
    assert paths == ["home;", "home;device;", "home;device;use node001;",
                     'home;configurationoverlay;use "kube-default-worker";roles;use kubelet;',
                     "home;device;use basecm10;roles;use firewall;openports;use 1;"]
    for p in paths:
        res = cm("--show-prompt", "-c", f"{p}path")
        assert_ok(res)
        assert res.stdout.splitlines()[-1] == p


def test_bookmarks_goto_and_previous(cm, tmp_path):
    marks = tmp_path / "marks"
    res = cm("--show-prompt", "-c", "device use node001; bookmark; configurationoverlay use kube-default-etcd; "
                                     f"bookmark etcd; home; goto; goto etcd; goto -; -; bookmark -l; "
                                     f"bookmark -s {marks}; bookmark -d etcd")
    assert_ok(res)
    prompts = [line.split("% ")[0] + "%" for line in res.stdout.splitlines() if "]% " in line]
    assert prompts[5:10] == ["[basecm10]%", "[basecm10->device[node001]]%",
                             "[basecm10->configurationoverlay[kube-default-etcd]]%",
                             "[basecm10->device[node001]]%",
                             "[basecm10->configurationoverlay[kube-default-etcd]]%"]
    listing = res.stdout.splitlines()[-5:-2]
    assert [line.split() for line in listing] == [
        ["home;device;use", "node001;"],        # the unnamed bookmark: an empty name (§2.5.5)
        ["etcd", 'home;configurationoverlay;use', '"kube-default-etcd";'],
        ["-", "home;device;use", "node001;"]]
    assert marks.read_text() == ('\thome;device;use node001;\n'
                                 'etcd\thome;configurationoverlay;use "kube-default-etcd";\n')
    res = cm("-c", f"bookmark -x {marks}; goto etcd; path; goto; path")
    assert_ok(res)
    assert res.stdout.splitlines() == ['home;configurationoverlay;use "kube-default-etcd";',
                                       "home;device;use node001;"]
    one_error(cm("-c", "goto nosuch"), "No bookmark named nosuch; 'bookmark -l' lists them")
    one_error(cm("-c", "goto"), "No default bookmark; 'bookmark' sets it")
    res = cm("-c", "device use gpu002; bookmark g; ..; remove gpu002; goto g")
    one_error(res, "home;device;use gpu002; no longer leads there: the object is gone")


# -- time and watch ---------------------------------------------------------------------------
def test_time_appends_the_elapsed_time(cm):
    res = cm("-c", 'time device use node001; time get ip; time "device; list -f hostname:0"')
    assert_ok(res)
    out = res.stdout.splitlines()
    assert re.fullmatch(r"time: \d+\.\d{3}s", out[0]) and out[1] == "10.141.0.1"
    assert re.fullmatch(r"time: \d+\.\d{3}s", out[2]) and re.fullmatch(r"time: \d+\.\d{3}s", out[-1])
    assert "node006" in out
    res = cm("-c", "time get nosuch")
    assert res.returncode == 1 and re.fullmatch(r"time: \d+\.\d{3}s\n", res.stdout)


def test_watch_is_refused_in_batch_with_one_line(cm):
    one_error(cm("-c", "watch -n 1 path"), "watch: only in an interactive session (it repeats until "
                                             "Ctrl-C); in scripts use a loop around 'cmshell -c'")
    one_error(cm("-c", "watch -n x path"), "watch: not a number of seconds: x")


def test_watch_repeats_on_a_terminal_until_ctrl_c(tmp_path):
    pexpect = pytest.importorskip("pexpect")
    env = dict(os.environ, HOME=str(tmp_path), XDG_CACHE_HOME=str(tmp_path / "cache"),
               PROMPT_TOOLKIT_NO_CPR="1", PYTHONPATH=os.path.dirname(os.path.dirname(os.path.dirname(
                   os.path.abspath(__file__)))))
    c = pexpect.spawn(sys.executable, ["-m", "cmshell", "--demo", "-n", "-Q"], env=env,
                      encoding="utf-8", timeout=15)
    c.expect_exact("[basecm10]%")
    c.sendline("device use node001")
    c.expect_exact("[basecm10->device[node001]]%")
    start = time.monotonic()
    c.sendline("watch -n 0.2 get ip")
    for _ in range(3):
        c.expect_exact("Every 0.2s: get ip")
        c.expect_exact("10.141.0.1")
    assert time.monotonic() - start >= 0.4
    c.sendcontrol("c")
    c.expect_exact("[basecm10->device[node001]]%")     # back at the prompt, in the same place
    c.sendline("quit")
    c.expect(pexpect.EOF)
