"""A parse worker: ``python -m kapacitord_tw.ingest.worker``.

Reads jobs on stdin, inflates and parses each body, and writes its rows on
stdout (protocol: :mod:`kapacitord_tw.ingest.frames`).  It holds no
configuration and no credentials -- only the bodies it is given -- and it
exits when stdin closes, so it cannot outlive the daemon.  A job it cannot
finish (a bug, memory) ends the process: the daemon parses the job again.
"""

from __future__ import annotations

import gc
import marshal
import os
import sys
from collections import defaultdict
from itertools import chain
from operator import itemgetter
from typing import BinaryIO, Callable, List

from kapacitord_tw.ingest import frames
from kapacitord_tw.ingest.columnparse import columnar, parse_columns
from kapacitord_tw.ingest.gunzip import GzipError, gunzip
from kapacitord_tw.ingest.lineprotocol import (
    FieldDecodeError,
    LineProtocolError,
    SeriesKeys,
    row_steps,
)

#: Field values a frame of regrouped rows may hold (a plain chunk's worth).
FRAME_FIELDS = frames.FRAME_ROWS * 16
_fields_of = itemgetter(1)
#: Rows grouped by measurement at a time: a whole write's rows alive until
#: its end made each row dearer to build (the cpu body over 100
#: measurements, in-process: 2.55-2.58 against 1.93-1.97 us a line for one
#: measurement), while each group of rows costs the daemon a run per
#: measurement to cut (one frame at a time: 2,000 runs a write, 0.6 ms).
GROUP_ROWS = 2000
#: Series numbers before the table starts again (checked between jobs).
SERIES_LIMIT = 200_000
#: How much nicer than the daemon a worker is (CFS weight 1024 vs 36): the
#: daemon runs the tasks and answers the API; with nice 5 its pings waited
#: 12-25 ms (p99) behind busy workers, with 15 about 7-8 ms.  Not SCHED_IDLE:
#: it did cut the storm's ping p99 further (6 -> 4.5 ms), but a worker then
#: gets almost nothing while other processes keep the CPUs busy (another
#: service in the same cgroup, a container), and writes stall for as long.
NICENESS = 15


def _no_pause() -> None:
    pass


def yield_cpu() -> Callable[[], object]:
    """What a worker calls every ``columnparse.PIECE`` bytes or
    ``frames.FRAME_ROWS`` rows (0.1-0.6 ms of work): ``sched_yield``.

    Nice 15 makes a worker's share small, not its wait short: Linux's EEVDF
    scheduler lets the task on a CPU finish its slice (about 2 ms here)
    before a process that was just woken runs.  Under the storm benchmark
    the client that pings waited 1.4-2.5 ms behind a worker in 1.2 % of its
    wake-ups (``perf sched``: p99 0.92 ms), most of the ping p99; with the
    yields its wait's p99 was 0.02 ms.  A yield costs about a microsecond,
    and nothing more when no other process waits for that CPU."""
    return getattr(os, "sched_yield", _no_pause)


