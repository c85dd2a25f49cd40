"""Named locks of a store file: `flock` on `<store>.locks/<name>.lock` (SqliteStore.lock).

Every session of the store on this machine sees the same files, so a lock excludes other
processes and, since each holder opens the file itself (an flock belongs to the open file),
other threads of this process too. The kernel drops a lock when its holder dies.
"""
from __future__ import annotations

import fcntl
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager

from .base import StoreError
from .common import one_line


def lock_dir(store_path: str) -> str:
    """The directory of a store's lock files (made on demand, private)."""
    return f"{os.path.abspath(store_path)}.locks"


def lock_file(store_path: str, name: str) -> str:
    """The lock file of `name`: the name itself when it is plain (`ssh-node001`), with any
    other character (a `/`, a space) written as %XX."""
    safe = re.sub(r"[^A-Za-z0-9._-]", lambda m: "".join(f"%{b:02X}" for b in m.group().encode()), name)
    if safe in ("", ".", ".."):
        safe = safe.replace(".", "%2E") or "%00"
    return os.path.join(lock_dir(store_path), f"{safe}.lock")


@contextmanager
def file_lock(store_path: str, name: str, *, wait: bool = True, shared: bool = False,
              shown: str | None = None) -> Iterator[bool]:
    """Hold the lock `name` of the store at `store_path` for the with-block; yields True when
    held, False at once when `wait` is off and another holder conflicts."""
    path = lock_file(store_path, name)
    try:
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        raise StoreError(f"Cannot lock {name} of store {shown or store_path}: "
                         f"{exc.strerror or one_line(exc)}") from None
    try:
        try:
            fcntl.flock(fd, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
