"""The parts of the interactive shell that run without a terminal: the history file, events,
the pager's decision, the history suggestions, the lexer, and their commands through `-c`."""
from __future__ import annotations

import datetime
import os
import re
import stat
import subprocess
import sys
import threading

import pytest

from conftest import assert_ok, session_on
from cmshell import events
from cmshell.commit import summary
from cmshell.repl import history, pager
from cmshell.shell import history_file


# -- the history file ---------------------------------------------------------------------------------
def test_history_file_is_private_and_round_trips(tmp_path):
    path = str(tmp_path / ".cmshell_history")
    t0 = datetime.datetime(2015, 12, 3, 15, 15, 18)
    history_file.append(path, "device use node001", t0)
    history_file.append(path, "set notes x\nset notes y")          # a pasted block is one entry
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    got = history_file.read(path)
    assert [line for _, line in got] == ["device use node001", "set notes x\nset notes y"]
    assert got[0][0] == t0.timestamp()


def test_history_file_written_by_prompt_toolkit_reads_back(tmp_path):
    from prompt_toolkit.history import FileHistory
    path = str(tmp_path / "h")
    FileHistory(path).store_string("category use default")
    assert [line for _, line in history_file.read(path)] == ["category use default"]


def test_history_is_trimmed_to_the_newest_entries(tmp_path):
    path = str(tmp_path / "h")
    for i in range(30):
        history_file.append(path, f"get node{i:03d} ip")
    history_file.trim(path, keep=10)
    assert [line for _, line in history_file.read(path)] == [f"get node{i:03d} ip" for i in range(20, 30)]
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_an_unwritable_history_file_keeps_history_in_memory(tmp_path):
    h = history.prompt_history(str(tmp_path / "no-such-dir" / "h"))
    h.append_string("device")
    h.append_string("list")
    assert list(h.get_strings()) == ["device", "list"]


def test_history_command(cm, home):
    history_file.append(str(home / ".cmshell_history"), "device use node001", datetime.datetime(2015, 12, 3, 15, 15, 18))
    for line in ["roles", "list", "home", "category", "list", "exit", "quit", "device", "modified"]:
        history_file.append(str(home / ".cmshell_history"), line)
    res = cm("-c", "history")
    assert_ok(res)
    assert res.stdout.splitlines()[0] == " 1 device use node001"
    assert res.stdout.splitlines()[-1] == "10 modified"
    res = cm("-c", "history -t 2")
    assert len(res.stdout.splitlines()) == 2 and res.stdout.startswith(" 9 ")
    res = cm("-c", "history --timestamps 10")
    assert res.stdout.splitlines()[0] == " 1 Thu Dec 3 15:15:18 2015 device use node001"
    res = cm("-c", "history -x")
    assert res.returncode == 1 and "history" in res.stderr


# -- suggestions from history ---------------------------------------------------------------------------
@pytest.mark.parametrize("typed,offered", [
    ("dev", "device use node001; set notes x"),    # the newest safe line
    ("co", None),                                  # `commit` is never offered
    ("device re", None),                           # nor `device remove node003`
    ("category use default; ref", None),           # nor a refresh
    ("cat", "category use default"),
])
def test_history_suggestions_never_offer_destructive_lines(typed, offered):
    from prompt_toolkit.buffer import Buffer
    from prompt_toolkit.document import Document
    from prompt_toolkit.history import InMemoryHistory

    from cmshell.repl.app import _suggester
    h = InMemoryHistory()
    for line in ["category use default", "commit", "device remove node003", "category use default; refresh",
                 "device use node001; set notes x", "commit -m done"]:
        h.append_string(line)
    buf = Buffer(history=h)
    got = _suggester().get_suggestion(buf, Document(typed))
    assert (typed + got.text if got else None) == offered


# -- events -----------------------------------------------------------------------------------------------
def test_event_lines_look_like_cmsh():
    when = datetime.datetime(2024, 10, 31, 15, 58, 56).timestamp()
    ev = events.Event(when, "notice", "basecm10", "Service shorewall was restarted")
    assert ev.line() == "Thu Oct 31 15:58:56 2024 [notice] basecm10: Service shorewall was restarted"
    assert events.stamp(datetime.datetime(2022, 5, 2, 16, 32, 1).timestamp()) == "Mon May 2 16:32:01 2022"


