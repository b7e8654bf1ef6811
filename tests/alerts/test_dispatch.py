"""Events reach a topic's handlers: match expressions, ``publish``,
``aggregate`` on a Clock, external handlers skipping internal-only
aggregates, publish loops cut short, and a real ``log`` handler."""

from __future__ import annotations

import json

from twisted.internet.task import Clock

from kapacitord_tw.alerts import AlertService, default_kinds
from kapacitord_tw.alerts.specs import HandlerSpec
from kapacitord_tw.engine.alerting import AlertEvent
from kapacitord_tw.storage import JournalStore
from tests.http.harness import InlinePool, SyncClock


def event(event_id, level, tags=None, time=10**9, duration=0, series=None, name="cpu"):
    return AlertEvent(id=event_id, message=f"{event_id}@{level}", details="", time=time,
                      duration=duration, level=level, data={"series": series},
                      recoverable=True, name=name, task_name="cpu_alert", tags=tags or {})


class Recorder:
    """A handler kind plugged in through the registry, as other services plug theirs."""

    def __init__(self):
        self.received = []

    def factory(self, options, ctx):
        outer = self

        class Handler:
            def handle(self, alert_data):
                outer.received.append((ctx.handler_id, alert_data))

        return Handler()


def service(tmp_path, clock=None):
    store = JournalStore.open(str(tmp_path / "s.journal"), SyncClock(), InlinePool())
    kinds = default_kinds()
    recorder = Recorder()
    kinds.register("record", recorder.factory)
    alerts = AlertService(store, clock or Clock(), kinds=kinds)
    return alerts, recorder


def define(alerts, topic, handler_id, kind="record", options=None, match=""):
    fired = []
    alerts.register(HandlerSpec(id=handler_id, topic=topic, kind=kind, options=options,
                                match=match)).addBoth(fired.append)
    assert fired == [None]


def test_match_expressions_select_events(tmp_path):
    alerts, rec = service(tmp_path)
    define(alerts, "cpu", "changes", match="changed() == TRUE")
    define(alerts, "cpu", "host_a", match="\"host\" == 'a'")
    define(alerts, "cpu", "warn_up", match="level() >= WARNING AND name() == 'cpu'")
    define(alerts, "cpu", "long", match="alertDuration() >= 1m AND taskName() == 'cpu_alert'")
    alerts.collect("cpu", event("e", 2, tags={"host": "a"}))
    alerts.collect("cpu", event("e", 2, tags={"host": "b"}, duration=60 * 10**9))
    alerts.collect("cpu", event("e", 0, tags={}))  # no "host" tag: host_a cannot match
    got = [(hid, data.level, data.previous_level) for hid, data in rec.received]
    assert got == [("changes", 2, 0), ("host_a", 2, 0), ("warn_up", 2, 0),
                   ("warn_up", 2, 2), ("long", 2, 2),
                   ("changes", 0, 2)]


def test_publish_copies_events_to_other_topics_and_loops_stop(tmp_path):
    alerts, rec = service(tmp_path)
    define(alerts, "a", "to_b", kind="publish", options={"topics": ["b"]})
    define(alerts, "b", "to_a", kind="publish", options={"topics": ["a"]})  # a loop
    define(alerts, "b", "seen")
    alerts.collect("a", event("x", 3))
    assert alerts.topic("b").events["x"].level == 3
    # a -> b -> a -> ... is cut after a bounded number of hops, not forever.
    assert 1 <= len(rec.received) <= 16
    assert alerts.topic("a").collected <= 17


def test_aggregate_summarises_an_interval_into_one_event(tmp_path):
    clock = Clock()
    alerts, rec = service(tmp_path, clock)
    define(alerts, "raw", "agg", kind="aggregate",
           options={"id": "summary", "interval": 10 * 10**9, "topic": "agg"})
    define(alerts, "agg", "out")
    row = {"name": "cpu", "columns": ["time"], "values": [["t"]]}
    alerts.collect("raw", event("a", 2, time=5, duration=7, series=[row]))
    alerts.collect("raw", event("b", 3, time=9, duration=3, series=[row]))
    assert rec.received == []
    clock.advance(10)
    assert len(rec.received) == 1
    _, data = rec.received[0]
    assert (data.id, data.level, data.time, data.duration) == ("summary", 3, 9, 7)
    assert data.message == "Received 2 events in the last 10s."
    assert data.details == "a@2\nb@3"
    assert data.series == [row, row]
    clock.advance(10)  # nothing new: nothing published
    assert len(rec.received) == 1
    alerts.close()
    alerts.collect("raw", event("c", 1))
    clock.advance(10)
    assert len(rec.received) == 1  # closed: the timer is gone


def test_log_topic_handler_appends_kapacitors_json(tmp_path):
    from twisted.internet import reactor
    path = tmp_path / "alerts.log"
    alerts, _ = service(tmp_path)
    alerts._reactor = reactor
    define(alerts, "cpu", "file", kind="log", options={"path": str(path)})
    handler = alerts._handlers["cpu"]["file"].handler
    handler.reactor = _InlineThreads()
    alerts.collect("cpu", event("e", 3))
    line = json.loads(path.read_text())
    assert (line["id"], line["level"], line["previousLevel"]) == ("e", "CRITICAL", "OK")


class _InlineThreads:
    """Runs the log handler's file appends at once."""

    def getThreadPool(self):
        return InlinePool()

    def callFromThread(self, f, *args, **kwargs):
        f(*args, **kwargs)


def test_unknown_kind_is_refused_and_registry_lists_kinds(tmp_path):
    alerts, _ = service(tmp_path)
    assert {"log", "post", "tcp", "exec", "aggregate", "publish", "record"} <= set(
        alerts.kinds.kinds())
    try:
        define(alerts, "cpu", "x", kind="slack")
    except ValueError as e:
        assert str(e) == 'unsupported action kind "slack"'
    else:
        raise AssertionError("an unknown kind was accepted")
