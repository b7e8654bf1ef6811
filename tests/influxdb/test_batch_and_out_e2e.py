"""Batch queries and influxDBOut against a real influxd, through the real daemon."""

import json
import time

import pytest

from tests.support.daemon import Daemon, free_port, write_config
from tests.support.influxd import InfluxD
from tests.support.waiting import wait_until


def _section(influx: InfluxD, **extra) -> str:
    more = "".join(f"  {k} = {v}\n" for k, v in extra.items())
    return f"""
[[influxdb]]
  name = "local"
  default = true
  urls = ["{influx.url}"]
  username = "{influx.admin[0]}"
  password = "{influx.admin[1]}"
  disable-subscriptions = true
  startup-timeout = "5s"
{more}"""



@pytest.fixture
def stack(tmp_path):
    influx = InfluxD(tmp_path, auth=True).start()
    port = free_port()
    conf = write_config(tmp_path / "k.conf", tmp_path / "kap", port, extra=_section(influx))
    d = Daemon(conf, port)
    yield influx, d
    d.kill()
    influx.stop()


def _define(d, task_id, script, kind="stream", db="telegraf"):
    body = {"id": task_id, "type": kind, "dbrps": [{"db": db, "rp": "autogen"}],
            "script": script, "status": "enabled"}
    status, _h, data = d.request("POST", "/kapacitor/v1/tasks", body)
    assert status == 200, data


def _http_out(d, task_id, endpoint):
    status, _h, data = d.request("GET", f"/kapacitor/v1/tasks/{task_id}/{endpoint}")
    return json.loads(data) if status == 200 else None


def test_batch_query_mean_of_points_stored_in_influxd_reaches_http_out(stack):
    influx, d = stack
    influx.query("CREATE DATABASE telegraf")
    now = time.time_ns()
    influx.write("telegraf", "\n".join(
        f"cpu,host=h{i % 2} usage_idle={v} {now - (i + 1) * 10**9}"
        for i, v in enumerate([10.0, 20.0, 30.0, 40.0])))
    d.start()
    _define(d, "mean", """
batch
    |query('SELECT mean("usage_idle") AS mean FROM "telegraf"."autogen"."cpu"')
        .period(1h)
        .every(1s)
    |httpOut('out')
""", kind="batch")
    out = wait_until(lambda: (_http_out(d, "mean", "out") or {}).get("series"))
    assert out[0]["name"] == "cpu"
    assert out[0]["columns"] == ["time", "mean"]
    assert out[0]["values"][0][1] == 25.0

    _define(d, "bygroup", """
batch
    |query('SELECT max("usage_idle") AS top FROM "telegraf"."autogen"."cpu" WHERE "host" != \\'nobody\\'')
        .period(1h)
        .every(1s)
        .groupBy('host')
    |httpOut('out')
""", kind="batch")
    series = wait_until(lambda: (_http_out(d, "bygroup", "out") or {}).get("series"))
    by_host = {s["tags"]["host"]: s["values"][0][1] for s in series}
    assert by_host == {"h0": 30.0, "h1": 40.0}
    status, _h, data = d.request("GET", "/kapacitor/v1/tasks/mean")
    stats = json.loads(data)["stats"]["node-stats"]["query1"]
    assert stats["batches_queried"] >= 1 and stats["query_errors"] == 0


def test_a_query_influxd_rejects_is_the_tasks_error_not_a_crash(stack):
    influx, d = stack
    d.start()
    _define(d, "bad", """
batch
    |query('SELECT mean("v") FROM "nodb"."autogen"."cpu"')
        .period(1m)
        .every(1s)
    |httpOut('out')
""", kind="batch")

    def error():
        status, _h, data = d.request("GET", "/kapacitor/v1/tasks/bad")
        return json.loads(data)["error"]

    message = wait_until(error)
    assert "database not found: nodb" in message
    status, _h, data = d.request("GET", "/kapacitor/v1/tasks/bad")
    task = json.loads(data)
    assert task["executing"] is True
    assert task["stats"]["node-stats"]["query1"]["query_errors"] >= 1
    status, _h, _b = d.request("GET", "/kapacitor/v1/ping")
    assert status == 204


