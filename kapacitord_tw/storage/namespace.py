"""One namespace ("bucket") of the store, kept in BoltDB key order.

Entries map a key to its journal line (the JSON of the value is decoded on
every read, which also hands each reader a private copy).  The order is a
sorted list maintained with ``bisect``: an insertion or removal costs one
``memmove`` of pointers, never a re-sort, and a page of a listing is a slice.
"""

from __future__ import annotations

import bisect
from itertools import islice


def sort_key(key: str) -> bytes:
    """The bytes BoltDB would order *key* by: its UTF-8 encoding.

    Lone surrogates from ``surrogateescape`` decoding stand for the raw bytes
    they came from (the project-wide convention); any other lone surrogate is
    encoded as-is so that every str still has a place in the order.
    """
    try:
        return key.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return key.encode("utf-8", "surrogatepass")


class Namespace:
    """Keys of one namespace, their journal lines, and their order."""

    __slots__ = ("entries", "order")

    def __init__(self) -> None:
        self.entries: dict[str, bytes] = {}
        # (sort_key(key), key) pairs, sorted; the key breaks ties that only
        # unusual surrogates could cause.
        self.order: list[tuple[bytes, str]] = []

    def finish_bulk_load(self) -> None:
        """Build the order once after ``entries`` was filled directly (loading)."""
        self.order = sorted((sort_key(k), k) for k in self.entries)

    def set(self, key: str, line: bytes) -> bytes | None:
        """Store *line* under *key*; returns the line it replaced."""
        old = self.entries.get(key)
        self.entries[key] = line
        if old is None:
            bisect.insort(self.order, (sort_key(key), key))
        return old

    def remove(self, key: str) -> bytes | None:
        """Remove *key*; returns its line, or None if it was absent."""
        old = self.entries.pop(key, None)
        if old is not None:
            item = (sort_key(key), key)
            del self.order[bisect.bisect_left(self.order, item)]
        return old

    def keys(self) -> list[str]:
        return [k for _, k in self.order]

    def page(self, match, offset: int, limit: int | None) -> list[str]:
        """Keys in order: those passing *match* (None = all), skipping *offset*, at most *limit*."""
        offset = max(offset, 0)
        stop = None if limit is None else offset + max(limit, 0)
        if match is None:
            return [k for _, k in self.order[offset:stop]]
        matching = (k for _, k in self.order if match(k))
        return list(islice(matching, offset, stop))
