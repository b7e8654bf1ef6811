"""Alert events, the topics that remember them, and the alert node's handlers.

An :class:`AlertEvent` is what an alert node produces (Kapacitor's
``alert.Event``: state plus data); :meth:`AlertEvent.alert_data` is the
``alert.Data`` every handler sends.  :class:`AlertTopics` keeps
the last state of each event per topic, which gives an event its
``previousLevel``; the alerting service (topics API, topic handlers) builds
on it.  :func:`build_handlers` turns the node's ``.log()``, ``.post()``,
``.tcp()`` and ``.exec()`` properties into handler objects; the other
notification services plug in there.
"""

from __future__ import annotations

from typing import Dict, List, Optional

import attrs

from kapacitord_tw.engine.alertdata import AlertData

LEVEL_NAMES = ("OK", "INFO", "WARNING", "CRITICAL")


@attrs.frozen
class AlertEvent:
    id: str
    message: str
    details: str
    time: int
    duration: int
    level: int
    data: dict  # models.Result
    recoverable: bool
    name: str = ""
    task_name: str = ""
    category: str = ""
    group: str = ""
    tags: dict = attrs.field(factory=dict)
    fields: dict = attrs.field(factory=dict)
    #: an ``aggregate`` of internal-only events: not for external handlers
    no_external: bool = False

    def alert_data(self, previous: Optional["AlertEvent"] = None) -> AlertData:
        """What handlers send; ``previous`` is the event this one replaces in its topic."""
        return AlertData(
            id=self.id, message=self.message, details=self.details, time=self.time,
            duration=self.duration, level=self.level, series=self.data.get("series"),
            previous_level=previous.level if previous is not None else 0,
            recoverable=self.recoverable, name=self.name, task_name=self.task_name,
            category=self.category, group=self.group, tags=self.tags, fields=self.fields)


class Inhibitor:
    """An alert group's ``.inhibit(category, tags...)``: while its group is
    alerting, events of ``category`` with the same values of ``tags`` are held back."""

    __slots__ = ("category", "tags", "active")

    def __init__(self, category: str, tags: Dict[str, str]):
        self.category = category
        self.tags = tags
        self.active = False

    def inhibits(self, category: str, tags: Dict[str, str]) -> bool:
        if not self.active or category != self.category:
            return False
        return all(tags.get(k) == v for k, v in self.tags.items())


class AlertTopics:
    """The last event of each id, per topic, and the inhibitors of every
    running alert node: the seam the alert node talks to.

    This in-memory version serves engine tests; the daemon plugs in
    :class:`kapacitord_tw.alerts.service.AlertService`, which has the same
    methods and adds topic handlers and persistence.
    """

    def __init__(self):
        self._events: Dict[str, Dict[str, AlertEvent]] = {}
        self._inhibitors: List[Inhibitor] = []

    def add_inhibitor(self, inhibitor: Inhibitor) -> None:
        self._inhibitors.append(inhibitor)

    def remove_inhibitor(self, inhibitor: Inhibitor) -> None:
        self._inhibitors = [i for i in self._inhibitors if i is not inhibitor]

    def is_inhibited(self, category: str, tags: Dict[str, str]) -> bool:
        return any(i.inhibits(category, tags) for i in self._inhibitors)

    def collect(self, topic: str, event: AlertEvent) -> Optional[AlertEvent]:
        """Record ``event``; return the event it replaces (for ``previousLevel``)."""
        events = self._events.setdefault(topic, {})
        previous = events.get(event.id)
        events[event.id] = event
        return previous

    def event_state(self, topic: str, event_id: str) -> Optional[AlertEvent]:
        """The last event ``event_id`` in ``topic`` (for restoring a group's level)."""
        return self._events.get(topic, {}).get(event_id)

    def update_event(self, topic: str, event: AlertEvent) -> None:
        """Set an event's state without handling it (Kapacitor's ``UpdateEvent``)."""
        self._events.setdefault(topic, {})[event.id] = event

    def restore_topic(self, topic: str) -> None:
        """A task with handlers starts: its anonymous topic comes back (nothing to load here)."""

    def close_topic(self, topic: str) -> None:
        """A task with handlers stops: its anonymous topic is set aside."""

    def events(self, topic: str) -> Dict[str, AlertEvent]:
        return dict(self._events.get(topic, {}))

    def topics(self) -> List[str]:
        return sorted(self._events)

    def delete(self, topic: str) -> None:
        self._events.pop(topic, None)


def build_handlers(props, task, node) -> list:
    """Handler objects for the alert node's ``LogHandlers``, ``HTTPPostHandlers``,
    ``TcpHandlers`` and ``ExecHandlers`` properties, and — when the engine has
    ``services.notifications`` (:class:`kapacitord_tw.services.registry.NotificationServices`)
    — ``SlackHandlers``, ``EmailHandlers`` ... and the services marked ``global``."""
    from kapacitord_tw.engine import handlers

    out = []
    for spec in props.get("LogHandlers") or ():
        out.append(handlers.LogHandler(spec.get("FilePath", ""), spec.get("Mode") or 0o600))
    notifications = getattr(getattr(task, "services", None), "notifications", None)
    if notifications is not None:
        # .slack(), .email(), .post() with endpoints ...: kapacitord_tw.services
        topic = f"{task.master_id}:{task.id}:{node.name}"
        out.extend(notifications.node_handlers(props, topic, node))
    for spec in () if notifications is not None else props.get("HTTPPostHandlers") or ():
        out.append(handlers.PostHandler(spec.get("URL", ""), dict(spec.get("Headers") or {})))
    for spec in props.get("TcpHandlers") or ():
        out.append(handlers.TCPHandler(spec.get("Address", "")))
    for spec in props.get("ExecHandlers") or ():
        command = list(spec.get("Command") or ())
        if command:
            out.append(handlers.ExecHandler(command[0], command[1:]))
    return out
