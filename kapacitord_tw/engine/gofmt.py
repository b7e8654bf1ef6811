"""Go's ``fmt.Sprint``, ``Sprintln`` and ``Sprintf`` over template values (``print``/``printf``).

Widths and precisions above 10**6 are ``%!(BADWIDTH)``/``%!(BADPREC)`` as in
Go, which also bounds how much one verb can produce.
"""

from __future__ import annotations

import math

from kapacitord_tw.engine.govalues import GoStruct, GoTime, go_sprint, go_type_name
from kapacitord_tw.gocompat import format_float_v, go_quote

__all__ = ["sprint", "sprintf", "sprintln"]

_MAX_WIDTH = 1_000_000


def sprint(args) -> str:
    """``fmt.Sprint``: a space between operands when neither is a string."""
    out = []
    prev_string = False
    for i, a in enumerate(args):
        is_string = isinstance(a, str)
        if i and not is_string and not prev_string:
            out.append(" ")
        out.append(go_sprint(a))
        prev_string = is_string
    return "".join(out)


def sprintln(args) -> str:
    """``fmt.Sprintln``: operands always separated by spaces, newline at the end."""
    return " ".join(go_sprint(a) for a in args) + "\n"


def _bad(verb: str, arg) -> str:
    if arg is None:
        return f"%!{verb}(<nil>)"
    return f"%!{verb}({go_type_name(arg)}={go_sprint(arg)})"


class _Spec:
    __slots__ = ("minus", "plus", "sharp", "space", "zero", "width", "prec")

    def __init__(self) -> None:
        self.minus = self.plus = self.sharp = self.space = self.zero = False
        self.width = None
        self.prec = None


def _pad(s: str, spec: _Spec, numeric: bool = False) -> str:
    if spec.width is None or len(s) >= spec.width:
        return s
    fill = spec.width - len(s)
    if spec.minus:
        return s + " " * fill
    if spec.zero and numeric:
        sign = s[0] if s[:1] in ("+", "-", " ") else ""
        return sign + "0" * fill + s[len(sign):]
    return " " * fill + s


def _fmt_int(v: int, verb: str, spec: _Spec) -> str:
    neg = v < 0
    u = -v if neg else v
    if verb in "dv":
        digits = str(u)
    elif verb == "x":
        digits = "%x" % u
    elif verb == "X":
        digits = "%X" % u
    elif verb in "oO":
        digits = "%o" % u
    elif verb == "b":
        digits = bin(u)[2:]
    elif verb == "c":
        return _pad(chr(v) if 0 <= v <= 0x10FFFF else "\ufffd", spec)
    elif verb == "q":
        from kapacitord_tw.gocompat import go_quote as q
        ch = chr(v) if 0 <= v <= 0x10FFFF and not 0xD800 <= v <= 0xDFFF else "\ufffd"
        return _pad("'" + q(ch)[1:-1].replace("\\\"", "\"").replace("'", "\\'") + "'", spec)
    elif verb == "U":
        s = "U+%04X" % v
        if spec.sharp and 0 <= v <= 0x10FFFF:
            s += " '" + chr(v) + "'"
        return _pad(s, spec)
    else:
        return _bad(verb, v)
    if spec.prec is not None:
        if spec.prec == 0 and u == 0:
            digits = ""
        digits = digits.rjust(spec.prec, "0")
    if spec.sharp:
        if verb == "x":
            digits = "0x" + digits
        elif verb == "X":
            digits = "0X" + digits
        elif verb == "o" and not digits.startswith("0"):
            digits = "0" + digits
        elif verb == "b":
            digits = "0b" + digits
    if verb == "O":
        digits = "0o" + digits
    sign = "-" if neg else "+" if spec.plus else " " if spec.space else ""
    return _pad(sign + digits, spec, numeric=spec.prec is None)


def _fmt_float(v: float, verb: str, spec: _Spec) -> str:
    if math.isnan(v) or math.isinf(v):
        s = "NaN" if math.isnan(v) else ("+Inf" if v > 0 else "-Inf")
        if s == "NaN" and (spec.plus or spec.space):
            s = ("+" if spec.plus else " ") + s
        elif s == "+Inf" and not spec.plus:
            s = " Inf" if spec.space else "+Inf"
        return _pad(s, spec)
    if verb in "vgG" and spec.prec is None:
        s = format_float_v(v)
        if verb == "G":
            s = s.upper()
    elif verb in "gG":
        s = format(v, ".%d%s" % (max(spec.prec, 1) if spec.prec else 1, verb))
    elif verb in "eEfF":
        prec = 6 if spec.prec is None else spec.prec
        s = format(v, ".%d%s" % (prec, verb.lower() if verb == "F" else verb))
    else:
        return _bad(verb, v)
    if s.startswith("-"):
        sign, s = "-", s[1:]
    else:
        sign = "+" if spec.plus else " " if spec.space else ""
    return _pad(sign + s, spec, numeric=True)


