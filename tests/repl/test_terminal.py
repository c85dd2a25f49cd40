"""The real `cmshell` on a pseudo-terminal (pexpect): the prompt_toolkit shell as a user meets it.

Output is read raw and compared with its escape sequences removed (prompt_toolkit draws the
line with cursor moves and colours between the characters).
"""
from __future__ import annotations

import os
import re
import stat
import sys
import time

import pytest

from conftest import journal_user

pexpect = pytest.importorskip("pexpect")

_ESC = re.compile(r"\x1b\[[0-9;?<=>]*[A-Za-z~]|\x1b[()][A-Za-z0-9]|\x1b[=>78]|[\x07\x08\r]")


class Term:
    def __init__(self, cm, *args, db=True, env=None, rows=24, cols=100):
        extra = {"PROMPT_TOOLKIT_NO_CPR": "1", "TERM": "xterm-256color", "PAGER": "cat"}
        extra.update(env or {})
        argv = cm.argv(*args, db=db)
        self.child = pexpect.spawn(argv[0], argv[1:], env=cm.env(**extra), cwd=str(cm.cwd),
                                   encoding="utf-8", timeout=15, dimensions=(rows, cols))
        self.raw = ""
        self.pos = 0
        self.matched = ""

    @property
    def text(self) -> str:
        return _ESC.sub("", self.raw)

    def _pump(self, wait: float) -> bool:
        try:
            self.raw += self.child.read_nonblocking(65536, timeout=wait)
            return True
        except pexpect.TIMEOUT:
            return True
        except pexpect.EOF:
            return False

    def expect(self, what: str | re.Pattern, timeout: float = 15) -> str:
        """Wait until `what` (text, or a pattern) appears after what was already matched; the
        text before it."""
        deadline = time.monotonic() + timeout
        while True:
            text = self.text
            if isinstance(what, re.Pattern):
                m = what.search(text, self.pos)
                i, end = (m.start(), m.end()) if m else (-1, -1)
            else:
                i = text.find(what, self.pos)
                end = i + len(what)
            if i >= 0:
                before = text[self.pos:i]
                self.matched = text[i:end]
                self.pos = end
                return before
            if time.monotonic() > deadline or not self._pump(0.05):
                raise AssertionError(f"{what!r} never appeared; after the last match:\n"
                                     f"{text[self.pos:][-3000:]}")

    def settle(self, quiet: float = 0.3) -> None:
        """Read until the terminal has been quiet for a moment (completions are asynchronous)."""
        while True:
            before = len(self.raw)
            self._pump(quiet)
            if len(self.raw) == before:
                return

    def send(self, keys: str) -> None:
        self.child.send(keys)

    def line(self, text: str) -> None:
        self.child.send(text + "\r")

    def command(self, text: str, where: str) -> str:
        """Type the line `text` and wait for the fresh prompt of `where` (see prompt()); what the
        command printed before it."""
        self.line(text)
        return self.expect(prompt(where))

    def eof(self, timeout: float = 15) -> int:
        self.child.expect(pexpect.EOF, timeout=timeout)
        self.raw += self.child.before or ""
        self.child.close()
        return self.child.exitstatus


def LISTED(inner: str, typed: str) -> re.Pattern:
    """The typed line left on screen, the choices readline lists below it, and the prompt drawn
    again with the same text."""
    line = re.escape(f"[basecm10{inner}]% {typed}".rstrip())
    return re.compile(line + r" *\n(.+\n)+?" + line)


def prompt(inner: str) -> re.Pattern:
    """A fresh prompt with nothing typed yet: the prompt, then the next drawing of the line (or
    nothing yet, or the lines the menu style reserves below it); a prompt redrawn with a typed
    or accepted line has that text after it."""
    return re.compile(re.escape(f"[basecm10{inner}]%") + r"(?=\[|\n|$)")


