#!/usr/bin/env python3
"""SQLite and PostgreSQL side by side: commits per second from 1, 4 and 16 writers, and
`device; list` at 10,000 nodes, each beside a baseline measured in the same run.

    python3 benchmarks/bench_stores.py [--nodes N] [--runs N] [--seconds S] [--keep]

Starts its own PostgreSQL server (tests/infra/postgres.py: initdb + pg_ctl in a temporary
directory, a loopback port, fsync off for both: this measures cmshell, not the disk). Writers
are processes, each committing a change to a node of its own (no conflicts) through the store
in a loop for --seconds; commits/s is the total over all writers. Its baseline: the same
writers doing a bare transaction on the same database (SQLite: BEGIN IMMEDIATE, one UPDATE,
COMMIT, in WAL mode; PostgreSQL: one UPDATE) -- the store's cost over the database's. `device;
list` is the real entry point (median of --runs after a warm-up) on a store loaded with `--load`
of `fixtures/generate.py --nodes N`; its baseline is `python3 -c pass`. Last, how soon another
session hears of a commit: a listener process watches as the interactive shell does (a file:
every POLL_SECONDS; PostgreSQL: Store.wait, woken by NOTIFY) while this process commits at
random moments; median and worst delay from the end of the commit to the listener seeing it.
"""
from __future__ import annotations

import random
import statistics
import subprocess
import sys
import time

from _bench import (PASS, ROOT, about, arg_parser, child_env, cmshell, generate, load_store, median_time,
                    workdir)

sys.path.insert(0, str(ROOT))

WRITER = r"""
import sys, time
db, me, seconds, bare = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4] == "bare"
if bare and db.startswith("postgresql://"):
    import psycopg
    conn = psycopg.connect(db, autocommit=True)
    conn.execute("INSERT INTO bare(id, n) VALUES(%s, 0) ON CONFLICT DO NOTHING", (me,))
    def one(n):
        conn.execute("UPDATE bare SET n=%s WHERE id=%s", (n, me))
elif bare:
    import sqlite3
    conn = sqlite3.connect(db, timeout=60, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")     # as the store
    conn.execute("INSERT OR IGNORE INTO bare(id, n) VALUES(?, 0)", (me,))
    def one(n):
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("UPDATE bare SET n=? WHERE id=?", (n, me))
        conn.execute("COMMIT")
else:
    from cmshell.store import open_store, Change, new_id
    s = open_store(db, timeout=60)
    oid = new_id()
    s.commit([Change(oid, "device", f"w-{me}", None, {"hostname": f"w-{me}", "n": 0})], user=me)
    def one(n):
        s.commit([Change(oid, "device", f"w-{me}", n, {"hostname": f"w-{me}", "n": n})], user=me)
print("ready", flush=True)
sys.stdin.readline()
end = time.monotonic() + seconds
n = 0
while time.monotonic() < end:
    n += 1
    one(n)
print(n)
"""


LISTENER = r"""
import sys, time
from cmshell.repl.app import POLL_SECONDS
from cmshell.store import open_store
s = open_store(sys.argv[1])
want = int(sys.argv[2])
last = max([e.seq for e in s.journal(1)] or [0])
s.wait(0)                               # PostgreSQL: connected and listening from here
print("ready", flush=True)
while want:
    if s.pushes:
        s.wait(POLL_SECONDS)
    else:
        time.sleep(POLL_SECONDS)
    for e in s.journal(50):
        if e.seq > last:
            last, want = e.seq, want - 1
            print(e.seq, time.time(), flush=True)
"""


def notice_delays(db: str, env: dict, commits: int) -> list[float]:
    """Seconds from the end of each commit to another session seeing it."""
    from cmshell.store import Change, new_id, open_store
    proc = subprocess.Popen([sys.executable, "-c", LISTENER, db, str(commits)], stdout=subprocess.PIPE,
                            text=True, env=env, cwd=str(ROOT))
    assert proc.stdout is not None
    if proc.stdout.readline().strip() != "ready":
        raise SystemExit("the listener did not start")
    done: dict[int, float] = {}
    with open_store(db) as store:
        oid, rev = new_id(), None
        for n in range(commits):
            time.sleep(random.uniform(0.1, 0.6))         # any moment of the listener's cycle
            got = store.commit([Change(oid, "device", "latency", rev, {"hostname": "latency", "n": n})],
                               user="bench")
            assert got is not None
            done[got.seq], rev = time.time(), got.revisions[oid]
    out, _ = proc.communicate(timeout=60)
    seen = dict((int(a), float(b)) for a, b in (line.split() for line in out.splitlines()))
    return [seen[seq] - t for seq, t in done.items()]


