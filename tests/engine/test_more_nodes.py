"""barrier, log, sideload, httpPost, kapacitorLoopback, combine and join, on real tasks.

Each test compiles a TICKscript, runs it as a :class:`TaskExecution` on a
``Clock`` (or the real reactor for HTTP), feeds engine points and looks at
what the nodes emitted (a recorder linked below the node under test, or
the httpOut endpoint).
"""

from __future__ import annotations

import json

import pytest
import pytest_twisted
from twisted.internet import defer, protocol, reactor, task as ttask
from twisted.logger import LogLevel, Logger
from twisted.web import resource, server

from kapacitord_tw import tick
from kapacitord_tw.engine.messages import Barrier, DeleteGroup, Point
from kapacitord_tw.engine.nodes import combine, httppost
from kapacitord_tw.engine.task import EngineServices, TaskExecution, TaskStartError
from kapacitord_tw.ingest.points import PointBus
from kapacitord_tw.logs import format_logfmt
from kapacitord_tw.tick.mwc import MWC

S = 1_000_000_000
T0 = 31536000 * S  # 1971-01-01T00:00:00Z


def run(script, clock=None, services=None, dbrps=(("db", "rp"),)):
    compiled = tick.compile_task(script)
    execution = TaskExecution("t", compiled, dbrps, clock or ttask.Clock(), services=services)
    execution.start()
    return execution


class Recorder:
    """Stands below a node and keeps what reaches it."""

    def __init__(self):
        self.name = "recorder"
        self.messages = []

    def receive(self, msg):
        self.messages.append(msg)


def find(execution, desc):
    """The task's (only) node of this kind, by its name stem (``barrier``, ``join``)."""
    (found,) = [n for name, n in execution.nodes.items() if name.rstrip("0123456789") == desc]
    return found


def record(execution, desc):
    rec = Recorder()
    node_ = find(execution, desc)
    node_.children.append(rec)
    node_.edge_counts.append(0)
    return rec


def pt(name, t, fields, tags=None, db="db", rp="rp"):
    return Point(name, db, rp, dict(tags or {}), dict(fields), t)


# ------------------------------------------------------------------ barrier

IDLE = """
stream
    |from().measurement('cpu').groupBy('host')
    |barrier().idle(1s){delete}
    |httpOut('out')
"""


def test_idle_barrier_fires_after_idle_reactor_time_at_last_point_plus_idle():
    clock = ttask.Clock()
    ex = run(IDLE.format(delete=""), clock)
    rec = record(ex, "barrier")
    ex.feed([pt("cpu", T0, {"v": 1.0}, {"host": "a"})])
    clock.advance(0.6)
    ex.feed([pt("cpu", T0 + 5 * S, {"v": 2.0}, {"host": "a"})])
    clock.advance(0.6)  # 1.2 s since the first point, 0.6 s since the last
    assert [type(m) for m in rec.messages] == [Point, Point]
    clock.advance(0.5)
    barrier = rec.messages[-1]
    assert type(barrier) is Barrier
    assert barrier.time == T0 + 6 * S and barrier.group == "host=a"
    assert barrier.tags == {"host": "a"}
    # Still idle: another barrier a second later, another second of data time on.
    clock.advance(1.0)
    assert rec.messages[-1].time == T0 + 7 * S
    # A point older than the last barrier is dropped.
    ex.feed([pt("cpu", T0 + 6 * S, {"v": 3.0}, {"host": "a"})])
    assert type(rec.messages[-1]) is Barrier
    ex.stop()
    assert clock.getDelayedCalls() == []


def test_idle_barrier_with_delete_forgets_the_group_downstream():
    clock = ttask.Clock()
    ex = run(IDLE.format(delete=".delete(TRUE)"), clock)
    rec = record(ex, "barrier")
    ex.feed([pt("cpu", T0, {"v": 1.0}, {"host": "a"}), pt("cpu", T0, {"v": 1.0}, {"host": "b"})])
    assert find(ex, "barrier").cardinality == 2
    assert json.loads(json.dumps(ex.outputs["out"].result()))["series"] is not None
    clock.advance(1.0)
    kinds = [type(m) for m in rec.messages[2:]]
    assert kinds == [Barrier, DeleteGroup, Barrier, DeleteGroup]
    assert find(ex, "barrier").cardinality == 0
    assert clock.getDelayedCalls() == []
    assert ex.outputs["out"].result() == {"series": None}


