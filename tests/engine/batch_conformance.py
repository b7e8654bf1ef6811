"""
Kapacitor's batch conformance cases (upstream ``integrations/batcher_test.go``).

``batch_cases.json`` holds every ``testBatcherWithOutput`` case (written by
``python -m tests.engine.batch_port batcher_test.go``); the recordings are
the upstream ``testdata/<name>.N.brpl`` files, copied verbatim.

How a case runs -- the replay path, through a test hook.  The Go harness
never queries InfluxDB in these tests: ``testBatcher`` hands each query
node's collector to ``ReplayBatchFromIO``, which feeds it the recorded query
*results* (``N.brpl`` goes to the N-th query node).  Those recordings are
not raw points: they are what a query with ``mean()``/``sum()``/``GROUP BY
time(2s)``/``WHERE host = …`` returned (fields named ``mean``, no ``host``
tag), so writing them into influxd and running the script's own query over
them does not give back the same batches.  The expected results also depend
on replay-only semantics: each file is shifted so that its first point lands
on 1971-01-01T00:00:00Z, a batch ends at its last point unless the recording
says later (``tmax`` is kept unshifted, as ``replayBatchFromChan`` does), and
batches arrive whenever the replay clock passes their last point, not on the
query node's schedule.  So the runner compiles the task, builds the real
engine :class:`TaskExecution` on a ``Clock``, and hands each recorded batch to
the query node's children (:func:`replay_batches`, ordered by the time the
Go replay clock would release them), then ends the stream as ``tm.Drain``
does and reads the httpOut node's result.  The query nodes are built against
the module's private influxd as their cluster (one per module), but their
schedule is never started, as in Go.  The same cases with the query node
really querying influxd on its schedule (the recordings written back as the
points they were queried from) are ``tests/influxdb/
test_batch_conformance_influxd.py`` (see ``batch_influxd.py``).

A script that posts to the Go test's ``httptest`` server has ``@TS_URL@``
in its place; :class:`PostReceiver` is a local receiver for it.
"""

from __future__ import annotations

import calendar
import json
import re
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from twisted.internet.task import Clock
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET

from kapacitord_tw import tick
from kapacitord_tw.engine.messages import Batch, BatchPoint
from kapacitord_tw.engine.task import EngineServices, TaskExecution

HERE = Path(__file__).parent
CASES_FILE = HERE / "batch_cases.json"
PENDING_FILE = HERE / "batch_pending.txt"
TESTDATA = HERE / "testdata"

#: Stands for the Go test's ``httptest`` server URL (``ts.URL``) in a script.
TS_URL_TOKEN = "@TS_URL@"

#: ``clock.New(time.Date(1971, 1, 1, 0, 0, 0, 0, time.UTC))`` in ns.
ZERO_NS = 365 * 86400 * 10**9

