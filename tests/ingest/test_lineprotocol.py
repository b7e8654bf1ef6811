"""The line protocol parser behind ``/write`` matches InfluxDB 1.9's ``models`` package.

Expected values and messages come from InfluxDB 1.9's ``models/points.go``
and its test suite, which define what Kapacitor accepts and answers.
"""

from __future__ import annotations

import math
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kapacitord_tw.ingest import (
    MAX_NANO_TIME,
    MIN_NANO_TIME,
    FieldDecodeError,
    LineProtocolError,
    Point,
    Unsigned,
    parse_points,
    precision_multiplier,
)
from kapacitord_tw.ingest import lineprotocol

NOW = 946730096789012345  # 2000-01-01T12:34:56.789012345Z


def pytest_generate_tests(metafunc):
    """Every example-based test runs against ``parse_points`` and against
    ``parse_rows`` (the ingest workers' parser), whose rows are turned back
    into points."""
    if not getattr(metafunc.function, "is_hypothesis_test", False):
        metafunc.parametrize("parser", ["parse_points", "parse_rows"], indirect=True)


@pytest.fixture(autouse=True)
def parser(request):
    name = getattr(request, "param", "parse_points")
    Parser.name = name
    yield name
    Parser.name = "parse_points"


class Parser:
    name = "parse_points"


def rows_as_points(body: bytes, precision: str, now: int, database: str = "",
                   retention_policy: str = "", **kwargs) -> list[Point]:
    keys = lineprotocol.SeriesKeys(lambda measurement, tags: (measurement, tags))
    rows, count = lineprotocol.parse_rows(body, precision, now, keys, **kwargs)
    assert count == len(rows)
    return [Point(database, retention_policy, m, tags, tuple(f.items()), t)
            for (m, tags), f, t in rows]


def parse(body: str | bytes, precision: str = "n", now: int = NOW, **kwargs) -> list[Point]:
    if isinstance(body, str):
        body = body.encode("utf-8")
    if Parser.name == "parse_rows":
        return rows_as_points(body, precision, now, **kwargs)
    return parse_points(body, precision, now, **kwargs)


def only(body: str | bytes, **kwargs) -> Point:
    points = parse(body, **kwargs)
    assert len(points) == 1
    return points[0]


def fields(body: str | bytes, **kwargs) -> dict:
    return only(body, **kwargs).field_map


def error(body: str | bytes, **kwargs) -> str:
    with pytest.raises(LineProtocolError) as info:
        parse(body, **kwargs)
    return str(info.value)


# ---------------------------------------------------------------------------
# The typical point


def test_typical_line_gives_measurement_sorted_tags_fields_and_time():
    point = only("cpu,region=us,host=a usage_idle=5,usage_user=1.5 1700000000000000000")
    assert point == Point(
        database="",
        retention_policy="",
        measurement="cpu",
        tags=(("host", "a"), ("region", "us")),
        fields=(("usage_idle", 5.0), ("usage_user", 1.5)),
        time=1700000000000000000,
    )


def test_database_and_retention_policy_are_copied_into_every_point():
    points = parse("a v=1\nb v=2", database="telegraf", retention_policy="autogen")
    assert [(p.database, p.retention_policy) for p in points] == [("telegraf", "autogen")] * 2


def test_fields_are_sorted_by_key_and_the_last_duplicate_wins():
    assert only("cpu z=1,a=2i,a=3i").fields == (("a", 3), ("z", 1.0))


# ---------------------------------------------------------------------------
# Lines, comments, whitespace


def test_empty_and_blank_bodies_give_no_points():
    assert parse(b"") == []
    assert parse(b" ") == []
    assert parse(b"\n\n  \t\n") == []


def test_comment_lines_are_skipped_even_when_indented():
    body = "# a point is below\n\t# indented\ncpu value=1 10\n# end of points"
    assert [p.time for p in parse(body)] == [10]


