"""Byte-exact re-implementations of the Go library behaviours Kapacitor's output depends on.

Kapacitor's error messages and response bodies are produced by Go's ``%q``,
``encoding/json``, ``path``, ``strconv`` and ``time`` packages.  Python's
nearest equivalents (``repr``, ``json.dumps``, ``posixpath``, ``fnmatch``,
``int()``) differ in many small ways, and clients compare these strings, so
each Go behaviour is reproduced here once and used everywhere else.

Go strings are byte strings; functions that take ``str`` treat it as UTF-8,
and lone surrogates produced by ``surrogateescape`` decoding stand for the
invalid bytes they came from.
"""

from __future__ import annotations

import base64
import datetime as _dt
import decimal
import json
import json.encoder
import math
import re
from collections.abc import Mapping

__all__ = [
    "BadPattern",
    "NumError",
    "ZERO_TIME",
    "ZERO_TIME_NS",
    "format_duration",
    "format_time",
    "go_quote",
    "json_dumps",
    "parse_bool",
    "parse_duration",
    "parse_int",
    "parse_time",
    "path_clean",
    "path_dir",
    "path_join",
    "path_match",
    "path_match_strict",
]

_RUNE_ERROR = 0xFFFD
_MAX_RUNE = 0x10FFFF


def _to_bytes(s: str | bytes) -> bytes:
    """UTF-8 bytes of *s*, turning surrogateescape'd characters back into raw bytes."""
    if isinstance(s, (bytes, bytearray, memoryview)):
        return bytes(s)
    return s.encode("utf-8", "surrogateescape") if _only_escapes(s) else _encode_lossy(s)


def _only_escapes(s: str) -> bool:
    """True unless *s* holds a surrogate that surrogateescape cannot encode."""
    return not any(0xD800 <= ord(c) <= 0xDFFF and not 0xDC80 <= ord(c) <= 0xDCFF for c in s)


def _encode_lossy(s: str) -> bytes:
    # Other lone surrogates have no Go equivalent; their (invalid) UTF-8
    # encoding is what a Go string would hold if it had been built from them.
    out = bytearray()
    for c in s:
        if 0xDC80 <= ord(c) <= 0xDCFF:
            out.append(ord(c) - 0xDC00)
        else:
            out += c.encode("utf-8", "surrogatepass")
    return bytes(out)


def _decode_rune(b: bytes, i: int) -> tuple[int, int]:
    """Go's ``utf8.DecodeRune`` on ``b[i:]``: (rune, width); (0xFFFD, 1) when invalid."""
    lead = b[i]
    if lead < 0x80:
        return lead, 1
    if 0xC2 <= lead <= 0xDF:
        width = 2
    elif 0xE0 <= lead <= 0xEF:
        width = 3
    elif 0xF0 <= lead <= 0xF4:
        width = 4
    else:
        return _RUNE_ERROR, 1
    try:
        # Python's strict decoder rejects exactly what Go rejects: overlong
        # forms, surrogates and code points above U+10FFFF.
        text = b[i:i + width].decode("utf-8")
    except UnicodeDecodeError:
        return _RUNE_ERROR, 1
    return ord(text), width


def _runes(b: bytes):
    """Yield (rune, raw bytes, width) like Go's ``for _, r := range s``."""
    i = 0
    while i < len(b):
        r, n = _decode_rune(b, i)
        yield r, b[i:i + n], n
        i += n


# ---------------------------------------------------------------------------
# %q / strconv.Quote

_QUOTE_ESCAPES = {
    0x07: "\\a", 0x08: "\\b", 0x0C: "\\f", 0x0A: "\\n",
    0x0D: "\\r", 0x09: "\\t", 0x0B: "\\v",
}


def _is_print(r: int) -> bool:
    """Go's ``unicode.IsPrint``: letters, marks, numbers, punctuation, symbols and ASCII space.

    ``str.isprintable`` has exactly that definition (everything but the
    "Other" and "Separator" categories, except U+0020).
    """
    return chr(r).isprintable()


