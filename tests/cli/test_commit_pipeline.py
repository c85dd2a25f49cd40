"""The one commit path (cmshell/commit.py): the Committed value, the commit-notice race between two
sessions on one store, the events of a batch run's own commits, --load through the Committer."""
from __future__ import annotations

import io

from conftest import DEMO_YAML, journal_user, session_on
from cmshell import cli, events
from cmshell.env import Environment
from cmshell.store import open_store


def test_commit_returns_what_it_stored(db, shared_cache):
    store = open_store(db)
    s = session_on(store, shared_cache)
    seen = []
    s.committer.after.append(seen.append)
    assert s.run_line("device use node001; set notes hello")
    before = dict(store.get("device", "node001").doc)
    rid = s.ws.find("device", "node001")
    done = s.committer.commit([rid], comment="why")
    assert seen == [done]
    assert done.seq == store.journal(1)[-1].seq and done.user == journal_user() and done.comment == "why"
    (ch,) = done.changes
    assert (ch.mode, ch.name, ch.action) == ("device", "node001", "modified")
    assert ch.before == before and ch.after["notes"] == "hello" and "notes" not in before
    assert done.revisions == {rid: store.get("device", "node001").revision}
    assert s.committer.commit([rid]) is None            # nothing staged any more
    store.close()


def test_the_commit_notice_names_this_sessions_commit_even_when_another_commits_in_between(db, shared_cache):
    """Before the Committer, the notice took `journal(1)` after committing: a commit of another
    session in between was taken for this session's own, and its notice was hidden."""
    mine, theirs = open_store(db), open_store(db)
    a, b = session_on(mine, shared_cache), session_on(theirs, shared_cache)
    assert b.run_line("device use node002; set notes theirs")
    real_commit = mine.commit

    def commit_then_other_session_commits(*args, **kw):
        done = real_commit(*args, **kw)
        assert b.run_line("commit")                 # lands right after ours, before we look
        return done

    mine.commit = commit_then_other_session_commits
    assert a.run_line("device use node001; set notes mine; commit"), a.err.getvalue()
    ours, other = [e.seq for e in mine.journal(2)]
    assert a.events.own == {ours} and other not in a.events.own
    (notice,) = [e for e in a.events.log if e.kind == events.COMMIT]
    assert notice.seq == ours and notice.text == "Committed 1 Device (node001)"
    mine.close()
    theirs.close()


def test_a_batch_run_prints_the_events_of_its_own_commits_after_the_command(db, shared_cache, tmp_path):
    """Backends post events about a commit (seq = the commit); -c prints them right after the
    command that committed, and leaves the commit notice itself to `events`."""
    from cmshell.runner import Runner
    out, err = io.StringIO(), io.StringIO()
    env = Environment(stdin=io.StringIO(), stdout=out, stderr=err,
                      environ={"HOME": str(tmp_path), "USER": "tester", "XDG_CACHE_HOME": str(shared_cache)})
    args = cli.parser().parse_args(["--db", str(db), "-n", "-c",
                                    "device use node001; set notes x; commit; get notes; events"])
    runner = Runner(args, env)
    q = runner.session.events
    runner.session.committer.after.append(
        lambda c: q.post("notice", "node001", "Service docker was restarted", kind=events.SERVICE, seq=c.seq))
    q.post("notice", "node009", "not ours")                     # no commit of this run: waits
    try:
        assert runner.run() == 0, err.getvalue()
    finally:
        runner.close()
    lines = out.getvalue().splitlines()
    assert lines[0].endswith("[notice] node001: Service docker was restarted")
    assert lines[1] == "x"                                       # `get notes` comes after
    assert lines[2:5] == ["Private events: on", "Broadcast events: on", "Level: notice"]
    assert any(line.endswith("node009: not ours") for line in lines[5:])
    assert any(line.endswith("basecm10: Committed 1 Device (node001)") for line in lines[5:])


def test_load_goes_through_the_committer(tmp_path, shared_cache):
    from cmshell.shell import cluster_io
    store = open_store(tmp_path / "new.db")
    s = session_on(store, shared_cache)
    seen = []
    s.committer.after.append(seen.append)
    n = cluster_io.load(s.committer, str(DEMO_YAML))
    assert len(seen) == 1 and len(seen[0].changes) == n and seen[0].comment == f"load {DEMO_YAML}"
    assert {c.action for c in seen[0].changes} == {"added"}
    store.close()


def test_load_streams_batches_into_one_commit_and_checks_pointers_last(tmp_path, shared_cache):
    import pytest
    from cmshell.commit import CommitRefused
    store = open_store(tmp_path / "new.db")
    s = session_on(store, shared_cache)
    read = []

    def objects(last_category):
        for i in range(10):
            read.append(i)
            yield "device", {"hostname": f"n{i:02d}", "type": "physicalnode", "category": "later"}
        yield "category", {"name": last_category}

    with pytest.raises(CommitRefused) as e:            # the pointer is checked after the last object
        s.committer.load(objects("other"), batch=3)
    assert len(e.value.problems) == 10 and e.value.problems[0].message == "category later does not exist"
    assert store.is_empty() and store.journal() == [] and read == list(range(10))
    done = s.committer.load(objects("later"), batch=3, comment="streamed")
    assert len(done.changes) == 11 and [e.comment for e in store.journal()] == ["streamed"]
    assert [(g.mode, g.count) for g in done.groups] == [("category", 1), ("device", 10)]
    assert s.ws.names("device").keys() == {f"n{i:02d}" for i in range(10)}     # the session sees them
    store.close()


def test_load_of_a_file_pyyaml_must_read_whole(tmp_path, shared_cache):
    from cmshell.shell import cluster_io
    src = tmp_path / "flow.yaml"
    src.write_text("category: [{name: c}]\ndevice: [{hostname: n1, type: physicalnode, category: c}]\n")
    store = open_store(tmp_path / "new.db")
    s = session_on(store, shared_cache)
    assert cluster_io.load(s.committer, str(src)) == 2
    assert store.get("device", "n1").doc == {"hostname": "n1", "type": "physicalnode", "category": "c"}
    store.close()