# -- prompt, Tab, stars, Ctrl-C, quitting ---------------------------------------------------------------
def test_typing_with_tab(cm):
    t = Term(cm)
    t.expect(prompt(""))
    t.send("categ\t")                       # unique: completed with a space after it
    t.send("use def\t")
    t.settle()
    t.send("\r")
    t.expect(prompt("->category[default]"))
    t.send("role\t; use dock\t\r")          # "dock" matches Docker::Host in any case
    t.expect(prompt("->category[default]->roles[Docker::Host]"))
    t.send("home; device use no\t")         # the common part: node00
    t.send("5\t\r")
    t.expect(prompt("->device[node005]"))
    t.line("quit")
    assert t.eof() == 0


# -- readline's Tab habits (issue 12, item 14) --------------------------------------------------------
def test_second_tab_lists_the_choices_in_columns_and_keeps_the_line(cm):
    """cmsh (readline): the first Tab completes what every choice shares, or nothing; the second
    lists them in columns below the line; the prompt comes back with the typed text."""
    t = Term(cm, cols=80)
    t.expect(prompt(""))
    t.command("device", "->device")
    t.send("add \t")                 # nothing shared: the bell, no candidate inserted
    t.settle()
    t.send("\t")                     # the second Tab: the list, then the line again
    t.expect(LISTED("->device", "add "))
    assert t.matched.splitlines()[1:6] == [
        "chassis                genericdevice          racksensor",
        "cloudnode              headnode               switch",
        "dpu                    litenode               unmanagednode",
        "fabricresourcebox      physicalnode",
        "fabricswitch           powerdistributionunit"]
    t.send("phys\t")                 # unique: completed, with a space
    t.send("node100\r")              # the line as typed: nothing was inserted by the first Tab
    t.expect(prompt("->device*[node100*]"))
    assert t.command("get type", "->device*[node100*]").strip().endswith("PhysicalNode")
    t.line("refresh; quit")
    assert t.eof() == 0


def test_first_tab_completes_the_common_part_and_no_menu_appears_unasked(cm):
    t = Term(cm, cols=80)
    t.expect(prompt(""))
    t.send("device use ")
    t.settle(0.6)                     # time for a menu to pop up, if one would
    assert "node001" not in t.text[t.pos:]
    t.send("no\t")                   # the part every node shares
    t.settle()
    t.send("\t")
    t.expect(LISTED("", "device use node00"))
    names = t.matched.splitlines()[1:-1]
    assert " ".join(names).split() == [
        "node001", "node002", "node003", "node004", "node005", "node006"]   # each once
    t.send("3\r")
    t.expect(prompt("->device[node003]"))
    t.line("quit")
    assert t.eof() == 0


def test_many_choices_ask_before_listing(cm):
    assert cm("-c", "device; foreach -o node001 --next-ip -n c[001-120] (); commit").returncode == 0
    t = Term(cm, cols=80)
    t.expect(prompt(""))
    t.send("device use \t\t")
    t.expect("Display all 129 possibilities? (y or n)")
    t.send("n")
    t.settle()
    assert "node006" not in t.text[t.pos:]
    t.send("\t")
    t.expect("Display all 129 possibilities? (y or n)")
    t.send("y")
    t.expect(LISTED("", "device use "))
    assert "c120" in t.matched and "node006" in t.matched
    t.send("\x15")
    t.line("quit")
    assert t.eof() == 0


def test_the_menu_is_an_option(cm):
    """`--completion menu` (or the `completion menu` command): prompt_toolkit's menu follows
    the cursor while typing; an entry is shown once (no meta repeating it: `auto  AUTO`)."""
    t = Term(cm, "--completion", "menu", cols=80)
    t.expect(prompt(""))
    t.send("device use node00")
    t.expect("node005")               # the menu, unasked
    t.send("\x15")
    t.line("completion")
    t.expect("Completion: menu")
    t.command("device use node001", "->device[node001]")
    t.send("set installmode ")
    t.expect("nosync")
    t.settle()
    shown = t.text[t.pos:]
    assert "AUTO" not in shown and "NOSYNC" not in shown
    t.send("\x15")
    t.line("completion readline")
    t.expect("Completion: readline")
    t.expect(prompt("->device[node001]"))
    t.send("set installmode ")
    t.settle(0.6)
    assert "nosync" not in t.text[t.pos:]
    t.send("\x15")
    t.line("quit")
    assert t.eof() == 0


