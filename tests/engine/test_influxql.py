"""The InfluxQL function nodes and derivative, driven through real tasks.

Each test compiles a TICKscript, runs it as an executing task (the real
node graph: stream, from, window, the node under test, httpOut) and reads
what httpOut serves -- the JSON a client would get from
``GET /kapacitor/v1/tasks/<id>/<name>``.  Expected values follow
Kapacitor 1.8 (and the InfluxDB 1.x query reducers it uses).
"""

from __future__ import annotations

import math

import pytest
from twisted.internet.task import Clock
from twisted.logger import formatEvent, globalLogPublisher

from kapacitord_tw import tick
from kapacitord_tw.engine.holtwinters import go_pow_int
from kapacitord_tw.engine.messages import NO_DIMENSIONS, Barrier, Point
from kapacitord_tw.engine.task import TaskExecution, TaskStartError

S = 1_000_000_000
T0 = 31536000 * S  # 1971-01-01T00:00:00Z


def ts(seconds: float) -> str:
    whole = int(seconds)
    return f"1971-01-01T00:00:{whole:02d}Z"


class Run:
    """One executing task and what its httpOut('out') holds."""

    def __init__(self, script: str):
        self.task = TaskExecution("t", tick.compile_task(script), [("db", "rp")], Clock())

    def write(self, name, tags, fields, seconds):
        self.task.feed([Point(name, "db", "rp", dict(tags), dict(fields),
                              T0 + int(seconds * S))])
        return self

    def series(self):
        return self.task.outputs["out"].result()["series"]

    def errors(self, node_name):
        return self.task.nodes[node_name].errors


def windowed(call: str, period="10s", every="10s", group="") -> str:
    by = f".groupBy({group})" if group else ""
    return (f"stream|from().measurement('cpu'){by}"
            f"|window().period({period}).every({every})"
            f"|{call}|httpOut('out')")


def feed(run: Run, values, field="value", tags=None, start=0, step=1, name="cpu"):
    for i, v in enumerate(values):
        run.write(name, tags or {}, {field: v}, start + i * step)
    return run


def close_window(run: Run, at=10, tags=None, name="cpu"):
    """A point past the window, so the window is emitted."""
    return run.write(name, tags or {}, {"value": 0.0, "other": 0.0}, at)


def single(run: Run):
    series = run.series()
    assert series is not None and len(series) == 1, series
    return series[0]


@pytest.fixture
def logged():
    events = []
    globalLogPublisher.addObserver(events.append)
    yield lambda: [formatEvent(e) for e in events]
    globalLogPublisher.removeObserver(events.append)


# ------------------------------------------------------------ aggregates


def test_window_mean_is_one_point_at_the_window_end_named_by_the_method():
    run = feed(Run(windowed("mean('value')", group="'host'")), [1.0, 2.0, 4.0],
               tags={"host": "a", "dc": "x"})
    close_window(run, tags={"host": "a"})
    assert single(run) == {"name": "cpu", "tags": {"host": "a"},
                           "columns": ["time", "mean"],
                           "values": [[ts(10), 7.0 / 3]]}


def test_float_sum_and_mean_add_left_to_right_like_go_not_fsum():
    run = close_window(feed(Run(windowed("sum('value')")), [0.1] * 10))
    total = single(run)["values"][0][1]
    assert total == 0.9999999999999999 != math.fsum([0.1] * 10)
    run = close_window(feed(Run(windowed("mean('value')")), [0.1] * 10))
    assert single(run)["values"][0][1] == 0.9999999999999999 / 10


def test_integer_fields_keep_kapacitors_result_types():
    cases = {"sum": 11, "count": 3, "spread": 5, "mode": 2, "mean": 11.0 / 3, "median": 2.0}
    for method, expected in cases.items():
        run = close_window(feed(Run(windowed(f"{method}('value')")), [2, 2, 7]))
        value = single(run)["values"][0][1]
        assert (value, type(value)) == (expected, type(expected)), method


def test_integer_sum_wraps_around_like_int64():
    run = close_window(feed(Run(windowed("sum('value')")), [2**63 - 1, 1]))
    assert single(run)["values"][0][1] == -(2**63)


