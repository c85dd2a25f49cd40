"""The store: object documents with revisions, committed atomically and journalled."""
from __future__ import annotations

import os

from .base import (Change, Committed, ConflictError, JournalEntry, NoStore, ObjectChange, Record, Store, StoreError,
                   StoreUnavailable)
from .common import new_id
from .sqlite import DEFAULT_TIMEOUT, SqliteStore

__all__ = ["Change", "Committed", "ConflictError", "JournalEntry", "NoStore", "ObjectChange", "Record", "Store",
           "StoreError", "StoreUnavailable",
           "SqliteStore", "new_id", "open_store"]


def open_store(path: str | os.PathLike, *, timeout: float = DEFAULT_TIMEOUT, create: bool = True,
               parents: bool = True) -> Store:
    """Open the store at ``path``: an SQLite file, or a PostgreSQL database given as a
    ``postgresql://`` URL (psycopg is imported only then). A missing store is created when
    `create` (a file's directories too when `parents`), else refused (NoStore); for a URL,
    "missing" is a database without cmshell's schema."""
    from .pgurl import is_url, redact
    if is_url(path):
        try:
            from .postgres import PostgresStore
        except ImportError:
            raise StoreError(f"Cannot open store {redact(str(path))}: PostgreSQL support is not"
                             " installed (pip install 'cmshell[postgres]')") from None
        return PostgresStore(str(path), timeout=timeout, create=create)
    return SqliteStore(path, timeout=timeout, create=create, parents=parents)
