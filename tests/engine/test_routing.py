"""Routing written rows to tasks (issue 11 item 7): a task gets the points of
its measurements only, and a write parsed for exactly the measurements its
tasks take is handed to them whole, without looking at each row."""

from __future__ import annotations

import pytest
from twisted.internet import task as ttask

from kapacitord_tw import tick
from kapacitord_tw.engine.router import Engine
from kapacitord_tw.engine.task import TaskExecution
from kapacitord_tw.ingest.columns import ColumnRows
from kapacitord_tw.ingest.rows import SeriesTable, WriteRows

S = 1_000_000_000
T0 = 31536000 * S
TABLE = SeriesTable()


def task(engine, task_id, measurement=None):
    script = "stream\n    |from()" + (f".measurement('{measurement}')" if measurement else "")
    ex = TaskExecution(task_id, tick.compile_task(script), [("db", "rp")], engine.clock)
    ex.start()
    engine.add_task(ex)
    return ex


def write(measurements, wanted=None):
    rows = [(TABLE.intern(m, (("host", "a"),)), {"v": float(i)}, T0 + i * S)
            for i, m in enumerate(measurements)]
    return WriteRows("db", "rp", rows, len(rows), wanted)


def engine():
    return Engine(ttask.Clock())


def test_each_task_gets_only_its_measurement():
    e = engine()
    cpu, mem = task(e, "cpu", "cpu"), task(e, "mem", "mem")
    e.publish_rows(write(["cpu", "mem", "disk", "cpu"]))
    e.flush()
    assert (cpu.received, mem.received) == (2, 1)
    assert (e.routed, e.unrouted) == (3, 1)


def test_the_parsers_are_told_the_measurements_of_the_tasks():
    e = engine()
    assert e.wanted("db", "rp") is None
    task(e, "cpu", "cpu")
    task(e, "mem", "mem")
    assert e.wanted("db", "rp") == frozenset({"cpu", "mem"})
    assert e.wanted("db", "other") is None


def test_a_write_parsed_for_the_tasks_measurements_reaches_each_task_whole():
    e = engine()
    one, two = task(e, "one", "cpu"), task(e, "two", "cpu")
    w = write(["cpu"] * 300, wanted=e.wanted("db", "rp"))
    e.publish_rows(w)
    e.flush()
    assert (one.received, two.received) == (300, 300)
    assert e.routed == 300


def test_rows_parsed_for_other_measurements_are_still_looked_at():
    # The write was parsed before the route changed (or for another
    # subscriber that wants everything): its rows are routed one by one.
    e = engine()
    cpu = task(e, "cpu", "cpu")
    e.publish_rows(write(["cpu", "mem", "cpu"], wanted=frozenset({"cpu", "mem"})))
    e.publish_rows(write(["mem", "cpu"], wanted=None))
    e.flush()
    assert cpu.received == 3
    assert (e.routed, e.unrouted) == (3, 2)


def test_tasks_on_different_measurements_share_no_whole_write():
    e = engine()
    cpu, both = task(e, "cpu", "cpu"), task(e, "all")
    e.publish_rows(write(["cpu", "mem"], wanted=frozenset({"cpu"})))
    e.flush()
    assert (cpu.received, both.received) == (1, 2)


def test_a_removed_task_gets_nothing_more():
    e = engine()
    cpu = task(e, "cpu", "cpu")
    e.publish_rows(write(["cpu"] * 500, wanted=e.wanted("db", "rp")))  # queued: > one slice
    e.remove_task("cpu")
    e.flush()
    assert cpu.received == 0
    assert e.queued_points == 0


def test_tasks_on_one_measurement_each_get_their_rows_in_write_order():
    e = engine()
    cpu, mem, again = task(e, "cpu", "cpu"), task(e, "mem", "mem"), task(e, "cpu2", "cpu")
    seen = {name: [] for name in ("cpu", "mem", "cpu2")}
    for ex in (cpu, mem, again):
        ex.feed_rows = (lambda name: lambda db, rp, rows: seen[name].extend(
            (r[0].measurement, r[2]) for r in rows))(ex.id)
    e.publish_rows(write(["cpu", "mem", "disk", "cpu", "mem", "cpu"]))
    e.flush()
    assert [t for _, t in seen["cpu"]] == [T0, T0 + 3 * S, T0 + 5 * S]
    assert seen["cpu2"] == seen["cpu"]
    assert seen["mem"] == [("mem", T0 + S), ("mem", T0 + 4 * S)]
    assert (e.routed, e.unrouted) == (5, 1)


