"""
Login throttling (beyond the original, which has none).

Failed password logins are counted per username and per client address.
Past ``login-failures-budget`` failures, further *uncached* attempts for that
username or from that address wait with exponential back-off (``base``,
doubling, capped at ``max``) and are answered 429 with ``Retry-After``.
Credentials already proven (the password cache) are never throttled, so a
storm against one account does not lock out the users who are logged in.
Memory is bounded: at most ``max_entries`` keys, least recently failed
evicted first; an entry is forgotten once its back-off window has passed
twice over without a new failure.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from typing import Tuple

import attrs


@attrs.frozen
class _Record:
    failures: int
    last_failure: float
    blocked_until: float


class LoginThrottle:
    def __init__(self, clock, budget: int, base: float, maximum: float, max_entries: int):
        self._clock = clock
        self.budget = budget
        self.base = base
        self.maximum = maximum
        self.max_entries = max_entries
        self._records: "OrderedDict[Tuple[str, str], _Record]" = OrderedDict()

    @classmethod
    def from_config(cls, auth, clock) -> "LoginThrottle":
        return cls(
            clock,
            budget=auth.login_failures_budget,
            base=auth.login_backoff_base / 1e9,
            maximum=auth.login_backoff_max / 1e9,
            max_entries=auth.login_throttle_entries,
        )

    def _keys(self, username: str, client: str):
        yield ("user", username)
        if client:
            yield ("client", client)

    def _current(self, key) -> _Record | None:
        record = self._records.get(key)
        if record is None:
            return None
        now = self._clock.seconds()
        window = max(self.maximum, self.base) * 2
        if now >= record.blocked_until and now - record.last_failure > window:
            del self._records[key]
            return None
        return record

    def retry_after(self, username: str, client: str) -> int:
        """Seconds to wait before trying again (0: go ahead).

        Past the budget, going ahead *reserves* the one attempt of the
        current window: concurrent attempts wait for its verdict instead
        of all reaching bcrypt when a back-off expires.
        """
        now = self._clock.seconds()
        wait = 0.0
        over_budget = []
        for key in self._keys(username, client):
            record = self._current(key)
            if record is None:
                continue
            if record.blocked_until > now:
                wait = max(wait, record.blocked_until - now)
            elif record.failures >= self.budget:
                over_budget.append((key, record))
        if wait > 0:
            return math.ceil(wait)
        for key, record in over_budget:
            delay = min(self.maximum, self.base * 2 ** (record.failures - self.budget))
            self._records[key] = attrs.evolve(record, blocked_until=now + delay)
        return 0

    def failed(self, username: str, client: str) -> None:
        now = self._clock.seconds()
        for key in self._keys(username, client):
            record = self._current(key)
            failures = (record.failures if record else 0) + 1
            blocked_until = record.blocked_until if record else 0.0
            if failures >= self.budget:
                delay = min(self.maximum, self.base * 2 ** (failures - self.budget))
                blocked_until = now + delay
            self._records[key] = _Record(failures, now, blocked_until)
            self._records.move_to_end(key)
        while len(self._records) > self.max_entries:
            self._records.popitem(last=False)

    def succeeded(self, username: str, client: str) -> None:
        """A proven password clears its username's record (not the address's)."""
        self._records.pop(("user", username), None)

    def __len__(self) -> int:
        return len(self._records)
