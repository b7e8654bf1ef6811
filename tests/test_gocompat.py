"""Go-compatibility helpers checked against outputs of the real Go standard library.

Expected strings were produced by Go programs (``strconv``, ``path``,
``time`` and ``encoding/json``); ``\\b``/``\\f`` in JSON follow Go >= 1.22,
which Kapacitor 1.8.3 is built with.
"""

import datetime as dt
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kapacitord_tw.gocompat import (
    ZERO_TIME,
    ZERO_TIME_NS,
    BadPattern,
    NumError,
    format_duration,
    format_time,
    go_quote,
    json_dumps,
    parse_bool,
    parse_duration,
    parse_int,
    parse_time,
    path_clean,
    path_dir,
    path_join,
    path_match,
    path_match_strict,
)

INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)


# --- go_quote (%q) ---------------------------------------------------------

@pytest.mark.parametrize("value, quoted", [
    ("", '""'),
    ("abc", '"abc"'),
    ('a"b\\c', r'"a\"b\\c"'),
    ("\n\t\r\a\b\f\v", r'"\n\t\r\a\b\f\v"'),
    ("\x00\x1f\x7f", r'"\x00\x1f\x7f"'),
    ("á€😀", '"á€😀"'),
    ("日本語", '"日本語"'),
    (" ", '" "'),
    ("\u00ad\u00a0\u2028\u200b", r'"\u00ad\u00a0\u2028\u200b"'),
    ("\u3000", r'"\u3000"'),
    ("\U000e0001", r'"\U000e0001"'),
    ("\ufffd", '"\ufffd"'),
])
def test_go_quote_matches_strconv_quote(value, quoted):
    assert go_quote(value) == quoted


@pytest.mark.parametrize("raw, quoted", [
    (b"\xff\xfe", r'"\xff\xfe"'),
    (b"a\xc3", r'"a\xc3"'),
    (b"\xed\xa0\x80", r'"\xed\xa0\x80"'),  # an encoded surrogate is invalid UTF-8 in Go
    ("ÿ".encode(), '"ÿ"'),
])
def test_go_quote_escapes_invalid_utf8_bytes_one_by_one(raw, quoted):
    assert go_quote(raw) == quoted


def test_go_quote_treats_surrogateescaped_text_as_the_original_bytes():
    assert go_quote(b"u\xffser".decode("utf-8", "surrogateescape")) == r'"u\xffser"'


def test_go_quote_differs_from_python_repr_for_plain_quotes():
    assert go_quote("it's") == '"it\'s"'
    assert go_quote('say "hi"') == r'"say \"hi\""'


# --- path -----------------------------------------------------------------

@pytest.mark.parametrize("value, cleaned, directory", [
    ("", ".", "."),
    (".", ".", "."),
    ("/", "/", "/"),
    ("//", "/", "/"),
    ("a/b/", "a/b", "a/b"),
    ("/../x/./y", "/x/y", "/x"),
    ("a/../..", "..", "."),
    ("../../a", "../../a", "../.."),
    ("/a/b/../../..", "/", "/"),
    ("a//b", "a/b", "a"),
    ("./a", "a", "."),
    ("/api/", "/api", "/api"),
    ("abc/./../def", "def", "."),
    ("a/b/c/../../d", "a/d", "a"),
])
def test_path_clean_and_dir_match_go(value, cleaned, directory):
    assert path_clean(value) == cleaned
    assert path_dir(value) == directory


def test_path_dir_of_directory_path_cleans_it():
    assert path_dir("/a/b/c") == "/a/b"
    assert path_dir("/a") == "/"
    assert path_dir("a") == "."


@pytest.mark.parametrize("elems, joined", [
    ((), ""),
    (("", ""), ""),
    (("/api", ""), "/api"),
    (("/api", "/users/bob"), "/api/users/bob"),
    (("a", "", "b/", "../c"), "a/c"),
])
def test_path_join_ignores_empty_elements_and_cleans(elems, joined):
    assert path_join(*elems) == joined


