"""Small helpers the service modules share: list sections, levels, Go time formats."""

from __future__ import annotations

import datetime as _dt
import json

from kapacitord_tw.gocompat import json_kind
from kapacitord_tw.engine.alertdata import Level
from kapacitord_tw.services.base import ServiceError

_UTC = _dt.timezone.utc


def element(elements, key_attr: str, wanted: str, service: str):
    """The element of a list section named *wanted* ("" = the default one), as
    upstream's ``s.config(workspace)`` picks it."""
    elements = tuple(elements or ())
    if not elements:
        raise ServiceError(f"no {service} configuration found")
    if not wanted:
        if len(elements) == 1:
            return elements[0]
        for c in elements:
            if getattr(c, "default", False):
                return c
        raise ServiceError("workspace id not found")
    for c in elements:
        if getattr(c, key_attr) == wanted:
            return c
    raise ServiceError("workspace id not found")


def go_time(ns: int, layout: str) -> str:
    """``t.UTC().Format(layout)`` for the three layouts services use."""
    secs, frac = divmod(int(ns), 1_000_000_000)
    base = _dt.datetime.fromtimestamp(secs, _UTC).strftime("%Y-%m-%dT%H:%M:%S")
    if layout == "rfc3339":
        return base + "Z"
    if layout == "nano9":          # 2006-01-02T15:04:05.000000000Z07:00
        return f"{base}.{frac:09d}Z"
    raise AssertionError(layout)


def level_option(name: str, value) -> Level:
    """An ``alert.Level`` in test options (``"CRITICAL"``) as Go's UnmarshalText reads it."""
    if isinstance(value, Level):
        return value
    if not isinstance(value, str):
        raise ServiceError(f"json: cannot unmarshal {type(value).__name__} into Go struct "
                           f"field .{name} of type alert.Level")
    try:
        return Level.parse(value)
    except ValueError as e:
        raise ServiceError(str(e)) from None


def error_field(body: bytes, field: str, fallback: str) -> str:
    """``dec.Decode(&response{Field: fallback})``: the answer's *field* or *fallback*."""
    try:
        data = json.loads(body)
    except ValueError:
        return fallback
    if isinstance(data, dict) and isinstance(data.get(field), str):
        return data[field]
    return fallback


def text(body: bytes) -> str:
    return body.decode("utf-8", "replace")


# ---------------------------------------------------------------------------
# Helpers for services whose options hold Go ``interface{}`` values and
# templates parsed when an alert is sent (pagerduty ... zenoss).

def go_any(value):
    """A Go ``interface{}`` value as ``encoding/json`` writes it: maps get sorted keys,
    at every depth."""
    if isinstance(value, dict):
        return {k: go_any(value[k]) for k in sorted(value)}
    if isinstance(value, (list, tuple)):
        return [go_any(v) for v in value]
    if hasattr(value, "nanoseconds"):          # a TICKscript duration literal
        return int(value.nanoseconds)
    return value


def any_map(name: str, value) -> dict:
    """A ``map[string]interface{}`` option: any JSON object."""
    from kapacitord_tw.alerts import options as opt
    if not isinstance(value, dict):
        raise opt._FieldError(f"'{name}' expected a map, got '{opt._reflect_kind(value)}'")
    return dict(value)


def _int64():
    from kapacitord_tw.alerts import options as opt
    return opt._integer("int64", False)


int64 = _int64()


def cut_bytes(s: str, limit: int) -> str:
    """Go's ``text[:min(max, len(text))]`` on the UTF-8 bytes (a split rune becomes U+FFFD)."""
    b = s.encode("utf-8", "surrogatepass")
    if len(b) <= limit:
        return s
    return b[:limit].decode("utf-8", "replace")


class SendTemplate:
    """A ``text/template`` upstream parses when it sends (servicenow, bigpanda,
    zenoss): parsed once here, a parse error kept and raised at each send, as
    upstream's send fails; an execution error renders what upstream keeps, ""."""

    __slots__ = ("text", "template", "error")

    def __init__(self, text: str, name: str) -> None:
        from kapacitord_tw.engine.gotemplate import TemplateError, parse
        self.text, self.template, self.error = text, None, None
        if text:
            try:
                self.template = parse(text, name)
            except TemplateError as e:
                self.error = str(e)

    def render(self, data) -> str:
        from kapacitord_tw.engine.gotemplate import TemplateError
        if self.error is not None:
            raise ServiceError(self.error)
        if self.template is None:
            return ""
        try:
            return self.template.execute(data)
        except TemplateError:
            return ""


def list_option(name: str, value) -> list:
    """A ``[]string`` test option as ``encoding/json`` reads it (null is empty)."""
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ServiceError(f"json: cannot unmarshal {json_kind(value)} into Go struct field "
                           f"testOptions.{name} of type []string")
    return value


def map_option(name: str, value) -> dict:
    """A ``map[string]interface{}`` test option (null is empty)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ServiceError(f"json: cannot unmarshal {json_kind(value)} into Go struct field "
                           f"testOptions.{name} of type map[string]interface {{}}")
    return value


