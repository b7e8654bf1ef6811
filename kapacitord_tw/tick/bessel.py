"""Bessel functions of the first and second kind (Go's ``math.J0``…``Yn``).

Python's ``math`` has none.  These use Bessel's integrals with composite
Gauss-Legendre quadrature, Miller's backward recurrence for ``Jn`` when the
order exceeds the argument, and Hankel's expansion for huge arguments.  They
agree with Go to about 1e-12 relative (not bit for bit); the special cases
(Inf, NaN, 0, negative arguments) are Go's.
"""

import math


def _legendre_nodes(n):
    nodes = []
    for i in range(1, n + 1):
        x = math.cos(math.pi * (i - 0.25) / (n + 0.5))
        for _ in range(100):
            p0, p1 = 1.0, x
            for k in range(2, n + 1):
                p0, p1 = p1, ((2 * k - 1) * x * p1 - (k - 1) * p0) / k
            dp = n * (x * p1 - p0) / (x * x - 1)
            step = p1 / dp
            x -= step
            if abs(step) < 1e-16:
                break
        nodes.append((x, 2 / ((1 - x * x) * dp * dp)))
    return nodes


_GL = _legendre_nodes(20)


def _integrate(f, a, b, panels):
    total = 0.0
    width = (b - a) / panels
    for p in range(panels):
        mid = a + (p + 0.5) * width
        half = width / 2
        total += half * sum(w * f(mid + half * x) for x, w in _GL)
    return total


def _hankel(n, x):
    """Large-argument expansion; returns (J_n(x), Y_n(x))."""
    mu = 4.0 * n * n
    p, q = 1.0, 0.0
    term = 1.0
    for k in range(1, 12):
        term *= (mu - (2 * k - 1) ** 2) / (k * 8 * x)
        if k % 2:
            q += term if (k // 2) % 2 == 0 else -term
        else:
            p += -term if (k // 2) % 2 else term
    # cos/sin of chi = x - phi without forming x - phi, which would lose
    # the low bits of a large x.
    phi = (n / 2 + 0.25) * math.pi
    cos_x, sin_x = math.cos(x), math.sin(x)
    cos_chi = cos_x * math.cos(phi) + sin_x * math.sin(phi)
    sin_chi = sin_x * math.cos(phi) - cos_x * math.sin(phi)
    scale = math.sqrt(2 / math.pi) / math.sqrt(x)
    return (scale * (p * cos_chi - q * sin_chi),
            scale * (p * sin_chi + q * cos_chi))


_HUGE = 1e4


def _j_series(n, x):
    term = (x / 2) ** n / math.factorial(n)
    total = term
    k = 0
    while abs(term) > 1e-18 * abs(total):
        k += 1
        term *= -(x * x / 4) / (k * (k + n))
        total += term
    return total


def _j_int(n, x):
    if x < 2:
        return _j_series(n, x)
    if x > _HUGE:
        return _hankel(n, x)[0]
    panels = max(2, int(x / 2) + 2)
    return _integrate(lambda t: math.cos(n * t - x * math.sin(t)),
                      0.0, math.pi, panels) / math.pi


_EULER = 0.5772156649015329


def _y_small(n, x):
    """Leading terms for x < 1e-6, where the integrals lose accuracy."""
    if n == 0:
        return (2 / math.pi) * (math.log(x) - math.log(2) + _EULER)
    try:
        return -2 / (math.pi * x)
    except OverflowError:
        return -math.inf


def _y_int(n, x):
    if x < 1e-6:
        return _y_small(n, x)
    if x > _HUGE:
        return _hankel(n, x)[1]
    panels = max(2, int(x / 2) + 2)
    first = _integrate(lambda t: math.sin(x * math.sin(t) - n * t),
                       0.0, math.pi, panels)
    sign = -1.0 if n % 2 else 1.0

    def tail(t):
        decay = x * math.sinh(t)
        return (math.exp(n * t - decay)
                + sign * math.exp(-n * t - decay))
    # The tail integrand is below 1e-18 of its size once x*sinh(t) - n*t
    # passes ~42; integrate up to there in panels short enough for its
    # initial decay rate x.
    upper = math.asinh((42 + n * 8) / x) + 0.5
    panels = max(4, int(upper * 4), int(upper * x / 4) + 1)
    second = _integrate(tail, 0.0, upper, panels)
    return (first - second) / math.pi


def j0(x):
    if math.isnan(x):
        return x
    if math.isinf(x):
        return 0.0
    return _j_int(0, abs(x))


def j1(x):
    if math.isnan(x):
        return x
    if math.isinf(x):
        return 0.0
    if abs(x) < 2 ** -27:
        return 0.5 * abs(x)  # Go returns before restoring the sign here
    value = _j_int(1, abs(x))
    return -value if x < 0 else value


def jn(n, x):
    if math.isnan(x):
        return x
    if math.isinf(x):
        return 0.0
    sign = 1.0
    if n < 0:
        n = -n
        sign = -1.0 if n % 2 else 1.0
    if x < 0:
        x = -x
        if n % 2:
            sign = -sign
    if n == 0:
        return sign * j0(x)
    if n == 1:
        return sign * j1(x)
    if x == 0:
        return 0.0
    if x > n:
        a, b = j0(x), j1(x)
        for k in range(1, n):
            a, b = b, (2 * k / x) * b - a
        return sign * b
    return sign * _miller(n, x)


def _miller(n, x):
    """J_n(x) for n >= x by backward recurrence, normalised with
    J0 + 2*(J2 + J4 + ...) = 1."""
    start = 2 * ((n + int(math.sqrt(60 * n)) + 20) // 2)
    nxt, cur = 0.0, 1e-300
    result = 0.0
    norm = 0.0
    for k in range(start, 0, -1):
        prev = (2 * k / x) * cur - nxt
        nxt, cur = cur, prev
        if abs(cur) > 1e250:
            cur *= 1e-250
            nxt *= 1e-250
            result *= 1e-250
            norm *= 1e-250
        if k - 1 == n:
            result = cur
        if (k - 1) % 2 == 0 and k - 1 > 0:
            norm += 2 * cur
    norm += cur
    return result / norm


def y0(x):
    if math.isnan(x) or x < 0:
        return math.nan
    if x == 0:
        return -math.inf
    if math.isinf(x):
        return 0.0
    return _y_int(0, x)


def y1(x):
    if math.isnan(x) or x < 0:
        return math.nan
    if x == 0:
        return -math.inf
    if math.isinf(x):
        return 0.0
    return _y_int(1, x)


def yn(n, x):
    sign = 1.0
    if n < 0:
        n = -n
        sign = -1.0 if n % 2 else 1.0
    if math.isnan(x) or x < 0:
        return math.nan
    if math.isinf(x):
        return 0.0
    if x == 0:
        return -math.inf * sign if n else -math.inf
    if n == 0:
        return y0(x)
    a, b = y0(x), y1(x)
    for k in range(1, n):
        if math.isinf(b):
            break
        a, b = b, (2 * k / x) * b - a
    return sign * b
