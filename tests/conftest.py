"""Shared fixtures: run the real entry point (`cli.main`, in-process or as `python -m cmshell`)
against throw-away stores.

The demo cluster (fixtures/basecm10.yaml) is loaded once per test session into a template
store; every test that asks for `db` gets its own copy in tmp_path. Every run, in-process or a
child process, gets HOME / XDG_* pointing at temporary directories, so the user's ~/.cmshellrc,
schema cache and default store are never read or written.
"""
from __future__ import annotations

import io
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DEMO_YAML = ROOT / "fixtures" / "basecm10.yaml"
GENERATE = ROOT / "fixtures" / "generate.py"
if str(ROOT) not in sys.path:       # plain `pytest tests/` (no __init__.py, no install)
    sys.path.insert(0, str(ROOT))

# variables of the parent environment that would change what a child cmshell does
_SCRUB = ("CMSHELL_DB", "CMSHELL_DEBUG", "NO_COLOR", "XDG_DATA_HOME", "XDG_CONFIG_HOME",
          "VISUAL", "EDITOR", "PYTHONSTARTUP", "PYTHONINSPECT")


def child_env(home: Path, cache: Path, **extra: str) -> dict[str, str]:
    """An environment for a cmshell child: private HOME and caches, the checkout on the path."""
    env = {k: v for k, v in os.environ.items() if k not in _SCRUB}
    env.update(HOME=str(home), XDG_CACHE_HOME=str(cache), XDG_DATA_HOME=str(home / ".local" / "share"),
               USER="tester", LOGNAME="tester", LC_ALL="C.UTF-8",
               PYTHONPATH=os.pathsep.join([str(ROOT)] + [p for p in [os.environ.get("PYTHONPATH")] if p]))
    env.update(extra)
    return env


def session_on(store, cache: Path | None = None, **environ: str):
    """A shell Session in this process over `store`, with its own StringIO streams."""
    import io

    from cmshell.commands import registry
    from cmshell.env import Environment
    from cmshell.model.schema import load_schema
    from cmshell.shell.session import Session
    from cmshell.workspace import Workspace
    env = Environment(stdin=io.StringIO(), stdout=io.StringIO(), stderr=io.StringIO(),
                      environ={"HOME": "/nonexistent", "USER": "tester", **environ})
    schema = load_schema(cache_dir=str(cache) if cache else None)
    return Session(Workspace(store, schema), schema, registry.load(), env=env)


def copy_store(src: Path, dst: Path) -> Path:
    for suffix in ("", "-wal", "-shm"):
        if Path(str(src) + suffix).exists():
            shutil.copyfile(str(src) + suffix, str(dst) + suffix)
    os.chmod(dst, 0o600)
    return dst


def snapshot(db: Path) -> tuple:
    """Everything a store holds (objects with revisions, journal, meta), for equality checks."""
    conn = sqlite3.connect(str(db))
    try:
        return (tuple(conn.execute("SELECT id, mode, name, revision, doc FROM objects ORDER BY id")),
                tuple(conn.execute("SELECT seq, user, comment, summary, deltas FROM journal ORDER BY seq")),
                tuple(conn.execute("SELECT key, value FROM meta ORDER BY key")))
    finally:
        conn.close()


@dataclass
class Result:
    args: list
    returncode: int
    stdout: str
    stderr: str

    @property
    def err_lines(self) -> list[str]:
        return self.stderr.splitlines()

    def __str__(self) -> str:   # shown by failing asserts
        return (f"cmshell {self.args!r} -> {self.returncode}\n--- stdout ---\n{self.stdout}"
                f"--- stderr ---\n{self.stderr}")