def test_periodic_barrier_emits_at_the_clock_time():
    clock = ttask.Clock()
    clock.advance(T0 / S + 100)
    ex = run("stream|from().measurement('cpu')|barrier().period(10s)|httpOut('o')", clock)
    rec = record(ex, "barrier")
    ex.feed([pt("cpu", T0, {"v": 1.0})])
    clock.advance(10)
    assert type(rec.messages[-1]) is Barrier
    assert rec.messages[-1].time == T0 + 110 * S
    ex.feed([pt("cpu", T0 + 50 * S, {"v": 1.0})])  # older than the barrier: dropped
    assert type(rec.messages[-1]) is Barrier


def test_barrier_needs_idle_or_period():
    with pytest.raises(Exception, match="idle must be greater than zero"):
        run("stream|from()|barrier()|httpOut('o')")


# ---------------------------------------------------------------------- log


def test_log_node_writes_one_event_per_point_at_its_level_and_forwards():
    ex = run("stream|from().measurement('cpu').groupBy('host')"
             "|log().prefix('PRE').level('error')|httpOut('o')")
    events = []
    find(ex, "log").log = Logger(namespace="kapacitord_tw.engine", observer=events.append)
    ex.feed([pt("cpu", T0, {"value": 1.5}, {"host": "a b"})])
    assert ex.outputs["o"].result()["series"][0]["values"] == [["1971-01-01T00:00:00Z", 1.5]]
    (event,) = events
    assert event["log_level"] is LogLevel.error
    line = format_logfmt(event)
    assert 'lvl=error msg=point' in line
    for part in ('prefix=PRE', 'name=cpu', 'db=db', 'rp=rp', 'group="host=a b"',
                 'dimension=host', 'tag-host="a b"', 'field-value=1.5',
                 'data-time=1971-01-01T00:00:00Z', 'task=t', 'node=log2'):
        assert part in line


def test_log_node_batches_log_begin_points_end():
    ex = run("stream|from().measurement('cpu')|window().period(2s).every(2s)"
             "|log()|httpOut('o')")
    events = []
    find(ex, "log").log = Logger(namespace="kapacitord_tw.engine", observer=events.append)
    ex.feed([pt("cpu", T0 + i * S, {"v": float(i)}) for i in range(3)])
    assert [e["log_format"] for e in events] == [
        "begin batch", "batch point", "batch point", "end batch"]
    assert all(e["log_level"] is LogLevel.info for e in events)


# ----------------------------------------------------------------- sideload

SIDELOAD = """
stream
    |from().measurement('cpu')
    |sideload()
        .source('file://{dir}')
        .order('host/{{{{.host}}}}.yml', 'hostgroup/{{{{.hostgroup}}}}.yml', 'default.yml')
        .field('key0', 0.0)
        .field('count', 0)
        .field('flag', FALSE)
        .tag('key1', 'none')
    |httpOut('o')
"""


@pytest.fixture
def sideload_dir(tmp_path):
    # upstream services/sideload/testdata/src0, plus a JSON file
    (tmp_path / "host").mkdir()
    (tmp_path / "hostgroup").mkdir()
    (tmp_path / "default.yml").write_text("key0: 0.0\nkey1: one\n")
    (tmp_path / "host" / "hostA.yml").write_text("key0: 5.0\ncount: 7\n")
    (tmp_path / "hostgroup" / "foo.yml").write_text("key0: 1.0\nkey1: foo\nflag: 'true'\n")
    (tmp_path / "host" / "hostB.json").write_text('{"count": "12", "flag": "nope"}')
    return tmp_path


def _row(ex):
    row = ex.outputs["o"].result()["series"][0]
    return dict(zip(row["columns"], row["values"][0])), row.get("tags", {})


