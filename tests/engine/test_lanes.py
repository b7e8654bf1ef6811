"""A from -> where -> window task takes written rows in one loop (``nodes.lane``).

Whatever the loop skips (messages between the three nodes), the task must
give what point-by-point delivery gives: outputs, alerts, every node's
counters, edge counts, groups and errors.
"""

from __future__ import annotations

import pytest

from kapacitord_tw.engine.nodes.lane import Lane
from tests.engine.test_chunks import T0, S, chunked, counters, execution, per_point, points

ALERT = """
    |alert()
        .id('{{ .Name }}:{{ index .Tags "host" }}')
        .warn(lambda: "{field}" > 40.0)
        .crit(lambda: "{field}" > 60.0)
    |httpOut('out')
"""

SCRIPTS = {
    "cpu-alert": "stream|from().measurement('cpu').groupBy('host')"
                 "|where(lambda: \"usage\" >= 0.0)|window().period(10s).every(10s)|mean('usage')"
                 + ALERT.format(field="mean"),
    "from-where": "stream|from().measurement('cpu').groupBy('host').where(lambda: \"host\" != 'skip')"
                  "|where(lambda: \"usage\" > 10.0)|window().period(10s).every(5s)|max('usage')"
                  + ALERT.format(field="max"),
    "stateful-where": "stream|from().measurement('cpu').groupBy('host')"
                      "|where(lambda: sigma(\"usage\") < 1.5)|window().period(6s).every(3s)"
                      "|count('usage')|httpOut('out')",
    "no-where": "stream|from().measurement('cpu').groupBy(*)|window().period(4s).every(4s).align()"
                "|sum('usage')|httpOut('out')",
    "truncated": "stream|from().measurement('cpu').truncate(2s)|where(lambda: \"usage\" < 90.0)"
                 "|window().period(5s).every(5s).fillPeriod()|last('usage')|httpOut('out')",
    "window-out": "stream|from().measurement('cpu').groupBy('host')|where(lambda: \"usage\" > 30.0)"
                  "|window().period(3s).every(2s)|httpOut('out')",
    # true at both ends of the values, false between them: not an interval
    "either-end": "stream|from().measurement('cpu').groupBy('host')"
                  "|where(lambda: \"usage\" < 20.0 OR \"usage\" > 80.0)"
                  "|window().period(10s).every(10s)|count('usage')|httpOut('out')",
    "interval": "stream|from().measurement('cpu').groupBy('host')"
                "|where(lambda: \"usage\" >= 0 AND 100.0 > \"usage\")"
                "|window().period(10s).every(10s)|count('usage')|httpOut('out')",
}


def assert_gives_the_same(ex, reference, expected, label):
    """Every counter, edge and output of ``ex`` is the reference's."""
    assert counters(ex) == counters(reference), label
    assert ex.edges() == reference.edges()
    assert ex.outputs["out"].result() == expected
    for node in ex.nodes:
        assert ex.nodes[node].counters == reference.nodes[node].counters, node


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_the_lane_gives_what_point_by_point_delivery_gives(name):
    ingest = points()  # three hosts and one to skip, strings among the floats
    reference = execution(SCRIPTS[name])
    per_point(reference, ingest)
    expected = reference.outputs["out"].result()
    assert expected["series"]
    for size in (1, 13, 1000):
        ex = execution(SCRIPTS[name])
        chunked(ex, ingest, size)
        assert isinstance(ex.nodes["from1"]._lane, Lane)
        assert_gives_the_same(ex, reference, expected, (name, size))


def test_the_where_errors_are_counted_and_the_lane_goes_on():
    ex = execution(SCRIPTS["cpu-alert"])
    chunked(ex, points(), 50)
    stats = ex.execution_stats()["node-stats"]
    assert stats["where2"]["errors"] > 0  # the strings
    assert stats["window3"]["collected"] == stats["where2"]["emitted"] > 0
    assert stats["where2"]["working_cardinality"] == 4
    assert all(stats[n]["avg_exec_time_ns"] > 0 for n in ("from1", "where2", "window3"))


