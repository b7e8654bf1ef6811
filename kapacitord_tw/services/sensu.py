"""Sensu's client socket: one TCP connection per event, a JSON check result in,
``ok`` back (upstream ``services/sensu``)."""

from __future__ import annotations

import re

from twisted.internet import defer, protocol
from twisted.internet.endpoints import HostnameEndpoint

from kapacitord_tw.alerts import options as opt
from kapacitord_tw.engine.alertdata import AlertData, Level
from kapacitord_tw.engine.gotemplate import TemplateError, parse
from kapacitord_tw.engine.handlers import HandlerConfigError as _AddrError
from kapacitord_tw.engine.handlers import _reactor, split_host_port
from kapacitord_tw.gocompat import go_quote
from kapacitord_tw.services.base import HandlerConfigError, ServiceError, encode
from kapacitord_tw.services.common import (
    any_map, go_any, level_option, list_option, map_option,
)

NAME = "sensu"
PROPERTY = "SensuHandlers"
OPTIONS_TYPE = "*sensu.HandlerConfig"
OPTIONS = {"source": opt.string, "handlers": opt.string_list, "metadata": any_map}
PROPERTY_KEYS = {"Source": "source", "HandlersList": "handlers", "MetadataMap": "metadata"}

#: Go's ``^[\w\.-]+$`` (``\w`` is ASCII there)
_VALID_NAME = re.compile(r"^[\w.-]+$", re.ASCII)
_NAME_PATTERN = r"^[\w\.-]+$"
_STATUS = {Level.OK: 0, Level.INFO: 0, Level.WARNING: 1, Level.CRITICAL: 2}
#: the client answers "ok"; more than this is not an answer worth keeping
MAX_ANSWER = 4096


def prepare(options: dict) -> dict:
    """Parse the source template once, as upstream's ``Handler`` does."""
    try:
        source = parse(options.get("source", ""), "source")
    except TemplateError as e:
        raise HandlerConfigError(str(e)) from None
    return {**options, "_source": source}


def check(c, name, source, output, handlers, metadata, level) -> dict:
    """``prepareData``'s map: Kapacitor's fields, then metadata keys it does not set."""
    data = {"name": name, "source": source or c.source, "output": output,
            "status": _STATUS.get(level, 3), "handlers": list(handlers or c.handlers) or None}
    for key, value in (metadata or {}).items():
        data.setdefault(key, go_any(value))
    return {k: data[k] for k in sorted(data)}


class _Exchange(protocol.Protocol):
    """Write the check, read the answer until the client closes."""

    def __init__(self, payload: bytes, done: defer.Deferred) -> None:
        self.payload, self.done, self.parts, self.size = payload, done, [], 0

    def connectionMade(self) -> None:
        self.transport.write(self.payload)

    def dataReceived(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > MAX_ANSWER:
            self.transport.abortConnection()
            return
        self.parts.append(data)

    def connectionLost(self, reason) -> None:
        if not self.done.called:
            self.done.callback(b"".join(self.parts))


async def alert(ctx, name, source, output, handlers, metadata, level) -> None:
    if not _VALID_NAME.match(name):
        raise ServiceError(f"invalid name {go_quote(name)} for sensu alert. "
                           f"Must match {_NAME_PATTERN}")
    c = ctx.config()
    if not c.enabled:
        raise ServiceError("service is not enabled")
    data = check(c, name, source, output, handlers, metadata, level)
    try:
        host, port = split_host_port(c.addr)
    except _AddrError as e:
        raise ServiceError(str(e)) from None
    reactor = _reactor(ctx.reactor)
    done = defer.Deferred()
    endpoint = HostnameEndpoint(reactor, host, port, timeout=ctx.timeout)
    factory = protocol.Factory.forProtocol(lambda: _Exchange(encode(data), done))
    try:
        proto = await endpoint.connect(factory)
    except Exception as e:
        raise ServiceError(f"dial tcp: {type(e).__name__}") from None
    timer = reactor.callLater(ctx.timeout, proto.transport.abortConnection)
    try:
        answer = await done
    finally:
        timed_out = not timer.active()
        if not timed_out:
            timer.cancel()
    if answer != b"ok" and timed_out:
        raise ServiceError(f"sensu socket error: no answer within {ctx.timeout:g}s")
    if answer != b"ok":
        raise ServiceError("sensu socket error: " + answer.decode("utf-8", "replace"))


async def send(ctx, o: dict, a: AlertData) -> None:
    source = o["_source"]
    try:
        rendered = source.execute(a.event_template_value())
    except TemplateError as e:
        raise ServiceError(f"failed to evaluate Sensu source template: {e}") from None
    await alert(ctx, a.id, rendered, a.message, o.get("handlers") or [],
                o.get("metadata") or {}, a.level)


def test_options(cfg) -> dict:
    return {"name": "testName", "source": "Kapacitor", "output": "testOutput",
            "handlers": [], "metadata": {}, "level": "CRITICAL"}


async def test(ctx, o: dict) -> None:
    await alert(ctx, o["name"], o["source"], o["output"], list_option("handlers", o["handlers"]),
                map_option("metadata", o["metadata"]), level_option("level", o["level"]))