def go_quote(s: str | bytes) -> str:
    """Go's ``strconv.Quote`` (what ``%q`` prints for a string)."""
    out = ['"']
    for r, raw, width in _runes(_to_bytes(s)):
        if width == 1 and r == _RUNE_ERROR:
            out.append("\\x%02x" % raw[0])
        elif r in (0x22, 0x5C):
            out.append("\\" + chr(r))
        elif _is_print(r):
            out.append(chr(r))
        elif r in _QUOTE_ESCAPES:
            out.append(_QUOTE_ESCAPES[r])
        elif r < 0x20 or r == 0x7F:
            out.append("\\x%02x" % r)
        elif r < 0x10000:
            out.append("\\u%04x" % r)
        else:
            out.append("\\U%08x" % r)
    out.append('"')
    return "".join(out)


def _time_quote(s: str) -> str:
    """The ``time`` package's own quoting (used in ParseDuration errors).

    Unlike ``strconv.Quote`` it prints every byte of a non-ASCII or control
    character as ``\\xNN`` and leaves DEL alone.
    """
    b = _to_bytes(s)
    out = ['"']
    for r, raw, _ in _runes(b):
        if r >= 0x80 or r < 0x20:
            out.extend("\\x%02x" % byte for byte in raw)
        else:
            if r in (0x22, 0x5C):
                out.append("\\")
            out.append(chr(r))
    out.append('"')
    return "".join(out)


# ---------------------------------------------------------------------------
# package path

def path_clean(p: str) -> str:
    """Go's ``path.Clean``: the shortest lexically equivalent slash-separated path."""
    if not p:
        return "."
    rooted = p.startswith("/")
    parts: list[str] = []
    for part in p.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts and parts[-1] != "..":
                parts.pop()
            elif not rooted:
                parts.append("..")
            continue
        parts.append(part)
    cleaned = "/".join(parts)
    if rooted:
        return "/" + cleaned
    return cleaned or "."


def path_join(*elems: str) -> str:
    """Go's ``path.Join``: empty elements are ignored; all empty gives ``""``."""
    nonempty = [e for e in elems if e]
    if not nonempty:
        return ""
    return path_clean("/".join(nonempty))


def path_dir(p: str) -> str:
    """Go's ``path.Dir``: everything before the last ``/``, cleaned."""
    return path_clean(p[:p.rfind("/") + 1])


class BadPattern(ValueError):
    """Go's ``path.ErrBadPattern``."""

    def __init__(self) -> None:
        super().__init__("syntax error in pattern")


def path_match(pattern: str, name: str) -> bool:
    """Go's ``path.Match``, with a malformed pattern matching nothing (as Kapacitor treats it)."""
    try:
        return path_match_strict(pattern, name)
    except BadPattern:
        return False


def path_match_strict(pattern: str, name: str) -> bool:
    """Go's ``path.Match``; raises :class:`BadPattern` where Go returns ``ErrBadPattern``.

    Works on UTF-8 bytes, exactly as Go does, so multi-byte characters and
    invalid bytes behave identically.
    """
    pat = _to_bytes(pattern)
    nm = _to_bytes(name)
    while pat:
        star, chunk, pat = _scan_chunk(pat)
        if star and not chunk:
            # A trailing star matches the rest unless it holds a '/'.
            return b"/" not in nm
        rest = _match_chunk(chunk, nm)
        if rest is not None and (not rest or pat):
            nm = rest
            continue
        if star:
            matched = False
            i = 0
            while i < len(nm) and nm[i] != 0x2F:
                rest = _match_chunk(chunk, nm[i + 1:])
                i += 1
                if rest is not None:
                    if not pat and rest:
                        continue
                    nm = rest
                    matched = True
                    break
            if matched:
                continue
        # No match: Go still reports a syntax error later in the pattern.
        while pat:
            _, chunk, pat = _scan_chunk(pat)
            _match_chunk(chunk, b"")
        return False
    return not nm


def _scan_chunk(pattern: bytes) -> tuple[bool, bytes, bytes]:
    """Split off leading stars and the following star-free chunk."""
    star = False
    while pattern[:1] == b"*":
        pattern = pattern[1:]
        star = True
    in_range = False
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == 0x5C:  # backslash: skip the escaped byte (checked in _match_chunk)
            if i + 1 < len(pattern):
                i += 1
        elif c == 0x5B:
            in_range = True
        elif c == 0x5D:
            in_range = False
        elif c == 0x2A and not in_range:
            return star, pattern[:i], pattern[i:]
        i += 1
    return star, pattern, b""


