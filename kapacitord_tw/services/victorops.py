"""VictorOps (Splunk On-Call) REST endpoint (upstream ``services/victorops``)."""

from __future__ import annotations

import posixpath
from urllib.parse import urlsplit, urlunsplit

from kapacitord_tw.alerts import options as opt
from kapacitord_tw.engine.alertdata import AlertData, Level
from kapacitord_tw.gocompat import json_dumps
from kapacitord_tw.services.base import ServiceError, encode, post
from kapacitord_tw.services.common import error_field, text

NAME = "victorops"
PROPERTY = "VictorOpsHandlers"
OPTIONS_TYPE = "*victorops.HandlerConfig"
OPTIONS = {"routing-key": opt.string}
PROPERTY_KEYS = {"RoutingKey": "routing-key"}


def message_type(level) -> str:
    return "RECOVERY" if level == Level.OK else str(Level(level))


async def alert(ctx, routing_key, msg_type, message, entity_id, time_s, series, clock) -> None:
    c = ctx.config()
    if not c.enabled:
        raise ServiceError("service is not enabled")
    result = {"series": series}
    data = {"data": result if c.json_data else json_dumps(result).decode("utf-8"),
            "entity_id": entity_id, "message_type": msg_type, "monitoring_tool": "kapacitor",
            "state_message": message, "timestamp": time_s}
    u = urlsplit(c.url)
    url = urlunsplit(u._replace(path=posixpath.join(u.path, c.api_key,
                                                    routing_key or c.routing_key)))
    code, answer = await post(ctx, url, encode(data), {"Content-Type": "application/json"})
    if code != 200:
        if code == 404:
            raise ServiceError("URL or API key not found: 404")
        raise ServiceError(error_field(answer, "message", (
            f"failed to understand VictorOps response. code: {code} content: {text(answer)}")))


async def send(ctx, o: dict, a: AlertData) -> None:
    await alert(ctx, o.get("routing-key", ""), message_type(a.level), a.message, a.id,
                a.time // 1_000_000_000, a.series, None)


def test_options(cfg) -> dict:
    return {"routingKey": cfg.routing_key, "messageType": "CRITICAL",
            "message": "test victorops message", "entityID": "testEntityID"}


async def test(ctx, o: dict) -> None:
    import time
    await alert(ctx, o["routingKey"], o["messageType"], o["message"], o["entityID"],
                int(time.time()), None, None)
