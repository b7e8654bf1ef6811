"""
Access-log fields computed on every request's common case (a path alone, no
credentials) or once per second (the ``start`` stamp's date and zone) give
the same text as the general code.
"""

from __future__ import annotations

import os
import re
import time

import pytest

from kapacitord_tw.gocompat import format_time
from kapacitord_tw.http.accesslog import redact_uri
from kapacitord_tw.http.site import StartStamps
from tests.http.harness import V1, Harness, basic
from tests.http.test_access_log import lines  # noqa: F401 (fixture)

PING = V1 + "/ping"
SECOND = 1_000_000_000


@pytest.fixture
def zone():
    """Run in a zone with an offset and summer time, then restore."""
    old = os.environ.get("TZ")
    os.environ["TZ"] = "Europe/Berlin"
    time.tzset()
    yield
    if old is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = old
    time.tzset()


def test_start_stamps_match_format_time_across_seconds_and_a_zone_change(zone):
    # 2026-03-29 01:00:00Z: Berlin goes from +01:00 to +02:00.
    change = 1774746000 * SECOND
    stamps = StartStamps()
    moments = [change + delta for delta in (
        -2 * SECOND, -SECOND - 1, -1, 0, 1, 999_999_999, SECOND, SECOND + 120_000_000,
        -3600 * SECOND + 5, 0, 7 * 86400 * SECOND + 123_456_789,
    )]
    for ns in moments:
        assert stamps.format(ns) == format_time(ns), ns
    assert stamps.format(change - 1).endswith("+01:00")
    assert stamps.format(change).endswith("+02:00")


def test_start_stamps_match_format_time_in_utc():
    stamps = StartStamps()
    now = time.time_ns()
    for ns in (now, now + 1, now - now % SECOND, now + SECOND, now + 10):
        assert stamps.format(ns) == format_time(ns)


def test_a_path_alone_is_logged_as_it_came_and_queries_still_redacted():
    assert redact_uri(b"/kapacitor/v1/ping") == b"/kapacitor/v1/ping"
    assert redact_uri(b"/kapacitor/v1/ping?u=a&p=secret") == b"/kapacitor/v1/ping?u=a&p=[REDACTED]"
    assert redact_uri(b"http://a:secret@host/kapacitor/v1/ping") == b"http://host/kapacitor/v1/ping"


def test_with_auth_disabled_no_credentials_log_a_dash(tmp_path, lines):  # noqa: F811
    h = Harness(tmp_path, http_auth=False)
    assert h.get(PING).code == 204
    assert h.get(PING, headers={"Authorization": basic("carol", "pw")}).code == 204
    first, second = lines.access()
    assert re.search(r" username=-( |$)", first)
    assert "username=carol" in second
    assert "uri=/kapacitor/v1/ping " in first