def _match_chunk(chunk: bytes, s: bytes) -> bytes | None:
    """Match *chunk* at the start of *s*; the remainder, or None.

    After a mismatch the chunk is still read to the end so that syntax errors
    are reported, as in Go.
    """
    failed = False
    while chunk:
        if not failed and not s:
            failed = True
        c = chunk[0]
        if c == 0x5B:  # '[' character class
            r = 0
            if not failed:
                r, n = _decode_rune(s, 0)
                s = s[n:]
            chunk = chunk[1:]
            negated = chunk[:1] == b"^"
            if negated:
                chunk = chunk[1:]
            match = False
            nrange = 0
            while True:
                if chunk[:1] == b"]" and nrange > 0:
                    chunk = chunk[1:]
                    break
                lo, chunk = _get_esc(chunk)
                hi = lo
                if chunk[0] == 0x2D:  # '-'
                    hi, chunk = _get_esc(chunk[1:])
                if lo <= r <= hi:
                    match = True
                nrange += 1
            if match == negated:
                failed = True
        elif c == 0x3F:  # '?'
            if not failed:
                if s[0] == 0x2F:
                    failed = True
                _, n = _decode_rune(s, 0)
                s = s[n:]
            chunk = chunk[1:]
        else:
            if c == 0x5C:  # '\\' escapes the next byte
                chunk = chunk[1:]
                if not chunk:
                    raise BadPattern()
            if not failed:
                if chunk[0] != s[0]:
                    failed = True
                s = s[1:]
            chunk = chunk[1:]
    return None if failed else s


def _get_esc(chunk: bytes) -> tuple[int, bytes]:
    """One possibly escaped character of a class; the class must not end here."""
    if not chunk or chunk[0] in (0x2D, 0x5D):
        raise BadPattern()
    if chunk[0] == 0x5C:
        chunk = chunk[1:]
        if not chunk:
            raise BadPattern()
    r, n = _decode_rune(chunk, 0)
    if r == _RUNE_ERROR and n == 1:
        raise BadPattern()
    rest = chunk[n:]
    if not rest:
        raise BadPattern()
    return r, rest


# ---------------------------------------------------------------------------
# package strconv

class NumError(ValueError):
    """Go's ``*strconv.NumError``; ``value`` is what Go returns alongside it.

    For range errors Go returns the clamped value (the largest or smallest
    representable integer), which Kapacitor sometimes goes on to use.
    """

    def __init__(self, func: str, num: str, err: str, value: int = 0) -> None:
        super().__init__(func, num, err)
        self.func = func
        self.num = num
        self.err = err
        self.value = value

    def __str__(self) -> str:
        return f"strconv.{self.func}: parsing {go_quote(self.num)}: {self.err}"


SYNTAX = "invalid syntax"
RANGE = "value out of range"

_BOOLS = {
    "1": True, "t": True, "T": True, "TRUE": True, "true": True, "True": True,
    "0": False, "f": False, "F": False, "FALSE": False, "false": False, "False": False,
}


def parse_bool(s: str) -> bool:
    """Go's ``strconv.ParseBool``: only its twelve spellings are accepted."""
    try:
        return _BOOLS[s]
    except KeyError:
        raise NumError("ParseBool", s, SYNTAX) from None


def _lower(c: str) -> str:
    return chr(ord(c) | 0x20) if c.isascii() else c


def underscore_ok(s: str) -> bool:
    """Go's rule: '_' only between digits (a base prefix counts as a digit)."""
    saw = "^"
    i = 0
    if s[:1] in ("-", "+"):
        s = s[1:]
    hex_digits = False
    if len(s) >= 2 and s[0] == "0" and _lower(s[1]) in ("b", "o", "x"):
        i = 2
        saw = "0"
        hex_digits = _lower(s[1]) == "x"
    while i < len(s):
        c = s[i]
        if "0" <= c <= "9" or (hex_digits and "a" <= _lower(c) <= "f"):
            saw = "0"
        elif c == "_":
            if saw != "0":
                return False
            saw = "_"
        elif saw == "_":
            return False
        else:
            saw = "!"
        i += 1
    return saw != "_"


