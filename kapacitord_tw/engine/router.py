"""Routing written points to executing tasks, in ``/write`` order, without holding the reactor.

Kapacitor hands every point of a dbrp to every task on that dbrp.  Here
the routes are indexed by ``(database, retention policy)`` and then by
measurement, so a point reaches only the tasks whose ``from()`` nodes can
use it, and one that no task wants costs a dictionary look-up.

Processing runs on the reactor thread in bounded slices: a small write is
processed at once (fewest hand-offs, lowest latency); a large one, or one
that arrives while work is queued, is queued in chunks of at most
``chunk_points`` points; each reactor turn runs chunks until
``slice_seconds`` have passed since the slice was scheduled -- what the
reactor did meanwhile (reading bodies and worker frames) counts -- and for
at least ``min_slice_seconds``, so a turn stays short however the work is
split between sockets and tasks.  The queue is
bounded: past ``high_water`` queued points, :meth:`Engine.publish` returns
a Deferred that fires once the queue has drained below ``low_water``, and
the ``/write`` request waits for it (back-pressure), so a writer faster
than its tasks slows down instead of growing memory or losing points.
Per task, points are processed in the order they were written.
"""

from __future__ import annotations

import gc
import time
from collections import deque
from itertools import accumulate
from typing import Deque, Dict, List, Optional, Tuple

from twisted.internet import defer
from twisted.logger import Logger

from kapacitord_tw.ingest.columns import ColumnRows
from kapacitord_tw.ingest.rows import ALL, SeriesTable, WriteRows

_perf = time.perf_counter

#: Distinct tag sets whose engine ``dict`` is shared by every point of the
#: series (messages are never changed once emitted, so sharing is safe and
#: a buffered point does not carry its own copy); emptied past the bound.
TAG_DICT_CACHE_LIMIT = 100_000

#: Cyclic-GC thresholds once tasks run.  With Python's defaults (700, 10, 10)
#: a busy write path spent about a quarter of its time in the collector and a
#: full collection over the windows' buffered points held the reactor for
#: 0.5-1 s (measured in-process, 60 bodies of 5,000 points).  Points are
#: freed by reference counting; the collector is only for the rare cycle.
GC_THRESHOLDS = (50_000, 50, 10)

#: A reactor turn's length while the engine has work: the slice runs for
#: what remains of it after the sockets were served, but at least
#: ``MIN_SLICE_SECONDS``.  The storm benchmark's ping p99 (4 writers of
#: 5,000 lines, 4 pingers, 2 cores; 5 alternated runs each): fixed slices
#: of 0.5 ms 1.61-2.87 ms, of 0.25 ms 1.46-2.98 ms; turns of 0.7 ms
#: 1.30-2.12 ms (0.89-1.03 million points/s, against 0.92-1.05 with 0.5 ms).
SLICE_SECONDS = 0.0007
MIN_SLICE_SECONDS = 0.0001

#: A columnar chunk holds this many times ``chunk_points`` points (see
#: ``Engine.column_chunk_points``).
COLUMN_CHUNK_FACTOR = 5
_gc_tuned = False


def _tune_gc() -> None:
    """Once per process: fewer, cheaper collections, and objects that exist
    before the first task (modules, users, compiled scripts) moved out of
    the collector's way (``gc.freeze``)."""
    global _gc_tuned
    if _gc_tuned:
        return
    _gc_tuned = True
    gc.freeze()
    if gc.get_threshold()[0] < GC_THRESHOLDS[0]:
        gc.set_threshold(*GC_THRESHOLDS)


def _split_runs(rows: list, runs: list) -> Optional[Dict[str, list]]:
    """The rows of each measurement, cut along the parser's runs (None when
    the runs do not cover the rows: then they are looked at one by one)."""
    if not runs:
        return None
    measurements, counts = zip(*runs)
    bounds = [0, *accumulate(counts)]
    if bounds[-1] != len(rows):
        return None
    split: Dict[str, list] = {}
    get = split.get
    for measurement, part in zip(measurements, map(rows.__getitem__, map(slice, bounds, bounds[1:]))):
        held = get(measurement)
        if held is None:
            split[measurement] = part
        else:
            held += part  # the measurement's rows of a later frame (in place)
            split[measurement] = held
    return split


