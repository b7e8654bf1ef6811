"""Command-line flags parsed the way Go's ``flag`` package parses them.

Both commands take Go-style flags: users type ``-url x``, ``-url=x``,
``--url x`` and ``-no-reload``; parsing stops at the first argument that is
not a flag (or after ``--``), and usage text lists flags the way
``PrintDefaults`` does. ``argparse`` does none of that, so this module
re-creates just those rules, once, for ``kapacitord`` and ``kapacitor``.
"""

from __future__ import annotations

from typing import Callable

import attrs

from kapacitord_tw.gocompat import go_quote, parse_bool

__all__ = ["Flag", "FlagSet", "FlagError", "HelpRequested", "Parsed"]


class FlagError(Exception):
    """A flag problem; the message is printed before the usage (exit 2)."""


class HelpRequested(Exception):
    """``-h`` or ``-help`` was given and is not a defined flag (exit 0)."""


@attrs.frozen
class Flag:
    """One flag: ``kind`` is ``string``, ``bool`` or ``value`` (custom ``convert``).

    ``convert`` turns the text into a value or raises ``ValueError`` whose
    message Go would print after ``invalid value "..." for flag -x:``.
    ``repeat`` collects every occurrence into a list (like ``-dbrp``).
    """

    name: str
    usage: str = ""
    kind: str = "string"
    default: object = ""
    convert: Callable[[str], object] | None = None
    repeat: bool = False

    def type_name(self) -> str:
        return {"bool": "", "string": "string"}.get(self.kind, "value")

    def shows_default(self) -> bool:
        return self.kind in ("string", "bool") and bool(self.default)


@attrs.frozen
class Parsed:
    """Flag values (by name, defaults filled in), the remaining arguments and
    the names given on the command line (to tell a default from a choice)."""

    values: dict
    args: list
    given: frozenset

    def __getitem__(self, name: str) -> object:
        return self.values[name]


@attrs.frozen
class FlagSet:
    flags: tuple
    _by_name: dict = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "_by_name", {flag.name: flag for flag in self.flags})

    def parse(self, args: list[str]) -> Parsed:
        values = {flag.name: [] if flag.repeat else flag.default for flag in self.flags}
        given = set()
        rest = list(args)
        while rest and len(rest[0]) >= 2 and rest[0][0] == "-":
            arg = rest.pop(0)
            if arg == "--":
                break
            name = arg[2:] if arg[1] == "-" else arg[1:]
            if not name or name[0] in "-=":
                raise FlagError("bad flag syntax: %s" % arg)
            name, has_value, value = name.partition("=")
            flag = self._by_name.get(name)
            if flag is None:
                if name in ("help", "h"):
                    raise HelpRequested()
                raise FlagError("flag provided but not defined: -%s" % name)
            if flag.kind == "bool":
                parsed = _bool_value(name, value) if has_value else True
            else:
                if not has_value:
                    if not rest:
                        raise FlagError("flag needs an argument: -%s" % name)
                    value = rest.pop(0)
                parsed = value if flag.convert is None else _converted(flag, value)
            if flag.repeat:
                values[name].append(parsed)
            else:
                values[name] = parsed
            given.add(name)
        return Parsed(values=values, args=rest, given=frozenset(given))

    def defaults_text(self) -> str:
        """The flag list as Go's ``PrintDefaults`` prints it, sorted by name."""
        out = []
        for flag in sorted(self.flags, key=lambda f: f.name):
            line = "  -" + flag.name
            if flag.type_name():
                line += " " + flag.type_name()
            line += "\t" if len(line) <= 4 else "\n    \t"
            line += flag.usage.replace("\n", "\n    \t")
            if flag.shows_default():
                if flag.kind == "string":
                    line += " (default %s)" % go_quote(str(flag.default))
                else:
                    line += " (default true)"
            out.append(line + "\n")
        return "".join(out)


def _bool_value(name: str, text: str) -> bool:
    try:
        return parse_bool(text)
    except ValueError:
        raise FlagError(
            "invalid boolean value %s for -%s: parse error" % (go_quote(text), name)
        ) from None


def _converted(flag: Flag, text: str) -> object:
    try:
        return flag.convert(text)
    except ValueError as exc:
        raise FlagError(
            "invalid value %s for flag -%s: %s" % (go_quote(text), flag.name, exc)
        ) from None