def _parse_uint_base0(s: str, bits: int) -> int:
    """Go's ``strconv.ParseUint(s, 0, bits)`` (errors carry func "ParseUint")."""
    if not s:
        raise NumError("ParseUint", s, SYNTAX)
    s0 = s
    base = 10
    if s[0] == "0":
        if len(s) >= 3 and _lower(s[1]) == "b":
            base, s = 2, s[2:]
        elif len(s) >= 3 and _lower(s[1]) == "o":
            base, s = 8, s[2:]
        elif len(s) >= 3 and _lower(s[1]) == "x":
            base, s = 16, s[2:]
        else:
            base, s = 8, s[1:]
    max_val = (1 << bits) - 1
    n = 0
    underscores = False
    for c in s:
        if c == "_":
            underscores = True
            continue
        if "0" <= c <= "9":
            d = ord(c) - 0x30
        elif c.isascii() and "a" <= _lower(c) <= "z":
            d = ord(_lower(c)) - 0x61 + 10
        else:
            raise NumError("ParseUint", s0, SYNTAX)
        if d >= base:
            raise NumError("ParseUint", s0, SYNTAX)
        n = n * base + d
        if n > max_val:
            raise NumError("ParseUint", s0, RANGE, max_val)
    if underscores and not underscore_ok(s0):
        raise NumError("ParseUint", s0, SYNTAX)
    return n


def parse_int(s: str, bits: int = 64) -> int:
    """Go's ``strconv.ParseInt(s, 0, bits)``: base from the prefix, ``_`` separators.

    Raises :class:`NumError`; for out-of-range input its ``value`` is the
    clamped result Go returns with the error.
    """
    if not 0 < bits <= 64:
        raise ValueError(f"invalid bit size {bits}")
    if not s:
        raise NumError("ParseInt", s, SYNTAX)
    s0 = s
    neg = s[0] == "-"
    if s[0] in "+-":
        s = s[1:]
    try:
        un = _parse_uint_base0(s, bits)
    except NumError as e:
        if e.err != RANGE:
            raise NumError("ParseInt", s0, e.err) from None
        un = e.value
    cutoff = 1 << (bits - 1)
    if not neg and un >= cutoff:
        raise NumError("ParseInt", s0, RANGE, cutoff - 1)
    if neg and un > cutoff:
        raise NumError("ParseInt", s0, RANGE, -cutoff)
    return -un if neg else un


def parse_int10(s: str, bits: int = 64) -> int:
    """Go's ``strconv.ParseInt(s, 10, bits)``: decimal digits only."""
    digits = s[1:] if s[:1] in ("+", "-") else s
    if not digits or not digits.isascii() or not digits.isdigit():
        raise NumError("ParseInt", s, SYNTAX)
    value = int(s)
    cutoff = 1 << (bits - 1)
    if value >= cutoff:
        raise NumError("ParseInt", s, RANGE, cutoff - 1)
    if value < -cutoff:
        raise NumError("ParseInt", s, RANGE, -cutoff)
    return value


# ---------------------------------------------------------------------------
# time.Duration

NANOSECOND = 1
MICROSECOND = 1000
MILLISECOND = 1000 * MICROSECOND
SECOND = 1000 * MILLISECOND
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE

_UNITS = {
    "ns": NANOSECOND,
    "us": MICROSECOND,
    "\u00b5s": MICROSECOND,  # micro sign
    "\u03bcs": MICROSECOND,  # Greek mu
    "ms": MILLISECOND,
    "s": SECOND,
    "m": MINUTE,
    "h": HOUR,
}

_MAX_DURATION = (1 << 63) - 1


def _leading_digits(s: str) -> int:
    i = 0
    while i < len(s) and "0" <= s[i] <= "9":
        i += 1
    return i


