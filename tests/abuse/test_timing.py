"""An unknown user costs the same bcrypt work as a wrong password (no user
enumeration by timing, reference §10 #5), measured on the real daemon.

Timing under a busy machine only ever adds time, so the check compares the
*fastest* of many interleaved samples (wrong, unknown, wrong, ...): the
minimum is what the request itself costs, noise cannot lower it, and both
kinds see the same machine.  A leak (an unknown user answered without the
bcrypt work) is a difference of ~50x and fails every attempt; the 20% bound
is retried a few times so one unlucky stretch of load cannot flap it.
"""

import time


from tests.support.daemon import Daemon, free_port, write_config

PAIRS = 12
ATTEMPTS = 3


def _timed(daemon, user, password):
    start = time.perf_counter()
    status, _h, _b = daemon.request("GET", "/kapacitor/v1/ping", auth=(user, password))
    elapsed = time.perf_counter() - start
    assert status == 401
    return elapsed


def _interleaved(daemon, pairs):
    wrong, unknown = [], []
    for i in range(pairs):
        # Alternate which kind goes first, so neither always follows the other.
        order = [("alice", wrong), ("nobody", unknown)]
        if i % 2:
            order.reverse()
        for user, times in order:
            times.append(_timed(daemon, user, "wrong-pw"))
    return min(wrong), min(unknown)


def test_unknown_user_and_wrong_password_take_the_same_time(tmp_path):
    port = free_port()
    conf = write_config(tmp_path / "k.conf", tmp_path / "data", port, http_auth=False, cost=10)
    # A budget high enough that throttling never answers early.
    text = (tmp_path / "k.conf").read_text().replace(
        'meta-addr = ""', 'meta-addr = ""\n  login-failures-budget = 100000'
    )
    (tmp_path / "k.conf").write_text(text)
    with Daemon(conf, port) as d:
        status, _h, _b = d.request(
            "POST", "/kapacitor/v1/users", {"name": "alice", "password": "right-pw", "type": "admin"}
        )
        assert status == 200
    with Daemon(conf, port, env={"KAPACITOR_HTTP_AUTH_ENABLED": "true"}) as d:
        _interleaved(d, 2)  # warm-up
        seen = []
        for _ in range(ATTEMPTS):
            fastest_wrong, fastest_unknown = _interleaved(d, PAIRS)
            seen.append((fastest_unknown, fastest_wrong))
            assert fastest_wrong > 0.01, "bcrypt-cost 10 must cost real time"
            if abs(fastest_unknown - fastest_wrong) / fastest_wrong <= 0.20:
                break
        else:
            raise AssertionError(f"unknown vs wrong password (fastest, s): {seen}")
