"""httpPost to a named ``[[httppost]]`` endpoint or a URL (upstream ``services/httppost``).

An endpoint brings its URL template, headers (added), basic auth and an
optional alert template (then no ``Content-Type`` is set); the handler's own
headers are set last.  Without a known endpoint the handler's ``url`` is used.
"""

from __future__ import annotations

import base64

import attr

from kapacitord_tw.alerts import options as opt
from kapacitord_tw.engine.alertdata import AlertData
from kapacitord_tw.engine.gotemplate import JSON_FUNCS, TemplateError, parse
from kapacitord_tw.engine.handlers import _canonical_header
from kapacitord_tw.gocompat import ZERO_TIME_NS
from kapacitord_tw.services.base import HandlerConfigError, ServiceError, post
from kapacitord_tw.services.common import text

NAME = "httppost"
PROPERTY = "HTTPPostHandlers"
OPTIONS_TYPE = "*httppost.HandlerConfig"
OPTIONS = {"url": opt.string, "endpoint": opt.string, "headers": opt.string_map,
           "capture-response": opt.boolean, "timeout": opt.duration,
           "skip-ssl-verification": opt.boolean}
PROPERTY_KEYS = {"URL": "url", "Endpoint": "endpoint", "Headers": "headers",
                 "CaptureResponseFlag": "capture-response", "Timeout": "timeout",
                 "SkipSSLVerificationFlag": "skip-ssl-verification"}


def _endpoint(cfg, name: str):
    for e in tuple(cfg or ()):
        if e.endpoint == name:
            return e
    return None


def _template(source: str, name: str):
    try:
        return parse(source, name, funcs=JSON_FUNCS)
    except TemplateError as e:
        raise HandlerConfigError(str(e)) from None


def prepare(options: dict, cfg) -> dict:
    """Refuse what upstream's ``Handler`` refuses when the endpoint is unknown."""
    if _endpoint(cfg, options.get("endpoint", "")) is None:
        if not options.get("url"):
            raise HandlerConfigError("An appropriately formatted url must be specified "
                                     "if an endpoint is not specified")
        return {**options, "_url": _template(options["url"], "")}
    return options


def _alert_template(e):
    if e.alert_template:
        return e.alert_template
    if e.alert_template_file:
        with open(e.alert_template_file, encoding="utf-8") as f:   # small, operator's file
            return f.read()
    return None


async def deliver(ctx, o: dict, a: AlertData) -> None:
    e = _endpoint(ctx.config(), o.get("endpoint", ""))
    headers = {}
    if e is not None:
        url_tmpl = _template(e.url, "")
        for k, v in e.headers.items():
            headers.setdefault(_canonical_header(k), v)
        source = _alert_template(e)
        auth = e.basic_auth
    else:
        url_tmpl = o.get("_url") or _template(o.get("url", ""), "")
        source, auth = None, None
    if source is not None:
        try:
            body = _template(source, "alert").execute(a.template_value()).encode("utf-8")
        except (TemplateError, HandlerConfigError) as err:
            raise ServiceError(f"failed to execute alert template: {err}") from None
    else:
        body = a.encode()
    try:
        url = url_tmpl.execute(a.template_value())
    except TemplateError as err:
        raise ServiceError(f"failed to create HTTP request: failed to execute url "
                           f"template: {err}") from None
    if auth is not None and auth.valid():
        token = base64.b64encode(f"{auth.username}:{auth.password}".encode()).decode()
        headers["Authorization"] = "Basic " + token
    for k, v in (o.get("headers") or {}).items():
        headers[_canonical_header(k)] = v
    if source is None:
        headers["Content-Type"] = "application/json"
    timeout = o.get("timeout", 0) / 1e9
    if timeout > 0:
        ctx = attr.evolve(ctx, timeout=timeout)
    code, answer = await post(ctx, url, body, headers)
    if code // 100 != 2:
        detail = text(answer) if o.get("capture-response") else (
            "unknown error, use .captureResponse() to capture the HTTP response")
        raise ServiceError(f"POST returned non 2xx status code {code}: {detail}")


send = deliver


def test_options(cfg) -> dict:
    return {"endpoint": "example", "url": "http://localhost:3000/",
            "headers": {"Auth": "secret"}, "timeout": 0}


async def test(ctx, o: dict) -> None:
    empty = AlertData(id="", message="", details="", time=ZERO_TIME_NS)
    try:
        tmpl = parse(o.get("url", ""), "", funcs=JSON_FUNCS)
        url = tmpl.execute(empty.template_value())
    except TemplateError as e:
        raise ServiceError(str(e)) from None
    headers = {_canonical_header(k): v for k, v in (o.get("headers") or {}).items()}
    headers["Content-Type"] = "application/json"
    try:
        await post(ctx, url, empty.encode(), headers)
    except ServiceError as e:
        raise ServiceError(f"failed to POST alert data: {e}") from None