def test_a_task_of_another_shape_is_not_a_lane():
    ex = execution("stream|from().measurement('cpu')|where(lambda: TRUE)|eval(lambda: 1)"
                   ".as('one')|window().period(1s).every(1s)|httpOut('out')")
    chunked(ex, points(), 10)
    assert ex.nodes["from1"]._lane is None
    counted = execution("stream|from().measurement('cpu')|window().periodCount(3).everyCount(3)"
                        "|httpOut('out')")
    chunked(counted, points(), 10)
    assert counted.nodes["from1"]._lane is None


def test_a_stats_node_watching_the_window_turns_the_lane_off():
    script = ("var w = stream|from().measurement('cpu').groupBy('host')"
              "|window().period(2s).every(2s)\n"
              "w|count('usage')|httpOut('out')\n"
              "w|stats(1s)|httpOut('stats')")
    ex = execution(script)
    reference = execution(script)
    per_point(reference, points())
    chunked(ex, points(), 20)
    assert counters(ex) == counters(reference)
    assert ex.outputs["out"].result() == reference.outputs["out"].result()
    assert T0 and S  # the fixtures' clock: point times, not the wall clock


def column_points():
    """Points a columnar write can hold: one float field or none, a tag of
    the field's name on some (the where's error), and another measurement
    among them."""
    from kapacitord_tw.ingest.points import Point as IngestPoint
    out = []
    for i in range(150):
        host = ("a", "b", "c", "skip")[i % 4]
        tags = (("host", host),) if i % 23 else (("host", host), ("usage", "x"))
        fields = () if i % 17 == 0 else (("usage", float((i * 37) % 100)),)
        out.append(IngestPoint("db", "rp", "cpu", tags, fields, T0 + i * S // 3))
        if i % 10 == 0:
            out.append(IngestPoint("db", "rp", "mem", (("host", host),), (("usage", 1.0),),
                                   T0 + i * S // 3))
    return out


def fed_point_by_point(ex, ingest):
    """Every point, the other measurement's too (the from node drops those)."""
    from kapacitord_tw.engine.messages import Point
    for p in ingest:
        ex.feed([Point(p.measurement, p.database, p.retention_policy, dict(p.tags),
                       dict(p.fields), p.time)])


def fed_as_columns(ex, ingest, size, table=None):
    from kapacitord_tw.ingest.columns import ColumnRows
    from kapacitord_tw.ingest.rows import SeriesTable
    table = SeriesTable() if table is None else table
    handles = [table.intern(p.measurement, p.tags) for p in ingest]
    values = [dict(p.fields).get("usage") for p in ingest]
    columns = ColumnRows(handles, values, [p.time for p in ingest], {"cpu": "usage", "mem": "usage"})
    for start in range(0, len(columns), size):
        part = columns[start:start + size]
        while part is not None:  # as the router does when a lane gives its turn back
            rest = ex.feed_rows("db", "rp", part)
            part = None if rest is None else part[rest:]


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_columns_through_the_lane_give_what_point_by_point_delivery_gives(name):
    ingest = column_points()
    reference = execution(SCRIPTS[name])
    fed_point_by_point(reference, ingest)
    expected = reference.outputs["out"].result()
    assert expected["series"]
    for size in (1, 13, 1000):
        ex = execution(SCRIPTS[name])
        fed_as_columns(ex, ingest, size)
        assert_gives_the_same(ex, reference, expected, (name, size))


def test_the_columns_errors_are_the_wheres():
    ex = execution(SCRIPTS["cpu-alert"])
    fed_as_columns(ex, column_points(), 40)
    stats = ex.execution_stats()["node-stats"]
    # no value (every 17th), a tag named "usage" (every 23rd)
    assert stats["where2"]["errors"] == len([i for i in range(150) if i % 17 == 0 or i % 23 == 0])
    assert stats["from1"]["collected"] == 150 + 15


def test_a_deleted_window_group_is_not_fed_through_the_lanes_memory():
    from kapacitord_tw.engine.messages import DeleteGroup
    ex = execution(SCRIPTS["cpu-alert"])
    from kapacitord_tw.ingest.rows import SeriesTable
    table = SeriesTable()  # the same series in both writes, as the daemon's
    ingest = [p for p in column_points() if p.measurement == "cpu"]
    fed_as_columns(ex, ingest[:20], 20, table)
    window = ex.nodes["window3"]
    lane = ex.nodes["from1"]._lane
    old = dict(window.groups)
    assert old and lane._slots
    for group, g in old.items():
        message = DeleteGroup(group, dict(g.tags), None)
        ex.nodes["where2"].delete_group(message)
        window.delete_group(message)
    held = {g: len(w.times) for g, w in old.items()}
    fed_as_columns(ex, ingest[20:40], 20, table)
    assert {g: len(w.times) for g, w in old.items()} == held  # the old ones got nothing
    assert window.groups and all(window.groups[g] is not old[g] for g in window.groups)


@pytest.mark.parametrize("text, expected", [
    ('"v" >= 0.0', True), ('"v" > 1 AND "v" < 5.5', True), ('0.0 < "v"', True),
    ('("v" > 1) AND ("v" <= 2 AND "v" > 0)', True),
    ('"v" != 0.0', False), ('"v" > 1 OR "v" < 0', False), ('"w" > 1', False),
    ('"v" > "v"', False), ('abs("v") > 1.0', False), ('"v" > 1 AND "w" > 1', False),
    ('"v" > \'a\'', False), ('"v" == 1.0', False), ('!("v" > 1.0)', False),
])
def test_a_where_is_an_interval_of_the_fields_values_only_for_and_ed_comparisons(text, expected):
    from kapacitord_tw.engine.nodes.lane import interval_test
    ex = execution("stream|from().measurement('cpu')|where(lambda: %s)"
                   "|window().period(1s).every(1s)|httpOut('out')" % text)
    assert interval_test(ex.nodes["where2"].program.walker.root, "v") is expected


@pytest.mark.parametrize("budget, limit, turns", [(0, 10_000, 30), (10**12, 4, 8)])
def test_a_lane_whose_windows_close_at_once_gives_the_reactor_back_and_loses_nothing(
        monkeypatch, budget, limit, turns):
    from twisted.internet import task as ttask

    from kapacitord_tw.engine import router
    from kapacitord_tw.engine.nodes import lane as lane_module
    from kapacitord_tw.ingest.columns import ColumnRows
    from kapacitord_tw.ingest.points import Point as IngestPoint
    from kapacitord_tw.ingest.rows import SeriesTable, WriteRows
    # By time (none: give back after each window) or by windows emitted.
    monkeypatch.setattr(lane_module, "EMIT_BUDGET_NS", budget)
    monkeypatch.setattr(lane_module, "EMIT_LIMIT", limit)
    script = ("stream|from().measurement('cpu').groupBy('host')|where(lambda: \"usage\" >= 0.0)"
              "|window().period(10s).every(10s)|count('usage')|httpOut('out')")
    ingest = [IngestPoint("db", "rp", "cpu", (("host", f"h{i}"),), (("usage", float(i)),),
                          T0 + second * S)
              for second in (0, 1, 11, 12) for i in range(30)]
    reference = execution(script)
    per_point(reference, ingest)
    engine = router.Engine(ttask.Clock())
    ex = execution(script)
    engine.add_task(ex)
    calls = []
    feed = ex.feed_rows
    ex.feed_rows = lambda db, rp, rows: calls.append(len(rows)) or feed(db, rp, rows)
    table = SeriesTable()
    for second in range(0, len(ingest), 30):
        write = ingest[second:second + 30]
        columns = ColumnRows([table.intern(p.measurement, p.tags) for p in write],
                             [p.fields[0][1] for p in write], [p.time for p in write],
                             {"cpu": "usage"})
        calls.clear()
        engine.publish_rows(WriteRows("db", "rp", columns, 30, frozenset({"cpu"})))
        engine.flush()
        if second == 60:  # the write that closes every host's window
            assert calls[0] == 30 and len(calls) == turns
    assert ex.outputs["out"].result() == reference.outputs["out"].result()
    assert counters(ex) == counters(reference)


def test_groups_whose_windows_end_together_share_the_end_time():
    from kapacitord_tw.ingest.points import Point as IngestPoint
    ex = execution(SCRIPTS["cpu-alert"])
    # Every host at every second (a collector's writes): the windows end together.
    ingest = [IngestPoint("db", "rp", "cpu", (("host", h),), (("usage", 1.0),), T0 + t * S)
              for t in range(25) for h in "abcd"]
    fed_as_columns(ex, ingest, 7)
    ends = [g.next_emit for g in ex.nodes["window3"].groups.values()]
    assert len(ends) == 4 and len(set(ends)) == 1
    assert len({id(e) for e in ends}) == 1  # one int object for the four
