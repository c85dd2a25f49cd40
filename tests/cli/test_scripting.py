"""Scripted use of the real entry point: -c, -f, stdin, -x, -q, exit statuses, the rc file,
--version, --color / NO_COLOR, and the line syntax (`;`, `#`, double quotes)."""
from __future__ import annotations

import re

import pytest

from conftest import assert_clean, assert_ok

PROMPT = re.compile(r"\]% |^\[basecm10", re.M)


def no_prompt(res) -> None:
    assert not PROMPT.search(res.stdout), str(res)
    assert not PROMPT.search(res.stderr), str(res)


def test_c_runs_every_command_and_exits(cm):
    res = cm("-c", "device; use node001; get ip; get mac")
    assert_ok(res)
    assert res.stdout == "10.141.0.1\nFA:16:3E:E4:8D:8C\n"
    no_prompt(res)


def test_c_list_lists_the_demo_devices(cm):
    res = cm("-c", "device; list")
    assert_ok(res)
    lines = res.stdout.splitlines()
    assert lines[0].split()[:3] == ["Type", "Hostname", "(key)"]
    assert set(lines[1]) <= {"-", " "}
    names = [line.split()[1] for line in lines[2:]]
    assert names == ["basecm10", "gpu001", "gpu002"] + [f"node00{i}" for i in range(1, 7)]
    no_prompt(res)


def test_f_runs_a_file(cm, tmp_path):
    script = tmp_path / "script.cmsh"
    script.write_text("# a script\ndevice\nuse node002   # trailing comment\n\nget ip\n"
                      "category; use default; get softwareimage\n")
    res = cm("-f", str(script))
    assert_ok(res)
    assert res.stdout == "10.141.0.2\ndefault-image\n"
    no_prompt(res)


def test_stdin_lines_are_echoed_before_their_output_without_prompt(cm):
    res = cm(input="device\nuse node001\nget ip\nget mac\n")
    assert_ok(res)
    assert res.stdout == "device\nuse node001\nget ip\n10.141.0.1\nget mac\nFA:16:3E:E4:8D:8C\n"
    no_prompt(res)


def test_stdin_failure_still_runs_the_rest_and_exits_1(cm):
    res = cm(input="device use node001\nnosuchcommand\nget ip\n")
    assert_clean(res)
    assert res.returncode == 1
    assert res.stdout == "device use node001\nnosuchcommand\nget ip\n10.141.0.1\n"
    assert len(res.err_lines) == 1 and "nosuchcommand" in res.stderr
    no_prompt(res)


def test_x_echoes_commands_of_c(cm):
    res = cm("-x", "-c", "device; use node001; get ip")
    assert_ok(res)
    assert res.stdout == "device\nuse node001\nget ip\n10.141.0.1\n"
    no_prompt(res)


def test_x_echoes_lines_of_f(cm, tmp_path):
    script = tmp_path / "s"
    script.write_text("device use node003\nget ip\n")
    res = cm("-x", "-f", str(script))
    assert_ok(res)
    assert res.stdout == "device use node003\nget ip\n10.141.0.3\n"


def test_without_x_nothing_is_echoed(cm, tmp_path):
    script = tmp_path / "s"
    script.write_text("device use node003\nget ip\n")
    assert cm("-f", str(script)).stdout == "10.141.0.3\n"
    assert cm("-c", "device use node003; get ip").stdout == "10.141.0.3\n"


@pytest.mark.parametrize("how", ["c", "f", "stdin"])
def test_q_stops_at_the_first_error(cm, tmp_path, how):
    cmds = ["device use node001", "set notes before", "nosuchcommand", "get ip", "set nosuch 1"]
    if how == "c":
        res = cm("-q", "-c", "; ".join(cmds))
    elif how == "f":
        (tmp_path / "s").write_text("\n".join(cmds) + "\n")
        res = cm("-q", "-f", str(tmp_path / "s"))
    else:
        res = cm("-q", input="\n".join(cmds) + "\n")
    assert_clean(res)
    assert res.returncode == 1
    assert "10.141.0.1" not in res.stdout          # later commands did not run
    assert res.err_lines == ["Unknown command: nosuchcommand; type 'help' for the commands of this level"]
    no_prompt(res)


