#!/usr/bin/env python3
"""`list` with inherited columns on a large cluster, measured on the real entry point.

    python3 benchmarks/bench_inherit.py [--nodes N] [--runs N] [--db STORE] [--keep]

Builds (in a temporary directory) a store from `fixtures/generate.py --nodes N` (100,000 by
default; loading it takes a while: pass `--db` to reuse a store built earlier with
`python3 -m cmshell --db STORE --load <(python3 fixtures/generate.py --nodes N)`), then times:

  * `python3 -c pass`                                     - the interpreter's start-up (baseline)
  * `device; list -f hostname:10,ip:20`                   - a list without inherited columns
  * `device; list -f hostname:10,softwareimage:20`        - the issue's figure: target <= 2 s
  * `device; list -f hostname:10,softwareimage:20,installmode:8,datanode:5`
                                                          - three inherited columns (one OR-ed)
  * `device use <last node>; roles; list` and `show --effective`  - one node, all overlays

Software image and install mode come from each node's category (generated nodes set neither),
so every row of the inherited columns goes through the category look-up (cached per
command). Times are medians of N runs after one warm-up run, printed absolute and as a ratio
to the baseline; peak RSS (ru_maxrss of a helper whose only child is the run) likewise.
"""
from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GENERATE = ROOT / "fixtures" / "generate.py"
TARGET_S = 2.0

RSS_HELPER = r"""
import resource, subprocess, sys
rc = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode
if rc:
    sys.exit(rc)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024)   # kilobytes on Linux
"""


def child_env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONDONTWRITEBYTECODE", "CMSHELL_DB", "CMSHELL_DEBUG", "PYTHONSTARTUP")}
    env.update(HOME=str(tmp / "home"), XDG_CACHE_HOME=str(tmp / "cache"),
               XDG_DATA_HOME=str(tmp / "data"), USER="bench",
               PYTHONPATH=os.pathsep.join([str(ROOT)] + [p for p in [os.environ.get("PYTHONPATH")] if p]))
    return env


def cmshell(db: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "cmshell", "-n", "--db", str(db), *args]


def _cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def run(argv, env) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one child run; CPU time is what other load on the
    machine disturbs least."""
    c0, t0 = _cpu(), time.perf_counter()
    proc = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, cwd=str(ROOT))
    elapsed, cpu = time.perf_counter() - t0, _cpu() - c0
    if proc.returncode != 0 or proc.stderr:
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(argv)}\n{proc.stderr.decode()}")
    return elapsed, cpu


def median_time(argv, env, runs: int) -> tuple[float, list[float], float]:
    """Median wall time, all wall times, median CPU time."""
    run(argv, env)                          # warm-up: .pyc files, schema cache, page cache
    got = [run(argv, env) for _ in range(runs)]
    return statistics.median(w for w, _ in got), [w for w, _ in got], statistics.median(c for _, c in got)


def peak_rss(argv, env) -> int:
    out = subprocess.run([sys.executable, "-c", RSS_HELPER, *argv], env=env, capture_output=True,
                         text=True, cwd=str(ROOT))
    if out.returncode:
        raise SystemExit(f"RSS run failed: {out.stderr}")
    return int(out.stdout.strip())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--nodes", type=int, default=100_000, help="nodes of the generated cluster (default 100000)")
    ap.add_argument("--runs", type=int, default=5, help="timed runs per figure (default 5)")
    ap.add_argument("--db", help="reuse this store (built from generate.py --nodes N) instead of building one")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    a = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="cmshell-bench-inherit-"))
    try:
        for d in ("home", "cache", "data"):
            (tmp / d).mkdir()
        env = child_env(tmp)
        width = max(3, len(str(a.nodes)))
        last = f"node{a.nodes:0{width}d}"
        if a.db:
            db = Path(a.db)
            print(f"store: {db} (reused)")
        else:
            db = tmp / "big.db"
            yml = tmp / "cluster.yaml"
            with open(yml, "w") as fh:
                subprocess.run([sys.executable, str(GENERATE), "--nodes", str(a.nodes)], stdout=fh, check=True)
            t, _ = run(cmshell(db, "--load", str(yml)), env)
            print(f"store: {a.nodes} nodes loaded in {t:.1f} s ({db.stat().st_size / 2**20:.1f} MiB)")
        print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, median of {a.runs} runs after one warm-up")
        print()

        plain = "device; list -f hostname:10,ip:20"
        inh = "device; list -f hostname:10,softwareimage:20"
        inh3 = "device; list -f hostname:10,softwareimage:20,installmode:8,datanode:5"
        roles = f"device use {last}; roles; list"
        eff = f"device use {last}; show --effective"
        base, _, base_cpu = median_time([sys.executable, "-c", "pass"], env, a.runs)
        figures = [(plain, None), (inh, TARGET_S), (inh3, None), (roles, None), (eff, None)]
        results = []
        for cmd, target in figures:
            med, alls, cpu = median_time(cmshell(db, "-c", cmd), env, a.runs)
            results.append((cmd, med, alls, target, cpu))
        base_rss = peak_rss([sys.executable, "-c", "pass"], env)
        rss_plain = peak_rss(cmshell(db, "-c", plain), env)
        rss_inh = peak_rss(cmshell(db, "-c", inh), env)

        print(f"load average {os.getloadavg()[0]:.2f} (other work on the machine inflates wall times)")
        print("wall time (median)                                                            wall  ratio    CPU  ratio")
        print(f"  {'python3 -c pass  (baseline)':<72} {base * 1000:6.0f} ms  1.00x "
              f"{base_cpu * 1000:6.0f} ms  1.00x")
        for cmd, med, _, target, cpu in results:
            ok = "" if target is None else f"   target <= {target:g} s  " + ("OK" if med <= target else "MISSED")
            print(f"  {cmd:<72} {med * 1000:6.0f} ms {med / base:5.1f}x {cpu * 1000:6.0f} ms "
                  f"{cpu / base_cpu:5.1f}x{ok}")
        plain_t = results[0][1]
        print(f"  inherited column costs +{(results[1][1] - plain_t) * 1000:.0f} ms over the plain list "
              f"({results[1][1] / plain_t:.2f}x); three inherited columns +{(results[2][1] - plain_t) * 1000:.0f} ms")
        print()
        mb = 2**20
        print("peak RSS")
        print(f"  {'python3 -c pass  (baseline)':<72} {base_rss / mb:8.1f} MiB   1.00x")
        print(f"  {plain:<72} {rss_plain / mb:8.1f} MiB {rss_plain / base_rss:6.2f}x")
        print(f"  {inh:<72} {rss_inh / mb:8.1f} MiB {rss_inh / base_rss:6.2f}x")
        print()
        for cmd, _, alls, _, _ in results:
            print(f"all runs (ms) {cmd}: " + " ".join(f"{x * 1000:.0f}" for x in alls))
        return 0 if results[1][1] <= TARGET_S else 1
    finally:
        if a.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