@pytest.mark.parametrize("pattern, name, matched", [
    ("*", "abc", True),
    ("*", "a/b", False),
    ("a*", "a", True),
    ("a*b", "axxb", True),
    ("a*b", "ax/b", False),
    ("a*", "ab/c", False),
    ("a*/b", "abc/b", True),
    ("a*/b", "a/c/b", False),
    ("*x", "xxx", True),
    ("*c", "abc", True),
    ("*a*", "bab", True),
    ("?", "/", False),
    ("a?c", "a/c", False),
    ("?", "é", True),
    ("??", "é", False),
    ("[a-c]", "b", True),
    ("[^a]", "a", False),
    ("[^a]", "b", True),
    ("[^a-c]x", "dx", True),
    ("[é]", "é", True),
    ("[à-ü]", "é", True),
    ("[a]]", "a]", True),
    ("[\\]]", "]", True),
    ("[\\-]", "-", True),
    ("\\*", "*", True),
    ("\\*", "a", False),
    ("*.txt", "ä.txt", True),
    ("", "", True),
    ("", "a", False),
    ("_sub:*", "_sub:abc", True),
    ("b*", "bob", True),
])
def test_path_match_follows_go_semantics(pattern, name, matched):
    assert path_match(pattern, name) is matched
    assert path_match_strict(pattern, name) is matched


@pytest.mark.parametrize("pattern, name", [
    ("a\\", "a"),
    ("[", "a"),
    ("[]", "a"),
    ("[a-", "a"),
    ("[^", "a"),
    ("[-]", "-"),
    ("[x-]", "x"),
    ("[]a]", "]"),
    ("*[", "a"),
    # Go reports a bad pattern even when an earlier part already failed to match.
    ("a[", "b"),
    ("ab[", "x"),
    ("x*[", "yz"),
])
def test_malformed_pattern_matches_nothing_and_strict_form_raises(pattern, name):
    assert path_match(pattern, name) is False
    with pytest.raises(BadPattern, match="syntax error in pattern"):
        path_match_strict(pattern, name)


def test_path_match_is_not_fnmatch():
    # fnmatch would let '*' cross '/' and treat '[!a]' as negation.
    assert path_match("user*", "user/x") is False
    assert path_match("[!a]", "b") is False
    assert path_match("[!a]", "!") is True


# --- strconv --------------------------------------------------------------

@pytest.mark.parametrize("text", ["1", "t", "T", "TRUE", "true", "True"])
def test_parse_bool_accepts_go_true_spellings(text):
    assert parse_bool(text) is True


@pytest.mark.parametrize("text", ["0", "f", "F", "FALSE", "false", "False"])
def test_parse_bool_accepts_go_false_spellings(text):
    assert parse_bool(text) is False


@pytest.mark.parametrize("text", ["yes", "tRUE", "", " true", "on"])
def test_parse_bool_rejects_other_spellings_with_go_message(text):
    with pytest.raises(NumError) as info:
        parse_bool(text)
    assert str(info.value) == f"strconv.ParseBool: parsing {go_quote(text)}: invalid syntax"


@pytest.mark.parametrize("text, value", [
    ("0", 0), ("10", 10), ("-10", -10), ("+7", 7), ("-0", 0), ("00", 0),
    ("0x1F", 31), ("0X1f", 31), ("0o17", 15), ("0O17", 15), ("017", 15),
    ("0b101", 5), ("0B101", 5),
    ("1_000", 1000), ("0x_1f", 31), ("0x1_f", 31), ("0b1_0", 2), ("0_7", 7),
    ("9223372036854775807", INT64_MAX), ("-9223372036854775808", INT64_MIN),
])
def test_parse_int_base_zero_accepts_go_syntax(text, value):
    assert parse_int(text) == value


@pytest.mark.parametrize("text", [
    "", "-", "+", "ten", "08", "0x", "0b", "0o", "_1", "1_", "1__0", "0_x1",
    " 1", "1 ", "1e3", "0.5", "\u0661",
])
def test_parse_int_syntax_errors_carry_go_message(text):
    with pytest.raises(NumError) as info:
        parse_int(text)
    err = info.value
    assert (err.func, err.num, err.err) == ("ParseInt", text, "invalid syntax")
    assert str(err) == f"strconv.ParseInt: parsing {go_quote(text)}: invalid syntax"


def test_parse_int_error_message_for_kapacitor_offset_parameter():
    with pytest.raises(NumError) as info:
        parse_int("ten")
    assert str(info.value) == 'strconv.ParseInt: parsing "ten": invalid syntax'
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("text, bits, clamped", [
    ("9223372036854775808", 64, INT64_MAX),
    ("-9223372036854775809", 64, INT64_MIN),
    ("99999999999999999999", 64, INT64_MAX),
    ("0xFFFFFFFFFFFFFFFFF", 64, INT64_MAX),
    ("2147483648", 32, 2**31 - 1),
    ("-2147483649", 32, -(2**31)),
])
def test_parse_int_out_of_range_reports_clamped_value(text, bits, clamped):
    with pytest.raises(NumError) as info:
        parse_int(text, bits)
    assert info.value.err == "value out of range"
    assert info.value.value == clamped
    assert str(info.value) == f'strconv.ParseInt: parsing "{text}": value out of range'


