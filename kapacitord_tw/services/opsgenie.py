"""OpsGenie's v1 JSON alert API (upstream ``services/opsgenie``)."""

from __future__ import annotations

from kapacitord_tw.alerts import options as opt
from kapacitord_tw.engine.alertdata import AlertData, Level
from kapacitord_tw.gocompat import json_dumps
from kapacitord_tw.services.base import ServiceError, encode, go_map, post
from kapacitord_tw.services.common import error_field, list_option, text

NAME = "opsgenie"
PROPERTY = "OpsGenieHandlers"
OPTIONS_TYPE = "*opsgenie.HandlerConfig"
OPTIONS = {"teams-list": opt.string_list, "recipients-list": opt.string_list}
PROPERTY_KEYS = {"TeamsList": "teams-list", "RecipientsList": "recipients-list"}


def request(c, teams, recipients, message_type, message, entity_id, series):
    """(url, JSON object) as upstream's ``preparePost`` builds them."""
    data = {"apiKey": c.api_key, "entity": entity_id, "alias": entity_id, "message": message,
            "note": "", "monitoring_tool": "kapacitor",
            "details": go_map({"Level": message_type, "Monitoring Tool": "Kapacitor"})}
    url = c.url + "/"
    if message_type == "RECOVERY":
        url = c.recovery_url + "/"
        data["note"] = message
    data["description"] = json_dumps({"series": series}).decode("utf-8")
    teams = list(teams or c.teams)
    if teams:
        data["teams"] = teams
    recipients = list(recipients or c.recipients)
    if recipients:
        data["recipients"] = recipients
    return url, go_map(data)


async def alert(ctx, teams, recipients, message_type, message, entity_id, series) -> None:
    c = ctx.config()
    if not c.enabled:
        raise ServiceError("service is not enabled")
    url, data = request(c, teams, recipients, message_type, message, entity_id, series)
    code, answer = await post(ctx, url, encode(data), {"Content-Type": "application/json"})
    if code != 200:
        raise ServiceError(error_field(answer, "message", (
            f"failed to understand OpsGenie response. code: {code} content: {text(answer)}")))


def message_type(level) -> str:
    return "RECOVERY" if level == Level.OK else str(Level(level))


async def send(ctx, o: dict, a: AlertData) -> None:
    await alert(ctx, o.get("teams-list") or [], o.get("recipients-list") or [],
                message_type(a.level), a.message, a.id, a.series)


def test_options(cfg) -> dict:
    return {"teams": list(cfg.teams) or None, "recipients": list(cfg.recipients) or None,
            "message-type": "CRITICAL", "message": "test opsgenie message",
            "entity-id": "testEntityID"}


async def test(ctx, o: dict) -> None:
    await alert(ctx, list_option("teams", o["teams"]),
                list_option("recipients", o["recipients"]), o["message-type"],
                o["message"], o["entity-id"], None)
