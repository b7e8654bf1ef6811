"""``holtWinters()``: InfluxDB's damped Holt-Winters forecast, step for step.

The fit is InfluxDB 1.x's (``query.FloatHoltWintersReducer`` with its
``neldermead`` optimizer): a Nelder-Mead search from each of 16 starting
guesses for (alpha, beta, gamma, phi), minimising the sum of squared
errors of the one-step forecast.  The arithmetic is kept in Go's order --
including the optimizer's vertices being clamped in place by the
forecast, and the seasonal factors being updated in the parameter vector
itself -- so forecasts come out bit for bit as Kapacitor's.

The cost is bounded by the optimizer (at most 1000 iterations per guess)
and linear in the number of points of the window, which the task's window
already bounds.
"""

from __future__ import annotations

import math
from typing import Callable, List

from kapacitord_tw.engine.reducers import Result, float_sum
from kapacitord_tw.tick.gonum import float_div

#: Arbitrary weight for the initial level and trend guesses.
_WEIGHT = 0.5
_EPSILON = 1.0e-4
#: The grid of starting guesses for alpha, beta, gamma and phi.
_GUESS_LOWER = 0.3
_GUESS_UPPER = 1.0
_GUESS_STEP = 0.4

_MAX_ITERATIONS = 1000
_NM_ALPHA = 1.0  # reflection
_NM_BETA = 0.5  # contraction
_NM_GAMMA = 2.0  # expansion

_NAN = math.nan


def go_pow_int(x: float, n: int) -> float:
    """Go's ``math.Pow(x, float64(n))`` for ``n >= 2`` and ``x`` in [0, 1]:
    repeated squaring of the mantissa, which may differ from C's ``pow`` in
    the last bit."""
    if x == 1:
        return 1.0
    if x != x:
        return _NAN
    if x == 0:
        return x if n & 1 else 0.0
    a1, ae = 1.0, 0
    x1, xe = math.frexp(x)
    i = n
    while i != 0:
        if xe < -(1 << 12) or (1 << 12) < xe:
            ae += xe
            break
        if i & 1:
            a1 *= x1
            ae += xe
        x1 *= x1
        xe <<= 1
        if x1 < 0.5:
            x1 += x1
            xe -= 1
        i >>= 1
    return math.ldexp(a1, ae)


def _pow(x: float, t: int) -> float:
    if t == 0:
        return 1.0
    if t == 1:
        return x
    return go_pow_int(x, t)


#: Below this, squares may turn subnormal and round differently from Go's
#: normalised mantissas.
_TINY = 2.0 ** -960


def powers(x: float, count: int) -> List[float]:
    """``[Pow(x, t) for t in range(count)]`` bit for bit as Go computes them.

    Go multiplies, from the lowest bit of ``t`` up, the squares ``x**(2**k)``
    (as mantissas; scaling by two is exact), so ``Pow(x, t)`` is
    ``Pow(x, t - 2**h) * x**(2**h)`` for the highest bit ``h`` of ``t``: one
    multiplication per ``t`` instead of a loop.
    """
    table = [1.0] * count
    if count < 2:
        return table
    squares = [x]
    while (1 << len(squares)) < count:
        squares.append(squares[-1] * squares[-1])
    table[1] = x
    for t in range(2, count):
        h = t.bit_length() - 1
        table[t] = table[t - (1 << h)] * squares[h]
    if x != x or x == 0 or x == 1 or abs(squares[-1]) < _TINY or abs(table[-1]) < _TINY:
        return [_pow(x, t) for t in range(count)]
    return table


