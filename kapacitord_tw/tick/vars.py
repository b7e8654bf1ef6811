"""Template vars between the HTTP API's JSON shape and the evaluator.

The API shows a var as ``{"type": T, "value": V, "description": S}`` with
``T`` one of ``bool int float string regex duration lambda list star``;
durations are nanosecond integers, regexes their pattern, lambdas their
expression text, lists lists of var objects; a star declared in a script
(``var g = *``) is its JSON node ``{"typeOf": "star"}``, an unset or
caller-supplied one ``null``.

Kapacitor checks vars sent to it in three stages, each with its own
response, so this module exposes them separately:

1. JSON decoding (``client.Vars``) -- :class:`VarDecodeError`; the API
   answers ``invalid JSON``;
2. storing (``task_store.newVar``) -- :class:`TickVarError`, text
   ``invalid var <name>: <detail>``, sent as is;
3. compiling (lambda/regex parsing) -- :class:`VarScriptError`, text
   ``invalid var <name>: invalid lambda expression: ...``, sent after
   ``invalid TICKscript: `` once the script itself has been checked.

:func:`check_api_vars` runs stages 1-2, :func:`vars_from_api` all three.
"""

from kapacitord_tw.tick import syntax as ast
from kapacitord_tw.tick.durations import (
    Duration, InvalidDuration, parse_duration)
from kapacitord_tw.tick.errors import TickError, TickVarError
from kapacitord_tw.tick.evaluator import TickVar
from kapacitord_tw.tick.parser import parse_lambda
from kapacitord_tw.tick.regex import RegexError, compile_go_regex
from kapacitord_tw.tick.values import RegexValue, TypedNil

API_VAR_TYPES = ("bool", "int", "float", "string", "regex", "duration",
                 "lambda", "list", "star")


class VarDecodeError(TickVarError):
    """The vars do not decode (Kapacitor answers ``invalid JSON``)."""


class VarScriptError(TickVarError):
    """A lambda or regex var does not compile (an ``invalid TICKscript``)."""


class _Number:
    """A JSON number kept undecoded, as Go's ``json.Number`` (in lists)."""

    def __init__(self, value):
        self.value = value


def _go_type(value):
    if value is None:
        return "<nil>"
    if isinstance(value, _Number):
        return "json.Number"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dict):
        return "map[string]interface {}"
    if isinstance(value, list):
        return "[]interface {}"
    return type(value).__name__


def _decode(name, data):
    """Stage 1: (type, value, description) like ``client.Vars``."""
    if not isinstance(data, dict):
        raise VarDecodeError("invalid var %s: not an object" % name)
    vtype = data.get("type")
    if vtype not in API_VAR_TYPES:
        raise VarDecodeError("unknown VarType %s" % (vtype,))
    value = data.get("value")
    desc = data.get("description") or ""
    if not isinstance(desc, str):
        raise VarDecodeError("invalid var %s: bad description" % name)
    if value is None:
        return vtype, None, desc
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if vtype == "duration":
        if isinstance(value, int) and number:
            value = Duration(value)
        elif isinstance(value, str):
            try:
                value = Duration(parse_duration(value))
            except InvalidDuration as exc:
                raise VarDecodeError("invalid duration string for var %s: %s"
                                     % (name, exc))
        else:
            raise VarDecodeError("invalid var %s: expected int or string "
                                 "value" % name)
    elif vtype == "int":
        if not (number and isinstance(value, int)):
            raise VarDecodeError("invalid var %s: expected int value" % name)
    elif vtype == "float":
        if not number:
            raise VarDecodeError("invalid var %s: expected float value" % name)
        value = float(value)
    elif vtype == "list":
        if not isinstance(value, list):
            raise VarDecodeError("invalid var %s: expected list of vars"
                                 % name)
        items = []
        for item in value:
            if not isinstance(item, dict) or "type" not in item:
                raise VarDecodeError("invalid var %s: expected list of vars"
                                     % name)
            if item["type"] not in API_VAR_TYPES:
                raise VarDecodeError("unknown VarType %s" % (item["type"],))
            if "value" not in item:
                raise VarDecodeError("invalid var %s: expected list value key "
                                     "in object" % name)
            raw = item["value"]
            if isinstance(raw, (int, float)) and not isinstance(raw, bool):
                raw = _Number(raw)
            items.append((item["type"], raw, ""))
        value = items
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        value = _Number(value)
    return vtype, value, desc


