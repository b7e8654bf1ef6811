"""An unknown user costs the same bcrypt work as a wrong password (no user
enumeration by timing, reference §10 #5), measured on the real daemon."""

import statistics
import time


from tests.support.daemon import Daemon, free_port, write_config



def _timed(daemon, user, password, rounds):
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        status, _h, _b = daemon.request("GET", "/kapacitor/v1/ping", auth=(user, password))
        times.append(time.perf_counter() - start)
        assert status == 401
    return times


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
        _timed(d, "alice", "warm-up", 2)
        _timed(d, "nobody", "warm-up", 2)
        wrong, unknown = [], []
        for _ in range(4):
            wrong += _timed(d, "alice", "wrong-pw", 3)
            unknown += _timed(d, "nobody", "wrong-pw", 3)
    median_wrong = statistics.median(wrong)
    median_unknown = statistics.median(unknown)
    assert median_wrong > 0.01, "bcrypt-cost 10 must cost real time"
    assert abs(median_unknown - median_wrong) / median_wrong <= 0.20, (median_unknown, median_wrong)