def nelder_mead(objfunc: Callable[[List[float]], float], start: List[float],
                epsilon: float, scale: float):
    """``neldermead.Optimizer.Optimize`` with its defaults: (minimum, parameters).

    ``objfunc`` may change the vertex it is given (the forecast clamps it),
    and the simplex keeps that change, as in Go."""
    n = len(start)
    fn = float(n)
    sqrt2 = math.sqrt(2)
    pn = scale * (math.sqrt(float(n + 1)) - 1 + fn) / (fn * sqrt2)
    qn = scale * (math.sqrt(float(n + 1)) - 1) / (fn * sqrt2)
    v = [list(start)]
    for i in range(1, n + 1):
        v.append([(pn if i - 1 == j else qn) + start[j] for j in range(n)])
    f = [objfunc(row) for row in v]
    rows = range(n + 1)
    for _ in range(_MAX_ITERATIONS):
        # largest, smallest (first of equals) and second largest values
        vg = f.index(max(f))
        vs = f.index(min(f))
        vh = vs
        fg = f[vg]
        for i in rows:
            if f[vh] < f[i] < fg:
                vh = i
        worst = v[vg]
        vm = [float_sum(col) / fn for col in zip(*[v[m] for m in rows if m != vg])]
        vr = [c + _NM_ALPHA * (c - w) for c, w in zip(vm, worst)]
        fr = objfunc(vr)
        if f[vh] > fr >= f[vs]:
            worst[:] = vr
            f[vg] = fr
        if fr < f[vs]:
            ve = [c + _NM_GAMMA * (r - c) for c, r in zip(vm, vr)]
            fe = objfunc(ve)
            if fe < fr:
                worst[:] = ve
                f[vg] = fe
            else:
                worst[:] = vr
                f[vg] = fr
        if fr >= f[vh]:
            if f[vg] > fr >= f[vh]:
                vc = [c + _NM_BETA * (r - c) for c, r in zip(vm, vr)]  # outside
            else:
                vc = [c - _NM_BETA * (c - w) for c, w in zip(vm, worst)]  # inside
            fc = objfunc(vc)
            if fc < f[vg]:
                worst[:] = vc
                f[vg] = fc
            else:
                # shrink every vertex halfway towards the best one
                best = v[vs]
                for row_i in rows:
                    if row_i != vs:
                        row = v[row_i]
                        row[:] = [b + (x - b) / 2.0 for b, x in zip(best, row)]
                f[vg] = objfunc(v[vg])
                f[vh] = objfunc(v[vh])
        favg = float_sum(f) / float(n + 1)
        spread = 0.0
        for value in f:
            d = value - favg
            spread += d * d / fn
        if math.sqrt(spread) < epsilon:
            break
    vs = f.index(min(f))
    parameters = list(v[vs])
    return objfunc(v[vs]), parameters


def _forecast_flat(yT, alpha, beta, phi, lT, bT, total, pw) -> List[float]:
    """The forecast without seasons (every seasonal factor is 1)."""
    out = [yT]
    append = out.append
    phiH = phi
    one_alpha, one_beta = 1 - alpha, 1 - beta
    for t in range(1, total):
        lTp = lT
        lT = alpha * yT + one_alpha * (lTp + phi * bT)
        bT = beta * (lT - lTp) + one_beta * phi * bT
        yT = lT + phiH * bT
        phiH += pw[t]
        append(yT)
    return out


def _sse_flat(y, alpha, beta, phi, lT, bT, pw) -> float:
    """``sse(forecast(0, params))`` without seasons, in one pass."""
    yT = y[0]
    total = 0.0
    if yT == yT:
        total += 0.0  # the first forecast is the first value
    phiH = phi
    one_alpha, one_beta = 1 - alpha, 1 - beta
    for t in range(1, len(y)):
        lTp = lT
        lT = alpha * yT + one_alpha * (lTp + phi * bT)
        bT = beta * (lT - lTp) + one_beta * phi * bT
        yT = lT + phiH * bT
        phiH += pw[t]
        yt = y[t]
        if yt == yt:
            if yT != yT:
                return math.inf
            d = yT - yt
            total += d * d
    return total


