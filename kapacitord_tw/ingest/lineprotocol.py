"""InfluxDB 1.x line protocol, parsed the way Kapacitor's ``/write`` parses it.

Kapacitor hands the request body to ``models.ParsePointsWithPrecision`` of
InfluxDB 1.9 (``models/points.go``) and later reads each point's fields with
``Point.Fields()``.  Clients see that parser's quirks and error texts (the
400 body is its message), so this module reproduces its behaviour rather
than an idealised grammar.  The facts that matter:

* Lines end at ``\\n`` outside a quoted string value; a backslash followed by
  any byte (including ``\\n``) skips that byte.  ``\\r`` is an ordinary byte:
  a CRLF body fails (``invalid number``, ``bad timestamp``, ...) exactly as
  it does in the original.
* Leading spaces, tabs and NULs are skipped; a line whose first other byte
  is ``#`` is a comment; empty and blank lines are skipped.
* **Every** bad line is reported, each as ``unable to parse '<line>': <why>``,
  joined by ``\\n``; and any bad line rejects the whole body (Kapacitor's
  ``serveWriteLine`` answers 400 and writes nothing).
* Escapes: ``\\,`` ``\\"`` ``\\ `` ``\\=`` in measurements and field keys;
  ``\\,`` ``\\ `` ``\\=`` in tag keys and values; ``\\"`` ``\\\\`` in string
  field values.  Any other backslash stays as it is.
* Field values: ``1i`` (int64), ``1u`` (uint64, refused with
  ``invalid number`` unless ``allow_unsigned`` -- Kapacitor is built without
  InfluxDB's ``uint`` tag), floats (``1``, ``-1.5``, ``.5``, ``5.``, ``1e3``,
  ``1E-3``; no ``+`` sign, no NaN/Inf), booleans (``t T true True TRUE f F
  false False FALSE``) and double-quoted strings.
* The timestamp is an optional integer times the precision's unit (``u``,
  ``ms``, ``s``, ``m``, ``h``; anything else means nanoseconds); it must
  land within ``[MIN_NANO_TIME, MAX_NANO_TIME]``.  A missing timestamp is
  the server time truncated to the precision.

Parsing works on the body decoded as Latin-1 (one character per byte, so
offsets and the 65535-byte key limit are byte exact); names and values are
then turned into ``str`` as UTF-8 with ``surrogateescape`` (the project's
convention for Go strings holding invalid UTF-8).  Typical lines (no
backslashes, tabs or NULs, single spaces between sections) take a fast path
built on ``str.split`` and a few regular expressions; anything else goes
through a faithful byte-by-byte scanner, which is the reference the fast
path must agree with.  10,000 typical lines parse in about 35 ms.
"""

from __future__ import annotations

import math
import re
import sys
from itertools import chain
from operator import itemgetter
from collections.abc import Callable, Iterable

import re2

from kapacitord_tw.gocompat import go_quote
from kapacitord_tw.ingest.points import FieldValue, Point, Unsigned

__all__ = [
    "FieldDecodeError",
    "LineProtocolError",
    "MAX_KEY_LENGTH",
    "MAX_NANO_TIME",
    "MIN_NANO_TIME",
    "SeriesKeys",
    "parse_points",
    "parse_rows",
    "precision_multiplier",
    "row_steps",
]

#: Largest measurement-plus-tags key (escaped bytes) InfluxDB accepts.
MAX_KEY_LENGTH = 65535
#: Earliest and latest timestamps (ns) InfluxDB accepts; the extremes of int64 are sentinels.
MIN_NANO_TIME = -(2**63) + 2
MAX_NANO_TIME = 2**63 - 2

_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1
_UINT64_MAX = 2**64 - 1

_TIME_RANGE_MESSAGE = f"time outside range {MIN_NANO_TIME} - {MAX_NANO_TIME}"

_PRECISION_NS = {
    "u": 1_000,
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
}


def precision_multiplier(precision: str) -> int:
    """Nanoseconds per timestamp unit; unknown precisions (including ``n`` and ``""``) are 1."""
    return _PRECISION_NS.get(precision, 1)


class LineProtocolError(ValueError):
    """The body had at least one bad line; ``str()`` is InfluxDB's exact message.

    ``failures`` holds one ``unable to parse '<line>': <reason>`` per bad line,
    in body order; the message joins them with ``\\n``.  ``raw`` is the
    message as the bytes the original would send (lines can hold invalid
    UTF-8, which ``str()`` carries as ``surrogateescape`` characters).
    Kapacitor answers ``400`` with ``raw + b"\\n"``.
    """

    def __init__(self, failures: Iterable[bytes]) -> None:
        raw_failures = tuple(failures)
        self.raw = b"\n".join(raw_failures)
        self.failures = tuple(f.decode("utf-8", "surrogateescape") for f in raw_failures)
        super().__init__("\n".join(self.failures))

    def __str__(self) -> str:
        return self.args[0]


class FieldDecodeError(Exception):
    """A syntactically valid line whose fields InfluxDB cannot decode.

    InfluxDB's parser checks field syntax with one scanner and later reads
    the values with another; for a few contrived inputs (a field key ending
    in ``\\\\``) the second one cuts fields differently and fails.  The
    original then hands the earlier points of the body to its tasks and
    answers 500; kapacitord-tw answers 400 with this message and publishes
    nothing.  ``points_before`` are the points before the bad one.
    """

    def __init__(self, message: str, points_before: tuple[Point, ...],
                 count_before: int | None = None) -> None:
        super().__init__(message)
        self.points_before = points_before
        #: how many points came before the bad one (:func:`parse_rows` has no
        #: ``Point`` objects to put in ``points_before``)
        self.count_before = len(points_before) if count_before is None else count_before

    def __str__(self) -> str:
        return self.args[0]


class _LineError(Exception):
    """One line's reason for failing (the text after ``unable to parse '...': ``)."""


class _DecodeError(Exception):
    """One point's ``Fields()`` failure message."""