def _fmt_str(s: str, verb: str, spec: _Spec) -> str:
    if verb in "sv":
        if spec.prec is not None:
            s = s[:spec.prec]
        return _pad(s, spec)
    if verb == "q":
        return _pad(go_quote(s if spec.prec is None else s[:spec.prec]), spec)
    if verb in "xX":
        raw = s.encode("utf-8", "surrogateescape")
        h = raw.hex() if verb == "x" else raw.hex().upper()
        if spec.space:
            h = " ".join(h[i:i + 2] for i in range(0, len(h), 2))
        return _pad(h, spec)
    return _bad(verb, s)


def format_one(arg, verb: str, spec: _Spec) -> str:
    """One argument under one verb, the way ``fmt``'s printArg does it."""
    if verb == "T":
        return _pad(go_type_name(arg) if arg is not None else "<nil>", spec)
    if arg is None:
        return _pad("<nil>", spec) if verb == "v" else _bad(verb, None)
    if isinstance(arg, bool):
        if verb in "tv":
            return _pad("true" if arg else "false", spec)
        return _bad(verb, arg)
    if getattr(type(arg), "go_stringer", False) and verb in "vsq":
        return _fmt_str(str(arg), verb, spec)
    if isinstance(arg, int):
        return _fmt_int(int(arg), verb, spec)
    if isinstance(arg, float):
        return _fmt_float(arg, verb, spec)
    if isinstance(arg, str):
        return _fmt_str(arg, verb, spec)
    if isinstance(arg, dict):
        items = sorted(arg.items(), key=lambda kv: kv[0])
        return "map[" + " ".join(
            format_one(k, verb, spec) + ":" + format_one(x, verb, spec) for k, x in items) + "]"
    if isinstance(arg, (list, tuple)):
        return "[" + " ".join(format_one(x, verb, spec) for x in arg) + "]"
    if isinstance(arg, GoStruct):
        if verb == "v" and spec.plus:
            return go_sprint(arg, plus=True)
        return "{" + " ".join(format_one(x, verb, spec) for x in arg.fields.values()) + "}"
    if isinstance(arg, GoTime):
        return _bad(verb, arg)
    return _pad(go_sprint(arg), spec) if verb == "v" else _bad(verb, arg)


def _number(fmt: str, i: int) -> tuple[int | None, int, bool]:
    start = i
    n = 0
    while i < len(fmt) and fmt[i].isdigit() and fmt[i].isascii():
        n = n * 10 + ord(fmt[i]) - 48
        if n > _MAX_WIDTH:
            while i < len(fmt) and fmt[i].isdigit():
                i += 1
            return None, i, False
        i += 1
    return (n if i > start else None), i, True


def sprintf(fmt: str, args) -> str:
    """``fmt.Sprintf`` for the verbs templates use; Go's ``%!`` spellings for mistakes."""
    out = []
    argi = 0
    i = 0
    n = len(fmt)
    while i < n:
        j = fmt.find("%", i)
        if j < 0:
            out.append(fmt[i:])
            break
        out.append(fmt[i:j])
        i = j + 1
        spec = _Spec()
        while i < n and fmt[i] in "#0+- ":
            c = fmt[i]
            if c == "#":
                spec.sharp = True
            elif c == "0":
                spec.zero = not spec.minus
            elif c == "+":
                spec.plus = True
            elif c == "-":
                spec.minus = True
                spec.zero = False
            else:
                spec.space = True
            i += 1
        if i < n and fmt[i] == "*":
            i += 1
            if argi < len(args) and isinstance(args[argi], int) and not isinstance(args[argi], bool) \
                    and abs(args[argi]) <= _MAX_WIDTH:
                spec.width = args[argi]
                if spec.width < 0:
                    spec.minus, spec.width = True, -spec.width
            else:
                out.append("%!(BADWIDTH)")
            argi += 1
        else:
            spec.width, i, ok = _number(fmt, i)
            if not ok:
                out.append("%!(BADWIDTH)")
        if i < n and fmt[i] == ".":
            i += 1
            if i < n and fmt[i] == "*":
                i += 1
                if argi < len(args) and isinstance(args[argi], int) and not isinstance(args[argi], bool) \
                        and 0 <= args[argi] <= _MAX_WIDTH:
                    spec.prec = args[argi]
                else:
                    out.append("%!(BADPREC)")
                argi += 1
            else:
                spec.prec, i, ok = _number(fmt, i)
                if not ok:
                    out.append("%!(BADPREC)")
                elif spec.prec is None:
                    spec.prec = 0
        if i >= n:
            out.append("%!(NOVERB)")
            break
        verb = fmt[i]
        i += 1
        if verb == "%":
            out.append("%")
            continue
        if argi >= len(args):
            out.append(f"%!{verb}(MISSING)")
            continue
        arg = args[argi]
        argi += 1
        out.append(format_one(arg, verb, spec))
    if argi < len(args):
        extra = ", ".join(
            "<nil>" if a is None else f"{go_type_name(a)}={go_sprint(a)}" for a in args[argi:])
        out.append(f"%!(EXTRA {extra})")
    return "".join(out)
