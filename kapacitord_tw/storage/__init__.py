"""Durable storage of users, tasks and templates (the original keeps them in BoltDB).

Open the store once at start-up with :meth:`JournalStore.open` and pass it
around as an :class:`IStore`.
"""

from .errors import StoreClosed, StoreCorrupted, StoreError, StoreLocked, StoreWriteError
from .interface import IStore
from .journal import DEFAULT_FILENAME, JournalStore, StoreStats
from .service import StoreService

__all__ = [
    "DEFAULT_FILENAME",
    "IStore",
    "JournalStore",
    "StoreClosed",
    "StoreCorrupted",
    "StoreError",
    "StoreLocked",
    "StoreService",
    "StoreStats",
    "StoreWriteError",
]
