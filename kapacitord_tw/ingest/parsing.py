"""One ``/write`` body to parse, its outcome, and the parser that runs in the
daemon itself (``[http] write-workers = 0``, small bodies, and whatever a
worker process could not finish).

Both this parser and the worker processes (:mod:`.pool`) take a
:class:`ParseJob` and give a :class:`Parsed` or a :class:`ParseFailed`;
``/write`` never needs to know which of them ran.
"""

from __future__ import annotations

from typing import Optional

import attrs
from twisted.internet import defer, task, threads

from kapacitord_tw.ingest.gunzip import GzipError, gunzip
from kapacitord_tw.ingest.lineprotocol import (
    FieldDecodeError,
    LineProtocolError,
    SeriesKeys,
    row_steps,
)
from kapacitord_tw.ingest.rows import SeriesTable

__all__ = ["DaemonParser", "ParseFailed", "ParseJob", "Parsed"]

#: Bodies up to this size are parsed (and inflated) on the reactor at once.
INLINE_PARSE_LIMIT = 64 * 1024

#: Large bodies parsed at the same time in the daemon.  Parsing holds the
#: GIL, so more would not go faster; they would only hold more parsed points
#: in memory at once (100 concurrent 1 MiB writers: two bodies' points, not 100).
PARALLEL_PARSES = 2

#: Lines parsed per cooperative step of a large body (a few ms each).
SLICE_LINES = 500


@attrs.frozen
class ParseJob:
    """What a parser needs: the raw body (still gzip-compressed when
    ``gzip``), the server time for lines without one, which measurements
    the subscribers want (``None``, ``True`` or a set: the rows of the
    others are not built), and the body limit for inflating."""

    body: bytes
    gzip: bool
    precision: str
    now_ns: int
    database: str
    retention_policy: str
    wanted: object
    allow_unsigned: bool
    limit: int
    #: measurement -> the only fields its rows need (``PointBus.fields``)
    fields: dict = attrs.field(factory=dict)
    #: the rows may be sent grouped by measurement (``PointBus.grouped``)
    grouped: bool = False


@attrs.define
class Parsed:
    """A good body: the wanted rows ``(Series, fields, time)``, every point
    counted, the body's size once inflated, and -- when a worker grouped the
    rows by measurement -- each measurement's ``(measurement, count)`` run."""

    rows: list
    count: int
    size: int
    runs: Optional[list] = None


@attrs.frozen
class ParseFailed:
    """A bad body.  ``kind``: ``"gzip"`` (``code`` 400 or 413; ``size`` is
    None), ``"syntax"`` (a line protocol error) or ``"decode"`` (a field
    InfluxDB cannot decode, after ``count_before`` good points); ``raw`` is
    the plain-text message."""

    kind: str
    code: int
    raw: bytes
    count_before: int = 0
    size: Optional[int] = None


def failed_gzip(error: GzipError) -> ParseFailed:
    return ParseFailed("gzip", error.code, error.raw)


def failed_parse(error: Exception, size: int) -> ParseFailed:
    if isinstance(error, LineProtocolError):
        return ParseFailed("syntax", 400, error.raw, 0, size)
    assert isinstance(error, FieldDecodeError)
    return ParseFailed("decode", 400, str(error).encode("utf-8", "surrogateescape"),
                       error.count_before, size)


def parse_now(job: ParseJob, body: bytes, keys: SeriesKeys):
    """Parse an inflated body at once: a :class:`Parsed` or :class:`ParseFailed`."""
    rows: list = []
    steps = row_steps(body, job.precision, job.now_ns, keys, wanted=job.wanted,
                      allow_unsigned=job.allow_unsigned, chunk_rows=1 << 62, fields=job.fields)
    try:
        while True:
            rows.extend(next(steps))
    except StopIteration as done:
        return Parsed(rows, done.value, len(body))
    except (LineProtocolError, FieldDecodeError) as e:
        return failed_parse(e, len(body))


class DaemonParser:
    """Parses in the daemon without holding the reactor long: small bodies
    at once, large plain ones in ``SLICE_LINES``-line cooperative steps
    (measured: a parsing thread made pings wait ~0.7 s for the GIL), large
    quoted or escaped ones (whose lines are split in Python) in a thread;
    at most ``PARALLEL_PARSES`` large bodies at a time."""

    def __init__(self, table: Optional[SeriesTable] = None, cooperate=task.cooperate):
        self.table = table if table is not None else SeriesTable()
        self.keys = SeriesKeys(self.table.intern)
        self._cooperate = cooperate
        self._large = defer.DeferredSemaphore(PARALLEL_PARSES)

    def parse(self, job: ParseJob) -> defer.Deferred:
        """A Deferred that fires with a :class:`Parsed` or :class:`ParseFailed`."""
        if not job.gzip or len(job.body) <= INLINE_PARSE_LIMIT:
            try:
                body = gunzip(job.body, job.limit) if job.gzip else job.body
            except GzipError as e:
                return defer.succeed(failed_gzip(e))
            return self._parse(job, body)
        # A member count in the hundreds of thousands costs a second of CPU.
        d = threads.deferToThread(gunzip, job.body, job.limit)

        def inflated(body):
            return self._parse(job, body)

        def bad(failure):
            failure.trap(GzipError)
            return failed_gzip(failure.value)

        return d.addCallbacks(inflated, bad)

    def _parse(self, job: ParseJob, body: bytes) -> defer.Deferred:
        if self.keys.full():
            self.keys.reset()
        if len(body) <= INLINE_PARSE_LIMIT:
            return defer.succeed(parse_now(job, body, self.keys))
        if b'"' in body or b"\\" in body:
            # Not thread-safe to share: a thread gets its own series cache.
            keys = SeriesKeys(self.table.intern)
            return self._large.run(threads.deferToThread, parse_now, job, body, keys)
        return self._large.run(self._in_slices, job, body)

    def _in_slices(self, job: ParseJob, body: bytes) -> defer.Deferred:
        rows: list = []
        done: list = []

        def steps():
            parts = row_steps(body, job.precision, job.now_ns, self.keys, wanted=job.wanted,
                              allow_unsigned=job.allow_unsigned, chunk_rows=1 << 62,
                              step_lines=SLICE_LINES, fields=job.fields)
            try:
                while True:
                    rows.extend(next(parts))
                    yield None
            except StopIteration as end:
                done.append(Parsed(rows, end.value, len(body)))
            except (LineProtocolError, FieldDecodeError) as e:
                done.append(failed_parse(e, len(body)))

        return self._cooperate(steps()).whenDone().addCallback(lambda _: done[0])
