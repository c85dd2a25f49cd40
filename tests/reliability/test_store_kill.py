"""SIGKILL during large commits never leaves a half-applied commit behind.

The kill moments come from the `seed` fixture (tests/conftest.py): CMSHELL_TEST_SEED=N replays
a run; a failure reports its seed."""
from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:       # plain `pytest tests/` (no __init__.py, no install)
    sys.path.insert(0, str(ROOT))

from cmshell.store import Change, new_id, open_store  # noqa: E402

N = 20_000
PAD = "x" * 120

# Commits generation after generation of N updates; logs "begin g" / "done g" around each.
WRITER = r"""
import sys
from cmshell.store import open_store, Change
db, log = sys.argv[1], sys.argv[2]
s = open_store(db)
with open(log, "a", buffering=1) as out:
    while True:
        recs = s.load("device")
        gen = recs[0].doc["gen"] + 1
        changes = [Change(r.id, "device", r.name, r.revision, {**r.doc, "gen": gen}) for r in recs]
        out.write(f"begin {gen}\n")
        s.commit(changes, user="writer", comment=f"gen {gen}")
        out.write(f"done {gen}\n")
"""


def last_marks(log: Path) -> tuple[int, int]:
    """(last generation begun, last generation known committed) according to the log."""
    begun = done = 0
    if log.exists():
        for line in log.read_text().splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[1].isdigit():
                if parts[0] == "begin":
                    begun = int(parts[1])
                elif parts[0] == "done":
                    done = int(parts[1])
    return begun, done


def begin_count(log: Path) -> int:
    return log.read_text().count("begin ") if log.exists() else 0


def check_consistent(db: Path, begun: int, done: int) -> int:
    conn = sqlite3.connect(str(db))
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    finally:
        conn.close()
    s = open_store(db)
    try:
        recs = s.load("device")
        assert len(recs) == N
        gens = {r.doc["gen"] for r in recs}
        assert len(gens) == 1, f"half-applied commit: generations {sorted(gens)[:5]}..."
        gen = gens.pop()
        # every commit that reported success is there; at most the one in flight is extra
        assert done <= gen <= max(begun, done), (gen, begun, done)
        assert {r.revision for r in recs} == {gen + 1}
        # journal: the initial load plus one entry per generation, the last one matching
        journal = s.journal()
        assert len(journal) == gen + 1
        assert [e.comment for e in journal[1:]] == [f"gen {g}" for g in range(1, gen + 1)]
        if gen:
            last = s.journal_entry(journal[-1].seq)
            assert len(last.changes) == N
            assert all(c.new == {"gen": gen} and c.old == {"gen": gen - 1}
                       for c in last.changes)
        return gen
    finally:
        s.close()


def test_sigkill_during_large_commits(tmp_path, seed):
    db = tmp_path / "cmsh.db"
    s = open_store(db)
    s.commit([Change(new_id(), "device", f"node{i:05d}", None,
                     {"hostname": f"node{i:05d}", "gen": 0, "pad": PAD}) for i in range(N)],
             user="root", comment="load")
    s.close()

    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    rng = random.Random(seed)
    log = tmp_path / "writer.log"
    mid_commit = 0
    deadline = time.monotonic() + 12
    for round_no in range(6):
        if time.monotonic() > deadline:
            break
        begins = begin_count(log)
        p = subprocess.Popen([sys.executable, "-c", WRITER, str(db), str(log)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                             env=env, cwd=str(ROOT))
        try:
            if round_no % 2 == 0:
                # any moment: start-up, open, load, commit, checkpoint...
                time.sleep(rng.uniform(0.05, 1.2))
            else:
                # aim inside a commit: wait for a "begin" line, then a short random delay
                t_end = time.monotonic() + 10
                while begin_count(log) == begins and time.monotonic() < t_end:
                    assert p.poll() is None, p.stderr.read().decode()
                    time.sleep(0.005)
                time.sleep(rng.uniform(0.0, 0.3))
            assert p.poll() is None, p.stderr.read().decode()
            os.kill(p.pid, signal.SIGKILL)
            p.wait(timeout=10)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
            p.stderr.close()
        begun, done = last_marks(log)
        if begun > done:
            mid_commit += 1
        try:
            check_consistent(db, begun, done)
        except AssertionError as exc:
            raise AssertionError(f"round {round_no} (random seed {seed}): {exc}") from None
    assert mid_commit >= 1, f"no kill landed inside a commit (random seed {seed})"