def parse_points(
    body: bytes,
    precision: str,
    now_ns: int,
    database: str = "",
    retention_policy: str = "",
    *,
    allow_unsigned: bool = False,
) -> list[Point]:
    """Parse a ``/write`` body into points, or raise :class:`LineProtocolError`.

    *now_ns* is the server time (ns since the epoch) given to lines without
    a timestamp, truncated to *precision* first as the original does.
    *database* and *retention_policy* are copied into every point (the HTTP
    layer substitutes the configured default retention policy for an empty
    ``rp``, as Kapacitor's task master does).  Raises
    :class:`FieldDecodeError` only for the pathological case it describes,
    and only when no line has a syntax error.
    """
    steps = parse_steps(body, precision, now_ns, database, retention_policy,
                        allow_unsigned=allow_unsigned)
    try:
        while True:
            next(steps)
    except StopIteration as done:
        return done.value


def parse_steps(
    body: bytes,
    precision: str,
    now_ns: int,
    database: str = "",
    retention_policy: str = "",
    *,
    allow_unsigned: bool = False,
    step_lines: int = 0,
):
    """:func:`parse_points` as a generator that yields ``None`` after every
    ``step_lines`` lines (never when 0) and returns the points, so a large
    body can be parsed in slices on the reactor (``task.cooperate``)
    instead of in a thread that would fight the reactor for the GIL."""
    mult = _PRECISION_NS.get(precision, 1)
    default_time = now_ns - now_ns % mult
    text = body.decode("latin-1")
    to_text = None if body.isascii() else _to_text
    fast = _FastParser(mult, default_time, database, retention_policy, to_text, allow_unsigned)
    points: list[Point] = []
    failures: list[bytes] = []
    decode_failure: tuple[int, str] | None = None
    countdown = step_lines
    for block in _split_lines(text):
        if countdown:
            countdown -= 1
            if not countdown:
                countdown = step_lines
                yield None
        line = block.lstrip(" \t\x00")
        if not line or line[0] == "#":
            continue
        if line[-1] == "\n":
            # Only a line left open by an unbalanced quote runs into the body's final newline.
            line = line[:-1]
        try:
            point = None
            if "\\" not in line and "\t" not in line and "\x00" not in line:
                point = fast.parse(line)
            if point is None:
                point = _parse_line(
                    line, mult, default_time, database, retention_policy, to_text, allow_unsigned
                )
        except _LineError as e:
            failures.append(f"unable to parse '{line}': {e.args[0]}".encode("latin-1"))
            continue
        except _DecodeError as e:
            if decode_failure is None:
                decode_failure = (len(points), e.args[0])
            continue
        points.append(point)
    if failures:
        raise LineProtocolError(failures)
    if decode_failure is not None:
        index, message = decode_failure
        raise FieldDecodeError(message, tuple(points[:index]))
    return points


def _to_text(s: str) -> str:
    """Latin-1 view of raw bytes -> the Go string as Python ``str`` (UTF-8, surrogateescape)."""
    if s.isascii():
        return s
    return s.encode("latin-1").decode("utf-8", "surrogateescape")


# ---------------------------------------------------------------------------
# Splitting the body into lines (models.scanLine)

_LINE_SPECIAL = re.compile(r'[\\ =,"\n]')


def _split_lines(text: str) -> list[str]:
    """Cut *text* at newlines that are neither escaped nor inside a quoted field value."""
    if '"' not in text and "\\" not in text:
        return text.split("\n")
    n = len(text)
    lines = []
    start = 0
    skip_to = 0
    quoted = in_fields = False
    equals = commas = 0
    for match in _LINE_SPECIAL.finditer(text):
        i = match.start()
        if i < skip_to:
            continue
        c = text[i]
        if c == "\\":
            # The original skips the next byte only when two more bytes follow.
            if i + 2 < n:
                skip_to = i + 2
            continue
        if c == " ":
            in_fields = True
            continue
        if in_fields:
            if not quoted and c == "=":
                equals += 1
                continue
            if not quoted and c == ",":
                commas += 1
                continue
            if c == '"' and equals > commas:
                quoted = not quoted
                continue
        if c == "\n" and not quoted:
            lines.append(text[start:i])
            start = i + 1
            quoted = in_fields = False
            equals = commas = 0
    if start < n:
        lines.append(text[start:])
    return lines


# ---------------------------------------------------------------------------
# Fast path: no backslashes, tabs or NULs; single spaces between sections;
# string values without backslashes.

_FAST_INT = re.compile(r"-?[0-9]+i")
_FAST_UINT = re.compile(r"[0-9]+u")
_FAST_FLOAT = re.compile(r"-?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")
_FAST_TIME = re.compile(r"-?[0-9]+")
_QUOTED_FIELD = r'[^ ,="]+=(?:"[^"]*"|[^ ,="]+)'
_QUOTED_LINE = re.compile(rf"([^ \"]+) ({_QUOTED_FIELD}(?:,{_QUOTED_FIELD})*)(?: ([^ ]+))?")
_QUOTED_FIELDS = re.compile(r'([^ ,="]+)=("[^"]*"|[^ ,="]+)')
_BOOLEANS = {
    "t": True, "T": True, "true": True, "True": True, "TRUE": True,
    "f": False, "F": False, "false": False, "False": False, "FALSE": False,
}
_SERIES_KEY_OVERHEAD = 4  # tsm1's field key separator, counted by InfluxDB's key limit
#: A field section made only of plain decimal floats (``a=1.5,b=-2,c=3.``):
#: each value is one ``float()`` call, no per-value checks.  Sixteen digits
#: at most on each side, so no value can overflow to infinity.
_PLAIN_FLOAT_FIELDS = re.compile(
    r"[A-Za-z_][A-Za-z0-9_.\-]*=-?[0-9]{1,16}(?:\.[0-9]{0,16})?"
    r"(?:,[A-Za-z_][A-Za-z0-9_.\-]*=-?[0-9]{1,16}(?:\.[0-9]{0,16})?)*"
)

