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

import os
import sys
from pathlib import Path

from _bench import (PASS, MiB, about, arg_parser, child_env, cmshell, generated_store, median_time,
                    node_name, peak_rss, runs_ms, verdict, workdir)

TARGET_S = 2.0


def main() -> int:
    ap = arg_parser(__doc__, runs=5, nodes=100_000)
    ap.add_argument("--db", help="reuse this store (built from generate.py --nodes N) instead of building one")
    a = ap.parse_args()

    with workdir("cmshell-bench-inherit-", a.keep) as tmp:
        env = child_env(tmp)
        last = node_name(a.nodes, a.nodes)
        if a.db:
            db = Path(a.db)
            print(f"store: {db} (reused)")
        else:
            db = tmp / "big.db"
            t = generated_store(db, a.nodes, tmp, env, fail_on_stderr=True)
            print(f"store: {a.nodes} nodes loaded in {t:.1f} s ({db.stat().st_size / MiB:.1f} MiB)")
        print(f"{about()}, median of {a.runs} runs after one warm-up")
        print()

        # Every run must exit 0 and write nothing on stderr; CPU time (user + system of the
        # child) is printed beside wall time, as other load on the machine disturbs it least.
        plain = "device; list -f hostname:10,ip:20"
        inh = "device; list -f hostname:10,softwareimage:20"
        inh3 = "device; list -f hostname:10,softwareimage:20,installmode:8,datanode:5"
        roles = f"device use {last}; roles; list"
        eff = f"device use {last}; show --effective"
        base, _, base_cpu = median_time(PASS, env, a.runs, fail_on_stderr=True)
        figures = [(plain, None), (inh, TARGET_S), (inh3, None), (roles, None), (eff, None)]
        results = []
        for cmd, target in figures:
            med, alls, cpu = median_time(cmshell("-c", cmd, db=db), env, a.runs, fail_on_stderr=True)
            results.append((cmd, med, alls, target, cpu))
        base_rss = peak_rss(PASS, env)
        rss_plain = peak_rss(cmshell("-c", plain, db=db), env)
        rss_inh = peak_rss(cmshell("-c", inh, db=db), env)

        print(f"load average {os.getloadavg()[0]:.2f} (other work on the machine inflates wall times)")
        print("wall time (median)                                                            wall  ratio    CPU  ratio")
        print(f"  {'python3 -c pass  (baseline)':<72} {base * 1000:6.0f} ms  1.00x "
              f"{base_cpu * 1000:6.0f} ms  1.00x")
        for cmd, med, _, target, cpu in results:
            print(f"  {cmd:<72} {med * 1000:6.0f} ms {med / base:5.1f}x {cpu * 1000:6.0f} ms "
                  f"{cpu / base_cpu:5.1f}x{verdict(med, target, sep='   ')}")
        plain_t = results[0][1]
        print(f"  inherited column costs +{(results[1][1] - plain_t) * 1000:.0f} ms over the plain list "
              f"({results[1][1] / plain_t:.2f}x); three inherited columns +{(results[2][1] - plain_t) * 1000:.0f} ms")
        print()
        print("peak RSS")
        print(f"  {'python3 -c pass  (baseline)':<72} {base_rss / MiB:8.1f} MiB   1.00x")
        print(f"  {plain:<72} {rss_plain / MiB:8.1f} MiB {rss_plain / base_rss:6.2f}x")
        print(f"  {inh:<72} {rss_inh / MiB:8.1f} MiB {rss_inh / base_rss:6.2f}x")
        print()
        for cmd, _, alls, _, _ in results:
            print(f"all runs (ms) {cmd}: " + runs_ms(alls))
        return 0 if results[1][1] <= TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
