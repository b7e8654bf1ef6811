"""The pipe protocol between the daemon and its parse workers.

A frame is a 4-byte big-endian length and a ``marshal``-ed tuple (fast, and
loading it runs no code, unlike pickle); a job's body follows its frame as
raw bytes, so a 25 MiB body is not copied into a marshal string.

Daemon -> worker: ``(JOB, job, gzip, precision, now_ns, wanted,
allow_unsigned, limit, fields, grouped, body_length)`` then the body
(``fields``: measurement -> the only field names its rows need;
``grouped``: each frame's rows may come grouped by measurement, first seen first).

Worker -> daemon:

* ``(READY, pid)`` once, when it can take jobs;
* ``(RESET,)``: its series numbers start again from 0 (its table was full);
* ``(ROWS, job, definitions, rows, runs)``: ``definitions`` are the
  ``(measurement, tags)`` of its next series numbers, in order; ``rows``
  are ``(series number, fields, time)``, at most ``FRAME_ROWS`` of them;
  ``runs``, when the job asked for rows grouped by measurement, the
  ``(measurement, count)`` of each measurement's rows in the frame, in
  order (else None);
* ``(COLUMNS, job, definitions, count, handles, values, times, runs)``:
  the same as ROWS for a job whose points keep one field each (see
  :mod:`~kapacitord_tw.ingest.columns`): ``count`` points (``COLUMN_ROWS``
  at most), their series numbers, values (None: the point lacks the
  field) and times, packed by :func:`pack_columns`;
* ``(DONE, job, count, size)`` or ``(FAILED, job, kind, code, message,
  count_before, size)`` (see :class:`~kapacitord_tw.ingest.parsing.ParseFailed`).

A worker answers its jobs one at a time, in the order they were sent.
"""

from __future__ import annotations

import marshal
import struct
from array import array
from typing import Iterator, List

JOB, READY, RESET, ROWS, DONE, FAILED, COLUMNS = range(7)

LENGTH = struct.Struct(">I")
HEADER = LENGTH.size
#: Rows per ROWS frame, and a bound on the line bytes behind them: the
#: daemon unpacks one frame at a time on the reactor, so no frame is huge.
FRAME_ROWS = 250
FRAME_CHARS = 256 * 1024
#: Points per COLUMNS frame (about 20 bytes each marshalled).
COLUMN_ROWS = 2000
#: Larger frames are a broken peer (a body never travels inside a frame).
MAX_FRAME = 256 * 1024 * 1024

__all__ = ["COLUMNS", "DONE", "FAILED", "FrameReader", "JOB", "READY", "RESET", "ROWS", "frame"]


def frame(message: tuple) -> bytes:
    data = marshal.dumps(message)
    return LENGTH.pack(len(data)) + data


class FrameError(Exception):
    """The peer sent something that is not a frame."""


def pack_columns(handles: list, values: list, times: list) -> tuple:
    """``(count, handles, values, times)`` as machine arrays' bytes, which
    marshal copies whole (a list costs it a type tag and a reference check
    per item); values with a None stay a list; times that are all one
    object (a write's server time) are that one int."""
    n = len(handles)
    try:
        values = array("d", values).tobytes()
    except TypeError:  # a point without the value (None): a list
        pass
    if n and times.count(times[0]) == n:
        times = times[0]
    else:
        times = array("q", times).tobytes()
    return n, array("I", handles).tobytes(), values, times


def unpack_columns(count, handles, values, times) -> tuple:
    """:func:`pack_columns` undone: three lists of ``count`` items (the
    times of one int are that object, shared)."""
    try:
        handles = memoryview(handles).cast("I").tolist()
        if type(values) is not list:
            values = memoryview(values).cast("d").tolist()
        if type(times) is int:
            times = [times] * count
        else:
            times = memoryview(times).cast("q").tolist()
    except (TypeError, ValueError) as e:
        raise FrameError(f"bad columns: {e}") from None
    if not (len(handles) == len(values) == len(times) == count):
        raise FrameError("columns of unequal lengths")
    return handles, values, times


class FrameReader:
    """Cuts a byte stream into messages.  Linear: chunks of an incomplete
    frame are only kept, and joined once it is complete; the frames of one
    chunk are read in place."""

    def __init__(self, max_frame: int = MAX_FRAME):
        self._chunks: List[bytes] = []
        self._size = 0
        self._need = HEADER
        self._max = max_frame

    def feed(self, data: bytes) -> Iterator[tuple]:
        """Messages completed by ``data``, in order."""
        self._chunks.append(data)
        self._size += len(data)
        if self._size < self._need:
            return
        buffer = self._chunks[0] if len(self._chunks) == 1 else b"".join(self._chunks)
        self._chunks = []
        self._size = 0
        view = memoryview(buffer)
        end = len(buffer)
        offset = 0
        while end - offset >= HEADER:
            (length,) = LENGTH.unpack_from(buffer, offset)
            if length > self._max:
                raise FrameError(f"frame of {length} bytes")
            if end - offset < HEADER + length:
                self._need = HEADER + length
                break
            start = offset + HEADER
            offset = start + length
            try:
                message = marshal.loads(view[start:offset])
            except (EOFError, ValueError, TypeError) as e:
                raise FrameError(str(e)) from None
            yield message
        else:
            self._need = HEADER
        if offset < end:
            self._chunks.append(buffer[offset:])
            self._size = end - offset