#: Series keys seen in earlier bodies -> (key length, measurement, tags);
#: writers repeat their series, so most lines skip the key's parsing.  Only
#: ASCII keys are kept, and the cache is emptied when it grows past the bound.
_SERIES_CACHE: dict[str, tuple[int, str, tuple[tuple[str, str], ...]]] = {}
_SERIES_CACHE_LIMIT = 200_000


def _split_key(key: str, to_text):
    """A simple series key (no escapes) as (key length, measurement, sorted
    tags); None whenever the faithful scanner must decide (it may refuse it)."""
    if len(key) > MAX_KEY_LENGTH:
        return None
    segments = key.split(",")
    measurement = segments[0]
    if not measurement:
        return None
    pairs = []
    for segment in segments[1:]:
        tag_key, _, tag_value = segment.partition("=")
        if not tag_key or not tag_value or "=" in tag_value:
            return None
        pairs.append((tag_key, tag_value))
    if len({k for k, _ in pairs}) != len(pairs):
        return None
    if to_text is not None:
        measurement = to_text(measurement)
        pairs = [(to_text(k), to_text(v)) for k, v in pairs]
    pairs.sort()
    return len(key), measurement, tuple(pairs)


class _FastParser:
    """Parses the common, simple line; returns None whenever the faithful scanner must decide.

    It only ever accepts lines the faithful scanner accepts, with the same
    result (the test suite checks this with generated lines).
    """

    def __init__(self, mult, default_time, database, retention_policy, to_text, allow_unsigned):
        self._mult = mult
        self._default_time = default_time
        self._database = database
        self._retention_policy = retention_policy
        self._to_text = to_text
        self._allow_unsigned = allow_unsigned
        # ASCII bodies share the process-wide cache; others get their own.
        if to_text is None:
            if len(_SERIES_CACHE) > _SERIES_CACHE_LIMIT:
                _SERIES_CACHE.clear()
            self._keys = _SERIES_CACHE
        else:
            self._keys: dict[str, tuple[int, str, tuple[tuple[str, str], ...]]] = {}

    def parse(self, line: str) -> Point | None:
        if '"' in line:
            match = _QUOTED_LINE.fullmatch(line)
            if match is None:
                return None
            key, fields, stamp = match.groups()
            pairs = _QUOTED_FIELDS.findall(fields)
        else:
            parts = line.split(" ")
            if len(parts) == 2:
                key, fields = parts
                stamp = None
            elif len(parts) == 3:
                key, fields, stamp = parts
                if not stamp:
                    return None
            else:
                return None
            if (len(fields) < MAX_KEY_LENGTH - _SERIES_KEY_OVERHEAD - len(key)
                    and _PLAIN_FLOAT_FIELDS.fullmatch(fields) is not None):
                pairs = None
            else:
                pairs = [segment.split("=") for segment in fields.split(",")]
        series = self._keys.get(key)
        if series is None:
            series = self._series(key)
            if series is None:
                return None
            self._keys[key] = series
        key_length, measurement, tags = series
        if pairs is None:
            # Plain floats (the regex checked every pair): one float() each.
            values = {}
            for segment in fields.split(","):
                k, _, v = segment.partition("=")
                values[k] = float(v)
            field_values = (tuple(values.items()) if len(values) == 1
                            else tuple(sorted(values.items())))
        else:
            field_values = self._fields(pairs, MAX_KEY_LENGTH - _SERIES_KEY_OVERHEAD - key_length)
            if field_values is None:
                return None
        if stamp is None:
            time = self._default_time
        else:
            if len(stamp) > 20 or _FAST_TIME.fullmatch(stamp) is None:
                return None
            time = int(stamp) * self._mult
            if time < MIN_NANO_TIME or time > MAX_NANO_TIME:
                return None
        return Point(self._database, self._retention_policy, measurement, tags, field_values, time)

    def _series(self, key: str):
        return _split_key(key, self._to_text)

    def _fields(self, pairs, key_room: int):
        """Typed values of (key, raw value) pairs; None unless every pair is plainly valid."""
        values: dict[str, FieldValue] = {}
        to_text = self._to_text
        for pair in pairs:
            if len(pair) != 2:
                return None
            field_key, raw = pair
            if not field_key or not raw or len(field_key) > key_room:
                return None
            if raw[0] == '"':
                value = raw[1:-1] if to_text is None else to_text(raw[1:-1])
            else:
                value = self._scalar(raw)
                if value is None:
                    return None
            if to_text is not None:
                field_key = to_text(field_key)
            values[field_key] = value
        if len(values) == 1:
            return tuple(values.items())
        return tuple(sorted(values.items()))

    def _scalar(self, raw: str) -> FieldValue | None:
        last = raw[-1]
        if last == "i":
            if len(raw) > 21 or _FAST_INT.fullmatch(raw) is None:
                return None
            value = int(raw[:-1])
            return value if _INT64_MIN <= value <= _INT64_MAX else None
        if last == "u":
            if not self._allow_unsigned or len(raw) > 21 or _FAST_UINT.fullmatch(raw) is None:
                return None
            value = int(raw[:-1])
            return Unsigned(value) if value <= _UINT64_MAX else None
        value = _BOOLEANS.get(raw)
        if value is None and _FAST_FLOAT.fullmatch(raw) is not None:
            value = float(raw)
            if math.isinf(value):
                return None
        return value


# ---------------------------------------------------------------------------
# Faithful scanner (models.parsePoint and the Fields() iterator)


