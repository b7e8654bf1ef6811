"""Go's numeric semantics for the expression engine.

TICKscript ints are Go ``int64`` (they wrap), floats are IEEE doubles that
never raise (``1.0 / 0.0`` is ``+Inf``), and error messages print values
with ``%v``; Python differs on all three, so the engine goes through here.
"""

import math
from decimal import Decimal

from kapacitord_tw.gocompat import format_float_v

INT64_MIN = -(1 << 63)


class GoRuntimeError(ArithmeticError):
    """A Go runtime panic (``runtime error: ...``) inside an expression."""

    def __init__(self, detail):
        super().__init__("runtime error: " + detail)


def wrap_int64(value):
    """Two's-complement wrap of a Python int to int64."""
    value &= 0xFFFFFFFFFFFFFFFF
    return value - (1 << 64) if value >= (1 << 63) else value


def int_div(a, b):
    """Go's ``a / b`` on int64: truncates toward zero, panics on zero."""
    if b == 0:
        raise GoRuntimeError("integer divide by zero")
    q = abs(a) // abs(b)
    return wrap_int64(q if (a >= 0) == (b >= 0) else -q)


def int_mod(a, b):
    """Go's ``a % b`` on int64: the sign follows the dividend."""
    if b == 0:
        raise GoRuntimeError("integer divide by zero")
    r = abs(a) % abs(b)
    return r if a >= 0 else -r


def float_div(a, b):
    """IEEE division: a zero divisor gives a signed infinity or NaN."""
    if b != 0:
        return a / b
    if a == 0 or math.isnan(a):
        return math.nan
    negative = (math.copysign(1.0, a) < 0) != (math.copysign(1.0, b) < 0)
    return -math.inf if negative else math.inf


def float_to_int64(value):
    """Go's ``int64(f)``: truncation; NaN and out-of-range give MinInt64
    (what amd64 produces)."""
    if math.isnan(value) or math.isinf(value):
        return INT64_MIN
    result = int(value)
    if not INT64_MIN <= result < (1 << 63):
        return INT64_MIN
    return result


def format_float_f(value):
    """``strconv.FormatFloat(f, 'f', -1, 64)``: shortest, no exponent."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    text = format(Decimal(repr(value)).normalize(), "f")
    return text


def format_v(value):
    """``fmt.Sprintf("%v", value)`` for the scalar values expressions use."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return format_float_v(value)
    return str(value)
