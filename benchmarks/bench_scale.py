#!/usr/bin/env python3
"""Issue 13's table at 100,000 nodes, row by row, beside a baseline measured in the same run.

    python3 benchmarks/bench_scale.py [--nodes N] [--runs N] [--commits N] [--touch N]
                                      [--journal-db PATH] [--only ROWS] [--keep]

Builds, in a temporary directory, the cluster of `fixtures/generate.py --nodes N` (100,000 by
default) and measures, one after another, on the real entry point (subprocess wall time,
median of --runs after one warm-up; peak RSS of one more run):

  load      `cmshell --db NEW --load cluster.yaml` (a fresh store each run)   <= 5 s, <= 300 MB
  list      `cmshell -c "device; list"`                                      <= 1 s, <= 150 MB
  prompt    the first interactive prompt on a pty (pexpect)                  <= 0.5 s
  foreach   `cmshell -c "device; foreach -c default (set notes x); commit"` (87,500 nodes of
            100,000; a fresh copy of the store each run)                    <= 3 s, <= 300 MB
  journal   the store after --commits commits (1,000) each setting `notes` on --touch nodes
            (8,750: a tenth of the default category, in turn), made through the store's commit
            (in-process: a thousand CLI runs would take an hour); its journal on disk
            (dbstat: the journal and object_keys tables)                    <= 100 MB
            and `cmshell -c journal` on it (every commit listed)            <= 0.2 s, <= 100 MB
  effective in-process: a category change that reaches every node (the two categories swap
            software images) committed through the Committer, then affected_nodes() and
            Effective.node() of every affected node (issue item 4)          <= 10 s

Baselines, measured in the same run: `python3 -c pass` (time and RSS) for the subprocess rows;
a bare prompt_toolkit prompt on the same pty for `prompt`; the store as loaded (objects and
the load's journal entry) for the journal's size. Each figure is printed absolute and as a
ratio to its baseline, beside its target. Wall times on a shared machine include the other
load: CPU seconds (user + system of the child) are printed too.
"""
from __future__ import annotations

import io
import os
import sqlite3
import statistics
import sys
import time
from pathlib import Path

from _bench import (PASS, ROOT, MiB, about, first_prompt, arg_parser, child_env, cmshell, copy_store, generate,
                    median_time, peak_rss, run, runs_ms, verdict)

sys.path.insert(0, str(ROOT))                        # cmshell itself, for the in-process rows

ROWS = ("load", "list", "prompt", "foreach", "journal", "effective")
TARGETS = {  # row -> (seconds, MB)
    "load": (5.0, 300), "list": (1.0, 150), "prompt": (0.5, None), "foreach": (3.0, 300),
    "journal-size": (None, 100), "journal-list": (0.2, 100), "effective": (10.0, None)}
NOW = {  # the "now" on main (for the closing table)
    "load": "20.9 s, 816 MB", "list": "2.3 s, 281 MB", "prompt": "~2 s", "foreach": "6.98 s, 566 MB",
    "journal-size": "3.88 GB", "journal-list": "41.9 s, 2.66 GB", "effective": "-"}


def fmt_s(x: float) -> str:
    return f"{x * 1000:.0f} ms" if x < 1 else f"{x:.2f} s"


class Report:
    def __init__(self, base_t: float, base_rss: int):
        self.base_t, self.base_rss = base_t, base_rss
        self.lines: list[str] = []

    def timed(self, row: str, what: str, t, rss: int | None = None, base_t: float | None = None,
              base_name: str = "python3 -c pass") -> None:
        b = base_t if base_t is not None else self.base_t
        ts, mb = TARGETS[row]
        text = (f"  {what:<58} {fmt_s(t.median):>9}  {t.median / b:6.1f}x {base_name}"
                + (f"   cpu {fmt_s(t.cpu)}" if t.cpu is not None else "")
                + verdict(t.median, ts, sep='   '))
        print(text)
        if rss is not None:
            print(f"  {'':<58} {rss / MiB:7.0f} MB  {rss / self.base_rss:6.1f}x python3 -c pass RSS"
                  f"{verdict(rss / MiB, mb, unit='MB', sep='   ')}")
        print(f"  {'':<58} runs (ms): {runs_ms(t.times)}")
        self.lines.append(f"| {row} | {NOW[row]} | {fmt_s(t.median)}"
                          + (f", {rss / MiB:.0f} MB" if rss is not None else "")
                          + f" | {_target(ts, mb)} | {t.median / b:.1f}x {base_name}"
                          + (f"; {rss / self.base_rss:.1f}x RSS" if rss is not None else "") + " |")


def _target(ts, mb) -> str:
    parts = []
    if ts is not None:
        parts.append(f"<= {ts:g} s")
    if mb is not None:
        parts.append(f"<= {mb} MB")
    return ", ".join(parts)


class T:
    """A Timing-like value for figures measured another way."""

    def __init__(self, times: list[float], cpu: float | None = None):
        self.times, self.median, self.cpu = times, statistics.median(times), cpu


