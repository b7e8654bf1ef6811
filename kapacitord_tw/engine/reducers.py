"""The InfluxQL functions as pure functions over one group's values.

Kapacitor feeds its InfluxQL nodes through InfluxDB 1.x's query reducers
(``query.FloatMeanReducer``, ``FloatFuncReducer(FloatMinReduce)``...).
Here an aggregate or selector is one call over the whole list of values
(the batch, or the stream points sharing one time), using builtins where
they give Go's exact result, and a *transformation* (``elapsed``,
``difference``, ``movingAverage``, ``cumulativeSum``) is a small state
object fed one point at a time, as the query package's streaming reducers
are.

A reduce function takes ``(values, points)`` -- parallel lists, every value
of one Python type -- and returns a list of ``(time, value, index)``:
``time`` is the result point's time or :data:`ZERO_TIME` (InfluxDB's
``ZeroTime``: "no time of its own", the node then uses the batch time);
``index`` is the position of the selected point in ``points`` (selectors,
top/bottom: its tags and fields go with the result) or ``-1``.

Go's arithmetic is kept where it shows: float sums add left to right (not
``math.fsum``), int64 sums, spreads and differences wrap, an integer mean
divides two float64s, and integer division truncates toward zero.
"""

from __future__ import annotations

import heapq
import math
import sys
from functools import reduce
from operator import add
from typing import Callable, Dict, List, Optional, Tuple

from kapacitord_tw.tick.gonum import int_div, wrap_int64

__all__ = [
    "FOLDS",
    "ZERO_TIME",
    "Method",
    "METHODS",
    "go_type",
]

#: ``query.ZeroTime`` (``influxql.MinTime - 1`` is ``math.MinInt64``).
ZERO_TIME = -(1 << 63)

_INT64_MIN = -(1 << 63)
_INT64_MAX = (1 << 63) - 1

Result = Tuple[int, object, int]

if sys.version_info < (3, 12):
    #: Left-to-right float64 addition (CPython < 3.12 ``sum`` does exactly that).
    float_sum = sum
else:  # pragma: no cover - 3.12's sum() compensates rounding; Go does not
    def float_sum(values):
        return reduce(add, values, 0.0)


def _int_sum(values) -> int:
    total = sum(values)
    if _INT64_MIN <= total <= _INT64_MAX:
        return total
    return wrap_int64(total)


_GO_TYPES = {float: "float64", int: "int64", str: "string", bool: "bool"}


def go_type(kind) -> str:
    """The Go type name (``%T``) of a field value's Python type."""
    return _GO_TYPES.get(kind, getattr(kind, "__name__", str(kind)))


# ------------------------------------------------------------ aggregates


def count(values, points) -> List[Result]:
    return [(ZERO_TIME, len(values), -1)]


def sum_float(values, points) -> List[Result]:
    # FloatSumReduce keeps the initial point's time, 0 (not ZeroTime).
    return [(0, float_sum(values), -1)]


def sum_int(values, points) -> List[Result]:
    return [(0, _int_sum(values), -1)]


def mean_float(values, points) -> List[Result]:
    return [(ZERO_TIME, float_sum(values) / len(values), -1)]


def mean_int(values, points) -> List[Result]:
    return [(ZERO_TIME, float(_int_sum(values)) / float(len(values)), -1)]


#: The aggregates of float values that a sum and a count answer, as
#: ``(sum of the values added left to right, their count) -> results``:
#: what a folding window's child gives (see ``nodes.window``); each is its
#: reduce function's result for the values themselves.
FOLDS = {
    "count": lambda total, n: [(ZERO_TIME, n, -1)],
    "sum": lambda total, n: [(0, total, -1)],
    "mean": lambda total, n: [(ZERO_TIME, total / n, -1)],
}


