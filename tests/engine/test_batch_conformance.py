"""
The batch engine against Kapacitor's ``TestBatch_*`` cases (see
``batch_conformance.py`` for how a case runs: recorded query results replayed
into the real task through the query node, as the Go harness does).

Cases whose script posts to the Go test's ``httptest`` server (``@TS_URL@``)
post to a real local receiver on the reactor, which checks what the Go
handler checks: each request's body and URL, in order, or (``.timeout()``)
that a receiver slower than the timeout does not hold the task up.

Cases named in ``batch_pending.txt`` are expected to fail (strict xfail).
"""

import time

import pytest
import pytest_twisted
from twisted.internet import reactor, task as ttask
from twisted.web.server import Site

from kapacitord_tw.config.influxdb import InfluxDBConfig, validate_list
from kapacitord_tw.influxdb.service import InfluxDBService
from tests.engine.batch_conformance import (
    TS_URL_TOKEN, ZERO_NS, PostReceiver, http_out, load_cases, load_pending, parse_time,
    posts_in_flight, read_brpl, recordings, replay_batches, run_case, start_case,
)
from tests.engine.conformance import compare
from tests.support.influxd import InfluxD

CASES = load_cases()
PENDING = load_pending()
POSTING = [c for c in CASES if TS_URL_TOKEN in c["script"]]


def _param(case):
    marks = []
    if case["id"] in PENDING:
        marks.append(pytest.mark.xfail(strict=True, reason=PENDING[case["id"]] or "pending"))
    return pytest.param(case, id=case["id"], marks=marks)


@pytest.fixture(scope="module")
def influxdb(tmp_path_factory):
    """One private influxd for the module, as the task's default cluster."""
    from twisted.internet import reactor

    with InfluxD(tmp_path_factory.mktemp("influxd")) as server:
        clusters = validate_list([InfluxDBConfig(name="default", default=True, urls=(server.url,),
                                                 disable_subscriptions=True)])
        yield InfluxDBService(clusters, reactor, "localhost", 9092, _Ids(), None, False)


class _Ids:
    cluster_id = "batch-conformance"
    server_id = "batch-conformance"


@pytest.fixture
def utc(monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.parametrize("case", [_param(c) for c in CASES if c not in POSTING])
def test_batch_case(case, influxdb, utc):
    try:
        got = run_case(case, influxdb)
        problem = compare(case["result"], got, case["ignoreOrder"])
    except Exception as e:  # noqa: BLE001 -- a pending case may fail in any way
        pytest.fail(f"{type(e).__name__}: {e}", pytrace=False)
    if problem:
        pytest.fail(f"{problem}\nexp {case['result']}\ngot {got}", pytrace=False)


@pytest.mark.parametrize("case", [_param(c) for c in POSTING])
@pytest_twisted.ensureDeferred
async def test_batch_case_posting_to_a_receiver(case, influxdb, utc):
    receiver = PostReceiver(delay=case.get("receiverDelay", 0.0))
    port = reactor.listenTCP(0, Site(receiver), interface="127.0.0.1")
    started = time.monotonic()
    running = None
    try:
        running = start_case(case, influxdb, ts_url=f"http://127.0.0.1:{port.getHost().port}")
        # The Go test bounds the whole run when it has a deadline; else 10 s.
        deadline = started + case.get("deadline", 10.0)
        while posts_in_flight(running) and time.monotonic() < deadline:
            await ttask.deferLater(reactor, 0.005, lambda: None)
        elapsed = time.monotonic() - started
        assert posts_in_flight(running) == 0, f"posts still running after {elapsed:.2f}s"
        got = http_out(running, case)
    finally:
        if running is not None:
            running.stop()
        await port.stopListening()
    problem = compare(case["result"], got, case["ignoreOrder"])
    assert problem is None, f"{problem}\nexp {case['result']}\ngot {got}"
    posts = case.get("posts")
    if posts is not None:
        assert len(receiver.received) == len(posts)
        for n, (post, (uri, body)) in enumerate(zip(posts, receiver.received), 1):
            problem = compare(post["result"], body, False)
            assert problem is None, f"request {n}: {problem}\nexp {post['result']}\ngot {body}"
            if "url" in post:
                assert uri == post["url"], f"request {n}"
    if case.get("receiverDelay"):
        # Every post gave up after .timeout(), long before the receiver answered.
        (node,) = [n for n in running.nodes.values() if n.spec.type_name == "HTTPPostNode"]
        assert node.errors == len(replay_batches(recordings(case["name"]))) > 0


# ------------------------------------------------ the suite's own machinery


def test_pending_names_only_known_cases():
    assert set(PENDING) <= {c["id"] for c in CASES}
    assert len(CASES) >= 40


def test_brpl_objects_may_span_lines():
    text = '{"name":"a","points":[\n {"fields":{"v":1},"time":"2015-10-30T17:14:12Z"}\n]}\n{"name":"b"}\n'
    assert [o["name"] for o in read_brpl(text)] == ["a", "b"]


def test_replay_moves_each_file_to_1971_and_merges_by_last_point():
    first = ('{"name":"m","points":[{"fields":{"v":1},"time":"2015-01-01T00:00:00Z"},'
             '{"fields":{"v":2},"time":"2015-01-01T00:00:04Z"}]}\n'
             '{"name":"m","points":[]}\n'
             '{"name":"m","points":[{"fields":{"v":3},"time":"2015-01-01T00:00:10Z"}]}\n')
    second = ('{"name":"n","tmax":"2016-01-01T00:00:00Z","points":'
              '[{"fields":{"v":9},"time":"2016-01-01T00:00:00Z"},'
              '{"fields":{"v":9},"time":"2016-01-01T00:00:06Z"}]}\n')
    got = [(i, b.name, [p.time - ZERO_NS for p in b.points], b.tmax)
           for i, b in replay_batches([first, second])]
    s = 10**9
    assert got == [
        (0, "m", [0, 4 * s], ZERO_NS + 4 * s),
        # A recorded tmax after the moved points is kept as recorded (unshifted).
        (1, "n", [0, 6 * s], parse_time("2016-01-01T00:00:00Z")),
        (0, "m", [10 * s], ZERO_NS + 10 * s),
    ]
    # An earlier one gives way to the last point.
    early = '{"name":"m","tmax":"1960-01-01T00:00:00Z","points":[{"fields":{"v":1},"time":"2015-01-01T00:00:00Z"}]}'
    ((_, batch),) = replay_batches([early])
    assert batch.tmax == ZERO_NS


def test_replay_keeps_a_files_order_when_a_later_batch_ends_earlier():
    # One goroutine per file in Go: a batch waits for the clock to reach its
    # last point, and the next one (ending earlier) follows right after it.
    text = ('{"name":"m","tags":{"cpu":"total"},"points":['
            '{"fields":{"v":1},"time":"2015-01-01T00:00:00Z"},'
            '{"fields":{"v":2},"time":"2015-01-01T00:00:01Z"}]}\n'
            '{"name":"m","tags":{"cpu":"cpu0"},"points":['
            '{"fields":{"v":3},"time":"2015-01-01T00:00:00Z"}]}\n')
    other = '{"name":"n","points":[{"fields":{"v":4},"time":"2016-01-01T00:00:00.5Z"}]}\n'
    got = [(i, b.tags.get("cpu"), b.tmax - ZERO_NS) for i, b in replay_batches([text, other])]
    s = 10**9
    assert got == [(1, None, 0), (0, "total", s), (0, "cpu0", 0)]