def _parse_line(line, mult, default_time, database, retention_policy, to_text, allow_unsigned):
    n = len(line)
    measurement_end, tags, i = _scan_key(line, n)
    key_length = i
    if key_length > MAX_KEY_LENGTH:
        raise _LineError(f"max key length exceeded: {key_length} > {MAX_KEY_LENGTH}")
    fields_start, i = _scan_fields(line, i, n, allow_unsigned)
    fields = line[fields_start:i]
    if not fields:
        raise _LineError("missing fields")
    walked = _walk_fields(fields, key_length)
    stamp_start, i = _scan_time(line, i, n)
    if stamp_start == i:
        time = default_time
    else:
        time = _parse_time(line[stamp_start:i], mult)
        for c in line[i:]:
            if c != " ":
                raise _LineError("point is invalid")
    measurement = _unescape_name(line[:measurement_end])
    field_values = _decode_fields(walked)
    if to_text is not None:
        measurement = to_text(measurement)
        tags = [(to_text(k), to_text(v)) for k, v in tags]
        field_values = {
            to_text(k): to_text(v) if type(v) is str else v for k, v in field_values.items()
        }
    tags.sort()
    return Point(
        database,
        retention_policy,
        measurement,
        tuple(tags),
        tuple(sorted(field_values.items())),
        time,
    )


def _skip_whitespace(s: str, i: int, n: int) -> int:
    while i < n and s[i] in " \t\x00":
        i += 1
    return i


def _scan_unescaped(s: str, i: int, stop: str, bad: str, bad_error: str, end_error: str) -> int:
    """The index of the first unescaped character of ``stop`` after ``i``.

    An unescaped character of ``bad`` first raises ``bad_error``; running out
    of line raises ``end_error`` (InfluxDB's scanner reports which part is
    missing, so the messages differ between a tag's key and its value).
    """
    n = len(s)
    while True:
        i += 1
        if i >= n:
            raise _LineError(end_error)
        if s[i - 1] != "\\":
            if s[i] in bad:
                raise _LineError(bad_error)
            if s[i] in stop:
                return i


def _scan_key(s: str, n: int):
    """Measurement and tags: (end of measurement, unescaped tags, index of the space after the key)."""
    # The caller stripped leading whitespace, so the key starts at 0.
    if n == 0 or s[0] == ",":
        raise _LineError("missing measurement")
    i = 0
    while True:
        i += 1
        if i >= n:
            raise _LineError("missing fields")
        if s[i - 1] == "\\":
            continue
        if s[i] == ",":
            has_tags = True
            break
        if s[i] == " ":
            has_tags = False
            break
    measurement_end = i
    raw_tags = []
    if has_tags:
        i += 1
        while True:
            key_start = i
            if i >= n or s[i] in " ,=":
                raise _LineError("missing tag key")
            i = _scan_unescaped(s, i, "=", " ,", "missing tag value", "missing tag value")
            key_end = i
            i += 1
            if i >= n or s[i] == "," or s[i] == " ":
                raise _LineError("missing tag value")
            i = _scan_unescaped(s, i, ", ", "=", "invalid tag format", "missing fields")
            raw_tags.append((s[key_start:key_end], s[key_end + 1:i]))
            if s[i] == " ":
                break
            i += 1
        if len({k for k, _ in raw_tags}) != len(raw_tags):
            raise _LineError("duplicate tags")
    tags = [(_unescape_tag(k), _unescape_tag(v)) for k, v in raw_tags]
    return measurement_end, tags, i


def _scan_fields(s: str, i: int, n: int, allow_unsigned: bool):
    """The field section's (start, end); checks every value's syntax."""
    i = _skip_whitespace(s, i, n)
    start = i
    quoted = False
    equals = commas = 0
    while i < n:
        c = s[i]
        if c == "\\" and i + 1 < n:
            i += 2
            continue
        if c == '"' and equals > commas:
            quoted = not quoted
            i += 1
            continue
        if c == "=" and not quoted:
            equals += 1
            before = s[i - 1]
            if (before == " " or before == ",") and s[i - 2] != "\\":
                raise _LineError("missing field key")
            if i + 1 >= n:
                raise _LineError("missing field value")
            following = s[i + 1]
            if following == "," or following == " ":
                raise _LineError("missing field value")
            if following in "0123456789.-Nn":
                i = _scan_number(s, i + 1, n, allow_unsigned)
                continue
            if following != '"':
                i = _scan_boolean(s, i + 1, n)
                continue
        if c == "," and not quoted:
            commas += 1
        if c == " " and not quoted:
            break
        i += 1
    if quoted:
        raise _LineError("unbalanced quotes")
    if equals == 0 or commas != equals - 1:
        raise _LineError("invalid field format")
    return start, i


def _scan_number(s: str, i: int, n: int, allow_unsigned: bool) -> int:
    start = i
    is_int = is_unsigned = False
    if s[i] == "-":
        i += 1
        if i == n:
            raise _LineError("invalid number")
    decimal = scientific = False
    while i < n:
        c = s[i]
        if c == "," or c == " ":
            break
        if c == "i" and i > start and not (is_int or is_unsigned):
            is_int = True
            i += 1
            continue
        if c == "u" and i > start and not (is_int or is_unsigned):
            is_unsigned = True
            i += 1
            continue
        if c == ".":
            if decimal:
                raise _LineError("invalid number")
            decimal = True
        if i > start and (c == "e" or c == "E"):
            scientific = True
            i += 1
            continue
        if (c == "+" or c == "-") and (s[i - 1] == "e" or s[i - 1] == "E"):
            i += 1
            continue
        if i + 2 < n and (c == "N" or c == "n"):
            raise _LineError("invalid number")
        if not ("0" <= c <= "9" or c == "."):
            raise _LineError("invalid number")
        i += 1
    if (is_int or is_unsigned) and (decimal or scientific):
        raise _LineError("invalid number")
    digits = i - start - is_int - decimal - (s[start] == "-")
    if digits == 0:
        raise _LineError("invalid number")
    if is_int:
        if s[i - 1] != "i":
            raise _LineError("invalid number")
        number = s[start:i - 1]
        if _decimal_int(number, _INT64_MIN, _INT64_MAX) is None:
            raise _LineError(
                f"unable to parse integer {number}: "
                f"strconv.ParseInt: parsing {go_quote(number)}: value out of range"
            )
    elif is_unsigned:
        if not allow_unsigned or s[i - 1] != "u" or s[start] == "-":
            raise _LineError("invalid number")
        number = s[start:i - 1]
        if _decimal_int(number, 0, _UINT64_MAX) is None:
            raise _LineError(
                f"unable to parse unsigned {number}: "
                f"strconv.ParseUint: parsing {go_quote(number)}: value out of range"
            )
    elif (scientific or i - start >= 25) and _go_float(s[start:i]) is None:
        raise _LineError("invalid float")
    return i


