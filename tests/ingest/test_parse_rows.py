"""``parse_rows`` (the ingest workers' parser) accepts exactly what
``parse_points`` accepts, with the same points and the same errors, on
generated bodies: plain ones (its shortcut), odd ones, and mixtures."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks.writes import cpu_body
from kapacitord_tw.ingest import lineprotocol
from kapacitord_tw.ingest.lineprotocol import (
    FieldDecodeError,
    LineProtocolError,
    SeriesKeys,
    parse_points,
    parse_rows,
    row_steps,
)
from kapacitord_tw.ingest.points import Point
from kapacitord_tw.ingest.rows import Series
from tests.ingest.test_lineprotocol import NOW, _lines

#: Handles that are values, so one cache can serve every example.
SHARED_KEYS = SeriesKeys(lambda measurement, tags: (measurement, tags))

_plain_names = st.sampled_from(["cpu", "mem", "host", "region", "usage_idle", "a", "b", "x.y", "z-1"])
_plain_values = st.sampled_from(
    ["1", "-1", "1.5", ".5", "5.", "-.5", "0", "007", "5i", "-3i", "0i", "7u", "t", "F", "true",
     "FALSE", "1234567890123456.1234567890123456", "123456789012345678i", "99999999999999999999u"]
)
_plain_stamps = st.sampled_from(
    ["", " 0", " -1", " 1700000000000000000", " 9223372036854775806", " 9223372036854775807",
     " 9999999999999999999", " -9999999999999999999", " 15"]
)
_plain_lines = st.builds(
    lambda measurement, tags, fields, stamp: (
        measurement + "".join(f",{k}={v}" for k, v in tags) + " "
        + ",".join(f"{k}={v}" for k, v in fields) + stamp
    ),
    _plain_names,
    st.lists(st.tuples(_plain_names, _plain_names), max_size=3),
    st.lists(st.tuples(_plain_names, _plain_values), min_size=1, max_size=4),
    _plain_stamps,
)
_bodies = st.lists(
    st.one_of(_plain_lines, _plain_lines, _plain_lines, _lines, st.sampled_from(["", "# c", " "])),
    max_size=6,
).map("\n".join)
_wanted = st.sampled_from([True, None, frozenset(), frozenset({"cpu"}), frozenset({"cpu", "a", "é"})])


def outcome_of_points(body: bytes, precision: str, unsigned: bool, wanted):
    try:
        points = parse_points(body, precision, NOW, allow_unsigned=unsigned)
    except LineProtocolError as e:
        return ("syntax", e.raw)
    except FieldDecodeError as e:
        return ("decode", str(e), len(e.points_before))
    kept = [p for p in points
            if wanted is True or (wanted is not None and p.measurement in wanted)]
    return ("ok", len(points), [(p.measurement, p.tags, p.fields, p.time) for p in kept],
            [[type(v) for _, v in p.fields] for p in kept])


def outcome_of_rows(body: bytes, precision: str, unsigned: bool, wanted, keys=SHARED_KEYS):
    try:
        rows, count = parse_rows(body, precision, NOW, keys, wanted=wanted, allow_unsigned=unsigned)
    except LineProtocolError as e:
        return ("syntax", e.raw)
    except FieldDecodeError as e:
        return ("decode", str(e), e.count_before)
    return ("ok", count, [(m, tags, tuple(f.items()), t) for (m, tags), f, t in rows],
            [[type(v) for v in f.values()] for _, f, _ in rows])


@settings(max_examples=800, deadline=None)
@given(body=_bodies, precision=st.sampled_from(["n", "s", "h"]), unsigned=st.booleans(),
       wanted=_wanted)
def test_parse_rows_agrees_with_parse_points_on_generated_bodies(body, precision, unsigned,
                                                                 wanted):
    raw = body.encode("utf-8")
    assert (outcome_of_rows(raw, precision, unsigned, wanted)
            == outcome_of_points(raw, precision, unsigned, wanted))


@settings(max_examples=300, deadline=None)
@given(lines=st.lists(st.one_of(_plain_lines, _lines, st.just("")), max_size=5),
       unsigned=st.booleans())
def test_the_whole_body_check_agrees_with_the_check_of_each_line(lines, unsigned):
    body = "\n".join(lines)
    if not body.isascii():
        return
    one_line, whole_body, floats_only = lineprotocol._PLAIN[unsigned]
    each = all(not line or one_line.fullmatch(line) for line in lines)
    assert (whole_body.fullmatch(body.encode()) is not None) == each
    if floats_only.fullmatch(body.encode()) is not None:
        assert each


@settings(max_examples=300, deadline=None)
@given(body=_bodies, chunk=st.integers(1, 4), step=st.integers(0, 3))
def test_row_steps_yields_the_same_rows_in_chunks_and_steps(body, chunk, step):
    raw = body.encode("utf-8")
    try:
        expected = parse_rows(raw, "n", NOW, SHARED_KEYS)
    except (LineProtocolError, FieldDecodeError):
        return
    steps = row_steps(raw, "n", NOW, SHARED_KEYS, chunk_rows=chunk, step_lines=step)
    rows = []
    try:
        while True:
            part = next(steps)
            assert len(part) <= chunk
            rows.extend(part)
    except StopIteration as done:
        assert (rows, done.value) == expected


def test_the_benchmark_body_takes_the_plain_float_shortcut():
    body = cpu_body(50)
    assert lineprotocol._PLAIN[False][2].fullmatch(body) is not None
    rows, count = parse_rows(body, "", NOW)
    assert count == 50
    series, fields, time = rows[0]
    assert (series.measurement, series.key) == ("cpu", (("cpu", "cpu0"), ("host", "server0000")))
    assert list(fields) == ["usage_idle", "usage_system", "usage_user"]
    assert time == NOW


def test_rows_of_one_series_share_its_series_and_field_keys_are_interned():
    keys = SeriesKeys(lambda m, tags: Series(m, tags))
    rows, _ = parse_rows(b"cpu,host=a v=1 1\ncpu,host=a v=2 2\n", "n", NOW, keys)
    rows2, _ = parse_rows(b"cpu,host=a,x=1 v=3 3\ncpu,x=1,host=a w=4 4\n", "n", NOW, keys)
    assert rows[0][0] is rows[1][0]
    assert rows2[0][0] is rows2[1][0]  # tag order does not make another series
    (key_a,), (key_b,) = rows[0][1], rows[1][1]
    assert key_a is key_b


def test_wanted_none_only_checks_and_counts():
    rows, count = parse_rows(b"cpu v=1\nmem v=2\n", "n", NOW, wanted=None)
    assert (rows, count) == ([], 2)
    with pytest.raises(LineProtocolError):
        parse_rows(b"cpu v=1\nmem v=\n", "n", NOW, wanted=None)


def test_wanted_measurements_keep_only_theirs_and_count_all():
    rows, count = parse_rows(b"cpu v=1\nmem v=2\ncpu v=3\n", "n", NOW, wanted=frozenset({"cpu"}))
    assert [f["v"] for _, f, _ in rows] == [1.0, 3.0]
    assert count == 3


def test_series_keys_report_full_and_reset():
    keys = SeriesKeys(lambda m, tags: len(keys.by_tags), limit=4)
    parse_rows(b"cpu,h=1 v=1\ncpu,h=2 v=1\n", "n", NOW, keys)
    assert keys.full()
    keys.reset()
    assert not keys.full()
    rows, _ = parse_rows(b"cpu,h=9 v=1\n", "n", NOW, keys)
    assert rows[0][0] == 0


def test_a_point_is_the_same_through_rows_and_points():
    body = b'cpu,host=a,region=us usage_idle=5,busy=true,n=3i,s="x y" 1700000000000000000'
    (point,) = parse_points(body, "n", NOW, "db", "rp")
    rows, _ = parse_rows(body, "n", NOW)
    series, fields, time = rows[0]
    assert Point("db", "rp", series.measurement, series.key, tuple(fields.items()), time) == point


@settings(max_examples=300, deadline=None)
@given(lines=st.lists(st.sampled_from(["", "a", "bb", "c c", "dddd"]), max_size=12),
       size=st.integers(1, 8), final_newline=st.booleans())
def test_a_body_cut_in_pieces_has_the_same_lines(lines, size, final_newline):
    text = "\n".join(lines) + ("\n" if final_newline else "")
    pieces = [line for piece in lineprotocol._line_pieces(text.encode(), size) for line in piece]
    assert [line for line in pieces if line] == [line for line in text.split("\n") if line]


@pytest.mark.parametrize("line", [
    b"m " + b"f=1," * 200_000 + b"x",           # fields, then a bad ending: no backtracking
    b"m" + b",t=v" * 200_000 + b" f=1",          # a long series key (over the key limit)
    b"m " + b"f=" + b"1" * 800_000,              # a huge number
    b"a" * 800_000,                              # no fields at all
    b"m " + b"f=1.5," * 130_000 + b"g=t 1",      # plain, but one line of 800 KB
])
def test_a_pathological_line_costs_time_linear_in_its_length(line):
    import time

    started = time.thread_time()
    try:
        parse_rows(b"cpu v=1\n" + line + b"\ncpu v=2\n", "n", NOW)
    except (LineProtocolError, FieldDecodeError):
        pass
    assert time.thread_time() - started < 3.0  # well under a second; quadratic: minutes
