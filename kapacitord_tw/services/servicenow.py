"""ServiceNow's event management web service (upstream ``services/servicenow``)."""

from __future__ import annotations

import base64

from kapacitord_tw.alerts import options as opt
from kapacitord_tw.engine.alertdata import AlertData, Level
from kapacitord_tw.engine.govalues import GoStruct, StringMap
from kapacitord_tw.gocompat import json_dumps
from kapacitord_tw.services.base import ServiceError, go_map, post
from kapacitord_tw.services.common import (
    SendTemplate, any_map, cut_bytes, error_field, level_option, map_option, text,
)

NAME = "servicenow"
PROPERTY = "ServiceNowHandlers"
OPTIONS_TYPE = "*servicenow.HandlerConfig"
# Node ... MessageKey carry only json tags upstream, so mapstructure knows them by
# their Go field names (any case): "metricname", not "metric_name".
OPTIONS = {"url": opt.string, "username": opt.string, "password": opt.string,
           "source": opt.string, "Node": opt.string, "Type": opt.string,
           "Resource": opt.string, "MetricName": opt.string, "MessageKey": opt.string,
           "additional_info": any_map}
PROPERTY_KEYS = {"URL": "url", "Source": "source", "Node": "Node", "Type": "Type",
                 "Resource": "Resource", "MetricName": "MetricName",
                 "MessageKey": "MessageKey", "AdditionalInfoMap": "additional_info"}
_TEMPLATES = (("Node", "node"), ("Type", "type"), ("Resource", "resource"),
              ("MetricName", "metricName"), ("MessageKey", "messageKey"))
#: OK and INFO 5, WARNING 4, CRITICAL 1 (ServiceNow: 1 is critical, 5 is OK)
_SEVERITY = {Level.OK: 5, Level.INFO: 5, Level.WARNING: 4, Level.CRITICAL: 1}
_CUTOFF = 100


def prepare(options: dict) -> dict:
    """Templates parsed once; a parse error fails each send, as upstream's does."""
    info = {k: SendTemplate(v, "additional_info." + k) if isinstance(v, str) else v
            for k, v in (options.get("additional_info") or {}).items()}
    return {**options, "_templates": {key: SendTemplate(options.get(key, ""), name)
                                      for key, name in _TEMPLATES},
            "_info": info}


def record(c, alert_id, message, level, source, rendered: dict, info: dict) -> dict:
    """One ``Event`` (omitempty fields left out) as ``preparePost`` builds it."""
    message_key = rendered["MessageKey"] or alert_id
    event = {"source": cut_bytes(source or c.source, _CUTOFF),
             "node": cut_bytes(rendered["Node"], _CUTOFF),
             "type": cut_bytes(rendered["Type"], _CUTOFF),
             "resource": cut_bytes(rendered["Resource"], _CUTOFF),
             "metric_name": cut_bytes(rendered["MetricName"], _CUTOFF),
             "message_key": cut_bytes(message_key, 1024),
             "severity": str(_SEVERITY.get(level, 0)),
             "description": cut_bytes(message, 4000),
             "additional_info": json_dumps(go_map(info)).decode("utf-8") if info else ""}
    return {k: v for k, v in event.items() if v or k == "source"}


def _render_all(o: dict, data) -> tuple:
    rendered = {key: o["_templates"][key].render(data) for key, _ in _TEMPLATES}
    info = {}
    for key, value in o["_info"].items():
        info[key] = value.render(data) if isinstance(value, SendTemplate) \
            else opt.go_v(value)
    return rendered, info


async def alert(ctx, url, alert_id, message, level, o: dict, data) -> None:
    c = ctx.config()
    if not c.enabled:
        raise ServiceError("service is not enabled")
    rendered, info = _render_all(o, data)
    body = json_dumps({"records": [record(c, alert_id, message, level, o.get("source", ""),
                                          rendered, info)]})
    headers = {"Content-Type": "application/json"}
    if c.username and c.password:
        cred = base64.b64encode(f"{c.username}:{c.password}".encode("utf-8")).decode("ascii")
        headers["Authorization"] = "Basic " + cred
    code, answer = await post(ctx, url or c.url, body, headers)
    if code != 200:
        raise ServiceError(error_field(answer, "error", (
            f"failed to understand ServiceNow response. code: {code} content: {text(answer)}")))


def data_info(alert_id, name, task_name, fields, tags) -> GoStruct:
    """``&dataInfo{...}``: what the templates see."""
    return GoStruct("*servicenow.dataInfo", {
        "ID": alert_id, "Name": name, "TaskName": task_name, "Fields": dict(fields or {}),
        "Tags": StringMap(tags or {})})


async def send(ctx, o: dict, a: AlertData) -> None:
    await alert(ctx, o.get("url", ""), a.id, a.message, a.level, o,
                data_info(a.id, a.name, a.task_name, a.fields, a.tags))


def test_options(cfg) -> dict:
    return {"alert_id": "1001", "message": "test servicenow message", "level": "CRITICAL",
            "source": "Kapacitor", "node": "", "type": "", "resource": "", "metric_name": "",
            "message_key": "", "additional_info": {}}


async def test(ctx, o: dict) -> None:
    hc = prepare({"source": o["source"], "Node": o["node"], "Type": o["type"],
                  "Resource": o["resource"], "MetricName": o["metric_name"],
                  "MessageKey": o["message_key"],
                  "additional_info": map_option("additional_info", o["additional_info"])})
    await alert(ctx, ctx.config().url, o["alert_id"], o["message"],
                level_option("level", o["level"]), hc,
                data_info(o["alert_id"], "", "", {}, {}))