def parse_duration(s: str) -> int:
    """Go's ``time.ParseDuration``; returns nanoseconds.

    Errors are ``ValueError`` carrying Go's exact text, quoted the way the
    ``time`` package quotes (not ``strconv.Quote``).
    """
    orig = s

    def invalid() -> ValueError:
        return ValueError("time: invalid duration " + _time_quote(orig))

    neg = False
    if s[:1] in ("-", "+"):
        neg = s[0] == "-"
        s = s[1:]
    if s == "0":
        return 0
    if not s:
        raise invalid()
    total = 0
    while s:
        if not (s[0] == "." or "0" <= s[0] <= "9"):
            raise invalid()
        n = _leading_digits(s)
        v = 0
        for c in s[:n]:
            # Go gives up as soon as the integer part passes 1<<63.
            if v > (1 << 63) // 10:
                raise invalid()
            v = v * 10 + ord(c) - 0x30
            if v > 1 << 63:
                raise invalid()
        pre = n > 0
        s = s[n:]
        frac, scale, post = 0, 1.0, False
        if s[:1] == ".":
            s = s[1:]
            n = _leading_digits(s)
            post = n > 0
            overflow = False
            for c in s[:n]:
                # Precision simply stops accumulating once it would overflow.
                if overflow:
                    continue
                if frac > ((1 << 63) - 1) // 10:
                    overflow = True
                    continue
                y = frac * 10 + ord(c) - 0x30
                if y > 1 << 63:
                    overflow = True
                    continue
                frac = y
                scale *= 10
            s = s[n:]
        if not pre and not post:
            raise invalid()
        i = 0
        while i < len(s) and not (s[i] == "." or "0" <= s[i] <= "9"):
            i += 1
        if i == 0:
            raise ValueError("time: missing unit in duration " + _time_quote(orig))
        unit_name, s = s[:i], s[i:]
        unit = _UNITS.get(unit_name)
        if unit is None:
            raise ValueError(
                "time: unknown unit " + _time_quote(unit_name)
                + " in duration " + _time_quote(orig))
        if v > (1 << 63) // unit:
            raise invalid()
        v *= unit
        if frac > 0:
            # Go computes the fraction in float64; int() truncates like uint64().
            v += int(float(frac) * (float(unit) / scale))
            if v > 1 << 63:
                raise invalid()
        total += v
        if total > 1 << 63:
            raise invalid()
    if neg:
        return -total
    if total > _MAX_DURATION:
        raise invalid()
    return total


def _fmt_frac(v: int, prec: int) -> tuple[str, int]:
    """The fraction of v / 10**prec without trailing zeros (no '.' if zero), and the integer part."""
    digits = str(v % 10**prec).rjust(prec, "0").rstrip("0")
    return ("." + digits if digits else ""), v // 10**prec


def format_duration(ns: int) -> str:
    """Go's ``time.Duration.String()``: ``1h0m0s``, ``1.5s``, ``500ms``, ``1.5µs``, ``0s``."""
    u = abs(ns)
    sign = "-" if ns < 0 else ""
    if u < SECOND:
        if u == 0:
            return "0s"
        if u < MICROSECOND:
            return f"{sign}{u}ns"
        if u < MILLISECOND:
            frac, whole = _fmt_frac(u, 3)
            return f"{sign}{whole}{frac}\u00b5s"
        frac, whole = _fmt_frac(u, 6)
        return f"{sign}{whole}{frac}ms"
    frac, secs = _fmt_frac(u, 9)
    text = f"{secs % 60}{frac}s"
    minutes = secs // 60
    if minutes:
        text = f"{minutes % 60}m" + text
        hours = minutes // 60
        if hours:
            text = f"{hours}h" + text
    return sign + text


