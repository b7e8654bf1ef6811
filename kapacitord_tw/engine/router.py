"""Routing written points to executing tasks, in ``/write`` order, without holding the reactor.

Kapacitor hands every point of a dbrp to every task on that dbrp.  Here
the routes are indexed by ``(database, retention policy)`` and then by
measurement, so a point reaches only the tasks whose ``from()`` nodes can
use it, and one that no task wants costs a dictionary look-up.

Processing runs on the reactor thread in bounded slices: a small write is
processed at once (fewest hand-offs, lowest latency); a large one, or one
that arrives while work is queued, is queued in chunks of at most
``chunk_points`` points; each reactor turn runs chunks for at most
``slice_seconds``.  The queue is
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
from typing import Deque, Dict, List, Optional, Tuple

from twisted.internet import defer
from twisted.logger import Logger

from kapacitord_tw.engine.messages import NO_DIMENSIONS, Point

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


class _Route:
    __slots__ = ("every", "by_measurement")

    def __init__(self):
        self.every: List[object] = []
        self.by_measurement: Dict[str, List[object]] = {}


class Engine:
    """The executing tasks' shared entry point; ``clock`` provides ``callLater``."""

    log = Logger(namespace="kapacitord_tw.engine")

    def __init__(self, clock, slice_points: int = 2000, slice_seconds: float = 0.02,
                 high_water: int = 50_000, low_water: Optional[int] = None,
                 chunk_points: int = 500):
        self.clock = clock
        self.slice_points = slice_points
        #: queued work is cut into chunks this small, so a slice ends close
        #: to ``slice_seconds`` even when a task costs tens of µs per point
        self.chunk_points = min(chunk_points, slice_points)
        self.slice_seconds = slice_seconds
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
        self._tag_dicts: Dict[tuple, dict] = {}

    # ------------------------------------------------------------ tasks

    def add_task(self, execution) -> None:
        _tune_gc()
        self._tasks[execution.id] = execution
        self._rebuild()

    def remove_task(self, task_id: str) -> None:
        execution = self._tasks.pop(task_id, None)
        if execution is not None:
            execution.stopped = True
            self._rebuild()
            # Drop its queued work now, so nothing half-processed reaches a new run.
            kept = deque(item for item in self._queue if item[0] is not execution)
            self.queued_points = sum(len(chunk) for _, chunk in kept)
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
        self._routes = routes

    @property
    def idle(self) -> bool:
        return not self._tasks

    # ------------------------------------------------------------ points

    def publish(self, points) -> Optional[defer.Deferred]:
        """Route one write's points; a Deferred when the writer must wait."""
        routes = self._routes
        if not routes:
            return None
        per_task: Dict[object, list] = {}
        routed = 0
        tag_dicts = self._tag_dicts
        if len(tag_dicts) > TAG_DICT_CACHE_LIMIT:
            tag_dicts.clear()
        for p in points:
            route = routes.get((p.database, p.retention_policy))
            if route is None:
                continue
            targets = route.by_measurement.get(p.measurement)
            if targets is None:
                targets = route.every
                if not targets:
                    continue
            elif route.every:
                targets = targets + route.every
            tags = tag_dicts.get(p.tags)
            if tags is None:
                tags = tag_dicts[p.tags] = dict(p.tags)
            # No dimensions yet: the group id is "" (what group_id gives).
            converted = Point(p.measurement, p.database, p.retention_policy,
                              tags, dict(p.fields), p.time, NO_DIMENSIONS, "")
            routed += 1
            if len(targets) == 1:
                execution = targets[0]
                chunk = per_task.get(execution)
                if chunk is None:
                    per_task[execution] = [converted]
                else:
                    chunk.append(converted)
                continue
            for execution in targets:
                chunk = per_task.get(execution)
                if chunk is None:
                    per_task[execution] = [converted]
                else:
                    chunk.append(converted)
        self.routed += routed
        self.unrouted += len(points) - routed
        if not per_task:
            return None
        total = sum(len(c) for c in per_task.values())
        if not self._queue and total <= self.slice_points:
            for execution, chunk in per_task.items():
                self._run_chunk(execution, chunk)
            return None
        size = self.chunk_points
        for execution, chunk in per_task.items():
            for start in range(0, len(chunk), size):
                part = chunk[start:start + size]
                self._queue.append((execution, part))
                self.queued_points += len(part)
        self._schedule()
        if self.queued_points > self.high_water:
            d = defer.Deferred()
            self._waiting.append(d)
            return d
        return None

    def _run_chunk(self, execution, chunk) -> None:
        if execution.stopped:
            return
        try:
            execution.feed(chunk)
        except Exception:
            self.log.failure("task {task}: error processing points", task=execution.id)

    def _schedule(self) -> None:
        if self._scheduled is None and self._queue:
            self._scheduled = self.clock.callLater(0, self._run_slice)

    def _run_slice(self) -> None:
        self._scheduled = None
        deadline = _perf() + self.slice_seconds
        queue = self._queue
        while queue:
            execution, chunk = queue.popleft()
            self.queued_points -= len(chunk)
            self._run_chunk(execution, chunk)
            if _perf() >= deadline:
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
            execution, chunk = queue.popleft()
            self.queued_points -= len(chunk)
            self._run_chunk(execution, chunk)
        self._release_writers()
