"""The point bus carries writes as rows: rows subscribers get them as they
are, others as points (built once), and ``wanted`` is the union of what
the subscribers can use."""

from __future__ import annotations

from kapacitord_tw.ingest.points import Point, PointBus
from kapacitord_tw.ingest.rows import ALL, SeriesTable, WriteRows


def write_of(*measurements: str) -> WriteRows:
    table = SeriesTable()
    rows = [(table.intern(m, (("host", "a"),)), {"v": float(i)}, i)
            for i, m in enumerate(measurements)]
    return WriteRows("db", "rp", rows, count=len(rows) + 1)


def test_no_subscribers_want_nothing():
    assert PointBus().wanted("db", "rp") is None


def test_a_subscriber_without_wanted_wants_everything():
    bus = PointBus()
    bus.subscribe(lambda points: None)
    bus.subscribe(lambda points: None, wanted=lambda db, rp: None)
    assert bus.wanted("db", "rp") is ALL


def test_wanted_is_the_union_of_the_subscribers_answers():
    bus = PointBus()
    bus.subscribe(lambda p: None, wanted=lambda db, rp: frozenset({"cpu"}) if db == "db" else None)
    bus.subscribe(lambda p: None, wanted=lambda db, rp: {"mem"} if rp == "rp" else None)
    assert bus.wanted("db", "rp") == {"cpu", "mem"}
    assert bus.wanted("db", "other") == {"cpu"}
    assert bus.wanted("x", "y") is None
    bus.subscribe(lambda p: None, wanted=lambda db, rp: ALL)
    assert bus.wanted("x", "y") is ALL


def test_publish_rows_gives_rows_to_rows_subscribers_and_points_to_the_others():
    bus = PointBus()
    as_rows, first, second = [], [], []
    bus.subscribe(lambda points: None, rows=as_rows.append)
    bus.subscribe(first.append)
    bus.subscribe(second.append)
    write = write_of("cpu", "mem")
    bus.publish_rows(write)
    assert as_rows == [write]
    assert first == [(Point("db", "rp", "cpu", (("host", "a"),), (("v", 0.0),), 0),
                      Point("db", "rp", "mem", (("host", "a"),), (("v", 1.0),), 1))]
    assert first[0] is second[0]  # built once


def test_a_write_without_rows_reaches_rows_subscribers_only():
    bus = PointBus()
    as_rows, points = [], []
    bus.subscribe(lambda p: None, rows=as_rows.append)
    bus.subscribe(points.append)
    bus.publish_rows(WriteRows("db", "rp", [], count=5))
    assert [w.count for w in as_rows] == [5]
    assert points == []


def test_publish_rows_returns_the_subscribers_wait():
    from twisted.internet import defer

    bus = PointBus()
    held = defer.Deferred()
    bus.subscribe(lambda p: None, rows=lambda write: held)
    assert bus.publish_rows(write_of("cpu")) is held


def test_a_failing_rows_subscriber_does_not_stop_the_others():
    bus = PointBus()
    seen = []

    def broken(write):
        raise RuntimeError("boom")

    bus.subscribe(lambda p: None, rows=broken)
    bus.subscribe(seen.append)
    bus.publish_rows(write_of("cpu"))
    assert len(seen) == 1
