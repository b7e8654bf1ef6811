"""
Login throttling (beyond the original, which has none).

Failed password logins are counted under three keys, each with its own
budget of failures (``login-failures-budget`` = *budget*):

* the (username, client address) pair: *budget*;
* the client address, whatever the names: *budget*;
* the username, whatever the addresses: ``USER_BUDGET_FACTOR`` × *budget*,
  so that guesses from many addresses are still bounded, but someone
  guessing from one address cannot lock the real user out of their account
  (their own pair and address are throttled long before).

Past a key's budget, further *uncached* attempts under it wait with
exponential back-off (``base``, doubling, capped at ``max``) and are
answered 429 with ``Retry-After``.  Attempts still in bcrypt count against
the budgets, so a burst of concurrent guesses cannot all get through, and
an attempt refused because the bcrypt queue was full counts as a failure
(a flood that fills the queue throttles itself).  Credentials already
proven (the password cache, the guard's login memo) are never throttled.

IPv6 clients are counted per /64 (one host usually holds a whole /64).
Keys are keyed BLAKE2 digests, so a 12 KB user name costs 16 bytes.  At
most ``max_entries`` keys are kept: when full, the *least penalised* key
(fewest failures, then oldest) is evicted, so a storm of one-off failures
under random names cannot push out the back-off of an account under
attack.  A key with nothing pending is forgotten once twice the longest
back-off has passed since its last failure.
"""

from __future__ import annotations

import hashlib
import heapq
import ipaddress
import itertools
import math
import os
from typing import Dict, List, Tuple

import attrs

#: The per-username budget is this many times the per-pair budget.
USER_BUDGET_FACTOR = 20

_PAIR, _CLIENT, _USER = b"p", b"c", b"u"


@attrs.frozen
class _Record:
    failures: int
    last_failure: float
    blocked_until: float
    #: Attempts admitted and still being checked (bcrypt in a thread).
    pending: int = 0


def client_network(client: str) -> str:
    """The unit an address is counted in: itself, or its /64 for IPv6."""
    if ":" not in client:
        return client
    try:
        address = ipaddress.IPv6Address(client.split("%", 1)[0])
    except ValueError:
        return client
    if address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(ipaddress.IPv6Network((int(address) >> 64 << 64, 64)))


