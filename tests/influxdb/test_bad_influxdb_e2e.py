"""Issue #13's bad input against a real influxd and the real daemon: a wrong
password and an unreachable InfluxDB give clear log lines and a task error
that ``GET /tasks/<id>`` shows, and nothing crashes.

One daemon, two clusters: ``wrongpw`` (the default) is a real influxd with
authentication on, reached with a wrong password; ``gone`` is a port
nobody listens on.
"""

import json

import pytest

from tests.support.daemon import Daemon, free_port, write_config
from tests.support.influxd import InfluxD
from tests.support.waiting import wait_until



@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("bad-influxdb")
    influx = InfluxD(tmp_path, auth=True).start()
    influx.query("CREATE DATABASE telegraf")
    dead = free_port()
    extra = f"""
[[influxdb]]
  name = "wrongpw"
  default = true
  urls = ["{influx.url}"]
  username = "{influx.admin[0]}"
  password = "not-the-password"
  kapacitor-hostname = "127.0.0.1"
  startup-timeout = "1s"
  subscriptions-sync-interval = "1s"

[[influxdb]]
  name = "gone"
  urls = ["http://127.0.0.1:{dead}"]
  disable-subscriptions = true
  startup-timeout = "1s"
"""
    port = free_port()
    conf = write_config(tmp_path / "k.conf", tmp_path / "kap", port, extra=extra)
    d = Daemon(conf, port).start()
    yield influx, d, dead
    d.kill()
    influx.stop()


def _define(d, task_id, script, kind):
    body = {"id": task_id, "type": kind, "dbrps": [{"db": "telegraf", "rp": "autogen"}],
            "script": script, "status": "enabled"}
    status, _h, data = d.request("POST", "/kapacitor/v1/tasks", body)
    assert status == 200, data


def _task(d, task_id):
    status, _h, data = d.request("GET", f"/kapacitor/v1/tasks/{task_id}")
    assert status == 200, data
    return json.loads(data)


def _batch(cluster: str) -> str:
    return f"""
batch
    |query('SELECT mean("usage_idle") FROM "telegraf"."autogen"."cpu"')
        .period(1m)
        .every(1s)
        .cluster('{cluster}')
    |httpOut('out')
"""


def test_a_batch_query_with_a_wrong_password_is_the_tasks_error(stack):
    _influx, d, _dead = stack
    _define(d, "wrongpw_batch", _batch("wrongpw"), "batch")
    error = wait_until(lambda: _task(d, "wrongpw_batch")["error"])
    assert error.startswith("query failed: ")
    assert "InfluxDB cluster wrongpw refused the username and password (401)" in error
    assert "not-the-password" not in error
    task = _task(d, "wrongpw_batch")
    assert task["executing"] is True
    assert task["stats"]["node-stats"]["query1"]["query_errors"] >= 1
    assert "refused the username and password" in d.output()


def test_a_batch_query_on_an_unreachable_influxdb_is_the_tasks_error(stack):
    _influx, d, dead = stack
    _define(d, "gone_batch", _batch("gone"), "batch")
    error = wait_until(lambda: _task(d, "gone_batch")["error"])
    assert error.startswith(f"query failed: InfluxDB cluster gone: cannot reach "
                            f"http://127.0.0.1:{dead}: ")
    assert "onnection refused" in error
    assert _task(d, "gone_batch")["executing"] is True


@pytest.mark.parametrize("cluster, expected", [
    ("wrongpw", "refused the username and password (401)"),
    ("gone", "cannot reach"),
])
def test_influx_db_out_to_a_bad_influxdb_counts_logs_and_is_the_tasks_error(
        stack, cluster, expected):
    _influx, d, _dead = stack
    task_id = f"{cluster}_out"
    _define(d, task_id, f"""
stream
    |from()
        .measurement('cpu')
    |influxDBOut()
        .cluster('{cluster}')
        .database('copies')
        .retentionPolicy('autogen')
        .buffer(1)
""", "stream")
    status, _h, _b = d.request("POST", "/write?db=telegraf&rp=autogen", b"cpu usage_idle=1")
    assert status == 204
    error = wait_until(lambda: _task(d, task_id)["error"])
    assert error.startswith("failed to write points to database copies: ")
    assert expected in error
    stats = _task(d, task_id)["stats"]["node-stats"]["influxdb_out2"]
    assert stats["write_errors"] == 1 and stats["points_written"] == 0
    assert f"task {task_id} node influxdb_out2: failed to write 1 points" in d.output()


def test_influx_db_out_create_on_a_bad_influxdb_is_the_tasks_error(stack):
    _influx, d, _dead = stack
    _define(d, "wrongpw_create", """
stream
    |from()
        .measurement('cpu')
    |influxDBOut()
        .create()
        .database('created')
        .retentionPolicy('kept')
""", "stream")
    error = wait_until(lambda: _task(d, "wrongpw_create")["error"])
    assert error.startswith("failed to create database created: ")
    assert "refused the username and password (401)" in error
    assert _task(d, "wrongpw_create")["executing"] is True


def test_subscriptions_with_a_wrong_password_are_logged_and_retried(stack):
    _influx, d, _dead = stack
    wait_until(lambda: d.output().count("influxdb cluster wrongpw: failed to link subscriptions") >= 2)
    line = next(x for x in d.output().splitlines()
                if "influxdb cluster wrongpw: failed to link subscriptions" in x)
    assert "refused the username and password (401)" in line
    assert "not-the-password" not in d.output()
    # The daemon answers throughout.
    status, _h, _b = d.request("GET", "/kapacitor/v1/ping")
    assert status == 204
    stats = json.loads(d.request("GET", "/kapacitor/v1/debug/vars")[2])
    clusters = {v["tags"]["cluster"]: v["values"] for v in stats["kapacitor"].values()
                if v["name"] == "influxdb"}
    assert clusters["wrongpw"]["subscription_sync_errors"] >= 2
    assert clusters["wrongpw"]["num_subscriptions"] == 0
    assert clusters["gone"]["connected"] == 0