def _store(vtype, value):
    """Stage 2: Kapacitor's ``newVar`` type checks; returns the value."""
    if vtype == "star":
        return None
    if isinstance(value, bool):
        actual = "bool"
    elif isinstance(value, Duration):
        actual = "duration"
    elif isinstance(value, int):
        actual = "int"
    elif isinstance(value, float):
        actual = "float"
    elif isinstance(value, str):
        if vtype not in ("lambda", "regex", "string"):
            raise ValueError("unexpected var type %s, value is a string"
                             % vtype)
        actual = vtype
    elif isinstance(value, list):
        value = [(t, _store(t, v), d) for t, v, d in value]
        actual = "list"
    else:
        raise ValueError("unsupported Var type %s." % _go_type(value))
    if actual != vtype:
        raise ValueError("mismatched type and value: %s %s"
                         % (_go_type_of_stored(value), vtype))
    return value


def _go_type_of_stored(value):
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, Duration):
        return "time.Duration"
    if isinstance(value, int):
        return "int64"
    if isinstance(value, float):
        return "float64"
    if isinstance(value, list):
        return "[]task_store.Var"
    return "string"


def check_api_vars(mapping):
    """Stages 1-2; returns ``{name: (type, value, description)}``."""
    decoded = {name: _decode(name, data)
               for name, data in (mapping or {}).items()}
    checked = {}
    for name, (vtype, value, desc) in decoded.items():
        try:
            checked[name] = (vtype, _store(vtype, value), desc)
        except ValueError as exc:
            err = TickVarError("invalid var %s: %s" % (name, exc))
            err.name, err.detail = name, str(exc)
            raise err from None
    return checked


def _to_tick(name, vtype, value, desc):
    """Stage 3: evaluator values (lambdas parsed, regexes compiled)."""
    if vtype == "star":
        return TickVar("star", ast.StarNode(), desc)
    if vtype == "lambda":
        try:
            value = parse_lambda(value)
        except TickError as exc:
            raise VarScriptError("invalid var %s: invalid lambda expression: "
                                 "%s" % (name, exc)) from None
    elif vtype == "regex":
        try:
            value = RegexValue(value, compile_go_regex(value))
        except RegexError as exc:
            raise VarScriptError("invalid var %s: invalid regex pattern: %s"
                                 % (name, exc)) from None
    elif vtype == "list":
        value = [_to_tick(name, t, v, d) for t, v, d in value]
    return TickVar("boolean" if vtype == "bool" else vtype, value, desc)


def vars_from_api(mapping):
    """All three stages: the API's ``vars`` object as evaluator vars."""
    return {name: _to_tick(name, *spec)
            for name, spec in check_api_vars(mapping).items()}


def var_from_api(name, data):
    return vars_from_api({name: data})[name]


def var_to_api(var):
    """Render an evaluator var the way ``GET /templates`` shows it."""
    vtype = "bool" if var.type == "boolean" else var.type
    value = var.value
    if isinstance(value, TypedNil):
        value = None
    elif isinstance(value, Duration):
        value = value.nanoseconds
    elif isinstance(value, RegexValue):
        value = value.pattern
    elif isinstance(value, ast.LambdaNode):
        value = value.expression_string()
    elif isinstance(value, ast.StarNode):
        # Go JSON-encodes the *ast.StarNode itself (StarNode.MarshalJSON).
        value = {"typeOf": "star"}
    elif vtype == "list" and value is not None:
        value = [var_to_api(item) for item in value]
    return {"type": vtype, "value": value, "description": var.description}


def vars_to_api(tick_vars):
    return {name: var_to_api(var) for name, var in tick_vars.items()}
