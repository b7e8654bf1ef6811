"""Go values for templates: maps, structs, ``time.Time`` and ``time.Duration`` that print the Go way.

Kapacitor hands Go ``text/template`` typed data (structs with Go field
names, ``map[string]string`` tags, ``map[string]interface{}`` fields, times
and durations).  Templates print them with ``fmt``'s ``%v`` and compare them
by Go kind, so the Python stand-ins carry exactly that much type:

* ``dict`` is a ``map[string]interface {}`` (a missing key is nil);
* :class:`StringMap` is a ``map[string]string`` (``index`` of a missing key is "");
* :class:`GoStruct` is a struct with exported Go field names (embedded structs promote);
* :class:`GoTime` / :class:`GoDuration` are ``time.Time`` / ``time.Duration``;
* ``None`` is nil, ``list`` is ``[]interface {}``, and str/int/float/bool are themselves.
"""

from __future__ import annotations

import datetime as _dt

import attr

from kapacitord_tw.gocompat import format_duration, format_float_v, format_time

__all__ = [
    "GoDuration", "GoStruct", "GoTime", "StringMap", "go_json_value", "go_sprint",
    "go_type_name",
]

SECOND = 1_000_000_000
_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)


class StringMap(dict):
    """A Go ``map[string]string``: its zero element is ``""``, not nil."""

    __slots__ = ()


class GoDuration(int):
    """A Go ``time.Duration`` (int64 nanoseconds) whose ``%v`` is ``1m30s``."""

    __slots__ = ()
    go_stringer = True   # fmt calls String() for %v/%s

    def __str__(self) -> str:
        return format_duration(int(self))

    def __repr__(self) -> str:
        return f"GoDuration({int(self)})"


@attr.s(frozen=True, slots=True, eq=True)
class GoTime:
    """A Go ``time.Time``: nanoseconds since the epoch in a fixed zone (UTC by default).

    Kapacitor's point times are UTC, so that is the only zone that matters
    for alerts; ``offset``/``zone`` exist so a fixed zone prints like Go's.
    """

    go_stringer = True

    ns: int = attr.ib()
    offset: int = attr.ib(default=0)   # seconds east of UTC
    zone: str = attr.ib(default="UTC")

    def _wall(self) -> tuple[_dt.datetime, int]:
        secs, nanos = divmod(self.ns + self.offset * SECOND, SECOND)
        return _EPOCH.replace(tzinfo=None) + _dt.timedelta(seconds=secs), nanos

    def format(self, layout: str) -> str:
        """Go's ``Time.Format(layout)``."""
        from kapacitord_tw.engine.golayout import format_layout
        wall, nanos = self._wall()
        return format_layout(layout, wall, nanos, self.offset, self.zone)

    def __str__(self) -> str:
        return self.format("2006-01-02 15:04:05.999999999 -0700 MST")

    def rfc3339(self) -> str:
        """``encoding/json``'s spelling (RFC 3339 with nanoseconds)."""
        return format_time(self.ns, _dt.timezone(_dt.timedelta(seconds=self.offset)))


class GoStruct:
    """A Go struct value: ordered exported fields, some of them embedded structs.

    ``embedded`` names fields whose struct value is embedded: their fields are
    promoted for ``.Field`` lookup and flattened into the JSON object, as Go does.
    """

    __slots__ = ("type_name", "fields", "embedded")

    def __init__(self, type_name: str, fields: dict, embedded: tuple[str, ...] = ()) -> None:
        self.type_name = type_name
        self.fields = fields
        self.embedded = embedded

    _MISSING = object()

    def lookup(self, name: str):
        """The field *name*, searching embedded structs; ``GoStruct._MISSING`` if absent."""
        if name in self.fields and name not in self.embedded:
            return self.fields[name]
        for emb in self.embedded:
            found = self.fields[emb].lookup(name)
            if found is not GoStruct._MISSING:
                return found
        return GoStruct._MISSING

    def __eq__(self, other) -> bool:
        return (isinstance(other, GoStruct) and other.type_name == self.type_name
                and other.fields == self.fields)

    def __hash__(self) -> int:
        return hash(self.type_name)

    def __repr__(self) -> str:
        return f"GoStruct({self.type_name!r}, {self.fields!r})"


def go_type_name(v) -> str:
    """The Go type a value stands for, as ``reflect.Type.String()`` spells it."""
    if v is None:
        return "<nil>"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, GoDuration):
        return "time.Duration"
    if isinstance(v, int):
        return "int"
    if isinstance(v, float):
        return "float64"
    if isinstance(v, str):
        return "string"
    if isinstance(v, StringMap):
        return "map[string]string"
    if isinstance(v, dict):
        return "map[string]interface {}"
    if isinstance(v, (list, tuple)):
        return "[]interface {}"
    if isinstance(v, GoTime):
        return "time.Time"
    if isinstance(v, GoStruct):
        return v.type_name
    if callable(v):
        return "func"
    return type(v).__name__


def _sorted_items(m: dict):
    # fmt and encoding/json both sort string keys bytewise; code-point order is the same.
    return sorted(m.items(), key=lambda kv: kv[0])


def go_sprint(v, plus: bool = False) -> str:
    """``fmt.Sprint(v)`` (``%v``; ``%+v`` names struct fields)."""
    if v is None:
        return "<nil>"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, str):
        return v
    if isinstance(v, (GoDuration, GoTime)):
        return str(v)
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return format_float_v(v)
    if isinstance(v, dict):
        return "map[" + " ".join(
            f"{go_sprint(k, plus)}:{go_sprint(x, plus)}" for k, x in _sorted_items(v)) + "]"
    if isinstance(v, (list, tuple)):
        return "[" + " ".join(go_sprint(x, plus) for x in v) + "]"
    if isinstance(v, GoStruct):
        if plus:
            return "{" + " ".join(f"{k}:{go_sprint(x, plus)}" for k, x in v.fields.items()) + "}"
        return "{" + " ".join(go_sprint(x, plus) for x in v.fields.values()) + "}"
    if isinstance(v, (bytes, bytearray)):
        return "[" + " ".join(str(b) for b in v) + "]"
    return str(v)


def go_json_value(v):
    """*v* turned into what :func:`kapacitord_tw.gocompat.json_dumps` writes as Go would.

    Maps get sorted keys, structs keep field order with embedded fields
    flattened, times become RFC 3339 strings and durations integers.
    """
    if isinstance(v, GoTime):
        return v.rfc3339()
    if isinstance(v, GoDuration):
        return int(v)
    if hasattr(type(v), "go_json"):
        return v.go_json()
    if isinstance(v, GoStruct):
        out: dict = {}
        _flatten_struct(v, out)
        return out
    if isinstance(v, dict):
        return {k: go_json_value(x) for k, x in _sorted_items(v)}
    if isinstance(v, (list, tuple)):
        return [go_json_value(x) for x in v]
    return v


def _flatten_struct(s: GoStruct, out: dict) -> None:
    for name, value in s.fields.items():
        if name in s.embedded:
            _flatten_struct(value, out)
        elif name not in out:
            out[name] = go_json_value(value)
