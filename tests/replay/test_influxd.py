"""Batch and query recordings and live replays against a real influxd.

The resource tree runs in memory on the real reactor (its InfluxDB client
really talks HTTP to the private influxd, with a password); points are
written into influxd first, then recorded (``/recordings/batch|query``) and
replayed into tasks whose httpOut must show what InfluxDB holds.
"""

from __future__ import annotations

import json
import os
import time
import zipfile

import attrs
import pytest
import pytest_twisted
from twisted.internet import reactor
from twisted.internet.task import deferLater

import tests.http.harness as harness_module
from kapacitord_tw import gocompat
from kapacitord_tw.config.influxdb import InfluxDBConfig
from kapacitord_tw.replay.srpl import StreamReader
from tests.http.harness import V1, Harness
from tests.support.influxd import InfluxD, free_port

SECOND = 10**9
MEAN_BY_HOST = """
batch
    |query('SELECT mean("value") AS mean FROM "telegraf"."autogen"."cpu"')
        .period(10s)
        .every(10s)
        .groupBy('host')
    |httpOut('out')
"""
STREAM_MEAN = """
stream
    |from().measurement('cpu').groupBy('host')
    |window().period(10s).every(10s)
    |mean('value')
    |httpOut('out')
"""


@pytest.fixture(scope="module")
def influxd(tmp_path_factory):
    """One private influxd with authentication, holding 60 s of ``cpu`` points
    for hosts a and b (value = the second, b's negated) an hour ago."""
    with InfluxD(tmp_path_factory.mktemp("influxd"), auth=True) as server:
        server.query("CREATE DATABASE telegraf")
        base = (time.time_ns() - 3600 * SECOND) // (60 * SECOND) * (60 * SECOND)
        server.write("telegraf", "\n".join(
            f"cpu,host={host} value={sign * i} {base + i * SECOND}"
            for i in range(60) for host, sign in (("a", 1), ("b", -1))))
        server.base = base
        yield server


def _cluster(url: str, influx: InfluxD, name="local") -> InfluxDBConfig:
    return InfluxDBConfig(name=name, default=True, urls=(url,), username=influx.admin[0],
                          password=influx.admin[1], disable_subscriptions=True)


@pytest.fixture
def make_app(tmp_path, monkeypatch, influxd):
    """``make_app(url=None)``: the app on the real reactor, its default cluster
    the influxd (or ``url``)."""
    monkeypatch.chdir(tmp_path)
    made = []

    def make(url=None):
        clusters = (_cluster(url or influxd.url, influxd),)
        plain = harness_module.make_config
        monkeypatch.setattr(harness_module, "make_config",
                            lambda *a, **k: attrs.evolve(plain(*a, **k), influxdb=clusters))
        h = Harness(tmp_path / f"app{len(made)}", reactor=reactor, http_auth=False)
        monkeypatch.setattr(harness_module, "make_config", plain)
        opened = []
        h.app.replays.open().addBoth(opened.append)
        assert opened == [None]
        made.append(h)
        return h

    (tmp_path / "app0").mkdir()
    (tmp_path / "app1").mkdir()
    yield make
    for h in made:
        h.app.replays.close()
        for cluster in h.app.influxdb.clusters.values():
            cluster.client.close(grace=0)


def rfc(ns: int) -> str:
    return gocompat.format_time(ns, gocompat._dt.timezone.utc)


async def call(h, method, path, body=None):
    return await h.wait(h.start(method, path, body))


async def define(h, task_id, script, kind="batch", dbrp=("telegraf", "autogen")):
    reply = await call(h, "POST", V1 + "/tasks", {
        "id": task_id, "type": kind, "dbrps": [{"db": dbrp[0], "rp": dbrp[1]}],
        "script": script, "status": "disabled"})
    assert reply.code == 200, reply.body


async def settled(h, path, timeout=20.0):
    """The object at ``path`` once it is no longer running."""
    deadline = time.monotonic() + timeout
    while True:
        reply = await call(h, "GET", path)
        body = reply.json()
        if body.get("status") != "running":
            return body
        assert time.monotonic() < deadline, body
        await deferLater(reactor, 0.02, lambda: None)