def commits_per_s(db: str, writers: int, seconds: float, env: dict, bare: bool) -> float:
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, db, f"{writers}-{i}", str(seconds),
                               "bare" if bare else "store"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env, cwd=str(ROOT))
             for i in range(writers)]
    for p in procs:
        assert p.stdout is not None
        if p.stdout.readline().strip() != "ready":
            raise SystemExit("a writer did not start")
    for p in procs:          # all start together
        assert p.stdin is not None
        p.stdin.write("go\n")
        p.stdin.flush()
    total = 0
    for p in procs:
        out, _ = p.communicate(timeout=seconds + 120)
        if p.returncode != 0:
            raise SystemExit(f"writer failed ({p.returncode})")
        total += int(out.split()[-1])
    return total / seconds


def bare_tables(sqlite_path: str, pg_url: str) -> None:
    import sqlite3

    import psycopg
    conn = sqlite3.connect(sqlite_path)
    conn.execute("CREATE TABLE IF NOT EXISTS bare(id TEXT PRIMARY KEY, n INTEGER)")
    conn.commit()
    conn.close()
    with psycopg.connect(pg_url, autocommit=True) as pg:
        pg.execute("CREATE TABLE IF NOT EXISTS bare(id TEXT PRIMARY KEY, n INTEGER)")


def main() -> int:
    ap = arg_parser(__doc__, runs=3, nodes=10_000)
    ap.add_argument("--seconds", type=float, default=5.0, help="seconds each writer runs (default 5)")
    args = ap.parse_args()
    from tests.infra import postgres
    why = postgres.why_not()
    if why:
        raise SystemExit(f"cannot run: {why}")
    server = postgres.Server()
    try:
        with workdir("cmshell-bench-stores-", args.keep) as tmp:
            env = child_env(tmp)
            yaml_path = generate(tmp / "cluster.yaml", args.nodes)
            stores = {"SQLite": str(tmp / "data" / "w.db"), "PostgreSQL": server.url(server.new_schema())}
            bare = {"SQLite": str(tmp / "data" / "bare.db"), "PostgreSQL": server.url(server.new_schema())}
            bare_tables(bare["SQLite"], bare["PostgreSQL"])
            lists = {"SQLite": str(tmp / "data" / "list.db"), "PostgreSQL": server.url(server.new_schema())}
            print(f"bench_stores: {about()}, {args.nodes} nodes, writers run {args.seconds:g} s each")
            print(f"  {'':30}{'SQLite':>26}{'PostgreSQL':>26}")
            print(f"  {'commits/s (x bare transaction)':30}")
            for writers in (1, 4, 16):
                cells = []
                for k in stores:
                    got = commits_per_s(stores[k], writers, args.seconds, env, bare=False)
                    base = commits_per_s(bare[k], writers, args.seconds, env, bare=True)
                    cells.append(f"{got:9.0f} ({base:6.0f}: {got / base:5.2f}x)")
                print(f"  {f'  {writers} writer(s)':30}{cells[0]:>26}{cells[1]:>26}")
            base = median_time(PASS, env, max(args.runs, 5)).median
            print(f"  {'baseline: python3 -c pass':30}{base * 1000:23.1f} ms")
            cells = []
            for k, db in lists.items():
                took = load_store(db, yaml_path, env)  # type: ignore[arg-type]
                cells.append(f"{took:9.2f} s")
            print(f"  {'--load of the cluster':30}{cells[0]:>26}{cells[1]:>26}")
            cells = []
            for k, db in lists.items():
                t = median_time(cmshell("-c", "device; list", db=db), env, args.runs, expect="node").median
                cells.append(f"{t * 1000:9.0f} ms ({t / base:5.2f}x)")
            print(f"  {'device; list (median)':30}{cells[0]:>26}{cells[1]:>26}")
            cells = []
            for k, db in stores.items():
                delays = notice_delays(db, env, 20)
                cells.append(f"{statistics.median(delays) * 1000:7.0f} / {max(delays) * 1000:4.0f} ms")
            print(f"  {'another session sees a commit':30}{cells[0]:>26}{cells[1]:>26}")
            print(f"  {'  (median / worst of 20)':30}")
    finally:
        server.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