def test_sideload_looks_keys_up_in_order_and_converts_to_the_default_type(sideload_dir):
    ex = run(SIDELOAD.format(dir=sideload_dir))
    ex.feed([pt("cpu", T0, {"v": 1.0}, {"host": "hostA", "hostgroup": "foo"})])
    fields, tags = _row(ex)
    assert fields == {"time": "1971-01-01T00:00:00Z", "v": 1.0, "key0": 5.0, "count": 7,
                      "flag": True}
    assert type(fields["count"]) is int
    assert tags["key1"] == "foo"
    ex.feed([pt("cpu", T0 + S, {"v": 1.0}, {"host": "hostC"})])
    fields, tags = _row(ex)
    assert (fields["key0"], fields["count"], fields["flag"], tags["key1"]) == (0.0, 0, False, "one")


def test_sideload_value_of_the_wrong_type_takes_the_default_and_counts_an_error(sideload_dir):
    script = SIDELOAD.format(dir=sideload_dir).replace(
        "'host/{{.host}}.yml'", "'host/{{.host}}.json'")
    ex = run(script)
    ex.feed([pt("cpu", T0, {"v": 1.0}, {"host": "hostB"})])
    fields, _ = _row(ex)
    assert fields["count"] == 12 and fields["flag"] is False
    assert find(ex, "sideload").errors == 1


def test_sideload_source_must_be_an_absolute_file_url(sideload_dir):
    with pytest.raises(TaskStartError, match="sideload source path must be absolute"):
        run(SIDELOAD.format(dir="relative/dir").replace("file://", "file:"))
    with pytest.raises(TaskStartError, match="unsupported source scheme"):
        run(SIDELOAD.format(dir=sideload_dir).replace("file://", "ftp://"))
    (sideload_dir / "bad.yml").write_text("a:\n  nested: 1\n")
    with pytest.raises(TaskStartError, match="bad.yml"):
        run(SIDELOAD.format(dir=sideload_dir))


# ---------------------------------------------------------------- loopback


def test_loopback_publishes_rewritten_points_on_the_bus_next_turn():
    clock = ttask.Clock()
    bus = PointBus()
    got = []
    bus.subscribe(got.append)
    ex = run("stream|from().measurement('cpu')|eval(lambda: \"v\" * 2.0).as('v2')"
             "|kapacitorLoopback().database('out').retentionPolicy('autogen')"
             ".measurement('doubled').tag('k', 'v')",
             clock, EngineServices(bus=bus))
    ex.feed([pt("cpu", T0, {"v": 1.5}, {"host": "a"}), pt("cpu", T0 + S, {"v": 2.0})])
    assert got == []  # never from inside the handler
    clock.advance(0)
    (batch,) = got
    assert [(p.database, p.retention_policy, p.measurement, p.tags, p.fields, p.time)
            for p in batch] == [
        ("out", "autogen", "doubled", (("host", "a"), ("k", "v")), (("v2", 3.0),), T0),
        ("out", "autogen", "doubled", (("k", "v"),), (("v2", 4.0),), T0 + S),
    ]
    assert find(ex, "kapacitor_loopback").stats()["points_written"] == 2


def test_loopback_into_the_tasks_own_dbrp_is_refused():
    with pytest.raises(TaskStartError, match=r"loop detected on dbrp: \{db rp\}"):
        run("stream|from()|kapacitorLoopback().database('db').retentionPolicy('rp')",
            services=EngineServices(bus=PointBus()))


# ------------------------------------------------------------------ httpPost


class _Receiver(resource.Resource):
    isLeaf = True

    def __init__(self, code=200, body=b""):
        super().__init__()
        self.requests = []
        self.code, self.body = code, body
        self.arrived = defer.Deferred()

    def render_POST(self, request):
        self.requests.append((request.uri, request.requestHeaders, request.content.read()))
        request.setResponseCode(self.code)
        if not self.arrived.called:
            self.arrived.callback(None)
        return self.body


@pytest.fixture
def receiver():
    ports = []

    def start(**kwargs):
        rec = _Receiver(**kwargs)
        port = reactor.listenTCP(0, server.Site(rec), interface="127.0.0.1")
        ports.append(port)
        return rec, f"http://127.0.0.1:{port.getHost().port}"

    yield start
    for port in ports:
        port.stopListening()


async def _until(predicate, timeout=5.0):
    waited = 0.0
    while not predicate():
        await ttask.deferLater(reactor, 0.02, lambda: None)
        waited += 0.02
        assert waited < timeout, "timed out"


