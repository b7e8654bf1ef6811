"""
Topic handler files of the ``[load]`` directory, and the seam through
which they will reach the alerting service.

A file is decoded as Kapacitor decodes ``client.TopicHandlerOptions`` and
checked with its ``HandlerSpec.Validate`` rules and messages.  There is no
alerting service (topics, handlers API) in this daemon yet, so the default
:class:`UnsupportedHandlers` only says so, once per file; the alerting
service will pass its own registry with the same two methods.
"""

from __future__ import annotations

import unicodedata
from typing import Dict, Optional

import attrs
from twisted.internet.defer import succeed
from twisted.logger import Logger
from zope.interface import Interface, implementer

from kapacitord_tw import gocompat
from kapacitord_tw.http import jsonbody


@attrs.frozen
class HandlerSpec:
    """A topic handler as a load file (or ``kapacitor define-topic-handler``) gives it."""

    topic: str
    id: str
    kind: str
    options: Dict[str, object] = attrs.field(factory=dict)
    match: str = ""

    @property
    def key(self) -> str:
        return f"{self.topic}/{self.id}"


def _options(value):
    if not isinstance(value, dict):
        raise jsonbody.BodyError("options must be an object")
    return value


HANDLER_BODY = {
    "topic": jsonbody.string,
    "id": jsonbody.string,
    "kind": jsonbody.string,
    "options": _options,
    "match": jsonbody.string,
}


def _is_letter(ch: str) -> bool:
    return unicodedata.category(ch).startswith("L")


def _matches(name: str, extra: str) -> bool:
    """``^[-<extra>\\._\\p{L}0-9]+$``."""
    return bool(name) and all(ch in extra or _is_letter(ch) for ch in name)


class InvalidHandler(ValueError):
    """A handler file whose content Kapacitor's API would refuse."""


def handler_spec(decoded: dict) -> HandlerSpec:
    """Kapacitor's ``HandlerSpec.Validate`` on a decoded :data:`HANDLER_BODY`."""
    spec = HandlerSpec(
        topic=decoded.get("topic", ""),
        id=decoded.get("id", ""),
        kind=decoded.get("kind", ""),
        options=decoded.get("options") or {},
        match=decoded.get("match", ""),
    )
    # The topic message quotes the handler ID: Kapacitor's own wording.
    if not _matches(spec.topic, "-:._0123456789"):
        raise InvalidHandler(
            "invalid handler spec: handler topic must contain only letters, numbers, "
            "'-', '.' and '_'. " + gocompat.go_quote(spec.id))
    if not _matches(spec.id, "-._0123456789"):
        raise InvalidHandler(
            "invalid handler spec: handler ID must contain only letters, numbers, "
            "'-', '.' and '_'. " + gocompat.go_quote(spec.id))
    if not spec.kind:
        raise InvalidHandler("invalid handler spec: handler Kind must not be empty")
    return spec


class IHandlerRegistry(Interface):
    """Where loaded topic handlers go: the alerting service, once it exists."""

    def define(spec, source):
        """Create or replace ``spec`` (read from file ``source``); a Deferred."""

    def delete(topic, handler_id):
        """Remove a handler loaded earlier whose file is gone; a Deferred."""


@implementer(IHandlerRegistry)
class UnsupportedHandlers:
    """The registry while there is no alerting service: one warning per file."""

    log = Logger()

    def define(self, spec: HandlerSpec, source: Optional[str] = None):
        self.log.warn(
            "topic handler {handler} from {file} not loaded: topic handlers are not "
            "supported by kapacitord-tw yet",
            handler=spec.key, file=source,
        )
        return succeed(None)

    def delete(self, topic: str, handler_id: str):
        return succeed(None)
