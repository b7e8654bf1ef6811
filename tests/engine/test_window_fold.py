"""A window whose one child is ``mean``, ``sum`` or ``count`` folds its points.

Such a window keeps a sum and a count a group, not its points; and a
window whose points each belong to one window (``every`` at least
``period``) lets them go once emitted.  Whatever the points -- late ones,
ints among the floats, points without the field or with more fields, the
purge of a window's first points when ``every`` exceeds ``period`` -- the
results, the errors and the counts must be what a window that keeps every
point gives.  The reference here is the same task with a second child on
the window (``httpOut``), which turns the fold off.
"""

from __future__ import annotations

from hypothesis import given, settings, strategies as st

from kapacitord_tw.engine.messages import Point
from kapacitord_tw.ingest.columns import ColumnRows
from kapacitord_tw.ingest.rows import SeriesTable
from tests.engine.test_chunks import S, T0, counters, execution

WINDOWS = {
    "tumbling": "window().period(10s).every(10s)",
    "aligned": "window().period(10s).every(10s).align()",
    "gapped": "window().period(4s).every(10s)",
    "gapped-aligned-filled": "window().period(3s).every(5s).align().fillPeriod()",
}

#: every output of the reducer, in order: a count window re-emits them all
CAPTURE = "window().periodCount(100000).everyCount(1)|httpOut('out')"


def script(window: str, method: str, fold: bool) -> str:
    text = (f"var w = stream|from().measurement('cpu').groupBy('host')|{WINDOWS[window]}\n"
            f"w|{method}('v')|{CAPTURE}\n")
    if not fold:
        text += "w|httpOut('raw')\n"  # a second child: the window keeps its points
    return text


def _value(kind: str, i: int):
    if kind == "float":
        return {"v": (i * 7919 % 1000) / 7 - 50.0}
    if kind == "int":
        return {"v": i}
    if kind == "other":
        return {"w": 1.0}
    return {"v": float(i) / 3, "w": 2.0}  # "wider": more fields than the one read


points_strategy = st.lists(
    st.tuples(st.sampled_from("abc"),
              st.integers(min_value=-12, max_value=25),  # tenths of a second; some go back
              st.sampled_from(["float"] * 12 + ["int", "other", "wider"])),
    min_size=30, max_size=150)


def _points(steps):
    out, t = [], T0
    for i, (host, step, kind) in enumerate(steps):
        t += step * S // 10
        out.append((host, _value(kind, i), t))
    return out


def _feed_points(ex, points):
    for host, fields, t in points:
        ex.feed([Point("cpu", "db", "rp", {"host": host}, dict(fields), t)])


def _feed_rows(ex, points, size):
    table = SeriesTable()
    rows = [(table.intern("cpu", (("host", h),)), dict(f), t) for h, f, t in points]
    for start in range(0, len(rows), size):
        ex.feed_rows("db", "rp", rows[start:start + size])


def _compare(window, method, points, feed):
    folding = execution(script(window, method, True))
    reference = execution(script(window, method, False))
    feed(folding, points)
    feed(reference, points)
    window_node = folding.nodes["window2"]
    assert window_node.fold_field == "v"
    assert reference.nodes["window2"].fold_field is None
    assert folding.outputs["out"].result() == reference.outputs["out"].result()
    got, want = counters(folding), counters(reference)
    for node in ("from1", "window2", "window4"):
        assert {k: v for k, v in got[node].items() if k != "emitted"} == \
            {k: v for k, v in want[node].items() if k != "emitted"}, node
    assert got["from1"]["emitted"] == want["from1"]["emitted"]
    node3 = f"{method}3"
    assert got[node3] == want[node3]
    assert folding.edges()[("window2", node3)] == reference.edges()[("window2", node3)]


@settings(max_examples=60, deadline=None)
@given(points_strategy, st.sampled_from(sorted(WINDOWS)), st.sampled_from(["mean", "sum", "count"]))
def test_a_folding_window_gives_what_a_window_of_points_gives(steps, window, method):
    points = _points(steps)
    _compare(window, method, points, _feed_points)
    _compare(window, method, points, lambda ex, p: _feed_rows(ex, p, 7))


def test_a_folding_window_holds_no_point_and_lets_an_emitted_window_go():
    ex = execution(script("tumbling", "mean", True))
    points = [(h, {"v": float(i)}, T0 + i * S // 2) for i in range(19) for h in "ab"]
    _feed_rows(ex, points, 10)
    groups = ex.nodes["window2"].groups
    assert all(g.folding and not g.times and not g.fields for g in groups.values())
    assert [len(g) for g in groups.values()] == [19, 19]  # 0 s .. 9 s: none emitted yet
    _feed_rows(ex, [("a", {"v": 100.0}, T0 + 10 * S)], 1)
    series = {s["tags"]["host"]: s for s in ex.outputs["out"].result()["series"]}
    assert series["a"]["values"] == [["1971-01-01T00:00:10Z", 9.0]]  # mean of 0 .. 18
    assert len(groups["host=a"]) == 1  # the emitted points are gone, the new one folded

    unfolded = execution(script("tumbling", "mean", False))
    _feed_rows(unfolded, points + [("a", {"v": 100.0}, T0 + 10 * S)], 10)
    kept = unfolded.nodes["window2"].groups["host=a"]
    assert len(kept.times) == 1  # disjoint windows: the emitted ones are dropped too


def test_late_points_before_the_window_are_purged_and_after_a_folded_one_kept():
    # period 4s every 10s: the window [6 s, 10 s) is emitted at 10 s; a point
    # at 2 s, first after the last emission, is purged as Kapacitor does,
    # while one at 3 s behind a kept point stays in the window.
    # Folding or keeping the points alike.
    for fold in (True, False):
        ex = execution(script("gapped", "sum", fold))
        _feed_points(ex, [("a", {"v": 1.0}, T0), ("a", {"v": 2.0}, T0 + 2 * S),
                          ("a", {"v": 4.0}, T0 + 7 * S), ("a", {"v": 8.0}, T0 + 3 * S),
                          ("a", {"v": 16.0}, T0 + 10 * S)])
        assert ex.outputs["out"].result()["series"][0]["values"] == \
            [["1971-01-01T00:00:10Z", 12.0]], fold


def test_columns_fold_in_the_lane_alike():
    points = _points([(h, step, "float") for h, step in zip("abcab" * 30, [3, 7, -2, 11, 5] * 30)])
    reference = execution(script("tumbling", "mean", False))
    _feed_points(reference, points)
    for size in (1, 13, 1000):
        ex = execution(script("tumbling", "mean", True))
        table = SeriesTable()
        series = [table.intern("cpu", (("host", h),)) for h, _f, _t in points]
        values = [f["v"] for _h, f, _t in points]
        times = [t for _h, _f, t in points]
        columns = ColumnRows(series, values, times, {"cpu": "v"})
        for start in range(0, len(points), size):
            part = columns[start:start + size]
            while part is not None:  # as the router does when a lane gives its turn back
                rest = ex.feed_rows("db", "rp", part)
                part = None if rest is None else part[rest:]
        assert ex.outputs["out"].result() == reference.outputs["out"].result()
        assert ex.outputs["out"].result()["series"]