@pytest_twisted.ensureDeferred
async def test_http_post_sends_kapacitors_result_json_with_headers_and_url_template(receiver):
    rec, base = receiver()
    ex = run(f"""stream|from().measurement('cpu').groupBy('host')
        |httpPost('{base}/{{{{ .Name }}}}?host={{{{ index .Tags "host" }}}}&cpu={{{{ index .Tags "cpu" }}}}')
            .header('x-token', 'abc')
        |httpOut('o')""", reactor)
    ex.feed([pt("cpu", T0 + 5 * S, {"value": 95.8}, {"host": "serverA", "type": "idle"})])
    # Without .codeField() the point goes on at once.
    assert ex.outputs["o"].result()["series"][0]["values"] == [["1971-01-01T00:00:05Z", 95.8]]
    await rec.arrived
    uri, headers, body = rec.requests[0]
    assert uri == b"/cpu?host=serverA&cpu="
    assert headers.getRawHeaders("content-type") == ["application/json"]
    assert headers.getRawHeaders("x-token") == ["abc"]
    assert body == (b'{"series":[{"name":"cpu","tags":{"host":"serverA","type":"idle"},'
                    b'"columns":["time","value"],"values":[["1971-01-01T00:00:05Z",95.8]]}]}\n')
    ex.stop()


@pytest_twisted.ensureDeferred
async def test_http_post_batches_and_code_field_wait_for_the_answer_in_order(receiver):
    rec, base = receiver(code=503, body=b"overloaded")
    ex = run(f"""stream|from().measurement('cpu')
        |window().period(2s).every(2s)
        |httpPost('{base}/b').codeField('code').captureResponse()
        |httpOut('o')""", reactor)
    ex.feed([pt("cpu", T0 + i * S, {"v": float(i)}) for i in range(5)])
    assert ex.outputs["o"].result() == {"series": None}  # waiting for the answers
    node = find(ex, "http_post")
    await _until(lambda: node.pending == 0)
    row = ex.outputs["o"].result()["series"][0]
    assert row["columns"] == ["time", "code", "v"]
    assert [v[1] for v in row["values"]] == [503, 503]
    assert [v[0] for v in row["values"]] == ["1971-01-01T00:00:02Z", "1971-01-01T00:00:03Z"]
    assert node.errors == 2
    bodies = [json.loads(b) for _u, _h, b in rec.requests]
    assert [b["series"][0]["values"][0][1] for b in bodies] == [0.0, 2.0]
    ex.stop()


@pytest_twisted.ensureDeferred
async def test_http_post_times_out_a_silent_server_and_forwards_code_zero():
    class Silent(protocol.Protocol):
        def dataReceived(self, data):
            pass

    port = reactor.listenTCP(0, protocol.Factory.forProtocol(Silent), interface="127.0.0.1")
    try:
        ex = run(f"""stream|from().measurement('cpu')
            |httpPost('http://127.0.0.1:{port.getHost().port}/').codeField('code').timeout(300ms)
            |httpOut('o')""", reactor)
        ex.feed([pt("cpu", T0, {"v": 1.0})])
        node = find(ex, "http_post")
        await _until(lambda: node.pending == 0)
        row = ex.outputs["o"].result()["series"][0]
        assert row["values"] == [["1971-01-01T00:00:00Z", 0, 1.0]]
        assert node.errors == 1
        ex.stop()
    finally:
        await port.stopListening()


def test_http_post_bounds_requests_in_flight():
    class NeverAnswers:
        def post(self, *a, **kw):
            return defer.Deferred()

    ex = run("stream|from().measurement('cpu')|httpPost('http://x/')|httpOut('o')",
             services=EngineServices(http_client=NeverAnswers()))
    node = find(ex, "http_post")
    node.max_pending = 3
    ex.feed([pt("cpu", T0 + i * S, {"v": 1.0}) for i in range(5)])
    assert node.pending == 3 and node.errors == 2
    assert node.edge_counts == [3]
    ex.stop()
    assert node.pending == 0


