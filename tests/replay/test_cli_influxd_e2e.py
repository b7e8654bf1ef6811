"""``kapacitor record batch|query``, ``replay`` and ``replay-live batch|query``
against the real daemon, its ``[[influxdb]]`` a real influxd with a password."""

from __future__ import annotations

import io
import json
import time
import zipfile

import attrs
import pytest

from kapacitord_tw import gocompat
from kapacitord_tw.cli.kapacitor import run
from kapacitord_tw.cli.kapacitor.runtime import Terminal
from tests.support.daemon import Daemon, free_port, write_config
from tests.support.influxd import InfluxD

V1 = "/kapacitor/v1"
SECOND = 10**9
SCRIPT = """
batch
    |query('SELECT mean("value") AS mean FROM "telegraf"."autogen"."cpu"')
        .period(10s)
        .every(10s)
        .groupBy('host')
    |httpOut('out')
"""
STREAM_SCRIPT = ("stream|from().measurement('cpu').groupBy('host')"
                 "|window().period(10s).every(10s)|max('value')|httpOut('out')")


@attrs.frozen
class Outcome:
    code: int
    out: str
    err: str


def cli(base_url: str, *args: str) -> Outcome:
    out, err = io.StringIO(), io.StringIO()
    terminal = Terminal(stdout=out, stderr=err, stdin=io.StringIO(""),
                        prompt_secret=lambda _p: "", stdin_is_tty=lambda _s: False)
    code = run(["-url", base_url, *args], environ={}, terminal=terminal)
    return Outcome(code, out.getvalue(), err.getvalue())


def rfc(ns: int) -> str:
    return gocompat.format_time(ns, gocompat._dt.timezone.utc)


@pytest.fixture
def stack(tmp_path):
    influx = InfluxD(tmp_path, auth=True).start()
    influx.query("CREATE DATABASE telegraf")
    base = (time.time_ns() - 1800 * SECOND) // (60 * SECOND) * (60 * SECOND)
    influx.write("telegraf", "\n".join(
        f"cpu,host={host} value={sign * i} {base + i * SECOND}"
        for i in range(60) for host, sign in (("a", 1), ("b", -1))))
    port = free_port()
    extra = f"""
[replay]
  dir = "{tmp_path / 'recordings'}"

[[influxdb]]
  name = "local"
  default = true
  urls = ["{influx.url}"]
  username = "{influx.admin[0]}"
  password = "{influx.admin[1]}"
  disable-subscriptions = true
  startup-timeout = "5s"
"""
    conf = write_config(tmp_path / "k.conf", tmp_path / "data", port, extra=extra)
    d = Daemon(conf, port).start()
    d.base = f"http://127.0.0.1:{port}"
    d.dir = tmp_path / "recordings"
    yield influx, d, base
    d.kill()
    influx.stop()


def _define(d, task_id, script, kind):
    status, _h, body = d.request("POST", V1 + "/tasks", {
        "id": task_id, "type": kind, "dbrps": [{"db": "telegraf", "rp": "autogen"}],
        "script": script, "status": "disabled"})
    assert status == 200, body


def _out(d, task_id, replay_id):
    status, _h, body = d.request("GET", f"{V1}/tasks/{task_id}/out?replay-id={replay_id}")
    assert status == 200, body
    return json.loads(body)


