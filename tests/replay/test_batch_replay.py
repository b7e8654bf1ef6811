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
from tests.engine.batch_conformance import TESTDATA, ZERO_NS, load_cases, load_pending
from tests.engine.conformance import compare
from tests.http.harness import V1, Harness

CASES = [c for c in load_cases() if c["id"] not in load_pending()]


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