def format_float_v(value: float) -> str:
    """Go's ``%v`` for a float64 (``strconv`` 'g', shortest): exponent form
    when the exponent is below -4 or reaches the precision (6, or the
    digit count for short integral values)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == 0:
        return "-0" if math.copysign(1.0, value) < 0 else "0"
    dec = decimal.Decimal(repr(value)).normalize()
    sign, digits, exponent = dec.as_tuple()
    nd = len(digits)
    dp = nd + exponent          # position of the decimal point
    eprec = 6
    if eprec > nd and nd >= dp:
        eprec = nd
    exp10 = dp - 1
    if -4 <= exp10 < eprec:
        return format(dec, "f")
    mantissa = "".join(map(str, digits))
    if len(mantissa) > 1:
        mantissa = mantissa[0] + "." + mantissa[1:]
    return "%s%se%s%02d" % ("-" if sign else "", mantissa,
                            "-" if exp10 < 0 else "+", abs(exp10))


# ---------------------------------------------------------------------------
# encoding/json

_JSON_SHORT = {
    0x22: '\\"', 0x5C: "\\\\", 0x0A: "\\n", 0x0D: "\\r", 0x09: "\\t",
    0x08: "\\b", 0x0C: "\\f",  # short forms since Go 1.22
}
_JSON_HTML = {0x3C, 0x3E, 0x26}


# Characters that need no escaping in Go's JSON: printable ASCII except
# '"', '\\', '<', '>', '&', plus every non-ASCII character that is not a
# surrogate (surrogateescape'd invalid bytes) or U+2028/U+2029.
_JSON_PLAIN = re.compile('[^"\\\\<>&\x00-\x1f\ud800-\udfff\u2028\u2029]*\\Z')


#: What the C encoder spells unlike Go (``\\b``, ``\\f``) or cannot take
#: (lone surrogates: invalid bytes under surrogateescape).
_JSON_AWKWARD = re.compile("[\x08\x0c\ud800-\udfff]")
_c_encode_string = json.encoder.encode_basestring


def _json_string(s: str | bytes) -> str:
    if isinstance(s, str):
        if _JSON_PLAIN.match(s):
            return '"' + s + '"'
        if not _JSON_AWKWARD.search(s):
            # json's C encoder escapes quotes, backslashes and control
            # characters as Go does; Go also escapes <, >, & and U+2028/9.
            out = _c_encode_string(s)
            if "<" in s or ">" in s or "&" in s:
                out = out.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            if "\u2028" in s or "\u2029" in s:
                out = out.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
            return out
    return _json_string_by_rune(s)


def _json_string_by_rune(s: str | bytes) -> str:
    """Go's ``encodeState.string``, rune by rune (any text, any bytes)."""
    out = ['"']
    for r, raw, width in _runes(_to_bytes(s)):
        if r in _JSON_SHORT:
            out.append(_JSON_SHORT[r])
        elif r < 0x20 or r in _JSON_HTML:
            out.append("\\u%04x" % r)
        elif width == 1 and r == _RUNE_ERROR:
            out.append("\\ufffd")
        elif r in (0x2028, 0x2029):
            out.append("\\u%04x" % r)
        else:
            out.append(chr(r))
    out.append('"')
    return "".join(out)


def _go_float_repr(f: float) -> str:
    """Go's ``strconv.FormatFloat(f, 'g', -1, 64)`` spelling of NaN/Inf, for errors."""
    if math.isnan(f):
        return "NaN"
    return "+Inf" if f > 0 else "-Inf"


def _json_float(f: float) -> str:
    """Go's JSON float: shortest digits; exponent form below 1e-6 or from 1e21 (``1e+21``, ``1e-7``)."""
    r = float.__repr__(f)
    if "e" not in r and "n" not in r:
        # Python's repr is already the shortest digits in fixed notation
        # (1e-4 <= |f| < 1e16): Go's too, without a ".0" on whole numbers.
        return r[:-2] if r.endswith(".0") else r
    if math.isnan(f) or math.isinf(f):
        raise ValueError(f"json: unsupported value: {_go_float_repr(f)}")
    # repr() gives the shortest round-tripping digits, as Go's -1 precision does.
    d = decimal.Decimal(repr(f)).normalize()
    a = abs(f)
    if a == 0 or 1e-6 <= a < 1e21:
        return format(d, "f")
    sign, digits, exp = d.as_tuple()
    mantissa = "".join(map(str, digits))
    exp10 = len(mantissa) - 1 + exp
    text = mantissa[0] + ("." + mantissa[1:] if len(mantissa) > 1 else "")
    # Go's %e pads the exponent to two digits; encoding/json then strips the
    # zero of "e-0N" (but not of "e+0N", which cannot occur in this range).
    exp_text = ("-" if exp10 < 0 else "+") + ("%02d" % abs(exp10))
    if exp_text.startswith("-0"):
        exp_text = "-" + exp_text[2:]
    return ("-" if sign else "") + text + "e" + exp_text


