"""A write parsed into columns (``ingest.columnparse``) is the write parsed
into rows: the same points, counts and refusals; and ``ColumnRows`` is a
sequence of those rows wherever rows are taken."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks.writes import cpu_body
from kapacitord_tw.ingest import frames
from kapacitord_tw.ingest.columnparse import columnar, parse_columns
from kapacitord_tw.ingest.columns import ColumnRows, single_names
from kapacitord_tw.ingest.lineprotocol import (
    FieldDecodeError, LineProtocolError, SeriesKeys, parse_rows)
from kapacitord_tw.ingest.rows import SeriesTable
from tests.ingest.test_lineprotocol import NOW

_measurements = st.sampled_from(["cpu", "mem", "disk"])
_names = st.sampled_from(["usage_idle", "xusage_idle", "usage_idlex", "a", "b", "host"])
_floats = st.sampled_from(["1", "-1", "1.5", ".5", "5.", "-.5", "0", "007",
                           "1234567890123456.1234567890123456"])
_stamps = st.sampled_from(["", "", " 0", " -1", " 1700000000000000000", " 15",
                           " 9223372036854775807", " 9999999999999999999"])
_lines = st.builds(
    lambda measurement, tags, fields, stamp: (
        measurement + "".join(f",{k}={v}" for k, v in tags) + " "
        + ",".join(f"{k}={v}" for k, v in fields) + stamp),
    _measurements,
    st.lists(st.tuples(_names, st.sampled_from(["h1", "h2", "x"])), max_size=2),
    st.lists(st.tuples(_names, _floats), min_size=1, max_size=4),
    _stamps,
)
_bodies = st.lists(st.one_of(_lines, _lines, _lines, st.just(""), st.just("cpu a=1i")),
                   max_size=8).map("\n".join)
_projections = st.dictionaries(
    _measurements, st.sampled_from([frozenset({"usage_idle"}), frozenset({"a"}), frozenset()]),
    min_size=1)


def rows_of(body: bytes, precision: str, wanted, fields):
    keys = SeriesKeys(SeriesTable().intern)
    try:
        rows, count = parse_rows(body, precision, NOW, keys, wanted=wanted, fields=fields)
    except (LineProtocolError, FieldDecodeError) as e:
        return ("refused", type(e).__name__)
    return ("ok", count, [(s.measurement, s.key, f, t) for s, f, t in rows])


def columns_of(body: bytes, precision: str, wanted, fields, **options):
    keys = SeriesKeys(SeriesTable().intern)
    parsed = parse_columns(body, precision, NOW, keys, wanted=wanted, fields=fields, **options)
    if parsed is None:
        return None
    handles, measurements, values, times, count = parsed
    assert measurements == [h.measurement for h in handles]
    rows = ColumnRows(handles, values, times, single_names(fields) or {})
    return ("ok", count, [(s.measurement, s.key, f, t) for s, f, t in rows])


@settings(max_examples=1500, deadline=None)
@given(body=_bodies, precision=st.sampled_from(["n", "s"]), fields=_projections,
       extra=st.booleans(), piece=st.integers(1, 80))
def test_columns_hold_the_rows_of_every_body_they_take(body, precision, fields, extra, piece):
    wanted = frozenset(fields) | (frozenset({"other"}) if extra else frozenset())
    fields = dict(fields, other=frozenset({"a"})) if extra else fields
    raw = body.encode()
    got = columns_of(raw, precision, wanted, fields)
    # Taken a few lines at a time (checks and all), the body gives the same.
    assert columns_of(raw, precision, wanted, fields, piece=piece) == got
    expected = rows_of(raw, precision, wanted, fields)
    if got is None:
        # Bodies the columns leave to rows: other field types, a time out of
        # range (refused), or keys only the row parser's scanner decides.
        assert expected[0] == "refused" or "a=1i" in body or "9999" in body \
            or "9223372036854775807" in body
        return
    assert got == expected


def test_the_benchmark_body_is_parsed_into_columns():
    fields = {"cpu": frozenset({"usage_idle"})}
    assert columnar(frozenset({"cpu"}), fields) == {"cpu": "usage_idle"}
    keys = SeriesKeys(SeriesTable().intern)
    handles, _m, values, times, count = parse_columns(
        cpu_body(500), "n", NOW, keys, wanted=frozenset({"cpu"}), fields=fields)
    assert count == len(values) == 500 and values[:3] == [50.0, 80.19, 61.38]
    # No line has a time: the write's one time, one object for every point.
    assert all(t is times[0] for t in times) and times[0] == NOW


def test_a_body_is_parsed_a_piece_at_a_time_with_a_call_between_pieces():
    """A worker gives up its CPU between pieces (``between``): every piece
    is checked first, then parsed, so a body that turns out not to be plain
    in its last piece costs no columns."""
    body = cpu_body(5000)
    fields = {"cpu": frozenset({"usage_idle"})}
    whole = columns_of(body, "n", frozenset(fields), fields)
    assert whole is not None and whole[1] == 5000
    calls = []
    assert columns_of(body, "n", frozenset(fields), fields, piece=4096,
                      between=lambda: calls.append(1)) == whole
    pieces = len(body) // 4096
    assert pieces + 1 <= len(calls) <= pieces + 2  # the check, then each piece parsed
    calls.clear()
    late = body + b"\ncpu,host=x usage_idle=1i"  # an integer: rows decide
    assert columns_of(late, "n", frozenset(fields), fields, piece=4096,
                      between=lambda: calls.append(1)) is None
    assert len(calls) == 1  # checked, never parsed


def test_only_jobs_whose_tasks_read_one_field_of_each_wanted_measurement_are_columnar():
    one = frozenset({"usage_idle"})
    assert columnar(True, {"cpu": one}) is None  # every measurement: some unprojected
    assert columnar(frozenset({"cpu"}), {}) is None  # no projection: every field
    assert columnar(frozenset({"cpu", "mem"}), {"cpu": one}) is None  # mem whole
    assert columnar(frozenset({"cpu"}), {"cpu": frozenset({"a", "b"})}) is None
    assert columnar(frozenset({"cpu"}), {"cpu": frozenset({'a"b'})}) is None  # not plain
    assert columnar(frozenset({"cpu"}), {"cpu": frozenset()}) == {}  # no field at all


def test_lines_without_the_field_or_with_it_twice_are_told_apart():
    fields = {"cpu": frozenset({"v"})}
    body = (b"cpu,host=a v=1,w=2\n"      # then another field
            b"cpu,host=a w=3\n"          # no v
            b"cpu,host=a v=4,v=5\n"      # twice: the last wins
            b"cpu,host=a xv=6,v=7\n"     # a name ending in v first
            b"cpu,v=tag v=8\n")          # a tag of that name
    expected = rows_of(body, "n", frozenset({"cpu"}), fields)
    assert columns_of(body, "n", frozenset({"cpu"}), fields) == expected
    assert [f for _m, _k, f, _t in expected[2]] == [
        {"v": 1.0}, {}, {"v": 5.0}, {"v": 7.0}, {"v": 8.0}]


def test_a_body_the_columns_cannot_decide_is_left_to_the_rows():
    fields = {"cpu": frozenset({"v"})}
    keys = SeriesKeys(SeriesTable().intern)
    for body in (b"cpu v=1i\n", b'cpu v="s"\n', b"cpu v=1 99999999999999999999\n",
                 b"cpu\\ x v=1\n", b"cpu v=1e5\n",
                 b"cpu v=1\n" * 10 + b"cpu,host=" + b"h" * 70_000 + b" v=1\n",
                 b"cpu v=1\n" * 10 + b"cpu v=1," + b",".join(b"f%d=1" % i for i in range(9000))):
        assert parse_columns(body, "n", NOW, keys, wanted=frozenset({"cpu"}),
                             fields=fields) is None, body[:40]
    # Many short lines in a long body are columns still.
    body = b"".join(b"cpu,host=h%d v=%d\n" % (i, i) for i in range(20_000))
    parsed = parse_columns(body, "n", NOW, keys, wanted=frozenset({"cpu"}), fields=fields)
    assert parsed is not None and parsed[2][-1] == 19_999.0 and parsed[4] == 20_000


def series(n):
    table = SeriesTable()
    return [table.intern("cpu", (("host", f"h{i}"),)) for i in range(n)]


def test_column_rows_are_the_rows_they_hold():
    s = series(4)
    rows = ColumnRows(s, [1.0, None, 3.0, 4.0], [10, 11, 12, 13], {"cpu": "v"})
    expected = [(s[0], {"v": 1.0}, 10), (s[1], {}, 11), (s[2], {"v": 3.0}, 12),
                (s[3], {"v": 4.0}, 13)]
    assert list(rows) == expected and len(rows) == 4 and rows == expected
    assert rows[2] == expected[2] and rows[-1] == expected[-1]
    part = rows[1:3]
    assert type(part) is ColumnRows and list(part) == expected[1:3]
    held = rows[:1]
    held += rows[3:]
    assert list(held) == [expected[0], expected[3]]
    assert list(rows[:1] + rows[2:3]) == [expected[0], expected[2]]
    # A measurement whose tasks read no field: its points carry none.
    assert list(ColumnRows(s[:1], [None], [1], {})) == [(s[0], {}, 1)]


def test_columns_travel_packed_and_come_back_whole():
    values = [1.5, -2.0, 0.0]
    n, handles, packed, times = frames.pack_columns([0, 7, 70000], values, [5, 5, 5])
    assert type(packed) is bytes and times == 5  # one time for all: sent once
    back = frames.unpack_columns(n, handles, packed, times)
    assert back[0] == [0, 7, 70000] and back[1] == values and back[2] == [5, 5, 5]
    assert all(t is back[2][0] for t in back[2])  # one object: no int per held point
    n, handles, packed, times = frames.pack_columns([1, 2], [None, 1.0], [-1, 2 ** 62])
    assert packed == [None, 1.0]
    assert frames.unpack_columns(n, handles, packed, times) == ([1, 2], [None, 1.0],
                                                                [-1, 2 ** 62])


@pytest.mark.parametrize("bad", [
    (3, b"\0" * 8, b"\0" * 24, 1),          # two handles for three points
    (1, b"\0" * 4, b"\0" * 7, 1),           # a value of 7 bytes
    (1, b"\0" * 4, b"\0" * 8, b"\0" * 5),  # a time of 5 bytes
    (1, b"\0" * 4, "text", 1),              # not bytes
])
def test_columns_that_do_not_add_up_are_a_broken_worker(bad):
    with pytest.raises(frames.FrameError):
        frames.unpack_columns(*bad)


def test_column_rows_split_by_measurement_keep_each_ones_order():
    table = SeriesTable()
    s = [table.intern(m, ()) for m in ("a", "b", "a", "c", "a")]
    rows = ColumnRows(s, [0.0, 1.0, 2.0, None, 4.0], [0, 1, 2, 3, 4], {"a": "v", "b": "v"})
    split = rows.by_measurement()
    assert list(split) == ["a", "b", "c"]
    assert [t for _s, _f, t in split["a"]] == [0, 2, 4]
    assert list(split["c"]) == [(s[3], {}, 3)]
    one = rows[:1]
    assert one.by_measurement() == {"a": one} and ColumnRows([], [], [], {}).by_measurement() == {}


def test_a_frames_grouping_is_remembered_by_its_series_and_only_for_them():
    from kapacitord_tw.ingest.worker import Shapes
    shapes = Shapes(limit=2)
    measurements = ["a", "b", "a", "c", "b"]
    handles = [1, 2, 3, 4, 5]
    first = shapes.grouped((handles, [0.0, 1.0, 2.0, 3.0, 4.0], [9] * 5), measurements)
    assert first == (([1, 3, 2, 5, 4], [0.0, 2.0, 1.0, 4.0, 3.0], [9] * 5),
                     [("a", 2), ("b", 2), ("c", 1)])
    # The same series again: the same order, the new values and times moved with them.
    again = shapes.grouped((list(handles), [5.0, 6.0, 7.0, 8.0, 9.0], [1, 2, 3, 4, 5]),
                           measurements)
    assert again == (([1, 3, 2, 5, 4], [5.0, 7.0, 6.0, 9.0, 8.0], [1, 3, 2, 5, 4]), first[1])
    # Same length and ends, other series between them: worked out afresh.
    other = shapes.grouped(([1, 7, 8, 9, 5], [0.0] * 5, [9] * 5), ["a", "a", "b", "b", "b"])
    assert other == (([1, 7, 8, 9, 5], [0.0] * 5, [9] * 5), [("a", 2), ("b", 3)])
    one = shapes.grouped(([4, 6], [1.0, 2.0], [3, 3]), ["c", "c"])
    assert one == (([4, 6], [1.0, 2.0], [3, 3]), [("c", 2)])
    assert shapes.grouped(([], [], []), []) == (([], [], []), [])
    assert len(shapes._known) <= 2  # bounded


def test_runs_are_cut_at_the_frames_edges():
    from kapacitord_tw.ingest.worker import _runs_within
    runs = [("a", 3), ("b", 4), ("c", 1)]
    assert _runs_within(runs, 0, 2) == [("a", 2)]
    assert _runs_within(runs, 2, 6) == [("a", 1), ("b", 3)]
    assert _runs_within(runs, 6, 8) == [("b", 1), ("c", 1)]
    assert _runs_within(runs, 0, 8) == runs


def test_the_handles_of_raw_keys_are_kept_per_wanted_set_and_forgotten_with_the_keys():
    keys = SeriesKeys(SeriesTable().intern)
    fields = {"cpu": frozenset({"v"}), "mem": frozenset({"v"})}
    body = b"cpu,host=a v=1\nmem,host=a v=2\ndisk,host=a v=3\n"
    one = parse_columns(body, "n", NOW, keys, wanted=frozenset({"cpu"}), fields=fields)
    two = parse_columns(body, "n", NOW, keys, wanted=frozenset({"cpu", "mem"}), fields=fields)
    assert (one[1], one[2], one[4]) == (["cpu"], [1.0], 3)
    assert (two[1], two[2], two[4]) == (["cpu", "mem"], [1.0, 2.0], 3)
    assert two[0][0] is one[0][0]  # the same series, the same handle
    assert keys.wanted_handles(frozenset({"cpu"}))["disk,host=a"] is False
    for i in range(20):
        keys.wanted_handles(frozenset({f"m{i}"}))
    assert len(keys.wanted) <= 8
    keys.reset()
    assert keys.wanted == {} and keys.handle_measurements == {}
