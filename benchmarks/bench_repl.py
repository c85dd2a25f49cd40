#!/usr/bin/env python3
"""Figures of the interactive shell, each beside a baseline measured in the same run.

    python3 benchmarks/bench_repl.py [--runs N] [--nodes N] [--samples N] [--big-db PATH] [--keep]

1. Time to first prompt: `cmshell --db demo.db` on a pseudo-terminal (pexpect,
   PROMPT_TOOLKIT_NO_CPR=1) until the prompt `[basecm10]%` is drawn      - target <= 400 ms.
   Baselines: a bare prompt_toolkit prompt (`python3 -c "from prompt_toolkit import prompt;
   prompt('> ')"`) and `python3 -c "input('> ')"`, spawned and timed the same way.
   Also shown, without a target: the first prompt on the N-node store.
2. Completion latency of suggest() for `device use node0` on an N-node store (100,000 by
   default: `fixtures/generate.py --nodes N`, loaded with `cmshell --db … --load`), in-process,
   after one warm-up call; p50 and p95 of --samples calls              - target p95 <= 20 ms.
   Baseline: the same call on the demo cluster (9 devices). Also shown: other completions on the
   big store, the prompt_toolkit adapter (Completion objects) and the highlighter (classify).

Loading 100,000 nodes takes about 20 s; `--big-db PATH` reuses a store (created there when
missing). Children run with HOME and XDG_CACHE_HOME in a temporary directory.
"""
from __future__ import annotations

import io
import os
import statistics
import sys
import threading
import time
from pathlib import Path

from _bench import (DEMO, ROOT, about, first_prompt, arg_parser, child_env, cmshell, generated_store, load_store,
                    row, verdict, workdir)

sys.path.insert(0, str(ROOT))                        # cmshell itself, imported in-process below

TARGET_FIRST_PROMPT_S = 0.400
TARGET_P95_S = 0.020


def series(fn, runs: int) -> list[float]:
    fn()                                             # warm-up: .pyc files, page cache
    return [fn() for _ in range(runs)]


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, int(round(p / 100 * len(xs) + 0.5)) - 1))]


def session_on(path: Path):
    from cmshell.commands import registry
    from cmshell.env import Environment
    from cmshell.model.schema import load_schema
    from cmshell.shell.session import Session
    from cmshell.store import open_store
    from cmshell.workspace import Workspace
    schema = load_schema()
    ws = Workspace(open_store(path), schema)
    env = Environment(stdin=io.StringIO(), stdout=io.StringIO(), stderr=io.StringIO(),
                      environ={**os.environ, "USER": "bench"})
    return Session(ws, schema, registry.load(), env=env)


