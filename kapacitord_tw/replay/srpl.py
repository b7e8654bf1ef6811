"""Kapacitor's stream recording file (``<id>.srpl``): gzip'd records of three lines.

Each point is written as its database, its retention policy and the point
in line protocol with nanosecond timestamps (``replay.go``'s
``WritePointForRecording``), so a recording made by the original replays
here and the other way round.  Files that are not gzip'd (the original's
``integrations/testdata/*.srpl``) are read as plain text.

Reading is incremental: :class:`StreamReader` hands out the points of at
most ``limit`` records per call, so a replay can run in slices and a large
file never sits decoded in memory.
"""

from __future__ import annotations

import gzip
import io
import os
from decimal import Decimal
from typing import List, Optional, Tuple

from kapacitord_tw.engine.messages import NO_DIMENSIONS, Point
from kapacitord_tw.ingest.lineprotocol import FieldDecodeError, LineProtocolError, parse_points
from kapacitord_tw.ingest.points import Unsigned

STREAM_EXT = ".srpl"
BATCH_EXT = ".brpl"
GZIP_MAGIC = b"\x1f\x8b"
#: Go's ``gzip.DefaultCompression``.
COMPRESS_LEVEL = 6


class RecordingFormatError(ValueError):
    """The file is not a stream recording; the text is the replay's error."""


# ------------------------------------------------------------------ writing


def _escape(text: str, specials: str) -> str:
    if not any(c in text for c in specials + "\\"):
        return text
    for c in specials:
        text = text.replace(c, "\\" + c)
    return text


def _field_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Unsigned):
        return f"{int(value)}u"
    if isinstance(value, int):
        return f"{value}i"
    if isinstance(value, float):
        # Go's strconv.AppendFloat(v, 'f', -1, 64): shortest digits, no exponent.
        text = format(Decimal(repr(value)), "f")
        return text[:-2] if text.endswith(".0") else text
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


def encode_point(database: str, retention_policy: str, measurement: str,
                 tags, fields, time_ns: int) -> bytes:
    """One record: ``db\\nrp\\n<line protocol>\\n``; ``tags``/``fields`` are (key, value) pairs."""
    parts = [_escape(measurement, ", ")]
    for key, value in sorted(tags):
        if value == "":
            continue
        parts.append(f",{_escape(key, ', =')}={_escape(value, ', =')}")
    field_text = ",".join(f"{_escape(k, ', =')}={_field_value(v)}" for k, v in sorted(fields))
    line = f"{database}\n{retention_policy}\n{''.join(parts)} {field_text} {time_ns}\n"
    return line.encode("utf-8", "surrogateescape")


class StreamWriter:
    """Appends records to ``<path>.tmp``; :meth:`finish` syncs it and renames it
    into place, so the recording's file appears whole or not at all."""

    def __init__(self, path: str):
        self.path = path
        self._tmp = path + ".tmp"
        self._raw = open(self._tmp, "wb")
        self._gz = gzip.GzipFile(fileobj=self._raw, mode="wb", compresslevel=COMPRESS_LEVEL)
        self.points = 0

    def write(self, records: bytes, count: int) -> None:
        self._gz.write(records)
        self.points += count

    def finish(self) -> int:
        """Close, fsync and rename (call off the reactor); returns the file's size."""
        self._gz.close()
        self._raw.flush()
        os.fsync(self._raw.fileno())
        self._raw.close()
        os.replace(self._tmp, self.path)
        return os.path.getsize(self.path)

    def abort(self) -> None:
        try:
            self._gz.close()
        except Exception:
            pass
        self._raw.close()
        try:
            os.remove(self._tmp)
        except FileNotFoundError:
            pass


# ------------------------------------------------------------------ reading


class StreamReader:
    """Points of a stream recording, ``limit`` records at a time."""

    def __init__(self, path: str, now_ns: int):
        raw = open(path, "rb")
        if raw.read(2) == GZIP_MAGIC:
            raw.seek(0)
            self._file = io.BufferedReader(gzip.GzipFile(fileobj=raw, mode="rb"))
        else:
            raw.seek(0)
            self._file = raw
        self._raw = raw
        self._now = now_ns
        self.size = os.fstat(raw.fileno()).st_size
        self.done = False

    @property
    def position(self) -> int:
        """Bytes of the (compressed) file read so far: the replay's progress."""
        return self._raw.tell()

    def _line(self) -> Optional[bytes]:
        line = self._file.readline()
        if not line:
            return None
        return line[:-1] if line.endswith(b"\n") else line

    def read(self, limit: int) -> List[Point]:
        """Up to ``limit`` points; an empty list once the file is done."""
        out: List[Point] = []
        run: List[bytes] = []
        run_dbrp: Optional[Tuple[bytes, bytes]] = None
        try:
            for _ in range(limit):
                db = self._line()
                if db is None:
                    self.done = True
                    break
                rp = self._line()
                line = self._line() if rp is not None else None
                if line is None:
                    raise RecordingFormatError(
                        "invalid replay file format, expected another line")
                if run and run_dbrp != (db, rp):
                    out.extend(self._parse(run, run_dbrp))
                    run = []
                run_dbrp = (db, rp)
                run.append(line)
        except (OSError, EOFError, gzip.BadGzipFile) as e:
            raise RecordingFormatError(f"read replay file failed: {e}") from None
        if run:
            out.extend(self._parse(run, run_dbrp))
        return out

    def _parse(self, lines: List[bytes], dbrp) -> List[Point]:
        db = dbrp[0].decode("utf-8", "surrogateescape")
        rp = dbrp[1].decode("utf-8", "surrogateescape")
        try:
            parsed = parse_points(b"\n".join(lines), "n", self._now, db, rp,
                                  allow_unsigned=True)
        except (LineProtocolError, FieldDecodeError) as e:
            raise RecordingFormatError(str(e)) from None
        return [Point(p.measurement, db, rp, dict(p.tags), dict(p.fields), p.time,
                      NO_DIMENSIONS, "") for p in parsed]

    def close(self) -> None:
        try:
            self._file.close()
        finally:
            self._raw.close()