_RFC3339 = re.compile(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?Z")


def load_cases() -> List[dict]:
    return json.loads(CASES_FILE.read_text())["cases"]


def load_pending() -> Dict[str, str]:
    pending: Dict[str, str] = {}
    if PENDING_FILE.exists():
        for raw in PENDING_FILE.read_text().splitlines():
            name, _, reason = raw.partition("#")
            if name.strip():
                pending[name.strip()] = reason.strip()
    return pending


def parse_time(text: str) -> int:
    """RFC 3339 UTC (as Kapacitor records it) to ns since the epoch."""
    m = _RFC3339.fullmatch(text)
    if not m:
        raise ValueError(f"unexpected time {text!r}")
    y, mo, d, h, mi, s, frac = m.groups()
    seconds = calendar.timegm((int(y), int(mo), int(d), int(h), int(mi), int(s)))
    return seconds * 10**9 + int((frac or "").ljust(9, "0"))


def read_brpl(text: str) -> List[dict]:
    """The JSON objects of a recording, one after the other (they may span lines)."""
    decoder = json.JSONDecoder()
    out, pos = [], 0
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos >= len(text):
            return out
        obj, pos = decoder.raw_decode(text, pos)
        out.append(obj)


def replay_batches(files: List[str]) -> List[Tuple[int, Batch]]:
    """``(query node index, Batch)`` in the order ``ReplayBatchFromIO`` delivers them.

    Per file (one goroutine each in Go): batches without points are dropped
    by the reader; every point moves by the same amount, so that the first
    point of the file is at 1971-01-01; the batch's end is its recorded
    ``tmax`` when that is after its last (moved) point, else that point.
    A file's batches leave in file order, each once the shared clock has
    reached its last point (``clck.Until``): a batch whose last point is
    earlier than the one before it leaves right after it.  Across files the
    merge is by that release time (file order breaks ties).
    """
    timed = []
    for index, text in enumerate(files):
        diff = None
        released = 0
        for seq, raw in enumerate(read_brpl(text)):
            points = raw.get("points") or []
            if not points:
                continue
            if diff is None:
                diff = ZERO_NS - parse_time(points[0]["time"])
            tags = dict(raw.get("tags") or {})
            moved = [BatchPoint(parse_time(p["time"]) + diff, _go_fields(p.get("fields")),
                                dict(p.get("tags") or tags)) for p in points]
            last = moved[-1].time
            tmax = parse_time(raw["tmax"]) if raw.get("tmax") else 0
            if tmax < last:
                tmax = last
            batch = Batch(raw.get("name", ""), tags, bool(raw.get("byname")), tmax, moved)
            released = max(released, last)
            timed.append((released, index, seq, batch))
    timed.sort(key=lambda t: (t[0], t[1], t[2]))
    return [(index, batch) for _last, index, _seq, batch in timed]


def _go_fields(fields) -> dict:
    """Field values as ``encoding/json`` decodes them into ``interface{}``: numbers are float64."""
    return {k: float(v) if type(v) is int else v for k, v in (fields or {}).items()}


def recordings(name: str) -> List[str]:
    files = []
    while (TESTDATA / f"{name}.{len(files)}.brpl").exists():
        files.append((TESTDATA / f"{name}.{len(files)}.brpl").read_text())
    if not files:
        raise FileNotFoundError(f"no recording for {name}")
    return files


def start_case(case: dict, influxdb, ts_url: Optional[str] = None) -> TaskExecution:
    """Compile, build the task on a Clock, replay, drain: the running task
    (the caller stops it; httpPost requests may still be on their way).

    ``ts_url`` stands for the Go test's ``httptest`` server in scripts that
    post to it (:data:`TS_URL_TOKEN`)."""
    script = case["script"]
    if TS_URL_TOKEN in script:
        if ts_url is None:
            raise ValueError(f"{case['id']} posts to {TS_URL_TOKEN}: give it a receiver's URL")
        script = script.replace(TS_URL_TOKEN, ts_url)
    compiled = tick.compile_task(script)
    clock = Clock()
    clock.advance(ZERO_NS / 1e9)
    services = EngineServices(influxdb=influxdb)
    task = TaskExecution(case["id"], compiled, [("telegraf", "default")], clock,
                         services=services)
    queries = [n for n in task.nodes.values() if n.spec.type_name == "QueryNode"]
    task.start()
    try:
        for index, batch in replay_batches(recordings(case["name"])):
            node = queries[index]
            if batch.tmax / 1e9 > clock.seconds():
                clock.rightNow = batch.tmax / 1e9  # no timers fire: the schedule is Go's replay
            node.counters["batches_queried"] += 1
            node.counters["points_queried"] += len(batch.points)
            node.forward(batch)
        task.drain()
    except BaseException:
        task.stop()
        raise
    return task


def http_out(task: TaskExecution, case: dict) -> dict:
    """The case's httpOut result, as the JSON a client would decode."""
    return json.loads(json.dumps(task.outputs[case["httpOut"]].result()))


def run_case(case: dict, influxdb) -> dict:
    """The httpOut result of a case that posts nowhere."""
    task = start_case(case, influxdb)
    try:
        return http_out(task, case)
    finally:
        task.stop()


# --------------------------------------------- the Go test's httptest server


class PostReceiver(Resource):
    """A local stand-in for the Go test's ``httptest.NewServer``: records each
    request's URI and JSON body, in arrival order, and answers 200 -- after
    ``delay`` seconds when the Go handler sleeps (on the reactor's clock,
    never blocking it; a request whose client gave up is not answered)."""

    isLeaf = True

    def __init__(self, delay: float = 0.0, clock=None):
        super().__init__()
        self.delay = delay
        self.clock = clock
        self.received: List[Tuple[str, object]] = []

    def render_POST(self, request):
        body = request.content.read()
        try:
            decoded = json.loads(body)
        except ValueError:
            decoded = body
        self.received.append((request.uri.decode("utf-8", "replace"), decoded))
        if not self.delay:
            return b""
        clock = self.clock
        if clock is None:
            from twisted.internet import reactor as clock
        call = clock.callLater(self.delay, request.finish)
        request.notifyFinish().addErrback(lambda _f: call.cancel() if call.active() else None)
        return NOT_DONE_YET


def posts_in_flight(task: TaskExecution) -> int:
    """Requests the task's httpPost nodes have not finished (answered, failed or timed out)."""
    return sum(n.pending for n in task.nodes.values() if n.spec.type_name == "HTTPPostNode")
