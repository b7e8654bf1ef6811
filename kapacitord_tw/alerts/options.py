"""Handler ``options`` decoded the way Kapacitor's ``mapstructure`` does it.

Kapacitor decodes a handler spec's ``options`` map into the kind's config
struct with ``ErrorUnused``: unknown keys, and values of the wrong JSON type,
are refused with mapstructure's own words, wrapped as ``failed to decode
options into *<package>.<Config>: N error(s) decoding:\\n\\n* ...``.  Keys
match the tag exactly or, failing that, case-insensitively.  JSON numbers are
Go ``float64``s, which decode into integer fields by truncation.
"""

from __future__ import annotations

import math
from typing import Callable, Dict, Mapping, Optional

from kapacitord_tw.gocompat import format_float_v, json_go_type


class OptionsError(ValueError):
    """Options that do not decode into the kind's config (Kapacitor's text)."""


#: The Go type a JSON value decodes to inside ``map[string]interface{}``.
go_kind = json_go_type


def _reflect_kind(value) -> str:
    return {"[]interface {}": "slice", "map[string]interface {}": "map"}.get(
        go_kind(value), go_kind(value))


def go_v(value) -> str:
    """``fmt.Sprintf("%v", value)`` for JSON values."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return format_float_v(float(value))
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "[" + " ".join(go_v(v) for v in value) + "]"
    return "map[" + " ".join(f"{k}:{go_v(value[k])}" for k in sorted(value)) + "]"


def _unconvertible(name: str, go_type: str, value) -> str:
    return (f"'{name}' expected type '{go_type}', got unconvertible type "
            f"'{go_kind(value)}', value: '{go_v(value)}'")


# Field decoders: (name, value) -> decoded value, or raise _FieldError.

class _FieldError(Exception):
    pass


def string(name: str, value) -> str:
    if not isinstance(value, str):
        raise _FieldError(_unconvertible(name, "string", value))
    return value


def boolean(name: str, value) -> bool:
    if not isinstance(value, bool):
        raise _FieldError(_unconvertible(name, "bool", value))
    return value


def _integer(go_type: str, unsigned: bool) -> Callable:
    def decode(name: str, value) -> int:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _FieldError(_unconvertible(name, go_type, value))
        if isinstance(value, float) and not math.isfinite(value):
            raise _FieldError(_unconvertible(name, go_type, value))
        if unsigned and value < 0:
            raise _FieldError(f"cannot parse '{name}', {float(value):f} overflows uint")
        return int(value)
    return decode


#: ``time.Duration`` (nanoseconds), ``os.FileMode`` and ``int`` fields.
duration = _integer("time.Duration", False)
file_mode = _integer("fs.FileMode", True)
integer = _integer("int", False)


def string_list(name: str, value) -> list:
    if not isinstance(value, list):
        raise _FieldError(f"'{name}': source data must be an array or slice, "
                          f"got {_reflect_kind(value)}")
    out, errors = [], []
    for i, item in enumerate(value):
        try:
            out.append(string(f"{name}[{i}]", item))
        except _FieldError as e:
            errors.append(str(e))
    if errors:
        raise _FieldErrors(errors)
    return out


def string_map(name: str, value) -> dict:
    if not isinstance(value, dict):
        raise _FieldError(f"'{name}' expected a map, got '{_reflect_kind(value)}'")
    out, errors = {}, []
    for key, item in value.items():
        try:
            out[key] = string(f"{name}[{key}]", item)
        except _FieldError as e:
            errors.append(str(e))
    if errors:
        raise _FieldErrors(errors)
    return out


class _FieldErrors(_FieldError):
    def __init__(self, errors):
        super().__init__("\n".join(errors))
        self.errors = errors


def decode(options: Optional[Mapping], fields: Dict[str, Callable], type_name: str) -> dict:
    """``decodeOptions(options, &c)``: ``{tag: value}`` for the keys present.

    *fields* maps each ``mapstructure`` tag to its decoder; *type_name* is
    Go's ``%T`` of the config pointer (``*alert.LogHandlerConfig``).
    """
    if not options:
        return {}
    errors = []
    result = {}
    unused = set(options)
    for tag, decoder in fields.items():
        key = tag if tag in options else next(
            (k for k in options if k.lower() == tag.lower()), None)
        if key is None:
            continue
        unused.discard(key)
        value = options[key]
        if value is None:
            continue
        try:
            result[tag] = decoder(tag, value)
        except _FieldErrors as e:
            errors.extend(e.errors)
        except _FieldError as e:
            errors.append(str(e))
    if unused:
        errors.append(f"'' has invalid keys: {', '.join(sorted(unused))}")
    if errors:
        points = sorted(f"* {e}" for e in errors)
        raise OptionsError(f"failed to decode options into {type_name}: "
                           f"{len(errors)} error(s) decoding:\n\n" + "\n".join(points))
    return result