# -- rows ---------------------------------------------------------------------------------------
def build_journal(db: Path, commits: int, touch: int) -> float:
    """`commits` commits of `notes` on `touch` nodes each (the default category's nodes, a slice
    at a time), through the store's commit; the seconds it took."""
    from cmshell.store import Change, Record, open_store
    store = open_store(db)
    try:
        nodes = sorted((r for r in store.load("device") if r.doc.get("category") == "default"),
                       key=lambda r: r.name)
        state = {r.id: [r.revision, r.doc] for r in nodes}
        slices = max(1, len(nodes) // touch)
        t0 = time.perf_counter()
        for k in range(commits):
            part = nodes[(k % slices) * touch:(k % slices + 1) * touch]
            changes = []
            for r in part:
                rev, doc = state[r.id]
                base = Record(r.id, "device", r.name, rev, doc, r.rowid, r.jkey)   # as a session has it
                changes.append(Change(r.id, "device", r.name, rev, dict(doc, notes=f"commit {k}"), base=base))
            done = store.commit(changes, user="bench", comment=f"notes {k}")
            for c in done.changes:
                state[c.id] = [done.revisions[c.id], c.after]
            if (k + 1) % 100 == 0:
                print(f"    {k + 1} commits, {time.perf_counter() - t0:.0f} s", flush=True)
        return time.perf_counter() - t0
    finally:
        store.close()


def journal_bytes(db: Path) -> tuple[int, int]:
    """(bytes of the journal's tables, bytes of the whole file) after a checkpoint."""
    conn = sqlite3.connect(str(db))
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        rows = dict(conn.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name").fetchall())
    finally:
        conn.close()
    journal = sum(v for k, v in rows.items() if k in ("journal", "object_keys"))
    return journal, db.stat().st_size


def effective_row(db: Path, cache: Path) -> tuple[float, int, int, float, float]:
    """(seconds in all, affected nodes, nodes rendered, seconds of the commit, of affected_nodes)
    for a commit that swaps the software images of the two categories."""
    os.environ["XDG_CACHE_HOME"] = str(cache)
    from cmshell.commands import registry
    from cmshell.env import Environment
    from cmshell.model.effective import Effective, affected_nodes
    from cmshell.model.schema import load_schema
    from cmshell.shell.session import Session
    from cmshell.store import open_store
    from cmshell.store.view import StoreView
    from cmshell.workspace import Workspace
    schema = load_schema(cache_dir=str(cache))
    store = open_store(db)
    env = Environment(stdin=io.StringIO(), stdout=io.StringIO(), stderr=io.StringIO(),
                      environ={"HOME": str(cache), "USER": "bench"})
    s = Session(Workspace(store, schema), schema, registry.load(), env=env)
    images = {c: (store.get("category", c).doc.get("softwareimage")) for c in ("default", "gpu-nodes")}
    assert s.run_line(f"category use default; set softwareimage {images['gpu-nodes']}; "
                      f"use gpu-nodes; set softwareimage {images['default']}; home"), env.stderr.getvalue()
    t0 = time.perf_counter()
    done = s.committer.commit([rid for _, _, rid in s.ws.pending()])
    t1 = time.perf_counter()
    view = StoreView(store, schema)
    changed = affected_nodes(schema, view, [(c.mode, c.before, c.after) for c in done.changes])
    t2 = time.perf_counter()
    eff = Effective(schema, view)
    rendered = sum(1 for n in sorted(changed) if eff.node(n) is not None)
    t3 = time.perf_counter()
    store.close()
    return t3 - t0, len(changed), rendered, t1 - t0, t2 - t1


# -- main ---------------------------------------------------------------------------------------
def main() -> int:
    ap = arg_parser(__doc__, runs=3, nodes=100_000)
    ap.add_argument("--commits", type=int, default=1000, help="commits of the journal row (default 1000)")
    ap.add_argument("--touch", type=int, default=8750, help="nodes each of them touches (default 8750)")
    ap.add_argument("--journal-db", help="reuse (or build there) the store of the journal row")
    ap.add_argument("--only", help=f"comma-separated rows to run ({','.join(ROWS)})")
    a = ap.parse_args()
    rows = a.only.split(",") if a.only else list(ROWS)
    n = a.nodes

    from _bench import workdir
    with workdir("cmshell-bench-scale-", a.keep) as tmp:
        env = child_env(tmp)
        print(f"cmshell at scale, issue 13  ({about()}, {n} nodes, median of {a.runs} runs after a warm-up;"
              f" load average {os.getloadavg()[0]:.1f})")
        yaml_path = generate(tmp / f"cluster{n}.yaml", n)
        db = tmp / "big.db"
        t_load0 = run(cmshell("--load", str(yaml_path), db=db), env)[0]
        print(f"setup: {yaml_path.name} {yaml_path.stat().st_size / MiB:.1f} MiB, store loaded in {t_load0:.1f} s"
              f" ({db.stat().st_size / MiB:.1f} MiB)")
        base = median_time(PASS, env, max(a.runs, 5))
        base_rss = peak_rss(PASS, env)
        print(f"baseline python3 -c pass: {fmt_s(base.median)}, {base_rss / MiB:.1f} MB")
        print()
        rep = Report(base.median, base_rss)

        if "load" in rows:
            new = tmp / "new.db"

            def fresh():
                for suffix in ("", "-wal", "-shm"):
                    Path(str(new) + suffix).unlink(missing_ok=True)
            argv = cmshell("--load", str(yaml_path), db=new)
            rep.timed("load", f"--load cluster{n}.yaml", median_time(argv, env, a.runs, prepare=fresh),
                      peak_rss(argv, env, prepare=fresh))
        if "list" in rows:
            argv = cmshell("-c", "device; list", db=db)
            rep.timed("list", '-c "device; list"', median_time(argv, env, a.runs), peak_rss(argv, env))
        if "prompt" in rows:
            penv = child_env(tmp, drop=("NO_COLOR", "PAGER"), TERM="xterm-256color", PROMPT_TOOLKIT_NO_CPR="1")
            runs = max(a.runs, 5)
            bare = [first_prompt([sys.executable, "-c", "from prompt_toolkit import prompt; prompt('> ')"],
                                 penv, r">") for _ in range(runs + 1)][1:]
            mine = [first_prompt(cmshell("--db", str(db)), penv, r"\[basecm10\]%") for _ in range(runs + 1)][1:]
            rep.timed("prompt", f"first prompt, {n} nodes (pty)", T(mine),
                      base_t=statistics.median(bare), base_name="bare prompt_toolkit prompt")
            print(f"  {'':<58} bare prompt_toolkit prompt: {fmt_s(statistics.median(bare))}")
        if "foreach" in rows:
            work = tmp / "work.db"
            in_default = sum(1 for i in range(1, n + 1) if not (i > 6 and i % 8 == 0))
            argv = cmshell("-c", "device; foreach -c default (set notes x); commit", db=work)
            expect = f"Successfully committed {in_default} Devices"
            rep.timed("foreach", f"foreach -c default ({in_default} nodes) + commit",
                      median_time(argv, env, a.runs, prepare=lambda: copy_store(db, work), expect=expect),
                      peak_rss(argv, env, prepare=lambda: copy_store(db, work)))
        if "journal" in rows:
            jdb = Path(a.journal_db) if a.journal_db else tmp / "journal.db"
            loaded, loaded_file = journal_bytes(db)
            if not jdb.exists():
                copy_store(db, jdb)
                print(f"  building the journal store: {a.commits} commits of {a.touch} nodes ...", flush=True)
                took = build_journal(jdb, a.commits, a.touch)
                print(f"  built in {took:.0f} s ({took / max(1, a.commits) * 1000:.0f} ms a commit)")
            jb, fb = journal_bytes(jdb)
            entries = sqlite3.connect(str(jdb)).execute("SELECT COUNT(*) FROM journal").fetchone()[0]
            ts, mb = TARGETS["journal-size"]
            print(f"  {f'journal on disk after {entries - 1} commits of {a.touch} nodes':<58} "
                  f"{jb / MiB:7.1f} MB  {jb / max(loaded, 1):6.1f}x the load's journal"
                  f"{verdict(jb / MiB, mb, unit='MB', sep='   ')}")
            print(f"  {'':<58} whole store file {fb / MiB:.1f} MB ({fb / loaded_file:.2f}x the store as loaded,"
                  f" {loaded_file / MiB:.1f} MB); journal of the load alone {loaded / MiB:.1f} MB")
            rep.lines.append(f"| journal-size | {NOW['journal-size']} | {jb / MiB:.1f} MB (file {fb / MiB:.0f} MB)"
                             f" | <= 100 MB | {jb / max(loaded, 1):.1f}x the load's journal;"
                             f" file {fb / loaded_file:.2f}x the loaded store |")
            argv = cmshell("-c", "journal", db=jdb)
            rep.timed("journal-list", f"-c journal ({entries} entries)", median_time(argv, env, a.runs),
                      peak_rss(argv, env))
        if "effective" in rows:
            work = tmp / "eff.db"
            copy_store(db, work)
            run(cmshell("-c", "device", db=work), env)          # warm the schema cache
            total, changed, rendered, t_commit, t_aff = effective_row(work, tmp / "cache")
            t = T([total])
            rep.timed("effective", f"category change: commit + affected_nodes + node() x{rendered}", t)
            print(f"  {'':<58} commit {fmt_s(t_commit)}, affected_nodes {fmt_s(t_aff)} ({changed} nodes),"
                  f" node() {fmt_s(total - t_commit - t_aff)}")

        print()
        print("| row | now (issue, main) | this run | target | ratio to the same-run baseline |")
        print("|---|---|---|---|---|")
        for line in rep.lines:
            print(line)
        return 0


if __name__ == "__main__":
    sys.exit(main())
