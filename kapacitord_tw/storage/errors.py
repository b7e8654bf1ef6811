"""Exceptions raised by the durable store.

They are separate from the store so that callers (start-up code, HTTP error
mappers) can catch them without importing the implementation.
"""

from __future__ import annotations


class StoreError(Exception):
    """Base class for every error the store reports."""


class StoreCorrupted(StoreError):
    """The store file cannot be trusted, so start-up must stop.

    Raised for an unreadable file, a file that is not a journal, or a damaged
    record that is followed by acknowledged records (a crash can only damage
    the unacknowledged tail, so anything else means the file was altered).
    """

    def __init__(self, path: str, line: int | None, reason: str) -> None:
        self.path = path
        self.line = line
        self.reason = reason
        where = f"{path}: line {line}" if line is not None else path
        super().__init__(f"store file {where}: {reason}")


class StoreLocked(StoreError):
    """Another process holds the store file open (two daemons on one data dir)."""

    def __init__(self, path: str) -> None:
        self.path = path
        super().__init__(f"store file {path} is locked by another process")


class StoreWriteError(StoreError):
    """A mutation could not be made durable; the store accepts no more writes."""


class StoreClosed(StoreError):
    """A mutation was attempted after :meth:`close`."""
