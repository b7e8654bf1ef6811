"""Field projection: the parsers build only the fields a task can observe.

The docs' cpu alert reads ``usage_idle`` of telegraf's ten cpu fields; when
everything that sees a point is a lambda or an aggregate behind windows, the
other fields are checked but never built.  Anything that may show a point's
fields (httpOut, selectors, eval...) keeps them all, and a write parsed for
the tasks of a moment ago never reaches a task that could miss a field."""

from __future__ import annotations

import pytest
from twisted.internet import task as ttask

from kapacitord_tw import tick
from kapacitord_tw.engine.projection import fields_needed
from kapacitord_tw.engine.router import Engine
from kapacitord_tw.engine.task import TaskExecution
from kapacitord_tw.ingest.lineprotocol import LineProtocolError, parse_rows
from kapacitord_tw.ingest.points import PointBus
from kapacitord_tw.ingest.rows import SeriesTable, WriteRows

S = 1_000_000_000
CPU_ALERT = """
stream
    |from()
        .measurement('cpu')
        .groupBy('host')
        .where(lambda: "cpu" == 'cpu-total')
    |where(lambda: "usage_idle" >= 0.0)
    |window()
        .period(10s)
        .every(10s)
    |mean('usage_idle')
    |alert()
        .crit(lambda: "mean" < 10.0)
"""


def execution(script, task_id="t", clock=None):
    ex = TaskExecution(task_id, tick.compile_task(script), [("db", "rp")], clock or ttask.Clock())
    ex.start()
    return ex


@pytest.mark.parametrize("script, needs", [
    (CPU_ALERT, {"cpu": frozenset({"cpu", "usage_idle"})}),
    ("stream|from().measurement('m')|window().period(1m).every(1m)|sum('x')|httpOut('o')",
     {"m": frozenset({"x"})}),
    ("stream|from().measurement('m')|count('x')", {"m": frozenset({"x"})}),
    # Selectors emit the selected point's own fields; httpOut shows them all.
    ("stream|from().measurement('m')|window().period(1m).every(1m)|max('x')", {"m": None}),
    ("stream|from().measurement('m')|httpOut('raw')", {"m": None}),
    ("stream|from().measurement('m')|eval(lambda: \"x\" * 2).as('y')", {"m": None}),
    # One branch that may show all fields is enough.
    ("var s = stream|from().measurement('m')\ns|mean('x')\ns|httpOut('raw')", {"m": None}),
    ("var s = stream|from().measurement('m')\ns|mean('x')\ns|where(lambda: \"y\" > 0)|sum('z')",
     {"m": frozenset({"x", "y", "z"})}),
    ("stream|from().measurement('a')|mean('x')\nstream|from().measurement('b')|last('y')",
     {"a": frozenset({"x"}), "b": None}),
])
def test_what_a_task_can_observe(script, needs):
    assert fields_needed(execution(script)) == needs


def test_a_task_on_every_measurement_is_parsed_whole():
    assert execution("stream|from()|mean('x')").fields == {}


def test_rows_hold_only_the_projected_fields_and_every_line_is_still_checked():
    body = (b"cpu,host=a usage_user=1.5,usage_idle=90.25,usage_system=2 10\n"
            b"cpu,host=b usage_idle=1i,n=true,usage_idle=7i 11\n"
            b"cpu,host=c other=1 12\n"
            b"mem,host=a used=3,free=4 13\n"
            b"cpu,host=d\\ x usage_idle=5,usage_user=6 14\n")
    projection = {"cpu": frozenset({"usage_idle"})}
    rows, count = parse_rows(body, "n", 0, fields=projection)
    assert count == 5
    assert [(s.measurement, f, t) for s, f, t in rows] == [
        ("cpu", {"usage_idle": 90.25}, 10),
        ("cpu", {"usage_idle": 7}, 11),  # the last duplicate wins, as unprojected
        ("cpu", {}, 12),  # still a point: the task counts it and reports the missing field
        ("mem", {"free": 4.0, "used": 3.0}, 13),
        ("cpu", {"usage_idle": 5.0}, 14),  # an escaped key takes the exact parser
    ]
    whole, _ = parse_rows(body, "n", 0)
    assert [t for _s, _f, t in whole] == [t for _s, _f, t in rows]
    for bad in (b"cpu usage_idle=1,usage_user=zz 1\n", b"cpu usage_idle=1,usage_user=1e9999 1\n",
                b"cpu usage_idle=1,usage_user= 1\n"):
        with pytest.raises(LineProtocolError) as projected:
            parse_rows(bad, "n", 0, fields=projection)
        with pytest.raises(LineProtocolError) as plain:
            parse_rows(bad, "n", 0)
        assert projected.value.raw == plain.value.raw


