"""
Login throttling (beyond the original, which has none).

Failed password logins are counted per username and per client address.
Past ``login-failures-budget`` failures, further *uncached* attempts for that
username or from that address wait with exponential back-off (``base``,
doubling, capped at ``max``) and are answered 429 with ``Retry-After``.
Attempts still in bcrypt count against the budget too, so a burst of
concurrent guesses cannot all get through at once.  Credentials already
proven (the password cache, the guard's login memo) are never throttled, so
a storm against one account does not lock out the users who are logged in.
Memory is bounded: at most ``max_entries`` keys, least recently failed
evicted first; an entry with nothing pending is forgotten once twice the
longest back-off has passed since its last failure.
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
    #: Attempts admitted and still being checked (bcrypt in a thread).
    pending: int = 0


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
        if record.pending == 0 and now >= record.blocked_until and now - record.last_failure > window:
            del self._records[key]
            return None
        return record

    def _delay(self, failures: int) -> float:
        return min(self.maximum, self.base * 2 ** max(0, failures - self.budget))

    def retry_after(self, username: str, client: str) -> int:
        """Seconds to wait before trying again (0: go ahead).

        Attempts still being checked count against the budget, and past
        the budget only one attempt at a time is let through, so a burst
        of concurrent guesses cannot all reach bcrypt.
        """
        now = self._clock.seconds()
        wait = 0.0
        for key in self._keys(username, client):
            record = self._current(key)
            if record is None:
                continue
            if record.blocked_until > now:
                wait = max(wait, record.blocked_until - now)
            elif record.pending and record.failures + record.pending >= self.budget:
                wait = max(wait, self.base)
        return math.ceil(wait) if wait > 0 else 0

    def admit(self, username: str, client: str) -> int:
        """``retry_after``, and when it is 0 the attempt is counted as pending."""
        wait = self.retry_after(username, client)
        if wait:
            return wait
        for key in self._keys(username, client):
            record = self._current(key) or _Record(0, 0.0, 0.0)
            self._store(key, attrs.evolve(record, pending=record.pending + 1))
        return 0

    def failed(self, username: str, client: str) -> None:
        now = self._clock.seconds()
        for key in self._keys(username, client):
            record = self._current(key) or _Record(0, 0.0, 0.0)
            failures = record.failures + 1
            blocked_until = record.blocked_until
            if failures >= self.budget:
                blocked_until = now + self._delay(failures)
            self._store(
                key, _Record(failures, now, blocked_until, max(0, record.pending - 1))
            )

    def succeeded(self, username: str, client: str) -> None:
        """A proven password clears its username's record (not the address's:
        one right password must not excuse a guessing address)."""
        self.release(username, client)
        self._records.pop(("user", username), None)

    def release(self, username: str, client: str) -> None:
        """Free an admitted attempt's pending slot without counting a failure
        (never checked because the bcrypt queue was full, or overtaken by a
        password change)."""
        for key in self._keys(username, client):
            record = self._records.get(key)
            if record is not None and record.pending:
                self._records[key] = attrs.evolve(record, pending=record.pending - 1)

    def _store(self, key, record: _Record) -> None:
        self._records[key] = record
        self._records.move_to_end(key)
        while len(self._records) > self.max_entries:
            self._records.popitem(last=False)

    def __len__(self) -> int:
        return len(self._records)
