"""The alert service: topics, their events and their handlers.

It is what running alert nodes publish to (the seam of
:class:`kapacitord_tw.engine.alerting.AlertTopics`: ``collect``,
inhibitors, ``event_state``...) and what the ``/alerts/topics`` API reads
and changes.  Every event collected into a topic goes to the handlers
defined on it, in the order they were defined, through their ``match``.

Durability, as Kapacitor's ``[alert] persist-topics`` promises: handler
specs are stored (a define is acknowledged once it is on disk) and come back
at start-up; each event's state is written as it is collected (an ``OK``
event erases it instead, so only alerting events survive a restart), and
topics are restored at start-up, so a task resumes its alerts at the level
they had.  Event writes are not waited for: the alert node never blocks.

``aggregate`` and ``publish`` handlers feed events back in; a chain of
publishes is cut after :data:`MAX_HOPS` topics (Kapacitor would loop
forever) and one event may reach at most :data:`MAX_FANOUT` topics.
"""

from __future__ import annotations

import json
from typing import Dict, List, Optional

from twisted.application.service import Service as _Service
from twisted.internet import defer
from twisted.logger import Logger

from kapacitord_tw.alerts.kinds import HandlerContext, HandlerKinds, default_kinds
from kapacitord_tw.alerts.specs import HandlerSpec
from kapacitord_tw.alerts.topics import Topic
from kapacitord_tw.engine.alerting import AlertEvent, Inhibitor
from kapacitord_tw.gocompat import go_quote, path_match

HANDLER_SPECS = "handler-specs"
TOPIC_EVENTS = "alert-topic-events"

#: ``alert.DefaultEventBufferSize`` / ``MinimumEventBufferSize``
DEFAULT_BUFFER_LENGTH = 5000
MINIMUM_BUFFER_LENGTH = 1000

MAX_HOPS = 16
MAX_FANOUT = 1000


class HandlerCreateError(ValueError):
    """The spec names an unknown kind, bad options or a bad match
    (``failed to create handler: ...``)."""


class HandlerUpdateError(ValueError):
    """``failed to update handler: ...``"""


def _compile_match(text: str):
    """:func:`~kapacitord_tw.alerts.match.compile_match`; the TICKscript front
    end it needs is imported for the first handler that has a match."""
    if not text:
        return None
    from kapacitord_tw.alerts.match import compile_match

    return compile_match(text)


def _event_key(topic: str, event_id: str) -> str:
    return json.dumps([topic, event_id])


def _topic_prefix(topic: str) -> str:
    return json.dumps([topic])[:-1] + ","


def _state_record(event: AlertEvent) -> dict:
    return {"message": event.message, "details": event.details, "time": event.time,
            "duration": event.duration, "level": int(event.level)}


def _from_record(event_id: str, record: dict) -> AlertEvent:
    return AlertEvent(id=event_id, message=record.get("message", ""),
                      details=record.get("details", ""), time=int(record.get("time", 0)),
                      duration=int(record.get("duration", 0)),
                      level=min(3, max(0, int(record.get("level", 0)))),
                      data={"series": None}, recoverable=False)


class _Registered:
    """A defined handler: its spec, the handler the kind built, its match."""

    __slots__ = ("spec", "handler", "match", "errors")
    log = Logger(namespace="kapacitord_tw.alerts")

    def __init__(self, spec: HandlerSpec, handler, match):
        self.spec, self.handler, self.match = spec, handler, match
        self.errors = 0

    def handle(self, event: AlertEvent, previous: Optional[AlertEvent]) -> None:
        handler = self.handler
        if self.match is not None:
            try:
                if not self.match.matches(event, previous):
                    return
            except Exception as e:
                self.errors += 1
                self.log.error("failed to evaluate match expression: topic={topic} handler={handler} "
                               "err={err}", topic=self.spec.topic, handler=self.spec.id, err=str(e))
                return
        if getattr(handler, "internal", False):
            handler.handle_event(event, previous)
        elif not event.no_external:
            handle_event = getattr(handler, "handle_event", None)
            if handle_event is not None:
                handle_event(event, previous)
            else:
                handler.handle(event.alert_data(previous))

    def close(self) -> None:
        close = getattr(self.handler, "close", None)
        if close is not None:
            close()