def as_columns(w):
    """The same write as a worker sends it when its tasks read one field."""
    series, fields, times = zip(*w.rows)
    w.rows = ColumnRows(list(series), [f["v"] for f in fields], list(times),
                        {m: "v" for m in ("cpu", "mem", "disk", "swap")})
    return w


@pytest.mark.parametrize("columns", [False, True])
def test_rows_grouped_with_their_runs_are_cut_into_each_tasks_rows(columns):
    """A worker that grouped the rows says where each measurement's run is:
    the tasks get the same rows as when every row is looked at."""
    def seen_by(runs, order=("cpu",) * 3 + ("mem",) * 2 + ("swap",) + ("disk",) * 4):
        e = engine()
        seen = {}
        for name in ("cpu", "mem", "disk"):
            ex = task(e, name, name)
            ex.feed_rows = (lambda name: lambda db, rp, rows: seen.setdefault(name, []).extend(
                (r[0].measurement, r[1], r[2]) for r in rows))(name)
        w = write(list(order))
        if columns:
            as_columns(w)
        w.grouped, w.runs = True, runs
        e.publish_rows(w)
        e.flush()
        return seen, (e.routed, e.unrouted)

    looked_at = seen_by(None)
    assert looked_at[0]["disk"] == [("disk", {"v": float(i)}, T0 + i * S) for i in range(6, 10)]
    assert seen_by([("cpu", 3), ("mem", 2), ("swap", 1), ("disk", 4)]) == looked_at
    # A measurement's run split across the worker's frames is still one.
    assert seen_by([("cpu", 2), ("cpu", 1), ("mem", 2), ("swap", 1), ("disk", 4)]) == looked_at
    # Runs that do not add up to the rows are not trusted.
    assert seen_by([("cpu", 3), ("mem", 2)]) == looked_at
    # A measurement's rows in two groups (frames of 2,000 grouped on their own).
    again = ("cpu", "cpu", "mem", "disk", "cpu", "mem", "swap", "disk", "disk", "disk")
    both = seen_by([("cpu", 2), ("mem", 1), ("disk", 1), ("cpu", 1), ("mem", 1), ("swap", 1),
                    ("disk", 3)], again)
    assert both == seen_by(None, again)
    assert [t for _m, _f, t in both[0]["cpu"]] == [T0, T0 + S, T0 + 4 * S]


def test_a_columnar_write_is_chunked_more_coarsely_and_reaches_its_task_whole():
    from kapacitord_tw.engine.router import COLUMN_CHUNK_FACTOR
    e = Engine(ttask.Clock(), slice_points=50, chunk_points=10)
    size = e.column_chunk_points
    assert size == 10 * COLUMN_CHUNK_FACTOR > 10
    ex = task(e, "cpu", "cpu")
    got = []
    ex.feed_rows = lambda db, rp, rows: got.append(rows)
    w = as_columns(write(["cpu"] * (3 * size + 7)))  # more than a slice: queued
    e.publish_rows(w)
    e.flush()
    assert [len(c) for c in got] == [size, size, size, 7]
    assert all(type(c) is ColumnRows for c in got)
    assert [r for c in got for r in c] == list(w.rows)


def test_a_task_on_two_measurements_keeps_the_rows_interleaved():
    e = engine()
    script = "var a = stream|from().measurement('cpu')\nvar b = stream|from().measurement('mem')\n"
    ex = TaskExecution("two", tick.compile_task(script), [("db", "rp")], e.clock)
    ex.start()
    e.add_task(ex)
    seen = []
    ex.feed_rows = lambda db, rp, rows: seen.extend(r[0].measurement for r in rows)
    e.publish_rows(write(["cpu", "mem", "cpu", "disk", "mem"]))
    e.flush()
    assert seen == ["cpu", "mem", "cpu", "mem"]


class _FakePerf:
    """The router's clock: advanced by what the task's points 'cost'."""

    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


class _Call:
    def __init__(self, f, args):
        self.f, self.args, self.live = f, args, True

    def active(self):
        return self.live

    def cancel(self):
        self.live = False