def test_blank_line_between_points_is_skipped():
    body = "cpu value=1i 1000000000\n\ncpu value=2i 2000000000"
    assert [p.field_map["value"] for p in parse(body)] == [1, 2]


@pytest.mark.parametrize(
    "line",
    [
        "cpu    value=1.0 1257894000000000000",
        "cpu value=1.0     1257894000000000000",
        "cpu      value=1.0     1257894000000000000",
        "cpu value=1.0 1257894000000000000   ",
        "cpu value=1.0 1257894000000000000\n",
        "   cpu   value=1.0 1257894000000000000\n",
    ],
)
def test_extra_spaces_between_sections_are_allowed(line):
    point = only(line)
    assert (point.measurement, point.fields, point.time) == ("cpu", (("value", 1.0),), 1257894000000000000)


def test_leading_nul_bytes_are_skipped_like_whitespace():
    assert only(b"\x00" * 1000 + b"cpu,host=A value=1 1").tags == (("host", "A"),)


def test_newline_inside_a_string_value_does_not_end_the_line():
    point = only('cpu,host=serverA value=1.0,str="foo\nbar" 1000000000')
    assert point.field_map == {"value": 1.0, "str": "foo\nbar"}


def test_unbalanced_quote_swallows_the_rest_of_the_body_as_one_bad_line():
    assert error('cpu v="abc\ncpu v=2\n') == "unable to parse 'cpu v=\"abc\ncpu v=2': unbalanced quotes"


def test_backslash_before_newline_joins_the_lines():
    point = only(b"cpu,t=a\\\nb v=1")
    assert point.tags == (("t", "a\\\nb"),)


def test_quote_in_tag_value_does_not_swallow_the_next_line():
    points = parse('baz,mytag="a x=1 1441103862125\nbaz,mytag=a z=1 1441103862126')
    assert [(p.tags, p.fields, p.time) for p in points] == [
        ((("mytag", '"a'),), (("x", 1.0),), 1441103862125),
        ((("mytag", "a"),), (("z", 1.0),), 1441103862126),
    ]


def test_crlf_is_not_stripped_so_the_carriage_return_breaks_numbers_and_timestamps():
    assert error(b"cpu value=1i 10\r\n") == "unable to parse 'cpu value=1i 10\r': bad timestamp"
    assert error(b"cpu value=1\r\n") == "unable to parse 'cpu value=1\r': invalid number"
    assert error(b"cpu value=true\r\n") == "unable to parse 'cpu value=true\r': invalid boolean"


def test_crlf_after_a_string_field_keeps_the_closing_quote_like_influxdb():
    assert fields(b'cpu value="x"\r\n') == {"value": 'x"'}


def test_a_bare_carriage_return_line_is_a_bad_line():
    assert error(b"cpu v=1\n\r\n") == "unable to parse '\r': missing fields"


# ---------------------------------------------------------------------------
# Escapes


@pytest.mark.parametrize(
    "line, measurement",
    [
        (r"foo\,bar value=1i", "foo,bar"),
        (r"cpu\ load,region=east value=1.0", "cpu load"),
        (r"cpu\=load,region=east value=1.0", "cpu=load"),
        (r'c\"pu value=1', 'c"pu'),
        (r"cpu=load,region=east value=1.0", "cpu=load"),
        (r'"cpu",host=serverA value=1.0', '"cpu"'),
        (r"cpu\a value=1", r"cpu\a"),
        (r"c\\,u value=1", "c\\,u"),
    ],
)
def test_measurement_escapes(line, measurement):
    assert only(line).measurement == measurement