def median_float(values, points) -> List[Result]:
    n = len(values)
    if n == 1:  # FloatMedianReduceSlice returns the point itself
        return [(points[0].time, values[0], -1)]
    ordered = sorted(values)
    if n % 2 == 0:
        lo, hi = ordered[n // 2 - 1], ordered[n // 2]
        return [(ZERO_TIME, lo + (hi - lo) / 2, -1)]
    return [(ZERO_TIME, ordered[n // 2], -1)]


def median_int(values, points) -> List[Result]:
    n = len(values)
    if n == 1:
        return [(ZERO_TIME, float(values[0]), -1)]
    ordered = sorted(values)
    if n % 2 == 0:
        lo, hi = ordered[n // 2 - 1], ordered[n // 2]
        return [(ZERO_TIME, float(lo) + float(wrap_int64(hi - lo)) / 2, -1)]
    return [(ZERO_TIME, float(ordered[n // 2]), -1)]


def mode(values, points) -> List[Result]:
    """``FloatModeReduceSlice``: the most frequent value; on a tie, the value
    whose run (in value order) reached that count at the earliest time."""
    if len(values) == 1:
        return [(points[0].time, values[0], -1)]
    order = sorted(range(len(values)), key=values.__getitem__)
    first = order[0]
    most_freq = curr_freq = 0
    curr_mode = most_mode = values[first]
    most_time = curr_time = points[first].time
    for i in order:
        v = values[i]
        if v != curr_mode:
            curr_freq = 1
            curr_mode = v
            curr_time = points[i].time
            continue
        curr_freq += 1
        if most_freq > curr_freq or (most_freq == curr_freq and curr_time > most_time):
            continue
        most_freq = curr_freq
        most_mode = v
        most_time = points[i].time
    return [(ZERO_TIME, most_mode, -1)]


def _has_nan(values) -> bool:
    return any(v != v for v in values)


def spread_float(values, points) -> List[Result]:
    if _has_nan(values):  # math.Min/math.Max propagate NaN
        return [(ZERO_TIME, math.nan, -1)]
    return [(ZERO_TIME, max(values) - min(values), -1)]


def spread_int(values, points) -> List[Result]:
    return [(ZERO_TIME, wrap_int64(max(values) - min(values)), -1)]


def stddev_float(values, points) -> List[Result]:
    """Sample standard deviation (n - 1), NaN values skipped; one point gives NaN."""
    if len(values) < 2:
        return [(ZERO_TIME, math.nan, -1)]
    mean = 0.0
    count = 0
    for v in values:
        if v != v:
            continue
        count += 1
        mean += (v - mean) / count
    variance = 0.0
    for v in values:
        if v != v:
            continue
        d = v - mean
        variance += d * d
    return [(ZERO_TIME, _sqrt(variance / (count - 1)), -1)]


def stddev_int(values, points) -> List[Result]:
    if len(values) < 2:
        return [(ZERO_TIME, math.nan, -1)]
    mean = 0.0
    count = 0
    for v in values:
        count += 1
        mean += (float(v) - mean) / count
    variance = 0.0
    for v in values:
        d = float(v) - mean
        variance += d * d
    return [(ZERO_TIME, _sqrt(variance / (count - 1)), -1)]


def _sqrt(x: float) -> float:
    return math.sqrt(x) if x >= 0 else math.nan


def distinct(values, points) -> List[Result]:
    """One point per value (the first seen), ordered by time then value."""
    seen: Dict[object, int] = {}
    for i, v in enumerate(values):
        if v not in seen:
            seen[v] = i
    found = sorted(((points[i].time, v) for v, i in seen.items()))
    return [(t, v, -1) for t, v in found]


# ------------------------------------------------------------- selectors


def _scan_best(candidates, values, better) -> int:
    best = candidates[0]
    for i in candidates[1:]:
        if better(values[i], values[best]):
            best = i
    return best


def _greater(a, b) -> bool:
    return a > b


def _false_over_true(a, b) -> bool:
    return (not a) and b


def _true_over_false(a, b) -> bool:
    return a and not b


def _selector(index: int, values, points) -> List[Result]:
    return [(points[index].time, values[index], index)]


def _first(values, points, tie) -> List[Result]:
    times = [p.time for p in points]
    tmin = min(times)
    candidates = [i for i, t in enumerate(times) if t == tmin]
    return _selector(_scan_best(candidates, values, tie), values, points)


def _last(values, points, tie) -> List[Result]:
    times = [p.time for p in points]
    tmax = max(times)
    candidates = [i for i, t in enumerate(times) if t == tmax]
    return _selector(_scan_best(candidates, values, tie), values, points)


def first(values, points) -> List[Result]:
    """The earliest point; at equal times the larger value (``FloatFirstReduce``)."""
    return _first(values, points, _greater)


def first_bool(values, points) -> List[Result]:
    return _first(values, points, _false_over_true)


def last(values, points) -> List[Result]:
    """The latest point; at equal times the larger value (``FloatLastReduce``)."""
    return _last(values, points, _greater)


def last_bool(values, points) -> List[Result]:
    return _last(values, points, _true_over_false)


def _extreme(values, points, pick, replaces) -> List[Result]:
    if _has_nan(values):  # Go's comparisons in arrival order
        best = 0
        for i in range(1, len(values)):
            v, b = values[i], values[best]
            if replaces(v, b) or (v == b and points[i].time < points[best].time):
                best = i
        return _selector(best, values, points)
    target = pick(values)
    best = -1
    for i, v in enumerate(values):
        if v == target and (best < 0 or points[i].time < points[best].time):
            best = i
    return _selector(best, values, points)


def _less(a, b) -> bool:
    return a < b


def minimum(values, points) -> List[Result]:
    """The smallest value; among equal values the earliest point (``FloatMinReduce``)."""
    return _extreme(values, points, min, _less)


def maximum(values, points) -> List[Result]:
    """The largest value; among equal values the earliest point (``FloatMaxReduce``)."""
    return _extreme(values, points, max, _greater)


def percentile(p: float) -> Callable:
    """Nearest rank, no interpolation: ``sorted[floor(n*p/100 + 0.5) - 1]``, or nothing."""

    def reduce_percentile(values, points) -> List[Result]:
        rank = len(values) * p / 100.0 + 0.5
        if not math.isfinite(rank):
            return []
        i = int(math.floor(rank)) - 1
        if i < 0 or i >= len(values):
            return []
        order = sorted(range(len(values)), key=values.__getitem__)
        return _selector(order[i], values, points)

    return reduce_percentile


def top(n: int) -> Callable:
    """The ``n`` largest values, largest first; equal values earliest first."""

    def reduce_top(values, points) -> List[Result]:
        best = heapq.nsmallest(n, range(len(values)),
                               key=lambda i: (-values[i], points[i].time))
        return [(points[i].time, values[i], i) for i in best]

    return reduce_top


def bottom(n: int) -> Callable:
    """The ``n`` smallest values, smallest first; equal values earliest first."""

    def reduce_bottom(values, points) -> List[Result]:
        best = heapq.nsmallest(n, range(len(values)),
                               key=lambda i: (values[i], points[i].time))
        return [(points[i].time, values[i], i) for i in best]

    return reduce_bottom


# ------------------------------------------------------- transformations
#
# Fed one point at a time (``add``), asked for a result after each
# (``emit``: a list of at most one ``(time, value)``), like the query
# package's streaming reducers -- including their quirks: ``elapsed`` and
# ``cumulativeSum`` repeat their last result when a point could not be
# added, ``difference`` does not.


class Elapsed:
    __slots__ = ("unit", "prev", "curr")

    def __init__(self, unit: int):
        self.unit = unit
        self.prev: Optional[int] = None
        self.curr: Optional[int] = None

    def add(self, t: int, v) -> None:
        self.prev = self.curr
        self.curr = t

    def emit(self) -> list:
        if self.prev is None:
            return []
        return [(self.curr, int_div(self.curr - self.prev, self.unit))]


class Difference:
    __slots__ = ("integer", "prev", "curr", "unread")

    def __init__(self, integer: bool):
        self.integer = integer
        self.prev = None
        self.curr = None
        self.unread = False

    def add(self, t: int, v) -> None:
        curr = self.curr
        if curr is not None and curr[0] == t:
            return  # a point that does not advance the stream is skipped
        self.prev = curr
        self.curr = (t, v)
        self.unread = curr is not None

    def emit(self) -> list:
        if not self.unread:
            return []
        self.unread = False
        value = self.curr[1] - self.prev[1]
        if self.integer:
            value = wrap_int64(value)
        return [(self.curr[0], value)]


class MovingAverage:
    __slots__ = ("size", "integer", "pos", "total", "time", "buf")

    def __init__(self, size: int, integer: bool):
        self.size = size
        self.integer = integer
        self.pos = 0
        self.total = 0 if integer else 0.0
        self.time = 0
        self.buf: list = []

    def add(self, t: int, v) -> None:
        buf = self.buf
        if len(buf) != self.size:
            buf.append(v)
        else:
            self.total -= buf[self.pos]
            buf[self.pos] = v
        self.total += v
        if self.integer:
            self.total = wrap_int64(self.total)
        self.time = t
        self.pos += 1
        if self.pos >= self.size:
            self.pos = 0

    def emit(self) -> list:
        if len(self.buf) != self.size:
            return []
        return [(self.time, float(self.total) / float(self.size))]


class CumulativeSum:
    __slots__ = ("integer", "total", "time", "seen")

    def __init__(self, integer: bool):
        self.integer = integer
        self.total = 0 if integer else 0.0
        self.time = 0
        self.seen = False

    def add(self, t: int, v) -> None:
        self.total += v
        if self.integer:
            self.total = wrap_int64(self.total)
        self.time = t
        self.seen = True

    def emit(self) -> list:
        return [(self.time, self.total)] if self.seen else []


# --------------------------------------------------------------- methods


class Method:
    """One InfluxQL method: which field types it takes and what it does with them.

    ``build(args)`` returns ``{python type: reduce function}`` (aggregates,
    selectors) or ``{python type: state factory}`` (transformations).
    """

    __slots__ = ("name", "build", "empty_ok", "selector", "transformation")

    def __init__(self, name: str, build: Callable[[list], dict], empty_ok: bool = False,
                 selector: bool = False, transformation: bool = False):
        self.name = name
        self.build = build
        self.empty_ok = empty_ok
        self.selector = selector
        self.transformation = transformation


def _same(fn) -> Callable[[list], dict]:
    return lambda args: {float: fn, int: fn}


def _all(fn, bool_fn=None) -> Callable[[list], dict]:
    return lambda args: {float: fn, int: fn, str: fn, bool: bool_fn or fn}


def _holt_winters(args) -> dict:
    from kapacitord_tw.engine.holtwinters import holt_winters

    h, m, interval, with_fit = int(args[0]), int(args[1]), _ns(args[2]), bool(args[3])
    fn = holt_winters(h, m, interval, with_fit)
    return {float: fn, int: fn}


def _ns(value) -> int:
    return int(getattr(value, "nanoseconds", value))


def _elapsed(args) -> dict:
    unit = _ns(args[0])
    factory = lambda: Elapsed(unit)  # noqa: E731
    return {float: factory, int: factory, str: factory, bool: factory}


def _moving_average(args) -> dict:
    size = int(args[0])
    return {float: lambda: MovingAverage(size, False), int: lambda: MovingAverage(size, True)}


METHODS: Dict[str, Method] = {m.name: m for m in (
    Method("count", _all(count), empty_ok=True),
    Method("distinct", _all(distinct)),
    Method("mean", lambda args: {float: mean_float, int: mean_int}),
    Method("median", lambda args: {float: median_float, int: median_int}),
    Method("mode", _same(mode)),
    Method("spread", lambda args: {float: spread_float, int: spread_int}),
    Method("sum", lambda args: {float: sum_float, int: sum_int}, empty_ok=True),
    Method("first", _all(first, first_bool), selector=True),
    Method("last", _all(last, last_bool), selector=True),
    Method("min", _same(minimum), selector=True),
    Method("max", _same(maximum), selector=True),
    Method("percentile", lambda args: _same(percentile(float(args[0])))(args), selector=True),
    Method("top", lambda args: _same(top(int(args[0])))(args)),
    Method("bottom", lambda args: _same(bottom(int(args[0])))(args)),
    Method("stddev", lambda args: {float: stddev_float, int: stddev_int}),
    Method("elapsed", _elapsed, transformation=True),
    Method("difference", lambda args: {float: lambda: Difference(False),
                                       int: lambda: Difference(True)}, transformation=True),
    Method("movingAverage", _moving_average, transformation=True),
    Method("cumulativeSum", lambda args: {float: lambda: CumulativeSum(False),
                                          int: lambda: CumulativeSum(True)},
           transformation=True),
    Method("holtWinters", _holt_winters),
)}
