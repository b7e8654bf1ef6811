"""Quoting names and strings into InfluxQL statements (never by plain formatting)."""

from __future__ import annotations


def quote_ident(name: str) -> str:
    """A double-quoted identifier: ``"my db"``; backslash and ``"`` escaped."""
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def quote_string(value: str) -> str:
    """A single-quoted string literal; backslash and ``'`` escaped."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n") + "'"