def test_stars_through_set_and_commit_and_ctrl_c_keeps_edits(cm):
    t = Term(cm)
    t.expect(prompt(""))
    t.command("category use default", "->category[default]")
    t.command("roles; use docker::host; set iptables no", "->category*[default*]->roles*[Docker::Host*]")
    t.send("half a line")
    t.settle()
    t.child.sendcontrol("c")                 # drops the typed line, keeps the staged edit
    t.expect(prompt("->category*[default*]->roles*[Docker::Host*]"))
    assert t.command("get iptables", "->category*[default*]->roles*[Docker::Host*]").strip().endswith("no")
    t.command("commit", "->category[default]->roles[Docker::Host]")
    t.line("quit")                           # nothing pending: no question
    assert t.eof() == 0
    assert "quit anyway" not in t.text
    res = cm("-c", "category use default; roles; get docker::host iptables")
    assert res.stdout == "no\n"


def test_quit_with_uncommitted_changes_asks_once(cm):
    t = Term(cm)
    t.expect(prompt(""))
    t.command("device use node001; set notes pending", "->device*[node001*]")
    t.line("quit")
    t.expect("There is 1 uncommitted change; quit anyway? (yes/no)")
    t.command("no", "->device*[node001*]")
    t.child.sendeof()                        # Ctrl-D asks the same question
    t.expect("quit anyway? (yes/no)")
    t.child.sendcontrol("c")                 # Ctrl-C at the question: stay
    t.expect(prompt("->device*[node001*]"))
    t.line("quit")
    t.expect("quit anyway? (yes/no)")
    t.line("yes")
    assert t.eof() == 0


def test_no_question_with_Q_or_quitconfirmation_off(cm):
    t = Term(cm, "-Q")
    t.expect(prompt(""))
    t.line("device use node001; set notes pending; quit")
    assert t.eof() == 0
    t = Term(cm)
    t.expect(prompt(""))
    t.line("quitconfirmation off")
    t.expect("Quit confirmation: off")
    t.command("device use node001; set notes pending", "->device*[node001*]")
    t.child.sendeof()
    assert t.eof() == 0
    assert "quit anyway" not in t.text


def test_a_pasted_block_runs_line_by_line(cm):
    t = Term(cm)
    t.expect(prompt(""))
    t.send("\x1b[200~device use node001\nget ip\nhome\x1b[201~")   # bracketed paste
    t.settle()
    t.send("\r")
    assert "10.141.0.1" in t.expect(prompt(""))
    t.line("quit")
    assert t.eof() == 0


# -- history ----------------------------------------------------------------------------------------
def test_history_across_two_runs(cm, home):
    t = Term(cm)
    t.expect(prompt(""))
    t.command("device use node003", "->device[node003]")
    t.command("home", "")
    t.line("quit")
    t.eof()
    path = home / ".cmshell_history"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600

    # No waiting for the screen to settle: prompt_toolkit reads the history file while it draws
    # the first prompt (before it reads any key) and handles keys in the order they come.
    t = Term(cm)
    t.expect(prompt(""))
    t.send("\x1b[A\x1b[A\x1b[A\r")          # Up three times: `device use node003` of the last run
    t.expect(prompt("->device[node003]"))
    t.command("home", "")
    t.child.sendcontrol("r")                 # Ctrl-R: reverse search; Enter runs what it found
    t.send("node0\r")
    t.expect(prompt("->device[node003]"))
    t.line("history")
    # the typed line may be drawn more than once (as typed, then as accepted): the output is
    # what follows its last drawing
    out = t.expect(prompt("->device[node003]")).rsplit("]% history\n", 1)[-1]
    assert out.strip().splitlines() == [
        "1 device use node003", "2 home", "3 quit",             # the first run
        "4 device use node003", "5 home", "6 device use node003", "7 history"]
    out = t.command("history -t 1", "->device[node003]")
    assert re.search(r"^\d+ \w{3} \w{3} \d{1,2} \d\d:\d\d:\d\d \d{4} history -t 1$", out.strip().splitlines()[-1])
    t.line("quit")
    t.eof()


