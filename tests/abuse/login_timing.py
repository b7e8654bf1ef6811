"""
Timing of refused logins on the real daemon: a wrong password for a user
that exists against any password for a user that does not.  Shared by the
CI check (``test_timing.py``) and the strict figure of ``python -m
benchmarks`` (``login_timing``).

Samples come in back-to-back pairs (wrong, unknown), the order alternating,
so both kinds of a pair see the same machine; the statistic is the *median
of the per-pair ratios* unknown ÷ wrong.  A busy machine stretches single
requests (a preempted bcrypt thread doubles one sample), which moves single
ratios either way but not their median; the fastest sample of each kind,
by contrast, depends on which kind happened to get a quiet moment.  A leak
(an unknown user answered without the bcrypt work) makes every pair ratio
about 0.05 at bcrypt cost 10, far outside any bound used here.
"""

from __future__ import annotations

import statistics
import time
from contextlib import contextmanager
from typing import List, Tuple

import attrs

from tests.support.daemon import Daemon, free_port, write_config

KNOWN, UNKNOWN = "alice", "nobody"


@attrs.frozen
class Sample:
    """One attempt: the seconds of each refused login, pair by pair."""

    wrong: Tuple[float, ...]
    unknown: Tuple[float, ...]

    @property
    def ratios(self) -> List[float]:
        return [u / w for w, u in zip(self.wrong, self.unknown)]

    @property
    def median_ratio(self) -> float:
        """Median of unknown ÷ wrong over the pairs: the statistic checked."""
        return statistics.median(self.ratios)

    @property
    def fastest_ratio(self) -> float:
        return min(self.unknown) / min(self.wrong)

    def within(self, bound: float) -> bool:
        """The median ratio is within ``bound`` (0.2: 20%) either way."""
        return 1 / (1 + bound) <= self.median_ratio <= 1 + bound

    def describe(self) -> str:
        ms = [round(t * 1000) for t in (min(self.wrong), statistics.median(self.wrong),
                                        min(self.unknown), statistics.median(self.unknown))]
        return (f"median pair ratio {self.median_ratio:.3f}, fastest ratio {self.fastest_ratio:.3f} "
                f"(wrong password fastest/median {ms[0]}/{ms[1]} ms, unknown user {ms[2]}/{ms[3]} ms, "
                f"{len(self.wrong)} pairs)")


def configure(tmp_path, cost: int = 10):
    """A config file and port for the daemon, with ``alice`` stored (auth off
    while she is created, as an operator would bootstrap)."""
    port = free_port()
    conf = write_config(tmp_path / "k.conf", tmp_path / "data", port, http_auth=False, cost=cost)
    # A budget high enough that throttling never answers early.
    text = (tmp_path / "k.conf").read_text().replace(
        'meta-addr = ""', 'meta-addr = ""\n  login-failures-budget = 1000000'
    )
    (tmp_path / "k.conf").write_text(text)
    with Daemon(conf, port) as d:
        status, _h, body = d.request(
            "POST", "/kapacitor/v1/users", {"name": KNOWN, "password": "right-pw", "type": "admin"}
        )
        assert status == 200, body
    return conf, port


@contextmanager
def auth_daemon(tmp_path, cost: int = 10):
    conf, port = configure(tmp_path, cost)
    with Daemon(conf, port, env={"KAPACITOR_HTTP_AUTH_ENABLED": "true"}) as d:
        measure(d, 2)  # warm-up: the dummy hash, the bcrypt threads, the code paths
        yield d


def _refused(daemon, user: str) -> float:
    start = time.perf_counter()
    status, _h, _b = daemon.request("GET", "/kapacitor/v1/ping", auth=(user, "wrong-pw"))
    elapsed = time.perf_counter() - start
    assert status == 401, status
    return elapsed


def measure(daemon, pairs: int) -> Sample:
    wrong: List[float] = []
    unknown: List[float] = []
    for i in range(pairs):
        order = [(KNOWN, wrong), (UNKNOWN, unknown)]
        if i % 2:
            order.reverse()
        for user, times in order:
            times.append(_refused(daemon, user))
    return Sample(tuple(wrong), tuple(unknown))
