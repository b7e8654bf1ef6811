"""Chunked delivery (written rows through ``feed_rows``) gives what point-by-point delivery gives.

Tasks without multi-input nodes take written points in chunks, node to
node; the results, the node counters and the order of what each node sees
must be the same as when every point travels the whole task alone.
"""

from __future__ import annotations

from twisted.internet import task as ttask

from kapacitord_tw import tick
from kapacitord_tw.engine.messages import Point
from kapacitord_tw.engine.task import TaskExecution
from kapacitord_tw.ingest.rows import SeriesTable, WriteRows
from kapacitord_tw.ingest.points import Point as IngestPoint

S = 1_000_000_000
T0 = 31536000 * S

SCRIPT = """
stream
    |from().measurement('cpu').groupBy('host').where(lambda: "host" != 'skip')
    |where(lambda: "usage" > 10.0)
    |eval(lambda: "usage" * 2.0).as('double').keep()
    |window().period(10s).every(5s)
    |mean('double')
    |alert()
        .id('{{ .Name }}:{{ index .Tags "host" }}')
        .warn(lambda: "mean" > 100.0)
        .crit(lambda: "mean" > 150.0)
        .stateChangesOnly()
    |httpOut('out')
"""


def points():
    """Written points: three hosts, some bad values (strings: errors in where)."""
    out = []
    for i in range(120):
        host = ("a", "b", "c", "skip")[i % 4]
        value = "oops" if i % 17 == 0 else float((i * 37) % 100)
        out.append(IngestPoint("db", "rp", "cpu", (("host", host),), (("usage", value),),
                               T0 + i * S // 3))
        if i % 10 == 0:
            out.append(IngestPoint("db", "rp", "mem", (("host", host),), (("usage", 1.0),),
                                   T0 + i * S // 3))
    return out


def execution(script=SCRIPT):
    ex = TaskExecution("t", tick.compile_task(script), [("db", "rp")], ttask.Clock())
    ex.start()
    return ex


def per_point(ex, ingest):
    for p in ingest:
        if p.measurement == "cpu":
            ex.feed([Point(p.measurement, p.database, p.retention_policy, dict(p.tags),
                           dict(p.fields), p.time)])


def chunked(ex, ingest, size):
    rows = WriteRows.from_points([p for p in ingest if p.measurement == "cpu"], SeriesTable())
    for start in range(0, len(rows.rows), size):
        ex.feed_rows("db", "rp", rows.rows[start:start + size])


def counters(ex):
    stats = ex.execution_stats()["node-stats"]
    return {name: {k: v for k, v in values.items() if k != "avg_exec_time_ns"}
            for name, values in stats.items()}


def test_a_tree_task_is_chunked_and_a_task_with_a_union_is_not():
    assert execution().chunked
    union = execution("var a = stream|from().measurement('cpu')\n"
                      "var b = stream|from().measurement('mem')\n"
                      "a|union(b)|httpOut('out')")
    assert not union.chunked


def test_chunks_of_any_size_give_the_results_and_counters_of_point_by_point_delivery():
    ingest = points()
    reference = execution()
    per_point(reference, ingest)
    expected_counts = counters(reference)
    expected_alerts = reference.nodes["alert6"].counters
    assert expected_counts["where2"]["errors"] > 0  # the bad values were seen
    assert expected_alerts["alerts_triggered"] > 0
    for size in (1, 7, 50, 1000):
        ex = execution()
        chunked(ex, ingest, size)
        assert counters(ex) == expected_counts, size
        assert ex.nodes["alert6"].counters == expected_alerts, size
        assert ex.outputs["out"].result() == reference.outputs["out"].result()
    assert reference.outputs["out"].result()["series"]


def test_a_handler_that_forwards_at_once_keeps_its_place_in_the_chunk():
    ex = execution("stream|from().measurement('cpu')|log()|httpOut('out')")
    seen = []

    class Recorder:
        name = "recorder"

        def receive(self, msg):
            seen.append(("one", msg.time))

        def receive_many(self, msgs):
            seen.extend(("many", m.time) for m in msgs)

    log = ex.nodes["log2"]
    log.children.append(Recorder())
    log.edge_counts.append(0)
    original = log.point

    def point(p):
        if p.time == T0 + S:  # an answer that arrives at once (a failed request, say)
            log.forward(p)
            return None
        return original(p)

    log.point = point
    table = SeriesTable()
    rows = WriteRows.from_points(
        [IngestPoint("db", "rp", "cpu", (), (("v", 1.0),), T0 + i * S) for i in range(3)], table)
    ex.feed_rows("db", "rp", rows.rows)
    assert seen == [("many", T0), ("many", T0 + S), ("many", T0 + 2 * S)]
    assert log.edge_counts[-1] == 3
