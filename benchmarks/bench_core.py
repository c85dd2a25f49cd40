#!/usr/bin/env python3
"""Core figures of cmshell, measured on the real entry point (subprocess wall time).

    python3 benchmarks/bench_core.py [--runs N] [--nodes N] [--commit-runs N] [--keep]

Builds, in a temporary directory, a store of the demo cluster (fixtures/basecm10.yaml) and one
of a generated cluster (fixtures/generate.py, 10,000 nodes by default), then measures:

  * `python3 -c pass`                           - the interpreter's own start-up (baseline)
  * `cmshell -c "device; list"` on the demo     - target <= 150 ms
  * `cmshell -c "device; list"` on 10,000 nodes - target <= 1.5 s, peak RSS <= 250 MB
  * `cmshell -f batch` on 10,000 nodes, the batch being 10,000 `set nodeNNNNN notes x`
    lines and one `commit`                      - target <= 5 s (a fresh store copy each run)

Times are medians of N runs after one warm-up run, printed absolute and as a ratio to the
baseline. Peak RSS is resource.getrusage(RUSAGE_CHILDREN).ru_maxrss of a helper process
whose only child is the cmshell run.

Children run with PYTHONDONTWRITEBYTECODE removed from their environment, so .pyc files are
written once and then used, as they are after `pip install`; HOME and XDG_CACHE_HOME point
into the temporary directory (the schema cache is warmed by the warm-up run).
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "fixtures" / "basecm10.yaml"
GENERATE = ROOT / "fixtures" / "generate.py"

TARGET_DEMO_S = 0.150
TARGET_BIG_S = 1.5
TARGET_BIG_RSS_MB = 250
TARGET_COMMIT_S = 5.0

RSS_HELPER = r"""
import resource, subprocess, sys
rc = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode
if rc:
    sys.exit(rc)
kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss   # kilobytes on Linux
print(kb * 1024 if sys.platform != "darwin" else kb)
"""


def child_env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONDONTWRITEBYTECODE", "CMSHELL_DB", "CMSHELL_DEBUG", "PYTHONSTARTUP")}
    env.update(HOME=str(tmp / "home"), XDG_CACHE_HOME=str(tmp / "cache"),
               XDG_DATA_HOME=str(tmp / "data"), USER="bench",
               PYTHONPATH=os.pathsep.join([str(ROOT)] + [p for p in [os.environ.get("PYTHONPATH")] if p]))
    return env


def cmshell(*args: str) -> list[str]:
    return [sys.executable, "-m", "cmshell", "-n", *args]


def run(argv, env, *, check=True) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, cwd=str(ROOT))
    elapsed = time.perf_counter() - t0
    if check and proc.returncode != 0:
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(argv)}\n{proc.stderr.decode()}")
    return elapsed


def median_time(argv, env, runs: int, prepare=None) -> tuple[float, list[float]]:
    if prepare:
        prepare()
    run(argv, env)                                   # warm-up: .pyc files, schema cache, page cache
    times = []
    for _ in range(runs):
        if prepare:
            prepare()
        times.append(run(argv, env))
    return statistics.median(times), times


def peak_rss(argv, env) -> int:
    out = subprocess.run([sys.executable, "-c", RSS_HELPER, *argv], env=env, capture_output=True,
                         text=True, cwd=str(ROOT))
    if out.returncode:
        raise SystemExit(f"RSS run failed: {out.stderr}")
    return int(out.stdout.strip())


def copy_store(src: Path, dst: Path) -> None:
    for suffix in ("-wal", "-shm"):
        Path(str(dst) + suffix).unlink(missing_ok=True)
    for suffix in ("", "-wal", "-shm"):
        if Path(str(src) + suffix).exists():
            shutil.copyfile(str(src) + suffix, str(dst) + suffix)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=15, help="timed runs per figure (default 15)")
    ap.add_argument("--commit-runs", type=int, default=5, help="timed runs of the commit batch (default 5)")
    ap.add_argument("--nodes", type=int, default=10_000, help="nodes of the big cluster (default 10000)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    a = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="cmshell-bench-"))
    try:
        for d in ("home", "cache", "data"):
            (tmp / d).mkdir()
        env = child_env(tmp)
        print(f"cmshell core benchmark  (python {sys.version.split()[0]}, {os.cpu_count()} CPUs, "
              f"median of {a.runs} runs after one warm-up)")
        print("children run WITHOUT PYTHONDONTWRITEBYTECODE (unset in their environment), so .pyc files"
              " are used as after `pip install`")
        print()

        # -- stores ------------------------------------------------------------------------
        demo_db = tmp / "demo.db"
        t = run(cmshell("--db", str(demo_db), "--load", str(DEMO)), env)
        big_yaml = tmp / f"cluster{a.nodes}.yaml"
        with open(big_yaml, "w") as fh:
            subprocess.run([sys.executable, str(GENERATE), "--nodes", str(a.nodes)], stdout=fh, check=True)
        big_db = tmp / "big.db"
        tb = run(cmshell("--db", str(big_db), "--load", str(big_yaml)), env)
        print(f"setup: demo store loaded in {t:.2f} s; {a.nodes}-node store loaded in {tb:.2f} s "
              f"({big_db.stat().st_size / 2**20:.1f} MiB)")
        print()

        # -- timings -----------------------------------------------------------------------
        base, _ = median_time([sys.executable, "-c", "pass"], env, a.runs)
        base_S, _ = median_time([sys.executable, "-S", "-c", "pass"], env, a.runs)
        demo, demo_all = median_time(cmshell("--db", str(demo_db), "-c", "device; list"), env, a.runs)
        big, big_all = median_time(cmshell("--db", str(big_db), "-c", "device; list"), env, a.runs)
        rss = peak_rss(cmshell("--db", str(big_db), "-c", "device; list"), env)

        batch = tmp / "batch.cmsh"
        n = a.nodes
        width = max(3, len(str(n)))
        batch.write_text("device\n" + "".join(f"set node{i:0{width}d} notes x\n" for i in range(1, n + 1))
                         + "commit\n")
        work_db = tmp / "work.db"
        commit, commit_all = median_time(cmshell("--db", str(work_db), "-f", str(batch)), env,
                                         a.commit_runs, prepare=lambda: copy_store(big_db, work_db))

        def row(name, secs, target=None):
            ratio = secs / base
            tgt = "" if target is None else f"target <= {target * 1000:.0f} ms" if target < 1 else \
                f"target <= {target:g} s"
            ok = "" if target is None else ("  OK" if secs <= target else "  MISSED")
            print(f"  {name:<46} {secs * 1000:8.1f} ms  {ratio:6.2f}x baseline   {tgt}{ok}")

        print("wall time (median)")
        row("python3 -c pass                  (baseline)", base)
        row("python3 -S -c pass               (no site)", base_S)
        row('cmshell -c "device; list"        demo', demo, TARGET_DEMO_S)
        row(f'cmshell -c "device; list"        {n} nodes', big, TARGET_BIG_S)
        row(f"cmshell -f ({n} set + commit)  {n} nodes", commit, TARGET_COMMIT_S)
        print()
        print(f"  above baseline: demo list +{(demo - base) * 1000:.0f} ms, {n}-node list "
              f"+{(big - base) * 1000:.0f} ms, commit batch +{(commit - base) * 1000:.0f} ms")
        mb = rss / 2**20
        print(f"peak RSS of the {n}-node list: {mb:.1f} MiB   target <= {TARGET_BIG_RSS_MB} MB"
              f"{'  OK' if mb <= TARGET_BIG_RSS_MB else '  MISSED'}")
        print()
        print("all runs (ms): demo " + " ".join(f"{x * 1000:.0f}" for x in demo_all))
        print(f"               {n}-node list " + " ".join(f"{x * 1000:.0f}" for x in big_all))
        print("               commit " + " ".join(f"{x * 1000:.0f}" for x in commit_all))
        return 0
    finally:
        if a.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
