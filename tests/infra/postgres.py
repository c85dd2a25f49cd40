"""A real PostgreSQL server for the tests: initdb + pg_ctl in a temporary directory.

The server listens on a free loopback port (and a Unix socket in its own directory) with
password (SCRAM) authentication, so the URLs the tests use carry a password as real ones do.
Run as root, the server runs as the `postgres` user (initdb refuses root). Each test gets a
schema of its own (`url(schema)` sets search_path), much cheaper than a database.
"""
from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from urllib.parse import quote

PASSWORD = "s3cret-Pw"
USER = "cmshell"


def find_bin() -> str | None:
    """The directory of initdb and pg_ctl: Debian's /usr/lib/postgresql/<version>/bin (the
    newest), else wherever they are on PATH; None when there are none."""
    for d in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: [int(x) for x in p.split("/")[-2].split(".")
                                                                          if x.isdigit()], reverse=True):
        if os.path.exists(os.path.join(d, "initdb")) and os.path.exists(os.path.join(d, "pg_ctl")):
            return d
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    if initdb and pg_ctl:
        return os.path.dirname(os.path.realpath(initdb))
    return None


def why_not() -> str | None:
    """Why the server cannot run here (None: it can)."""
    if find_bin() is None:
        return "PostgreSQL is not installed (no initdb/pg_ctl; apt-get install postgresql)"
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg is not installed (pip install 'cmshell[postgres]')"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no `postgres` user to run the server as"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One server for a test session: `url(schema)`, `new_schema()`, `restart()`, `close()`."""

    def __init__(self) -> None:
        self.bin = find_bin() or ""
        self.dir = tempfile.mkdtemp(prefix="cmshell-pg-")
        self.data = os.path.join(self.dir, "data")
        self.port = _free_port()
        self._as: list[str] = []
        pwfile = os.path.join(self.dir, "pw")
        with open(pwfile, "w") as f:
            f.write(PASSWORD + "\n")
        if os.geteuid() == 0:           # initdb refuses root: the server runs as postgres
            self._as = ["runuser", "-u", "postgres", "--"]
            pw = pwd.getpwnam("postgres")
            for path in (self.dir, pwfile):
                os.chown(path, pw.pw_uid, pw.pw_gid)
        self._run("initdb", "-D", self.data, "-U", USER, "--pwfile", pwfile, "-A", "scram-sha-256",
                  "-E", "UTF8", "--locale=C", "--no-sync")
        with open(os.path.join(self.data, "postgresql.conf"), "a") as f:
            # loopback only; fsync off: the tests measure cmshell, not the disk
            f.write(f"listen_addresses = '127.0.0.1'\nport = {self.port}\n"
                    f"unix_socket_directories = '{self.dir}'\nfsync = off\n"
                    "synchronous_commit = off\nfull_page_writes = off\nmax_connections = 300\n")
        self.start()

    def _run(self, tool: str, *args: str) -> None:
        out = subprocess.run([*self._as, os.path.join(self.bin, tool), *args], capture_output=True,
                             text=True, timeout=120, cwd=self.dir)
        if out.returncode != 0:
            raise RuntimeError(f"{tool} failed: {out.stderr.strip() or out.stdout.strip()}")

    def start(self) -> None:
        self._run("pg_ctl", "-D", self.data, "-l", os.path.join(self.dir, "log"), "-w", "-t", "60", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", self.data, "-m", mode, "-w", "stop")

    def restart(self) -> None:
        self._run("pg_ctl", "-D", self.data, "-l", os.path.join(self.dir, "log"), "-m", "fast", "-w",
                  "-t", "60", "restart")

    def url(self, schema: str | None = None, **params: str) -> str:
        """A URL with the password in it; `schema`: the store lives in that schema."""
        query = dict(params)
        if schema:
            query["options"] = f"-csearch_path={schema}"
        q = "&".join(f"{k}={quote(v, safe='')}" for k, v in query.items())
        return (f"postgresql://{USER}:{quote(PASSWORD)}@127.0.0.1:{self.port}/postgres"
                + (f"?{q}" if q else ""))

    def new_schema(self) -> str:
        import psycopg
        name = "t_" + uuid.uuid4().hex[:12]
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {name}")
        return name

    def close(self) -> None:
        try:
            self.stop("immediate")
        except (RuntimeError, subprocess.SubprocessError):
            pass
        shutil.rmtree(self.dir, ignore_errors=True)
