"""Run-time values of the TICKscript evaluator and their Go type names.

Scalars are plain Python values (``int`` is Go's int64, ``float`` float64);
durations, regexes, pipeline objects and the odd Go-only values get small
wrapper classes so error messages can name the Go type Kapacitor names.
"""

import datetime
import re

import attr

from kapacitord_tw.tick import syntax as ast
from kapacitord_tw.tick.durations import Duration


@attr.s(frozen=True, slots=True)
class RegexValue:
    """A compiled Go regexp (``*regexp.Regexp``)."""

    pattern = attr.ib()
    compiled = attr.ib(eq=False, repr=False)


@attr.s(frozen=True, slots=True)
class TimeDimension:
    """What ``time(10s)`` returns inside ``groupBy``."""

    length = attr.ib()
    offset = attr.ib(default=Duration(0))


@attr.s(frozen=True, slots=True)
class TypedNil:
    """A Go typed nil, e.g. the zero value of an unset ``lambda`` var."""

    go_type = attr.ib()


@attr.s(frozen=True, slots=True)
class Opaque:
    """A Go value TICKscript can pass around but not use (``pipeline.ID``)."""

    go_type = attr.ib()
    value = attr.ib(default=None)


@attr.s(frozen=True, slots=True, eq=False)
class GoObject:
    """A view of a pipeline node as a particular Go type.

    Property methods may return another type around the same node
    (``*pipeline.AlertNodeData``, ``*pipeline.EmailHandler``); ``handler``
    is the handler record an alert handler view edits.
    """

    type_name = attr.ib()
    node = attr.ib()
    handler = attr.ib(default=None)


class Missing:
    """Kapacitor's ``*ast.Missing``: a field or tag absent from a point."""

    def __repr__(self):
        return "MISSING"


MISSING = Missing()


class UnboundFunc:
    """A function call waiting for its receiver (Kapacitor's unboundFunc)."""

    def __init__(self, call):
        self.call = call


# Value types (ast.ValueType) with Kapacitor's display names.
T_FLOAT = "float"
T_INT = "int"
T_STRING = "string"
T_BOOL = "boolean"
T_REGEX = "regex"
T_DURATION = "duration"
T_LAMBDA = "lambda"
T_LIST = "list"
T_STAR = "star"
T_TIME = "time"
T_MISSING = "missing"
T_INVALID = "invalid type"

_TYPED_NIL_VALUE_TYPES = {
    "*regexp.Regexp": T_REGEX,
    "*ast.LambdaNode": T_LAMBDA,
    "[]interface {}": T_LIST,
    "*ast.StarNode": T_STAR,
}


def value_type(value):
    """Kapacitor's ``ast.TypeOf``."""
    if isinstance(value, bool):
        return T_BOOL
    if isinstance(value, int):
        return T_INT
    if isinstance(value, float):
        return T_FLOAT
    if isinstance(value, str):
        return T_STRING
    if isinstance(value, RegexValue):
        return T_REGEX
    if isinstance(value, Duration):
        return T_DURATION
    if isinstance(value, ast.LambdaNode):
        return T_LAMBDA
    if isinstance(value, list):
        return T_LIST
    if isinstance(value, ast.StarNode):
        return T_STAR
    if isinstance(value, TypedNil):
        return _TYPED_NIL_VALUE_TYPES.get(value.go_type, T_INVALID)
    if isinstance(value, datetime.datetime):
        return T_TIME
    if isinstance(value, Missing):
        return T_MISSING
    return T_INVALID


def zero_value(vtype):
    """Kapacitor's ``ast.ZeroValue`` for a declared-but-unset template var."""
    return {
        T_FLOAT: 0.0,
        T_INT: 0,
        T_STRING: "",
        T_BOOL: False,
        T_DURATION: Duration(0),
        T_REGEX: TypedNil("*regexp.Regexp"),
        T_LAMBDA: TypedNil("*ast.LambdaNode"),
        # Go's nil slice and nil *StarNode behave like these everywhere the
        # evaluator looks at them (spread as no args, group by '*').
        T_LIST: [],
        T_STAR: ast.StarNode(),
    }[vtype]


def go_type_of(value):
    """The Go dynamic type name Kapacitor's ``%T`` would print."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int64"
    if isinstance(value, float):
        return "float64"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Duration):
        return "time.Duration"
    if isinstance(value, RegexValue):
        return "*regexp.Regexp"
    if isinstance(value, list):
        return "[]interface {}"
    if isinstance(value, GoObject):
        return "*pipeline." + value.type_name
    if isinstance(value, TimeDimension):
        return "kapacitor.TimeDimension"
    if isinstance(value, (TypedNil, Opaque)):
        return value.go_type
    if isinstance(value, UnboundFunc):
        return "tick.unboundFunc"
    if isinstance(value, datetime.datetime):
        return "time.Time"
    if isinstance(value, Missing):
        return "*ast.Missing"
    return "*ast." + type(value).__name__


_BARE = re.compile(r"(?<![\w.])([A-Z]\w*)")


def display_go_type(go_type):
    """Qualify a catalog type the way reflect prints it."""
    text = go_type.replace("interface{}", "interface {}")
    return _BARE.sub(r"pipeline.\1", text)


def assignable(value, go_type):
    """Go assignability of ``value`` to a parameter/field of ``go_type``."""
    if go_type == "interface{}":
        return True
    if go_type == "Node":
        from kapacitord_tw.tick.catalog import NODE_INTERFACE_TYPES
        return (isinstance(value, GoObject)
                and value.type_name in NODE_INTERFACE_TYPES)
    return go_type_of(value) == display_go_type(go_type)
