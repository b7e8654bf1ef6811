"""Polling a real server until something holds (blocking tests with subprocess daemons)."""

from __future__ import annotations

import time


def wait_until(predicate, timeout: float = 20.0, step: float = 0.05):
    """``predicate()``'s first true value; AssertionError with the last value after ``timeout``."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(step)
    raise AssertionError(f"condition not met in time (last: {last!r})")
