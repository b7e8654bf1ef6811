"""Query parameters as Kapacitor's handlers read them (``r.URL.Query().Get``)."""

from __future__ import annotations

from kapacitord_tw import gocompat
from kapacitord_tw.http.errors import APIError


def arg(args: dict, name: str) -> str:
    """The first value of ``name`` in parsed query ``args``, or ``""``."""
    values = args.get(name.encode())
    return values[0].decode("utf-8", "replace") if values else ""


def int_arg(args: dict, name: str, default: int) -> int:
    """An integer parameter, with Kapacitor's 400 for a bad one."""
    text = arg(args, name)
    if text == "":
        return default
    try:
        return gocompat.parse_int10(text)
    except gocompat.NumError as e:
        raise APIError(
            400, f"invalid {name} parameter {gocompat.go_quote(text)} must be an integer: {e}"
        ) from None
