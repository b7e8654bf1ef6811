"""The point bus delivers written points to every engine subscriber, whatever the others do."""

from __future__ import annotations

import pytest
from twisted.logger import Logger
from zope.interface.verify import verifyObject

from kapacitord_tw.ingest import (
    FieldKind,
    IPointBus,
    Point,
    PointBus,
    Unsigned,
    field_kind,
)


def point(measurement: str = "cpu", value: float = 1.0, time: int = 1) -> Point:
    return Point("db", "rp", measurement, (("host", "a"),), (("value", value),), time)


def recording_bus():
    events = []
    bus = PointBus()
    bus._log = Logger(namespace="test", observer=events.append)
    return bus, events


def test_point_bus_provides_the_interface():
    assert verifyObject(IPointBus, PointBus())


def test_every_subscriber_gets_every_batch_in_order():
    bus = PointBus()
    first, second = [], []
    bus.subscribe(first.append)
    bus.subscribe(second.append)
    batch1, batch2 = [point(time=1)], [point(time=2), point(time=3)]
    bus.publish(batch1)
    bus.publish(batch2)
    assert first == second == [tuple(batch1), tuple(batch2)]


def test_subscribers_receive_an_immutable_tuple():
    bus = PointBus()
    seen = []
    bus.subscribe(seen.append)
    source = [point()]
    bus.publish(source)
    source.append(point(time=9))
    assert seen == [(point(),)]
    assert type(seen[0]) is tuple


def test_subscribers_are_called_in_subscription_order():
    bus = PointBus()
    calls = []
    bus.subscribe(lambda batch: calls.append("engine"))
    bus.subscribe(lambda batch: calls.append("stats"))
    bus.publish([point()])
    assert calls == ["engine", "stats"]


def test_unsubscribed_callback_gets_nothing_more_and_unsubscribe_is_idempotent():
    bus = PointBus()
    seen, other = [], []
    unsubscribe = bus.subscribe(seen.append)
    bus.subscribe(other.append)
    bus.publish([point(time=1)])
    unsubscribe()
    unsubscribe()
    bus.publish([point(time=2)])
    assert [b[0].time for b in seen] == [1]
    assert [b[0].time for b in other] == [1, 2]


def test_same_callable_subscribed_twice_gets_each_batch_twice():
    bus = PointBus()
    seen = []
    first = bus.subscribe(seen.append)
    bus.subscribe(seen.append)
    bus.publish([point()])
    assert len(seen) == 2
    first()
    bus.publish([point()])
    assert len(seen) == 3


def test_failing_subscriber_is_logged_and_others_still_get_the_points():
    bus, events = recording_bus()
    before, after = [], []

    def broken(batch):
        raise RuntimeError("task blew up")

    bus.subscribe(before.append)
    bus.subscribe(broken)
    bus.subscribe(after.append)
    bus.publish([point()])  # does not raise
    assert before == after == [(point(),)]
    failures = [e for e in events if "log_failure" in e]
    assert len(failures) == 1
    assert failures[0]["log_failure"].check(RuntimeError)
    assert failures[0]["subscriber"] is broken
    assert failures[0]["count"] == 1


def test_failing_subscriber_still_gets_later_batches():
    bus, events = recording_bus()
    calls = []

    def flaky(batch):
        calls.append(batch)
        if len(calls) == 1:
            raise ValueError("first one fails")

    bus.subscribe(flaky)
    bus.publish([point(time=1)])
    bus.publish([point(time=2)])
    assert [b[0].time for b in calls] == [1, 2]
    assert len([e for e in events if "log_failure" in e]) == 1


def test_empty_batches_are_not_delivered():
    bus = PointBus()
    seen = []
    bus.subscribe(seen.append)
    bus.publish([])
    assert seen == []


def test_subscribing_during_publish_takes_effect_from_the_next_publish():
    bus = PointBus()
    late = []

    def subscribe_another(batch):
        bus.subscribe(late.append)

    unsubscribe = bus.subscribe(subscribe_another)
    bus.publish([point(time=1)])
    unsubscribe()
    bus.publish([point(time=2)])
    assert [b[0].time for b in late] == [2]


def test_unsubscribing_during_publish_does_not_skip_other_subscribers():
    bus = PointBus()
    seen = []
    holder = {}

    def leave(batch):
        holder["unsubscribe"]()

    holder["unsubscribe"] = bus.subscribe(leave)
    bus.subscribe(seen.append)
    bus.publish([point()])
    bus.publish([point()])
    assert len(seen) == 2


def test_points_are_hashable_and_compare_by_value():
    assert point() == point() and hash(point()) == hash(point())
    assert point(value=2.0) != point()
    with pytest.raises(AttributeError):
        point().time = 5


def test_tag_and_field_maps():
    p = Point("db", "rp", "cpu", (("a", "1"), ("b", "2")), (("x", 1), ("y", "s")), 0)
    assert p.tag_map == {"a": "1", "b": "2"}
    assert p.field_map == {"x": 1, "y": "s"}


@pytest.mark.parametrize(
    "value, kind",
    [
        (1, FieldKind.INTEGER),
        (Unsigned(1), FieldKind.UNSIGNED),
        (1.0, FieldKind.FLOAT),
        (True, FieldKind.BOOLEAN),
        ("1", FieldKind.STRING),
    ],
)
def test_field_kind_tells_integer_unsigned_boolean_float_and_string_apart(value, kind):
    assert field_kind(value) is kind


def test_field_kind_rejects_other_types():
    with pytest.raises(TypeError):
        field_kind(None)


def test_unsigned_behaves_as_an_integer_but_is_distinct_in_repr():
    assert Unsigned(5) + 1 == 6
    assert repr(Unsigned(5)) == "Unsigned(5)"
