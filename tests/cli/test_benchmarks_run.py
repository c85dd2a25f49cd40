"""Every benchmark that needs no other server still runs, at a tiny size: a script that nobody
runs for a while must not rot (bench_scale's journal row once did). The figures are not checked:
the benchmarks measure speed, tests never time."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.mark.parametrize("argv", [
    ["bench_scale.py", "--nodes", "300", "--commits", "3", "--touch", "20", "--runs", "1"],
    ["bench_bulk.py", "--nodes", "200", "--runs", "1"],
    ["bench_core.py", "--nodes", "200", "--runs", "1", "--commit-runs", "1"],
    ["bench_inherit.py", "--nodes", "200", "--runs", "1"],
    ["bench_repl.py", "--nodes", "200", "--runs", "1", "--samples", "2"],
], ids=lambda argv: argv[0])
def test_the_benchmark_runs(argv, cm):
    res = subprocess.run([sys.executable, *argv], cwd=BENCH, capture_output=True, text=True, timeout=300,
                         env=cm.env())
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-3000:]
    assert "Traceback" not in res.stderr and res.stdout.strip()