def run_in_process(args: list[str], *, input: str | None, environ: dict[str, str],
                   cwd: Path | str) -> Result:
    """`cli.main(args)` in this process: stdin holds `input`, stdout and stderr are captured, and
    `cwd` is the working directory for the run (relative paths of -f, run, > …)."""
    from cmshell import cli
    from cmshell.env import Environment
    out, err = io.StringIO(), io.StringIO()
    env = Environment(stdin=io.StringIO(input or ""), stdout=out, stderr=err, environ=environ)
    here = os.getcwd()
    os.chdir(cwd)
    try:
        rc = int(cli.main(list(args), env))
    except Exception:           # what the interpreter would print, and its exit status
        err.write(traceback.format_exc())
        rc = 1
    finally:
        os.chdir(here)
    return Result(list(args), rc, out.getvalue(), err.getvalue())


class Cmshell:
    """Runs cmshell: `cm("-c", "device; list")` calls `cli.main(argv, Environment(...))` in this
    process, with StringIO streams, the variables of `child_env` and the test's directory as
    the working directory. `cm.process(...)` runs a real `python -m cmshell` child instead (for
    what only a process shows: exit at the OS level, fds, signals, imports, concurrency), and
    `cm.popen(...)` starts one.

    `--db <the test's store>` and `-n` are added unless `db=None` / `norc=False`."""

    def __init__(self, home: Path, cache: Path, db: Path | None, cwd: Path):
        self.home, self.cache, self.db, self.cwd = home, cache, db, cwd

    def env(self, **extra: str) -> dict[str, str]:
        return child_env(self.home, self.cache, **extra)

    def args(self, *args: str, db: Path | str | None | bool = True, norc: bool = True) -> list[str]:
        """The command line after `cmshell`."""
        out = []
        store = self.db if db is True else db
        if store:
            out += ["--db", str(store)]
        if norc:
            out.append("-n")
        return out + list(args)

    def argv(self, *args: str, db: Path | str | None | bool = True, norc: bool = True) -> list[str]:
        return [sys.executable, "-m", "cmshell"] + self.args(*args, db=db, norc=norc)

    def __call__(self, *args: str, input: str | None = None, db: Path | str | None | bool = True,
                 norc: bool = True, env: dict | None = None) -> Result:
        return run_in_process(self.args(*args, db=db, norc=norc), input=input,
                              environ=self.env(**(env or {})), cwd=self.cwd)

    def process(self, *args: str, input: str | None = None, db: Path | str | None | bool = True,
                norc: bool = True, env: dict | None = None, timeout: float = 60) -> Result:
        """Like calling it, in a child process `python -m cmshell`."""
        argv = self.argv(*args, db=db, norc=norc)
        proc = subprocess.run(argv, input=input if input is not None else "", capture_output=True,
                              text=True, cwd=self.cwd, env=self.env(**(env or {})), timeout=timeout)
        return Result(argv[3:], proc.returncode, proc.stdout, proc.stderr)

    def popen(self, *args: str, db: Path | str | None | bool = True, norc: bool = True,
              env: dict | None = None) -> subprocess.Popen:
        return subprocess.Popen(self.argv(*args, db=db, norc=norc), stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1,
                                cwd=self.cwd, env=self.env(**(env or {})))


def assert_clean(res: Result) -> None:
    """No Python traceback leaked to the user, whatever happened."""
    assert "Traceback" not in res.stdout and "Traceback" not in res.stderr, str(res)


def assert_one_error(res: Result) -> None:
    """A failure the way the user should see it: status 1, exactly one line on stderr."""
    assert_clean(res)
    assert res.returncode == 1, str(res)
    assert len(res.err_lines) == 1 and res.err_lines[0].strip(), str(res)


def assert_ok(res: Result) -> None:
    assert_clean(res)
    assert res.returncode == 0 and res.stderr == "", str(res)


def pytest_configure(config) -> None:
    """The whole run happens in a network namespace of its own (tests/infra/netns.py)."""
    from tests.infra import netns
    netns.enter_private_netns()


@pytest.fixture(scope="session")
def private_network() -> None:
    """Backend tests need the private network namespace; without it they skip, saying why."""
    from tests.infra import netns
    if not netns.isolated():
        pytest.skip(netns.why_not())


# -- random seeds ------------------------------------------------------------------------------
SEED_VARIABLE = "CMSHELL_TEST_SEED"