# -- the editor ---------------------------------------------------------------------------------------
EDITOR = """#!/bin/sh
# a scripted editor: appends a line, or leaves the file alone when $KEEP is set
[ -n "$KEEP" ] && exit 0
echo "# edited by the test" >> "$1"
"""


@pytest.fixture
def editor(tmp_path):
    path = tmp_path / "editor.sh"
    path.write_text(EDITOR)
    path.chmod(0o755)
    return path


def test_set_blob_without_value_opens_the_editor(cm, editor):
    app = "kubernetes; appgroups; use system; applications; use calico"
    before = cm("-c", f"{app}; get config").stdout
    t = Term(cm, env={"EDITOR": str(editor)})
    t.expect(prompt(""))
    t.line(app)
    where = "->kubernetes[default]->appgroups[system]->applications[calico]"
    t.expect(prompt(where))
    t.line("set config")
    t.expect(prompt(where.replace("kubernetes[default]", "kubernetes*[default*]")
                    .replace("appgroups[system]", "appgroups*[system*]")
                    .replace("applications[calico]", "applications*[calico*]")))
    t.command("commit", where)
    t.line("quit")
    t.eof()
    after = cm("-c", f"{app}; get config").stdout
    assert after == before + "# edited by the test\n"


def test_an_unchanged_save_changes_nothing(cm, editor):
    t = Term(cm, env={"VISUAL": str(editor), "KEEP": "1"})
    t.expect(prompt(""))
    t.line("kubernetes; appgroups; use system; applications; use calico; set config; modified")
    assert "No modified objects" in t.expect(prompt(
        "->kubernetes[default]->appgroups[system]->applications[calico]"))
    t.line("quit")
    assert t.eof() == 0


# -- events ---------------------------------------------------------------------------------------------
def test_events_print_above_the_prompt_without_breaking_the_typed_line(cm):
    t = Term(cm)
    t.expect(prompt(""))
    t.line("device use node001; set notes mine; commit")
    t.expect("[notice] basecm10: Committed 1 Device (node001)")   # this session's commit
    t.expect(prompt("->device[node001]"))
    t.send("use nod")                                              # half typed …
    t.settle()
    res = cm("-c", "device use node002; set notes theirs; commit")   # … another session commits
    assert res.returncode == 0
    t.expect(f"[notice] basecm10: Committed 1 Device (node002) by {journal_user()}")
    t.send("e004\r")                                              # … the line is still there
    t.expect(prompt("->device[node004]"))
    assert re.search(r"\w{3} \w{3} \d{1,2} \d\d:\d\d:\d\d \d{4} \[notice\] basecm10: Committed 1 Device "
                     r"\(node002\) by " + re.escape(journal_user()), t.text)
    t.line("events off")
    t.expect("Broadcast events: off")
    t.expect(prompt("->device[node004]"))
    assert cm("-c", "device use node003; set notes theirs; commit").returncode == 0
    deadline = time.monotonic() + 15                             # the watcher polls twice a second
    while True:
        t.line("events 1")
        if "(node003)" in t.expect(prompt("->device[node004]")) or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    out = t.command("events", "->device[node004]")
    assert "Private events: off\nBroadcast events: off\nLevel: notice\n" in out
    assert f"Committed 1 Device (node003) by {journal_user()}" in out          # kept, shown on request
    t.line("quit")
    assert t.eof() == 0


