"""The SQLite store's file, checked before SQLite opens it: there (or created on purpose),
private, an SQLite database not cut short, and a cmsh store's tables (not someone else's)."""
from __future__ import annotations

import errno
import os
import sqlite3
import stat
import threading

from .base import NoStore, StoreError
from .common import NO_STORE, RESTORE, one_line
from .sqlite_migrate import own_tables

HEADER = b"SQLite format 3\x00"

open_paths: dict[str, int] = {}       # realpath -> stores of this process open on it
open_lock = threading.Lock()


def create_file(path: str, create: bool = True, parents: bool = True) -> list[str]:
    """Make sure there is a file to open (`create`, its directories too when `parents`); the
    warnings for the user (see `private`)."""
    parent = os.path.dirname(os.path.abspath(path))
    try:
        if not os.path.exists(path) and not create:
            raise NoStore(f"No store at {path}; {NO_STORE}")
        if not os.path.isdir(parent):
            if not parents:
                raise StoreError(f"Cannot create store {path}: there is no directory {parent}")
            os.makedirs(parent, mode=0o700, exist_ok=True)
        if os.path.isfile(path):
            # closing a descriptor of a file drops every POSIX lock this process holds on
            # it, those of SQLite connections already open on the store included (a second
            # store in the same process then reads a stale snapshot): check, don't open
            if not os.access(path, os.R_OK | os.W_OK):
                raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))
            check_header(path)
            return private(path)
        fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
        os.close(fd)
    except OSError as exc:
        reason = exc.strerror or one_line(exc)
        raise StoreError(f"Cannot open store {path}: {reason}") from None
    return []


def private(path: str) -> list[str]:
    """A store holds secrets: one that others may read (or write) is made 0600, with a
    warning (the store's `warnings`, which the shell prints)."""
    warnings = []
    for suffix in ("", "-wal", "-shm"):
        name = path + suffix
        try:
            mode = stat.S_IMODE(os.stat(name).st_mode)
        except OSError:
            continue
        if mode & 0o077:
            try:
                os.chmod(name, 0o600)
            except OSError as exc:
                warnings.append(f"Warning: store {name} is readable by others (mode "
                                f"{mode:04o}) and could not be made private: {exc.strerror}")
                continue
            warnings.append(f"Warning: store {name} was readable by others (mode {mode:04o});"
                            " it is now 0600")
    return warnings


def check_header(path: str) -> None:
    """What the first 100 bytes and the size of an existing file say, read without SQLite:
    an SQLite database at all, and not cut short (a truncated copy, a full disk). Skipped
    when this process has the store open already: closing a descriptor of the file would
    drop that connection's locks (see create_file), and it was checked then."""
    with open_lock:
        if open_paths.get(os.path.realpath(path)):
            return
    try:
        with open(path, "rb") as fh:
            head = fh.read(100)
            size = os.fstat(fh.fileno()).st_size
    except OSError as exc:
        raise StoreError(f"Cannot open store {path}: {exc.strerror or one_line(exc)}") from None
    if size == 0:
        return                         # a new, empty file: becomes a store
    if len(head) < 100 or not head.startswith(HEADER):
        raise StoreError(f"Cannot open store {path}: it is not an SQLite database (not a cmsh store)")
    page = int.from_bytes(head[16:18], "big")
    page = 65536 if page == 1 else page
    pages = int.from_bytes(head[28:32], "big")
    counted = head[92:96] == head[24:28]     # the page count is valid (SQLite ≥ 3.7.0 wrote it)
    if page < 512 or page & (page - 1) or size % page or (counted and size < pages * page):
        want = f"{pages * page} bytes" if counted else f"a multiple of {page} bytes"
        raise StoreError(f"Store {path} is damaged: the file is {size} bytes, it should be "
                         f"{want} (truncated?); {RESTORE}")


def check_tables(conn: sqlite3.Connection, path: str) -> None:
    """The tables must be a cmsh store's (or none: a new store). Someone else's database is
    refused before anything in it changes. (sqlite3.DatabaseError: the caller's to explain.)"""
    rows = conn.execute("SELECT name FROM sqlite_master WHERE type='table'").fetchall()
    foreign = {r[0] for r in rows} - own_tables()
    if foreign:
        raise StoreError(f"Cannot open store {path}: it is an SQLite database but not a cmsh"
                         f" store (it has table {sorted(foreign)[0]}); nothing in it was changed")
    if rows and "objects" in {r[0] for r in rows}:
        cols = {r[1] for r in conn.execute("PRAGMA table_info(objects)")}
        if not {"id", "mode", "name", "revision", "doc"} <= cols:
            raise StoreError(f"Cannot open store {path}: its objects table is not a cmsh"
                             " store's; nothing in it was changed")
