"""Bad data costs the point, never the task: counters stay honest and the daemon keeps serving."""

from __future__ import annotations

import json

import pytest
from twisted.logger import globalLogPublisher

from tests.engine.conformance import make_harness, pin_utc
from tests.http.harness import V1

TELEGRAF = [{"db": "telegraf", "rp": "autogen"}]


@pytest.fixture
def h(tmp_path):
    pin_utc()
    return make_harness(tmp_path)


@pytest.fixture
def logged():
    events = []
    globalLogPublisher.addObserver(events.append)
    yield events
    globalLogPublisher.removeObserver(events.append)


def define(h, script, task_id="t"):
    reply = h.post(V1 + "/tasks", {"id": task_id, "type": "stream", "dbrps": TELEGRAF,
                                   "script": script, "status": "enabled"})
    assert reply.code == 200, reply.body


def write(h, body: str, lines_per_request: int = 2000):
    """Small bodies are parsed on the reactor, so the in-memory harness answers at once."""
    lines = body.splitlines(keepends=True)
    for start in range(0, len(lines), lines_per_request):
        chunk = "".join(lines[start:start + lines_per_request])
        reply = h.post(V1 + "/write?db=telegraf&rp=autogen&precision=s", chunk)
        assert reply.code == 204, reply.body
    h.app.engine.flush()


def node_stats(h, task_id="t"):
    return h.get(V1 + "/tasks/" + task_id).json()["stats"]["node-stats"]


def output(h, name="out", task_id="t"):
    reply = h.get(f"{V1}/tasks/{task_id}/{name}")
    assert reply.code == 200
    return json.loads(reply.body)


def engine_errors(events):
    return [e for e in events
            if e.get("log_namespace", "").startswith("kapacitord_tw.engine") and "error" in e]


def test_a_string_where_a_float_is_compared_drops_that_point_and_counts_it(h, logged):
    define(h, "stream|from().measurement('cpu')|where(lambda: \"usage\" > 10.0)|httpOut('out')")
    write(h, 'cpu usage=50 1\ncpu usage="high" 2\ncpu usage=70 3\n')
    stats = node_stats(h)
    assert (stats["where2"]["collected"], stats["where2"]["emitted"],
            stats["where2"]["errors"]) == (3, 2, 1)
    assert output(h)["series"][0]["values"] == [["1970-01-01T00:00:03Z", 70]]
    errors = engine_errors(logged)
    assert len(errors) == 1
    assert (errors[0]["task"], errors[0]["node"]) == ("t", "where2")
    assert "mismatched type" in errors[0]["error"]


def test_the_cpu_alert_shape_counts_a_bad_point_and_keeps_windowing(h, logged):
    """from|where|window runs as one loop (nodes/lane.py): a string still costs
    only its point, is counted and logged at the where, and later windows close."""
    define(h, "stream|from().measurement('cpu')|where(lambda: \"usage\" >= 0.0)"
              "|window().period(10s).every(10s)|mean('usage')|httpOut('out')")
    write(h, 'cpu usage=50 1\ncpu usage="high" 2\ncpu usage=70 3\n'
             'cpu usage=10 12\ncpu usage="x" 15\ncpu usage=30 24\n')
    stats = node_stats(h)
    assert (stats["where2"]["collected"], stats["where2"]["emitted"],
            stats["where2"]["errors"]) == (6, 4, 2)
    assert (stats["window3"]["collected"], stats["window3"]["emitted"]) == (4, 2)
    # [1 s, 11 s) closed at 12 s (mean 60), [12 s, 22 s) at 24 s: 10 alone.
    assert output(h)["series"][0]["values"] == [["1970-01-01T00:00:22Z", 10.0]]
    errors = engine_errors(logged)
    assert [(e["task"], e["node"]) for e in errors] == [("t", "where2")] * 2


def test_a_failing_from_where_drops_that_point_counts_it_and_keeps_the_order(h, logged):
    define(h, "stream|from().measurement('cpu').where(lambda: \"usage\" > 10.0)"
              "|httpOut('out')")
    write(h, 'cpu usage=50 1\ncpu usage="high" 2\nmem usage=1 3\ncpu usage=5 4\n'
             'cpu,host=a usage=70 5\n')
    stats = node_stats(h)
    assert (stats["from1"]["collected"], stats["from1"]["emitted"],
            stats["from1"]["errors"]) == (4, 2, 1)
    assert [(s.get("tags"), s["values"]) for s in output(h)["series"]] == [
        ({"host": "a"}, [["1970-01-01T00:00:05Z", 70]])]
    errors = engine_errors(logged)
    assert len(errors) == 1
    assert (errors[0]["task"], errors[0]["node"]) == ("t", "from1")
    assert errors[0]["error"].startswith("failed to evaluate WHERE expression: ")
    assert "mismatched type" in errors[0]["error"]


def test_a_missing_field_in_eval_is_an_error_and_the_task_keeps_running(h, logged):
    define(h, "stream|from().measurement('cpu')|eval(lambda: \"usage\" * 2.0).as('double')"
              "|httpOut('out')")
    write(h, "cpu other=1 1\ncpu usage=2.5 2\n")
    stats = node_stats(h)
    assert (stats["eval2"]["errors"], stats["eval2"]["emitted"]) == (1, 1)
    assert output(h)["series"][0]["values"] == [["1970-01-01T00:00:02Z", 5.0]]
    assert h.get(V1 + "/tasks/t").json()["executing"] is True


def test_an_alert_on_a_field_of_the_wrong_type_counts_errors_not_alerts(h):
    define(h, "stream|from().measurement('cpu')|alert().crit(lambda: \"idle\" < 10)"
              "|httpOut('out')")
    write(h, 'cpu idle="none" 1\ncpu idle=true 2\ncpu idle=5 3\n')
    stats = node_stats(h)["alert2"]
    assert stats["errors"] == 2
    assert (stats["alerts_triggered"], stats["crits_triggered"]) == (1, 1)


def test_errors_are_logged_a_few_times_a_second_not_once_per_point(h, logged):
    define(h, "stream|from().measurement('cpu')|where(lambda: \"usage\" > 10.0)|httpOut('out')")
    write(h, "".join('cpu usage="x%d" %d\n' % (i, i) for i in range(500)))
    assert node_stats(h)["where2"]["errors"] == 500
    assert 1 <= len(engine_errors(logged)) <= 20


def test_five_thousand_groups_are_tracked_and_the_daemon_keeps_answering(h):
    define(h, "stream|from().measurement('cpu').groupBy('id')|window().period(10s).every(10s)"
              "|count('v')|httpOut('out')")
    body = "".join("cpu,id=%d v=1 1\n" % i for i in range(5000))
    write(h, body)
    write(h, "".join("cpu,id=%d v=1 20\n" % i for i in range(5000)))
    stats = node_stats(h)
    assert stats["window2"]["working_cardinality"] == 5000
    assert stats["count3"]["emitted"] == 5000
    assert len(output(h)["series"]) == 5000
    assert h.get(V1 + "/ping").code == 204


def test_points_of_other_measurements_and_databases_never_reach_the_task(h):
    define(h, "stream|from().measurement('cpu')|httpOut('out')")
    write(h, "mem v=1 1\ndisk v=2 2\n")
    h.post(V1 + "/write?db=other&rp=autogen&precision=s", "cpu v=1 3\n")
    h.app.engine.flush()
    assert node_stats(h)["stream0"]["collected"] == 0
    assert h.app.engine.unrouted == 3
