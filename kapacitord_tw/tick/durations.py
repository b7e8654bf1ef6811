"""InfluxQL duration literals: ``10s``, ``5m``, ``1ms``, ``1u``/``1µ``, ``1d``.

Durations are plain ``int`` nanosecond counts wrapped in :class:`Duration`
so the evaluator can tell a ``10s`` from the integer ``10000000000``.
"""

import attr

NANOSECOND = 1
MICROSECOND = 1000
MILLISECOND = 1000 * MICROSECOND
SECOND = 1000 * MILLISECOND
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE
DAY = 24 * HOUR
WEEK = 7 * DAY

_INT64_MAX = 2 ** 63 - 1
_UNITS = {"u": MICROSECOND, "µ": MICROSECOND, "s": SECOND, "m": MINUTE,
          "h": HOUR, "d": DAY, "w": WEEK}


@attr.s(frozen=True, slots=True)
class Duration:
    """A Go ``time.Duration``: signed nanoseconds."""

    nanoseconds = attr.ib()

    def __neg__(self):
        return Duration(-self.nanoseconds)


class InvalidDuration(ValueError):
    pass


def _wrap_int64(value):
    value &= 0xFFFFFFFFFFFFFFFF
    return value - (1 << 64) if value >= (1 << 63) else value


def parse_duration(text):
    """Parse an InfluxQL duration into nanoseconds (int)."""
    if len(text) < 2:
        raise InvalidDuration("invalid duration")
    negative = text.startswith("-")
    i = 1 if negative else 0
    total = 0
    while i < len(text):
        start = i
        while i < len(text) and "0" <= text[i] <= "9":
            i += 1
        if i >= len(text) or i == start:
            raise InvalidDuration("invalid duration")
        number = int(text[start:i])
        if number > _INT64_MAX:
            raise InvalidDuration("invalid duration")
        unit = text[i]
        if unit == "n" and text[i + 1:i + 2] == "s":
            total += number
            i += 2
            continue
        if unit == "m" and text[i + 1:i + 2] == "s":
            total += number * MILLISECOND
            i += 2
            continue
        if unit not in _UNITS:
            raise InvalidDuration("invalid duration")
        total += number * _UNITS[unit]
        i += 1
    total = _wrap_int64(total)
    if total < 0 and not negative:
        raise InvalidDuration(
            "overflowed duration %s: choose a smaller duration or INF" % text)
    return -total if negative else total


def _go_mod(a, b):
    # Go's % truncates toward zero.
    r = abs(a) % b
    return -r if a < 0 else r


def format_duration(ns):
    """Format nanoseconds the way InfluxQL does (largest exact unit)."""
    if ns == 0:
        return "0s"
    for size, suffix in ((WEEK, "w"), (DAY, "d"), (HOUR, "h"), (MINUTE, "m"),
                         (SECOND, "s"), (MILLISECOND, "ms"),
                         (MICROSECOND, "u")):
        if _go_mod(ns, size) == 0:
            return "%d%s" % (ns // size, suffix)  # exact: no rounding
    return "%dns" % ns


def go_duration_string(ns):
    """Go's ``time.Duration.String()`` (``1h30m0s``, ``1.5s``, ``10ms``)."""
    if ns == 0:
        return "0s"
    sign = "-" if ns < 0 else ""
    u = abs(ns)
    if u < SECOND:
        for size, suffix in ((MILLISECOND, "ms"), (MICROSECOND, "µs"),
                             (NANOSECOND, "ns")):
            if u >= size:
                return sign + _frac(u, size) + suffix
    hours, rest = divmod(u, HOUR)
    minutes, rest = divmod(rest, MINUTE)
    seconds = _frac(rest, SECOND) + "s"
    if hours:
        return "%s%dh%dm%s" % (sign, hours, minutes, seconds)
    if minutes:
        return "%s%dm%s" % (sign, minutes, seconds)
    return sign + seconds


def _frac(value, size):
    whole, part = divmod(value, size)
    if not part:
        return str(whole)
    digits = len(str(size)) - 1
    return ("%d.%0*d" % (whole, digits, part)).rstrip("0")
