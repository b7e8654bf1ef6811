"""Command-line flags parsed the way Go's ``flag`` package parses them.

Kapacitor users type ``-url x``, ``-url=x``, ``--url x`` and ``-no-reload``;
parsing stops at the first argument that is not a flag, and usage text lists
flags the way ``PrintDefaults`` does. ``argparse`` does none of that, so this
module re-creates just those rules.
"""

from __future__ import annotations

from typing import Callable

import attrs

from .gofmt import go_quote

__all__ = ["Flag", "FlagSet", "FlagError", "HelpRequested", "parse_go_bool"]


class FlagError(Exception):
    """A flag problem; the message is printed before the usage (exit 2)."""


class HelpRequested(Exception):
    """``-h`` or ``-help`` was given and is not a defined flag (exit 0)."""


_TRUE = {"1", "t", "T", "TRUE", "true", "True"}
_FALSE = {"0", "f", "F", "FALSE", "false", "False"}


def parse_go_bool(text: str) -> bool:
    """Go's ``strconv.ParseBool``; raises ``ValueError`` with Go's message."""
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError("strconv.ParseBool: parsing %s: invalid syntax" % go_quote(text))


@attrs.frozen
class Flag:
    """One flag: ``kind`` is ``string``, ``bool`` or ``value`` (custom ``convert``).

    ``convert`` turns the text into a value or raises ``ValueError`` whose
    message Go would print after ``invalid value "..." for flag -x:``.
    ``repeat`` collects every occurrence into a list (like ``-dbrp``).
    """

    name: str
    usage: str
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
    """Flag values (by name, defaults filled in) and the remaining arguments."""

    values: dict
    args: list
    given: frozenset

    def __getitem__(self, name: str) -> object:
        return self.values[name]


@attrs.frozen
class FlagSet:
    flags: tuple

    def _lookup(self, name: str) -> Flag | None:
        for flag in self.flags:
            if flag.name == name:
                return flag
        return None

    def parse(self, args: list[str]) -> Parsed:
        values = {}
        for flag in self.flags:
            values[flag.name] = [] if flag.repeat else flag.default
        given = set()
        rest = list(args)
        while rest:
            arg = rest[0]
            if len(arg) < 2 or arg[0] != "-":
                break
            dashes = 2 if arg[1] == "-" else 1
            if arg == "--":
                rest.pop(0)
                break
            name = arg[dashes:]
            if not name or name[0] in "-=":
                raise FlagError("bad flag syntax: %s" % arg)
            rest.pop(0)
            name, has_value, value = name.partition("=")
            flag = self._lookup(name)
            if flag is None:
                if name in ("help", "h"):
                    raise HelpRequested()
                raise FlagError("flag provided but not defined: -%s" % name)
            if flag.kind == "bool":
                if has_value:
                    try:
                        parsed = parse_go_bool(value)
                    except ValueError:
                        raise FlagError(
                            "invalid boolean value %s for -%s: parse error"
                            % (go_quote(value), name)
                        ) from None
                else:
                    parsed = True
            else:
                if not has_value:
                    if not rest:
                        raise FlagError("flag needs an argument: -%s" % name)
                    value = rest.pop(0)
                parsed = value
                if flag.convert is not None:
                    try:
                        parsed = flag.convert(value)
                    except ValueError as exc:
                        raise FlagError(
                            "invalid value %s for flag -%s: %s"
                            % (go_quote(value), name, exc)
                        ) from None
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
