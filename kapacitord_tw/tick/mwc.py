"""The random number generator behind TICKscript's ``rand()``.

Kapacitor's ``rand()`` draws from a 64-bit multiply-with-carry generator of
lag 3 (``github.com/zeebo/mwc``), not from Go's ``math/rand``.  Its output
for a given seed is part of what scripts and Kapacitor's own tests see
(``TestStream_EvalRand`` seeds it with 0), so it is reproduced here from
the algorithm: state ``(x1, x2, x3, c)``, multiplier ``M``; each step
computes ``M * x3 + c`` as a 128-bit value, shifts it in as the new ``x1``
(low half) and carry (high half), and outputs
``(x3 ^ x2) + (x1 ^ high(M * x3))`` mod 2**64.
"""

from __future__ import annotations

import secrets

__all__ = ["MWC"]

_MASK = (1 << 64) - 1
_M = 0xFEB344657C0AF413
#: The constants the seeding starts from (a fixed pre-state and carry).
_K = 0xCAFEF00DD15EA5E5
_C = 0x14057B7EF767814F


class MWC:
    """One generator; not thread-safe (each expression owns its own)."""

    __slots__ = ("x1", "x2", "x3", "c")

    def __init__(self, k1: int, k2: int):
        self._init(k1 & _MASK, k2 & _MASK)

    @classmethod
    def seeded(cls, seed: int) -> "MWC":
        """``T.Seed(seed)``: both keys are the seed."""
        return cls(seed, seed)

    @classmethod
    def random(cls) -> "MWC":
        """A generator with unpredictable keys (what a running task gets)."""
        return cls(secrets.randbits(64), secrets.randbits(64))

    def _init(self, k1: int, k2: int) -> None:
        # Three multiply-with-carry steps mix the keys into the state; the
        # carries ripple through the additions as 64-bit adds with carry.
        m1 = _K * _M
        m1l, m1h = m1 & _MASK, m1 >> 64
        rs = (m1l + _C) & _MASK
        m4 = rs * _M
        m4l, m4h = m4 & _MASK, m4 >> 64
        m2 = k2 * _M
        m3 = k1 * _M
        s = (m2 & _MASK) + m1h
        x2, b = s & _MASK, s >> 64
        s = (m3 & _MASK) + (m2 >> 64) + b
        x1, b = s & _MASK, s >> 64
        m5 = x2 * _M
        m6 = x1 * _M
        s = m4l + (m3 >> 64) + b
        x3, b = s & _MASK, s >> 64
        s = (m5 & _MASK) + m4h + b
        x2, b = s & _MASK, s >> 64
        s = (m6 & _MASK) + (m5 >> 64) + b
        x1, b = s & _MASK, s >> 64
        self.x1, self.x2, self.x3 = x1, x2, x3
        self.c = ((m6 >> 64) + b) & _MASK

    def uint64(self) -> int:
        p = self.x3 * _M
        h, l = p >> 64, p & _MASK
        out = ((self.x3 ^ self.x2) + (self.x1 ^ h)) & _MASK
        s = l + self.c
        self.x3, self.x2 = self.x2, self.x1
        self.x1 = s & _MASK
        self.c = (h + (s >> 64)) & _MASK
        return out

    def uint64n(self, n: int) -> int:
        """Uniform in ``[0, n)`` by Lemire's multiply-and-reject (0 when n is 0)."""
        n &= _MASK
        if n == 0:
            return 0
        p = self.uint64() * n
        if (p & _MASK) < n:
            t = (-n) & _MASK
            if t >= n:
                t -= n
                if t >= n:
                    t %= n
            while (p & _MASK) < t:
                p = self.uint64() * n
        return p >> 64