def test_record_batch_replay_and_replay_live_through_the_cli(stack):
    influx, d, base = stack
    _define(d, "t", SCRIPT, "batch")
    window = ["-start", rfc(base), "-stop", rfc(base + 60 * SECOND)]
    assert cli(d.base, "record", "batch", "-task", "t", *window,
               "-recording-id", "rb") == Outcome(0, "rb\n", "")
    with zipfile.ZipFile(d.dir / "rb.brpl") as z:
        assert len(z.read("0").splitlines()) == 12
    assert cli(d.base, "replay", "-recording", "rb", "-task", "t", "-rec-time",
               "-replay-id", "r1") == Outcome(0, "r1\n", "")
    from_file = _out(d, "t", "r1")
    assert [s["values"] for s in from_file["series"]] == [
        [[rfc(base + 50 * SECOND), 54.5]], [[rfc(base + 50 * SECOND), -54.5]]]

    assert cli(d.base, "replay-live", "batch", "-task", "t", *window, "-rec-time",
               "-replay-id", "r2") == Outcome(0, "r2\n", "")
    assert _out(d, "t", "r2") == from_file

    # -past: every window of the last hour, up to now.
    assert cli(d.base, "replay-live", "batch", "-task", "t", "-past", "1h", "-rec-time",
               "-replay-id", "r3") == Outcome(0, "r3\n", "")
    status, _h, body = d.request("GET", V1 + "/replays/r3")
    # The minute of data falls in 6 or 7 of the (unaligned) ten-second windows, two hosts each.
    assert json.loads(body)["stats"]["node-stats"]["query1"]["collected"] in (12, 14)

    query = (f'SELECT "value" FROM "telegraf"."autogen"."cpu" '
             f"WHERE time >= {base} AND time < {base + 60 * SECOND} GROUP BY host")
    assert cli(d.base, "record", "query", "-query", query, "-type", "stream",
               "-recording-id", "rq") == Outcome(0, "rq\n", "")
    _define(d, "s", STREAM_SCRIPT, "stream")
    assert cli(d.base, "replay", "-recording", "rq", "-task", "s", "-rec-time",
               "-replay-id", "r4") == Outcome(0, "r4\n", "")
    assert cli(d.base, "replay-live", "query", "-task", "s", "-query", query, "-rec-time",
               "-replay-id", "r5") == Outcome(0, "r5\n", "")
    assert _out(d, "s", "r5") == _out(d, "s", "r4")
    assert [s["values"] for s in _out(d, "s", "r4")["series"]] == [
        [[rfc(base + 50 * SECOND), 49.0]], [[rfc(base + 50 * SECOND), -40.0]]]

    listed = cli(d.base, "list", "recordings").out.splitlines()
    assert sorted(line.split()[:3] for line in listed[1:]) == [
        ["rb", "batch", "finished"], ["rq", "stream", "finished"]]

    # Metadata and files survive a restart; the batch recording replays again.
    d.stop()
    d.start()
    assert cli(d.base, "replay", "-recording", "rb", "-task", "t", "-rec-time",
               "-replay-id", "r6") == Outcome(0, "r6\n", "")
    assert _out(d, "t", "r6") == from_file


def test_cli_errors_are_kapacitors(stack):
    influx, d, base = stack
    _define(d, "t", SCRIPT, "batch")
    bad = cli(d.base, "record", "query", "-query", 'SELECT "v" FROM "nodb"."autogen"."cpu"',
              "-type", "batch", "-recording-id", "bad")
    assert bad == Outcome(3, "bad\n", "Error: InfluxDB query failed: database not found: nodb\n")
    no_start = cli(d.base, "record", "batch", "-task", "t")
    assert no_start.code == 3
    assert no_start.err.endswith("Error: must set one of start or past flags.\n")
    both = cli(d.base, "replay-live", "batch", "-task", "t", "-past", "1h",
               "-start", rfc(base))
    assert both.code == 3 and both.err.endswith("Error: cannot set both start and past flags.\n")
    no_query = cli(d.base, "replay-live", "query", "-task", "t")
    assert no_query.code == 3
    assert no_query.err.endswith("Error: both query and task are required\n")
    stream_task = cli(d.base, "replay-live", "batch", "-task", "nope", "-past", "1h")
    assert stream_task == Outcome(3, "", "Error: task load: no task exists\n")
    no_wait = cli(d.base, "record", "batch", "-task", "t", "-past", "1h", "-no-wait",
                  "-recording-id", "nw")
    assert no_wait == Outcome(0, "", "")