@pytest.mark.parametrize(
    "line, tags",
    [
        (r"cpu,region\,zone=east value=1.0", {"region,zone": "east"}),
        (r"cpu,region\ zone=east value=1.0", {"region zone": "east"}),
        (r"cpu,reg\=ion=east value=1.0", {"reg=ion": "east"}),
        (r"cpu,\ =east value=1.0", {" ": "east"}),
        (r"cpu,regions=east\,west value=1.0", {"regions": "east,west"}),
        (r"cpu,regions=east\ west value=1.0", {"regions": "east west"}),
        (r"cpu,regions=\\ east value=1.0", {"regions": "\\ east"}),
        (r"cpu,regions=east\\  value=1.0", {"regions": "east\\ "}),
        (r"cpu,regions=eas\t value=1.0", {"regions": "eas\\t"}),
        (r"cpu,regions=\\,\,\=east value=1.0", {"regions": "\\,,=east"}),
        (r"cpu=load,equals\=foo=tag\=value value=1i", {"equals=foo": "tag=value"}),
        (r'cpu,"host"="serverA" value=1.0', {'"host"': '"serverA"'}),
        (r'cpu,q=a\"b value=1.0', {"q": 'a\\"b'}),
        (r"cpu,a==b value=1.0", {"a": "=b"}),
    ],
)
def test_tag_key_and_value_escapes(line, tags):
    assert only(line).tag_map == tags


@pytest.mark.parametrize(
    "line, key",
    [
        (r"cpu value\,ms=1.0", "value,ms"),
        (r"cpu value\ ms=1.0", "value ms"),
        (r"cpu val\=ue=1.0", "val=ue"),
        (r'cpu val\"ue=1.0', 'val"ue'),
        (r"cpu \a=1i", "\\a"),
        ('cpu "a=1', '"a'),
    ],
)
def test_field_key_escapes(line, key):
    assert list(fields(line)) == [key]


@pytest.mark.parametrize(
    "value, text",
    [
        (r'"foo \" bar"', 'foo " bar'),
        (r'"test\\"', "test\\"),
        (r'"test\\\""', 'test\\"'),
        (r'"foo\,bar"', "foo\\,bar"),
        (r'"foo,bar"', "foo,bar"),
        (r'"foo bar"', "foo bar"),
        (r'"foo=bar"', "foo=bar"),
        (r'"{Hello\"{,}\" World}"', '{Hello"{,}" World}'),
        (r'"\n"', "\\n"),
        ('""', ""),
        ('"wè"', "wè"),
    ],
)
def test_string_field_escapes(value, text):
    assert fields(f"cpu,host=a str={value},n=1i 1000000000") == {"str": text, "n": 1}


def test_tags_are_sorted_by_key_whatever_the_input_order():
    assert only("cpu,last=1,first=2,middle=3 value=1i").tags == (
        ("first", "2"),
        ("last", "1"),
        ("middle", "3"),
    )


def test_a_thousand_tags_are_accepted():
    line = "m" + "".join(f",t{i}=x" for i in range(1000)) + " v=0"
    assert len(only(line).tags) == 1000


# ---------------------------------------------------------------------------
# Field types and their bounds


def test_integer_bounds_and_leading_zeros():
    assert fields("cpu value=9223372036854775807i") == {"value": 2**63 - 1}
    assert fields("cpu value=-9223372036854775808i") == {"value": -(2**63)}
    assert fields("cpu value=0009223372036854775807i") == {"value": 2**63 - 1}
    assert fields("cpu value=-0009223372036854775808i") == {"value": -(2**63)}
    assert type(fields("cpu value=-0i")["value"]) is int


def test_integer_out_of_range_has_influxdb_message():
    assert error("cpu,host=serverA,region=us-west value=9223372036854775808i") == (
        "unable to parse 'cpu,host=serverA,region=us-west value=9223372036854775808i': "
        "unable to parse integer 9223372036854775808: "
        'strconv.ParseInt: parsing "9223372036854775808": value out of range'
    )
    assert error("cpu value=-9223372036854775809i").endswith(
        'unable to parse integer -9223372036854775809: strconv.ParseInt: parsing "-9223372036854775809": '
        "value out of range"
    )