def test_parse_int_respects_bit_size():
    assert parse_int("-2147483648", 32) == -(2**31)
    assert parse_int("0x7fffffff", 32) == 2**31 - 1


# --- time.Duration --------------------------------------------------------

@pytest.mark.parametrize("text, ns", [
    ("0", 0), ("-0", 0), ("+0", 0),
    ("1h", 3_600_000_000_000), ("1.5h", 5_400_000_000_000), ("-1.5h", -5_400_000_000_000),
    ("2h45m", 9_900_000_000_000), ("300ms", 300_000_000),
    ("1us", 1000), ("1µs", 1000), ("1μs", 1000), ("1.5µs", 1500),
    (".5s", 500_000_000), ("5.s", 5_000_000_000),
    ("1.0000000001s", 1_000_000_000), ("0.000000001s", 1), ("0.0000000001s", 0),
    ("1h1m1s1ms1us1ns", 3_661_001_001_001),
    ("9223372036854775807ns", INT64_MAX), ("-9223372036854775808ns", INT64_MIN),
    ("2562047h47m16.854775807s", INT64_MAX),
])
def test_parse_duration_matches_go(text, ns):
    assert parse_duration(text) == ns


@pytest.mark.parametrize("text, message", [
    ("", 'time: invalid duration ""'),
    ("x", 'time: invalid duration "x"'),
    (".s", 'time: invalid duration ".s"'),
    ("-.s", 'time: invalid duration "-.s"'),
    ("1", 'time: missing unit in duration "1"'),
    ("1.", 'time: missing unit in duration "1."'),
    ("1s1", 'time: missing unit in duration "1s1"'),
    ("1ms.5", 'time: missing unit in duration "1ms.5"'),
    ("1d", 'time: unknown unit "d" in duration "1d"'),
    ("3e3s", 'time: unknown unit "e" in duration "3e3s"'),
    ("1h-1m", 'time: unknown unit "h-" in duration "1h-1m"'),
    ("9223372036854775808ns", 'time: invalid duration "9223372036854775808ns"'),
    ("10000000000000000000ns", 'time: invalid duration "10000000000000000000ns"'),
    ("2562048h", 'time: invalid duration "2562048h"'),
    # The time package quotes non-ASCII and control bytes as \xNN, unlike %q.
    ("1µd", r'time: unknown unit "\xc2\xb5d" in duration "1\xc2\xb5d"'),
    ("1\x00", r'time: unknown unit "\x00" in duration "1\x00"'),
])
def test_parse_duration_errors_have_go_text(text, message):
    with pytest.raises(ValueError) as info:
        parse_duration(text)
    assert str(info.value) == message


@pytest.mark.parametrize("ns, text", [
    (0, "0s"), (1, "1ns"), (10, "10ns"), (999, "999ns"),
    (1000, "1µs"), (1500, "1.5µs"), (999_999, "999.999µs"),
    (1_000_000, "1ms"), (1_500_000, "1.5ms"), (500_000_000, "500ms"), (999_999_999, "999.999999ms"),
    (1_000_000_000, "1s"), (1_000_000_001, "1.000000001s"), (1_500_000_000, "1.5s"),
    (60_000_000_000, "1m0s"), (90_000_000_000, "1m30s"), (3_600_000_000_000, "1h0m0s"),
    (3_661_001_000_000, "1h1m1.001s"), (360_000_000_000_000, "100h0m0s"),
    (-1, "-1ns"), (-1_500_000, "-1.5ms"), (-60_000_000_000, "-1m0s"),
    (INT64_MIN, "-2562047h47m16.854775808s"), (INT64_MAX, "2562047h47m16.854775807s"),
])
def test_format_duration_matches_go_string(ns, text):
    assert format_duration(ns) == text


@given(st.integers(min_value=INT64_MIN, max_value=INT64_MAX))
def test_formatted_durations_parse_back_to_the_same_value(ns):
    assert parse_duration(format_duration(ns)) == ns


# --- encoding/json --------------------------------------------------------

USER_BODY = {
    "link": {"rel": "self", "href": "/kapacitor/v1/users/bob"},
    "name": "bob",
    "permissions": ["api"],
    "e": {},
    "n": [],
    "nil": None,
}