class LoginThrottle:
    def __init__(self, clock, budget: int, base: float, maximum: float, max_entries: int):
        self._clock = clock
        self.budget = budget
        self.base = base
        self.maximum = maximum
        self.max_entries = max_entries
        self._secret = os.urandom(32)
        self._records: Dict[bytes, _Record] = {}
        # Eviction order: (failures, last failure, sequence, key); entries
        # whose record has changed since are stale and skipped.
        self._heap: List[Tuple[int, float, int, bytes]] = []
        self._sequence = itertools.count()

    @classmethod
    def from_config(cls, auth, clock) -> "LoginThrottle":
        return cls(
            clock,
            budget=auth.login_failures_budget,
            base=auth.login_backoff_base / 1e9,
            maximum=auth.login_backoff_max / 1e9,
            max_entries=auth.login_throttle_entries,
        )

    # ------------------------------------------------------------- keys

    def _digest(self, kind: bytes, *parts: str) -> bytes:
        h = hashlib.blake2b(kind, key=self._secret, digest_size=16)
        for part in parts:
            raw = part.encode("utf-8", "surrogatepass")
            h.update(b"%d:" % len(raw))
            h.update(raw)
        return h.digest()

    def _keys(self, username: str, client: str):
        """(key, budget) pairs the attempt counts under."""
        keys = [(self._digest(_USER, username), self.budget * USER_BUDGET_FACTOR)]
        if client:
            network = client_network(client)
            keys.append((self._digest(_PAIR, username, network), self.budget))
            keys.append((self._digest(_CLIENT, network), self.budget))
        else:
            # No address (a UNIX socket): the username alone, at the pair's budget.
            keys.append((self._digest(_PAIR, username, ""), self.budget))
        return keys

    # ---------------------------------------------------------- records

    def _current(self, key: bytes) -> _Record | None:
        record = self._records.get(key)
        if record is None:
            return None
        now = self._clock.seconds()
        window = max(self.maximum, self.base) * 2
        if record.pending == 0 and now >= record.blocked_until and now - record.last_failure > window:
            del self._records[key]
            return None
        return record

    def _delay(self, failures: int, budget: int) -> float:
        return min(self.maximum, self.base * 2 ** min(64, max(0, failures - budget)))

    def retry_after(self, username: str, client: str) -> int:
        """Seconds to wait before trying again (0: go ahead).

        Attempts still being checked count against the budget, and past
        the budget only one attempt at a time is let through, so a burst
        of concurrent guesses cannot all reach bcrypt.
        """
        now = self._clock.seconds()
        wait = 0.0
        for key, budget in self._keys(username, client):
            record = self._current(key)
            if record is None:
                continue
            if record.blocked_until > now:
                wait = max(wait, record.blocked_until - now)
            elif record.pending and record.failures + record.pending >= budget:
                wait = max(wait, self.base)
        return math.ceil(wait) if wait > 0 else 0

    def admit(self, username: str, client: str) -> int:
        """``retry_after``, and when it is 0 the attempt is counted as pending."""
        wait = self.retry_after(username, client)
        if wait:
            return wait
        for key, _budget in self._keys(username, client):
            record = self._current(key) or _Record(0, 0.0, 0.0)
            self._store(key, attrs.evolve(record, pending=record.pending + 1))
        return 0

    def failed(self, username: str, client: str) -> None:
        """A wrong password, or an attempt the bcrypt queue had no room for."""
        now = self._clock.seconds()
        for key, budget in self._keys(username, client):
            record = self._current(key) or _Record(0, 0.0, 0.0)
            failures = record.failures + 1
            blocked_until = record.blocked_until
            if failures >= budget:
                blocked_until = now + self._delay(failures, budget)
            self._store(key, _Record(failures, now, blocked_until, max(0, record.pending - 1)))

    def succeeded(self, username: str, client: str) -> None:
        """A proven password clears its username's records (not the address's:
        one right password must not excuse a guessing address)."""
        self.release(username, client)
        keys = self._keys(username, client)
        for key, _budget in keys[:2]:  # the username and the pair
            self._records.pop(key, None)

    def release(self, username: str, client: str) -> None:
        """Free an admitted attempt's pending slot without counting a failure
        (overtaken by a password change, or failed for another reason)."""
        for key, _budget in self._keys(username, client):
            record = self._records.get(key)
            if record is not None and record.pending:
                self._records[key] = attrs.evolve(record, pending=record.pending - 1)

    def _store(self, key: bytes, record: _Record) -> None:
        old = self._records.get(key)
        self._records[key] = record
        if old is None or old.failures != record.failures or old.last_failure != record.last_failure:
            heapq.heappush(self._heap, (record.failures, record.last_failure,
                                        next(self._sequence), key))
        while len(self._records) > self.max_entries:
            self._evict_least_penalised()
        if len(self._heap) > 4 * max(self.max_entries, 16):
            self._rebuild_heap()

    def _evict_least_penalised(self) -> None:
        """Drop the key with the fewest failures (the oldest of those), even
        the one just stored: keys that have failed more are worth more."""
        while self._heap:
            failures, last, _sequence, key = heapq.heappop(self._heap)
            record = self._records.get(key)
            if record is not None and (record.failures, record.last_failure) == (failures, last):
                del self._records[key]
                return
            # else stale: the key changed since, or is gone
        self._rebuild_heap()
        if self._heap:
            self._evict_least_penalised()

    def _rebuild_heap(self) -> None:
        self._heap = [(r.failures, r.last_failure, next(self._sequence), k)
                      for k, r in self._records.items()]
        heapq.heapify(self._heap)

    def __len__(self) -> int:
        return len(self._records)
