"""What every notification service shares: the handler shell and an HTTP POST.

:class:`ServiceHandler` is an :class:`~kapacitord_tw.engine.handlers._Base`
(ordered, bounded in flight, never raises) whose ``_send`` asks the service
module's ``send(ctx, options, alert)`` coroutine.  The service's config is
read through ``config_getter`` at send time, so a config change reaches the
next alert.  Errors are logged with the service's words, never with a URL,
header or credential.
"""

from __future__ import annotations

from typing import Callable, Dict, Optional, Tuple

import attr
from twisted.internet import defer
from twisted.logger import Logger

from kapacitord_tw.engine import handlers as _h
from kapacitord_tw.engine.alertdata import AlertData
from kapacitord_tw.gocompat import json_dumps

#: Kapacitor's services use Go's default client (no timeout); ours bound every request.
DEFAULT_TIMEOUT = 30.0
MAX_BODY = 64 * 1024


class ServiceError(_h._HandlerError):
    """A send that failed, worded as Kapacitor words it (no secrets)."""


class HandlerConfigError(_h.HandlerConfigError):
    """Bad handler options (Kapacitor's message); the task or spec is refused."""


def go_map(d: Optional[dict]) -> dict:
    """A Go map as ``encoding/json`` writes it: keys sorted."""
    return {k: d[k] for k in sorted(d or {})}


def encode(value) -> bytes:
    """``json.NewEncoder(w).Encode(v)``: Go's JSON and a newline."""
    return json_dumps(value, newline=True)


def result_json(alert: AlertData) -> dict:
    """``models.Result`` (``{"series": ...}``) as Go marshals it."""
    return {"series": alert.series}


@attr.s(frozen=True)
class SendContext:
    """What a send may use: the live config, an HTTP client, the reactor."""

    config_getter: Callable = attr.ib()
    client: object = attr.ib(default=None)
    reactor: object = attr.ib(default=None)
    topic: str = attr.ib(default="")
    timeout: float = attr.ib(default=DEFAULT_TIMEOUT)
    server_url: str = attr.ib(default="")

    def config(self):
        return self.config_getter()

    def http(self):
        return self.client if self.client is not None else _shared_client()


_CLIENT = []


def _shared_client():
    if not _CLIENT:
        _CLIENT.append(_h._default_client())
    return _CLIENT[0]


async def post(ctx: SendContext, url: str, body: bytes,
               headers: Dict[str, str]) -> Tuple[int, bytes]:
    """POST *body*; (status, first 64 KiB of the answer).  ServiceError when the
    request cannot be made or times out (the URL is not repeated: it may hold a token)."""
    if not url:
        raise ServiceError("failed to POST: no URL configured")
    try:
        response = await ctx.http().post(
            url.encode("utf-8"), data=body,
            headers={k: [v] for k, v in headers.items()}, timeout=ctx.timeout)
    except Exception as e:
        raise ServiceError(f"failed to POST: {type(e).__name__}") from None
    data = await _h._read_capped(response, MAX_BODY)
    return response.code, data


def _unused(_):
    return None


@attr.s
class ServiceHandler(_h._Base):
    """An alert handler for one service with its decoded *options*."""

    name: str = attr.ib()
    send: Callable = attr.ib()
    options: dict = attr.ib()
    ctx: SendContext = attr.ib()
    log = Logger()

    @property
    def kind(self) -> str:  # noqa: D401 - _Base uses it in log events
        return self.name

    def _send(self, alert: AlertData) -> defer.Deferred:
        return defer.ensureDeferred(self.send(self.ctx, self.options, alert))
