"""Go formatting rules the original ``kapacitor`` CLI's output depends on.

The original prints with Go's ``fmt`` and ``time`` packages; users (and their
scripts) see those exact spellings, so the few rules we need live here:
``%q`` quoting, ``%v`` of floats and durations, ``time.RFC822`` and the way a
slice of database/retention-policy pairs prints.  ``%q`` quoting and
durations are the server's own (:mod:`kapacitord_tw.gocompat`), re-exported.
"""

from __future__ import annotations

import datetime
import json
import re

from kapacitord_tw.gocompat import format_duration as go_duration
from kapacitord_tw.gocompat import format_float_v as go_float
from kapacitord_tw.gocompat import go_quote

__all__ = [
    "go_quote",
    "go_float",
    "go_duration",
    "go_value",
    "rfc822",
    "rfc822_local",
    "rfc3339_sort_key",
    "dbrps_text",
    "go_json",
    "parse_influxql_duration",
    "DurationError",
]


class DurationError(ValueError):
    """An InfluxQL duration literal that does not parse."""


_DURATION_UNITS = {
    "ns": 1,
    "u": 1_000,
    "µ": 1_000,
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60 * 1_000_000_000,
    "h": 3600 * 1_000_000_000,
    "d": 86400 * 1_000_000_000,
    "w": 7 * 86400 * 1_000_000_000,
}
_DURATION_PART = re.compile(r"([0-9]+)(ns|ms|u|µ|s|m|h|d|w)")


def parse_influxql_duration(text: str) -> int:
    """Parse an InfluxQL duration (``10s``, ``1h30m``, ``-5m``) into nanoseconds.

    Vars files accept these as string values of ``duration`` vars.
    """
    body = text[1:] if text.startswith("-") else text
    if not body:
        raise DurationError("invalid duration")
    total = 0
    pos = 0
    while pos < len(body):
        match = _DURATION_PART.match(body, pos)
        if match is None:
            raise DurationError("invalid duration")
        total += int(match.group(1)) * _DURATION_UNITS[match.group(2)]
        pos = match.end()
    if total >= 2**63:
        raise DurationError(
            "overflowed duration %s: choose a smaller duration or INF" % text
        )
    return -total if text.startswith("-") else total


def go_value(value: object) -> str:
    """Format a decoded JSON scalar like Go's ``%v``."""
    if value is None:
        return "<nil>"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, float):
        return go_float(value)
    return str(value)


_TIME_RE = re.compile(
    r"^(-?\d{4,})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?"
    r"(?:([Zz])|([+-])(\d{2}):(\d{2}))$"
)


def rfc822(stamp: str | None) -> str:
    """Render an RFC 3339 time the way Go's ``t.Format(time.RFC822)`` does.

    Go keeps the zone of the parsed text: ``Z`` prints ``UTC``; an offset that
    equals the local zone's prints the local abbreviation; any other offset
    prints as ``+hhmm``. A missing time is Go's zero time.
    """
    match = _TIME_RE.match(stamp or "0001-01-01T00:00:00Z")
    if match is None:
        return stamp or ""
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    naive = datetime.datetime(year, month, day, hour, minute, second)
    if match.group(8):
        zone = "UTC"
    else:
        offset_minutes = int(match.group(10)) * 60 + int(match.group(11))
        if match.group(9) == "-":
            offset_minutes = -offset_minutes
        zone = _zone_name(naive, offset_minutes)
    return "%02d %s %02d %02d:%02d %s" % (
        day,
        naive.strftime("%b"),
        year % 100,
        hour,
        minute,
        zone,
    )


def rfc3339_sort_key(stamp: object) -> tuple:
    """A key ordering RFC 3339 stamps by instant (unparsable ones first)."""
    match = _TIME_RE.match(stamp) if isinstance(stamp, str) else None
    if match is None:
        return (0, datetime.datetime.min, 0)
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    offset = datetime.timedelta(0)
    if not match.group(8):
        offset = datetime.timedelta(hours=int(match.group(10)), minutes=int(match.group(11)))
        if match.group(9) == "-":
            offset = -offset
    try:
        instant = datetime.datetime(year, month, day, hour, minute, second) - offset
    except (OverflowError, ValueError):
        return (0, datetime.datetime.min, 0)
    nanos = int((match.group(7) or "0").ljust(9, "0")[:9])
    return (1, instant, nanos)


def rfc822_local(stamp: str | None) -> str:
    """``t.Local().Format(time.RFC822)``: the time in this machine's zone."""
    match = _TIME_RE.match(stamp or "")
    if match is None:
        return rfc822(stamp)
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    if match.group(8):
        offset = datetime.timedelta(0)
    else:
        offset = datetime.timedelta(hours=int(match.group(10)), minutes=int(match.group(11)))
        if match.group(9) == "-":
            offset = -offset
    try:
        local = datetime.datetime(
            year, month, day, hour, minute, second, tzinfo=datetime.timezone(offset)
        ).astimezone()
    except (OverflowError, ValueError, OSError):
        return rfc822(stamp)
    offset_minutes = int(local.utcoffset().total_seconds() // 60)
    zone = local.tzname() or _zone_name(local.replace(tzinfo=None), offset_minutes)
    return "%02d %s %02d %02d:%02d %s" % (
        local.day, local.strftime("%b"), local.year % 100, local.hour, local.minute, zone
    )


def _zone_name(naive: datetime.datetime, offset_minutes: int) -> str:
    offset = datetime.timedelta(minutes=offset_minutes)
    try:
        aware = naive.replace(tzinfo=datetime.timezone(offset))
        local = aware.astimezone()
        if local.utcoffset() == offset and local.tzname():
            return local.tzname()
    except (OverflowError, ValueError, OSError):
        pass
    sign = "-" if offset_minutes < 0 else "+"
    minutes = abs(offset_minutes)
    return "%s%02d%02d" % (sign, minutes // 60, minutes % 60)


def dbrps_text(dbrps: list[dict] | None) -> str:
    """Print a list of dbrps like Go's ``%s`` of ``[]client.DBRP``."""
    parts = [
        "%s.%s" % (go_quote(str(d.get("db", ""))), go_quote(str(d.get("rp", ""))))
        for d in dbrps or []
    ]
    return "[" + " ".join(parts) + "]"


def _go_numbers(value: object) -> object:
    """Whole floats as ints: Go prints the float64 ``10.0`` as ``10``."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return int(value)
    if isinstance(value, dict):
        return {k: _go_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_go_numbers(v) for v in value]
    return value


def go_json(value: object, sort_keys: bool = False) -> str:
    """Compact JSON as Go's ``encoding/json`` writes it (HTML characters escaped).

    ``sort_keys`` is for values Go holds as maps (it sorts their keys).
    """
    text = json.dumps(
        _go_numbers(value), ensure_ascii=False, separators=(",", ":"), sort_keys=sort_keys
    )
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )
