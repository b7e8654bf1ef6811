"""
Go ``flag`` package parsing, as Kapacitor's commands use it: ``-x v``,
``-x=v``, ``--x``, boolean flags without a value, parsing stops at the first
non-flag argument or ``--``.
"""

from __future__ import annotations

from typing import Dict, List, Tuple


class FlagError(Exception):
    """``flag provided but not defined: -x`` and friends."""


class HelpRequested(FlagError):
    def __init__(self):
        super().__init__("flag: help requested")


def parse_flags(args: List[str], string_flags, bool_flags=()) -> Tuple[Dict[str, object], List[str]]:
    values: Dict[str, object] = {}
    rest = list(args)
    while rest:
        arg = rest[0]
        if len(arg) < 2 or arg[0] != "-":
            break
        if arg == "--":
            rest.pop(0)
            break
        rest.pop(0)
        name = arg[2:] if arg.startswith("--") else arg[1:]
        if not name or name[0] in "-=":
            raise FlagError(f"bad flag syntax: {arg}")
        value = None
        if "=" in name:
            name, value = name.split("=", 1)
        if name in ("h", "help"):
            raise HelpRequested()
        if name in bool_flags:
            if value is None:
                values[name] = True
            else:
                from kapacitord_tw.gocompat import parse_bool

                try:
                    values[name] = parse_bool(value)
                except ValueError:
                    raise FlagError(
                        f'invalid boolean value "{value}" for -{name}: parse error'
                    ) from None
            continue
        if name not in string_flags:
            raise FlagError(f"flag provided but not defined: -{name}")
        if value is None:
            if not rest:
                raise FlagError(f"flag needs an argument: -{name}")
            value = rest.pop(0)
        values[name] = value
    return values, rest