async def record(h, kind, body, expect="finished"):
    created = await call(h, "POST", V1 + "/recordings/" + kind, body)
    assert created.code == 201, created.body
    assert created.json()["status"] == "running"
    done = await settled(h, V1 + "/recordings/" + created.json()["id"])
    assert (done["status"], done["error"] if expect == "finished" else "") == (expect, ""), done
    return done


async def replay(h, path, body):
    created = await call(h, "POST", V1 + path, body)
    assert created.code == 201, created.body
    done = await settled(h, V1 + "/replays/" + created.json()["id"])
    return done


def expected_means(base, windows, start=0):
    """httpOut of MEAN_BY_HOST after the last of ``windows`` ten-second windows."""
    k = start + windows - 1
    mean = 10 * k + 4.5
    return {"series": [
        {"name": "cpu", "tags": {"host": "a"}, "columns": ["time", "mean"],
         "values": [[rfc(base + 10 * k * SECOND), mean]]},
        {"name": "cpu", "tags": {"host": "b"}, "columns": ["time", "mean"],
         "values": [[rfc(base + 10 * k * SECOND), -mean]]},
    ]}


# ------------------------------------------------------------ batch


@pytest_twisted.ensureDeferred
async def test_record_batch_runs_the_tasks_queries_and_replays_into_its_httpout(influxd, make_app):
    h = make_app()
    base = influxd.base
    await define(h, "t", MEAN_BY_HOST)
    done = await record(h, "batch", {"id": "rec", "task": "t", "start": rfc(base),
                                     "stop": rfc(base + 60 * SECOND)})
    path = os.path.join(h.app.replays.dir, "rec.brpl")
    assert (done["type"], done["size"]) == ("batch", os.path.getsize(path))
    with zipfile.ZipFile(path) as z:
        assert z.namelist() == ["0"]
        lines = z.read("0").decode().splitlines()
    # Six ticks (every 10s after start, up to stop), two series each.
    assert len(lines) == 12
    first = json.loads(lines[0])
    assert first == {
        "name": "cpu", "tmax": rfc(base + 10 * SECOND), "group": "host=a",
        "tags": {"host": "a"},
        "points": [{"fields": {"mean": 4.5}, "tags": {"host": "a"}, "time": rfc(base)}]}
    assert [json.loads(line)["tmax"] for line in lines[::2]] == [
        rfc(base + k * 10 * SECOND) for k in range(1, 7)]

    replayed = await replay(h, "/replays", {"id": "r1", "task": "t", "recording": "rec",
                                            "recording-time": True})
    assert (replayed["status"], replayed["error"]) == ("finished", "")
    stats = replayed["stats"]["node-stats"]
    assert stats["query1"]["collected"] == 12 and stats["http_out2"]["collected"] == 12
    out = await call(h, "GET", V1 + "/tasks/t/out?replay-id=r1")
    assert out.json() == expected_means(base, 6)


@pytest_twisted.ensureDeferred
async def test_live_batch_replay_gives_the_output_of_the_recording(influxd, make_app):
    h = make_app()
    base = influxd.base
    await define(h, "t", MEAN_BY_HOST)
    done = await replay(h, "/replays/batch", {
        "id": "live", "task": "t", "start": rfc(base), "stop": rfc(base + 30 * SECOND),
        "recording-time": True})
    assert (done["status"], done["error"], done["recording"]) == ("finished", "", "")
    out = await call(h, "GET", V1 + "/tasks/t/out?replay-id=live")
    assert out.json() == expected_means(base, 3)
    # Without recording-time the first point moves to the replay's start.
    done = await replay(h, "/replays/batch", {
        "id": "moved", "task": "t", "start": rfc(base), "stop": rfc(base + 30 * SECOND)})
    moved = (await call(h, "GET", V1 + "/tasks/t/out?replay-id=moved")).json()
    shift = gocompat.parse_time(moved["series"][0]["values"][0][0]) - (base + 20 * SECOND)
    assert abs(shift - (gocompat.parse_time(done["date"]) - base)) < 60 * SECOND
    assert moved["series"][0]["values"][0][1] == 24.5
    # No file was written.
    assert not os.path.exists(h.app.replays.dir) or os.listdir(h.app.replays.dir) == []