def test_pretty_json_is_marshal_indent_with_four_spaces():
    assert json_dumps(USER_BODY, pretty=True) == (
        b'{\n'
        b'    "link": {\n'
        b'        "rel": "self",\n'
        b'        "href": "/kapacitor/v1/users/bob"\n'
        b'    },\n'
        b'    "name": "bob",\n'
        b'    "permissions": [\n'
        b'        "api"\n'
        b'    ],\n'
        b'    "e": {},\n'
        b'    "n": [],\n'
        b'    "nil": null\n'
        b'}'
    )


def test_compact_json_has_no_spaces_and_keeps_insertion_order():
    assert json_dumps(USER_BODY) == (
        b'{"link":{"rel":"self","href":"/kapacitor/v1/users/bob"},"name":"bob",'
        b'"permissions":["api"],"e":{},"n":[],"nil":null}'
    )


def test_encoder_json_ends_with_newline():
    assert json_dumps({"users": []}, newline=True) == b'{"users":[]}\n'
    assert json_dumps({"users": []}, pretty=True) == b'{\n    "users": []\n}'


def test_403_error_body_escapes_quotes_like_kapacitor():
    msg = 'user bob does not have "delete" privilege for API endpoint "/kapacitor/v1/users/root"'
    assert json_dumps({"error": msg, "message": msg}) == (
        b'{"error":"user bob does not have \\"delete\\" privilege for API endpoint '
        b'\\"/kapacitor/v1/users/root\\"","message":"user bob does not have \\"delete\\" '
        b'privilege for API endpoint \\"/kapacitor/v1/users/root\\""}'
    )


@pytest.mark.parametrize("value, encoded", [
    ("<a&b>", r'"\u003ca\u0026b\u003e"'),
    ("\u2028\u2029", r'"\u2028\u2029"'),
    ("\x00\x01\x1f\x7f", '"\\u0000\\u0001\\u001f\x7f"'),
    ("\b\f\n\r\t\"\\", r'"\b\f\n\r\t\"\\"'),
    ("é日😀", '"é日😀"'),
    ("/", '"/"'),
])
def test_json_strings_are_escaped_like_go(value, encoded):
    assert json_dumps(value) == encoded.encode()


def test_json_replaces_invalid_utf8_with_replacement_escape():
    assert json_dumps(b"a\xc3b".decode("utf-8", "surrogateescape")) == b'"a\\ufffdb"'


@pytest.mark.parametrize("value, encoded", [
    (0.0, "0"), (-0.0, "-0"), (1.0, "1"), (-1.0, "-1"), (0.5, "0.5"), (100.0, "100"),
    (1e6, "1000000"), (1234567.0, "1234567"), (0.1 + 0.2, "0.30000000000000004"),
    (1e20, "100000000000000000000"), (123456789012345678.0, "123456789012345680"),
    (1e21, "1e+21"), (1e100, "1e+100"), (1.7976931348623157e308, "1.7976931348623157e+308"),
    (1e-6, "0.000001"), (-0.000001234, "-0.000001234"),
    (1e-7, "1e-7"), (1.5e-7, "1.5e-7"), (-2.5e-10, "-2.5e-10"), (5e-324, "5e-324"),
])
def test_json_floats_are_formatted_like_go(value, encoded):
    assert json_dumps(value) == encoded.encode()


def test_json_scalars_and_sequences():
    assert json_dumps([True, False, None, 3, -7, (1, "x")]) == b'[true,false,null,3,-7,[1,"x"]]'


def test_json_bytes_are_base64_like_go_byte_slices():
    assert json_dumps(b"hi\x00") == b'"aGkA"'


@pytest.mark.parametrize("value, text", [
    (float("nan"), "NaN"), (float("inf"), "+Inf"), (float("-inf"), "-Inf"),
])
def test_json_rejects_nan_and_infinity(value, text):
    with pytest.raises(ValueError, match=f"json: unsupported value: {text.replace('+', '[+]')}"):
        json_dumps(value)


def test_json_rejects_unknown_types():
    with pytest.raises(TypeError):
        json_dumps(object())


def test_json_uses_dunder_json_hook():
    class Link:
        def __json__(self):
            return {"rel": "self"}

    assert json_dumps({"link": Link()}) == b'{"link":{"rel":"self"}}'
    assert json_dumps({"link": Link()}, pretty=True) == b'{\n    "link": {\n        "rel": "self"\n    }\n}'