def test_a_failing_watcher_says_so_once_instead_of_dying_silently(cm):
    """The watcher of other sessions' commits reads the journal twice a second; when the store
    turns unreadable under it, one [error] event says so and the shell goes on."""
    t = Term(cm)
    t.expect(prompt(""))
    with open(cm.db, "r+b") as fh:             # the store is damaged under the running shell
        fh.write(b"this is not an SQLite file any more" * 4)
    t.expect("[error] basecm10: Stopped watching for other sessions' commits")
    t.line("quitconfirmation")
    t.expect("Quit confirmation: on")
    assert t.text.count("Stopped watching") == 1
    t.line("quit")
    t.eof()


# -- the OS shell, pipes, the pager, colours --------------------------------------------------------------
def test_shell_escapes_and_pipes(cm):
    t = Term(cm, env={"SHELL": "/bin/sh"})
    t.expect(prompt(""))
    t.line("!echo from-the-shell")
    t.expect("from-the-shell")
    t.expect(prompt(""))
    t.line("!")                                 # a bare ! opens $SHELL
    t.settle()
    t.line("echo inside-$((6*7)); exit")
    t.expect("inside-42")
    t.expect(prompt(""))
    assert t.command("device; list | grep gpu0 | wc -l", "->device").strip().splitlines()[-1].strip() == "2"
    t.line("quit")
    assert t.eof() == 0


def test_pager_only_when_the_output_does_not_fit(cm, tmp_path):
    pager = tmp_path / "pager.sh"
    pager.write_text('#!/bin/sh\necho "PAGER($(wc -l))"\n')
    pager.chmod(0o755)
    t = Term(cm, env={"PAGER": str(pager)})
    t.expect(prompt(""))
    assert t.command("device get node001 ip", "").strip().endswith("10.141.0.1")
    t.line("device; help")                      # the Top and device blocks: more than 24 lines
    out = t.expect(prompt("->device"))
    m = re.search(r"PAGER\((\d+)\)", out)
    assert m and int(m.group(1)) > 24, out
    assert "PAGER" not in t.text.split("device; help")[0]
    t.line("quit")
    t.eof()


def test_colours_follow_the_terminal_and_can_be_turned_off(cm):
    colour = re.compile(r"\x1b\[[0-9;]*3[0-7](;1)?m|\x1b\[[0-9;]*9[0-7]m")

    def typed_colour(*args, env=None, wait=15.0):
        t = Term(cm, *args, env=env)
        t.expect(prompt(""))
        start = len(t.raw)
        t.send("device use node001")         # highlighted as soon as pygments is loaded
        deadline = time.monotonic() + wait
        while not colour.search(t.raw, start) and time.monotonic() < deadline:
            t._pump(0.1)
        found = colour.search(t.raw, start) is not None
        t.send("\x15")                         # Ctrl-U: clear the line
        t.line("quit")
        t.eof()
        return found

    assert typed_colour()
    assert not typed_colour("--color", "no", wait=1.5)
    assert not typed_colour(env={"NO_COLOR": "1"}, wait=1.5)


@pytest.mark.skipif(sys.platform == "darwin", reason="Linux terminal behaviour")
def test_no_terminal_output_when_stdout_is_redirected(cm, tmp_path):
    out = tmp_path / "out.txt"
    argv = cm.argv()
    cmd = " ".join(f"'{a}'" for a in argv) + f" > '{out}'"
    child = pexpect.spawn("/bin/sh", ["-c", cmd], env=cm.env(PROMPT_TOOLKIT_NO_CPR="1", TERM="xterm"),
                          cwd=str(cm.cwd), encoding="utf-8", timeout=15, dimensions=(24, 100))
    child.expect(r"basecm10\]%")
    child.send("device get node001 ip\r")
    child.expect(r"basecm10\]%")
    child.send("quit\r")
    child.expect(pexpect.EOF)
    assert out.read_text() == "10.141.0.1\n"      # results on stdout, the prompt on the terminal
    assert os.path.getsize(out) == len("10.141.0.1\n")