def test_integer_mean_divides_float64s_after_an_int64_sum():
    big = 2**53 + 1
    run = close_window(feed(Run(windowed("mean('value')")), [big, 0]))
    assert single(run)["values"][0][1] == float(big) / 2.0


def test_median_of_an_even_count_is_the_midpoint_of_the_middle_two():
    run = close_window(feed(Run(windowed("median('value')")), [9.0, 1.0, 4.0, 2.0]))
    assert single(run)["values"][0][1] == 3.0


def test_mode_is_the_most_frequent_value_and_ties_follow_influxdbs_time_rule():
    run = close_window(feed(Run(windowed("mode('value')")), [5.0, 3.0, 5.0, 1.0]))
    assert single(run)["values"][0][1] == 5.0
    # A tie goes to the larger value unless its first point comes after the
    # smaller value's last one (FloatModeReduceSlice's time comparison).
    run = close_window(feed(Run(windowed("mode('value')")), [5.0, 3.0, 5.0, 3.0]))
    assert single(run)["values"][0][1] == 5.0
    run = close_window(feed(Run(windowed("mode('value')")), [3.0, 3.0, 5.0, 5.0]))
    assert single(run)["values"][0][1] == 3.0


def test_stddev_is_the_sample_deviation_and_nan_for_one_point():
    run = close_window(feed(Run(windowed("stddev('value')")), [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]))
    assert single(run)["values"][0][1] == math.sqrt(32.0 / 7)
    run = close_window(feed(Run(windowed("stddev('value')")), [2.0]))
    assert math.isnan(single(run)["values"][0][1])


def test_spread_of_floats_is_max_minus_min():
    run = close_window(feed(Run(windowed("spread('value')")), [3.5, -1.0, 2.0]))
    assert single(run)["values"][0][1] == 4.5


def test_distinct_is_a_batch_of_the_first_point_of_each_value_in_time_order():
    run = close_window(feed(Run(windowed("distinct('value').usePointTimes()")),
                            [3.0, 1.0, 3.0, 2.0, 1.0]))
    assert single(run)["values"] == [[ts(0), 3.0], [ts(1), 1.0], [ts(3), 2.0]]
    run = close_window(feed(Run(windowed("distinct('value')")), ["b", "a", "b"]))
    assert single(run)["values"] == [[ts(10), "b"], [ts(10), "a"]]


def test_count_and_sum_answer_an_empty_window_others_do_not():
    # period 1s every 10s: the window closed at 10 s holds nothing.
    for method, expected in (("count", 0), ("sum", 0.0)):
        run = Run(windowed(f"{method}('value')", period="1s"))
        run.write("cpu", {}, {"value": 5.0}, 0).write("cpu", {}, {"value": 1.0}, 25)
        value = single(run)["values"][0][1]
        assert (value, type(value)) == (expected, type(expected)), method
    run = Run(windowed("mean('value')", period="1s"))
    run.write("cpu", {}, {"value": 5.0}, 0).write("cpu", {}, {"value": 1.0}, 25)
    assert run.series() is None


# ------------------------------------------------------------- selectors


def test_selectors_emit_the_selected_points_tags_and_fields_with_the_field_renamed():
    run = Run(windowed("max('value').as('peak')"))
    run.write("cpu", {"host": "a"}, {"value": 3.0, "other": 1.0}, 0)
    run.write("cpu", {"host": "b"}, {"value": 9.0, "other": 2.0}, 1)
    run.write("cpu", {"host": "c"}, {"value": 4.0, "other": 3.0}, 2)
    close_window(run)
    assert single(run) == {"name": "cpu", "tags": {"host": "b"},
                           "columns": ["time", "other", "peak"],
                           "values": [[ts(10), 2.0, 9.0]]}


@pytest.mark.parametrize("call, seconds, value", [
    ("first('value')", 0, 5.0),
    ("last('value')", 4, 1.0),
    ("min('value')", 1, 1.0),  # two points hold 1.0: the earlier one
    ("max('value')", 2, 7.0),
    # sorted [1 (1 s), 1 (4 s), 2 (3 s), 5, 7]: nearest rank floor(5 * 0.5 + 0.5) = 3
    ("percentile('value', 50.0)", 3, 2.0),
])
def test_selectors_with_use_point_times_report_the_selected_points_time(call, seconds, value):
    run = feed(Run(windowed(call + ".usePointTimes()")), [5.0, 1.0, 7.0, 2.0, 1.0])
    close_window(run)
    assert single(run)["values"] == [[ts(seconds), value]]