def test_unsigned_is_refused_as_kapacitor_is_built_without_uint_support():
    assert error("cpu value=1u") == "unable to parse 'cpu value=1u': invalid number"


def test_unsigned_bounds_when_enabled():
    value = fields("cpu value=18446744073709551615u", allow_unsigned=True)["value"]
    assert value == 2**64 - 1 and type(value) is Unsigned
    assert fields("cpu value=0u", allow_unsigned=True) == {"value": Unsigned(0)}
    assert fields("cpu value=00018446744073709551615u", allow_unsigned=True) == {"value": 2**64 - 1}
    assert error("cpu,host=serverA,region=us-west value=18446744073709551616u", allow_unsigned=True) == (
        "unable to parse 'cpu,host=serverA,region=us-west value=18446744073709551616u': "
        "unable to parse unsigned 18446744073709551616: "
        'strconv.ParseUint: parsing "18446744073709551616": value out of range'
    )
    assert error("cpu value=-1u", allow_unsigned=True) == "unable to parse 'cpu value=-1u': invalid number"


@pytest.mark.parametrize(
    "text, value",
    [
        ("1", 1.0),
        ("-1.5", -1.5),
        (".5", 0.5),
        ("5.", 5.0),
        ("-.5", -0.5),
        ("1e3", 1000.0),
        ("1.0E4", 10000.0),
        ("-1.0e-4", -1.0e-4),
        ("1E+2", 100.0),
        ("1.7976931348623157e308", 1.7976931348623157e308),
        ("-1.7976931348623157e308", -1.7976931348623157e308),
        ("1e-400", 0.0),
        ("0000" + "1" * 30, float("1" * 30)),
    ],
)
def test_float_forms_influxdb_accepts(text, value):
    got = fields(f"cpu value={text}")["value"]
    assert type(got) is float and got == value


def test_floats_beyond_float64_are_invalid():
    assert error("cpu value=1e309") == "unable to parse 'cpu value=1e309': invalid float"
    assert error("cpu value=1" + "0" * 400).endswith(": invalid float")


@pytest.mark.parametrize(
    "text, value",
    [("t", True), ("T", True), ("true", True), ("True", True), ("TRUE", True),
     ("f", False), ("F", False), ("false", False), ("False", False), ("FALSE", False)],
)
def test_boolean_spellings(text, value):
    assert fields(f"cpu,host=a b={text} 1") == {"b": value}


def test_field_kinds_stay_distinct():
    got = fields('cpu i=1i,f=1,b=t,s="1"')
    assert [(k, type(v)) for k, v in sorted(got.items())] == [
        ("b", bool), ("f", float), ("i", int), ("s", str)
    ]


def test_unicode_names_and_values():
    point = only('mesure,lieu=zürich température=21.5,note="wè" 1')
    assert (point.measurement, point.tags, point.field_map) == (
        "mesure", (("lieu", "zürich"),), {"température": 21.5, "note": "wè"}
    )


def test_invalid_utf8_is_kept_as_surrogate_escapes_and_raw_error_bytes():
    assert only(b"m\xff v=1").measurement == "m\udcff"
    with pytest.raises(LineProtocolError) as info:
        parse(b"m\xff")
    assert info.value.raw == b"unable to parse 'm\xff': missing fields"
    assert str(info.value) == "unable to parse 'm\udcff': missing fields"


# ---------------------------------------------------------------------------
# Timestamps and precision


@pytest.mark.parametrize(
    "precision, stamp, expected",
    [
        ("", "946730096789012345", 946730096789012345),
        ("n", "946730096789012345", 946730096789012345),
        ("u", "946730096789012", 946730096789012000),
        ("ms", "946730096789", 946730096789000000),
        ("s", "946730096", 946730096000000000),
        ("m", "15778834", 946730040000000000),
        ("h", "262980", 946728000000000000),
        ("ns", "5", 5),
        ("bogus", "5", 5),
    ],
)
def test_precision_multiplies_the_timestamp(precision, stamp, expected):
    assert only(f"cpu,host=serverA value=1.0 {stamp}", precision=precision).time == expected