def test_without_q_every_command_runs_and_status_is_1(cm):
    res = cm("-c", "device use node001; nosuchcommand; get ip; set nosuch 1; get mac")
    assert_clean(res)
    assert res.returncode == 1
    assert res.stdout == "10.141.0.1\nFA:16:3E:E4:8D:8C\n"
    assert len(res.err_lines) == 2


def test_exit_status_0_only_when_all_succeeded(cm):
    # processes: the status the OS sees, through `python -m cmshell` (elsewhere cli.main's value)
    assert cm.process("-c", "device; list").returncode == 0
    assert cm.process("-c", "device; list; nosuch").returncode == 1
    assert cm.process("-c", "nosuch; device; list").returncode == 1


def test_empty_and_comment_only_input_succeeds(cm, tmp_path):
    (tmp_path / "s").write_text("\n   \n# nothing\n;;\n")
    for res in (cm("-c", ""), cm("-c", "# just a comment"), cm("-f", str(tmp_path / "s")), cm(input="")):
        assert_ok(res)
        assert res.stdout == ""


def test_rc_file_runs_first_without_n(cm, home):
    (home / ".cmshellrc").write_text("# my settings\ndevice\n")
    res = cm("-c", "list", norc=False)
    assert_ok(res)
    assert "node001" in res.stdout and "basecm10" in res.stdout
    # stdin and -f runs read it too
    assert "node006" in cm(input="list\n", norc=False).stdout


def test_n_skips_the_rc_file(cm, home):
    (home / ".cmshellrc").write_text("device\n")
    res = cm("-c", "list")     # cm adds -n
    assert res.returncode == 1
    assert "node001" not in res.stdout
    assert len(res.err_lines) == 1


def test_rc_file_staging_is_visible_to_the_commands(cm, home):
    (home / ".cmshellrc").write_text("device use node001; set notes from-rc\n")
    res = cm("-c", "get notes; modified", norc=False)
    assert_ok(res)
    assert res.stdout.splitlines()[0] == "from-rc"
    assert "node001" in res.stdout


def test_version(cm):
    res = cm("--version", db=None)
    assert_ok(res)
    assert re.fullmatch(r"cmshell \d+\.\d+(\.\d+)?\S*\n", res.stdout)


@pytest.mark.parametrize("extra, env", [(["--color", "no"], {}), (["--color", "yes"], {}),
                                        ([], {"NO_COLOR": "1"}), (["--color", "no"], {"NO_COLOR": "1"})])
def test_color_options_are_accepted(cm, extra, env):
    plain = cm("-c", "device; list").stdout
    res = cm(*extra, "-c", "device; list", env=env)
    assert_ok(res)
    if extra != ["--color", "yes"]:
        assert "\x1b" not in res.stdout and res.stdout == plain
    else:
        assert re.sub(r"\x1b\[[0-9;]*m", "", res.stdout) == plain


def test_bad_color_value_is_a_usage_error(cm):
    res = cm("--color", "blue", "-c", "device; list")
    assert_clean(res)
    assert res.returncode == 2 and res.stdout == ""
    assert "--color" in res.stderr


def test_separators_comments_and_quotes(cm):
    res = cm("-c", 'device;use node001 ;; set notes "two words" # trailing comment; get ip\n')
    assert_ok(res)
    res = cm("-c", 'device use node001; set notes "two  words; # not a comment"; get notes')
    assert_ok(res)
    assert res.stdout == "two  words; # not a comment\n"


def test_quoted_value_round_trips_through_the_store(cm):
    assert_ok(cm("-c", 'device use node001; set notes "two words"; commit'))
    res = cm("-c", "device use node001; get notes")
    assert_ok(res)
    assert res.stdout == "two words\n"


def test_whole_line_and_trailing_comments_in_stdin(cm):
    res = cm(input="# whole line\ndevice use node004  # trailing\nget ip # again\n")
    assert_ok(res)
    assert res.stdout.splitlines()[-1] == "10.141.0.4"
    assert res.stdout.count("10.141.0.4") == 1


def test_show_prompt_is_the_only_way_to_see_prompts(cm):
    res = cm("--show-prompt", input="device use node001\nset notes x\nget notes\n")
    assert_ok(res)
    assert res.stdout == ("[basecm10]% device use node001\n"
                          "[basecm10->device[node001]]% set notes x\n"
                          "[basecm10->device*[node001*]]% get notes\nx\n")
