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
not wait at all.  :class:`BatchReplay` does the same for a batch task,
handing each query node the batches of its source (an entry of a batch
recording, or the answers of live queries).  Work runs in slices of about
:data:`SLICE_SECONDS`, one slice per reactor turn; a source that waits for
InfluxDB's answer lets the reactor go until it comes.
"""

from __future__ import annotations

import time
from collections import deque
from itertools import islice
from typing import Callable, Deque, Dict, Iterable, List, Optional

from twisted.internet import defer
from twisted.logger import Logger

from kapacitord_tw import gocompat
from kapacitord_tw.engine.messages import BatchPoint, Point
from kapacitord_tw.engine.task import TaskExecution
from kapacitord_tw.replay.brpl import BatchFile
from kapacitord_tw.replay.queries import QueryFailed, query_nodes
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


class ReplayExecution(TaskExecution):
    """A task run for a replay: its query nodes are handed recorded batches and
    never query InfluxDB themselves (see ``QueryNode.replayed``)."""

    replaying = True


class SourceError(Exception):
    """A replay's data could not be had; the text follows ``running replay: ``."""


class _Replay:
    """What every replay shares: a private execution of the task, the clock's
    zero (the replay's start), stats and httpOut results at the end, cancel."""

    log = Logger(namespace="kapacitord_tw.replay")

    def __init__(self, replay_id: str, task, compiled, reactor, services, real_clock: bool,
                 recording_time: bool, done: Callable[["_Replay", Optional[str]], None],
                 recording_path: Optional[str] = None):
        self.id = replay_id
        self.task_id = task.id
        #: the recording file read (None for a live replay): deleting it stops us
        self.recording_path = recording_path
        self._reactor = reactor
        self._real = real_clock
        self._rec_time = recording_time
        self._done = done
        dbrps = [(d.db, d.rp) for d in task.dbrps]
        self.execution = ReplayExecution(task.id, compiled, dbrps, reactor, reactor.seconds(),
                                         services)
        self._zero = int(reactor.seconds() * 1e9)
        self._call = None
        self._opening: Optional[defer.Deferred] = None
        self.finished = False
        self.stats: Optional[dict] = None
        self.outputs: Dict[str, dict] = {}

    def _now_ns(self) -> int:
        return int(self._reactor.seconds() * 1e9)

    def _schedule(self, delay: float) -> None:
        if self._call is None and not self.finished:
            self._call = self._reactor.callLater(delay, self._run_slice)

    def _run_slice(self) -> None:
        self._call = None
        if self.finished:
            return
        try:
            self._slice()
        except (RecordingFormatError, SourceError, QueryFailed) as e:
            self._fail(f"running replay: {e}")
        except Exception as e:  # a bug must end the replay, not leave it running
            self.log.failure("replay {replay} failed", replay=self.id)
            self._fail(f"running replay: {e}")

    def _slice(self) -> None:
        raise NotImplementedError

    def _open(self, opener) -> None:
        """Start the task, then get the data from ``opener()`` (a value or a Deferred)."""
        self.execution.start()
        d = self._opening = defer.maybeDeferred(opener)
        d.addCallbacks(self._opened, self._open_failed)

    def _opened(self, data) -> None:
        self._opening = None
        if self.finished:
            self._release(data)
            return
        try:
            self._use(data)
        except SourceError as e:
            self._release(data)
            self._fail(f"running replay: {e}")
            return
        self._schedule(0)

    def _open_failed(self, failure) -> None:
        self._opening = None
        if self.finished:
            return
        if failure.check(RecordingFormatError, SourceError, QueryFailed):
            self._fail(f"running replay: {failure.getErrorMessage()}")
        else:
            self.log.failure("replay {replay}: cannot open its data", failure, replay=self.id)
            self._fail(f"running replay: {failure.getErrorMessage()}")

    def _use(self, data) -> None:
        """Take the opened data; :class:`SourceError` if it does not fit the task."""
        raise NotImplementedError

    def _release(self, data) -> None:
        """Close what :meth:`_use` would have taken (the replay ended first)."""

    def _close_sources(self) -> None:
        raise NotImplementedError

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
        if self.finished:
            return
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
        if self._opening is not None and not self._opening.called:
            self._opening.cancel()
        self.execution.stop()
        self._close_sources()