@pytest.mark.parametrize(
    "precision, expected",
    [
        ("", 946730096789012345),
        ("n", 946730096789012345),
        ("u", 946730096789012000),
        ("ms", 946730096789000000),
        ("s", 946730096000000000),
        ("m", 946730040000000000),
        ("h", 946728000000000000),
        ("bogus", 946730096789012345),
    ],
)
def test_missing_timestamp_is_server_time_truncated_to_precision(precision, expected):
    assert only("cpu,host=serverA value=1.0", precision=precision, now=NOW).time == expected


def test_negative_and_extreme_timestamps():
    assert only("cpu value=1 -1").time == -1
    assert only(f"cpu value=1 {MAX_NANO_TIME}").time == MAX_NANO_TIME
    assert only(f"cpu value=1 {MIN_NANO_TIME}").time == MIN_NANO_TIME
    assert only("cpu value=1 9223372036", precision="s").time == 9223372036 * 10**9


TIME_RANGE = "time outside range -9223372036854775806 - 9223372036854775806"


@pytest.mark.parametrize(
    "line, precision, reason",
    [
        ("cpu value=1 9223372036854775807", "n", TIME_RANGE),
        ("cpu value=1 -9223372036854775807", "n", TIME_RANGE),
        ("cpu value=1 -9223372036854775808", "n", TIME_RANGE),
        ("cpu value=1 9223372037", "s", TIME_RANGE),
        ("cpu value=1 -2562048", "h", TIME_RANGE),
        ("cpu value=1 9223372036854775808", "n",
         'strconv.ParseInt: parsing "9223372036854775808": value out of range'),
        ("cpu value=1 -92233720368547758078", "n",
         'strconv.ParseInt: parsing "-92233720368547758078": value out of range'),
        ("cpu value=1 -", "n", 'strconv.ParseInt: parsing "-": invalid syntax'),
        ("cpu value=1 -/", "n", "bad timestamp"),
        ("cpu value=1 -1?", "n", "bad timestamp"),
        ("cpu value=1 1-", "n", "bad timestamp"),
        ("cpu value=1 1.5", "n", "bad timestamp"),
        ("cpu value=1 1e9", "n", "bad timestamp"),
        ("a v=1 0\\", "n", "bad timestamp"),
        ("cpu value=1 9223372036854775807 12", "n", TIME_RANGE),
        ("cpu value=1 1 12", "n", "point is invalid"),
    ],
)
def test_bad_timestamps_have_influxdb_messages(line, precision, reason):
    assert error(line, precision=precision) == f"unable to parse '{line}': {reason}"


def test_precision_multiplier():
    assert [precision_multiplier(p) for p in ("n", "u", "ms", "s", "m", "h", "", "x")] == [
        1, 1000, 10**6, 10**9, 60 * 10**9, 3600 * 10**9, 1, 1
    ]


# ---------------------------------------------------------------------------
# Malformed lines