def test_first_and_last_break_time_ties_by_the_larger_value():
    for call, expected in (("first('value')", 8.0), ("last('value')", 8.0)):
        run = Run(windowed(call))
        run.write("cpu", {"k": "1"}, {"value": 3.0}, 0)
        run.write("cpu", {"k": "2"}, {"value": 8.0}, 0)
        run.write("cpu", {"k": "3"}, {"value": 5.0}, 0)
        close_window(run)
        assert single(run)["values"][0][-1] == expected, call


def test_percentile_outside_the_points_emits_nothing():
    run = close_window(feed(Run(windowed("percentile('value', 10.0)")), [1.0, 2.0, 3.0]))
    assert run.series() is None


def test_top_and_bottom_keep_their_points_tags_as_columns_and_break_ties_by_time():
    script = windowed("top(2, 'value', 'host')", group="'dc'")
    run = Run(script)
    for i, (host, v) in enumerate([("a", 5.0), ("b", 9.0), ("c", 5.0), ("d", 9.0)]):
        run.write("cpu", {"dc": "x", "host": host}, {"value": v}, i)
    close_window(run, tags={"dc": "x"})
    assert single(run) == {"name": "cpu", "tags": {"dc": "x"},
                           "columns": ["time", "host", "top"],
                           "values": [[ts(10), "b", 9.0], [ts(10), "d", 9.0]]}
    run = Run(windowed("bottom(3, 'value').usePointTimes()"))
    feed(run, [5, 1, 9, 1, 3])
    close_window(run)
    assert single(run)["values"] == [[ts(1), 1], [ts(3), 1], [ts(4), 3]]


def test_top_on_a_stream_reduces_the_points_that_share_a_time():
    run = Run("stream|from().measurement('cpu')|top(1, 'value')|httpOut('out')")
    run.write("cpu", {"host": "a"}, {"value": 1.0}, 0)
    run.write("cpu", {"host": "b"}, {"value": 3.0}, 0)
    assert run.series() is None  # the time is not over yet
    run.write("cpu", {"host": "a"}, {"value": 2.0}, 1)
    assert single(run) == {"name": "cpu", "columns": ["time", "host", "top"],
                           "values": [[ts(0), "b", 3.0]]}


def test_a_stream_aggregate_is_emitted_when_a_later_time_arrives():
    run = Run("stream|from().measurement('cpu').groupBy('host')|sum('value')|httpOut('out')")
    run.write("cpu", {"host": "a"}, {"value": 1}, 0)
    run.write("cpu", {"host": "a"}, {"value": 2}, 0)
    run.write("cpu", {"host": "a"}, {"value": 4}, 1)
    assert single(run) == {"name": "cpu", "tags": {"host": "a"},
                           "columns": ["time", "sum"], "values": [[ts(0), 3]]}


# ------------------------------------------------------- transformations


def test_stream_transformations_answer_each_point_at_its_own_time():
    script = ("stream|from().measurement('cpu')|{}|window().period(10s).every(10s)"
              "|httpOut('out')")
    cases = {
        "difference('value')": [[ts(1), 2], [ts(2), -3], [ts(3), 5]],
        "cumulativeSum('value')": [[ts(0), 1], [ts(1), 4], [ts(2), 4], [ts(3), 9]],
        "movingAverage('value', 2)": [[ts(1), 2.0], [ts(2), 1.5], [ts(3), 2.5]],
        "elapsed('value', 1s)": [[ts(1), 1], [ts(2), 1], [ts(3), 1]],
    }
    for call, expected in cases.items():
        run = feed(Run(script.format(call)), [1, 3, 0, 5])
        run.write("cpu", {}, {"value": 1}, 20)
        assert single(run)["values"] == expected, call