class Worker:
    """One worker's state: its series numbers and the definitions the daemon
    has not been sent yet."""

    def __init__(self, output: BinaryIO, series_limit: int = SERIES_LIMIT,
                 pause: Callable[[], object] = _no_pause):
        self._out = output
        #: called between pieces of a body: where the worker lets another
        #: process that is waiting for its CPU run (see ``yield_cpu``)
        self._pause = pause
        self._pending: List[tuple] = []
        self._next = 0
        #: the measurement of each series number
        self._measurements: List[str] = []
        self.keys = SeriesKeys(self._define, limit=series_limit)
        self._shapes = Shapes()

    def _define(self, measurement: str, tags: tuple) -> int:
        number = self._next
        self._next += 1
        self._pending.append((measurement, tags))
        self._measurements.append(measurement)
        return number

    def send(self, message: tuple) -> None:
        self._out.write(frames.frame(message))

    def run_job(self, header: tuple, body: bytes) -> None:
        (_, job, gzip, precision, now_ns, wanted, allow_unsigned, limit, fields, grouped,
         _length) = header
        if self.keys.full():
            self.keys.reset()
            self._next = 0
            self._pending = []
            self._measurements = []
            self._shapes = Shapes()
            self.send((frames.RESET,))
        if gzip:
            try:
                body = gunzip(body, limit)
            except GzipError as e:
                self.send((frames.FAILED, job, "gzip", e.code, e.raw, 0, None))
                self._out.flush()
                return
        size = len(body)
        if columnar(wanted, fields) is not None:
            columns = parse_columns(body, precision, now_ns, self.keys, wanted=wanted,
                                    fields=fields, allow_unsigned=allow_unsigned,
                                    between=self._pause)
            if columns is not None:
                del body
                self._send_columns(job, columns, grouped)
                self.send((frames.DONE, job, columns[-1], size))
                self._out.flush()
                return
        # Without string fields a row's size follows its field count, so
        # rows regrouped into frames stay as small as the parser's chunks.
        grouped = grouped and b'"' not in body
        steps = row_steps(body, precision, now_ns, self.keys, wanted=wanted,
                          allow_unsigned=allow_unsigned, fields=fields,
                          chunk_rows=frames.FRAME_ROWS,
                          chunk_chars=frames.FRAME_CHARS)
        del body
        buckets: defaultdict = defaultdict(list)
        held = 0
        measurement_of = self._measurements
        pause = self._pause
        try:
            while True:
                pause()
                rows = next(steps)
                if not rows:
                    continue
                if grouped:
                    for row in rows:
                        buckets[measurement_of[row[0]]].append(row)
                    held += len(rows)
                    if held >= GROUP_ROWS:
                        self._send_grouped(job, buckets)
                        buckets = defaultdict(list)
                        held = 0
                    continue
                self.send((frames.ROWS, job, self._pending, rows, None))
                self._pending = []
                self._out.flush()  # the daemon unpacks while we parse on
        except StopIteration as done:
            if buckets:
                self._send_grouped(job, buckets)
            self.send((frames.DONE, job, done.value, size))
        except LineProtocolError as e:
            self.send((frames.FAILED, job, "syntax", 400, e.raw, 0, size))
        except FieldDecodeError as e:
            message = str(e).encode("utf-8", "surrogateescape")
            self.send((frames.FAILED, job, "decode", 400, message, e.count_before, size))
        self._out.flush()


    def _send_columns(self, job: int, columns: tuple, grouped: bool) -> None:
        """A write parsed into columns, ``frames.COLUMN_ROWS`` points a frame;
        grouped by measurement (the whole write at once) when the job asks."""
        handles, measurements, values, times, _count = columns
        runs = None
        if grouped:
            # The whole write at once: each measurement's points in one run
            # (the daemon cuts a task's points with one slice, not one a frame).
            (handles, values, times), runs = self._shapes.grouped(
                (handles, values, times), measurements)
        n = len(handles)
        step = frames.COLUMN_ROWS
        for start in range(0, n, step):
            end = start + step
            part = (handles[start:end], values[start:end], times[start:end])
            self.send((frames.COLUMNS, job, self._pending, *frames.pack_columns(*part),
                       None if runs is None else _runs_within(runs, start, min(n, end))))
            self._pending = []
            self._out.flush()

    def _send_grouped(self, job: int, buckets: dict) -> None:
        """Each measurement's rows of the last ``GROUP_ROWS`` together: the
        daemon then builds them, and each task walks its own, in consecutive
        memory (with 100 tasks on interleaved measurements, 0.91 against
        0.75-0.80 of one task's rate)."""
        rows = list(chain.from_iterable(buckets.values()))
        # Each measurement's span of rows: the daemon splits the write by
        # measurement with slices, not by looking at every row.
        spans = []
        first = 0
        for measurement, bucket in buckets.items():
            spans.append((measurement, first, first + len(bucket)))
            first += len(bucket)
        start, n = 0, len(rows)
        while start < n:
            end = min(n, start + frames.FRAME_ROWS)
            while end - start > 1 and sum(map(len, map(_fields_of, rows[start:end]))) > FRAME_FIELDS:
                end = start + (end - start) // 2
            runs = [(m, min(stop, end) - max(begin, start)) for m, begin, stop in spans
                    if begin < end and stop > start]
            self.send((frames.ROWS, job, self._pending, rows[start:end], runs))
            self._pending = []
            start = end


def _runs_within(runs: list, start: int, end: int) -> list:
    """The part of each ``(measurement, count)`` run between two points."""
    out = []
    first = 0
    for measurement, count in runs:
        stop = first + count
        if stop > start and first < end:
            out.append((measurement, min(stop, end) - max(first, start)))
        first = stop
        if first >= end:
            break
    return out