def test_influx_db_out_points_are_read_back_from_influxd_and_flushed_on_shutdown(stack):
    influx, d = stack
    d.start()
    _define(d, "copy", """
stream
    |from()
        .measurement('cpu')
    |influxDBOut()
        .create()
        .database('copied')
        .retentionPolicy('autogen')
        .measurement('cpu_copy')
        .tag('kapacitor', 'yes')
        .precision('s')
        .buffer(2)
        .flushInterval(1h)
""")
    t0 = 1_700_000_000
    body = "\n".join(f"cpu,host=a usage_idle={v} {t0 + i}" for i, v in enumerate([1.5, 2.5, 3.5]))
    status, _h, data = d.request("POST", "/write?db=telegraf&rp=autogen&precision=s", body.encode())
    assert status == 204, data
    # Two points fill the buffer and are written at once; the third waits.
    def copied():
        try:
            return influx.series("SELECT * FROM cpu_copy", "copied")
        except RuntimeError:  # the database is being created
            return None

    rows = wait_until(copied)
    assert rows[0]["columns"] == ["time", "host", "kapacitor", "usage_idle"]
    assert len(rows[0]["values"]) == 2
    assert d.stop() == 0  # shutdown flushes the rest
    rows = influx.series('SELECT "usage_idle" FROM cpu_copy', "copied")
    assert [r[1] for r in rows[0]["values"]] == [1.5, 2.5, 3.5]


def test_influx_db_out_write_errors_are_counted_and_logged(stack):
    influx, d = stack
    d.start()
    _define(d, "nowhere", """
stream
    |from()
        .measurement('cpu')
    |influxDBOut()
        .database('does_not_exist')
        .buffer(1)
""")
    status, _h, _b = d.request("POST", "/write?db=telegraf&rp=autogen", b"cpu v=1")
    assert status == 204

    def errors():
        _s, _h, data = d.request("GET", "/kapacitor/v1/tasks/nowhere")
        return json.loads(data)["stats"]["node-stats"]["influxdb_out2"]["write_errors"]

    assert wait_until(errors) == 1
    assert "failed to write 1 points to database does_not_exist" in d.output()


def test_influx_db_out_create_makes_the_database_and_its_retention_policy(stack):
    influx, d = stack
    # ``existing`` already has its own default policy: ``extra`` is added beside it.
    influx.query("CREATE DATABASE existing")
    d.start()
    for task_id, db, rp in [("fresh", "created", "kept"), ("beside", "existing", "extra")]:
        _define(d, task_id, f"""
stream
    |from()
        .measurement('cpu')
    |influxDBOut()
        .create()
        .database('{db}')
        .retentionPolicy('{rp}')
        .buffer(1)
""")

    def policies(db):
        try:
            rows = influx.series(f'SHOW RETENTION POLICIES ON "{db}"', db)
        except RuntimeError:  # not created yet
            return None
        return {r[0]: (r[1], r[3], r[4]) for r in rows[0]["values"]} if rows else None

    # name -> (duration, replication, default), as Kapacitor's CREATE DATABASE ... WITH NAME
    assert wait_until(lambda: policies("created")) == {"kept": ("0s", 1, True)}
    assert wait_until(lambda: (policies("existing") or {}).get("extra")) == ("0s", 1, False)
    assert policies("existing")["autogen"][2] is True

    status, _h, data = d.request("POST", "/write?db=telegraf&rp=autogen",
                                 b"cpu,host=a usage_idle=7.5 1700000000000000000")
    assert status == 204, data
    rows = wait_until(lambda: influx.series('SELECT "usage_idle" FROM "created"."kept"."cpu"',
                                       "created"))
    assert rows[0]["values"] == [["2023-11-14T22:13:20Z", 7.5]]
    rows = wait_until(lambda: influx.series('SELECT "usage_idle" FROM "existing"."extra"."cpu"',
                                       "existing"))
    assert rows[0]["values"] == [["2023-11-14T22:13:20Z", 7.5]]
    for task_id in ("fresh", "beside"):
        task = json.loads(d.request("GET", f"/kapacitor/v1/tasks/{task_id}")[2])
        assert task["error"] == ""
        assert task["stats"]["node-stats"]["influxdb_out2"]["points_written"] == 1
    # Starting again finds everything in place.
    status, _h, _b = d.request("PATCH", "/kapacitor/v1/tasks/beside", {"status": "disabled"})
    assert status == 200
    status, _h, _b = d.request("PATCH", "/kapacitor/v1/tasks/beside", {"status": "enabled"})
    assert status == 200
    time.sleep(0.5)
    assert json.loads(d.request("GET", "/kapacitor/v1/tasks/beside")[2])["error"] == ""
