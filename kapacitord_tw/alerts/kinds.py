"""Topic handler kinds: a registry of ``kind -> factory(options, context)``.

A factory validates the spec's ``options`` (Kapacitor's ``mapstructure``
decoding, :mod:`.options`) and returns a handler, or raises ``ValueError``
with Kapacitor's text, which the API answers as ``failed to create
handler: <text>``.  A handler has either

* ``handle(alert_data) -> Deferred`` — an *external* handler (sends the
  event somewhere; :mod:`kapacitord_tw.engine.handlers` are such), skipped
  for events an ``aggregate`` of internal-only events produced; or
* ``handle_event(event, previous)`` and ``internal = True`` — an
  *internal* handler that feeds events back into topics (``aggregate``,
  ``publish``).

Other notification services (slack, pagerduty, smtp, ...) add their kinds
with :meth:`HandlerKinds.register`.  A handler may have ``close()``, called
when its spec is replaced or deleted.
"""

from __future__ import annotations

from typing import Callable, Dict, Optional

import attrs

from kapacitord_tw.alerts import options as opt
from kapacitord_tw.engine import handlers as io_handlers
from kapacitord_tw.gocompat import go_quote


@attrs.frozen
class HandlerContext:
    """What a factory may use besides the options."""

    topic: str
    handler_id: str
    reactor: object
    #: ``collect(topic, event)``: publish an event into a topic (internal kinds)
    collect: Callable
    #: events a handler may hold in flight (``[alert] topic-buffer-length``)
    max_pending: int = io_handlers.MAX_PENDING
    #: a treq-like client for ``post`` (None: the handlers' default)
    http_client: object = None


Factory = Callable[[Optional[dict], HandlerContext], object]


class HandlerKinds:
    """The kinds a topic handler spec may name."""

    def __init__(self) -> None:
        self._factories: Dict[str, Factory] = {}

    def register(self, kind: str, factory: Factory) -> None:
        self._factories[kind] = factory

    def __contains__(self, kind: str) -> bool:
        return kind in self._factories

    def kinds(self):
        return sorted(self._factories)

    def create(self, kind: str, options: Optional[dict], context: HandlerContext):
        """A handler for *kind*; ValueError with Kapacitor's text otherwise."""
        factory = self._factories.get(kind)
        if factory is None:
            raise ValueError(f"unsupported action kind {go_quote(kind)}")
        return factory(options, context)


# ---------------------------------------------------------------- built-ins

def _log(options, ctx: HandlerContext):
    c = opt.decode(options, {"path": opt.string, "mode": opt.file_mode},
                   "*alert.LogHandlerConfig")
    return io_handlers.LogHandler(c.get("path", ""), c.get("mode", io_handlers.DEFAULT_LOG_MODE),
                                  reactor=ctx.reactor, max_pending=ctx.max_pending)


def _post(options, ctx: HandlerContext):
    c = opt.decode(options, {
        "url": opt.string, "endpoint": opt.string, "headers": opt.string_map,
        "capture-response": opt.boolean, "timeout": opt.duration,
        "skip-ssl-verification": opt.boolean,
    }, "*httppost.HandlerConfig")
    # No [[httppost]] endpoints are configured here: an endpoint name alone
    # gets Kapacitor's answer for an unknown endpoint without a url.
    timeout = c.get("timeout", 0) / 1e9
    return io_handlers.PostHandler(
        c.get("url", ""), c.get("headers") or {}, capture_response=c.get("capture-response", False),
        timeout=timeout if timeout > 0 else io_handlers.DEFAULT_TIMEOUT,
        client=ctx.http_client, max_pending=ctx.max_pending)


def _tcp(options, ctx: HandlerContext):
    c = opt.decode(options, {"address": opt.string}, "*alert.TCPHandlerConfig")
    return io_handlers.TCPHandler(c.get("address", ""), reactor=ctx.reactor,
                                  max_pending=ctx.max_pending)


def _exec(options, ctx: HandlerContext):
    c = opt.decode(options, {"prog": opt.string, "args": opt.string_list},
                   "*alert.ExecHandlerConfig")
    return io_handlers.ExecHandler(c.get("prog", ""), c.get("args") or [], reactor=ctx.reactor,
                                   max_pending=ctx.max_pending)


def _internal(name: str) -> Factory:
    """The factory *name* of :mod:`.internal`, imported (with the Go
    template engine it needs) when the first such handler is created."""
    def factory(options, ctx: HandlerContext):
        from kapacitord_tw.alerts import internal

        return getattr(internal, name)(options, ctx)
    return factory


def default_kinds() -> HandlerKinds:
    """The kinds this daemon runs itself: log, post, tcp, exec, aggregate, publish."""
    kinds = HandlerKinds()
    kinds.register("log", _log)
    kinds.register("post", _post)
    kinds.register("tcp", _tcp)
    kinds.register("exec", _exec)
    kinds.register("aggregate", _internal("aggregate"))
    kinds.register("publish", _internal("publish"))
    return kinds
