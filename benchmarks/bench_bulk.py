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

import sys

from _bench import (PASS, MiB, about, arg_parser, child_env, cmshell, copy_store, generated_store,
                    median_time, node_name, node_width, peak_rss, row, runs_ms, workdir)

TARGET_FOREACH_S = 3.0


def main() -> int:
    ap = arg_parser(__doc__, runs=5, nodes=10_000)
    a = ap.parse_args()
    n = a.nodes
    first, last = node_name(1, n), node_name(n, n)

    with workdir("cmshell-bench-bulk-", a.keep) as tmp:
        env = child_env(tmp)
        print(f"cmshell bulk benchmark  ({about()}, "
              f"median of {a.runs} runs after one warm-up, a fresh store copy per run)")
        big_db, work = tmp / "big.db", tmp / "work.db"
        t = generated_store(big_db, n, tmp, env)
        print(f"setup: {n}-node store loaded in {t:.2f} s ({big_db.stat().st_size / MiB:.1f} MiB)")
        print()

        def fresh():
            copy_store(big_db, work)

        in_default = sum(1 for i in range(1, n + 1) if not (i > 6 and i % 8 == 0))
        last_range = node_name(min(n, 10 ** node_width(n) - 1), n)
        cases = [
            ("python3 -c pass                      (baseline)", PASS, None, None),
            (f"foreach -n {first}..{last} (set revision x); commit",
             cmshell("-c", f"device; foreach -n {first}..{last} (set revision x); commit", db=work),
             f"Successfully committed {n} Devices", TARGET_FOREACH_S),
            (f"range -n {first}..{last_range}; set notes x; commit",
             cmshell("-c", f"device; range -n {first}..{last_range}; set notes x; commit", db=work),
             f"Successfully committed {n} Devices", None),
            ("foreach -c default (set notes x); commit",
             cmshell("-c", "device; foreach -c default (set notes x); commit", db=work),
             f"Successfully committed {in_default} Devices", None),
        ]
        results = []
        for name, argv, expect, target in cases:
            prep = None if expect is None else fresh
            timing = median_time(argv, env, a.runs, prepare=prep, expect=expect)
            rss = peak_rss(argv, env, prepare=prep)
            results.append((name, timing, rss, target))

        base_t, base_rss = results[0][1].median, results[0][2]
        print("wall time (median) and peak RSS")
        for name, timing, rss, target in results:
            print(row(name, timing.median, base_t, target, width=56,
                      extra=f"   {rss / MiB:6.1f} MiB {rss / base_rss:5.1f}x"))
        print()
        for name, timing, _, _ in results:
            print(f"  runs (ms) {name.split('(')[0].strip()[:40]:<40} " + runs_ms(timing.times))
        return 0 if all(target is None or timing.median <= target for _, timing, _, target in results) else 1


if __name__ == "__main__":
    sys.exit(main())