def latencies(fn, samples: int) -> list[float]:
    fn()
    out = []
    for _ in range(samples):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def main() -> int:
    ap = arg_parser(__doc__, runs=15, nodes=100_000, runs_help="timed start-ups per figure")
    ap.add_argument("--samples", type=int, default=300, help="completion calls timed (default 300)")
    ap.add_argument("--big-db", help="reuse (or create) the big store at this path")
    a = ap.parse_args()

    with workdir("cmshell-bench-repl-", a.keep) as tmp:
        env = child_env(tmp, drop=("NO_COLOR", "PAGER"), TERM="xterm-256color", PROMPT_TOOLKIT_NO_CPR="1")
        os.environ["XDG_CACHE_HOME"] = env["XDG_CACHE_HOME"]     # the in-process schema cache too
        print(f"cmshell interactive-shell benchmark  ({about()})")
        print()

        demo_db = tmp / "demo.db"
        load_store(demo_db, DEMO, env)
        big_db = Path(a.big_db) if a.big_db else tmp / "big.db"
        if not big_db.exists():
            t0 = time.perf_counter()
            generated_store(big_db, a.nodes, tmp, env)
            print(f"setup: {a.nodes}-node store loaded in {time.perf_counter() - t0:.1f} s")
        n_dev = len(session_on(big_db).ws.names("device"))
        print(f"big store: {big_db} ({n_dev} devices)")
        print()

        # -- 1. time to first prompt ---------------------------------------------------------------
        bare_input = series(lambda: first_prompt(
            [sys.executable, "-c", "input('> ')"], env, r"> "), a.runs)
        bare_ptk = series(lambda: first_prompt(
            [sys.executable, "-c", "from prompt_toolkit import prompt; prompt('> ')"], env, r">"), a.runs)
        demo = series(lambda: first_prompt(cmshell("--db", str(demo_db)), env, r"\[basecm10\]%"), a.runs)
        big = series(lambda: first_prompt(cmshell("--db", str(big_db)), env, r"\[basecm10\]%"),
                     max(3, a.runs // 3))
        base = statistics.median(bare_ptk)

        def line(name, xs, target=None):
            print(row(name, statistics.median(xs), base, target, width=50))

        print(f"time to first prompt on a pty (median of {a.runs}; ratio to the bare prompt_toolkit prompt)")
        line('python3 -c "input(\'> \')"', bare_input)
        line("bare prompt_toolkit prompt            (baseline)", bare_ptk)
        line("cmshell --db demo.db                  demo", demo, TARGET_FIRST_PROMPT_S)
        line(f"cmshell --db big.db                   {n_dev} devices", big)
        print(f"  cmshell above the bare prompt: +{(statistics.median(demo) - base) * 1000:.0f} ms (demo)")
        print()

        # -- 2. completion latency ---------------------------------------------------------------------
        from prompt_toolkit.completion import CompleteEvent
        from prompt_toolkit.document import Document

        from cmshell.repl.app import _completer
        from cmshell.shell.complete import LIMIT, classify, suggest

        small, large = session_on(demo_db), session_on(big_db)
        t0 = time.perf_counter()
        got = suggest(large, "device use node0")
        cold = time.perf_counter() - t0
        text = "device use node0"
        base_l = latencies(lambda: suggest(small, text), a.samples)
        cases = [
            ("suggest('device use node0')", lambda: suggest(large, text), TARGET_P95_S),
            ("suggest('device use node09999')", lambda: suggest(large, "device use node09999"), None),
            ("suggest('device use ')  (all names, capped)", lambda: suggest(large, "device use "), None),
            ("suggest(overlay 'append nodes node0')", lambda: suggest(
                large, "configurationoverlay use kube-default-worker; append nodes node0"), None),
            ("suggest('')  (commands of the top level)", lambda: suggest(large, ""), None),
        ]
        adapter = _completer(large, threading.RLock())
        cases.append(("prompt_toolkit adapter, 'device use node0'",
                      lambda: list(adapter.get_completions(Document(text), CompleteEvent())), None))
        cases.append(("classify('device use node012345; set notes x') (lexer)",
                      lambda: classify(large, "device use node012345; set notes x"), None))
        b50, b95 = pct(base_l, 50), pct(base_l, 95)
        print(f"completion latency, in-process ({a.samples} calls after a warm-up; ratio of p95 to the "
              "baseline's p95)")
        print(f"  {'suggest(device use node0) on the demo  (baseline)':<56} p50 {b50 * 1000:6.3f} ms  "
              f"p95 {b95 * 1000:6.3f} ms")
        for name, fn, target in cases:
            xs = latencies(fn, a.samples)
            p50, p95 = pct(xs, 50), pct(xs, 95)
            print(f"  {name:<56} p50 {p50 * 1000:6.3f} ms  p95 {p95 * 1000:6.3f} ms  {p95 / b95:7.1f}x"
                  + verdict(p95, target, what="p95", sep="  "))
        print(f"  first call on the big store (loads {n_dev} names): {cold * 1000:.0f} ms, "
              f"{len(got)} candidates returned (cap {LIMIT})")
        return 0


if __name__ == "__main__":
    sys.exit(main())