class AlertService:
    log = Logger(namespace="kapacitord_tw.alerts")

    def __init__(self, store, reactor, kinds: Optional[HandlerKinds] = None,
                 persist_topics: bool = True, buffer_length: int = DEFAULT_BUFFER_LENGTH,
                 http_client=None):
        self._store = store
        self._reactor = reactor
        self.kinds = kinds if kinds is not None else default_kinds()
        self.persist_topics = persist_topics
        self.buffer_length = (buffer_length if buffer_length >= MINIMUM_BUFFER_LENGTH
                              else DEFAULT_BUFFER_LENGTH)
        self._http_client = http_client
        self._topics: Dict[str, Topic] = {}
        self._closed: set = set()
        self._handlers: Dict[str, Dict[str, _Registered]] = {}
        self._inhibitors: List[Inhibitor] = []
        self._depth = 0
        self._fanout = 0
        self._load()

    # ------------------------------------------------------------ start-up

    def _load(self) -> None:
        store = self._store
        for key in store.keys(TOPIC_EVENTS):
            try:
                topic, event_id = json.loads(key)
                record = store.get_now(TOPIC_EVENTS, key) or {}
                event = _from_record(event_id, record)
            except (ValueError, TypeError):
                self.log.error("ignoring unreadable stored event state {key!r}", key=key)
                continue
            self._ensure(topic).update(event)
        for key in store.keys(HANDLER_SPECS):
            spec = HandlerSpec.from_record(store.get_now(HANDLER_SPECS, key) or {})
            try:
                spec.validate()
                registered = self._create(spec)
            except ValueError as e:
                self.log.error("failed to load handler on startup: topic={topic} handler={handler} "
                               "err={err}", topic=spec.topic, handler=spec.id, err=str(e))
                continue
            self._handlers.setdefault(spec.topic, {})[spec.id] = registered
            self._ensure(spec.topic)
        self.log.info("alert service: {topics} topics, {handlers} topic handlers loaded",
                      topics=len(self._topics),
                      handlers=sum(len(h) for h in self._handlers.values()))

    def _ensure(self, topic_id: str) -> Topic:
        topic = self._topics.get(topic_id)
        if topic is None:
            topic = self._topics[topic_id] = Topic(topic_id)
        return topic

    # ------------------------------------------------------------ the engine's seam

    def add_inhibitor(self, inhibitor: Inhibitor) -> None:
        self._inhibitors.append(inhibitor)

    def remove_inhibitor(self, inhibitor: Inhibitor) -> None:
        self._inhibitors = [i for i in self._inhibitors if i is not inhibitor]

    def is_inhibited(self, category: str, tags) -> bool:
        return any(i.inhibits(category, tags) for i in self._inhibitors)

    def collect(self, topic_id: str, event: AlertEvent) -> Optional[AlertEvent]:
        """Record *event* in *topic_id*, hand it to the topic's handlers and
        persist its state; return the event it replaced (``previousLevel``)."""
        if self._depth >= MAX_HOPS or self._fanout >= MAX_FANOUT:
            self.log.warn("event {id} not published to topic {topic}: too many topics "
                          "reached from one event (publish loop?)", id=event.id, topic=topic_id)
            return None
        if topic_id in self._closed:
            self.restore_topic(topic_id)
        topic = self._ensure(topic_id)
        previous = topic.update(event)
        topic.collected += 1
        self._persist(topic_id, event)
        handlers = self._handlers.get(topic_id)
        if handlers:
            outer = self._depth == 0
            self._depth += 1
            self._fanout += 1
            try:
                for registered in list(handlers.values()):
                    try:
                        registered.handle(event, previous)
                    except Exception:
                        self.log.failure("topic {topic} handler {handler} failed",
                                         topic=topic_id, handler=registered.spec.id)
            finally:
                self._depth -= 1
                if outer:
                    self._fanout = 0
        return previous

    def event_state(self, topic_id: str, event_id: str) -> Optional[AlertEvent]:
        topic = self._topics.get(topic_id)
        return topic.events.get(event_id) if topic is not None else None

    def update_event(self, topic_id: str, event: AlertEvent) -> None:
        self._ensure(topic_id).update(event)
        self._persist(topic_id, event, clear_ok=False)

    def restore_topic(self, topic_id: str) -> None:
        """Reload a topic's events from the store (a task with handlers starts)."""
        self._closed.discard(topic_id)
        prefix = _topic_prefix(topic_id)
        events = {}
        for key in self._store.keys(TOPIC_EVENTS):
            if key.startswith(prefix):
                try:
                    _, event_id = json.loads(key)
                except ValueError:
                    continue
                events[event_id] = _from_record(event_id, self._store.get_now(TOPIC_EVENTS, key) or {})
        self._ensure(topic_id).restore(events)

    def close_topic(self, topic_id: str) -> None:
        """Set a topic aside (its task stopped): gone from the list until an event or a restore."""
        self._topics.pop(topic_id, None)
        self._closed.add(topic_id)

    # ------------------------------------------------------------ persistence

    def _persist(self, topic_id: str, event: AlertEvent, clear_ok: bool = True) -> None:
        if not self.persist_topics:
            return
        key = _event_key(topic_id, event.id)
        if event.level == 0 and clear_ok:
            if self._store.get_now(TOPIC_EVENTS, key) is None:
                return
            d = self._store.delete(TOPIC_EVENTS, key)
        else:
            d = self._store.put(TOPIC_EVENTS, key, _state_record(event))
        d.addErrback(self._write_failed, topic_id, event.id)

    def _write_failed(self, failure, topic_id, event_id) -> None:
        self.log.error("failed to persist event {event} of topic {topic}: {err}",
                       event=event_id, topic=topic_id, err=failure.getErrorMessage())

    # ------------------------------------------------------------ topics (API)

    def topic(self, topic_id: str) -> Optional[Topic]:
        return self._topics.get(topic_id)

    def topic_states(self, pattern: str = "", min_level: int = 0) -> List[Topic]:
        """Topics whose id matches *pattern* at *min_level* or above, sorted by id."""
        found = [t for t in self._topics.values()
                 if (not pattern or path_match(pattern, t.id)) and t.level >= min_level]
        found.sort(key=lambda t: t.id)
        return found

    def delete_topic(self, topic_id: str) -> defer.Deferred:
        """Forget a topic and its stored events (its handlers stay defined)."""
        self._topics.pop(topic_id, None)
        self._closed.discard(topic_id)
        prefix = _topic_prefix(topic_id)
        deletes = [self._store.delete(TOPIC_EVENTS, key)
                   for key in self._store.keys(TOPIC_EVENTS) if key.startswith(prefix)]
        self.log.info("topic {topic} deleted", topic=topic_id)
        return defer.gatherResults(deletes, consumeErrors=True).addCallback(lambda _: None)

    def delete_task_topics(self, master_id: str, task_id: str) -> defer.Deferred:
        """A deleted task's anonymous topics (``<master>:<task>:<node>``) go with it,
        as Kapacitor's delete hook removes them."""
        prefix = f"{master_id}:{task_id}:"
        ids = {t for t in list(self._topics) + list(self._closed) if t.startswith(prefix)}
        for key in self._store.keys(TOPIC_EVENTS):
            try:
                topic_id = json.loads(key)[0]
            except (ValueError, TypeError, IndexError, KeyError):
                topic_id = None
            if isinstance(topic_id, str) and topic_id.startswith(prefix):
                ids.add(topic_id)
        return defer.gatherResults([self.delete_topic(t) for t in sorted(ids)],
                                   consumeErrors=True).addCallback(lambda _: None)

    # ------------------------------------------------------------ handler specs (API)

    def handler_spec(self, topic_id: str, handler_id: str) -> Optional[HandlerSpec]:
        registered = self._handlers.get(topic_id, {}).get(handler_id)
        return registered.spec if registered is not None else None

    def handler_specs(self, topic_id: str, pattern: str = "") -> List[HandlerSpec]:
        return sorted((r.spec for r in self._handlers.get(topic_id, {}).values()
                       if not pattern or path_match(pattern, r.spec.id)),
                      key=lambda s: s.id)

    def _create(self, spec: HandlerSpec) -> _Registered:
        context = HandlerContext(
            topic=spec.topic, handler_id=spec.id, reactor=self._reactor, collect=self.collect,
            max_pending=self.buffer_length, http_client=self._http_client)
        try:
            match = _compile_match(spec.match)
        except ValueError as e:
            raise HandlerCreateError(str(e)) from None
        try:
            handler = self.kinds.create(spec.kind, spec.options, context)
        except ValueError as e:
            raise HandlerCreateError(str(e)) from None
        return _Registered(spec, handler, match)

    def register(self, spec: HandlerSpec) -> defer.Deferred:
        """Define a handler; fires once the spec is on disk.

        Raises SpecInvalid or HandlerCreateError at once (nothing stored)."""
        spec.validate()
        registered = self._create(spec)
        handlers = self._handlers.setdefault(spec.topic, {})
        if spec.id in handlers:
            registered.close()
            raise HandlerCreateError(
                f"cannot register handler, handler with ID {go_quote(spec.id)} already exists")
        handlers[spec.id] = registered
        self._ensure(spec.topic)
        d = self._store.put(HANDLER_SPECS, spec.key, spec.to_record())

        def failed(failure):
            if handlers.get(spec.id) is registered:
                del handlers[spec.id]
                registered.close()
            return failure

        d.addErrback(failed)
        self.log.info("topic handler {handler} ({kind}) defined on topic {topic}",
                      handler=spec.id, kind=spec.kind, topic=spec.topic)
        return d

    def update(self, old: HandlerSpec, new: HandlerSpec) -> defer.Deferred:
        """Replace (or rename) a handler; fires once the change is on disk."""
        new.validate()
        if new.topic != old.topic:
            raise HandlerUpdateError("cannot change topic in update")
        handlers = self._handlers.setdefault(old.topic, {})
        if new.id != old.id and new.id in handlers:
            raise HandlerUpdateError("handler spec already exists")
        registered = self._create(new)
        previous = handlers.pop(old.id, None)
        handlers[new.id] = registered
        if previous is not None:
            previous.close()
        writes = [self._store.put(HANDLER_SPECS, new.key, new.to_record())]
        if new.id != old.id:
            writes.append(self._store.delete(HANDLER_SPECS, old.key))
        self.log.info("topic handler {handler} of topic {topic} updated",
                      handler=new.id, topic=new.topic)
        return defer.gatherResults(writes, consumeErrors=True).addCallback(lambda _: None)

    def deregister(self, topic_id: str, handler_id: str) -> defer.Deferred:
        registered = self._handlers.get(topic_id, {}).pop(handler_id, None)
        if registered is None:
            return defer.succeed(None)
        registered.close()
        self.log.info("topic handler {handler} of topic {topic} deleted",
                      handler=handler_id, topic=topic_id)
        return self._store.delete(HANDLER_SPECS, registered.spec.key).addCallback(lambda _: None)

    def close(self) -> None:
        """Stop timers (aggregate handlers)."""
        for handlers in self._handlers.values():
            for registered in handlers.values():
                registered.close()


class AlertServiceRunner(_Service):
    """Stops the alert service's timers (``aggregate`` handlers) with the daemon."""

    def __init__(self, alerts: AlertService):
        self._alerts = alerts

    def stopService(self):
        super().stopService()
        self._alerts.close()
