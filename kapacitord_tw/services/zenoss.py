"""Zenoss's JSON API router (``EventsRouter.add_event``; upstream ``services/zenoss``)."""

from __future__ import annotations

import base64
import json

from kapacitord_tw.alerts import options as opt
from kapacitord_tw.engine.alertdata import AlertData, Level
from kapacitord_tw.engine.govalues import GoDuration, GoStruct, GoTime, StringMap
from kapacitord_tw.gocompat import ZERO_TIME_NS, json_dumps
from kapacitord_tw.services.base import ServiceError, post
from kapacitord_tw.services.common import (
    SendTemplate, any_map, cut_bytes, error_field, go_any, int64, level_option, map_option,
    text,
)

NAME = "zenoss"
PROPERTY = "ZenossHandlers"
OPTIONS_TYPE = "*zenoss.HandlerConfig"
# Summary ... Message carry only json tags upstream: mapstructure knows them by their
# Go field names (any case), so "eventclass", not "evclass".
OPTIONS = {"action": opt.string, "method": opt.string, "type": opt.string, "tid": int64,
           "Summary": opt.string, "Device": opt.string, "Component": opt.string,
           "EventClassKey": opt.string, "EventClass": opt.string, "Collector": opt.string,
           "Message": opt.string, "customField": any_map}
PROPERTY_KEYS = {"Action": "action", "Method": "method", "Type": "type", "Tid": "tid",
                 "Summary": "Summary", "Device": "Device", "Component": "Component",
                 "EventClassKey": "EventClassKey", "EventClass": "EventClass",
                 "Message": "Message", "Collector": "Collector",
                 "CustomFieldsMap": "customField"}
_TEMPLATES = (("Summary", "summary"), ("Device", "device"), ("Component", "component"),
              ("EventClassKey", "evclasskey"), ("EventClass", "evclass"),
              ("Message", "message"), ("Collector", "collector"))


def prepare(options: dict) -> dict:
    """Templates parsed once; a parse error fails each send, as upstream's does."""
    custom = {k: SendTemplate(v, "customData." + k) if isinstance(v, str) else v
              for k, v in (options.get("customField") or {}).items()}
    return {**options, "_templates": {key: SendTemplate(options.get(key, ""), name)
                                      for key, name in _TEMPLATES},
            "_custom": custom}


def severity(c, level):
    m = c.severity_map
    return {Level.OK: m.ok, Level.INFO: m.info, Level.WARNING: m.warning,
            Level.CRITICAL: m.critical}.get(level)


def _json_or_text(value: str):
    """``addCustomData``: a string that parses as JSON (an object or array) is sent as JSON."""
    if not value.startswith(("{", "[")):
        return value

    def no_constants(name):
        raise ValueError(name)
    try:
        return json.loads(value, parse_constant=no_constants)
    except (ValueError, RecursionError):
        return value


def event(c, o: dict, alert_id, level, message, info) -> dict:
    """The ``Event`` JSON: the one data map's keys sorted, as Go writes a map."""
    r = {key: o["_templates"][key].render(info) for key, _ in _TEMPLATES}
    data = {"summary": cut_bytes(r["Summary"] or message, 256), "device": r["Device"],
            "component": r["Component"], "severity": severity(c, level),
            "evclasskey": r["EventClassKey"], "evclass": r["EventClass"]}
    collector = r["Collector"] or c.collector
    if collector:
        data["collector"] = collector
    if r["Message"]:
        data["message"] = cut_bytes(r["Message"], 4096)
    for key, value in o["_custom"].items():
        data[key] = _json_or_text(value.render(info)) if isinstance(value, SendTemplate) \
            else value
    return {"action": o.get("action") or c.action, "method": o.get("method") or c.method,
            "data": [go_any(data)], "type": o.get("type") or c.type,
            "tid": o.get("tid") or c.tid}


def template_info(a: AlertData) -> GoStruct:
    """The anonymous struct upstream's templates see."""
    return GoStruct("*struct", {
        "Name": a.name, "TaskName": a.task_name, "ID": a.id, "Message": a.message,
        "Details": a.details, "Time": GoTime(a.time), "Duration": GoDuration(a.duration),
        "Level": a.level, "Recoverable": a.recoverable, "Tags": StringMap(a.tags or {})})


async def alert(ctx, o: dict, alert_id, level, message, info) -> None:
    c = ctx.config()
    if not c.enabled:
        raise ServiceError("service is not enabled")
    body = json_dumps(event(c, o, alert_id, level, message, info))
    headers = {"Content-Type": "application/json"}
    if c.username and c.password:
        cred = base64.b64encode(f"{c.username}:{c.password}".encode("utf-8")).decode("ascii")
        headers["Authorization"] = "Basic " + cred
    code, answer = await post(ctx, c.url, body, headers)
    if code != 200:
        raise ServiceError(error_field(answer, "error", (
            f"failed to understand Zenoss response. code: {code} content: {text(answer)}")))


async def send(ctx, o: dict, a: AlertData) -> None:
    await alert(ctx, o, a.id, a.level, a.message, template_info(a))


def test_options(cfg) -> dict:
    return {"alert_id": "1001", "level": "CRITICAL", "message": "test zenoss message",
            "action": cfg.action, "method": cfg.method, "type": cfg.type, "tid": cfg.tid,
            "summary": "", "device": "", "component": "", "eventclasskey": "",
            "eventclass": "", "collector": cfg.collector, "custom_fields": {}}


async def test(ctx, o: dict) -> None:
    level = level_option("level", o["level"])
    hc = prepare({"action": o["action"], "method": o["method"], "type": o["type"],
                  "tid": o["tid"], "Summary": o["summary"], "Device": o["device"],
                  "Component": o["component"], "EventClassKey": o["eventclasskey"],
                  "EventClass": o["eventclass"], "Collector": o["collector"],
                  "customField": map_option("custom_fields", o["custom_fields"])})
    info = template_info(AlertData(id=o["alert_id"], message=o["message"], details="",
                                   time=ZERO_TIME_NS, level=level))
    await alert(ctx, hc, o["alert_id"], level, o["message"], info)