def _scan_boolean(s: str, i: int, n: int) -> int:
    start = i
    if s[i] not in "tTfF":
        raise _LineError("invalid boolean")
    i += 1
    while i < n and s[i] != "," and s[i] != " ":
        i += 1
    if i - start > 1 and s[start:i] not in _BOOLEANS:
        raise _LineError("invalid boolean")
    return i


def _scan_time(s: str, i: int, n: int):
    """The timestamp's (start, end): digits with an optional leading minus."""
    i = _skip_whitespace(s, i, n)
    start = i
    while i < n:
        c = s[i]
        if c == "\n" or c == " ":
            break
        if i == start and c == "-":
            i += 1
            continue
        if not "0" <= c <= "9":
            raise _LineError("bad timestamp")
        i += 1
    return start, i


def _parse_time(stamp: str, mult: int) -> int:
    value = _decimal_int(stamp, _INT64_MIN, _INT64_MAX)
    if value is None:
        reason = "invalid syntax" if stamp == "-" else "value out of range"
        raise _LineError(f"strconv.ParseInt: parsing {go_quote(stamp)}: {reason}")
    time = value * mult
    if time < MIN_NANO_TIME or time > MAX_NANO_TIME:
        raise _LineError(_TIME_RANGE_MESSAGE)
    return time


def _decimal_int(number: str, low: int, high: int) -> int | None:
    """``-?[0-9]+`` (already checked by the scanner) as an int within [low, high], else None."""
    digits = number.lstrip("-").lstrip("0")
    if not number.lstrip("-") or len(digits) > 20:
        return None
    value = int(number)
    return value if low <= value <= high else None


def _find_unescaped(s: str, stop: str, i: int) -> int:
    """Index of the first *stop* at or after *i* not preceded by a backslash, else len(s)."""
    j = s.find(stop, i)
    while j > 0 and s[j - 1] == "\\":
        j = s.find(stop, j + 1)
    return len(s) if j < 0 else j


def _field_value_end(s: str, i: int) -> int:
    """End of a field value: the first comma outside double quotes."""
    n = len(s)
    quoted = False
    while i < n:
        c = s[i]
        if c == "\\" and i + 1 < n and (s[i + 1] == '"' or s[i + 1] == "\\"):
            i += 2
            continue
        if c == '"':
            quoted = not quoted
        elif c == "," and not quoted:
            break
        i += 1
    return i


def _walk_fields(fields: str, key_length: int) -> list[tuple[str, str]]:
    """Cut the field section into raw (key, value) pairs the way ``Fields()`` will.

    This second cut ignores quotes when looking for a key's ``=``; it checks
    the series-key length limit for each field as the original does.
    """
    out = []
    n = len(fields)
    pos = 0
    while pos < n:
        equals = _find_unescaped(fields, "=", pos)
        if equals > n - 2:
            raise _LineError(f"invalid value: field-key={fields[pos:equals]}")
        end = _field_value_end(fields, equals + 1)
        key = fields[pos:equals]
        size = key_length + _SERIES_KEY_OVERHEAD + len(key)
        if size > MAX_KEY_LENGTH:
            raise _LineError(f"max key length exceeded: {size} > {MAX_KEY_LENGTH}")
        out.append((key, fields[equals + 1:end]))
        pos = end + 1
    return out


_NAME_ESCAPE = re.compile(r'\\([," =])')
_TAG_ESCAPE = re.compile(r"\\([, =])")
_STRING_ESCAPE = re.compile(r'\\([\\"])')


def _unescape_name(s: str) -> str:
    """Measurement names and field keys: ``\\,`` ``\\"`` ``\\ `` ``\\=``."""
    return _NAME_ESCAPE.sub(r"\1", s) if "\\" in s else s


def _unescape_tag(s: str) -> str:
    return _TAG_ESCAPE.sub(r"\1", s) if "\\" in s else s


_NUMERIC_START = frozenset("0123456789-.nNiIu")
_GO_INT = re.compile(r"[-+]?[0-9]+")
_GO_UINT = re.compile(r"[0-9]+")
_GO_FLOAT = re.compile(r"[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")
_GO_FLOAT_SPECIAL = re.compile(r"[-+]?(?:inf|infinity|nan)", re.IGNORECASE)
_GO_BOOLEANS = dict(_BOOLEANS, **{"1": True, "0": False})


def _go_float(s: str) -> float | None:
    """Go's ``strconv.ParseFloat(s, 64)`` for decimal input: None on syntax or range error."""
    if _GO_FLOAT.fullmatch(s):
        value = float(s)
        return None if math.isinf(value) else value
    if _GO_FLOAT_SPECIAL.fullmatch(s):
        return float(s)
    return None


def _decode_fields(walked: list[tuple[str, str]]) -> dict[str, FieldValue]:
    """The field map Kapacitor gets from ``Point.Fields()``; later duplicates win."""
    values: dict[str, FieldValue] = {}
    for raw_key, raw in walked:
        key = _unescape_name(raw_key)
        if not key or not raw:
            continue  # the original skips empty keys and empty values
        values[key] = _decode_value(key, raw)
    return values