@pytest.mark.parametrize(
    "line, reason",
    [
        ("cpu", "missing fields"),
        ("cpu_load_short,host=server01,region=us-west", "missing fields"),
        ("cpu,host==", "missing fields"),
        ("=", "missing fields"),
        (",cpu value=1", "missing measurement"),
        ("cpu, value=1", "missing tag key"),
        ("cpu,", "missing tag key"),
        ("cpu,,,", "missing tag key"),
        ("cpu,host=serverA,=us-east value=1i", "missing tag key"),
        ("cpu,host", "missing tag value"),
        ("cpu,host=", "missing tag value"),
        ("cpu,host value=1i", "missing tag value"),
        ("cpu,host=serverA,region= value=1i", "missing tag value"),
        ("cpu,host=serverA,region=,zone=us-west value=1i", "missing tag value"),
        ("cpu,host=f=o,", "invalid tag format"),
        ("cpu,host=f\\==o,", "invalid tag format"),
        ("cpu,host=serverA,host=serverB value=1i 1000000000", "duplicate tags"),
        ("cpu,b=2,c=3,b=1 value=1i 1000000000", "duplicate tags"),
        ("cpu,host=serverA,region=us-west =", "missing field key"),
        ("cpu,host=serverA,region=us-west =123i", "missing field key"),
        ("cpu value=123i,=456i", "missing field key"),
        ("cpu value=", "missing field value"),
        ("cpu value= 1000000000i", "missing field value"),
        ("cpu value=,value2=1i", "missing field value"),
        ("cpu,host=server01 1434055562000000000i", "invalid field format"),
        ("cpu value=1i,b", "invalid field format"),
        ("cpu ", "invalid field format"),
        ('m f="blah"=123,r 1531703600000000000', "invalid value: field-key=r"),
        ('cpu,host=serverA value="test', "unbalanced quotes"),
        ('cpu,host=serverA value="test""', "unbalanced quotes"),
        ("cpu v=-", "invalid number"),
        ("cpu v=-i ", "invalid number"),
        ("cpu v=-. ", "invalid number"),
        ("cpu v=. ", "invalid number"),
        ("cpu v=1.0i ", "invalid number"),
        ("cpu v=1ii ", "invalid number"),
        ("cpu v=1a ", "invalid number"),
        ("cpu v=42+3 ", "invalid number"),
        ("cpu v=0.-1", "invalid number"),
        ("cpu v=1.1.1", "invalid number"),
        ("cpu v=9ie10", "invalid number"),
        ("cpu v=9e10i", "invalid number"),
        ("cpu value=NaN 1000000000", "invalid number"),
        ("cpu value=nAn", "invalid number"),
        ("cpu v=-e-e-e ", "invalid float"),
        ("cpu v=1e", "invalid float"),
        ("cpu v=a", "invalid boolean"),
        ("cpu v=tru", "invalid boolean"),
        ("cpu v=tRUE", "invalid boolean"),
        ("cpu v=+1", "invalid boolean"),
        ("cpu v=Inf", "invalid boolean"),
        ("cpu a\\\\=1", "invalid value: field-key=a\\\\=1"),
    ],
)
def test_malformed_line_has_influxdb_message(line, reason):
    assert error(line) == f"unable to parse '{line.lstrip()}': {reason}"


def test_max_key_length_is_checked_on_the_key_and_on_each_series_key():
    measurement = "m" * 65536
    assert error(f"{measurement} v=1") == (
        f"unable to parse '{measurement} v=1': max key length exceeded: 65536 > 65535"
    )
    key = "m" * 65530
    assert only(f"{key} v=1").measurement == key
    assert error(f"{key} vv=1").endswith("max key length exceeded: 65536 > 65535")


def test_every_bad_line_is_reported_and_no_point_is_kept():
    body = "cpu v=1\nbad\ncpu v=2\ncpu,x v=3\n"
    with pytest.raises(LineProtocolError) as info:
        parse(body)
    assert str(info.value) == (
        "unable to parse 'bad': missing fields\n"
        "unable to parse 'cpu,x v=3': missing tag value"
    )
    assert info.value.failures == (
        "unable to parse 'bad': missing fields",
        "unable to parse 'cpu,x v=3': missing tag value",
    )


def test_quote_in_field_key_position_does_not_open_a_string():
    line = "cpu \"\\, '= \"\\ v=1.0"
    assert error(line) == f"unable to parse '{line}': invalid field format"


# ---------------------------------------------------------------------------
# InfluxDB's second field scanner (Fields())


def test_field_key_ending_in_backslash_merges_with_the_next_field_like_influxdb():
    assert fields("cpu a\\\\=1,b=2") == {"a\\=1,b": 2.0}