class _Fit:
    """The series on a regular grid (NaN where a bucket had no point) and its model."""

    __slots__ = ("y", "m", "seasonal")

    def __init__(self, y: List[float], m: int, seasonal: bool):
        self.y = y
        self.m = m
        self.seasonal = seasonal

    def forecast(self, h: int, params: List[float]) -> List[float]:
        # Clamp alpha, beta, gamma, phi into [0, 1] -- in place, as Go does.
        for k in range(4):
            if params[k] > 1:
                params[k] = 1.0
            if params[k] < 0:
                params[k] = 0.0
        y = self.y
        total = len(y) + h
        alpha, beta, gamma, phi = params[0], params[1], params[2], params[3]
        pw = powers(phi, total)
        if not self.seasonal:
            return _forecast_flat(y[0], alpha, beta, phi, params[4], params[5], total, pw)
        yT = y[0]
        phiH = phi
        lT = params[4]
        bT = params[5]
        # The seasonal factors live in params[6:] and are updated there.
        m = len(params) - 6
        if m == 1:
            params[6] = 1.0
        so = m - 1
        forecasted = [0.0] * total
        forecasted[0] = yT
        one_alpha, one_beta, one_gamma = 1 - alpha, 1 - beta, 1 - gamma
        for t in range(1, total):
            hm = t % m
            stm = params[6 + (t - m + so) % m]
            stmh = params[6 + (t - m + hm + so) % m]
            lTp, bTp = lT, bT
            lT = alpha * float_div(yT, stm) + one_alpha * (lTp + phi * bTp)
            bT = beta * (lT - lTp) + one_beta * phi * bTp
            sT = gamma * float_div(yT, lTp + phi * bTp) + one_gamma * stm
            yT = (lT + phiH * bT) * stmh
            phiH += pw[t]
            params[6 + (t + so) % m] = sT
            so += 1
            forecasted[t] = yT
        return forecasted

    def sse(self, params: List[float]) -> float:
        if not self.seasonal:
            for k in range(4):
                if params[k] > 1:
                    params[k] = 1.0
                if params[k] < 0:
                    params[k] = 0.0
            y = self.y
            return _sse_flat(y, params[0], params[1], params[3], params[4], params[5],
                             powers(params[3], len(y)))
        total = 0.0
        y = self.y
        for i, f in enumerate(self.forecast(0, params)):
            yi = y[i]
            if yi == yi:
                if f != f:
                    return math.inf
                d = f - yi
                total += d * d
        return total


def holt_winters(h: int, m: int, interval: int, include_fit: bool) -> Callable:
    """A reduce function (see :mod:`reducers`) forecasting ``h`` points ``interval`` apart."""
    seasonal = m >= 2
    half = interval // 2 if interval > 0 else 0

    def round_time(t: int) -> int:
        # Go's / and % truncate toward zero.
        q = abs(t) // interval
        q = q if t >= 0 else -q
        remainder = t - q * interval
        if remainder > half:
            return (q + 1) * interval
        return q * interval

    def reduce_holt_winters(values, points) -> List[Result]:
        n = len(values)
        if n < 2 or (seasonal and n < m) or h <= 0 or interval <= 0:
            return []
        times = [p.time for p in points]
        start, stop = round_time(times[0]), round_time(times[-1])
        if (stop - start) // interval <= 0:
            return []
        y = [float(values[0])]
        t = start
        for i in range(1, n):
            rounded = round_time(times[i])
            if rounded <= t:
                continue  # one value per time bucket
            t += interval
            while rounded != t:
                y.append(_NAN)
                t += interval
            y.append(float(values[i]))
        fit = _Fit(y, m, seasonal)

        l0 = 0.0
        if seasonal:
            for i in range(m):
                if y[i] == y[i]:
                    l0 += (1 / float(m)) * y[i]
        else:
            l0 += _WEIGHT * y[0]
        b0 = 0.0
        if seasonal:
            i = 0
            while i < m and m + i < len(y):
                if y[i] == y[i] and y[m + i] == y[m + i]:
                    b0 += 1 / float(m * m) * (y[m + i] - y[i])
                i += 1
        elif y[1] == y[1]:
            b0 = _WEIGHT * (y[1] - y[0])
        season: List[float] = []
        if seasonal:
            season = [float_div(y[i], l0) if y[i] == y[i] else 0.0 for i in range(m)]
        parameters = [0.0] * 4 + [l0, b0] + season

        min_sse = math.inf
        best = None
        alpha = _GUESS_LOWER
        while alpha < _GUESS_UPPER:
            beta = _GUESS_LOWER
            while beta < _GUESS_UPPER:
                gamma = _GUESS_LOWER
                while gamma < _GUESS_UPPER:
                    phi = _GUESS_LOWER
                    while phi < _GUESS_UPPER:
                        parameters[0:4] = (alpha, beta, gamma, phi)
                        sse, params = nelder_mead(fit.sse, parameters, _EPSILON, 1)
                        if sse < min_sse or best is None:
                            min_sse, best = sse, params
                        phi += _GUESS_STEP
                    gamma += _GUESS_STEP
                beta += _GUESS_STEP
            alpha += _GUESS_STEP

        forecasted = fit.forecast(h, best)
        out: List[Result] = []
        if include_fit:
            first = times[0]
            for i, v in enumerate(forecasted):
                if v == v:
                    out.append((first + interval * i, v, -1))
        else:
            last = times[-1]
            for i, v in enumerate(forecasted[len(y):]):
                if v == v:
                    out.append((last + interval * (i + 1), v, -1))
        return out

    return reduce_holt_winters
