"""Topic state: the last event of each id, and how many events a topic collected.

A topic's level is the highest level among its events (``OK`` when it has
none); a count per level keeps that O(1) per event, however many events the
topic holds.
"""

from __future__ import annotations

from typing import Dict, List, Optional

from kapacitord_tw.engine.alerting import AlertEvent

OK = 0


class Topic:
    __slots__ = ("id", "events", "collected", "_levels")

    def __init__(self, topic_id: str):
        self.id = topic_id
        self.events: Dict[str, AlertEvent] = {}
        self.collected = 0
        self._levels = [0, 0, 0, 0]

    def update(self, event: AlertEvent) -> Optional[AlertEvent]:
        """Record *event* as its id's state; return the state it replaces."""
        previous = self.events.get(event.id)
        if previous is not None:
            self._levels[previous.level] -= 1
        self.events[event.id] = event
        self._levels[event.level] += 1
        return previous

    def restore(self, events: Dict[str, AlertEvent]) -> None:
        """Replace every event state (Kapacitor's ``RestoreTopicNoCopy``)."""
        self.events = dict(events)
        self._levels = [0, 0, 0, 0]
        for event in self.events.values():
            self._levels[event.level] += 1

    @property
    def level(self) -> int:
        for level in (3, 2, 1):
            if self._levels[level]:
                return level
        return OK

    def event_states(self, min_level: int = OK) -> List[AlertEvent]:
        """Events at *min_level* or above, highest level first, then by id."""
        found = [e for e in self.events.values() if e.level >= min_level]
        found.sort(key=lambda e: (-e.level, e.id))
        return found
