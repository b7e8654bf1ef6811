"""
Request bodies decoded the way Go's ``encoding/json`` decodes them into a
struct (reference §1.8): first value only, unknown keys ignored, keys
matched case-insensitively (exact match preferred, last one wins), ``null``
leaves a field unset, and a wrong type or an unknown enumerated string is a
decoding error (the handler's "invalid JSON").  Nesting too deep for Python's
recursive decoder is a decoding error too (Go's ``exceeded max depth``),
never a ``RecursionError`` that would escape as a 500.
"""

from __future__ import annotations

import json
from typing import Callable, Dict, Optional


class _Object(list):
    """A JSON object as its ordered (key, value) pairs."""


def _no_constants(name: str):
    """Go's decoder has no ``NaN``/``Infinity`` literals; Python's does."""
    raise BodyError(f"invalid character {name[0]!r} looking for beginning of value")


_DECODER = json.JSONDecoder(object_pairs_hook=_Object, parse_constant=_no_constants)
_WHITESPACE = " \t\n\r"


class BodyError(ValueError):
    """The body does not decode into the expected struct."""


#: Go's ``encoding/json`` message for nesting past its depth limit.
TOO_DEEP = "exceeded max depth"


def _first_value(raw: bytes):
    text = raw.decode("utf-8", "replace")
    start = len(text) - len(text.lstrip(_WHITESPACE))
    if start == len(text):
        raise BodyError("EOF")
    try:
        value, _end = _DECODER.raw_decode(text, start)
    except json.JSONDecodeError as e:
        raise BodyError(str(e)) from None
    return value


def _to_plain(value):
    """Undo the pairs hook for nested values (dicts, last key wins)."""
    if isinstance(value, _Object):
        return {k: _to_plain(v) for k, v in value}
    if isinstance(value, list):
        return [_to_plain(v) for v in value]
    return value


def decode_struct(raw: bytes, fields: Dict[str, Callable]) -> Dict[str, object]:
    """Decode ``raw`` into ``{field: value}`` for the fields present.

    ``fields`` maps each JSON field name to a checker that returns the
    converted value or raises ``BodyError``.  Fields given as ``null`` (or
    absent) are left out of the result.
    """
    try:
        return _decode_struct(raw, fields)
    except RecursionError:
        # Decoding, undoing the pairs hook and the field checkers all
        # recurse: deep nesting anywhere is the client's bad body.
        raise BodyError(TOO_DEEP) from None


def _decode_struct(raw: bytes, fields: Dict[str, Callable]) -> Dict[str, object]:
    value = _first_value(raw)
    if value is None:
        return {}
    if not isinstance(value, _Object):
        raise BodyError("json: cannot unmarshal non-object into Go struct")
    lowered = {name.lower(): name for name in fields}
    result: Dict[str, object] = {}
    for key, item in value:
        name = key if key in fields else lowered.get(key.lower())
        if name is None:
            continue
        item = _to_plain(item)
        if item is None:
            result.pop(name, None)
            continue
        result[name] = fields[name](item)
    return result


def string(value) -> str:
    if not isinstance(value, str):
        raise BodyError("expected a string")
    return value


def enum(*allowed: str) -> Callable:
    def check(value) -> str:
        if not isinstance(value, str) or value not in allowed:
            raise BodyError(f"unknown value {value!r}")
        return value

    return check


def list_of(check: Callable) -> Callable:
    def check_list(value):
        if not isinstance(value, list):
            raise BodyError("expected a list")
        return [check(item) for item in value]

    return check_list


def optional_int(value) -> Optional[int]:
    if isinstance(value, bool) or not isinstance(value, int):
        raise BodyError("expected an integer")
    return value