def test_http_post_mapped_row_gives_values_by_column():
    row = {"name": "cpu", "tags": {"h": "a"}, "columns": ["time", "v"],
           "values": [["t1", 1.0], ["t2", 2.0]]}
    mapped = httppost.mapped_row(row)
    assert mapped.lookup("Values") == [{"time": "t1", "v": 1.0}, {"time": "t2", "v": 2.0}]
    from kapacitord_tw.engine.gotemplate import parse
    assert parse('{{ .Name }}/{{ index .Tags "h" }}/{{ index .Tags "missing" }}/').execute(
        mapped) == "cpu/a//"


# ------------------------------------------------------- combine and join


def test_combine_refuses_more_combinations_than_max_before_building_any():
    ex = run("stream|from().measurement('m')|combine(lambda: TRUE, lambda: TRUE)"
             ".as('a', 'b').max(10)|httpOut('o')")
    node = find(ex, "combine")
    ex.feed([pt("m", T0, {"v": float(i)}, {"i": str(i)}) for i in range(6)])  # 15 pairs
    ex.feed([pt("m", T0 + S, {"v": 0.0})])
    assert node.errors == 1 and node.edge_counts == [0]
    ex.feed([pt("m", T0 + S, {"v": 1.0}), pt("m", T0 + 2 * S, {"v": 1.0})])
    assert node.edge_counts == [1]
    assert combine.combination_count(6, 2) == 15
    assert combine.combination_count(1, 2) == -1


def test_combine_compiles_its_lambdas_once_whatever_the_number_of_groups(monkeypatch):
    from kapacitord_tw.engine import lambdas

    ex = run("stream|from().measurement('m').groupBy('h')"
             "|combine(lambda: \"v\" > 0.0, lambda: \"v\" <= 0.0).as('a', 'b')|httpOut('o')")
    node = find(ex, "combine")
    compiled = []
    real = lambdas.LambdaProgram.__init__
    monkeypatch.setattr(lambdas.LambdaProgram, "__init__",
                        lambda self, n: compiled.append(n) or real(self, n))
    for t in range(3):
        ex.feed([pt("m", T0 + t * S, {"v": float(i % 2)}, {"h": f"h{i // 2}", "i": str(i)})
                 for i in range(40)])
    assert len(node.groups) == 20 and node.edge_counts[0] > 0
    assert compiled == []


JOIN = """
var a = stream|from().measurement('a').groupBy('host')
var b = stream|from().measurement('b').groupBy('host')
a|join(b).as('a', 'b'){extra}|httpOut('o')
"""


def test_join_frees_each_set_once_emitted_and_groups_on_delete():
    ex = run(JOIN.format(extra=""))
    node = find(ex, "join")
    for i in range(1000):
        ex.feed([pt("a", T0 + i * S, {"v": 1.0}, {"host": "h"}),
                 pt("b", T0 + i * S, {"v": 2.0}, {"host": "h"})])
    group = node.groups["host=h"]
    assert len(group.sets) == 0 and len(group.times) == 0
    assert node.edge_counts == [1000]
    row = ex.outputs["o"].result()["series"][0]
    assert row["columns"] == ["time", "a.v", "b.v"]
    node.receive_from(0, DeleteGroup("host=h", {"host": "h"}, group_dims(ex)))
    assert node.cardinality == 0


def group_dims(ex):
    from kapacitord_tw.engine.messages import Dimensions
    return Dimensions(False, ("host",))


def test_join_inner_drops_unmatched_sets_once_both_heads_pass_and_null_fill_keeps_them():
    for extra, expected in (("", 1), (".fill('null')", 2)):
        ex = run(JOIN.format(extra=extra))
        ex.feed([pt("a", T0, {"v": 1.0}, {"host": "h"}),
                 pt("a", T0 + S, {"v": 1.0}, {"host": "h"}),
                 pt("b", T0 + S, {"v": 2.0}, {"host": "h"}),
                 pt("a", T0 + 2 * S, {"v": 1.0}, {"host": "h"}),
                 pt("b", T0 + 2 * S, {"v": 2.0}, {"host": "h"})])
        node = find(ex, "join")
        assert node.edge_counts == [expected + 1], extra
        assert len(node.groups["host=h"].sets) == 0


def test_rand_is_kapacitors_mwc_generator():
    r = MWC.seeded(0)
    assert (r.uint64n(0), r.uint64n(20), r.uint64n(1)) == (0, 3, 0)
    assert MWC.seeded(0).uint64() & ((1 << 63) - 1) == 3131420824542495944
