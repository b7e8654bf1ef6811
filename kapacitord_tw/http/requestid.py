"""
``Request-Id`` values: time-based (version 1) UUIDs, as the original sends.

``uuid.uuid1()`` makes a system call per id; this generator keeps a random
node and clock sequence per process and only reads the clock, which matters
on the ping hot path.
"""

from __future__ import annotations

import os
import time

# 100-ns intervals between 1582-10-15 and 1970-01-01.
_GREGORIAN_OFFSET = 0x01B21DD213814000


class RequestIds:
    def __init__(self) -> None:
        node = int.from_bytes(os.urandom(6), "big") | 0x010000000000  # multicast bit: not a MAC
        clock_seq = int.from_bytes(os.urandom(2), "big") & 0x3FFF
        self._tail = f"{0x8000 | clock_seq:04x}-{node:012x}".encode("ascii")
        self._last = 0

    def next(self) -> bytes:
        stamp = time.time_ns() // 100 + _GREGORIAN_OFFSET
        if stamp <= self._last:
            stamp = self._last + 1
        self._last = stamp
        low = stamp & 0xFFFFFFFF
        mid = (stamp >> 32) & 0xFFFF
        high = ((stamp >> 48) & 0x0FFF) | 0x1000
        return b"%08x-%04x-%04x-%s" % (low, mid, high, self._tail)