def test_tab_before_the_equals_sign_gives_a_point_without_fields_like_influxdb():
    assert only("cpu \t=1").fields == ()


def test_undecodable_fields_raise_field_decode_error_with_the_points_before_it():
    with pytest.raises(FieldDecodeError) as info:
        parse('ok v=1\ncpu a\\\\="x=y"\nlater v=2')
    assert str(info.value) == (
        'unable to unmarshal field a\\="x: unable to parse bool value "y\\"": '
        'strconv.ParseBool: parsing "y\\"": invalid syntax'
    )
    assert info.value.count_before == 1
    if Parser.name == "parse_points":
        assert [p.measurement for p in info.value.points_before] == ["ok"]


def test_syntax_errors_win_over_field_decode_errors():
    assert error('cpu a\\\\="x=y"\nbad') == "unable to parse 'bad': missing fields"


# ---------------------------------------------------------------------------
# The fast path agrees with the faithful scanner

# Mostly well-formed pieces, with odd ones mixed in, so both paths get exercised.
_names = st.sampled_from(["cpu", "m", "a", "b", "host", "é"] * 4 + ["x=y", "c\r", "", "=", "-", '"q'])
_values = st.sampled_from(
    ["1", "-1", "1.5", ".5", "5.", "-.5", "1e3", "1E-3", "1e+2", "5i", "-3i", "0i", "7u", "0u", "t", "F",
     "FALSE", "True", '"a"', '""', '"a b,c=d"', '"x\ny"', '"é"', "1" * 30] * 3
    + ["tru", "9223372036854775807i", "9223372036854775808i", "-9223372036854775809i",
       "18446744073709551615u", "18446744073709551616u", "1e999", "-", ".", "NaN", "00", "1.5i", "+1",
       "1\r", "é", "", "=1", '"a"b', '"', '"1"i', '"\\""']
)
_stamps = st.sampled_from(
    ["", " 0", " -1", " 1700000000000000000", " 9223372036854775806", " 9223372036854775807",
     " 9223372036854775808", " -", " 1a", " 15", " 15 ", " 15 1", "  15", " 3000000"]
)
_pairs = st.lists(st.tuples(_names, _values), max_size=3)
_lines = st.builds(
    lambda measurement, tags, fields, stamp: (
        measurement
        + "".join(f",{k}={v}" for k, v in tags)
        + " "
        + ",".join(f"{k}={v}" for k, v in fields)
        + stamp
    ),
    _names,
    st.lists(st.tuples(_names, _names), max_size=3),
    _pairs,
    _stamps,
)


@settings(max_examples=500, deadline=None)
@given(line=_lines, precision=st.sampled_from(["n", "s", "h"]), unsigned=st.booleans())
def test_fast_path_accepts_only_what_the_scanner_accepts_with_the_same_point(line, precision, unsigned):
    line = line.lstrip(" ")
    if not line:
        return
    text = line.encode("utf-8").decode("latin-1")
    to_text = None if text.isascii() else lineprotocol._to_text
    mult = precision_multiplier(precision)
    fast = lineprotocol._FastParser(mult, NOW, "db", "rp", to_text, unsigned).parse(text)
    if fast is None:
        return
    slow = lineprotocol._parse_line(text, mult, NOW, "db", "rp", to_text, unsigned)
    assert fast == slow
    assert [type(v) for _, v in fast.fields] == [type(v) for _, v in slow.fields]


# ---------------------------------------------------------------------------
# Speed


def test_ten_thousand_typical_lines_parse_well_under_half_a_second():
    body = b"cpu,host=a,region=us usage_idle=5,usage_user=1.5 1700000000000000000\n" * 10_000
    started = time.thread_time()  # CPU time: other load on the machine does not count
    points = parse(body, "n", NOW)
    elapsed = time.thread_time() - started
    assert len(points) == 10_000
    assert elapsed < 0.5
    assert not math.isnan(points[-1].field_map["usage_user"])
