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

import sys

from _bench import (DEMO, PASS, MiB, about, arg_parser, child_env, cmshell, copy_store,
                    generated_store, load_store, median_time, node_name, peak_rss, row, runs_ms,
                    verdict, workdir)

TARGET_DEMO_S = 0.150
TARGET_BIG_S = 1.5
TARGET_BIG_RSS_MB = 250
TARGET_COMMIT_S = 5.0


def main() -> int:
    ap = arg_parser(__doc__, runs=15, nodes=10_000)
    ap.add_argument("--commit-runs", type=int, default=5, help="timed runs of the commit batch (default 5)")
    a = ap.parse_args()
    n = a.nodes

    with workdir("cmshell-bench-", a.keep) as tmp:
        env = child_env(tmp)
        print(f"cmshell core benchmark  ({about()}, median of {a.runs} runs after one warm-up)")
        print("children run WITHOUT PYTHONDONTWRITEBYTECODE (unset in their environment), so .pyc files"
              " are used as after `pip install`")
        print()

        # -- stores ------------------------------------------------------------------------
        demo_db, big_db = tmp / "demo.db", tmp / "big.db"
        t = load_store(demo_db, DEMO, env)
        tb = generated_store(big_db, n, tmp, env)
        print(f"setup: demo store loaded in {t:.2f} s; {n}-node store loaded in {tb:.2f} s "
              f"({big_db.stat().st_size / MiB:.1f} MiB)")
        print()

        # -- timings -----------------------------------------------------------------------
        base = median_time(PASS, env, a.runs).median
        base_S = median_time([sys.executable, "-S", "-c", "pass"], env, a.runs).median
        demo = median_time(cmshell("-c", "device; list", db=demo_db), env, a.runs)
        big = median_time(cmshell("-c", "device; list", db=big_db), env, a.runs)
        rss = peak_rss(cmshell("-c", "device; list", db=big_db), env)

        batch = tmp / "batch.cmsh"
        batch.write_text("device\n" + "".join(f"set {node_name(i, n)} notes x\n" for i in range(1, n + 1))
                         + "commit\n")
        work_db = tmp / "work.db"
        commit = median_time(cmshell("-f", str(batch), db=work_db), env, a.commit_runs,
                             prepare=lambda: copy_store(big_db, work_db))

        print("wall time (median)")
        for name, secs, target in [
                ("python3 -c pass                  (baseline)", base, None),
                ("python3 -S -c pass               (no site)", base_S, None),
                ('cmshell -c "device; list"        demo', demo.median, TARGET_DEMO_S),
                (f'cmshell -c "device; list"        {n} nodes', big.median, TARGET_BIG_S),
                (f"cmshell -f ({n} set + commit)  {n} nodes", commit.median, TARGET_COMMIT_S)]:
            print(row(name, secs, base, target, extra=" baseline"))
        print()
        print(f"  above baseline: demo list +{(demo.median - base) * 1000:.0f} ms, {n}-node list "
              f"+{(big.median - base) * 1000:.0f} ms, commit batch +{(commit.median - base) * 1000:.0f} ms")
        mb = rss / MiB
        print(f"peak RSS of the {n}-node list: {mb:.1f} MiB   {verdict(mb, TARGET_BIG_RSS_MB, unit='MB')}")
        print()
        print("all runs (ms): demo " + runs_ms(demo.times))
        print(f"               {n}-node list " + runs_ms(big.times))
        print("               commit " + runs_ms(commit.times))
        return 0


if __name__ == "__main__":
    sys.exit(main())