@pytest_twisted.ensureDeferred
async def test_record_query_as_batch_and_replay_it(influxd, make_app):
    h = make_app()
    base = influxd.base
    await define(h, "t", MEAN_BY_HOST)
    query = (f'SELECT max("value") AS mean FROM "telegraf"."autogen"."cpu" '
             f"WHERE time >= {base} AND time < {base + 60 * SECOND} GROUP BY time(20s), host")
    done = await record(h, "query", {"id": "q", "type": "batch", "query": query})
    with zipfile.ZipFile(os.path.join(h.app.replays.dir, "q.brpl")) as z:
        batches = [json.loads(line) for line in z.read("0").decode().splitlines()]
    assert done["type"] == "batch"
    # One batch per series; it ends at its last point.
    assert [(b["tags"]["host"], b["tmax"], len(b["points"])) for b in batches] == [
        ("a", rfc(base + 40 * SECOND), 3), ("b", rfc(base + 40 * SECOND), 3)]
    assert [p["fields"]["mean"] for p in batches[0]["points"]] == [19, 39, 59]
    await replay(h, "/replays", {"id": "r", "task": "t", "recording": "q",
                                 "recording-time": True})
    out = (await call(h, "GET", V1 + "/tasks/t/out?replay-id=r")).json()
    assert [s["values"] for s in out["series"]] == [
        [[rfc(base + 20 * k * SECOND), 20.0 * k + 19] for k in range(3)],
        [[rfc(base + 20 * k * SECOND), -20.0 * k] for k in range(3)]]


