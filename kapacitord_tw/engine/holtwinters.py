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

from kapacitord_tw.engine.reducers import Result
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


def nelder_mead(objfunc: Callable[[List[float]], float], start: List[float],
                epsilon: float, scale: float):
    """``neldermead.Optimizer.Optimize`` with its defaults: (minimum, parameters)."""
    n = len(start)
    v = [list(start)] + [[0.0] * n for _ in range(n)]
    vr = [0.0] * n
    ve = [0.0] * n
    vc = [0.0] * n
    vm = [0.0] * n
    sqrt2 = math.sqrt(2)
    pn = scale * (math.sqrt(float(n + 1)) - 1 + float(n)) / (float(n) * sqrt2)
    qn = scale * (math.sqrt(float(n + 1)) - 1) / (float(n) * sqrt2)
    for i in range(1, n + 1):
        row = v[i]
        for j in range(n):
            row[j] = (pn if i - 1 == j else qn) + start[j]
    f = [objfunc(v[j]) for j in range(n + 1)]
    rng = range(n)
    rows = range(n + 1)
    fn = float(n)
    for _ in range(_MAX_ITERATIONS):
        vg = vs = 0
        for i in rows:
            if f[i] > f[vg]:
                vg = i
            if f[i] < f[vs]:
                vs = i
        vh = vs
        for i in rows:
            if f[i] > f[vh] and f[i] < f[vg]:
                vh = i
        worst = v[vg]
        for i in rng:
            cent = 0.0
            for m in rows:
                if m != vg:
                    cent += v[m][i]
            vm[i] = cent / fn
        for i in rng:
            vr[i] = vm[i] + _NM_ALPHA * (vm[i] - worst[i])
        fr = objfunc(vr)
        if fr < f[vh] and fr >= f[vs]:
            worst[:] = vr
            f[vg] = fr
        if fr < f[vs]:
            for i in rng:
                ve[i] = vm[i] + _NM_GAMMA * (vr[i] - vm[i])
            fe = objfunc(ve)
            if fe < fr:
                worst[:] = ve
                f[vg] = fe
            else:
                worst[:] = vr
                f[vg] = fr
        if fr >= f[vh]:
            if fr < f[vg] and fr >= f[vh]:
                for i in rng:
                    vc[i] = vm[i] + _NM_BETA * (vr[i] - vm[i])
            else:
                for i in rng:
                    vc[i] = vm[i] - _NM_BETA * (vm[i] - worst[i])
            fc = objfunc(vc)
            if fc < f[vg]:
                worst[:] = vc
                f[vg] = fc
            else:
                best = v[vs]
                for row_i in rows:
                    if row_i != vs:
                        row = v[row_i]
                        for i in rng:
                            row[i] = best[i] + (row[i] - best[i]) / 2.0
                f[vg] = objfunc(v[vg])
                f[vh] = objfunc(v[vh])
        fsum = 0.0
        for i in rows:
            fsum += f[i]
        favg = fsum / float(n + 1)
        s = 0.0
        for i in rows:
            d = f[i] - favg
            s += d * d / fn
        if math.sqrt(s) < epsilon:
            break
    vs = 0
    for i in rows:
        if f[i] < f[vs]:
            vs = i
    parameters = list(v[vs])
    return objfunc(v[vs]), parameters


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
        yT = y[0]
        alpha, beta, gamma, phi = params[0], params[1], params[2], params[3]
        phiH = phi
        lT = params[4]
        bT = params[5]
        seasonal = self.seasonal
        m = so = 0
        if seasonal:
            # The seasonal factors live in params[6:] and are updated there.
            m = len(params) - 6
            if m == 1:
                params[6] = 1.0
            so = m - 1
        length = len(y)
        forecasted = [0.0] * (length + h)
        forecasted[0] = yT
        stm = stmh = 1.0
        one_alpha, one_beta, one_gamma = 1 - alpha, 1 - beta, 1 - gamma
        for t in range(1, length + h):
            if seasonal:
                hm = t % m
                stm = params[6 + (t - m + so) % m]
                stmh = params[6 + (t - m + hm + so) % m]
            lTp, bTp = lT, bT
            if seasonal:
                lT = alpha * float_div(yT, stm) + one_alpha * (lTp + phi * bTp)
                bT = beta * (lT - lTp) + one_beta * phi * bTp
                sT = gamma * float_div(yT, lTp + phi * bTp) + one_gamma * stm
            else:  # the seasonal factor is 1 and sT unused
                lT = alpha * yT + one_alpha * (lTp + phi * bTp)
                bT = beta * (lT - lTp) + one_beta * phi * bTp
            yT = (lT + phiH * bT) * stmh
            phiH += _pow(phi, t)
            if seasonal:
                params[6 + (t + so) % m] = sT
                so += 1
            forecasted[t] = yT
        return forecasted

    def sse(self, params: List[float]) -> float:
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
