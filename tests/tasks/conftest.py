import time

import pytest

from tests.tasks.support import make_harness

#: 2026-03-03T12:00:00.123456789Z
FIXED_NS = 1772539200123456789


@pytest.fixture
def utc(monkeypatch):
    """Times print in the local zone, as Go's do: pin it to UTC for exact bodies."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.fixture
def h(tmp_path, utc):
    harness = make_harness(tmp_path)
    harness.app.tasks.now_ns = lambda: FIXED_NS
    return harness