@pytest.mark.parametrize("kept", ["usage_idle", "u", "a=1,b", "t,b", "x y"])
def test_one_kept_field_is_what_the_whole_parse_has_under_that_name(kept):
    """One kept field is found without splitting the line (the usual task):
    the same value as the whole parse, whatever the neighbours' names."""
    body = (b"cpu usage_idle=1,xusage_idle=2,usage_idlex=3 1\n"
            b"cpu xusage_idle=2,usage_idle=4i,usage_idle=5u,usage_idle=t 2\n"
            b"cpu u=1,uu=2,u=-3.5,z=.5 3\n"
            b"cpu a=1,b=2,t=t,b=3 4\n"
            b"cpu other=1 5\n"
            b"cpu usage_idle=1 6\n"
            b"cpu,k=v u=7 7\n")
    for allow_unsigned in (True, False):
        if not allow_unsigned:
            body = body.replace(b",usage_idle=5u", b"")
        whole, count = parse_rows(body, "n", 0, allow_unsigned=allow_unsigned)
        rows, projected_count = parse_rows(body, "n", 0, allow_unsigned=allow_unsigned,
                                           fields={"cpu": frozenset({kept})})
        assert projected_count == count == 7
        assert [(s.measurement, s.tags, {k: v for k, v in f.items() if k == kept}, t)
                for s, f, t in whole] == [(s.measurement, s.tags, f, t) for s, f, t in rows]
        assert [type(v) for _s, f, _t in whole for k, v in f.items() if k == kept] == [
            type(v) for _s, f, _t in rows for v in f.values()]
    floats = b"cpu u=1,v=2\ncpu v=3,u=4.5\ncpu w=1\n"
    rows, _ = parse_rows(floats, "n", 0, fields={"cpu": frozenset({"u"})})
    assert [f for _s, f, _t in rows] == [{"u": 1.0}, {"u": 4.5}, {}]
    assert all(type(v) is float for _s, f, _t in rows for v in f.values())


def test_a_task_that_reads_no_field_gets_points_without_fields():
    rows, count = parse_rows(b"cpu a=1,b=2i 1\ncpu c=t 2\n", "n", 0, fields={"cpu": frozenset()})
    assert count == 2 and [f for _s, f, _t in rows] == [{}, {}]


def test_a_route_projects_a_measurement_only_when_every_task_on_it_can():
    engine = Engine(ttask.Clock())
    engine.add_task(execution(CPU_ALERT, "alert"))
    engine.add_task(execution("stream|from().measurement('cpu')|sum('usage_user')", "sum"))
    engine.add_task(execution("stream|from().measurement('mem')|httpOut('raw')", "raw"))
    assert engine.fields("db", "rp") == {"cpu": frozenset({"cpu", "usage_idle", "usage_user"})}
    engine.add_task(execution("stream|from()|httpOut('all')", "all"))
    assert engine.fields("db", "rp") == {}
    assert engine.fields("db", "other") == {}


