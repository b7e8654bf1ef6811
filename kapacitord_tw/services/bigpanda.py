"""BigPanda's alerts API v2 (upstream ``services/bigpanda``)."""

from __future__ import annotations

import html
import time

from kapacitord_tw.alerts import options as opt
from kapacitord_tw.engine.alertdata import AlertData, Level
from kapacitord_tw.gocompat import format_time, json_dumps, parse_time
from kapacitord_tw.services.base import ServiceError, post
from kapacitord_tw.services.common import (
    SendTemplate, any_map, error_field, go_any, level_option, text,
)

NAME = "bigpanda"
PROPERTY = "BigPandaHandlers"
OPTIONS_TYPE = "*bigpanda.HandlerConfig"
OPTIONS = {"app-key": opt.string, "url": opt.string, "host": opt.string,
           "primary-property": opt.string, "secondary-property": opt.string,
           "attributes": any_map}
PROPERTY_KEYS = {"AppKey": "app-key", "Host": "host", "PrimaryProperty": "primary-property",
                 "SecondaryProperty": "secondary-property", "Attributes": "attributes"}
_STATUS = {Level.OK: "ok", Level.INFO: "ok", Level.WARNING: "warning",
           Level.CRITICAL: "critical"}


def prepare(options: dict) -> dict:
    """The host and attribute templates parsed once; a parse error fails each send."""
    return {**options, "_host": SendTemplate(options.get("host", ""), "host"),
            "_attributes": {k: SendTemplate(v, k) if isinstance(v, str) else v
                            for k, v in (options.get("attributes") or {}).items()}}


def _marshal(value) -> str:
    return json_dumps(go_any(value)).decode("utf-8")


def render_attributes(o: dict, td) -> dict:
    """``renderAttributes``: ``host`` always (even empty), then each attribute."""
    out = {"host": o["_host"].render(td)}
    for key, value in o["_attributes"].items():
        out[key] = value.render(td) if isinstance(value, SendTemplate) else _marshal(value)
    return out


def body(c, o: dict, alert_id, message, details, level, time_ns, task_name, name, tags,
         fields, attrs: dict) -> dict:
    """``preparePost``'s map, keys sorted as Go writes a map."""
    data = {}
    if message:
        data["description"] = message
    if details:
        unescaped = html.unescape(details)
        if not unescaped.startswith("{"):        # the default details: the whole event
            data["details"] = unescaped
    if alert_id:
        data["check"] = alert_id
    data["task"] = f"{task_name}:{name}"
    data["timestamp"] = time_ns // 10**9
    data["status"] = _STATUS.get(level, "critical")
    if o.get("primary-property"):
        data["primary_property"] = o["primary-property"]
    if o.get("secondary-property"):
        data["secondary_property"] = o["secondary-property"]
    data["app_key"] = o.get("app-key") or c.app_key
    auto = c.auto_attributes.lower()
    if "tags" in auto:
        data.update(tags or {})
    if "fields" in auto:
        for key, value in (fields or {}).items():
            data[key] = value if isinstance(value, str) else _marshal(value)
    data.update(attrs)
    return {k: data[k] for k in sorted(data)}


async def alert(ctx, o, alert_id, message, details, level, time_ns, task_name, name, tags,
                fields, attrs) -> None:
    c = ctx.config()
    if not c.enabled:
        raise ServiceError("service is not enabled")
    data = body(c, o, alert_id, message, details, level, time_ns, task_name, name, tags,
                fields, attrs)
    code, answer = await post(ctx, o.get("url") or c.url, json_dumps(data), {
        "Authorization": "Bearer " + c.token, "Content-Type": "application/json"})
    if code != 201:
        raise ServiceError(error_field(answer, "error", (
            f"failed to understand BigPanda response. code: {code} content: {text(answer)}")))


async def send(ctx, o: dict, a: AlertData) -> None:
    attrs = render_attributes(o, a.event_template_value())
    await alert(ctx, o, a.id, a.message, a.details, a.level, a.time, a.task_name, a.name,
                a.tags, a.fields, attrs)


def test_options(cfg) -> dict:
    return {"app_key": "012345", "message": "test bigpanda message", "level": "CRITICAL",
            "event_data": {"Name": "testBigPanda", "TaskName": "", "Category": "",
                           "Group": "", "Tags": {}, "Fields": {}, "Recoverable": False,
                           "Result": {"series": None}},
            "timestamp": format_time(time.time_ns()), "host": "serverA",
            "primary_property": "", "secondary_property": ""}


async def test(ctx, o: dict) -> None:
    data = o.get("event_data") or {}
    try:
        t = parse_time(o["timestamp"])
    except Exception:
        raise ServiceError(f"parsing time {o['timestamp']!r}: invalid time") from None
    hc = {"app-key": o["app_key"], "primary-property": o["primary_property"],
          "secondary-property": o["secondary_property"]}
    await alert(ctx, hc, "", o["message"], "", level_option("level", o["level"]), t,
                data.get("TaskName", ""), data.get("Name", ""), data.get("Tags") or {},
                data.get("Fields") or {}, {})
