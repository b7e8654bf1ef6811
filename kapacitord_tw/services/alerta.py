"""Alerta's ``/alert`` API (upstream ``services/alerta``)."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from kapacitord_tw.alerts import options as opt
from kapacitord_tw.engine.alertdata import AlertData, Level
from kapacitord_tw.engine.gotemplate import TemplateError, parse
from kapacitord_tw.engine.govalues import GoStruct, StringMap
from kapacitord_tw.gocompat import parse_duration, path_join
from kapacitord_tw.services.base import HandlerConfigError, ServiceError, encode, post
from kapacitord_tw.services.common import (
    any_map, error_field, go_any, list_option, map_option, text,
)

NAME = "alerta"
PROPERTY = "AlertaHandlers"
OPTIONS_TYPE = "*alerta.HandlerConfig"
OPTIONS = {"token": opt.string, "token-prefix": opt.string, "resource": opt.string,
           "event": opt.string, "environment": opt.string, "group": opt.string,
           "value": opt.string, "origin": opt.string, "service": opt.string_list,
           "correlate": opt.string_list, "attributes": any_map, "timeout": opt.duration}
PROPERTY_KEYS = {"Token": "token", "Resource": "resource", "Event": "event",
                 "Environment": "environment", "Group": "group", "Value": "value",
                 "Origin": "origin", "Service": "service", "Correlate": "correlate",
                 "Attributes": "attributes", "Timeout": "timeout"}

#: ``DefaultHandlerConfig()``: what a node or topic handler starts from
DEFAULTS = {"resource": "{{ .Name }}", "event": "{{ .ID }}", "group": "{{ .Group }}",
            "timeout": 24 * 3600 * 10**9}
_SEVERITY = {Level.OK: "ok", Level.INFO: "informational", Level.WARNING: "warning",
             Level.CRITICAL: "critical"}


def from_property(spec: dict) -> dict:
    """A node's ``.alerta()`` properties: only the set ones override the defaults."""
    out = {}
    for go, key in PROPERTY_KEYS.items():
        value = spec.get(go)
        if hasattr(value, "nanoseconds"):
            value = int(value.nanoseconds)
        if value not in (None, "", [], {}, 0):
            out[key] = value
    return out


def prepare(options: dict) -> dict:
    """Defaults under the given options, and every template parsed once (``Handler``)."""
    o = {**DEFAULTS, **options}
    try:
        o["_templates"] = {k: parse(o.get(k, ""), k)
                           for k in ("resource", "event", "environment", "group", "value")}
        o["_service"] = [parse(s, "service") for s in o.get("service") or ()]
        o["_correlate"] = [parse(s, "correlate") for s in o.get("correlate") or ()]
        o["_attributes"] = {k: parse(v, k) if isinstance(v, str) else v
                            for k, v in (o.get("attributes") or {}).items()}
    except TemplateError as e:
        raise HandlerConfigError(str(e)) from None
    return o


def body(c, resource, event, environment, severity, group, value, message, origin, service,
         correlate, attributes, timeout_ns, tags, series) -> dict:
    data = {"resource": resource, "event": event, "environment": environment or c.environment,
            "severity": severity, "group": group, "value": value, "text": message,
            "origin": origin or c.origin, "rawData": {"series": series},
            "timeout": int(timeout_ns / 10**9),
            # Go ranges over the tag map in random order; sorted here
            "tags": [f"{k}={tags[k]}" for k in sorted(tags or {})]}
    if service:
        data["service"] = list(service)
    if correlate:
        data["correlate"] = list(correlate)
    if attributes:
        data["attributes"] = go_any(attributes)
    return {k: data[k] for k in sorted(data)}


def alert_url(base: str) -> str:
    """``u.Path = path.Join(u.Path, "alert")``."""
    u = urlsplit(base)
    p = path_join(u.path, "alert")
    if u.netloc and not p.startswith("/"):
        p = "/" + p
    return urlunsplit(u._replace(path=p))


async def alert(ctx, token, token_prefix, resource, event, environment, severity, group, value,
                message, origin, service, correlate, attributes, timeout_ns, tags,
                series) -> None:
    if not resource or not event:
        raise ServiceError("Resource and Event are required to send an alert")
    c = ctx.config()
    if not c.enabled:
        raise ServiceError("service is not enabled")
    token = token or c.token
    token_prefix = token_prefix or c.token_prefix or "Bearer"
    try:
        url = alert_url(c.url)
    except ValueError:
        raise ServiceError("invalid url") from None
    data = body(c, resource, event, environment, severity, group, value, message, origin,
                service, correlate, attributes, timeout_ns, tags, series)
    code, answer = await post(ctx, url, encode(data), {
        "Authorization": f"{token_prefix} {token}", "Content-Type": "application/json"})
    if code != 201:
        raise ServiceError(error_field(answer, "message", (
            f"failed to understand Alerta response. code: {code} content: {text(answer)}")))


def _render(template, data, what: str) -> str:
    try:
        return template.execute(data)
    except TemplateError as e:
        raise ServiceError(f"failed to evaluate Alerta {what} template: {e}") from None


async def send(ctx, o: dict, a: AlertData) -> None:
    td = a.event_template_value()
    t = o["_templates"]
    resource = _render(t["resource"], td, "resource")
    event = _render(t["event"], GoStruct("alerta.eventData", {
        "ID": a.id, "Name": a.name, "TaskName": a.task_name, "Group": a.group,
        "Tags": StringMap(a.tags or {})}), "event")
    environment = _render(t["environment"], td, "environment")
    group = _render(t["group"], td, "group")
    value = _render(t["value"], td, "value")
    service = [_render(s, td, "service") for s in o["_service"]] or [a.name]
    correlate = [_render(s, td, "correlate") for s in o["_correlate"]] or [a.name]
    attributes = {k: _render(v, td, "attributes") if hasattr(v, "execute") else v
                  for k, v in o["_attributes"].items()}
    await alert(ctx, o.get("token", ""), o.get("token-prefix", ""), resource, event,
                environment, _SEVERITY.get(a.level, "indeterminate"), group, value, a.message,
                o.get("origin", ""), service, correlate, attributes, o.get("timeout", 0),
                a.tags, a.series)


def test_options(cfg) -> dict:
    return {"resource": "testResource", "event": "testEvent", "environment": cfg.environment,
            "severity": "critical", "group": "testGroup", "value": "testValue",
            "message": "test alerta message", "origin": cfg.origin,
            "service": ["testServiceA", "testServiceB"],
            "correlate": ["testServiceX", "testServiceY"],
            "attributes": {"testAttributeA": "A", "testAttributeB": True,
                           "testAttributeC": 9001.0},
            "timeout": "24h0m0s"}


async def test(ctx, o: dict) -> None:
    c = ctx.config()
    try:
        timeout = parse_duration(o["timeout"])
    except Exception:        # upstream ignores the error: a zero timeout
        timeout = 0
    await alert(ctx, c.token, c.token_prefix, o["resource"], o["event"], o["environment"],
                o["severity"], o["group"], o["value"], o["message"], o["origin"],
                list_option("service", o["service"]), list_option("correlate", o["correlate"]),
                map_option("attributes", o["attributes"]), timeout, {},
                None)