def test_queue_levels_channels_and_listener():
    q = events.EventQueue()
    calls = []
    q.post("notice", "h", "no listener: kept for `events`")
    assert [e.text for e in q.take_undisplayed()] == ["no listener: kept for `events`"]
    q.listener = lambda: calls.append(1)
    q.post("info", "h", "below the level")
    q.post("warning", "h", "shown")
    q.broadcast = False
    q.post("notice", "h", "broadcast while off", broadcast=True)
    assert [e.text for e in q.take_pending()] == ["shown"] and calls == [1]
    assert [e.text for e in q.take_undisplayed()] == ["broadcast while off"]
    assert [e.text for e in q.last(10)] == ["no listener: kept for `events`", "below the level", "shown",
                                            "broadcast while off"]
    assert [e.text for e in q.last(10, "warning")] == ["shown"]


def test_queue_takes_posts_from_many_threads():
    q = events.EventQueue(keep=10_000)
    q.listener = lambda: None
    threads = [threading.Thread(target=lambda i=i: [q.post("notice", "h", f"{i}-{k}") for k in range(200)])
               for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(q.take_pending()) == 1600


def test_commit_summaries():
    from cmshell.model.schema import load_schema
    schema = load_schema()
    assert summary(schema, [("device", "node001", "modified")]) == "Committed 1 Device (node001)"
    got = summary(schema, [("device", f"n{i}", "added") for i in range(7)] + [("category", "x", "removed")])
    assert got == "Removed 1 Category (x); Committed 7 Devices (n0, n1, n2, n3, n4, … (+2 more))"


def test_events_and_quitconfirmation_commands(cm):
    res = cm("-c", "events")
    assert_ok(res)
    assert res.stdout == "Private events: on\nBroadcast events: on\nLevel: notice\n"
    res = cm("-c", "events off private; events level warning; events")
    assert res.stdout == ("Private events: off\nLevel: warning\n"
                          "Private events: off\nBroadcast events: on\nLevel: warning\n")
    res = cm("-c", "events level loud")
    assert res.returncode == 1 and res.stderr.startswith("Usage: events level")
    res = cm("-c", "quitconfirmation; quitconfirmation off; quitconfirmation")
    assert res.stdout == "Quit confirmation: on\nQuit confirmation: off\nQuit confirmation: off\n"


def test_completion_command_and_option(cm):
    res = cm("-c", "completion; completion menu; completion")
    assert res.stdout == "Completion: readline\nCompletion: menu\nCompletion: menu\n"
    assert cm("--completion", "menu", "-c", "completion").stdout == "Completion: menu\n"
    res = cm("-c", "completion popup")
    assert res.returncode == 1 and res.stderr == "Usage: completion [readline|menu]\n"
    assert cm("--completion", "popup", "-c", "completion").returncode == 2


def test_a_commit_posts_an_event_that_a_batch_run_keeps(cm):
    res = cm("-c", "device use node001; set notes x; commit; events")
    assert_ok(res)
    lines = res.stdout.splitlines()
    assert lines[:3] == ["Private events: on", "Broadcast events: on", "Level: notice"]
    assert re.fullmatch(r"\w{3} \w{3} \d{1,2} \d\d:\d\d:\d\d \d{4} \[notice\] basecm10: "
                        r"Committed 1 Device \(node001\)", lines[3])
    res = cm("-c", "device; remove gpu002; commit; events 1")
    assert res.stdout.splitlines()[-1].endswith("[notice] basecm10: Removed 1 Device (gpu002)")


def test_two_stores_on_one_file_in_one_process_both_see_new_commits(db, cm):
    """The event watcher opens a second store on the session's file; opening it must not drop the
    first one's SQLite locks (a closed descriptor of the file would), or one of them goes stale."""
    from cmshell.store import open_store
    first = open_store(db)
    first.load("device")
    seen = []

    def watch():
        second = open_store(db)
        for step in steps:
            step.wait()
            seen.append(second.journal(1)[-1].seq)
            done.set()
        second.close()

    steps = [threading.Event() for _ in range(3)]
    done = threading.Event()
    t = threading.Thread(target=watch)
    t.start()
    for i, step in enumerate(steps):
        if i:
            assert_ok(cm("-c", f"device use node001; set notes v{i}; commit"))
        done.clear()
        step.set()
        done.wait(10)
    t.join()
    assert seen == [seen[0], seen[0] + 1, seen[0] + 2]
    assert first.journal(1)[-1].seq == seen[0] + 2
    first.close()


# -- the pager's decision -----------------------------------------------------------------------------------
def test_rows_needed_counts_wrapped_lines():
    assert pager.rows_needed("", 80) == 0
    assert pager.rows_needed("a\nb\n", 80) == 2
    assert pager.rows_needed("x" * 81 + "\n", 80) == 2
    assert pager.rows_needed("\n\n", 80) == 2
    size = os.terminal_size((80, 24))
    assert pager.fits("line\n" * 23, size) and not pager.fits("line\n" * 24, size)


def test_show_pages_only_on_a_terminal_and_only_when_long(tmp_path, monkeypatch):
    import io
    marker = tmp_path / "paged"
    monkeypatch.setattr(pager, "_terminal_size", lambda: os.terminal_size((80, 10)))
    env = {"PAGER": f"cat > {marker}"}
    out = io.StringIO()
    pager.show("short\n", out, terminal=True, environ=env)
    assert out.getvalue() == "short\n" and not marker.exists()
    long = "".join(f"line {i}\n" for i in range(50))
    pager.show(long, out, terminal=False, environ=env)
    assert not marker.exists()
    pager.show(long, out, terminal=True, environ=env)
    assert marker.read_text() == long
    marker.unlink()
    out = io.StringIO()
    pager.show(long, out, terminal=True, environ={"PAGER": ""})           # empty PAGER: off
    assert out.getvalue() == long and not marker.exists()
    out = io.StringIO()
    pager.show(long, out, terminal=True, environ={"PAGER": "no-such-pager-xyz"})
    assert out.getvalue() == long                                       # no pager: written directly
    assert pager.pager_command({}) == "less -FRX"


def test_output_that_overflows_while_the_command_runs_streams_into_the_pager(tmp_path, monkeypatch):
    import io
    from cmshell.repl.app import _HeldOutput
    monkeypatch.setattr(pager, "_terminal_size", lambda: os.terminal_size((80, 10)))
    marker = tmp_path / "paged"
    out = io.StringIO()
    held = _HeldOutput(out, terminal=True, environ={"PAGER": f"cat > {marker}"})
    held.write("".join(f"line {i}\n" for i in range(5)))
    assert held.pipe is None                                      # fits so far: held
    held.write("".join(f"line {i}\n" for i in range(5, 12)))
    assert held.pipe is not None                                  # overflows: the pager has it all
    held.write("more\n")
    assert held.release() == "" and out.getvalue() == ""
    assert marker.read_text() == "".join(f"line {i}\n" for i in range(12)) + "more\n"

    held = _HeldOutput(out, terminal=True, environ={"PAGER": "head -1 >/dev/null"})   # the reader quits
    with pytest.raises(pager.PagerClosed):
        for _ in range(10000):
            held.write("x" * 79 + "\n")
    held.release()
    held = _HeldOutput(out, terminal=True, environ={"PAGER": "no-such-pager-xyz"})
    held.write("y\n" * 20)
    assert held.release() == "y\n" * 20 and out.getvalue() == ""   # no pager: held, written whole


# -- the lexer -----------------------------------------------------------------------------------------------
def test_the_lexer_gives_pygments_tokens(db, shared_cache, monkeypatch):
    import io

    from pygments.token import Error, Keyword, Name, String

    from cmshell.repl.lexer import CmshellLexer
    from cmshell.store import open_store
    store = open_store(db)
    s = session_on(store, shared_cache)
    lexer = CmshellLexer.bind(s, threading.Lock())()
    text = 'device use node001; set notes "x y"; frob\n'
    toks = list(lexer.get_tokens_unprocessed(text))
    assert "".join(v for _, _, v in toks) == text
    kinds = {v: t for _, t, v in toks if v.strip()}
    assert kinds["device"] is Keyword.Namespace and kinds["use"] is Keyword
    assert kinds["node001"] is Name.Class and kinds["notes"] is Name.Attribute
    assert kinds['"x y"'] is String.Double and kinds["frob"] is Error
    store.close()


def test_help_from_the_same_definitions(cm):
    from cmshell.commands import registry
    reg = registry.load()
    assert reg.defs["set"].synopsis() == "set [<object>] <parameter> <value> ..."
    assert reg.defs["assign"].synopsis() == "assign <role>"
    assert reg.defs["events"].synopsis() == "events [on|off|level|clear] [private|broadcast|info|notice|warning|error|alert]"
    res = cm("-c", "device; help")
    assert re.search(r"^history \.+ Show the command history", res.stdout, re.M)
    assert re.search(r"^events \.+ Show or change which events are printed", res.stdout, re.M)


def test_a_c_run_of_the_terminal_commands_stays_light(cm):
    argv = [sys.executable, "-X", "importtime"] + cm.argv("-c", "history; events; quitconfirmation")[1:]
    proc = subprocess.run(argv, capture_output=True, text=True, env=cm.env(), cwd=cm.cwd)
    assert proc.returncode == 0, proc.stderr[-2000:]
    imported = re.findall(r"^import time:\s+\d+ \|\s+\d+ \|\s*(\S+)", proc.stderr, re.M)
    assert "cmshell.shell.history_file" in imported
    assert not [m for m in imported if m.split(".")[0] in ("prompt_toolkit", "pygments")]



# -- readline's listing and the menu's entries (issue 12, item 14) ------------------------------------
def test_the_listing_goes_down_the_columns_as_readline_does():
    from cmshell.repl.listing import columns
    names = ["aufs", "devicemapper", "overlay2"]
    assert columns(names, 80) == ["aufs          devicemapper  overlay2"]
    many = [f"n{i:02d}" for i in range(1, 8)]           # 7 names of 3, cells of 5: 3 per 16 columns
    assert columns(many, 16) == ["n01  n04  n07", "n02  n05", "n03  n06"]
    assert columns(["a-very-long-name"], 5) == ["a-very-long-name"]     # at least one column
    assert columns([], 80) == []


def test_the_menu_never_repeats_an_entry_beside_itself():
    from cmshell.repl.app import menu_meta
    assert menu_meta("auto", "AUTO") == ""
    assert menu_meta("physicalnode", "PhysicalNode") == ""
    assert menu_meta("docker::host", "DockerHost") == ""
    assert menu_meta("node001", "Device") == "Device"


# -- the completion refresher ---------------------------------------------------------------------
def test_completion_answers_from_cache_until_the_background_index_is_built(db, shared_cache):
    from cmshell.repl.app import CompletionView, Repl
    from cmshell.shell.complete import suggest
    from cmshell.store import open_store
    store = open_store(db)
    s = session_on(store, shared_cache)
    view = CompletionView(s)
    assert suggest(view, "device use node0") == []            # not built yet: nothing read
    assert "device" not in s.ws.loaded_modes()
    s.ws.add("device", {"hostname": "node0new", "type": "physicalnode"})
    assert [c.text for c in suggest(view, "device use node0")] == ["node0new"]   # what is in memory
    assert "device" not in s.ws.loaded_modes()
    repl = Repl.__new__(Repl)                                   # the parts _refresh uses
    repl.session, repl.lock, repl.view, repl._stop = s, threading.RLock(), view, threading.Event()
    repl._refresh(str(db))
    assert view.ready is None and "device" in s.ws.loaded_modes()
    got = [c.text for c in suggest(view, "device use node0")]
    assert got == ["node001", "node002", "node003", "node004", "node005", "node006", "node0new"]
    store.close()
