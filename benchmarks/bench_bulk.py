#!/usr/bin/env python3
"""Bulk work at scale, measured on the real entry point (subprocess wall time, peak RSS).

    python3 benchmarks/bench_bulk.py [--runs N] [--nodes N] [--keep]

Builds, in a temporary directory, a store of a generated cluster (fixtures/generate.py,
10,000 nodes by default) and measures, each on a fresh copy of that store:

  * `python3 -c pass`                                        - the baseline (time and RSS)
  * `cmshell -c "device; foreach -n node00001..node10000 (set revision x); commit"`
                                                             - target <= 3 s
  * `cmshell -c "device; range -n node0[0001-9999]; set notes x; commit"`   (for comparison)
  * `cmshell -c "device; foreach -c default (set notes x); commit"`        (for comparison)

Times are medians of N runs after one warm-up run, printed absolute and as a ratio to the
baseline; peak RSS is resource.getrusage(RUSAGE_CHILDREN).ru_maxrss of a helper process whose
only child is the measured run, also printed beside the baseline's. Every run is checked: it
must exit 0 and report `Successfully committed N Devices` with the expected N.

Children run with PYTHONDONTWRITEBYTECODE removed from their environment (so .pyc files are
used, as after `pip install`); HOME and XDG_CACHE_HOME point into the temporary directory.
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
GENERATE = ROOT / "fixtures" / "generate.py"
TARGET_FOREACH_S = 3.0

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


def cmshell(db: Path, commands: str) -> list[str]:
    return [sys.executable, "-m", "cmshell", "-n", "--db", str(db), "-c", commands]


def copy_store(src: Path, dst: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(str(dst) + suffix).unlink(missing_ok=True)
        if Path(str(src) + suffix).exists():
            shutil.copyfile(str(src) + suffix, str(dst) + suffix)


def run(argv, env, expect: str | None = None) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, capture_output=True, cwd=str(ROOT))
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0 or (expect is not None and expect not in proc.stdout.decode()):
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(argv)}\n{proc.stdout.decode()[-500:]}"
                         f"\n{proc.stderr.decode()[-2000:]}")
    return elapsed


def measure(argv, env, runs, prepare=None, expect=None) -> tuple[float, list[float]]:
    if prepare:
        prepare()
    run(argv, env, expect)                               # warm-up: .pyc, schema cache, page cache
    times = []
    for _ in range(runs):
        if prepare:
            prepare()
        times.append(run(argv, env, expect))
    return statistics.median(times), times


def peak_rss(argv, env, prepare=None) -> int:
    if prepare:
        prepare()
    out = subprocess.run([sys.executable, "-c", RSS_HELPER, *argv], env=env, capture_output=True,
                         text=True, cwd=str(ROOT))
    if out.returncode:
        raise SystemExit(f"RSS run failed: {out.stderr}")
    return int(out.stdout.strip())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=5, help="timed runs per figure (default 5)")
    ap.add_argument("--nodes", type=int, default=10_000, help="nodes of the cluster (default 10000)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    a = ap.parse_args()
    n = a.nodes
    width = max(3, len(str(n)))
    first, last = f"node{1:0{width}d}", f"node{n:0{width}d}"

    tmp = Path(tempfile.mkdtemp(prefix="cmshell-bench-bulk-"))
    try:
        for d in ("home", "cache", "data"):
            (tmp / d).mkdir()
        env = child_env(tmp)
        print(f"cmshell bulk benchmark  (python {sys.version.split()[0]}, {os.cpu_count()} CPUs, "
              f"median of {a.runs} runs after one warm-up, a fresh store copy per run)")
        big_yaml = tmp / f"cluster{n}.yaml"
        with open(big_yaml, "w") as fh:
            subprocess.run([sys.executable, str(GENERATE), "--nodes", str(n)], stdout=fh, check=True)
        big_db, work = tmp / "big.db", tmp / "work.db"
        t = run([sys.executable, "-m", "cmshell", "-n", "--db", str(big_db), "--load", str(big_yaml)], env)
        print(f"setup: {n}-node store loaded in {t:.2f} s ({big_db.stat().st_size / 2**20:.1f} MiB)")
        print()

        def fresh():
            copy_store(big_db, work)

        in_default = sum(1 for i in range(1, n + 1) if not (i > 6 and i % 8 == 0))
        last_range = f"node{min(n, 10 ** width - 1):0{width}d}"
        cases = [
            ("python3 -c pass                      (baseline)", [sys.executable, "-c", "pass"], None, None),
            (f"foreach -n {first}..{last} (set revision x); commit",
             cmshell(work, f"device; foreach -n {first}..{last} (set revision x); commit"),
             f"Successfully committed {n} Devices", TARGET_FOREACH_S),
            (f"range -n {first}..{last_range}; set notes x; commit",
             cmshell(work, f"device; range -n {first}..{last_range}; set notes x; commit"),
             f"Successfully committed {n} Devices", None),
            ("foreach -c default (set notes x); commit",
             cmshell(work, "device; foreach -c default (set notes x); commit"),
             f"Successfully committed {in_default} Devices", None),
        ]
        results = []
        for name, argv, expect, target in cases:
            prep = None if expect is None else fresh
            med, all_ = measure(argv, env, a.runs, prepare=prep, expect=expect)
            rss = peak_rss(argv, env, prepare=prep)
            results.append((name, med, all_, rss, target))

        base_t, base_rss = results[0][1], results[0][3]
        print("wall time (median) and peak RSS")
        for name, med, _, rss, target in results:
            tgt = "" if target is None else f"   target <= {target:g} s {'OK' if med <= target else 'MISSED'}"
            print(f"  {name:<56} {med * 1000:8.1f} ms {med / base_t:6.1f}x   "
                  f"{rss / 2**20:6.1f} MiB {rss / base_rss:5.1f}x{tgt}")
        print()
        for name, _, all_, _, _ in results:
            print(f"  runs (ms) {name.split('(')[0].strip()[:40]:<40} " + " ".join(f"{x * 1000:.0f}" for x in all_))
        return 0 if all(r[4] is None or r[1] <= r[4] for r in results) else 1
    finally:
        if a.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
