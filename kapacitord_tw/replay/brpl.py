"""Kapacitor's batch recording file (``<id>.brpl``).

A zip archive with one entry per query node of the task, named ``0``,
``1``, ... in the order of the nodes; each entry is a stream of batches as
Go's ``json.Encoder`` writes an ``edge.BufferedBatchMessage``: one JSON
object a line, ``{"name", "tmax", "group", "byname", "tags", "points":
[{"fields", "tags", "time"}]}`` with Go's ``omitempty`` rules.  A recording
made by the original replays here and the other way round.  A file that is
not a zip archive is read as one stream of batches (the original's
``integrations/testdata/<test>.N.brpl`` files are such streams), and
objects may span lines, as Go's decoder allows.

Reading is incremental and bounded: :class:`BatchStream` decodes at most
``limit`` bytes of JSON per call, and a single batch larger than
:data:`MAX_BATCH_BYTES` is refused, so neither a large file nor a small
zip that inflates hugely sits decoded in memory.
"""

from __future__ import annotations

import codecs
import datetime as _dt
import functools
import json
import os
import re
import time
import zipfile
from typing import List

from kapacitord_tw import gocompat
from kapacitord_tw.engine.messages import Batch, BatchPoint
from kapacitord_tw.replay.srpl import RecordingFormatError

ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")
#: The largest JSON text of one batch a replay accepts (as the InfluxDB client's answers).
MAX_BATCH_BYTES = 256 * 1024 * 1024
_CHUNK = 256 * 1024
#: Entries (query nodes) a batch recording may have.
MAX_ENTRIES = 1024
_UTC = _dt.timezone.utc


# ------------------------------------------------------------------ writing


def _time(ns: int) -> str:
    """Go's ``time.RFC3339Nano`` of a UTC time (the seconds part is cached per second)."""
    secs, nanos = divmod(ns, 1_000_000_000)
    try:
        base = _second(secs)
    except (OverflowError, OSError, ValueError):
        return gocompat.format_time(ns, _UTC)
    if nanos:
        return f"{base}.{nanos:09d}".rstrip("0") + "Z"
    return base + "Z"


@functools.lru_cache(maxsize=1024)
def _second(secs: int) -> str:
    if not -62135596800 <= secs <= 253402300799:  # years 1 to 9999
        raise ValueError(secs)
    return "%04d-%02d-%02dT%02d:%02d:%02d" % time.gmtime(secs)[:6]


@functools.lru_cache(maxsize=4096)
def _key(text: str) -> str:
    return gocompat.json_dumps(text).decode("utf-8", "surrogatepass")


def _value(value) -> str:
    """Go's ``encoding/json`` of a field value (fast paths for the usual cases)."""
    kind = type(value)
    if kind is float:
        text = repr(value)
        if "e" in text or "n" in text:  # exponent form, nan, inf: Go's rules
            return gocompat.json_dumps(value).decode()
        return text[:-2] if text.endswith(".0") else text
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return str(value)
    return gocompat.json_dumps(value).decode("utf-8", "surrogatepass")


def _map(values, encode) -> str:
    """A Go map: keys sorted; ``null`` when there is none."""
    if not values:
        return "null"
    return "{" + ",".join(_key(k) + ":" + encode(values[k]) for k in sorted(values)) + "}"


def encode_batch_pieces(batch: Batch, points_per_piece: int = 1000):
    """The JSON line of a batch in pieces of at most ``points_per_piece``
    points each, so a large batch can be encoded a slice at a time."""
    head = ['{']
    if batch.name:
        head.append('"name":' + _key(batch.name) + ",")
    head.append('"tmax":"' + _time(batch.tmax) + '"')
    if batch.group:
        head.append(',"group":' + _key(batch.group))
    if batch.by_name:
        head.append(',"byname":true')
    if batch.tags:
        head.append(',"tags":' + _map(batch.tags, _key))
    points = batch.points
    if not points:
        yield ("".join(head) + "}\n").encode("utf-8", "surrogatepass")
        return
    head.append(',"points":[')
    yield "".join(head).encode("utf-8", "surrogatepass")
    tags_of, tags_text = None, "null"
    #: the fields' keys as they come -> (key, '"key":') in Go's (sorted) order
    layouts = {}
    value = _value
    for start in range(0, len(points), points_per_piece):
        out = []
        for p in points[start:start + points_per_piece]:
            if p.tags is not tags_of:
                tags_of, tags_text = p.tags, _map(p.tags, _key)
            fields = p.fields
            keys = tuple(fields)
            layout = layouts.get(keys)
            if layout is None:
                layout = layouts[keys] = [(k, _key(k) + ":") for k in sorted(keys)]
            fields_text = ("{" + ",".join([prefix + value(fields[k]) for k, prefix in layout])
                           + "}") if layout else "null"
            out.append('{"fields":' + fields_text + ',"tags":' + tags_text
                       + ',"time":"' + _time(p.time) + '"}')
        text = ",".join(out)
        yield (("," + text) if start else text).encode("utf-8", "surrogatepass")
    yield b"]}\n"