def test_elapsed_truncates_toward_zero_in_its_unit():
    run = Run("stream|from().measurement('cpu')|elapsed('value', 2s)|httpOut('out')")
    run.write("cpu", {}, {"value": "x"}, 0).write("cpu", {}, {"value": "y"}, 5)
    assert single(run)["values"] == [[ts(5), 2]]


def test_batch_transformations_start_again_with_every_batch():
    run = Run(windowed("difference('value')", period="2s", every="2s"))
    feed(run, [1.0, 4.0, 10.0, 20.0])
    run.write("cpu", {}, {"value": 0.0}, 4)
    assert single(run)["values"] == [[ts(3), 10.0]]


# ---------------------------------------------------------------- errors


def test_a_missing_field_is_counted_and_the_group_emits_nothing(logged):
    run = Run(windowed("mean('nope')"))
    feed(run, [1.0, 2.0])
    close_window(run)
    assert run.series() is None
    node = next(n for n in run.task.nodes if n.startswith("mean"))
    assert run.errors(node) == 2
    assert any('failed to realize reduce context from fields: field "nope" missing from point'
               in line for line in logged())


def test_points_of_another_type_are_skipped_with_kapacitors_message(logged):
    run = Run(windowed("sum('value')"))
    run.write("cpu", {}, {"value": 1.5}, 0)
    run.write("cpu", {}, {"value": 2}, 1)
    run.write("cpu", {}, {"other": 2.0}, 2)
    run.write("cpu", {}, {"value": 2.5}, 3)
    close_window(run)
    assert single(run)["values"] == [[ts(10), 4.0]]
    lines = logged()
    assert any("failed to aggregate point in batch: field value has wrong type: "
               "got int64 exp float64" in line for line in lines)
    assert any("failed to aggregate point in batch: field value missing from point "
               "cannot aggregate" in line for line in lines)


def test_a_method_that_does_not_take_the_fields_type_is_an_error(logged):
    run = close_window(feed(Run(windowed("mean('value')")), ["a", "b"]))
    assert run.series() is None
    assert any("invalid influxql func mean with field value: cannot apply mean to string field"
               in line for line in logged())


@pytest.mark.parametrize("call", ["top(0, 'value')", "movingAverage('value', 0)",
                                  "elapsed('value', 0s)"])
def test_arguments_go_would_panic_on_refuse_the_task(call):
    with pytest.raises(TaskStartError):
        Run(windowed(call))


# ------------------------------------------------------------ derivative


def derivative_run(options="", window=False):
    tail = "|window().period(10s).every(10s)" if window else ""
    return Run(f"stream|from().measurement('cpu')|derivative('value'){options}{tail}"
               "|httpOut('out')")


def test_derivative_per_second_keeps_the_points_other_fields_and_tags():
    run = derivative_run(".as('rate')")
    run.write("cpu", {"host": "a"}, {"value": 10, "x": 1.0}, 0)
    run.write("cpu", {"host": "a"}, {"value": 16, "x": 2.0}, 2)
    assert single(run) == {"name": "cpu", "tags": {"host": "a"},
                           "columns": ["time", "rate", "value", "x"],
                           "values": [[ts(2), 3.0, 16, 2.0]]}


def test_derivative_unit_and_non_negative():
    run = derivative_run(".unit(10s).nonNegative()", window=True)
    for i, v in enumerate([1.0, 3.0, 2.0, 6.0]):
        run.write("cpu", {}, {"value": v}, i)
    run.write("cpu", {}, {"value": 7.0}, 20)
    # 1->3 = 20/10s, 3->2 dropped (but 2 becomes the previous), 2->6 = 40/10s
    assert single(run)["values"] == [[ts(1), 20.0], [ts(3), 40.0]]


def test_derivative_zero_elapsed_and_wrong_type_are_errors(logged):
    run = derivative_run()
    run.write("cpu", {}, {"value": 1.0}, 0)
    run.write("cpu", {}, {"value": 5.0}, 0)
    run.write("cpu", {}, {"value": "x"}, 1)
    run.write("cpu", {}, {"value": 9.0}, 2)
    # the point at 2 s against the second point at 0 s: (9 - 5) / 2 s
    assert single(run)["values"] == [[ts(2), 2.0]]
    node = next(n for n in run.task.nodes if n.startswith("derivative"))
    assert run.errors(node) == 2
    lines = logged()
    assert any("cannot perform derivative: elaspsed time was 0" in line for line in lines)
    assert any("cannot perform derivative: field is the wrong type" in line for line in lines)


