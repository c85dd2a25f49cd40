"""The store: object documents with revisions, committed atomically and journalled."""
from .base import Change, Committed, ConflictError, JournalEntry, NoStore, ObjectChange, Record, Store, StoreError
from .sqlite import SqliteStore, new_id, open_store

__all__ = ["Change", "Committed", "ConflictError", "JournalEntry", "NoStore", "ObjectChange", "Record", "Store",
           "StoreError",
           "SqliteStore", "new_id", "open_store"]
