"""Batch recordings replayed through ``POST /replays`` on the real resource tree.

Kapacitor's own ``TestBatch_*`` cases (``integrations/batcher_test.go``) are
its batch replay: each query node gets the recorded ``<test>.N.brpl`` file
through ``ReplayBatchFromIO`` on a clock starting at 1971-01-01.  Here the
same files go into one recording file as Kapacitor writes it (a zip archive
with entries ``0``, ``1``, ...), dropped into ``[replay] dir``, replayed to
the task with the fast clock, and the task's httpOut (``?replay-id=``) must
be the case's expected result.  Time is a ``Clock`` set to 1971-01-01.
"""

from __future__ import annotations

import io
import os
import time
import zipfile

import pytest

from kapacitord_tw.replay.brpl import BatchFile, decode_batch, encode_batch
from tests.engine.batch_conformance import (
    TESTDATA, TS_URL_TOKEN, ZERO_NS, load_cases, load_pending,
)
from tests.engine.conformance import compare
from tests.http.harness import V1, Harness

#: The cases the engine passes, except those posting to the Go test's HTTP server.
CASES = [c for c in load_cases()
         if c["id"] not in load_pending() and TS_URL_TOKEN not in c["script"]]


@pytest.fixture
def utc(monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def harness(tmp_path, monkeypatch, now_ns=ZERO_NS):
    monkeypatch.chdir(tmp_path)
    h = Harness(tmp_path, http_auth=False)
    h.clock.rightNow = now_ns / 1e9
    return h


def open_service(h):
    fired = []
    h.app.replays.open().addBoth(fired.append)
    assert fired == [None], fired


def drop_recording(h, rid: str, entries) -> str:
    """A batch recording file in the replay dir: one zip entry per query node."""
    os.makedirs(h.app.replays.dir, exist_ok=True)
    path = os.path.join(h.app.replays.dir, rid + ".brpl")
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for index, data in enumerate(entries):
            z.writestr(str(index), data)
    return path


def define_batch(h, task_id, script, dbrp=("telegraf", "default"), enabled=False):
    reply = h.post(V1 + "/tasks", {
        "id": task_id, "type": "batch", "dbrps": [{"db": dbrp[0], "rp": dbrp[1]}],
        "script": script, "status": "enabled" if enabled else "disabled"})
    assert reply.code == 200, reply.body


def run_turns(h, turns=200):
    for _ in range(turns):
        h.clock.advance(0)


def case_files(name):
    files = []
    while (TESTDATA / f"{name}.{len(files)}.brpl").exists():
        files.append((TESTDATA / f"{name}.{len(files)}.brpl").read_bytes())
    return files


@pytest.mark.parametrize("case", [pytest.param(c, id=c["id"]) for c in CASES])
def test_kapacitor_batch_case_replayed_from_a_recording_file(case, tmp_path, monkeypatch, utc):
    h = harness(tmp_path, monkeypatch)
    drop_recording(h, "rec", case_files(case["name"]))
    open_service(h)
    define_batch(h, "t", case["script"])
    created = h.post(V1 + "/replays", {"id": "r", "task": "t", "recording": "rec"})
    assert created.code == 201, created.body
    run_turns(h)
    done = h.get(V1 + "/replays/r").json()
    assert (done["status"], done["error"]) == ("finished", "")
    out = h.get(V1 + f"/tasks/t/{case['httpOut']}?replay-id=r")
    assert out.code == 200, out.body
    problem = compare(case["result"], out.json(), case["ignoreOrder"])
    assert problem is None, f"{problem}\nexp {case['result']}\ngot {out.json()}"


def test_the_kapacitor_cases_are_many():
    assert len(CASES) >= 40


# ------------------------------------------------------------------ the file


def test_a_plain_stream_of_batches_is_one_source_and_objects_may_span_lines(tmp_path):
    path = tmp_path / "one.brpl"
    path.write_bytes(b'{"name":"a","points":[\n {"fields":{"v":1},"time":"2015-10-30T17:14:12Z"}\n]}'
                     b'\n{"name":"empty"}\n' + (TESTDATA / "TestBatch_SimpleMR.0.brpl").read_bytes())
    opened = BatchFile(str(path))
    try:
        assert len(opened.streams) == 1
        batches = opened.streams[0].read(10**9)
    finally:
        opened.close()
    # Batches without points are skipped, as Kapacitor's reader does.
    assert batches[0].name == "a" and batches[0].points[0].fields == {"v": 1.0}
    assert all(b.name == "cpu_usage_idle" for b in batches[1:])
    assert len(batches) > 3


def test_encoding_is_what_kapacitor_writes_and_reads_back():
    line = (b'{"name":"cpu","tmax":"2015-10-30T17:14:20Z","group":"cpu=cpu0","tags":{"cpu":"cpu0"},'
            b'"points":[{"fields":{"mean":90.5,"n":3,"s":"a\\u003cb"},"tags":{"cpu":"cpu0"},'
            b'"time":"2015-10-30T17:14:12.5Z"}]}\n')
    import json
    batch = decode_batch(json.loads(line))
    assert batch.points[0].fields == {"mean": 90.5, "n": 3.0, "s": "a<b"}
    assert encode_batch(batch) == line


def test_a_batch_bigger_than_a_read_is_read_whole(tmp_path, monkeypatch):
    from kapacitord_tw.replay import brpl

    monkeypatch.setattr(brpl, "_CHUNK", 64)
    data = (TESTDATA / "TestBatch_SimpleMR.0.brpl").read_bytes()
    stream = brpl.BatchStream(io.BytesIO(data))
    got = []
    while not stream.done:
        got.extend(stream.read(100))
    assert len(got) == data.count(b"\n")


# ------------------------------------------------------------ behaviour, errors

SIMPLE = """
batch
    |query('SELECT mean("value") FROM "telegraf"."default".cpu_usage_idle')
        .period(10s)
        .every(10s)
        .groupBy(time(2s), 'cpu')
    |httpOut('out')
"""
STREAM = "stream|from().measurement('cpu')|httpOut('out')"


def _simple(tmp_path, monkeypatch, entries=1):
    h = harness(tmp_path, monkeypatch)
    data = (TESTDATA / "TestBatch_SimpleMR.0.brpl").read_bytes()
    drop_recording(h, "rec", [data] * entries)
    open_service(h)
    define_batch(h, "t", SIMPLE)
    return h


def test_a_real_clock_batch_replay_releases_each_batch_at_its_last_point(tmp_path, monkeypatch):
    h = _simple(tmp_path, monkeypatch)
    h.post(V1 + "/replays", {"id": "r", "task": "t", "recording": "rec", "clock": "real"})
    run_turns(h)
    # The first batches' points span 8 seconds: nothing is released before then.
    assert h.get(V1 + "/replays/r").code == 202
    collected = lambda: h.get(V1 + "/tasks/t?replay-id=r").json()[  # noqa: E731
        "stats"]["node-stats"]["query1"]["collected"]
    assert collected() == 0
    h.clock.advance(8)
    run_turns(h)
    assert collected() == 3  # one batch per cpu
    h.clock.advance(3600)
    run_turns(h)
    assert h.get(V1 + "/replays/r").json()["status"] == "finished"


def test_deleting_a_batch_recording_stops_its_replay_with_a_message(tmp_path, monkeypatch):
    h = _simple(tmp_path, monkeypatch)
    h.post(V1 + "/replays", {"id": "r", "task": "t", "recording": "rec", "clock": "real"})
    run_turns(h)
    assert h.delete(V1 + "/recordings/rec").code == 204
    shown = h.get(V1 + "/replays/r").json()
    assert (shown["status"], shown["error"]) == (
        "failed", "running replay: recording rec was deleted")
    assert os.listdir(h.app.replays.dir) == []


def test_a_recording_of_the_other_type_fails_as_in_kapacitor(tmp_path, monkeypatch):
    h = _simple(tmp_path, monkeypatch)
    reply = h.post(V1 + "/tasks", {"id": "s", "type": "stream", "script": STREAM,
                                   "dbrps": [{"db": "telegraf", "rp": "default"}]})
    assert reply.code == 200, reply.body
    h.post(V1 + "/replays", {"id": "r1", "task": "s", "recording": "rec"})
    assert h.get(V1 + "/replays/r1").json()["error"] == (
        "running replay: data source open: gzip: invalid header")
    with open(os.path.join(h.app.replays.dir, "st.srpl"), "wb") as f:
        f.write(b"telegraf\ndefault\ncpu value=1 0\n")
    open_service(h)
    h.post(V1 + "/replays", {"id": "r2", "task": "t", "recording": "st"})
    assert h.get(V1 + "/replays/r2").json()["error"] == (
        "running replay: data source open: zip: not a valid zip file")


def test_a_recording_with_more_sources_than_the_task_has_queries_fails(tmp_path, monkeypatch):
    h = _simple(tmp_path, monkeypatch, entries=2)
    h.post(V1 + "/replays", {"id": "r", "task": "t", "recording": "rec"})
    run_turns(h)
    assert h.get(V1 + "/replays/r").json()["error"] == (
        "running replay: unexpected number of batch collectors. exp 2 got 1")


def test_a_damaged_batch_recording_fails_the_replay(tmp_path, monkeypatch):
    h = harness(tmp_path, monkeypatch)
    drop_recording(h, "rec", [b'{"name":"cpu","points":[{"fields":{"v":1},"time":"2015-10-30T17:14:12Z"}]}\n{"name": oops}\n'])
    open_service(h)
    define_batch(h, "t", SIMPLE)
    h.post(V1 + "/replays", {"id": "r", "task": "t", "recording": "rec"})
    run_turns(h)
    error = h.get(V1 + "/replays/r").json()["error"]
    assert error.startswith("running replay: invalid batch recording: Expecting value"), error


def test_live_replay_requests_are_checked_as_in_kapacitor(tmp_path, monkeypatch):
    h = _simple(tmp_path, monkeypatch)
    h.post(V1 + "/tasks", {"id": "s", "type": "stream", "script": STREAM,
                           "dbrps": [{"db": "telegraf", "rp": "default"}]})
    start = "2020-01-01T00:00:00Z"
    stream = h.post(V1 + "/replays/batch", {"task": "s", "start": start})
    assert (stream.code, stream.error) == (400, "cannot replay batch against stream task: s")
    missing = h.post(V1 + "/replays/batch", {"task": "nope", "start": start})
    assert (missing.code, missing.error) == (404, "task load: no task exists")
    no_start = h.post(V1 + "/replays/batch", {"task": "t"})
    assert (no_start.code, no_start.error) == (400, "must provide start time")
    bad_id = h.post(V1 + "/replays/batch", {"id": "a b", "task": "t", "start": start})
    assert (bad_id.code, bad_id.error) == (400, 'replay ID must match ^[-\\._\\p{L}0-9]+$ "a b"')
    bad_id = h.post(V1 + "/replays/query", {"id": "a/b", "task": "t", "query": "x"})
    assert (bad_id.code, bad_id.error) == (
        400, 'recording ID must match ^[-\\._\\p{L}0-9]+$ "a/b"')
    bad_clock = h.post(V1 + "/replays/query", {"task": "t", "query": "x", "clock": "slow"})
    assert (bad_clock.code, bad_clock.error) == (400, "unknown Clock slow")
    bad_type = h.post(V1 + "/recordings/query", {"query": "x", "type": "invalid"})
    assert bad_type.code == 400


def test_a_batch_recording_may_run_at_most_so_many_queries(tmp_path, monkeypatch):
    h = harness(tmp_path, monkeypatch, now_ns=time.time_ns())
    open_service(h)
    define_batch(h, "t", SIMPLE.replace("every(10s)", "every(1s)"))
    start = h.clock.seconds() - 2 * 86400
    created = h.post(V1 + "/recordings/batch", {
        "id": "b", "task": "t",
        "start": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(start))})
    assert (created.code, created.json()["status"]) == (201, "running")
    shown = h.get(V1 + "/recordings/b").json()
    assert (shown["status"], shown["error"]) == (
        "failed", "the time range needs more than 100000 queries: record a shorter one")


def test_a_live_query_replay_needs_as_many_queries_as_one(tmp_path, monkeypatch):
    h = harness(tmp_path, monkeypatch)
    open_service(h)
    define_batch(h, "two", SIMPLE + SIMPLE.replace("httpOut('out')", "httpOut('other')"))
    h.post(V1 + "/replays/query", {"id": "r", "task": "two",
                                   "query": 'SELECT "v" FROM "telegraf"."default"."m"'})
    run_turns(h)
    assert h.get(V1 + "/replays/r").json()["error"] == (
        "running replay: unexpected number of batch collectors. exp 1 got 2")
