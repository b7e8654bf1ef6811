"""``stats`` and ``deadman`` run on the reactor's clock: driven here by a ``Clock``."""

from __future__ import annotations

import json

import pytest

from tests.engine.conformance import make_harness, pin_utc
from tests.http.harness import V1

TELEGRAF = [{"db": "telegraf", "rp": "autogen"}]


@pytest.fixture
def h(tmp_path):
    pin_utc()
    return make_harness(tmp_path)


def define(h, script, task_id="t"):
    reply = h.post(V1 + "/tasks", {"id": task_id, "type": "stream", "dbrps": TELEGRAF,
                                   "script": script, "status": "enabled"})
    assert reply.code == 200, reply.body


def write(h, body):
    assert h.post(V1 + "/write?db=telegraf&rp=autogen", body).code == 204
    h.app.engine.flush()


def output(h, name, task_id="t"):
    reply = h.get(f"{V1}/tasks/{task_id}/{name}")
    assert reply.code == 200
    return json.loads(reply.body)


def test_stats_reports_points_emitted_per_group_every_interval(h):
    define(h, "var data = stream|from().measurement('cpu').groupBy('host')\n"
              "data|stats(10s)|httpOut('s')")
    write(h, "cpu,host=a v=1\ncpu,host=a v=2\ncpu,host=b v=3\n")
    h.clock.advance(10)
    series = sorted(output(h, "s")["series"], key=lambda s: s["tags"]["host"])
    assert [(s["name"], s["tags"], s["columns"], s["values"][0][1]) for s in series] == [
        ("stats", {"host": "a"}, ["time", "emitted"], 2),
        ("stats", {"host": "b"}, ["time", "emitted"], 1)]


def test_deadman_fires_when_a_stream_goes_quiet_and_recovers_when_it_returns(h):
    define(h, "var data = stream|from().measurement('cpu')\n"
              "data|deadman(1.0, 10s)|httpOut('dead')")
    h.clock.advance(10 - h.clock.seconds() % 10)  # on an interval boundary
    write(h, "".join("cpu v=%d\n" % i for i in range(5)))
    h.clock.advance(10)      # first stats point: emitted 5, nothing to compare yet
    write(h, "cpu v=1\ncpu v=2\ncpu v=3\n")
    h.clock.advance(10)      # 3 points in 10s: alive, no alert
    assert output(h, "dead")["series"] is None
    h.clock.advance(10)      # no points: dead
    row = output(h, "dead")["series"][0]
    assert row["values"][0][1] == 0.0
    alert = h.get(V1 + "/tasks/t").json()["stats"]["node-stats"]
    alert = next(v for k, v in alert.items() if k.startswith("alert"))
    assert (alert["crits_triggered"], alert["oks_triggered"]) == (1, 0)
    write(h, "cpu v=1\ncpu v=1\ncpu v=1\n")
    h.clock.advance(10)      # alive again: the recovery
    alert = h.get(V1 + "/tasks/t").json()["stats"]["node-stats"]
    alert = next(v for k, v in alert.items() if k.startswith("alert"))
    assert (alert["crits_triggered"], alert["oks_triggered"]) == (1, 1)


def test_disabling_the_task_stops_its_timer(h):
    define(h, "var data = stream|from().measurement('cpu')\ndata|stats(1s)|httpOut('s')")
    assert h.clock.getDelayedCalls()
    assert h.patch(V1 + "/tasks/t", {"status": "disabled"}).code == 200
    assert not [c for c in h.clock.getDelayedCalls() if c.active()]