def test_derivative_on_batches_starts_again_with_every_batch():
    run = Run("stream|from().measurement('cpu')|window().period(2s).every(2s)"
              "|derivative('value')|httpOut('out')")
    feed(run, [1.0, 3.0, 10.0, 30.0])
    run.write("cpu", {}, {"value": 0.0}, 4)
    assert single(run)["values"] == [[ts(3), 20.0]]


# ---------------------------------------------------------- holtWinters


def test_holt_winters_forecasts_h_points_after_the_last_one():
    run = Run(windowed("holtWinters('value', 3, 0, 1s)"))
    feed(run, [float(1000 + i) for i in range(10)])
    close_window(run)
    row = single(run)
    assert [v[0] for v in row["values"]] == [ts(10), ts(11), ts(12)]
    assert all(1005 < v[1] < 1015 for v in row["values"])


def test_holt_winters_with_too_few_points_emits_an_empty_batch():
    run = close_window(feed(Run(windowed("holtWinters('value', 3, 0, 1s)")), [1.0]))
    assert single(run) == {"name": "cpu"}


def test_go_pow_squares_the_mantissa_like_go():
    for x in (0.3, 0.7, 0.9999, 1e-3):
        for n in range(2, 40):
            assert math.isclose(go_pow_int(x, n), x ** n, rel_tol=1e-14)
    assert go_pow_int(0.5, 3) == 0.125
    assert go_pow_int(0.75, 2) == 0.5625


class HeldPool:
    """A thread pool whose jobs run when the test says so."""

    def __init__(self):
        self.jobs = []

    def callInThreadWithCallback(self, on_result, f, *args, **kwargs):
        self.jobs.append(lambda: on_result(True, f(*args, **kwargs)))

    def run_one(self):
        self.jobs.pop(0)()


class ThreadedReactor(Clock):
    """A reactor with a thread pool: holtWinters fits leave the reactor thread."""

    def __init__(self):
        super().__init__()
        self.pool = HeldPool()

    def getThreadPool(self):
        return self.pool

    def callFromThread(self, f, *args, **kwargs):
        f(*args, **kwargs)


def test_holt_winters_fits_run_in_the_thread_pool_one_at_a_time_and_emit_in_order():
    reactor = ThreadedReactor()
    script = ("stream|from().measurement('cpu')|window().period(10s).every(10s)"
              "|holtWinters('value', 1, 0, 1s)|httpOut('out')")
    task = TaskExecution("t", tick.compile_task(script), [("db", "rp")], reactor)
    for i in range(25):
        task.feed([Point("cpu", "db", "rp", {}, {"value": float(i % 7)}, T0 + i * S)])
    out = task.outputs["out"]
    # two windows closed; nothing computed on the reactor thread
    assert out.result()["series"] is None
    assert len(reactor.pool.jobs) == 1  # the second fit waits for the first
    reactor.pool.run_one()
    assert out.result()["series"][0]["values"][0][0] == ts(10)
    assert len(reactor.pool.jobs) == 1
    reactor.pool.run_one()
    assert out.result()["series"][0]["values"][0][0] == ts(20)
    hw = next(n for name, n in task.nodes.items() if name.startswith("holtWinters"))
    assert hw.errors == 0 and sum(hw.edge_counts) == 2


def test_a_barrier_that_opens_a_group_passes_through_without_an_error():
    run = Run("stream|from().measurement('cpu')|mean('value')|httpOut('out')")
    node = next(n for name, n in run.task.nodes.items() if name.startswith("mean"))
    node.receive(Barrier("", {}, NO_DIMENSIONS, T0))
    run.write("cpu", {}, {"value": 1.0}, 1).write("cpu", {}, {"value": 2.0}, 2)
    assert node.errors == 0
    assert single(run)["values"] == [[ts(1), 1.0]]