@pytest.fixture
def seed(record_property) -> int:
    """A random seed for the test: $CMSHELL_TEST_SEED, else a fresh one. It is recorded as the
    test's `seed` property, and a failing test reports it (pytest_runtest_makereport below), so
    that `CMSHELL_TEST_SEED=N pytest ...` reruns the failure the same way."""
    value = os.environ.get(SEED_VARIABLE)
    n = int(value) if value else random.randrange(1 << 30)
    record_property("seed", n)
    return n


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        for name, value in item.user_properties:
            if name == "seed":
                report.sections.append(("random seed", f"rerun with {SEED_VARIABLE}={value}"))


# -- fixtures --------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def shared_cache(tmp_path_factory) -> Path:
    """One schema cache for the whole run (a temp dir): spares every child the YAML parse."""
    return tmp_path_factory.mktemp("xdg-cache")


@pytest.fixture(scope="session")
def template_db(tmp_path_factory, shared_cache) -> Path:
    """The demo cluster loaded once into a store; copy it, never write it."""
    d = tmp_path_factory.mktemp("template")
    home = d / "home"
    home.mkdir()
    db = d / "demo.db"
    res = Cmshell(home, shared_cache, db, d)("--load", str(DEMO_YAML))
    assert_ok(res)
    assert not Path(str(db) + "-wal").exists() or Path(str(db) + "-wal").stat().st_size == 0
    return db


@pytest.fixture
def home(tmp_path) -> Path:
    h = tmp_path / "home"
    h.mkdir()
    return h


@pytest.fixture
def db(tmp_path, template_db) -> Path:
    """A private copy of the demo store."""
    return copy_store(template_db, tmp_path / "cluster.db")


@pytest.fixture
def cm(tmp_path, home, shared_cache, db) -> Cmshell:
    """Runs cmshell on this test's copy of the demo store (see Cmshell)."""
    return Cmshell(home, shared_cache, db, tmp_path)


def journal_user(claim: str = "tester") -> str:
    """The journal's user of a run with USER=`claim`: the OS account of the tests, with the
    claim beside it when it differs (env.py Environment.user)."""
    import pwd
    account = pwd.getpwuid(os.getuid()).pw_name
    return account if claim == account else f"{account} ($USER={claim})"


# -- PostgreSQL ---------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def pg_server():
    """A PostgreSQL server started for this test session (tests/infra/postgres.py); skipped,
    with the reason, when the binaries or psycopg are missing."""
    from tests.infra import postgres
    why = postgres.why_not()
    if why:
        pytest.skip(why)
    server = postgres.Server()
    yield server
    server.close()


@pytest.fixture
def pg_url(pg_server) -> str:
    """The URL (with its password) of an empty schema of its own on the session's server."""
    return pg_server.url(pg_server.new_schema())


@pytest.fixture
def pg_demo(cm, pg_url) -> str:
    """The URL of a schema of its own holding the demo cluster (loaded as a user would)."""
    res = cm("--load", str(DEMO_YAML), db=pg_url)
    assert res.returncode == 0, str(res)
    return pg_url


def dump_tables(db) -> tuple:
    """The objects and the journal of a store (a file path or a postgresql:// URL), for
    before/after comparisons."""
    if isinstance(db, str) and db.startswith("postgresql://"):
        import psycopg
        with psycopg.connect(db) as pg:
            objects = pg.execute("SELECT id, mode, name, revision, doc FROM objects ORDER BY id").fetchall()
            journal = pg.execute('SELECT seq, time, "user", comment, summary, deltas FROM journal'
                                 " ORDER BY seq").fetchall()
            return objects, [tuple(bytes(v) if isinstance(v, memoryview) else v for v in r) for r in journal]
    conn = sqlite3.connect(str(db))
    try:
        objects = conn.execute("SELECT id, mode, name, revision, doc FROM objects ORDER BY id").fetchall()
        journal = conn.execute("SELECT * FROM journal ORDER BY seq").fetchall()
        return objects, journal
    finally:
        conn.close()
