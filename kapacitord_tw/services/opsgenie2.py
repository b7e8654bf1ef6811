"""OpsGenie Alert API v2 (upstream ``services/opsgenie2``)."""

from __future__ import annotations

import base64
import posixpath
from urllib.parse import urlsplit, urlunsplit

from kapacitord_tw.alerts import options as opt
from kapacitord_tw.engine.alertdata import AlertData, Level
from kapacitord_tw.gocompat import json_dumps
from kapacitord_tw.services.base import ServiceError, encode, go_map, post
from kapacitord_tw.services.common import error_field, text

NAME = "opsgenie2"
PROPERTY = "OpsGenie2Handlers"
OPTIONS_TYPE = "*opsgenie2.HandlerConfig"
OPTIONS = {"teams-list": opt.string_list, "recipients-list": opt.string_list,
           "recovery_action": opt.string}
PROPERTY_KEYS = {"TeamsList": "teams-list", "RecipientsList": "recipients-list",
                 "RecoveryActionString": "recovery_action"}
_PRIORITY = {Level.INFO: "P5", Level.WARNING: "P3", Level.CRITICAL: "P1"}


def request(c, teams, recipients, recovery_action, level, message, entity_id,
            event_details, series):
    """(url, JSON object) as upstream's ``preparePost`` builds them."""
    alias = base64.urlsafe_b64encode(entity_id.encode("utf-8")).decode("ascii")
    if level == Level.OK:
        if recovery_action not in ("close", "notes"):
            recovery_action = c.recovery_action if c.recovery_action in ("close", "notes") \
                else "notes"
        u = urlsplit(c.url)
        url = urlunsplit(u._replace(path=posixpath.join(u.path, alias, recovery_action),
                                    query="identifierType=alias"))
        return url, {"note": message}
    data = {"alias": alias}
    if c.details and event_details:
        description = event_details
    else:
        description = json_dumps({"series": series}).decode("utf-8")
    details = {"Monitoring Tool": "Kapacitor", "Level": str(Level(level))}
    if series:
        row = series[0]
        details.update(row.get("tags") or {})
        details["Kapacitor Task Name"] = row.get("name", "")
    data.update({"description": description, "details": go_map(details),
                 "entity": entity_id, "message": message, "note": "",
                 "priority": _PRIORITY.get(level, "")})
    responders = [{"name": t, "type": "team"} for t in (teams or c.teams)]
    responders += [{"type": "user", "username": u} for u in (recipients or c.recipients)]
    if responders:
        data["responders"] = responders
    return c.url, data


async def alert(ctx, teams, recipients, recovery_action, level, message, entity_id,
                event_details, series) -> None:
    c = ctx.config()
    if not c.enabled:
        raise ServiceError("failed to prepare API request: service is not enabled")
    url, data = request(c, teams, recipients, recovery_action, level, message, entity_id,
                        event_details, series)
    code, answer = await post(ctx, url, encode(data), {
        "Content-Type": "application/json", "Authorization": "GenieKey " + c.api_key})
    if code != 202:
        raise ServiceError("opsgenie error: " + error_field(answer, "message", (
            f"failed to understand OpsGenie response. code: {code} content: {text(answer)}")))


async def send(ctx, o: dict, a: AlertData) -> None:
    await alert(ctx, o.get("teams-list") or [], o.get("recipients-list") or [],
                o.get("recovery_action", ""), a.level, a.message, a.id, a.details, a.series)


def test_options(cfg) -> dict:
    return {"teams": list(cfg.teams) or None, "recipients": list(cfg.recipients) or None,
            "recovery_action": cfg.recovery_action, "message-type": "CRITICAL",
            "message": "test opsgenie message", "entity-id": "testEntityID"}


async def test(ctx, o: dict) -> None:
    if o["message-type"] == "RECOVERY":
        level = Level.OK
    else:
        try:
            level = Level.parse(o["message-type"])
        except ValueError as e:
            raise ServiceError(str(e)) from None
    await alert(ctx, o.get("teams") or [], o.get("recipients") or [], o["recovery_action"],
                level, o["message"], o["entity-id"], "", None)