class _Route:
    __slots__ = ("every", "by_measurement", "targets", "measurements", "uniform", "disjoint",
                 "fields", "multi")

    def __init__(self):
        self.every: List[object] = []
        self.by_measurement: Dict[str, List[object]] = {}
        #: measurement -> its tasks plus the tasks that take every measurement
        self.targets: Dict[str, List[object]] = {}
        #: the measurements some task takes (what ``wanted`` tells parsers)
        self.measurements: frozenset = frozenset()
        #: the tasks, when every task takes every one of ``measurements``
        #: (one task, or tasks on the same measurements): then a write parsed
        #: for exactly those measurements goes to each of them whole
        self.uniform: Optional[List[object]] = None
        #: every task takes one measurement: a write's rows can be split by
        #: measurement (each task's rows keep their order) without asking,
        #: row by row, which tasks take each
        self.disjoint = False
        #: measurement -> the only fields its tasks can observe (parsers
        #: build no others); absent: some task may observe any field
        self.fields: Dict[str, frozenset] = {}
        #: the tasks that take more than one measurement (they must see a
        #: write's rows in write order, never grouped by measurement)
        self.multi: List[object] = []

    def seal(self) -> None:
        self.targets = {m: tasks + self.every for m, tasks in self.by_measurement.items()}
        self.measurements = frozenset(self.by_measurement)
        lists = [[id(task) for task in tasks] for tasks in self.targets.values()]
        if not self.every and lists and all(ids == lists[0] for ids in lists[1:]):
            self.uniform = next(iter(self.targets.values()))
        tasks = {id(t): t for ts in self.by_measurement.values() for t in ts}.values()
        self.multi = list(self.every) + [t for t in tasks if len(t.measurements) > 1]
        self.disjoint = not self.multi
        if not self.every:
            for measurement, tasks in self.by_measurement.items():
                needs = [task.fields.get(measurement) for task in tasks]
                if all(n is not None for n in needs):
                    self.fields[measurement] = frozenset().union(*needs)

    def uncovered(self, fields: dict) -> List[object]:
        """The tasks that may observe a field a write parsed with ``fields``
        left out (the projection changed while it was parsed)."""
        out = list(self.every)
        for measurement, tasks in self.by_measurement.items():
            kept = fields.get(measurement)
            if kept is None:
                continue
            for task in tasks:
                need = task.fields.get(measurement)
                if need is None or not need <= kept:
                    out.append(task)
        return out