def _decode_value(key: str, raw: str) -> FieldValue:
    first = raw[0]
    if first == '"':
        return _STRING_ESCAPE.sub(r"\1", raw[1:-1])
    if first in _NUMERIC_START:
        last = raw[-1]
        if last == "i":
            number = raw[:-1]
            if _GO_INT.fullmatch(number):
                value = _decimal_int(number.lstrip("+"), _INT64_MIN, _INT64_MAX)
                if value is not None:
                    return value
                reason = "value out of range"
            else:
                reason = "invalid syntax"
            raise _decode_error(key, "integer", number, "ParseInt", reason)
        if last == "u":
            number = raw[:-1]
            if _GO_UINT.fullmatch(number):
                value = _decimal_int(number, 0, _UINT64_MAX)
                if value is not None:
                    return Unsigned(value)
                reason = "value out of range"
            else:
                reason = "invalid syntax"
            raise _decode_error(key, "unsigned", number, "ParseUint", reason)
        value = _go_float(raw)
        if value is not None:
            return value
        reason = "value out of range" if _GO_FLOAT.fullmatch(raw) else "invalid syntax"
        raise _decode_error(key, "floating point", raw, "ParseFloat", reason)
    boolean = _GO_BOOLEANS.get(raw)
    if boolean is None:
        raise _decode_error(key, "bool", raw, "ParseBool", "invalid syntax")
    return boolean


def _decode_error(key: str, kind: str, raw: str, func: str, reason: str) -> _DecodeError:
    quoted = go_quote(raw.encode("latin-1"))
    key_text = _to_text(key)
    return _DecodeError(
        f"unable to unmarshal field {key_text}: unable to parse {kind} value {quoted}: "
        f"strconv.{func}: parsing {quoted}: {reason}"
    )



# ---------------------------------------------------------------------------
# Rows: the same parse, straight to (series, fields, time), no Point objects
#
# The ingest workers and the engine take a write as rows (ingest.rows).  A
# "plain" body -- ASCII, no quotes, escapes, tabs, NULs, comments, leading
# or extra spaces, exponents or long numbers -- is recognised by one RE2
# match over the whole body (linear, about 1,500 instructions a line; a
# second one tells bodies of float fields only), after which each line only
# needs ``str.split`` and conversions; a field section's layout (its keys,
# sorted) is cached.  Every line of another body is checked on its own, and
# any line the shortcut cannot decide (duplicate tags, a time out of range,
# a very long line) goes through the code of :func:`parse_points`, so
# acceptance and messages are identical (the tests compare the two).

_NAME = r'[^ ,="\\\t\x00\n]'
_PLAIN_KEY = rf'[^ ,="\\\t\x00\n#]{_NAME}*+(?:,{_NAME}++={_NAME}++)*+'
_PLAIN_FLOAT = r"-?(?:[0-9]{1,16}(?:\.[0-9]{0,16})?|\.[0-9]{1,16})"
_PLAIN_OTHER = r"-?[0-9]{1,18}i|true|True|TRUE|false|False|FALSE|[tTfF]"
_PLAIN_UNSIGNED = r"[0-9]{1,19}u"
# The longest alternative first: the per-line pattern's repetitions are
# possessive, so the first value that matches is the only one tried.


_PLAIN_NAME = re.compile(rf"{_NAME}+")


def _plain_line(value: str) -> str:
    field = rf"{_NAME}++=(?:{value})"
    return rf"{_PLAIN_KEY} {field}(?:,{field})*+(?: -?[0-9]{{1,19}})?"


def _whole_body(line: str):
    """RE2 (no backtracking) over the body's bytes: lines, empty lines allowed."""
    options = re2.Options()
    options.encoding = re2.Options.Encoding.LATIN1
    options.never_capture = True  # RE2's default memory bound (8 MiB) is plenty
    line = line.replace("*+", "*").replace("++", "+")  # the same language
    return re2.compile(rf"(?:(?:{line})?\n)*(?:{line})?".encode("latin-1"), options)


#: allow_unsigned -> (one line, a body of plain lines, a body of float fields only)
_PLAIN = {
    unsigned: (
        re.compile(_plain_line(values)),
        _whole_body(_plain_line(values)),
        _whole_body(_plain_line(_PLAIN_FLOAT)),
    )
    for unsigned, values in (
        (False, f"{_PLAIN_OTHER}|{_PLAIN_FLOAT}"),
        (True, f"{_PLAIN_UNSIGNED}|{_PLAIN_OTHER}|{_PLAIN_FLOAT}"),
    )
}
#: A plain line this long might break a key-length limit: the scanner decides.
_LONG_LINE = MAX_KEY_LENGTH - 1000
_FLOAT_END = frozenset("0123456789.")
#: Field layouts kept (keys in line order -> sorted keys and value positions).
_LAYOUT_LIMIT = 10_000
#: Sets of wanted measurements whose keys' handles are kept (they change
#: only when tasks do; each table is as large as ``raw``).
_WANTED_LIMIT = 8
#: Projections whose layouts are kept (one per set of fields the tasks read).
_PROJECTION_LIMIT = 1_000


def _line_pieces(body: bytes, size: int = 1 << 20):
    """The lines of a plain (ASCII) body as text, a megabyte at a time: a
    25 MiB body is never all in memory as strings at once."""
    start = 0
    end = len(body)
    while start < end:
        cut = body.find(b"\n", start + size)
        if cut < 0:
            cut = end
        yield body[start:cut].decode("latin-1").split("\n")
        start = cut + 1