def _json_compact(obj, out: list[str]) -> None:
    # The common exact types first, and dicts before the Mapping ABC check:
    # those checks cost as much as the encoding (a task list with stats is
    # thousands of values).
    kind = type(obj)
    if kind is str:
        out.append(_json_string(obj))
        return
    if kind is int:
        out.append(int.__repr__(obj))
        return
    if kind is float:
        out.append(_json_float(obj))
        return
    if obj is None:
        out.append("null")
    elif obj is True:
        out.append("true")
    elif obj is False:
        out.append("false")
    elif isinstance(obj, str):
        out.append(_json_string(obj))
    elif isinstance(obj, int):
        out.append(str(int(obj)))
    elif isinstance(obj, float):
        out.append(_json_float(obj))
    elif isinstance(obj, (bytes, bytearray)):
        # Go encodes []byte as a standard base64 string.
        out.append('"' + base64.b64encode(bytes(obj)).decode("ascii") + '"')
    elif kind is dict or isinstance(obj, Mapping):
        out.append("{")
        for i, (key, value) in enumerate(obj.items()):
            if i:
                out.append(",")
            out.append(_json_string(key if isinstance(key, str) else str(key)))
            out.append(":")
            _json_compact(value, out)
        out.append("}")
    elif kind is list or isinstance(obj, (list, tuple)):
        out.append("[")
        for i, value in enumerate(obj):
            if i:
                out.append(",")
            _json_compact(value, out)
        out.append("]")
    elif hasattr(obj, "__json__"):
        _json_compact(obj.__json__(), out)
    else:
        raise TypeError(f"json: unsupported type: {type(obj).__name__}")


def _json_indent(obj, out: list[str], depth: int, indent: str) -> None:
    """``json.MarshalIndent(v, "", indent)``: empty containers stay ``[]``/``{}``."""
    kind = type(obj)
    if kind is str or kind is int or kind is float or obj is None or kind is bool:
        _json_compact(obj, out)
        return
    if (kind is dict or isinstance(obj, Mapping)) and obj:
        inner = "\n" + indent * (depth + 1)
        out.append("{")
        for i, (key, value) in enumerate(obj.items()):
            out.append(("," if i else "") + inner)
            out.append(_json_string(key if isinstance(key, str) else str(key)))
            out.append(": ")
            _json_indent(value, out, depth + 1, indent)
        out.append("\n" + indent * depth + "}")
    elif (kind is list or isinstance(obj, (list, tuple))) and obj:
        inner = "\n" + indent * (depth + 1)
        out.append("[")
        for i, value in enumerate(obj):
            out.append(("," if i else "") + inner)
            _json_indent(value, out, depth + 1, indent)
        out.append("\n" + indent * depth + "]")
    elif kind is Indented:
        out.append(obj.text)
    elif hasattr(obj, "__json__") and not isinstance(obj, (str, bytes, Mapping, list, tuple)):
        _json_indent(obj.__json__(), out, depth, indent)
    else:
        _json_compact(obj, out)


class Indented:
    """A value already written by :func:`json_indented` at its depth: a long
    listing is encoded piece by piece (between reactor turns), then joined."""

    __slots__ = ("text",)

    def __init__(self, text: str):
        self.text = text


def json_indented(obj, depth: int) -> Indented:
    """``obj`` as ``json_dumps(..., pretty=True)`` writes it ``depth`` levels deep."""
    out: list[str] = []
    _json_indent(obj, out, depth, "    ")
    return Indented("".join(out))


def json_dumps(obj, *, pretty: bool = False, newline: bool = False) -> bytes:
    """Go ``encoding/json`` output as bytes.

    ``pretty`` is ``json.MarshalIndent(v, "", "    ")``; ``newline`` adds the
    trailing ``\\n`` of ``json.Encoder.Encode``.  Mappings are written in
    their iteration order: sort Go maps before calling, keep struct order as is.
    Objects with a ``__json__()`` method are encoded as what it returns.
    """
    out: list[str] = []
    if pretty:
        _json_indent(obj, out, 0, "    ")
    else:
        _json_compact(obj, out)
    if newline:
        out.append("\n")
    return "".join(out).encode("utf-8", "surrogatepass")


