"""The work behind a recording and a replay, on the reactor thread in slices.

:class:`StreamRecorder` is Kapacitor's stream fork: it reads the point bus,
keeps the points of its task's dbrps and measurements, and appends them to
the recording file until a point later than ``stop`` arrives (the
original's only rule) or the daemon's clock passes ``stop`` (ours too, so a
quiet stream still ends the recording).

:class:`StreamReplay` runs a task's pipeline in its own
:class:`~kapacitord_tw.engine.task.TaskExecution`, never the live router's,
fed from the recording with ``replay.go``'s clock rules: times are shifted
so that the first point is "now" unless ``recording-time`` is set, and the
``real`` clock waits until each point's (shifted) time while ``fast`` does
not wait at all.  Work runs in slices of at most :data:`SLICE_POINTS`
points or :data:`SLICE_SECONDS`, one slice per reactor turn.
"""

from __future__ import annotations

import time
from collections import deque
from typing import Callable, Deque, Dict, Optional

from twisted.logger import Logger

from kapacitord_tw.engine.messages import Point
from kapacitord_tw.engine.task import TaskExecution
from kapacitord_tw.replay.srpl import RecordingFormatError, StreamReader, encode_point

SLICE_POINTS = 2000
SLICE_SECONDS = 0.02
_perf = time.perf_counter


def _wanted(dbrps, measurements) -> Callable[[str, str, str], bool]:
    def wanted(database: str, retention_policy: str, measurement: str) -> bool:
        if (database, retention_policy) not in dbrps:
            return False
        return measurements is None or measurement in measurements

    return wanted


class StreamRecorder:
    """Appends the task's points from the bus to ``writer`` until ``stop_ns``."""

    log = Logger(namespace="kapacitord_tw.replay")

    def __init__(self, recording_id: str, writer, bus, reactor, dbrps, measurements,
                 stop_ns: int, done: Callable[[Optional[str]], None]):
        self.id = recording_id
        self.writer = writer
        self._wanted = _wanted(frozenset(dbrps), measurements)
        self._stop_ns = stop_ns
        self._done = done
        self.finished = False
        self._unsubscribe = bus.subscribe(self._points)
        delay = max(0.0, (stop_ns - int(reactor.seconds() * 1e9)) / 1e9)
        self._timer = reactor.callLater(delay, self.finish)

    def _points(self, points) -> None:
        if self.finished:
            return
        records = []
        wanted, stop = self._wanted, self._stop_ns
        late = False
        for p in points:
            if not wanted(p.database, p.retention_policy, p.measurement):
                continue
            if p.time > stop:
                late = True
                break
            records.append(encode_point(p.database, p.retention_policy, p.measurement,
                                        p.tags, p.fields, p.time))
        try:
            if records:
                self.writer.write(b"".join(records), len(records))
        except OSError as e:
            self._end(f"failed to write recording: {e}")
            return
        if late:
            self.finish()

    def finish(self) -> None:
        self._end(None)

    def cancel(self) -> None:
        """Stop without a result (deleted, or shutdown): the partial file is removed."""
        if self.finished:
            return
        self._detach()
        self.writer.abort()

    def _detach(self) -> None:
        self.finished = True
        self._unsubscribe()
        if self._timer.active():
            self._timer.cancel()

    def _end(self, error: Optional[str]) -> None:
        if self.finished:
            return
        self._detach()
        self._done(error)


class StreamReplay:
    """Feeds a recording to a private execution of the task."""

    log = Logger(namespace="kapacitord_tw.replay")

    def __init__(self, replay_id: str, task, compiled, path: str, reactor, services,
                 real_clock: bool, recording_time: bool,
                 done: Callable[["StreamReplay", Optional[str]], None]):
        self.id = replay_id
        self.task_id = task.id
        self.recording_path = path
        self._reactor = reactor
        self._real = real_clock
        self._rec_time = recording_time
        self._done = done
        dbrps = [(d.db, d.rp) for d in task.dbrps]
        self.execution = TaskExecution(task.id, compiled, dbrps, reactor,
                                       reactor.seconds(), services)
        self._wanted = _wanted(self.execution.dbrps, self.execution.measurements)
        self._reader: Optional[StreamReader] = None
        self._pending: Deque[Point] = deque()
        self._diff: Optional[int] = None
        self._zero = int(reactor.seconds() * 1e9)
        self._call = None
        self.finished = False
        self.stats: Optional[dict] = None
        self.outputs: Dict[str, dict] = {}

    def _now_ns(self) -> int:
        return int(self._reactor.seconds() * 1e9)

    def start(self) -> None:
        try:
            self._reader = StreamReader(self.recording_path, self._zero)
        except OSError as e:
            reason = (e.strerror or str(e)).lower()
            self._fail(f"running replay: data source open: open {self.recording_path}: {reason}")
            return
        self.execution.start()
        self._schedule(0)

    def _schedule(self, delay: float) -> None:
        self._call = self._reactor.callLater(delay, self._slice)

    def _slice(self) -> None:
        self._call = None
        if self.finished:
            return
        deadline = _perf() + SLICE_SECONDS
        batch = []
        try:
            while True:
                if not self._pending:
                    points = self._reader.read(SLICE_POINTS)
                    if not points:
                        break
                    self._pending.extend(points)
                p = self._pending[0]
                if self._diff is None:
                    self._diff = self._zero - p.time
                at = p.time + self._diff
                if self._real:
                    wait = at - self._now_ns()
                    if wait > 0:
                        self._feed(batch)
                        self._schedule(wait / 1e9)
                        return
                self._pending.popleft()
                if self._wanted(p.database, p.retention_policy, p.name):
                    batch.append(p if self._rec_time else p.evolve(time=at))
                if len(batch) >= SLICE_POINTS:
                    self._feed(batch)
                    batch = []
                    if _perf() >= deadline:
                        self._schedule(0)
                        return
        except RecordingFormatError as e:
            self._fail(f"running replay: {e}")
            return
        self._feed(batch)
        self._finish()

    def _feed(self, batch) -> None:
        if batch:
            self.execution.feed(batch)

    def _finish(self) -> None:
        """Stats first (as Kapacitor takes them before draining), then drain and stop."""
        self.stats = self.execution.execution_stats()
        self.execution.drain()
        for endpoint, node in self.execution.outputs.items():
            try:
                self.outputs[endpoint] = node.result()
            except Exception:
                self.log.failure("replay {replay}: cannot read output {endpoint}",
                                 replay=self.id, endpoint=endpoint)
        self._close()
        self._done(self, None)

    def _fail(self, error: str) -> None:
        self._close()
        self._done(self, error)

    def cancel(self, error: Optional[str] = None) -> None:
        """Stop now; with ``error`` the replay is reported failed with it."""
        if self.finished:
            return
        if error is None:
            self._close()
        else:
            self._fail(error)

    def _close(self) -> None:
        self.finished = True
        if self._call is not None and self._call.active():
            self._call.cancel()
        self._call = None
        self.execution.stop()
        if self._reader is not None:
            self._reader.close()