class SeriesKeys:
    """The series and field layouts a parser has seen, so repeating them is cheap.

    ``make(measurement, tags)`` turns a new series into its *handle* (a
    worker's series number, the daemon's shared
    :class:`~kapacitord_tw.ingest.rows.Series`) the first time one of its
    points is kept.  ``raw`` maps a line's raw ASCII key text to ``[handle
    or None, measurement, tags]``; ``by_tags`` maps
    ``(measurement, sorted tags)`` to the handle, so two spellings of one
    series (tag order) share it.  The owner bounds it: :meth:`full`, then
    :meth:`reset` between writes.
    """

    def __init__(self, make: Callable[[str, tuple], object], limit: int = 100_000):
        self.make = make
        self.limit = limit
        self.raw: dict[str, list] = {}
        self.by_tags: dict[tuple[str, tuple], object] = {}
        self.layouts: dict[tuple[str, ...], tuple] = {}
        #: wanted measurements -> raw key -> handle or False (see :meth:`wanted_handles`)
        self.wanted: dict[frozenset, dict] = {}
        self.handle_measurements: dict = {}
        #: projection -> its own layouts (see :meth:`projected_layouts`)
        self.projections: dict[frozenset, dict] = {}

    def full(self) -> bool:
        return len(self.raw) + len(self.by_tags) >= self.limit

    def reset(self) -> None:
        self.raw = {}
        self.by_tags = {}
        self.wanted = {}
        self.handle_measurements = {}

    def wanted_handles(self, wanted: frozenset) -> dict:
        """Raw key -> its handle, or False when its measurement is not in
        ``wanted`` (a columnar parse fills it; ``handle_measurements`` then
        has each handle's measurement): bounded as ``raw`` is."""
        table = self.wanted.get(wanted)
        if table is None:
            if len(self.wanted) >= _WANTED_LIMIT:
                self.wanted = {}
            table = self.wanted[wanted] = {}
        return table

    def handle(self, measurement: str, tags: tuple) -> object:
        probe = (measurement, tags)
        handle = self.by_tags.get(probe)
        if handle is None:
            handle = self.by_tags[probe] = self.make(measurement, tags)
        return handle

    def new_key(self, key: str):
        """A raw key not seen yet: its entry in ``raw``, or None when the
        faithful scanner must decide."""
        split = _split_key(key, None)
        if split is None:
            return None
        entry = self.raw[key] = [None, sys.intern(split[1]), split[2]]
        return entry

    def layout(self, keys: tuple[str, ...]):
        """Field keys in line order -> (unique keys sorted, interned; a getter of
        their values from the split ``[k, v, k, v, ...]`` section, a tuple;
        the last duplicate wins as in the field map)."""
        if len(self.layouts) >= _LAYOUT_LIMIT:
            self.layouts = {}
        entry = self.layouts[keys] = _layout(keys, None)
        return entry

    def projected_layouts(self, kept: frozenset) -> dict:
        """The layouts of the field sections whose values are kept only for
        the names in ``kept`` (a projection): keys in line order -> layout."""
        table = self.projections.get(kept)
        if table is None:
            if len(self.projections) >= _PROJECTION_LIMIT:
                self.projections = {}
            table = self.projections[kept] = {}
        return table


def _layout(keys: tuple[str, ...], kept):
    """:meth:`SeriesKeys.layout`, keeping only the names in ``kept`` (all when None)."""
    last = {k: 2 * i + 1 for i, k in enumerate(keys)}
    names = sorted(k for k in last if kept is None or k in kept)
    positions = [last[k] for k in names]
    if not positions:
        def values(segments):
            return ()
    elif len(positions) == 1:
        position = positions[0]

        def values(segments):
            return (segments[position],)
    else:
        values = itemgetter(*positions)
    return tuple(sys.intern(k) for k in names), values


def _single_field(kept: frozenset):
    """How :func:`_last_value` finds the one kept field: ``()`` when none is
    kept, False when the shortcut does not apply (several names, or a name
    no plain line can hold, which only the scanner's unescaping can match)."""
    if not kept:
        return ()
    if len(kept) > 1:
        return False
    (name,) = kept
    if _PLAIN_NAME.fullmatch(name) is None:
        return False
    return sys.intern(name), name + "=", len(name) + 1


def _last_value(section: str, single: tuple[str, str, int], floats: bool) -> dict:
    """The field map of a checked plain field section, projected to one name:
    its last ``name=`` at a field's start (no value holds ``=`` or ``,``, and
    two occurrences cannot overlap), so the last duplicate wins as unprojected."""
    name, probe, skip = single
    at = section.rfind(probe)
    while at > 0 and section[at - 1] != ",":
        at = section.rfind(probe, 0, at)
    if at < 0:
        return {}
    end = section.find(",", at)
    value = section[at + skip:end] if end >= 0 else section[at + skip:]
    if floats:
        return {name: float(value)}
    last = value[-1]
    if last in _FLOAT_END:
        return {name: float(value)}
    if last == "i":
        return {name: int(value[:-1])}
    if last == "u":
        return {name: Unsigned(value[:-1])}
    return {name: _BOOLEANS[value]}


def parse_rows(
    body: bytes,
    precision: str,
    now_ns: int,
    keys: SeriesKeys | None = None,
    *,
    wanted=True,
    allow_unsigned: bool = False,
    fields=None,
) -> tuple[list, int]:
    """:func:`parse_points` as ``(rows, count)``: ``rows`` are ``(handle,
    fields dict sorted by key, time)`` of the points whose measurement is
    ``wanted`` (``True``: all; a set of names; ``None``: none, the body is
    only checked), ``count`` every point of the body.  Same errors; a
    :class:`FieldDecodeError` has ``count_before`` and no ``points_before``.
    Handles come from ``keys`` (by default new shared ``Series``)."""
    if keys is None:
        from kapacitord_tw.ingest.rows import SeriesTable

        keys = SeriesKeys(SeriesTable().intern)
    steps = row_steps(body, precision, now_ns, keys, wanted=wanted,
                      allow_unsigned=allow_unsigned, chunk_rows=1 << 62, fields=fields)
    rows: list = []
    try:
        while True:
            rows.extend(next(steps))
    except StopIteration as done:
        return rows, done.value