#: Writes whose grouping a worker remembers (see :class:`Shapes`), and
#: the most points a remembered write has (a bound on the memory it takes:
#: 64 x 20,000 x 3 references, about 30 MiB).
SHAPES = 64
SHAPE_POINTS = 20_000


class Shapes:
    """How the points of a write of columns are grouped by measurement,
    remembered by the write's series: a collector writes the same series
    in the same order at every interval, and working the grouping out
    again (a bucket per measurement, point by point) cost 150-270 ns a
    point, where comparing the series with the last write's costs ~10."""

    def __init__(self, limit: int = SHAPES):
        self.limit = limit
        self._known: dict = {}

    def grouped(self, columns: tuple, measurements: list) -> tuple:
        """Columns reordered so each measurement's points are together (in
        write order, first seen first), and the ``(measurement, count)`` runs."""
        handles, values, times = columns
        if not handles:
            return columns, []
        key = (len(handles), handles[0], handles[-1])
        known = self._known.get(key)
        if known is None or known[0] != handles:
            order, runs = _grouping(measurements)
            take = None if order is None else itemgetter(*order) if len(order) > 1 else None
            known = (handles, take, runs, None if take is None else list(take(handles)))
            if len(handles) <= SHAPE_POINTS:
                if len(self._known) >= self.limit:
                    self._known = {}
                self._known[key] = known
        _handles, take, runs, reordered = known
        if take is None:
            return columns, runs
        if times.count(times[0]) != len(times):  # not one time for all
            times = list(take(times))
        return (reordered, list(take(values)), times), runs


def _grouping(measurements: list) -> tuple:
    """``(order, runs)``: the points' new order (None: as they are) and each
    measurement's run."""
    if len(set(measurements)) == 1:
        return None, [(measurements[0], len(measurements))]
    buckets: dict = {}
    get = buckets.get
    for i, measurement in enumerate(measurements):
        bucket = get(measurement)
        if bucket is None:
            buckets[measurement] = [i]
        else:
            bucket.append(i)
    order = list(chain.from_iterable(buckets.values()))
    return order, [(m, len(b)) for m, b in buckets.items()]


def read_exactly(source: BinaryIO, n: int) -> bytes:
    data = source.read(n)
    if len(data) != n:
        raise EOFError
    return data


def serve(source: BinaryIO, output: BinaryIO, series_limit: int = SERIES_LIMIT,
          pause: Callable[[], object] = _no_pause) -> None:
    """Answer jobs until ``source`` ends."""
    worker = Worker(output, series_limit, pause)
    worker.send((frames.READY, os.getpid()))
    output.flush()
    while True:
        try:
            (length,) = frames.LENGTH.unpack(read_exactly(source, frames.HEADER))
            if length > frames.MAX_FRAME:
                raise SystemExit(f"frame of {length} bytes")
            header = marshal.loads(read_exactly(source, length))
            body = [read_exactly(source, header[-1])]
        except EOFError:
            return
        # Handed over, not kept: the parser drops the body once decoded.
        worker.run_job(header, body.pop())


def main(argv: List[str] | None = None) -> None:
    """``[--series-limit N]``"""
    argv = sys.argv[1:] if argv is None else argv
    series_limit = SERIES_LIMIT
    if argv[:1] == ["--series-limit"] and len(argv) == 2:
        series_limit = int(argv[1])
    elif argv:
        raise SystemExit("usage: python -m kapacitord_tw.ingest.worker [--series-limit N]")
    # The daemon runs the tasks, the bottleneck: when a worker and the daemon
    # share a core, the daemon should get most of it (and its reactor stays
    # quick to answer).
    try:
        os.nice(NICENESS)
    except OSError:
        pass
    # Parsing makes many small objects and no cycles: the cyclic collector
    # would only cost time (its passes over a large body's rows), so it runs
    # rarely, and never over the modules loaded at start.
    gc.freeze()
    gc.set_threshold(100_000, 50, 100)
    try:
        serve(sys.stdin.buffer, sys.stdout.buffer, series_limit, yield_cpu())
    except BrokenPipeError:
        pass  # the daemon went away


if __name__ == "__main__":
    main()
