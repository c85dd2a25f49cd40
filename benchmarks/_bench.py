"""Helpers shared by the benchmark scripts of this directory (stdlib only).

The scripts measure cmshell on its real entry point: each figure is a child process, timed N
times after one warm-up run (median), or run once under a helper that reports its peak RSS.
Children run in a temporary directory (`workdir`) with the environment of `child_env`:
PYTHONDONTWRITEBYTECODE removed (so .pyc files are written once and then used, as after
`pip install`), HOME and the XDG directories inside the temporary directory, the repository
first on PYTHONPATH. `python3 -c pass` (PASS) is the baseline every script measures in the
same run; `row` and `verdict` print a figure with its ratio to it and its target.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "fixtures" / "basecm10.yaml"
GENERATE = ROOT / "fixtures" / "generate.py"

PASS = [sys.executable, "-c", "pass"]       # the baseline: the interpreter's own start-up

RSS_HELPER = r"""
import resource, subprocess, sys
rc = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode
if rc:
    sys.exit(rc)
kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss   # kilobytes on Linux
print(kb * 1024 if sys.platform != "darwin" else kb)
"""

_DROP = ("PYTHONDONTWRITEBYTECODE", "CMSHELL_DB", "CMSHELL_DEBUG", "PYTHONSTARTUP")


# -- set-up -------------------------------------------------------------------------------

def arg_parser(doc: str, *, runs: int, nodes: int,
               runs_help: str = "timed runs per figure") -> argparse.ArgumentParser:
    """A parser described by the first line of `doc`, with the options every script takes:
    --runs N, --nodes N (of the fixtures/generate.py cluster) and --keep."""
    ap = argparse.ArgumentParser(description=doc.split("\n")[0])
    ap.add_argument("--runs", type=int, default=runs, help=f"{runs_help} (default {runs})")
    ap.add_argument("--nodes", type=int, default=nodes,
                    help=f"nodes of the generated cluster (default {nodes})")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    return ap


def about() -> str:
    """'python 3.11.7, 8 CPUs'."""
    return f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs"


@contextlib.contextmanager
def workdir(prefix: str, keep: bool = False) -> Iterator[Path]:
    """A temporary directory with home/, cache/ and data/ in it; removed afterwards unless
    `keep` (then its path is printed)."""
    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        for d in ("home", "cache", "data"):
            (tmp / d).mkdir()
        yield tmp
    finally:
        if keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def child_env(tmp: Path, drop: tuple[str, ...] = (), **extra: str) -> dict[str, str]:
    """The environment of the measured children: this one without PYTHONDONTWRITEBYTECODE,
    CMSHELL_DB, CMSHELL_DEBUG, PYTHONSTARTUP (and `drop`), with HOME and the XDG directories
    in `tmp` (see `workdir`), USER=bench, the repository first on PYTHONPATH, and `extra`."""
    env = {k: v for k, v in os.environ.items() if k not in _DROP + tuple(drop)}
    env.update(HOME=str(tmp / "home"), XDG_CACHE_HOME=str(tmp / "cache"),
               XDG_DATA_HOME=str(tmp / "data"), USER="bench",
               PYTHONPATH=os.pathsep.join([str(ROOT)] + [p for p in [os.environ.get("PYTHONPATH")] if p]),
               **extra)
    return env


def cmshell(*args: str, db: Path | str | None = None) -> list[str]:
    """argv of `cmshell -n [--db DB] ARGS...` run from the source tree."""
    return [sys.executable, "-m", "cmshell", "-n", *(("--db", str(db)) if db is not None else ()), *args]


def node_width(nodes: int) -> int:
    """Digits of the node names of fixtures/generate.py --nodes N: max(3, digits of N)."""
    return max(3, len(str(nodes)))


def node_name(i: int, nodes: int) -> str:
    """Name of the i-th node (1-based) of fixtures/generate.py --nodes N: node001, node00001..."""
    return f"node{i:0{node_width(nodes)}d}"


def generate(yaml_path: Path, nodes: int) -> Path:
    """Write `fixtures/generate.py --nodes N` to `yaml_path`."""
    with open(yaml_path, "w") as fh:
        subprocess.run([sys.executable, str(GENERATE), "--nodes", str(nodes)], stdout=fh, check=True)
    return yaml_path


def load_store(db: Path, yaml_path: Path, env: dict[str, str], **run_kw) -> float:
    """`cmshell --db DB --load YAML`; the seconds it took."""
    return run(cmshell("--load", str(yaml_path), db=db), env, **run_kw)[0]


def generated_store(db: Path, nodes: int, tmp: Path, env: dict[str, str], **run_kw) -> float:
    """A store at `db` of the cluster of fixtures/generate.py --nodes N (the YAML is written to
    `tmp`); the seconds the load took."""
    return load_store(db, generate(tmp / f"cluster{nodes}.yaml", nodes), env, **run_kw)


def copy_store(src: Path, dst: Path) -> None:
    """Replace the store at `dst` (and its -wal/-shm files) with a copy of the one at `src`."""
    for suffix in ("", "-wal", "-shm"):
        Path(str(dst) + suffix).unlink(missing_ok=True)
        if Path(str(src) + suffix).exists():
            shutil.copyfile(str(src) + suffix, str(dst) + suffix)


# -- measuring ----------------------------------------------------------------------------

def _cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def run(argv: list[str], env: dict[str, str], *, expect: str | None = None,
        fail_on_stderr: bool = False) -> tuple[float, float]:
    """Run `argv` once (stdin closed, from the repository root); (wall seconds, CPU seconds).

    Exits with the child's output when it fails: a non-zero exit, `expect` missing from its
    stdout (stdout is read only when `expect` is given), or, with `fail_on_stderr`, anything
    on its stderr."""
    c0, t0 = _cpu(), time.perf_counter()
    proc = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL,
                          stdout=subprocess.DEVNULL if expect is None else subprocess.PIPE,
                          stderr=subprocess.PIPE, cwd=str(ROOT))
    wall, cpu = time.perf_counter() - t0, _cpu() - c0
    out = proc.stdout.decode() if proc.stdout is not None else ""
    if proc.returncode != 0 or (expect is not None and expect not in out) or (fail_on_stderr and proc.stderr):
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(argv)}\n"
                         + (f"{out[-500:]}\n" if expect is not None else "") + proc.stderr.decode()[-2000:])
    return wall, cpu


class Timing(NamedTuple):
    median: float               # median wall seconds
    times: list[float]          # wall seconds of every timed run
    cpu: float                  # median CPU seconds (user + system) of the child


def median_time(argv: list[str], env: dict[str, str], runs: int, *,
                prepare: Callable[[], object] | None = None, **run_kw) -> Timing:
    """Time `argv` `runs` times after one warm-up run (.pyc files, schema cache, page cache);
    `prepare` is called before every run (e.g. a fresh copy of the store). `run_kw` go to `run`."""
    if prepare:
        prepare()
    run(argv, env, **run_kw)
    got = []
    for _ in range(runs):
        if prepare:
            prepare()
        got.append(run(argv, env, **run_kw))
    walls = [w for w, _ in got]
    return Timing(statistics.median(walls), walls, statistics.median(c for _, c in got))


def peak_rss(argv: list[str], env: dict[str, str], prepare: Callable[[], object] | None = None) -> int:
    """Peak RSS in bytes of one run of `argv`: ru_maxrss of RUSAGE_CHILDREN in a helper process
    whose only child is that run."""
    if prepare:
        prepare()
    out = subprocess.run([sys.executable, "-c", RSS_HELPER, *argv], env=env, capture_output=True,
                         text=True, cwd=str(ROOT))
    if out.returncode:
        raise SystemExit(f"RSS run failed: {out.stderr}")
    return int(out.stdout.strip())


# -- printing -----------------------------------------------------------------------------

MiB = 2**20


def fmt_target(target: float, unit: str = "s") -> str:
    """A target: seconds as '150 ms' below one second, else '1.5 s'; other units as '250 MB'."""
    if unit == "s":
        return f"{target * 1000:.0f} ms" if target < 1 else f"{target:g} s"
    return f"{target:g} {unit}"


def verdict(value: float, target: float | None, *, what: str = "", unit: str = "s", sep: str = "") -> str:
    """`sep` + 'target [what] <= 150 ms  OK' (or MISSED); '' when there is no target."""
    if target is None:
        return ""
    name = f"target {what} <=" if what else "target <="
    return f"{sep}{name} {fmt_target(target, unit)}  {'OK' if value <= target else 'MISSED'}"


def row(name: str, secs: float, base: float, target: float | None = None, *, width: int = 46,
        extra: str = "") -> str:
    """'  NAME   123.4 ms    2.50x EXTRA   target <= 150 ms  OK': a wall time in ms, its ratio to
    the baseline `base`, then `extra` and the verdict on `target`."""
    return f"  {name:<{width}} {secs * 1000:8.1f} ms  {secs / base:6.2f}x{extra}   {verdict(secs, target)}"


def runs_ms(times: list[float]) -> str:
    """'812 790 801': every run in whole milliseconds."""
    return " ".join(f"{x * 1000:.0f}" for x in times)


def first_prompt(argv: list[str], env: dict, pattern: str, timeout: float = 120) -> float:
    """Seconds from spawning `argv` on a pty until `pattern` (a regex) is on the screen."""
    import pexpect
    t0 = time.perf_counter()
    child = pexpect.spawn(argv[0], argv[1:], env=env, cwd=str(ROOT), encoding="utf-8", timeout=timeout,
                          dimensions=(24, 100))
    child.expect(pattern)
    took = time.perf_counter() - t0
    child.sendcontrol("d")
    child.sendcontrol("c")
    child.close(force=True)
    return took
