"""What a time window holds (issue 11: memory and pauses under load).

A buffered point must not be an object the cyclic GC tracks: with a million
of them in windows, each collection of the young generations took 10-600 ms
of the reactor.  The window keeps times and the points' own dicts, and
builds batch points only when it emits.
"""

from __future__ import annotations

import gc

import pytest

from twisted.internet import task as ttask

from kapacitord_tw import tick
from kapacitord_tw.engine.task import TaskExecution
from kapacitord_tw.ingest.rows import SeriesTable

S = 1_000_000_000
T0 = 31536000 * S

SCRIPT = """
stream
    |from().measurement('cpu').groupBy('host')
    |window().period(10s).every(5s)
    |mean('v')
    |httpOut('out')
"""


def _tracked() -> int:
    gc.collect()
    return len(gc.get_objects())


def test_buffered_points_are_not_tracked_by_the_cyclic_gc():
    ex = TaskExecution("t", tick.compile_task(SCRIPT), [("db", "rp")], ttask.Clock())
    ex.start()
    table = SeriesTable()
    series = [table.intern("cpu", (("host", f"h{i}"),)) for i in range(100)]
    ex.feed_rows("db", "rp", [(s, {"v": 1.0}, T0) for s in series])  # the groups exist
    before = _tracked()
    for second in range(1, 5):  # 4 s of points: nothing is emitted yet
        ex.feed_rows("db", "rp", [(s, {"v": float(i)}, T0 + second * S // 2)
                                  for i, s in enumerate(series)])
    window = next(n for n in ex.nodes.values() if type(n).__name__ == "WindowNode")
    assert sum(len(g) for g in window.groups.values()) == 500
    assert _tracked() - before < 50


def test_emitted_batches_hold_the_buffered_points_in_order():
    ex = TaskExecution("t", tick.compile_task(SCRIPT), [("db", "rp")], ttask.Clock())
    ex.start()
    table = SeriesTable()
    a = table.intern("cpu", (("host", "a"),))
    for i in range(12):
        ex.feed_rows("db", "rp", [(a, {"v": float(i)}, T0 + i * S)])
    # The latest window emitted is [T0, T0+10s): the mean of 0..9.
    out = ex.outputs["out"].result()
    assert out["series"][0]["values"][0][1] == 4.5


def test_a_late_point_behind_a_kept_one_stays_as_in_kapacitor():
    """The window's start is cut from the front up to the first point to
    keep (Kapacitor's ring buffer): a late point behind it stays, however old."""
    ex = TaskExecution("t", tick.compile_task(SCRIPT), [("db", "rp")], ttask.Clock())
    ex.start()
    table = SeriesTable()
    a = table.intern("cpu", (("host", "a"),))
    for tenths in (0, 10, 20, 80, 25, 60, 140):  # 2.5 s arrives after 8 s
        ex.feed_rows("db", "rp", [(a, {"v": tenths / 10}, T0 + tenths * S // 10)])
    # At 14 s the window [3 s, 13 s) is emitted: 0, 1 and 2 s are cut, 8 s
    # stops the cut, so 2.5 s stays with 8 and 6 s.
    out = ex.outputs["out"].result()
    assert out["series"][0]["values"][0][1] == (8 + 2.5 + 6) / 3
    window = next(n for n in ex.nodes.values() if type(n).__name__ == "WindowNode")
    (group,) = window.groups.values()
    assert len(group) == 4  # 8, 2.5, 6 and 14 s


def test_points_in_order_are_cut_at_the_window_start():
    ex = TaskExecution("t", tick.compile_task(SCRIPT), [("db", "rp")], ttask.Clock())
    ex.start()
    table = SeriesTable()
    a = table.intern("cpu", (("host", "a"),))
    for second in (0, 1, 2, 3, 3, 4, 8, 9, 13, 14):
        ex.feed_rows("db", "rp", [(a, {"v": float(second)}, T0 + second * S)])
    # Emitted at 8 s: [-2 s, 5 s) = 0..4 s; at 13 s: [3 s, 13 s) = 3, 3, 4, 8, 9 s.
    out = ex.outputs["out"].result()
    assert out["series"][0]["values"][0][1] == (3 + 3 + 4 + 8 + 9) / 5


def _run(script, rows_by_time):
    ex = TaskExecution("t", tick.compile_task(script), [("db", "rp")], ttask.Clock())
    ex.start()
    for rows in rows_by_time:
        ex.feed_rows("db", "rp", rows)
    return ex.outputs["out"].result()


def test_points_with_changing_fields_are_emitted_whole():
    """One field per point keeps only the values; a point with other fields
    brings the dicts back, and every point leaves the window as it came."""
    table = SeriesTable()
    a = table.intern("cpu", (("host", "a"),))
    fields = [{"v": 1.0}, {"v": 2.0}, {"v": 3.0, "w": 1.0}, {"w": 5.0}, {"v": 4}]
    rows = [[(a, f, T0 + i * S)] for i, f in enumerate(fields)] + [[(a, {"v": 9.0}, T0 + 11 * S)]]
    out = _run("stream|from().measurement('cpu').groupBy('host')"
               "|window().period(10s).every(10s)"
               "|default().field('v', -1.0).field('w', -1.0)|httpOut('out')", rows)
    (series,) = out["series"]
    assert series["columns"] == ["time", "v", "w"]
    assert [row[1:] for row in series["values"]] == [
        [1.0, -1.0], [2.0, -1.0], [3.0, 1.0], [-1.0, 5.0], [4, -1.0]]


REDUCERS = ["mean('v')", "sum('v')", "count('v')", "max('v')", "min('v')", "first('v')",
            "last('v')", "median('v')", "mode('v')", "spread('v')", "stddev('v')",
            "percentile('v', 75.0)", "distinct('v')", "top(2, 'v')", "bottom(2, 'v')"]


@pytest.mark.parametrize("reducer", REDUCERS)
def test_a_reducer_over_one_field_values_gives_what_it_gives_over_points(reducer):
    """Host a's points have only ``v`` (the window keeps its values), host
    b's also ``x`` (the window keeps the dicts): the same results."""
    table = SeriesTable()
    a = table.intern("cpu", (("host", "a"),))
    b = table.intern("cpu", (("host", "b"),))
    values = [3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0, 5.0]
    rows = [[(a, {"v": v}, T0 + i * S), (b, {"v": v, "x": 0.0}, T0 + i * S)]
            for i, v in enumerate(values)]
    rows.append([(a, {"v": 0.0}, T0 + 12 * S), (b, {"v": 0.0, "x": 0.0}, T0 + 12 * S)])
    out = _run("stream|from().measurement('cpu').groupBy('host')"
               f"|window().period(10s).every(10s)|{reducer}|httpOut('out')", rows)
    # Selectors keep the selected point's fields: b's have x as well.
    by_host = {s["tags"]["host"]: [{k: v for k, v in zip(s["columns"], row) if k != "x"}
                                   for row in s["values"]]
               for s in out["series"]}
    assert set(by_host) == {"a", "b"}
    assert by_host["a"] == by_host["b"]


def test_points_of_several_series_in_one_group_keep_their_own_tags():
    """Grouped by host, cpu0 and cpu1 share a window: its points' tags are
    a list once they differ, and a later groupBy('cpu') sees each point's."""
    table = SeriesTable()
    cpu0 = table.intern("cpu", (("cpu", "cpu0"), ("host", "a")))
    cpu1 = table.intern("cpu", (("cpu", "cpu1"), ("host", "a")))
    rows = [[(cpu0, {"v": 1.0}, T0)], [(cpu0, {"v": 2.0}, T0 + S)],
            [(cpu1, {"v": 5.0}, T0 + 2 * S)], [(cpu0, {"v": 3.0}, T0 + 3 * S)],
            [(cpu1, {"v": 7.0}, T0 + 11 * S)], [(cpu1, {"v": 1.0}, T0 + 22 * S)]]
    # groupBy holds a regrouped batch until a later one: the second window
    # (at 22 s) lets the first out.
    out = _run("stream|from().measurement('cpu').groupBy('host')"
               "|window().period(10s).every(10s)|groupBy('cpu')|sum('v')|httpOut('out')", rows)
    sums = {s["tags"]["cpu"]: s["values"][0][1] for s in out["series"]}
    assert sums == {"cpu0": 6.0, "cpu1": 5.0}
