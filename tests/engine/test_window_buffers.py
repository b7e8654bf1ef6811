"""What a time window holds (issue 11: memory and pauses under load).

A buffered point must not be an object the cyclic GC tracks: with a million
of them in windows, each collection of the young generations took 10-600 ms
of the reactor.  The window keeps times and the points' own dicts, and
builds batch points only when it emits.
"""

from __future__ import annotations

import gc

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