# --- time.Time RFC 3339 -----------------------------------------------------

PLUS_ONE = dt.timezone(dt.timedelta(hours=1))
MINUS_530 = dt.timezone(-dt.timedelta(hours=5, minutes=30))


@pytest.mark.parametrize("ns, tz, text", [
    (0, dt.timezone.utc, "1970-01-01T00:00:00Z"),
    (1772540891123456789, PLUS_ONE, "2026-03-03T13:28:11.123456789+01:00"),
    (1772540891120000000, dt.timezone.utc, "2026-03-03T12:28:11.12Z"),
    (1772540891000000000, MINUS_530, "2026-03-03T06:58:11-05:30"),
    (1772540891000000001, dt.timezone(dt.timedelta(0)), "2026-03-03T12:28:11.000000001Z"),
    (-1, dt.timezone.utc, "1969-12-31T23:59:59.999999999Z"),
])
def test_format_time_is_rfc3339nano_and_parses_back(ns, tz, text):
    assert format_time(ns, tz) == text
    assert parse_time(text) == ns


def test_zero_time_is_printed_in_utc():
    assert format_time(None) == ZERO_TIME == "0001-01-01T00:00:00Z"
    assert format_time(ZERO_TIME_NS) == ZERO_TIME
    assert parse_time(ZERO_TIME) == ZERO_TIME_NS


@pytest.fixture
def local_zone_plus_one():
    """Switch the process's local zone to UTC+01:00 (POSIX TZ, no tzdata needed)."""
    mp = pytest.MonkeyPatch()
    mp.setenv("TZ", "KTW-1")
    time.tzset()
    yield
    mp.undo()
    time.tzset()


def test_format_time_defaults_to_the_local_offset(local_zone_plus_one):
    assert format_time(1772540891123456789) == "2026-03-03T13:28:11.123456789+01:00"


def test_parse_time_truncates_digits_past_nanoseconds():
    assert parse_time("1970-01-01T00:00:01.1234567891Z") == 1_123_456_789


@pytest.mark.parametrize("text", [
    "", "2026-03-03", "2026-03-03T12:28:11", "2026-03-03 12:28:11Z", "2026-13-03T12:28:11Z",
    "2026-03-03T12:28:11.Z", "2026-03-03T12:28:11+0100", "2026-03-03T12:28:11+25:00",
])
def test_parse_time_rejects_non_rfc3339(text):
    with pytest.raises(ValueError):
        parse_time(text)


@given(st.integers(min_value=-(2**62), max_value=2**62),
       st.integers(min_value=-14 * 60, max_value=14 * 60))
def test_formatted_times_parse_back(ns, offset_minutes):
    tz = dt.timezone(dt.timedelta(minutes=offset_minutes))
    assert parse_time(format_time(ns, tz)) == ns


def _go_json_float_reference(f: float) -> str:
    """Go's rule spelled out slowly: shortest round-trip digits, fixed
    notation for 1e-6 <= |f| < 1e21, else exponent with at least one digit."""
    import decimal

    d = decimal.Decimal(repr(f))
    a = abs(f)
    if a == 0 or 1e-6 <= a < 1e21:
        text = format(d.normalize(), "f")
        return text
    mantissa, _, exp = repr(f).partition("e")
    return mantissa + "e" + ("+" if int(exp) > 0 else "-") + "%d" % abs(int(exp))


def test_json_floats_match_gos_rule_across_magnitudes():
    import random

    rnd = random.Random(11)
    for _ in range(20000):
        f = rnd.choice([-1, 1]) * rnd.random() * 10.0 ** rnd.randint(-12, 25)
        if rnd.random() < 0.2:
            f = float(round(f))
        assert json_dumps(f).decode() == _go_json_float_reference(f), f


def test_json_strings_take_the_same_escapes_on_the_fast_path():
    import random

    from kapacitord_tw.gocompat import _json_string, _json_string_by_rune

    alphabet = ['a', 'Z', '0', ' ', '"', '\\', '/', '<', '>', '&', '\n', '\r', '\t', '\x00',
                '\x01', '\x1f', '\x7f', '\x08', '\x0c', 'é', '€', '𝄞', '\u2028', '\u2029',
                '\udc80', '\ud800', 'b', 'f', 'u']
    rnd = random.Random(5)
    for _ in range(20000):
        text = "".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 12)))
        assert _json_string(text) == _json_string_by_rune(text), repr(text)
