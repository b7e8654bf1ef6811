"""PagerDuty Events API v2 (upstream ``services/pagerduty2``)."""

from __future__ import annotations

from kapacitord_tw.alerts import options as opt
from kapacitord_tw.alerts.options import OptionsError
from kapacitord_tw.engine.alertdata import AlertData, Level
from kapacitord_tw.engine.gotemplate import TemplateError, parse
from kapacitord_tw.gocompat import parse_time
from kapacitord_tw.services.base import HandlerConfigError, ServiceError, encode, go_map, post
from kapacitord_tw.services.common import go_time, level_option, text


def _links(name, value):
    if not isinstance(value, list):
        raise opt._FieldError(f"'{name}': source data must be an array or slice, "
                              f"got {opt._reflect_kind(value)}")
    out = []
    for i, item in enumerate(value):
        if not isinstance(item, dict):
            raise opt._FieldError(f"'{name}[{i}]' expected a map, got "
                                  f"'{opt._reflect_kind(item)}'")
        try:
            out.append(opt.decode(item, {"href": opt.string, "text": opt.string}, ""))
        except OptionsError as e:
            raise opt._FieldError(str(e).split("\n\n", 1)[-1].lstrip("* ")) from None
    return out


NAME = "pagerduty2"
PROPERTY = "PagerDuty2Handlers"
OPTIONS_TYPE = "*pagerduty2.HandlerConfig"
OPTIONS = {"routing-key": opt.string, "links": _links}
PROPERTY_KEYS = {"RoutingKey": "routing-key", "Links": "links"}
_SEVERITY = {Level.WARNING: "warning", Level.CRITICAL: "critical", Level.INFO: "info"}


def from_property(spec: dict) -> dict:
    """A node's ``.link(href, text)`` entries arrive as ``{Href, Text}``."""
    out = {}
    if spec.get("RoutingKey"):
        out["routing-key"] = spec["RoutingKey"]
    if spec.get("Links"):
        out["links"] = [{"href": l.get("Href", ""), "text": l.get("Text", "")}
                        for l in spec["Links"]]
    return out


def prepare(options: dict) -> dict:
    """Parse each link's href and text templates once."""
    links = []
    for link in options.get("links") or ():
        try:
            href = parse(link.get("href", ""), "href")
            txt = parse(link["text"], "text") if link.get("text") else None
        except TemplateError as e:
            raise HandlerConfigError(str(e)) from None
        links.append((href, txt))
    return {**options, "_links": links}


def payload(c, routing_key, links, alert_id, desc, level, time_ns, task_name, tags,
            series, client_url) -> dict:
    severity = _SEVERITY.get(level, "info")
    action = "trigger" if level in _SEVERITY else "resolve"
    return {
        "routing_key": routing_key or c.routing_key,
        "event_action": action,
        "dedup_key": alert_id,
        "payload": {
            "summary": desc,
            "source": (tags or {}).get("host", "unknown"),
            "severity": severity,
            "timestamp": go_time(time_ns, "nano9"),
            "class": task_name,
            "component": "",
            "group": "",
            "custom_details": go_map({"result": {"series": series}}),
        },
        "images": None,
        "links": [{"href": h, "text": t} for h, t in links] if links else None,
        "client": "kapacitor",
        "client_url": client_url,
    }


async def alert(ctx, routing_key, links, alert_id, desc, level, time_ns, task_name, tags,
                series) -> None:
    c = ctx.config()
    if not c.enabled:
        raise ServiceError("service is not enabled")
    body = encode(payload(c, routing_key, links, alert_id, desc, level, time_ns, task_name,
                          tags, series, ctx.server_url))
    code, answer = await post(ctx, c.url, body, {
        "Content-Type": "application/json", "Accept": "application/vnd.pagerduty+json;version=2"})
    if code not in (200, 202):
        import json
        r = {"status": "", "message": f"failed to understand PagerDuty2 response. code: {code} "
                                      f"content: {text(answer)}", "errors": None}
        try:
            got = json.loads(answer)
            if isinstance(got, dict):
                r.update({k: got[k] for k in r if k in got})
        except ValueError:
            pass
        errs = "[" + " ".join(map(str, r["errors"] or [])) + "]"
        raise ServiceError(f"Status: {r['status']}, Message: {r['message']} Errors: {errs}")


async def send(ctx, o: dict, a: AlertData) -> None:
    td = a.event_template_value()
    links = []
    try:
        for href, txt in o.get("_links", ()):
            h = href.execute(td)
            links.append((h, txt.execute(td) if txt is not None else h))
    except TemplateError as e:
        raise ServiceError(f"failed to handle event: {e}") from None
    await alert(ctx, o.get("routing-key", ""), links, a.id, a.message, a.level, a.time,
                a.task_name, a.tags, a.series)


def test_options(cfg) -> dict:
    return {"alert_id": "testAlertID", "description": "test pagerduty2 message",
            "level": "CRITICAL",
            "event_data": {"Name": "testPagerDuty2", "TaskName": "", "Category": "",
                           "Group": "", "Tags": {}, "Fields": {}, "Recoverable": False,
                           "Result": {"series": None}},
            "timestamp": "2014-11-12T11:45:26.371Z",
            "links": [{"href": "https://example.com/a", "text": "a"},
                      {"href": "https://example.com/b", "text": "b"}]}


async def test(ctx, o: dict) -> None:
    data = o.get("event_data") or {}
    links = [(l.get("href", ""), l.get("text", "")) for l in o.get("links") or ()]
    try:
        t = parse_time(o["timestamp"])
    except Exception:
        raise ServiceError(f"parsing time {o['timestamp']!r}: invalid time") from None
    await alert(ctx, ctx.config().routing_key, links, o["alert_id"], o["description"],
                level_option("level", o["level"]), t, data.get("TaskName", ""),
                data.get("Tags") or {}, (data.get("Result") or {}).get("series"))