def test_a_write_parsed_for_a_smaller_projection_skips_a_task_that_needs_more():
    clock = ttask.Clock()
    engine = Engine(clock)
    mean = execution("stream|from().measurement('cpu')|mean('a')|httpOut('o')", "mean", clock)
    engine.add_task(mean)
    stale = engine.fields("db", "rp")
    assert stale == {"cpu": frozenset({"a"})}
    raw = execution("stream|from().measurement('cpu')|httpOut('raw')", "raw", clock)
    engine.add_task(raw)  # enabled while the write was parsed
    table = SeriesTable()
    rows = [(table.intern("cpu", (("host", "h"),)), {"a": 1.0}, 31536000 * S)]
    engine.publish_rows(WriteRows("db", "rp", rows, 1, frozenset({"cpu"}), stale))
    engine.flush()
    assert (mean.received, raw.received) == (1, 0)
    engine.publish_rows(WriteRows("db", "rp", rows, 1, frozenset({"cpu"}),
                                  engine.fields("db", "rp")))
    engine.flush()
    assert (mean.received, raw.received) == (2, 1)


def test_the_bus_projects_only_what_every_subscriber_allows():
    bus = PointBus()
    assert bus.fields("db", "rp") == {}
    bus.subscribe(lambda p: None, rows=lambda w: None, wanted=lambda db, rp: frozenset({"cpu"}),
                  fields=lambda db, rp: {"cpu": frozenset({"x"})})
    assert bus.fields("db", "rp") == {"cpu": frozenset({"x"})}
    bus.subscribe(lambda p: None, rows=lambda w: None, wanted=lambda db, rp: frozenset({"mem"}),
                  fields=lambda db, rp: {})
    assert bus.fields("db", "rp") == {"cpu": frozenset({"x"})}  # mem takes no cpu point
    bus.subscribe(lambda p: None, rows=lambda w: None, wanted=lambda db, rp: frozenset({"cpu"}),
                  fields=lambda db, rp: {"cpu": frozenset({"y"})})
    assert bus.fields("db", "rp") == {"cpu": frozenset({"x", "y"})}
    recording = []
    bus.subscribe(recording.append)  # a stream recording: every field of every point
    assert bus.fields("db", "rp") == {}
    # A write parsed before the recording came is not recorded half.
    table = SeriesTable()
    rows = [(table.intern("cpu", ()), {"x": 1.0}, 1)]
    bus.publish_rows(WriteRows("db", "rp", rows, 1, None, {"cpu": frozenset({"x"})}))
    assert recording == []
    bus.publish_rows(WriteRows("db", "rp", rows, 1))
    assert len(recording) == 1


def test_the_projected_layouts_stay_bounded_whatever_the_field_keys(monkeypatch):
    from kapacitord_tw.ingest import lineprotocol
    from kapacitord_tw.ingest.lineprotocol import SeriesKeys

    monkeypatch.setattr(lineprotocol, "_LAYOUT_LIMIT", 50)
    keys = SeriesKeys(SeriesTable().intern)
    body = b"".join(b"cpu v=1,f%d=2 %d\n" % (i, i) for i in range(1000))
    rows, count = parse_rows(body, "n", 0, keys, fields={"cpu": frozenset({"v", "w"})})
    assert count == 1000 and all(f == {"v": 1.0} for _s, f, _t in rows)
    (table,) = keys.projections.values()
    assert len(table) <= 50


def test_the_bus_groups_rows_only_when_every_subscriber_can_take_them_so():
    bus = PointBus()
    assert not bus.grouped("db", "rp")
    bus.subscribe(lambda p: None, rows=lambda w: None, wanted=lambda db, rp: frozenset({"cpu"}),
                  grouped=lambda db, rp: True)
    bus.subscribe(lambda p: None, rows=lambda w: None,
                  wanted=lambda db, rp: None if rp == "rp" else frozenset({"x"}))
    assert bus.grouped("db", "rp") and not bus.grouped("db", "other")
    recording = []
    bus.subscribe(recording.append)
    assert not bus.grouped("db", "rp")
    table = SeriesTable()
    rows = [(table.intern("cpu", ()), {"x": 1.0}, 1)]
    bus.publish_rows(WriteRows("db", "rp", rows, 1, None, None, True))
    assert recording == []  # it came while the write was parsed grouped
