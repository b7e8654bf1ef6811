"""Task vars: read from ``-vars``/``-file`` files, printed by ``show``.

A var is ``{"type": T, "value": V, "description": S}``. The original client
normalises values by type before sending them (a ``duration`` given as
``"1m"`` is sent as nanoseconds) and prints them by type (a duration of
60000000000 shows as ``1m0s``); both rules live here.
"""

from __future__ import annotations

import json

from .gofmt import DurationError, go_duration, go_float, go_value, parse_influxql_duration

__all__ = [
    "VarsError",
    "VAR_TYPES",
    "decode_vars",
    "decode_task_file",
    "format_var_value",
    "load_json",
]

VAR_TYPES = ("bool", "int", "float", "string", "regex", "duration", "lambda", "list", "star")


class VarsError(ValueError):
    """A vars document that the original client would refuse."""


def load_json(text: str) -> object:
    """Decode the first JSON value of ``text``, as Go's ``json.Decoder`` does."""
    try:
        value, _ = json.JSONDecoder().raw_decode(text.lstrip())
    except ValueError as exc:
        raise VarsError(str(exc)) from None
    return value


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _normalise(name: str, var: object) -> dict:
    if not isinstance(var, dict):
        raise VarsError("invalid var %s: expected an object" % name)
    if "type" not in var:
        raise VarsError("invalid var %s: missing type" % name)
    var_type = var["type"]
    if not isinstance(var_type, str) or var_type not in VAR_TYPES:
        raise VarsError("unknown VarType %s" % var_type)
    description = var.get("description", "")
    if description is None:
        description = ""
    if not isinstance(description, str):
        raise VarsError("invalid var %s: description must be a string" % name)
    value = var.get("value")
    if value is not None:
        value = _normalise_value(name, var_type, value)
    return {"type": var_type, "value": value, "description": description}


def _normalise_value(name: str, var_type: str, value: object) -> object:
    if var_type == "duration":
        if _is_number(value):
            if isinstance(value, float) and not value.is_integer():
                raise VarsError("invalid var %s: expected int or string value" % name)
            return int(value)
        if isinstance(value, str):
            try:
                return parse_influxql_duration(value)
            except DurationError as exc:
                raise VarsError("invalid duration string for var %s: %s" % (name, exc)) from None
        raise VarsError("invalid var %s: expected int or string value" % name)
    if var_type == "int":
        if not _is_number(value) or (isinstance(value, float) and not value.is_integer()):
            raise VarsError("invalid var %s: expected int value" % name)
        return int(value)
    if var_type == "float":
        if not _is_number(value):
            raise VarsError("invalid var %s: expected float value" % name)
        return float(value)
    if var_type == "list":
        if not isinstance(value, list):
            raise VarsError("invalid var %s: expected list of vars" % name)
        items = []
        for item in value:
            if not isinstance(item, dict):
                raise VarsError("invalid var %s: expected list of vars" % name)
            if "type" not in item:
                raise VarsError("invalid var %s: expected list type key in object" % name)
            if not isinstance(item["type"], str) or item["type"] not in VAR_TYPES:
                raise VarsError("unknown VarType %s" % item["type"])
            if "value" not in item:
                raise VarsError("invalid var %s: expected list value key in object" % name)
            items.append({"type": item["type"], "value": item["value"], "description": ""})
        return items
    return value


def decode_vars(document: object) -> dict:
    """A ``{name: var}`` object, normalised; names sorted as Go encodes maps."""
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise VarsError("vars must be a JSON object of name to var")
    return {name: _normalise(name, document[name]) for name in sorted(document)}


def decode_task_file(document: object) -> dict:
    """A task file (``id``, ``template-id``, ``dbrps``, ``vars``) as option fields."""
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise VarsError("the task file must hold an object")
    options = {}
    for key in ("id", "template-id"):
        value = document.get(key)
        if value is not None and not isinstance(value, str):
            raise VarsError("%s must be a string" % key)
        if value:
            options[key] = value
    dbrps = document.get("dbrps")
    if dbrps:
        if not isinstance(dbrps, list) or not all(isinstance(d, dict) for d in dbrps):
            raise VarsError("dbrps must be a list of {\"db\", \"rp\"} objects")
        options["dbrps"] = [{"db": str(d.get("db", "")), "rp": str(d.get("rp", ""))} for d in dbrps]
    variables = decode_vars(document.get("vars"))
    if variables:
        options["vars"] = variables
    return options


def format_var_value(var: dict, required_text: str | None = None) -> str:
    """Print a var's value the way the original ``show``/``show-template`` do."""
    value = var.get("value")
    var_type = var.get("type")
    if value is None:
        return required_text if required_text is not None else "<nil>"
    if var_type == "list":
        return _list_text(var)
    if var_type == "duration" and _is_number(value):
        return go_duration(int(value))
    if var_type == "float" and _is_number(value):
        return go_float(float(value))
    return go_value(value)


class ListVarError(ValueError):
    """A list var holding something other than strings or a star, which the
    original's ``show`` cannot print (it reports ``invalid var x: ...``)."""


def _list_text(var: dict) -> str:
    parts = []
    for item in var.get("value") or []:
        item_type = item.get("type") if isinstance(item, dict) else None
        if item_type == "string":
            if not isinstance(item.get("value"), str):
                raise ListVarError("non string value in string var")
            parts.append(item["value"])
        elif item_type == "star":
            parts.append("*")
        else:
            raise ListVarError(
                "lists can only contain strings or a star, got %s" % item_type
            )
    return "[" + ", ".join(parts) + "]"
