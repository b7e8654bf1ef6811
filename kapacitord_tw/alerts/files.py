"""Topic handlers from ``[load]`` files go into the alert service like API definitions."""

from __future__ import annotations

from typing import Optional

from twisted.internet import defer
from zope.interface import implementer

from kapacitord_tw.alerts.specs import HandlerSpec
from kapacitord_tw.tasks.handlerfiles import IHandlerRegistry, InvalidHandler


@implementer(IHandlerRegistry)
class LoadedHandlers:
    """Create a file's handler, or replace the one of the same topic and id (as Kapacitor's
    load service does through its API client)."""

    def __init__(self, alerts):
        self.alerts = alerts

    def define(self, spec, source: Optional[str] = None) -> defer.Deferred:
        new = HandlerSpec(id=spec.id, topic=spec.topic, kind=spec.kind,
                          options=spec.options or None, match=spec.match)
        try:
            existing = self.alerts.handler_spec(spec.topic, spec.id)
            if existing is None:
                return self.alerts.register(new)
            return self.alerts.update(existing, new)
        except ValueError as e:
            return defer.fail(InvalidHandler(str(e)))

    def delete(self, topic: str, handler_id: str) -> defer.Deferred:
        return self.alerts.deregister(topic, handler_id)
