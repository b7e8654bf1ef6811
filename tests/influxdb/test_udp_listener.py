"""The UDP subscription listener: parsing, statistics, bounded back-pressure.

Datagrams are handed to the real :class:`UDPSubscription` on a
``Clock``; the only stand-in is the transport's read switch (Twisted's UDP
port), so the tests can see when reading stops and resumes.  One test
opens a real socket on loopback.
"""

import socket

import pytest_twisted
from twisted.internet import defer, reactor
from twisted.internet.task import Clock, deferLater
from twisted.logger import LogLevel, globalLogPublisher

from kapacitord_tw.influxdb.udp import UDPSubscription, listen
from kapacitord_tw.ingest.points import PointBus


class _Reading:
    """The two calls a UDP port gets from its protocol."""

    def __init__(self):
        self.reading = True

    def stopReading(self):
        self.reading = False

    def startReading(self):
        self.reading = True


def _listener(bus, clock, buffer=1000):
    sub = UDPSubscription("local", "telegraf", "autogen", bus, clock, buffer)
    sub.transport = _Reading()
    return sub


def _turn(clock):
    """One reactor turn: only the calls due now that were scheduled before it
    (``Clock.advance`` would also run those they schedule)."""
    due = [c for c in clock.calls if c.getTime() <= clock.seconds()]
    assert due, "nothing scheduled"
    for call in due:
        clock.calls.remove(call)
        call.called = 1
        call.func(*call.args, **call.kw)


def _capture_errors():
    events = []

    def observer(event):
        if event.get("log_level") == LogLevel.error:
            events.append(event)

    globalLogPublisher.addObserver(observer)
    return events, lambda: globalLogPublisher.removeObserver(observer)


def test_points_are_published_for_the_subscriptions_db_and_rp_with_nanosecond_times():
    bus, clock, got = PointBus(), Clock(), []
    bus.subscribe(got.append)
    clock.advance(1_700_000_000.5)
    sub = _listener(bus, clock)
    data = b"cpu,host=a usage_idle=3.5 1700000000000000001\nmem free=2i\n"
    sub.datagramReceived(data, ("127.0.0.1", 9999))
    (batch,) = got
    assert [(p.database, p.retention_policy, p.measurement) for p in batch] == [
        ("telegraf", "autogen", "cpu"), ("telegraf", "autogen", "mem")]
    assert batch[0].time == 1_700_000_000_000_000_001  # not read as seconds
    assert batch[0].tag_map == {"host": "a"} and batch[0].field_map == {"usage_idle": 3.5}
    assert batch[1].time == 1_700_000_000_500_000_000  # no timestamp: the clock's now
    assert sub.stats.values() == {"points_rx": 2, "bytes_rx": len(data), "points_parse_fail": 0,
                                  "read_fail": 0, "points_tx": 2, "tx_fail": 0,
                                  "packets_dropped": 0}


def test_a_bad_datagram_is_counted_and_logged_at_most_once_a_second():
    bus, clock, got = PointBus(), Clock(), []
    bus.subscribe(got.append)
    sub = _listener(bus, clock)
    errors, stop = _capture_errors()
    try:
        for _ in range(5):
            sub.datagramReceived(b"not line protocol " + b"x" * 5000, None)
        clock.advance(1.5)
        sub.datagramReceived(b"still bad", None)
    finally:
        stop()
    assert got == []
    assert sub.stats.points_parse_fail == 6 and sub.stats.points_rx == 0
    assert len(errors) == 2
    assert errors[1]["suppressed"] == 4
    assert "failed to parse points" in errors[0]["log_format"]
    assert len(errors[0]["error"]) < 400  # a 5 kB line is cut in the log
    # The listener still works.
    sub.datagramReceived(b"cpu v=1 1", None)
    assert len(got) == 1


def test_a_full_engine_stops_reading_keeps_at_most_buffer_datagrams_and_drops_the_rest():
    bus, clock = PointBus(), Clock()
    waits, got = [], []

    def slow(batch):
        got.append(batch)
        if len(got) == 1:
            waits.append(defer.Deferred())
            return waits[0]
        return None

    bus.subscribe(slow)
    sub = _listener(bus, clock, buffer=2)
    sub.datagramReceived(b"cpu v=1 1", None)
    assert not sub.transport.reading  # the engine pushed back
    for i in range(2, 6):  # already read by the port in this turn
        sub.datagramReceived(f"cpu v={i} {i}".encode(), None)
    assert len(got) == 1
    assert sub.stats.packets_dropped == 2 and sub.stats.points_rx == 1
    waits[0].callback(None)
    assert len(got) == 1 and not sub.transport.reading  # nothing parsed inside the callback
    _turn(clock)
    assert [p.time for b in got for p in b] == [1, 2]  # one datagram per reactor turn
    _turn(clock)
    assert [p.time for b in got for p in b] == [1, 2, 3]
    assert not sub.transport.reading
    _turn(clock)
    assert sub.transport.reading  # queue empty: reading resumes
    assert clock.getDelayedCalls() == []
    assert sub.stats.points_tx == 3 and sub.stats.packets_dropped == 2


def test_a_failing_subscriber_is_not_the_listeners_problem():
    bus, clock = PointBus(), Clock()

    def broken(_batch):
        raise RuntimeError("boom")

    bus.subscribe(broken)
    sub = _listener(bus, clock)
    sub.datagramReceived(b"cpu v=1 1", None)
    assert sub.stats.points_tx == 1  # the bus logs its subscriber's failure


@pytest_twisted.ensureDeferred
async def test_a_real_socket_takes_datagrams_larger_than_twisteds_default_8k():
    bus, got = PointBus(), []
    bus.subscribe(got.append)
    sub = UDPSubscription("local", "db", "rp", bus, reactor, 10)
    port = await listen(reactor, sub, "127.0.0.1", 0, 65536)
    try:
        assert sub.bind == f"127.0.0.1:{sub.port}" and sub.port > 0
        lines = b"\n".join(b"cpu,host=h%d value=%d %d" % (i, i, i) for i in range(1000))
        assert len(lines) > 20_000
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.sendto(lines, ("127.0.0.1", sub.port))
        for _ in range(100):
            if got:
                break
            await deferLater(reactor, 0.01, lambda: None)
        assert len(got) == 1 and len(got[0]) == 1000
        assert got[0][-1].tag_map == {"host": "h999"}
        assert sub.stats.bytes_rx == len(lines)
    finally:
        await port.stopListening()


@pytest_twisted.ensureDeferred
async def test_a_port_in_use_is_an_error_for_the_caller():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", 0))
        sub = UDPSubscription("local", "db", "rp", PointBus(), reactor, 10)
        try:
            await listen(reactor, sub, "127.0.0.1", taken.getsockname()[1], 0)
        except Exception as e:
            assert "Address already in use" in str(e)
        else:
            raise AssertionError("listening on a taken port succeeded")
