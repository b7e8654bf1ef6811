"""
Kapacitor's ``TestBatch_*`` cases with the batch query node querying a real influxd.

How a case runs is in ``tests/engine/batch_influxd.py``: the recording is
written back as the points its query was run over into a fresh database of
the module's influxd, the case's script runs on a ``Clock`` whose ticks
drive the query schedule over those points, and the drained httpOut result
must be the original's.  Cases listed in ``batch_influxd_excluded.txt``
cannot be reproduced that way; they run as strict xfails, so each listed
reason is checked to still hold.
"""

import json
import time

import pytest
import pytest_twisted
from twisted.internet import defer, reactor
from twisted.internet.task import Clock
from twisted.web.server import Site

from kapacitord_tw import tick
from kapacitord_tw.config.influxdb import InfluxDBConfig, validate_list
from kapacitord_tw.engine.task import EngineServices, TaskExecution
from kapacitord_tw.influxdb.service import InfluxDBService
from tests.engine.batch_conformance import TS_URL_TOKEN, ZERO_NS, PostReceiver, load_cases
from tests.engine.batch_influxd import (
    by_database, line, load_excluded, query_shapes, schedule_step, source_points,
)
from tests.engine.conformance import compare
from tests.support.influxd import InfluxD

CASES = load_cases()
EXCLUDED = load_excluded()


def _param(case):
    marks = []
    if case["id"] in EXCLUDED:
        marks.append(pytest.mark.xfail(strict=True, reason=EXCLUDED[case["id"]]))
    return pytest.param(case, id=case["id"], marks=marks)


@pytest.fixture(scope="module")
def influx(tmp_path_factory):
    """One influxd for the module; each case gets fresh databases in it."""
    with InfluxD(tmp_path_factory.mktemp("influxd")) as server:
        clusters = validate_list([InfluxDBConfig(name="default", default=True, urls=(server.url,),
                                                 disable_subscriptions=True)])
        service = InfluxDBService(clusters, reactor, "localhost", 9092, _Ids(), None, False)
        yield server, service


class _Ids:
    cluster_id = "batch-conformance-influxd"
    server_id = "batch-conformance-influxd"


@pytest.fixture
def utc(monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def _load(server: InfluxD, case: dict) -> int:
    """Fresh databases for the case's queries, holding its source points."""
    databases = {(s.database, s.retention_policy) for s in query_shapes(case["script"])}
    for db, rp in sorted(databases):
        server.query(f'DROP DATABASE "{db}"')
        server.query(f'CREATE DATABASE "{db}" WITH NAME "{rp}"')
    written = 0
    for (db, rp), lines in by_database(source_points(case)).items():
        server.write(db, "\n".join(lines), rp=rp, precision="ns")
        written += len(lines)
    return written


async def run_against_influxd(case: dict, service, ts_url: str) -> dict:
    """The task on a Clock from 1971-01-01, one query period per step up to the
    case's duration, each step's queries awaited; then drained: httpOut's result.
    ``ts_url``: where a script's ``httpPost('@TS_URL@')`` posts."""
    clock = Clock()
    clock.advance(ZERO_NS / 1e9)
    services = EngineServices(influxdb=service)
    script = case["script"].replace(TS_URL_TOKEN, ts_url)
    task = TaskExecution(case["id"], tick.compile_task(script),
                         [("telegraf", "default")], clock, services=services)
    queries = [n for n in task.nodes.values() if n.spec.type_name == "QueryNode"]
    step = schedule_step(task)
    task.start()
    try:
        for _ in range(int(case["duration"] // step)):
            clock.advance(step)
            await defer.gatherResults([q.idle() for q in queries])
        task.drain()
        error = services.task_errors.last.get(case["id"])
        if error:
            raise AssertionError(f"the task's error: {error}")
        # Every query node read points from influxd (an empty expectation, as
        # TestBatch_AlertAll's, must not pass because nothing was queried).
        assert all(q.counters["points_queried"] > 0 for q in queries), \
            {q.name: q.counters["points_queried"] for q in queries}
        return task.outputs[case["httpOut"]].result()
    finally:
        task.stop()


@pytest.mark.parametrize("case", [_param(c) for c in CASES])
@pytest_twisted.ensureDeferred
async def test_batch_case_queries_influxd(case, influx, utc):
    server, service = influx
    assert _load(server, case) > 0
    receiver = reactor.listenTCP(0, Site(PostReceiver()), interface="127.0.0.1")
    try:
        url = f"http://127.0.0.1:{receiver.getHost().port}"
        got = json.loads(json.dumps(await run_against_influxd(case, service, url)))
    finally:
        await receiver.stopListening()
    problem = compare(case["result"], got, case["ignoreOrder"])
    assert problem is None, f"{problem}\nexp {case['result']}\ngot {got}"


# ------------------------------------------------ the suite's own machinery


def test_excluded_names_only_known_cases_and_enough_cases_run():
    ids = {c["id"] for c in CASES}
    assert set(EXCLUDED) <= ids
    assert len(ids - set(EXCLUDED)) >= 20


def test_source_points_undo_the_aggregate_and_carry_the_pinned_tags():
    (case,) = [c for c in CASES if c["id"] == "TestBatch_SimpleMR"]
    points = source_points(case)
    assert len(points) == 45
    first = points[0]
    # SELECT mean("value") ... WHERE "host" = 'serverA' ... GROUP BY time(2s), 'cpu':
    # the recorded column mean was the field value of serverA's points.
    assert line(first) == ("cpu_usage_idle,cpu=cpu-total,host=serverA "
                           "value=90.38281469458698 31536000000000000")


def test_queries_over_the_same_points_write_the_finest_recording_once():
    (case,) = [c for c in CASES if c["id"] == "TestBatch_JoinOn"]
    points = source_points(case)
    # JoinOn.0 (dc, service: first()) is written; JoinOn.1 (service: sum()) is
    # what influxd must compute from it.
    assert {tuple(sorted(p.tags)) for p in points} == {("dc", "service")}
    assert len(points) == 8