class Engine:
    """The executing tasks' shared entry point; ``clock`` provides ``callLater``."""

    log = Logger(namespace="kapacitord_tw.engine")

    def __init__(self, clock, slice_points: int = 200, slice_seconds: float = SLICE_SECONDS,
                 high_water: int = 50_000, low_water: Optional[int] = None,
                 chunk_points: int = 100, column_chunk_points: Optional[int] = None,
                 min_slice_seconds: float = MIN_SLICE_SECONDS):
        self.clock = clock
        self.slice_points = slice_points
        #: queued work is cut into chunks this small, so a slice ends close
        #: to ``slice_seconds`` even when a task costs tens of µs per point
        self.chunk_points = min(chunk_points, slice_points)
        #: the same for a write carried as columns, whose points cost a
        #: lane a fraction of a row's: a chunk's own cost (a queue entry,
        #: a call through the task's nodes, 6-9 us) is shared by more
        self.column_chunk_points = (COLUMN_CHUNK_FACTOR * self.chunk_points
                                    if column_chunk_points is None
                                    else max(self.chunk_points, column_chunk_points))
        self.slice_seconds = slice_seconds
        self.min_slice_seconds = min(min_slice_seconds, slice_seconds)
        #: when the pending slice was scheduled (``_perf``)
        self._scheduled_at = 0.0
        self.high_water = high_water
        self.low_water = high_water // 2 if low_water is None else low_water
        self._tasks: Dict[str, object] = {}
        self._routes: Dict[Tuple[str, str], _Route] = {}
        self._queue: Deque[Tuple[object, list]] = deque()
        self.queued_points = 0
        self._scheduled = None
        self._waiting: List[defer.Deferred] = []
        #: points routed to at least one task / to none
        self.routed = 0
        self.unrouted = 0
        #: series of points published as ingest points (``publish``)
        self._series = SeriesTable(TAG_DICT_CACHE_LIMIT)
        #: tasks whose recent chunks cost more than half a slice: how many
        #: points their next chunk may hold
        self._chunk_limits: Dict[object, int] = {}

    # ------------------------------------------------------------ tasks

    def add_task(self, execution) -> None:
        _tune_gc()
        self._tasks[execution.id] = execution
        self._rebuild()

    def remove_task(self, task_id: str) -> None:
        execution = self._tasks.pop(task_id, None)
        if execution is not None:
            execution.stopped = True
            self._chunk_limits.pop(execution, None)
            self._rebuild()
            # Drop its queued work now, so nothing half-processed reaches a new run.
            kept = deque(item for item in self._queue if item[0] is not execution)
            self.queued_points = sum(len(item[3]) for item in kept)
            self._queue = kept
            self._release_writers()

    def _rebuild(self) -> None:
        routes: Dict[Tuple[str, str], _Route] = {}
        for execution in self._tasks.values():
            if execution.stream_source is None:
                continue
            for dbrp in execution.dbrps:
                route = routes.setdefault(dbrp, _Route())
                if execution.measurements is None:
                    route.every.append(execution)
                else:
                    for m in execution.measurements:
                        route.by_measurement.setdefault(m, []).append(execution)
        for route in routes.values():
            route.seal()
        self._routes = routes

    @property
    def idle(self) -> bool:
        return not self._tasks

    # ------------------------------------------------------------ points

    def wanted(self, database: str, retention_policy: str):
        """Which points of a write the tasks can use: ``None`` (none),
        ``ALL``, or the set of measurement names (ingest workers skip the rest)."""
        route = self._routes.get((database, retention_policy))
        if route is None:
            return None
        if route.every:
            return ALL
        return frozenset(route.by_measurement)

    def fields(self, database: str, retention_policy: str) -> Dict[str, frozenset]:
        """Measurement -> the only fields the tasks can observe of its points
        (parsers build no others; absent measurements are parsed whole)."""
        route = self._routes.get((database, retention_policy))
        return route.fields if route is not None else {}

    def grouped(self, database: str, retention_policy: str) -> bool:
        """True when every task reads one measurement, so the parsers may
        send a write's rows grouped by measurement."""
        route = self._routes.get((database, retention_policy))
        return route is not None and route.disjoint and len(route.by_measurement) > 1

    def publish(self, points) -> Optional[defer.Deferred]:
        """Route one write's ingest points; a Deferred when the writer must wait."""
        if not self._routes or not points:
            return None
        table = self._series
        waits = None
        start = 0
        n = len(points)
        while start < n:
            first = points[start]
            db, rp = first.database, first.retention_policy
            end = start + 1
            while end < n and points[end].database == db and points[end].retention_policy == rp:
                end += 1
            wait = self.publish_rows(WriteRows.from_points(points[start:end], table))
            if wait is not None:
                waits = wait
            start = end
        return waits

    def publish_rows(self, write) -> Optional[defer.Deferred]:
        """Route one write's rows (:class:`~kapacitord_tw.ingest.rows.WriteRows`);
        a Deferred when the writer must wait."""
        route = self._routes.get((write.database, write.retention_policy))
        rows = write.rows
        if route is None or not rows:
            self.unrouted += write.count
            return None
        per_task: Dict[object, list] = {}
        if not route.by_measurement:
            for execution in route.every:
                per_task[execution] = rows
            routed = len(rows)
        elif route.uniform is not None and write.wanted == route.measurements:
            # The parser kept only these measurements' rows, and each task
            # takes all of them: no row needs looking at.
            for execution in route.uniform:
                per_task[execution] = rows
            routed = len(rows)
        elif route.disjoint:
            split = _split_runs(rows, write.runs) if write.runs is not None else None
            if split is None and type(rows) is ColumnRows:
                split = rows.by_measurement()
            if split is None:
                split = {}
                for row in rows:
                    measurement = row[0].measurement
                    part = split.get(measurement)
                    if part is None:
                        split[measurement] = [row]
                    else:
                        part.append(row)
            routed = 0
            targets = route.by_measurement
            for measurement, part in split.items():
                tasks = targets.get(measurement)
                if tasks:
                    routed += len(part)
                    for execution in tasks:
                        per_task[execution] = part
        else:
            by_measurement = route.targets
            every = route.every
            routed = 0
            for row in rows:
                targets = by_measurement.get(row[0].measurement, every)
                if not targets:
                    continue
                routed += 1
                for execution in targets:
                    chunk = per_task.get(execution)
                    if chunk is None:
                        per_task[execution] = [row]
                    else:
                        chunk.append(row)
        if write.fields and write.fields is not route.fields and write.fields != route.fields:
            # Parsed for the tasks of a moment ago: a task that may observe a
            # field left out does not get this write (as if it came first).
            for execution in route.uncovered(write.fields):
                per_task.pop(execution, None)
        if write.grouped and route.multi:
            # Grouped for the tasks of a moment ago: one that reads several
            # measurements must not see them out of write order.
            for execution in route.multi:
                per_task.pop(execution, None)
        self.routed += routed
        self.unrouted += write.count - routed
        if not per_task:
            return None
        database, rp = write.database, write.retention_policy
        total = sum(len(c) for c in per_task.values())
        if not self._queue and total <= self.slice_points:
            for execution, chunk in per_task.items():
                self._run_chunk(execution, database, rp, chunk)
            return None
        queue = self._queue
        for execution, chunk in per_task.items():
            size = self.column_chunk_points if type(chunk) is ColumnRows else self.chunk_points
            n = len(chunk)
            if n <= size:
                queue.append((execution, database, rp, chunk))  # whole: no copy
                self.queued_points += n
                continue
            for start in range(0, n, size):
                part = chunk[start:start + size]
                queue.append((execution, database, rp, part))
                self.queued_points += len(part)
        self._schedule()
        if self.queued_points > self.high_water:
            d = defer.Deferred()
            self._waiting.append(d)
            return d
        return None

    def _run_chunk(self, execution, database, rp, rows) -> None:
        if execution.stopped:
            return
        try:
            rest = execution.feed_rows(database, rp, rows)
        except Exception:
            self.log.failure("task {task}: error processing points", task=execution.id)
            return
        if rest is not None:
            # The task gave the reactor back mid-chunk: the rest goes first
            # on the next turn, ahead of the task's later work.
            part = rows[rest:]
            self._queue.appendleft((execution, database, rp, part))
            self.queued_points += len(part)
            self._schedule()

    def _schedule(self) -> None:
        if self._scheduled is None and self._queue:
            self._scheduled_at = _perf()
            self._scheduled = self.clock.callLater(0, self._run_slice)

    def _run_slice(self) -> None:
        self._scheduled = None
        started = _perf()
        # The reactor's work since the slice was scheduled is part of the
        # same wait for whoever is queued behind this turn (a ping).
        deadline = started + max(self.min_slice_seconds,
                                 self.slice_seconds - (started - self._scheduled_at))
        budget = self.slice_seconds  # chunks are sized by the whole turn
        queue = self._queue
        limits = self._chunk_limits
        while queue:
            execution, database, rp, chunk = queue.popleft()
            n = len(chunk)
            limit = limits.get(execution, n)
            if n > limit:
                # This task's points have been dear lately (a window closing
                # for many groups at once): the rest of the chunk waits for
                # the next turn, ahead of the task's later work.
                queue.appendleft((execution, database, rp, chunk[limit:]))
                chunk = chunk[:limit]
                n = limit
            self.queued_points -= n
            self._run_chunk(execution, database, rp, chunk)
            now = _perf()
            spent = now - started
            started = now
            # Chunks sized to take at most half a slice; a cheap one lets
            # the size grow back (doubling) to chunk_points.
            fit = int(budget / 2 * n / spent + 1e-9) if spent > 0 else 2 * n
            if fit < n:
                limits[execution] = max(1, fit)
            elif execution in limits and fit >= 2 * n:
                grown = limits[execution] * 2
                if grown >= self.chunk_points:
                    del limits[execution]
                else:
                    limits[execution] = grown
            if now >= deadline:
                break
        self._release_writers()
        self._schedule()

    def _release_writers(self) -> None:
        if self._waiting and self.queued_points <= self.low_water:
            waiting, self._waiting = self._waiting, []
            for d in waiting:
                d.callback(None)

    def drain(self, task_id: str) -> None:
        """Process what is queued, then end the task's input (tests, replays)."""
        self.flush()
        execution = self._tasks.get(task_id)
        if execution is not None:
            execution.drain()

    def flush(self) -> None:
        """Process everything queued now (tests, and shutdown)."""
        if self._scheduled is not None and self._scheduled.active():
            self._scheduled.cancel()
        self._scheduled = None
        queue = self._queue
        while queue:
            execution, database, rp, chunk = queue.popleft()
            self.queued_points -= len(chunk)
            self._run_chunk(execution, database, rp, chunk)
        self._release_writers()
