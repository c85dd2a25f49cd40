"""SIGKILL a real cmshell process during a large commit: the store stays consistent.

A 10,000-node cluster (fixtures/generate.py) gets a batch file of 10,000 `set nodeNNNNN notes x`
lines and one `commit`; the process is killed at random moments (and once while the commit is
being written). Afterwards the store passes `PRAGMA integrity_check`, opens fine in cmshell, and
holds either all 10,000 changes (with their journal entry) or none of them.

The kill moments come from the `seed` fixture: CMSHELL_TEST_SEED=N replays a run; a failure
reports its seed.
"""
from __future__ import annotations

import json
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import GENERATE, Cmshell, assert_ok, copy_store

N = 10_000


@pytest.fixture(scope="module")
def big(tmp_path_factory, shared_cache):
    """(template store of the 10,000-node cluster, the batch file, a Cmshell to run things)."""
    d = tmp_path_factory.mktemp("big")
    home = d / "home"
    home.mkdir()
    yml = d / "cluster10k.yaml"
    with open(yml, "w") as fh:
        subprocess.run([sys.executable, str(GENERATE), "--nodes", str(N)], stdout=fh, check=True)
    db = d / "template.db"
    cm = Cmshell(home, shared_cache, db, d)
    assert_ok(cm("--load", str(yml)))
    batch = d / "batch.cmsh"
    batch.write_text("device\n" + "".join(f"set node{i:05d} notes x\n" for i in range(1, N + 1)) + "commit\n")
    return db, batch, cm


def state(db: Path, seed: int | None = None) -> str:
    """'none' or 'all' (of the batch's changes), after checking the store is consistent."""
    conn = sqlite3.connect(str(db))
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        (total,) = conn.execute("SELECT count(*) FROM objects WHERE mode='device'").fetchone()
        assert total == N + 1                                         # the nodes and the head node
        (done,) = conn.execute("SELECT count(*) FROM objects WHERE mode='device' "
                               "AND json_extract(doc, '$.notes') = 'x'").fetchone()
        revs = dict(conn.execute("SELECT json_extract(doc, '$.notes') IS 'x', max(revision) "
                                 "FROM objects WHERE mode='device' AND name != 'basecm10' GROUP BY 1"))
        journal = conn.execute("SELECT summary FROM journal ORDER BY seq").fetchall()
    finally:
        conn.close()
    assert done in (0, N), f"half-applied commit: {done} of {N} nodes changed (seed {seed})"
    assert len(journal) == (2 if done else 1), f"journal has {len(journal)} entries, {done} changed"
    if done:
        assert revs == {1: 2}
        (group,) = json.loads(journal[-1][0])
        assert group[:3] == ["device", "modified", N] and group[4][0] == "node00001"
    else:
        assert revs == {0: 1}
    return "all" if done else "none"


def opens_fine(cm: Cmshell, db: Path, outcome: str) -> None:
    res = cm("-c", "device; get node00001 notes; get node10000 notes; use node05000; get ip", db=db)
    assert_ok(res)
    value = "x" if outcome == "all" else ""
    assert res.stdout.splitlines()[:2] == [value, value]


def run_batch(cm: Cmshell, db: Path, batch: Path) -> subprocess.Popen:
    return subprocess.Popen(cm.argv("-f", str(batch), db=db), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=cm.cwd, env=cm.env())


def test_the_full_batch_commits_everything(big, tmp_path):
    template, batch, cm = big
    db = copy_store(template, tmp_path / "full.db")
    t0 = time.monotonic()
    res = cm.process("-f", str(batch), db=db)     # a process: its time sets the kill moments below
    elapsed = time.monotonic() - t0
    assert_ok(res)
    assert res.stdout == "Successfully committed 10000 Devices\n"
    assert state(db) == "all"
    opens_fine(cm, db, "all")
    big_timing["full"] = elapsed


big_timing: dict[str, float] = {}


def test_sigkill_at_random_moments_is_all_or_nothing(big, tmp_path, seed):
    template, batch, cm = big
    rng = random.Random(seed)
    full = big_timing.get("full", 2.0)
    outcomes = []
    for k in range(5):
        db = copy_store(template, tmp_path / f"kill{k}.db")
        proc = run_batch(cm, db, batch)
        # most of the run is staging; aim the later kills near the end, where the commit is
        delay = rng.uniform(0.05, 0.6) * full if k < 2 else rng.uniform(0.6, 1.1) * full
        try:
            proc.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
        out, err = proc.communicate(timeout=60)
        assert b"Traceback" not in err, f"seed {seed}"
        outcome = state(db, seed)
        if proc.returncode == 0:
            assert outcome == "all", f"seed {seed}"
        else:
            assert proc.returncode == -signal.SIGKILL, f"seed {seed}"
        opens_fine(cm, db, outcome)
        outcomes.append((round(delay, 3), proc.returncode, outcome))
    print(f"seed {seed}: {outcomes}")


def test_sigkill_while_the_commit_is_being_written(big, tmp_path):
    """Watch the WAL: the moment the commit starts writing it, kill the process."""
    template, batch, cm = big
    outcomes = []
    for k in range(2):
        db = copy_store(template, tmp_path / f"wal{k}.db")
        wal = Path(str(db) + "-wal")
        proc = run_batch(cm, db, batch)
        start = wal.stat().st_size if wal.exists() else 0
        grown = None
        deadline = time.monotonic() + 60
        while proc.poll() is None and time.monotonic() < deadline:
            size = wal.stat().st_size if wal.exists() else 0
            if size > start + (64 << 10) * (k + 1):
                proc.send_signal(signal.SIGKILL)
                grown = size
                break
            time.sleep(0.0005)
        out, err = proc.communicate(timeout=60)
        assert b"Traceback" not in err
        outcome = state(db)
        assert outcome == "all" if proc.returncode == 0 else proc.returncode == -signal.SIGKILL
        opens_fine(cm, db, outcome)
        # and the store takes the same commit afterwards
        assert_ok(cm("-f", str(batch), db=db) if outcome == "none" else cm("-c", "device; list -f hostname", db=db))
        assert state(db) == "all"
        outcomes.append((grown, proc.returncode, outcome))
    print(f"WAL kills: {outcomes}")