def encode_batch(batch: Batch) -> bytes:
    """One line of a batch recording, byte for byte what Kapacitor writes
    (``json.Encoder`` of an ``edge.BufferedBatchMessage``)."""
    return b"".join(encode_batch_pieces(batch))


class BatchWriter:
    """Writes ``<path>.tmp`` entry by entry; :meth:`finish` syncs it and renames
    it into place, so the recording's file appears whole or not at all."""

    def __init__(self, path: str):
        self.path = path
        self._tmp = path + ".tmp"
        self._zip = zipfile.ZipFile(self._tmp, "w", compression=zipfile.ZIP_DEFLATED,
                                    allowZip64=True)
        self._entry = None

    def begin(self, index: int) -> None:
        """Start the entry of the ``index``-th query node (ends the previous one)."""
        self._close_entry()
        self._entry = self._zip.open(str(index), "w", force_zip64=True)

    def write(self, data: bytes) -> None:
        self._entry.write(data)

    def _close_entry(self) -> None:
        if self._entry is not None:
            self._entry.close()
            self._entry = None

    def finish(self) -> int:
        """Close, fsync and rename (call off the reactor); returns the file's size."""
        self._close_entry()
        self._zip.close()
        with open(self._tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(self._tmp, self.path)
        return os.path.getsize(self.path)

    def abort(self) -> None:
        try:
            self._close_entry()
            self._zip.close()
        except Exception:
            pass
        try:
            os.remove(self._tmp)
        except FileNotFoundError:
            pass


# ------------------------------------------------------------------ reading


def _bad(detail: str) -> RecordingFormatError:
    return RecordingFormatError(f"invalid batch recording: {detail}")


_UTC_TIME = re.compile(r"(\d{4}-\d\d-\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?Z", re.ASCII)
_EPOCH_DAY = _dt.date(1970, 1, 1)


@functools.lru_cache(maxsize=1024)
def _days(date: str) -> int:
    return (_dt.date.fromisoformat(date) - _EPOCH_DAY).days


def _parse_time(value, what: str) -> int:
    """RFC 3339 to ns; the UTC form Kapacitor writes takes a fast path (a
    recording holds one time per point), anything else gocompat's parser."""
    if value is None:
        return gocompat.ZERO_TIME_NS
    if not isinstance(value, str):
        raise _bad(f"{what} is not a time")
    m = _UTC_TIME.fullmatch(value)
    if m is not None:
        date, hour, minute, second, frac = m.groups()
        hour, minute, second = int(hour), int(minute), int(second)
        if hour < 24 and minute < 60 and second < 60:
            try:
                days = _days(date)
            except ValueError:
                pass
            else:
                ns = (days * 86400 + hour * 3600 + minute * 60 + second) * 1_000_000_000
                return ns + int(frac.ljust(9, "0")) if frac else ns
    try:
        return gocompat.parse_time(value)
    except ValueError as e:
        raise _bad(str(e)) from None


def _string_map(value, what: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise _bad(f"{what} are not a map of strings")
    return value


def decode_batch(obj) -> Batch:
    """A Batch from one decoded JSON object (numbers become floats, as Go's
    ``interface{}`` decoding makes them; a point without tags has its batch's)."""
    if not isinstance(obj, dict):
        raise _bad("a batch is not a JSON object")
    name = obj.get("name") or ""
    if not isinstance(name, str):
        raise _bad("name is not a string")
    tags = _string_map(obj.get("tags"), "tags")
    points = []
    raw_points = obj.get("points") or []
    if not isinstance(raw_points, list):
        raise _bad("points are not a list")
    for raw in raw_points:
        if not isinstance(raw, dict):
            raise _bad("a point is not a JSON object")
        fields = raw.get("fields") or {}
        if not isinstance(fields, dict):
            raise _bad("fields are not a JSON object")
        for key, value in fields.items():
            if type(value) is int:  # Go decodes every JSON number as a float64
                fields[key] = float(value)
        point_tags = _string_map(raw.get("tags"), "point tags") or tags
        points.append(BatchPoint(_parse_time(raw.get("time"), "a point's time"), fields,
                                 point_tags))
    return Batch(name, tags, bool(obj.get("byname")), _parse_time(obj.get("tmax"), "tmax"),
                 points)


class BatchStream:
    """The batches of one entry (or plain file), decoded ``limit`` bytes at a time.

    Batches without points are skipped, as Kapacitor's reader skips them.
    """

    def __init__(self, fileobj):
        self._file = fileobj
        self._text = codecs.getincrementaldecoder("utf-8")("replace")
        self._buf = ""
        self._pos = 0
        self._eof = False
        self._want = _CHUNK
        self._decoder = json.JSONDecoder()
        self.done = False
        #: characters of JSON decoded so far
        self.consumed = 0

    def _fill(self, size: int) -> None:
        try:
            data = self._file.read(size)
        except (OSError, EOFError, zipfile.BadZipFile) as e:
            raise RecordingFormatError(f"read replay file failed: {e}") from None
        if self._pos:
            self._buf = self._buf[self._pos:]
            self._pos = 0
        self._buf += self._text.decode(data, final=not data)
        if not data:
            self._eof = True

    def _skip_space(self) -> None:
        buf, pos, n = self._buf, self._pos, len(self._buf)
        while pos < n and buf[pos] in " \t\r\n":
            pos += 1
        self._pos = pos

    def _next(self):
        """The next decoded JSON value, or ``None`` at the end."""
        want = self._want
        while True:
            self._skip_space()
            if self._pos >= len(self._buf):
                if self._eof:
                    return None
                self._fill(_CHUNK)
                continue
            try:
                value, end = self._decoder.raw_decode(self._buf, self._pos)
            except json.JSONDecodeError as e:
                if self._eof:
                    raise _bad(str(e)) from None
                # Most likely cut short by the chunk: read more (twice as much each
                # time, so a large object costs a few passes, not one per chunk).
                if len(self._buf) - self._pos > MAX_BATCH_BYTES:
                    raise _bad(f"a batch is larger than {MAX_BATCH_BYTES} bytes") from None
                self._fill(want)
                want *= 2
                continue
            self.consumed += end - self._pos
            self._pos = end
            return value

    def read(self, limit: int) -> List[Batch]:
        """Batches decoded from about ``limit`` bytes of JSON; ``[]`` once done."""
        out: List[Batch] = []
        start = self.consumed
        while self.consumed - start < limit:
            value = self._next()
            if value is None:
                self.done = True
                break
            batch = decode_batch(value)
            if batch.points:
                out.append(batch)
        return out

    def close(self) -> None:
        self._file.close()


class BatchFile:
    """A batch recording opened for replay: :attr:`streams` in entry order."""

    def __init__(self, path: str):
        raw = open(path, "rb")
        try:
            magic = raw.read(4)
            raw.seek(0)
            if magic in ZIP_MAGICS:
                try:
                    self._zip = zipfile.ZipFile(raw)
                    entries = self._zip.infolist()
                    if len(entries) > MAX_ENTRIES:
                        raise RecordingFormatError(
                            f"invalid batch recording: more than {MAX_ENTRIES} entries")
                    self.streams = [BatchStream(self._zip.open(info)) for info in entries]
                except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError,
                        RuntimeError) as e:
                    raise RecordingFormatError(f"zip: {e}") from None
            else:
                self._zip = None
                self.streams = [BatchStream(raw)]
        except BaseException:
            raw.close()
            raise
        self._raw = raw

    def close(self) -> None:
        if self._raw.closed:
            return
        for stream in self.streams:
            try:
                stream.close()
            except Exception:
                pass
        if self._zip is not None:
            self._zip.close()
        self._raw.close()