class StreamReplay(_Replay):
    """Feeds points to a private execution of a stream task.

    ``open_source(zero_ns)`` gives the points: a reader with ``read(limit)``
    and ``close()`` (the recording file, or one query's answer), or a Deferred
    of one.
    """

    def __init__(self, replay_id: str, task, compiled, open_source, reactor, services,
                 real_clock: bool, recording_time: bool, done, recording_path=None):
        super().__init__(replay_id, task, compiled, reactor, services, real_clock,
                         recording_time, done, recording_path)
        self._open_source = open_source
        self._wanted = _wanted(self.execution.dbrps, self.execution.measurements)
        self._reader = None
        self._pending: Deque[Point] = deque()
        self._diff: Optional[int] = None

    def start(self) -> None:
        self._open(lambda: self._open_source(self._zero))

    def _use(self, reader) -> None:
        self._reader = reader

    def _release(self, reader) -> None:
        reader.close()

    def _slice(self) -> None:
        deadline = _perf() + SLICE_SECONDS
        batch = []
        while True:
            if not self._pending:
                if _perf() >= deadline:
                    self._feed(batch)
                    self._schedule(0)
                    return
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
        self._feed(batch)
        self._finish()

    def _feed(self, batch) -> None:
        if batch:
            self.execution.feed(batch)

    def _close_sources(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None


class PointsReader:
    """A stream reader over an iterator of points (a query's answer)."""

    def __init__(self, points: Iterable[Point]):
        self._points = iter(points)

    def read(self, limit: int) -> List[Point]:
        return list(islice(self._points, limit))

    def close(self) -> None:
        self._points = iter(())


def open_stream_file(path: str):
    """``open_source`` of a stream recording file, with Kapacitor's error text."""
    def open_source(zero_ns: int) -> StreamReader:
        try:
            return StreamReader(path, zero_ns)
        except OSError as e:
            reason = (e.strerror or str(e)).lower()
            raise SourceError(f"data source open: open {path}: {reason}") from None

    return open_source


#: JSON text of a batch recording decoded per read (about a slice's worth).
READ_BYTES = 256 * 1024


class _FileBatches:
    """One entry of a batch recording file as a replay source."""

    def __init__(self, stream, owner: BatchFile):
        self._stream = stream
        self._owner = owner

    @property
    def done(self) -> bool:
        return self._stream.done

    def read(self) -> list:
        return self._stream.read(READ_BYTES)

    def close(self) -> None:
        self._owner.close()


def open_batch_file(path: str):
    """``open_sources`` of a batch recording file, with Kapacitor's error text."""
    def open_sources(_execution) -> list:
        try:
            opened = BatchFile(path)
        except OSError as e:
            reason = (e.strerror or str(e)).lower()
            raise SourceError(f"data source open: open {path}: {reason}") from None
        except RecordingFormatError as e:
            raise SourceError(f"data source open: {e}") from None
        return [_FileBatches(stream, opened) for stream in opened.streams]

    return open_sources


class _Source:
    """One batch collector's input during a replay: its pending batches and clock state."""

    __slots__ = ("index", "source", "pending", "loading", "diff", "released", "tmax")

    def __init__(self, index: int, source):
        self.index = index
        self.source = source
        self.pending: Deque = deque()
        self.loading = False
        self.diff: Optional[int] = None
        self.released = gocompat.ZERO_TIME_NS
        self.tmax = gocompat.ZERO_TIME_NS


class BatchReplay(_Replay):
    """Feeds batches to the query nodes of a private execution of a batch task.

    ``open_sources(execution)`` gives one source per query node (in script
    order), or a Deferred of them: objects with ``read()`` (a list of batches, or a Deferred
    of one; ``[]`` and ``done`` at the end) and ``close()``.  Each source
    follows ``replayBatchFromChan``: its points move by the distance from its
    own first point to the replay's start (unless ``recording-time``), a batch
    ends at its last point unless it was recorded to end later, and it is
    released once the clock reaches that last point.  Across sources, the batch
    released first goes first (the lower query node on a tie), so a fast replay
    is deterministic where Kapacitor's goroutines race.
    """

    def __init__(self, replay_id: str, task, compiled, open_sources, reactor, services,
                 real_clock: bool, recording_time: bool, done, recording_path=None):
        super().__init__(replay_id, task, compiled, reactor, services, real_clock,
                         recording_time, done, recording_path)
        self._open_sources = open_sources
        self._collectors = query_nodes(self.execution)
        # Each collector's edge from the batch node counts what it collects.
        source = next((n for n in self.execution.sources if n.spec.type_name == "BatchNode"),
                      None)
        self._edges = [] if source is None else [
            (source.edge_counts, source.children.index(node)) for node in self._collectors]
        self._sources: List[_Source] = []
        self._in_slice = False

    def start(self) -> None:
        self._open(lambda: self._open_sources(self.execution))

    def _use(self, sources) -> None:
        if len(sources) != len(self._collectors):
            raise SourceError(f"unexpected number of batch collectors. exp {len(sources)} "
                              f"got {len(self._collectors)}")
        self._sources = [_Source(i, s) for i, s in enumerate(sources)]

    def _release(self, sources) -> None:
        for s in sources:
            s.close()

    def _loaded(self, batches, state: _Source) -> None:
        state.loading = False
        if self.finished:
            return
        state.pending.extend(batches)
        if not self._in_slice:
            self._schedule(0)

    def _load_failed(self, failure, state: _Source) -> None:
        state.loading = False
        if self.finished or failure.check(defer.CancelledError):
            return
        if not failure.check(QueryFailed, RecordingFormatError, SourceError):
            self.log.failure("replay {replay}: cannot read its data", failure, replay=self.id)
        self._fail(f"running replay: {failure.getErrorMessage()}")

    def _heads_ready(self, deadline: float) -> bool:
        """Every source has its next batch at hand or is done.  False while one
        loads (its answer schedules the next slice) or when the slice's time is
        up (then the next slice is scheduled here)."""
        for state in self._sources:
            while not state.pending and not state.source.done:
                if state.loading:
                    return False
                if _perf() >= deadline:
                    self._schedule(0)
                    return False
                result = state.source.read()
                if isinstance(result, defer.Deferred):
                    state.loading = True
                    result.addCallbacks(self._loaded, self._load_failed,
                                        callbackArgs=(state,), errbackArgs=(state,))
                    if state.loading or self.finished:
                        return False
                else:
                    state.pending.extend(result)
        return True

    def _key(self, state: _Source) -> int:
        """When the source's next batch is released (clock time, ns)."""
        head = state.pending[0]
        if not head.points:
            return state.released
        if state.diff is None:
            state.diff = self._zero - head.points[0].time
        return max(state.released, head.points[-1].time + state.diff)

    def _slice(self) -> None:
        deadline = _perf() + SLICE_SECONDS
        self._in_slice = True
        try:
            while not self.finished:
                if not self._heads_ready(deadline):
                    return
                heads = [s for s in self._sources if s.pending]
                if not heads:
                    self._finish()
                    return
                state = min(heads, key=lambda s: (self._key(s), s.index))
                key = self._key(state)
                if self._real:
                    wait = key - self._now_ns()
                    if wait > 0:
                        self._schedule(wait / 1e9)
                        return
                self._deliver(state, state.pending.popleft(), key)
                if _perf() >= deadline:
                    self._schedule(0)
                    return
        finally:
            self._in_slice = False

    def _deliver(self, state: _Source, batch, key: int) -> None:
        if batch.points:
            state.released = key
            if self._rec_time:
                points = batch.points
            else:
                diff = state.diff
                points = [BatchPoint(p.time + diff, p.fields, p.tags) for p in batch.points]
            last = points[-1].time
            tmax = batch.tmax if batch.tmax >= last else last
        else:
            tmax = state.tmax if batch.tmax == gocompat.ZERO_TIME_NS else batch.tmax
            points = batch.points
        state.tmax = tmax
        batch = batch.evolve(tmax=tmax, points=points)
        counts, edge = self._edges[state.index]
        counts[edge] += 1
        self._collectors[state.index].receive(batch)

    def _close_sources(self) -> None:
        for state in self._sources:
            try:
                state.source.close()
            except Exception:
                self.log.failure("replay {replay}: closing a source", replay=self.id)
