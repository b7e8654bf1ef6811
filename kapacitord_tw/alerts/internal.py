"""The internal topic handler kinds: ``aggregate`` and ``publish``.

Both feed events back into topics through the service's ``collect``.
``aggregate`` gathers a topic's events for ``interval`` and then publishes
one event summarising them (the highest level, the latest time, the longest
duration, the messages as details, the series concatenated) to ``topic``;
``publish`` re-publishes every event to ``topics``.
"""

from __future__ import annotations

from typing import List, Optional

from twisted.internet.task import LoopingCall
from twisted.logger import Logger

from kapacitord_tw.alerts import options as opt
from kapacitord_tw.engine.alerting import AlertEvent
from kapacitord_tw.engine.gotemplate import TemplateError, parse
from kapacitord_tw.engine.govalues import GoDuration, GoStruct

DEFAULT_AGGREGATE_MESSAGE = "Received {{ .Count }} events in the last {{.Interval}}."


def _message_data(count: int, interval: int) -> GoStruct:
    return GoStruct("alert.aggregateMessageData",
                    {"Count": count, "Interval": GoDuration(interval)})


class AggregateHandler:
    """Kapacitor's aggregate handler on a reactor timer.

    At most ``max_events`` events are kept per interval (their messages and
    series); further ones are still counted in ``.Count``.
    """

    internal = True
    log = Logger()

    def __init__(self, event_id: str, interval: int, topic: str, message: str, ctx):
        try:
            self._template = parse(message, "message")
        except TemplateError as e:
            raise ValueError(str(e)) from None
        try:
            self._template.execute(_message_data(0, 0))
        except TemplateError as e:
            raise ValueError(
                f"failed to evaluate message template with aggregate message data: {e}") from None
        if interval <= 0:
            # Go's time.NewTicker panics (and takes the daemon down) here.
            raise ValueError("aggregate interval must be greater than zero")
        self.id = event_id
        self.interval = interval
        self.topic = topic
        self._collect = ctx.collect
        self._max_events = ctx.max_pending
        self._events: List[AlertEvent] = []
        self._count = 0
        self._external = False
        self._loop = LoopingCall(self._flush)
        self._loop.clock = ctx.reactor
        self._loop.start(interval / 1e9, now=False)

    def handle_event(self, event: AlertEvent, previous: Optional[AlertEvent]) -> None:
        self._count += 1
        self._external = self._external or not event.no_external
        if len(self._events) < self._max_events:
            self._events.append(event)

    def _flush(self) -> None:
        if not self._count:
            return
        events, count, external = self._events, self._count, self._external
        self._events, self._count, self._external = [], 0, False
        try:
            message = self._template.execute(_message_data(count, self.interval))
        except TemplateError:
            message = ""
        level = max(e.level for e in events)
        series = None
        for e in events:
            part = (e.data or {}).get("series")
            if part:
                series = (series or []) + list(part)
        self._collect(self.topic, AlertEvent(
            id=self.id, message=message, details="\n".join(e.message for e in events),
            time=max(e.time for e in events), duration=max(e.duration for e in events),
            level=level, data={"series": series}, recoverable=False,
            no_external=not external))

    def close(self) -> None:
        if self._loop.running:
            self._loop.stop()


def aggregate(options, ctx) -> AggregateHandler:
    c = opt.decode(options, {"id": opt.string, "interval": opt.duration, "topic": opt.string,
                             "message": opt.string}, "*alert.AggregateHandlerConfig")
    return AggregateHandler(c.get("id", ""), c.get("interval", 0), c.get("topic", ""),
                            c.get("message", DEFAULT_AGGREGATE_MESSAGE), ctx)


class PublishHandler:
    """Publishes each event to more topics."""

    internal = True

    def __init__(self, topics: List[str], ctx):
        self.topics = topics
        self._collect = ctx.collect

    def handle_event(self, event: AlertEvent, previous: Optional[AlertEvent]) -> None:
        for topic in self.topics:
            self._collect(topic, event)


def publish(options, ctx) -> PublishHandler:
    c = opt.decode(options, {"topics": opt.string_list}, "*alert.PublishHandlerConfig")
    return PublishHandler(c.get("topics") or [], ctx)