def row_steps(
    body: bytes,
    precision: str,
    now_ns: int,
    keys: SeriesKeys,
    *,
    wanted=True,
    allow_unsigned: bool = False,
    chunk_rows: int = 1000,
    chunk_chars: int | None = None,
    step_lines: int = 0,
    fields=None,
):
    """:func:`parse_rows` as a generator: yields the rows in lists of at most
    ``chunk_rows`` rows and about ``chunk_chars`` characters of their lines
    (a worker's frames), and, when ``step_lines``, a list -- maybe empty --
    after that many lines (cooperative slices on the reactor); returns the
    count.  Raises at the end, so rows already yielded must be dropped when
    it does.  ``fields`` maps a measurement to the only field names its rows
    need (what the tasks read); every line is still checked whole."""
    mult = _PRECISION_NS.get(precision, 1)
    default_time = now_ns - now_ns % mult
    ascii_body = body.isascii()
    plain_line, plain_body, float_body = _PLAIN[bool(allow_unsigned)]
    floats = checked = False
    if ascii_body:
        floats = checked = float_body.fullmatch(body) is not None
        if not checked:
            checked = plain_body.fullmatch(body) is not None
    if checked:
        lines = chain.from_iterable(_line_pieces(body))
    else:
        text = body.decode("latin-1")
        lines = _split_lines(text)
        del text
    del body  # the caller may let go of it too (a worker does)
    to_text = None if ascii_body else _to_text
    every = wanted is True
    keep = wanted is not None
    #: measurement -> the only fields kept of its points (the rest are checked, not built)
    projection = fields or None
    tables: dict = {}
    singles: dict = {}
    raw = keys.raw
    new_key = keys.new_key
    layouts = keys.layouts
    new_layout = keys.layout
    intern = sys.intern
    float_end = _FLOAT_END
    booleans = _BOOLEANS
    fast = None
    rows: list = []
    count = 0
    failures: list[bytes] = []
    decode_failure: tuple[int, str] | None = None
    countdown = step_lines
    # One budget for both bounds: a row costs its line plus an equal share
    # (lines are never empty, so no chunk holds more than chunk_rows rows).
    if chunk_chars is None:
        chunk_chars = chunk_rows << 20
    row_cost = max(1, chunk_chars // chunk_rows)
    budget = 0
    for block in lines:
        if countdown:
            countdown -= 1
            if not countdown:
                countdown = step_lines
                yield rows
                rows = []
                budget = 0
        if checked:
            if not block:
                continue
            line = block
            simple = True
        else:
            line = block.lstrip(" \t\x00")
            if not line or line[0] == "#":
                continue
            if line[-1] == "\n":
                line = line[:-1]
            simple = line.isascii() and plain_line.fullmatch(line) is not None
        if simple and len(line) < _LONG_LINE:
            # The plain grammar holds: only the series and the time can
            # still be refused, and those lines go to the scanner below.
            parts = line.split(" ")
            entry = raw.get(parts[0])
            if entry is None:
                entry = new_key(parts[0])
            if entry is not None:
                if len(parts) == 3:
                    time = int(parts[2]) * mult
                    if time < MIN_NANO_TIME or time > MAX_NANO_TIME:
                        entry = None
                else:
                    time = default_time
            if entry is not None:
                count += 1
                if keep and (every or entry[1] in wanted):
                    handle = entry[0]
                    if handle is None:
                        handle = entry[0] = keys.handle(entry[1], entry[2])
                    fields = None
                    if projection is not None:
                        kept = projection.get(entry[1])
                        single = singles.get(kept) if kept is not None else False
                        if single is None:
                            single = singles[kept] = _single_field(kept)
                        if single is not False:
                            # One field or none kept (the usual task): found
                            # from the end without splitting the section.
                            fields = _last_value(parts[1], single, floats) if single else {}
                    if fields is None:
                        layout = None
                        segments = parts[1].replace("=", ",").split(",")
                        if projection is not None and kept is not None:
                            # The grammar is checked: skipped values need no converting.
                            names = tuple(segments[0::2])
                            table = tables.get(kept)
                            if table is None:
                                table = tables[kept] = keys.projected_layouts(kept)
                            layout = table.get(names)
                            if layout is None:
                                if len(table) >= _LAYOUT_LIMIT:
                                    table.clear()  # a body of ever-new field keys
                                layout = table[names] = _layout(names, kept)
                        if layout is None and len(segments) == 2:
                            value = segments[1]
                            if floats:
                                value = float(value)
                            else:
                                last = value[-1]
                                if last in float_end:
                                    value = float(value)
                                elif last == "i":
                                    value = int(value[:-1])
                                elif last == "u":
                                    value = Unsigned(value[:-1])
                                else:
                                    value = booleans[value]
                            fields = {intern(segments[0]): value}
                        else:
                            if layout is None:
                                names = tuple(segments[0::2])
                                layout = layouts.get(names)
                                if layout is None:
                                    layout = new_layout(names)
                            if floats:
                                fields = dict(zip(layout[0], map(float, layout[1](segments))))
                            else:
                                values = []
                                for value in layout[1](segments):
                                    last = value[-1]
                                    if last in float_end:
                                        values.append(float(value))
                                    elif last == "i":
                                        values.append(int(value[:-1]))
                                    elif last == "u":
                                        values.append(Unsigned(value[:-1]))
                                    else:
                                        values.append(booleans[value])
                                fields = dict(zip(layout[0], values))
                    rows.append((handle, fields, time))
                    budget += row_cost + len(line)
                    if budget >= chunk_chars:
                        yield rows
                        rows = []
                        budget = 0
                continue
        # Anything else: exactly parse_points' path.
        if fast is None:
            fast = _FastParser(mult, default_time, "", "", to_text, allow_unsigned)
        try:
            point = None
            if "\\" not in line and "\t" not in line and "\x00" not in line:
                point = fast.parse(line)
            if point is None:
                point = _parse_line(line, mult, default_time, "", "", to_text, allow_unsigned)
        except _LineError as e:
            failures.append(f"unable to parse '{line}': {e.args[0]}".encode("latin-1"))
            keep = False
            rows = []
            continue
        except _DecodeError as e:
            if decode_failure is None:
                decode_failure = (count, e.args[0])
            keep = False
            rows = []
            continue
        count += 1
        if keep and (every or point.measurement in wanted):
            handle = keys.handle(point.measurement, point.tags)
            kept = None if projection is None else projection.get(point.measurement)
            rows.append((handle, {intern(k): v for k, v in point.fields
                                  if kept is None or k in kept}, point.time))
            budget += row_cost + len(line)
            if budget >= chunk_chars:
                yield rows
                rows = []
                budget = 0
    if failures:
        raise LineProtocolError(failures)
    if decode_failure is not None:
        index, message = decode_failure
        raise FieldDecodeError(message, (), count_before=index)
    if rows:
        yield rows
    return count
