"""Counters published by ``/debug/vars`` (the original keeps them private)."""

from __future__ import annotations

from typing import Dict

HTTPD_COUNTERS = (
    "req",
    "ping_req",
    "write_req",
    "write_req_bytes",
    "points_written_ok",
    "points_written_fail",
    "auth_fail",
)


class Counters:
    """Named integer counters; mutated on the reactor thread only."""

    def __init__(self, names=HTTPD_COUNTERS):
        self._values: Dict[str, int] = {name: 0 for name in names}

    def incr(self, name: str, by: int = 1) -> None:
        self._values[name] = self._values.get(name, 0) + by

    def get(self, name: str) -> int:
        return self._values.get(name, 0)

    def snapshot(self) -> Dict[str, int]:
        return dict(sorted(self._values.items()))