@pytest_twisted.ensureDeferred
async def test_record_query_as_stream_orders_points_by_time_and_replays_into_a_stream_task(
        influxd, make_app):
    h = make_app()
    base = influxd.base
    query = (f'SELECT "value" FROM "telegraf"."autogen"."cpu" '
             f"WHERE time >= {base} AND time < {base + 30 * SECOND} GROUP BY host")
    done = await record(h, "query", {"id": "s", "type": "stream", "query": query})
    assert done["type"] == "stream"
    reader = StreamReader(os.path.join(h.app.replays.dir, "s.srpl"), 0)
    try:
        points = reader.read(1000)
    finally:
        reader.close()
    assert [(p.time - base) // SECOND for p in points[:4]] == [0, 0, 1, 1]
    assert [(p.name, p.database, p.retention_policy, p.tags["host"]) for p in points[:2]] == [
        ("cpu", "telegraf", "autogen", "a"), ("cpu", "telegraf", "autogen", "b")]
    assert [p.fields["value"] for p in points[:4]] == [0.0, -0.0, 1.0, -1.0]
    assert len(points) == 60

    await define(h, "s", STREAM_MEAN, kind="stream")
    await replay(h, "/replays", {"id": "r", "task": "s", "recording": "s",
                                 "recording-time": True})
    from_file = (await call(h, "GET", V1 + "/tasks/s/out?replay-id=r")).json()
    # The window [10s, 20s) is the last one a later point closed; it is stamped at its end.
    assert from_file["series"][0]["values"] == [[rfc(base + 20 * SECOND), 14.5]]
    live = await replay(h, "/replays/query", {"id": "live", "task": "s", "query": query,
                                              "recording-time": True})
    assert live["stats"]["node-stats"]["stream0"]["collected"] == 60
    from_query = (await call(h, "GET", V1 + "/tasks/s/out?replay-id=live")).json()
    assert from_query == from_file


@pytest_twisted.ensureDeferred
async def test_live_query_replay_into_a_batch_task(influxd, make_app):
    h = make_app()
    base = influxd.base
    await define(h, "t", MEAN_BY_HOST)
    query = (f'SELECT mean("value") AS mean FROM "telegraf"."autogen"."cpu" '
             f"WHERE time >= {base} AND time < {base + 60 * SECOND} GROUP BY host")
    done = await replay(h, "/replays/query", {"id": "q", "task": "t", "query": query,
                                              "recording-time": True})
    assert (done["status"], done["error"]) == ("finished", "")
    out = (await call(h, "GET", V1 + "/tasks/t/out?replay-id=q")).json()
    assert [s["values"] for s in out["series"]] == [[[rfc(base), 29.5]], [[rfc(base), -29.5]]]


# ------------------------------------------------------------ errors


@pytest_twisted.ensureDeferred
async def test_a_query_influxd_rejects_fails_the_recording_with_its_message(influxd, make_app):
    h = make_app()
    done = await record(h, "query", {"id": "q", "type": "batch",
                                     "query": 'SELECT "v" FROM "nodb"."autogen"."cpu"'},
                        expect="failed")
    assert done["error"] == "InfluxDB query failed: database not found: nodb"
    assert not os.path.exists(os.path.join(h.app.replays.dir, "q.brpl"))
    await define(h, "bad", MEAN_BY_HOST.replace('"telegraf"', '"nodb"'), dbrp=("nodb", "autogen"))
    done = await record(h, "batch", {"id": "b", "task": "bad",
                                     "start": rfc(influxd.base),
                                     "stop": rfc(influxd.base + 20 * SECOND)}, expect="failed")
    assert done["error"] == "database not found: nodb"
    unknown = await record(h, "query", {"id": "c", "type": "stream", "cluster": "nope",
                                        "query": 'SELECT "v" FROM "telegraf"."autogen"."cpu"'},
                           expect="failed")
    assert unknown["error"] == "failed to get InfluxDB client: unknown InfluxDB cluster 'nope'"
    live = await replay(h, "/replays/query", {"id": "l", "task": "bad",
                                              "query": 'SELECT "v" FROM "nodb"."autogen"."m"'})
    assert (live["status"], live["error"]) == (
        "failed", "running replay: InfluxDB query failed: database not found: nodb")


@pytest_twisted.ensureDeferred
async def test_a_query_outside_the_tasks_dbrps_is_refused(influxd, make_app):
    h = make_app()
    await define(h, "t", MEAN_BY_HOST, dbrp=("telegraf", "other"))
    done = await record(h, "batch", {"id": "b", "task": "t", "start": rfc(influxd.base)},
                        expect="failed")
    assert done["error"] == 'batch query is not allowed to request data from "telegraf"."autogen"'
    live = await replay(h, "/replays/batch", {"id": "r", "task": "t",
                                              "start": rfc(influxd.base)})
    assert live["error"] == ('running replay: batch query is not allowed to request data from '
                             '"telegraf"."autogen"')


@pytest_twisted.ensureDeferred
async def test_an_unreachable_cluster_fails_the_recording_and_the_replay(influxd, make_app):
    url = f"http://127.0.0.1:{free_port()}"
    h = make_app(url)
    await define(h, "t", MEAN_BY_HOST)
    done = await record(h, "batch", {"id": "b", "task": "t", "start": rfc(influxd.base),
                                     "stop": rfc(influxd.base + 20 * SECOND)}, expect="failed")
    assert "cannot reach" in done["error"] and url in done["error"]
    assert "influx-admin-pw" not in done["error"]
    assert not [n for n in os.listdir(h.app.replays.dir) if n.startswith("b.")]
    live = await replay(h, "/replays/batch", {"id": "r", "task": "t",
                                              "start": rfc(influxd.base)})
    assert live["status"] == "failed"
    assert live["error"].startswith("running replay: ") and url in live["error"]


@pytest_twisted.ensureDeferred
async def test_deleting_a_recording_while_it_queries_stops_it_and_leaves_no_file(
        influxd, make_app):
    h = make_app()
    await define(h, "t", MEAN_BY_HOST.replace("every(10s)", "every(1s)"))
    created = await call(h, "POST", V1 + "/recordings/batch", {
        "id": "b", "task": "t", "start": rfc(influxd.base - 3000 * SECOND),
        "stop": rfc(influxd.base)})
    assert created.code == 201
    # 3000 queries, one at a time: it is still running.
    assert (await call(h, "GET", V1 + "/recordings/b")).code == 202
    assert (await call(h, "DELETE", V1 + "/recordings/b")).code == 204
    await deferLater(reactor, 0.2, lambda: None)
    assert (await call(h, "GET", V1 + "/recordings/b")).code == 404
    assert os.listdir(h.app.replays.dir) == []
    assert h.app.replays._recorders == {}