# ---------------------------------------------------------------------------
# time.Time in RFC 3339

ZERO_TIME = "0001-01-01T00:00:00Z"
#: Go's zero ``time.Time`` as nanoseconds since the Unix epoch (needs more than int64).
ZERO_TIME_NS = -62135596800 * SECOND

_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)


def format_time(ns_since_epoch: int | None, tz: _dt.tzinfo | None = None) -> str:
    """Go's ``t.Format(time.RFC3339Nano)``, in the local zone unless *tz* is given.

    A zero offset prints as ``Z``; Go's zero time (``None`` or
    :data:`ZERO_TIME_NS`) is always :data:`ZERO_TIME`, as it is UTC in Go.
    """
    if ns_since_epoch is None or ns_since_epoch == ZERO_TIME_NS:
        return ZERO_TIME
    secs, nanos = divmod(ns_since_epoch, SECOND)
    when = _EPOCH + _dt.timedelta(seconds=secs)
    when = when.astimezone(tz) if tz is not None else when.astimezone()
    offset = int(when.utcoffset().total_seconds())
    frac = ("%09d" % nanos).rstrip("0")
    text = "%04d-%02d-%02dT%02d:%02d:%02d" % (
        when.year, when.month, when.day, when.hour, when.minute, when.second)
    if frac:
        text += "." + frac
    if offset == 0:
        return text + "Z"
    sign = "-" if offset < 0 else "+"
    minutes = abs(offset) // 60
    return text + "%s%02d:%02d" % (sign, minutes // 60, minutes % 60)


def parse_time(s: str) -> int:
    """Inverse of :func:`format_time`: an RFC 3339 timestamp to nanoseconds since the epoch.

    Fractions of any length are accepted (digits past the ninth are dropped,
    as in Go); the zone must be ``Z`` or ``±hh:mm``.
    """
    def bad() -> ValueError:
        return ValueError(f"parsing time {go_quote(s)}: not an RFC 3339 timestamp")

    if len(s) < 20 or s[4] != "-" or s[7] != "-" or s[10] != "T" or s[13] != ":" or s[16] != ":":
        raise bad()
    fields = (s[0:4], s[5:7], s[8:10], s[11:13], s[14:16], s[17:19])
    if not all(f.isascii() and f.isdigit() for f in fields):
        raise bad()
    year, month, day, hour, minute, second = map(int, fields)
    rest = s[19:]
    nanos = 0
    if rest.startswith("."):
        n = _leading_digits(rest[1:])
        if n == 0:
            raise bad()
        nanos = int(rest[1:1 + n][:9].ljust(9, "0"))
        rest = rest[1 + n:]
    if rest == "Z":
        offset = 0
    elif (len(rest) == 6 and rest[0] in "+-" and rest[3] == ":"
          and rest[1:3].isdigit() and rest[4:6].isdigit()):
        offset = (int(rest[1:3]) * 60 + int(rest[4:6])) * 60
        if rest[0] == "-":
            offset = -offset
        if int(rest[1:3]) > 23 or int(rest[4:6]) > 59:
            raise bad()
    else:
        raise bad()
    try:
        naive = _dt.datetime(year, month, day, hour, minute, second, tzinfo=_dt.timezone.utc)
    except ValueError:
        raise bad() from None
    delta = naive - _EPOCH
    secs = delta.days * 86400 + delta.seconds - offset
    return secs * SECOND + nanos


# ---------------------------------------------------------------------------
# Decoded JSON values as Go's encoding/json and reflect name them


def json_go_type(value) -> str:
    """``%T`` of a JSON value decoded into ``interface{}`` (numbers are float64)."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "float64"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "[]interface {}"
    return "map[string]interface {}"


def json_kind(value) -> str:
    """The JSON kind an ``encoding/json`` unmarshal error names (``number``, ``array`` …)."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def json_reflect_kind(value) -> str:
    """The ``reflect.Kind`` of a decoded JSON value (``invalid`` for null)."""
    if value is None:
        return "invalid"
    return {"[]interface {}": "slice", "map[string]interface {}": "map"}.get(
        json_go_type(value), json_go_type(value))
