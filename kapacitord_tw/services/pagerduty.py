"""PagerDuty's old generic Events API (upstream ``services/pagerduty``)."""

from __future__ import annotations

from kapacitord_tw.alerts import options as opt
from kapacitord_tw.engine.alertdata import AlertData, Level
from kapacitord_tw.services.base import ServiceError, encode, go_map, post
from kapacitord_tw.services.common import error_field, level_option, text

NAME = "pagerduty"
PROPERTY = "PagerDutyHandlers"
OPTIONS_TYPE = "*pagerduty.HandlerConfig"
OPTIONS = {"service-key": opt.string}
PROPERTY_KEYS = {"ServiceKey": "service-key"}


def payload(c, service_key, incident_key, desc, level, details, client_url) -> dict:
    """``preparePost``'s ``map[string]string`` (keys sorted as Go writes a map)."""
    if level == Level.INFO:
        raise ServiceError("AlertLevel 'info' is currently ignored by the PagerDuty service")
    event_type = "trigger" if level in (Level.WARNING, Level.CRITICAL) else "resolve"
    return go_map({"service_key": service_key or c.service_key, "event_type": event_type,
                   "description": desc, "incident_key": incident_key, "client": "kapacitor",
                   "client_url": client_url, "details": details})


async def alert(ctx, service_key, incident_key, desc, level, details) -> None:
    c = ctx.config()
    if not c.enabled:
        raise ServiceError("service is not enabled")
    body = encode(payload(c, service_key, incident_key, desc, level, details, ctx.server_url))
    code, answer = await post(ctx, c.url, body, {"Content-Type": "application/json"})
    if code != 200:
        raise ServiceError(error_field(answer, "message", (
            f"failed to understand PagerDuty response. code: {code} content: {text(answer)}")))


async def send(ctx, o: dict, a: AlertData) -> None:
    await alert(ctx, o.get("service-key", ""), a.id, a.message, a.level, a.details)


def test_options(cfg) -> dict:
    return {"incident-key": "testIncidentKey", "description": "test pagerduty message",
            "details": "", "level": "CRITICAL"}


async def test(ctx, o: dict) -> None:
    await alert(ctx, ctx.config().service_key, o["incident-key"], o["description"],
                level_option("level", o["level"]), o["details"])