class _StepClock:
    """Runs the engine's slices one reactor turn at a time."""

    def __init__(self):
        self.calls = []

    def callLater(self, delay, f, *args):
        call = _Call(f, args)
        self.calls.append(call)
        return call

    def turn(self):
        calls, self.calls = self.calls, []
        for call in calls:
            if call.live:
                call.live = False
                call.f(*call.args)


def test_a_task_whose_points_turn_dear_gets_smaller_chunks_and_keeps_its_order(monkeypatch):
    from kapacitord_tw.engine import router

    perf = _FakePerf()
    monkeypatch.setattr(router, "_perf", perf)
    clock = _StepClock()
    e = Engine(clock, slice_seconds=0.001)
    cpu = task(e, "cpu", "cpu")
    seen, sizes = [], []
    cost = {"per_row": 100e-6}  # a window closing for every group: 100 µs a point

    def feed_rows(db, rp, rows):
        sizes.append(len(rows))
        seen.extend(r[2] for r in rows)
        perf.now += cost["per_row"] * len(rows)

    cpu.feed_rows = feed_rows
    e.publish_rows(write(["cpu"] * 600, wanted=e.wanted("db", "rp")))
    clock.turn()  # the first chunk (100 points, 10 ms) ends the slice
    assert sizes == [100]
    clock.turn()  # chunks of half a 1 ms slice: 5 points
    assert sizes[1:] == [5, 5]
    cost["per_row"] = 1e-6  # cheap again: the size doubles back to 100
    while e.queued_points:
        clock.turn()
    assert seen == [T0 + i * S for i in range(600)]
    assert sizes[3:7] == [5, 10, 20, 40]
    assert max(sizes[7:]) > 40


def test_a_slice_gets_what_the_reactor_left_of_its_turn_and_at_least_the_floor(monkeypatch):
    """Time the reactor spends on sockets and worker frames between two
    slices counts against the turn (a ping read after it waits for both);
    a slice still gets ``min_slice_seconds``, and one that a write has just
    scheduled gets the whole turn."""
    from kapacitord_tw.engine import router

    perf = _FakePerf()
    monkeypatch.setattr(router, "_perf", perf)
    clock = _StepClock()
    e = Engine(clock, slice_seconds=0.001, min_slice_seconds=0.0002, chunk_points=10)
    cpu = task(e, "cpu", "cpu")
    sizes = []

    def feed_rows(db, rp, rows):
        sizes.append(len(rows))
        perf.now += 15e-6 * len(rows)  # a chunk of 10 points: 0.15 ms

    cpu.feed_rows = feed_rows
    e.publish_rows(write(["cpu"] * 1000, wanted=e.wanted("db", "rp")))
    clock.turn()
    assert sizes == [10] * 7  # the whole 1 ms (the chunk that crosses it ends it)
    sizes.clear()
    perf.now += 0.0006  # the reactor read bodies and frames for 0.6 ms
    clock.turn()
    assert sizes == [10] * 3  # 0.4 ms left of the turn
    sizes.clear()
    perf.now += 0.005  # a long stretch of sockets
    clock.turn()
    assert sizes == [10] * 2  # the floor, 0.2 ms
    while e.queued_points:
        clock.turn()
    assert sum(sizes) == 1000 - 100
    sizes.clear()
    perf.now += 1.0  # idle: a new write's slice gets the whole turn again
    e.publish_rows(write(["cpu"] * 1000, wanted=e.wanted("db", "rp")))
    clock.turn()
    assert sizes == [10] * 7


def test_rows_may_come_grouped_only_when_each_task_reads_one_measurement():
    e = engine()
    cpu = task(e, "cpu", "cpu")
    assert not e.grouped("db", "rp")  # one measurement: nothing to group
    task(e, "mem", "mem")
    assert e.grouped("db", "rp") and not e.grouped("db", "other")
    both = TaskExecution("both", tick.compile_task(
        "stream|from().measurement('cpu')|httpOut('a')\n"
        "stream|from().measurement('mem')|httpOut('b')"), [("db", "rp")], e.clock)
    both.start()
    e.add_task(both)  # enabled while a write was parsed grouped
    assert not e.grouped("db", "rp")
    grouped = write(["cpu", "cpu", "mem"])
    grouped.grouped = True
    e.publish_rows(grouped)
    e.flush()
    assert (cpu.received, both.received) == (2, 0)  # never out of write order
    e.publish_rows(write(["cpu", "mem", "cpu"]))
    e.flush()
    assert (cpu.received, both.received) == (4, 3)
