"""The Go spellings the CLI's output and flag parsing depend on."""

from __future__ import annotations

import pytest

from kapacitord_tw.cli.kapacitor.commands.tasks import parse_dbrp
from kapacitord_tw.cli.goflags import Flag, FlagError, FlagSet, HelpRequested
from kapacitord_tw.cli.kapacitor.gofmt import (
    DurationError,
    dbrps_text,
    go_duration,
    go_float,
    go_quote,
    parse_influxql_duration,
    rfc822,
)


@pytest.mark.parametrize(
    "value, text",
    [
        (1.0, "1"),
        (0.5, "0.5"),
        (100.0, "100"),
        (123456.0, "123456"),
        (1e6, "1e+06"),
        (1234567.0, "1.234567e+06"),
        (0.0001, "0.0001"),
        (0.00001, "1e-05"),
        (-2.5, "-2.5"),
        (1e21, "1e+21"),
        (0.0, "0"),
    ],
)
def test_floats_print_like_go_percent_v(value, text):
    assert go_float(value) == text


@pytest.mark.parametrize(
    "nanoseconds, text",
    [
        (0, "0s"),
        (60_000_000_000, "1m0s"),
        (3_600_000_000_000, "1h0m0s"),
        (90_500_000_000, "1m30.5s"),
        (1_500_000, "1.5ms"),
        (2_000, "2µs"),
        (999, "999ns"),
        (-10_000_000_000, "-10s"),
        (26 * 3_600_000_000_000, "26h0m0s"),
    ],
)
def test_durations_print_like_go(nanoseconds, text):
    assert go_duration(nanoseconds) == text


@pytest.mark.parametrize(
    "text, nanoseconds",
    [("10s", 10_000_000_000), ("1h30m", 5_400_000_000_000), ("5ms", 5_000_000),
     ("2d", 172_800_000_000_000), ("1w", 604_800_000_000_000), ("-1m", -60_000_000_000),
     ("3u", 3_000), ("7ns", 7)],
)
def test_influxql_durations_parse(text, nanoseconds):
    assert parse_influxql_duration(text) == nanoseconds


@pytest.mark.parametrize("text", ["", "10", "s", "1x", "1.5s", "-"])
def test_bad_influxql_durations_are_refused(text):
    with pytest.raises(DurationError):
        parse_influxql_duration(text)


def test_go_quote_escapes_like_percent_q():
    assert go_quote('a"b\\c\n\x01é') == '"a\\"b\\\\c\\n\\x01é"'


def test_rfc822_keeps_the_zone_of_the_timestamp():
    assert rfc822("2026-03-03T12:00:00.123456789Z") == "03 Mar 26 12:00 UTC"
    assert rfc822("2026-12-31T23:59:59-03:30") == "31 Dec 26 23:59 -0330"
    assert rfc822(None) == "01 Jan 01 00:00 UTC"


def test_dbrps_print_like_a_go_slice_of_quoted_pairs():
    assert dbrps_text([]) == "[]"
    assert dbrps_text([{"db": "a", "rp": "b"}, {"db": "c d", "rp": ""}]) == '["a"."b" "c d".""]'


@pytest.mark.parametrize(
    "text, parsed",
    [
        ("db.rp", {"db": "db", "rp": "rp"}),
        ('"db"."rp"', {"db": "db", "rp": "rp"}),
        ('"my.db".autogen', {"db": "my.db", "rp": "autogen"}),
        ('"a\\"b"."c"', {"db": 'a"b', "rp": "c"}),
        ("db.rp.extra", {"db": "db", "rp": "rp.extra"}),
    ],
)
def test_dbrp_flag_values(text, parsed):
    assert parse_dbrp(text) == parsed


@pytest.mark.parametrize("text", ["", "nodot", '"db"', '"db"rp'])
def test_bad_dbrp_flag_values(text):
    with pytest.raises(ValueError):
        parse_dbrp(text)


FLAGS = FlagSet(
    (
        Flag("name", "a name"),
        Flag("force", "force it", kind="bool", default=False),
        Flag("n", "a number", kind="value", convert=int),
        Flag("q", "quiet", kind="bool", default=False),
    )
)


def test_go_flag_forms():
    parsed = FLAGS.parse(["--name=x", "-force", "-n", "3", "rest", "-name", "y"])
    assert (parsed["name"], parsed["force"], parsed["n"]) == ("x", True, 3)
    assert parsed.args == ["rest", "-name", "y"]


def test_bool_flag_does_not_take_the_next_argument():
    parsed = FLAGS.parse(["-force", "false"])
    assert parsed["force"] is True and parsed.args == ["false"]
    assert FLAGS.parse(["-force=false"])["force"] is False


def test_string_flag_takes_the_next_argument_even_if_it_looks_like_a_flag():
    assert FLAGS.parse(["-name", "-force"])["name"] == "-force"


@pytest.mark.parametrize(
    "args, message",
    [
        (["-nope"], "flag provided but not defined: -nope"),
        (["-name"], "flag needs an argument: -name"),
        (["-force=maybe"], 'invalid boolean value "maybe" for -force: parse error'),
        (["---x"], "bad flag syntax: ---x"),
        (["-n", "x"], "invalid value \"x\" for flag -n: invalid literal for int() with base 10: 'x'"),
    ],
)
def test_go_flag_errors(args, message):
    with pytest.raises(FlagError) as info:
        FLAGS.parse(args)
    assert str(info.value) == message


def test_help_flag_is_reported_when_not_defined():
    with pytest.raises(HelpRequested):
        FLAGS.parse(["--help"])


def test_print_defaults_layout():
    assert FLAGS.defaults_text() == (
        "  -force\n    \tforce it\n"
        "  -n value\n    \ta number\n"
        "  -name string\n    \ta name\n"
        "  -q\tquiet\n"
    )
