"""Recordings and replays: the objects, their files and their runs (``services/replay``).

Metadata is durable in the store; recording data are files under
``[replay] dir`` named ``<id>.srpl`` (stream) or ``<id>.brpl`` (batch).  At
start-up files found in the directory without a record get one (so a
recording can be shared by dropping its file in), and anything still
``running`` is marked failed, as Kapacitor does.

A stream recording reads the point bus (:class:`StreamRecorder`); batch and
query recordings run InfluxDB queries (:class:`QueryRecorder`): a batch
task's query nodes over ``[start, stop]``, or one statement.  A replay runs
the task in an execution of its own, fed from a recording file or, for
``/replays/batch|query``, straight from InfluxDB without a file.  As in
Kapacitor, the request is answered once the work is started (``201``,
status ``running``); what goes wrong later is the object's ``error``.
"""

from __future__ import annotations

import os
import uuid
from collections import OrderedDict
from typing import Callable, Dict, Optional

import attrs
from twisted.application.service import Service
from twisted.internet import defer, threads
from twisted.logger import Logger

from kapacitord_tw.auth.workers import WorkersBusy
from kapacitord_tw.engine.task import TaskErrors, TaskStartError, _measurements
from kapacitord_tw.tasks.definitions import busy_error
from kapacitord_tw.tasks.scripts import ScriptError
from kapacitord_tw.replay import records
from kapacitord_tw.replay.brpl import BatchWriter
from kapacitord_tw.replay.queries import (
    QueryFailed, merged_points, query_dbrp, single_query, task_queries,
)
from kapacitord_tw.replay.queryrecord import QueryRecorder, cooperator
from kapacitord_tw.replay.records import (
    BATCH, FAILED, FINISHED, RECORDINGS, REPLAYS, RUNNING, STREAM,
    RecordStore, Recording, Replay,
)
from kapacitord_tw.replay.runs import (
    BatchReplay, PointsReader, ReplayExecution, StreamRecorder, StreamReplay,
    open_batch_file, open_stream_file,
)
from kapacitord_tw.replay.srpl import BATCH_EXT, STREAM_EXT, StreamWriter

SHUTDOWN_ERROR = "unexpected Kapacitor shutdown"
#: Kapacitor's errors when a replay's recording is not of its task's type
#: (it opens a zip file as gzip, or the other way round).
TYPE_MISMATCH = {
    STREAM: "running replay: data source open: gzip: invalid header",
    BATCH: "running replay: data source open: zip: not a valid zip file",
}
#: Finished replays whose httpOut results stay readable (``?replay-id=``).
KEPT_OUTPUTS = 64


class ReplayError(Exception):
    """A refused request: ``code`` and Kapacitor's message."""

    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def new_id() -> str:
    return str(uuid.uuid4())


class ReplayService:
    """What the API calls; ``runner`` is the task runner (tasks, scripts, engine services)."""

    log = Logger(namespace="kapacitord_tw.replay")

    def __init__(self, directory: str, store, runner, bus, reactor, pool=None):
        self.dir = os.path.abspath(directory)
        self.recordings = RecordStore(store, RECORDINGS, Recording)
        self.replays = RecordStore(store, REPLAYS, Replay)
        self._runner = runner
        self._bus = bus
        self._reactor = reactor
        self._pool = pool
        self._recorders: Dict[str, object] = {}
        self._running: Dict[str, object] = {}
        self._outputs: "OrderedDict[str, tuple]" = OrderedDict()
        self._steps = cooperator(reactor)

    # ------------------------------------------------------------ life

    def now_ns(self) -> int:
        return int(self._reactor.seconds() * 1e9)

    def _path(self, object_id: str, kind: str) -> str:
        return os.path.join(self.dir, object_id + (STREAM_EXT if kind == STREAM else BATCH_EXT))

    @defer.inlineCallbacks
    def open(self):
        """Adopt files found in the directory, then fail what was running."""
        try:
            names = sorted(os.listdir(self.dir))
        except FileNotFoundError:
            names = []
        for name in names:
            path = os.path.join(self.dir, name)
            if not os.path.isfile(path):
                continue
            if name.endswith(".tmp"):
                os.remove(path)  # a recording cut short by a crash
                continue
            stem, dot, ext = name.rpartition(".")
            if not dot:
                self.log.error("file without extension in replay dir: {name}", name=name)
                continue
            kind = {STREAM_EXT: STREAM, BATCH_EXT: BATCH}.get("." + ext)
            if kind is None:
                self.log.error("unknown file type in replay dir: {name}", name=name)
                continue
            if self.recordings.get(stem) is not None:
                continue
            info = os.stat(path)
            yield self.recordings.create(Recording(
                id=stem, path=path, type=kind, size=info.st_size,
                date=info.st_mtime_ns, status=FINISHED, progress=1.0))
            self.log.info("recording {id} found in {dir}", id=stem, dir=self.dir)
        for store in (self.recordings, self.replays):
            for obj in store.all():
                if obj.status == RUNNING:
                    obj.status, obj.error = FAILED, SHUTDOWN_ERROR
                    yield store.put(obj)

    def close(self) -> None:
        for recorder in list(self._recorders.values()):
            recorder.cancel()
        self._recorders.clear()
        for run in list(self._running.values()):
            run.cancel()
        self._running.clear()

    # ------------------------------------------------------- recordings

    def _task(self, task_id: str, prefix: str = ""):
        task = self._runner.tasks.task(task_id)
        if task is None:
            raise ReplayError(404, prefix + "no task exists")
        return task

    @defer.inlineCallbacks
    def _create_recording(self, recording_id: str, kind: str) -> Recording:
        recording = Recording(id=recording_id, path=self._path(recording_id, kind), type=kind,
                              date=self.now_ns(), status=RUNNING)
        created = yield self.recordings.create(recording)
        if not created:
            raise ReplayError(400, "recording already exists")
        return recording

    @defer.inlineCallbacks
    def record_stream(self, recording_id: str, task_id: str, stop_ns: int):
        """Start recording the task's points; fires with the running Recording."""
        task = self._task(task_id)
        compiled = yield self._compile(task, "")
        if self.recordings.get(recording_id) is not None:
            raise ReplayError(400, "recording already exists")
        try:
            os.makedirs(self.dir, exist_ok=True)
            writer = StreamWriter(self._path(recording_id, STREAM))
        except OSError as e:
            recording = yield self._create_recording(recording_id, STREAM)
            yield self._recording_done(recording, None, f"failed to create recording file: {e}")
            return recording
        # The recording is listed as running from the moment the store takes it
        # (before its line is on disk): subscribe in that same reactor turn, so a
        # point written once a client sees "running" is always recorded.
        recording = Recording(id=recording_id, path=writer.path, type=STREAM,
                              date=self.now_ns(), status=RUNNING)
        dbrps = [(d.db, d.rp) for d in task.dbrps]
        recorder = StreamRecorder(
            recording.id, writer, self._bus, self._reactor, dbrps, _measurements(compiled.pipeline),
            stop_ns, lambda error: self._file_recorded(recording, writer, error))
        self._recorders[recording.id] = recorder
        try:
            if not (yield self.recordings.create(recording)):  # checked above, this turn
                raise ReplayError(400, "recording already exists")
        except BaseException:
            self._recorders.pop(recording.id, None)
            recorder.cancel()
            raise
        self.log.info("recording {id} of task {task} started", id=recording.id, task=task_id)
        return recording

    @defer.inlineCallbacks
    def _compile(self, task, prefix: str):
        try:
            compiled = yield self._runner.scripts.compile_task(task.script, task.vars)
        except ScriptError as e:
            raise ReplayError(404, prefix + e.detail) from None
        except WorkersBusy:
            busy = busy_error()
            raise ReplayError(busy.code, busy.message) from None
        return compiled

    @property
    def _influxdb(self):
        return getattr(self._runner.master.services, "influxdb", None)

    def _replay_services(self):
        """The engine services of a replay's task: errors of its nodes are its own,
        never the live task's ``error``."""
        return attrs.evolve(self._runner.master.services, task_errors=TaskErrors())

    @defer.inlineCallbacks
    def record_batch(self, recording_id: str, task_id: str, start_ns: int, stop_ns: int):
        """Start recording what the batch task's queries return over [start, stop]."""
        task = self._task(task_id)
        compiled = yield self._compile(task, "")
        recording = yield self._create_recording(recording_id, BATCH)

        def sources():
            if task.type != BATCH:
                raise QueryFailed("wrong task type")
            execution = ReplayExecution(task.id, compiled, [(d.db, d.rp) for d in task.dbrps],
                                        self._reactor, None, self._replay_services())
            return task_queries(execution, task.dbrps, self._influxdb, start_ns, stop_ns,
                                self.now_ns(), self._steps), None

        shown = attrs.evolve(recording)
        yield self._record_queries(recording, sources)
        self.log.info("recording {id} of batch task {task} started", id=recording.id,
                      task=task_id)
        return shown

    @defer.inlineCallbacks
    def record_query(self, recording_id: str, query: str, kind: str, cluster: str):
        """Start recording the answer of ``query`` as points (stream) or batches."""
        recording = yield self._create_recording(recording_id, kind)

        def sources():
            points_of = query_dbrp(query) if kind == STREAM else None
            return [single_query(self._influxdb, query, cluster, self._steps)], points_of

        shown = attrs.evolve(recording)
        yield self._record_queries(recording, sources)
        self.log.info("recording {id} of a query started", id=recording.id)
        return shown

    def _record_queries(self, recording: Recording, sources: Callable):
        """Run a :class:`QueryRecorder` for ``recording``; ``sources()`` gives its
        query sources and, for a stream recording, the dbrp of its points."""
        try:
            found, points_of = sources()
        except (QueryFailed, TaskStartError) as e:
            return self._recording_done(recording, None, str(e))
        try:
            os.makedirs(self.dir, exist_ok=True)
            writer = StreamWriter(recording.path) if recording.type == STREAM \
                else BatchWriter(recording.path)
        except OSError as e:
            for source in found:
                source.close()
            return self._recording_done(recording, None, f"failed to create recording file: {e}")
        recorder = QueryRecorder(recording.id, writer, found, self._steps,
                                 lambda error: self._file_recorded(recording, writer, error),
                                 points_of)
        self._recorders[recording.id] = recorder
        recorder.start()
        return defer.succeed(None)

    def _file_recorded(self, recording: Recording, writer, error: Optional[str]):
        """A recorder ended: the file is finished (synced, renamed) or removed."""
        self._recorders.pop(recording.id, None)
        if error is not None:
            writer.abort()
            return self._recording_done(recording, None, error)
        d = self._off_reactor(writer.finish)
        d.addCallbacks(lambda size: self._recording_done(recording, size, None),
                       lambda f: self._recording_done(recording, None, f.getErrorMessage()))
        return d

    def _recording_done(self, recording: Recording, size, error: Optional[str]):
        recording.status = FAILED if error else FINISHED
        recording.error = error or ""
        recording.date = self.now_ns()
        recording.progress = 1.0
        recording.size = size or 0
        if error:
            self.log.error("recording {id} failed: {error}", id=recording.id, error=error)
        else:
            self.log.info("recording {id} finished: {size} bytes", id=recording.id, size=size)
        d = self.recordings.replace(recording)
        d.addCallback(self._orphan_removed, recording)
        d.addErrback(lambda f: self.log.failure("cannot save recording {id}", f, id=recording.id))
        return d.addCallback(lambda _: recording)

    def _orphan_removed(self, saved, recording: Recording) -> None:
        """Deleted while its file was being finished: the file goes too."""
        if saved is None and recording.status == FINISHED:
            try:
                os.remove(recording.path)
            except FileNotFoundError:
                pass

    def _off_reactor(self, function):
        if self._pool is not None:
            return threads.deferToThreadPool(self._reactor, self._pool, function)
        return defer.maybeDeferred(function)

    @defer.inlineCallbacks
    def delete_recording(self, recording_id: str):
        """Deleting a recording stops its recorder and every replay reading it."""
        recording = self.recordings.get(recording_id)
        if recording is None:
            return
        recorder = self._recorders.pop(recording_id, None)
        if recorder is not None:
            recorder.cancel()
        for run in list(self._running.values()):
            if run.recording_path == recording.path:
                run.cancel(f"running replay: recording {recording_id} was deleted")
        yield self.recordings.delete(recording_id)
        try:
            os.remove(recording.path)
        except FileNotFoundError:
            pass
        self.log.info("recording {id} deleted", id=recording_id)

    # ---------------------------------------------------------- replays

    @defer.inlineCallbacks
    def _create_replay(self, replay: Replay) -> Replay:
        created = yield self.replays.create(replay)
        if not created:
            raise ReplayError(400, "replay already exists")
        return replay

    @defer.inlineCallbacks
    def replay(self, replay_id: str, task_id: str, recording_id: str, clock: str,
               recording_time: bool):
        """Start replaying ``recording_id`` to ``task_id``; fires with the running Replay."""
        task = self._task(task_id, "task load: ")
        recording = self.recordings.get(recording_id)
        if recording is None:
            raise ReplayError(404, "recording not found: no recording exists")
        replay = yield self._create_replay(Replay(
            id=replay_id, task=task_id, recording=recording_id, recording_time=recording_time,
            clock=clock, date=self.now_ns()))
        shown = attrs.evolve(replay)
        if task.type != recording.type:
            yield self._replay_done(replay, None, TYPE_MISMATCH[task.type])
            return shown
        if task.type == STREAM:
            run_class, data = StreamReplay, open_stream_file(recording.path)
        else:
            run_class, data = BatchReplay, open_batch_file(recording.path)
        yield self._start_replay(replay, task, run_class, data, recording.path)
        return shown

    @defer.inlineCallbacks
    def replay_batch(self, replay_id: str, task_id: str, start_ns: int, stop_ns: int,
                     clock: str, recording_time: bool):
        """Replay what the batch task's queries return over [start, stop], without a file."""
        task = self._task(task_id, "task load: ")
        if task.type == STREAM:
            raise ReplayError(400, f"cannot replay batch against stream task: {task_id}")
        replay = yield self._create_replay(Replay(
            id=replay_id, task=task_id, recording_time=recording_time, clock=clock,
            date=self.now_ns()))
        shown = attrs.evolve(replay)

        def sources(execution):
            return task_queries(execution, task.dbrps, self._influxdb, start_ns, stop_ns,
                                self.now_ns(), self._steps)

        yield self._start_replay(replay, task, BatchReplay, sources)
        return shown

    @defer.inlineCallbacks
    def replay_query(self, replay_id: str, task_id: str, query: str, cluster: str,
                     clock: str, recording_time: bool):
        """Replay the answer of ``query`` to a task of either type, without a file."""
        task = self._task(task_id, "task load: ")
        replay = yield self._create_replay(Replay(
            id=replay_id, task=task_id, recording_time=recording_time, clock=clock,
            date=self.now_ns()))
        shown = attrs.evolve(replay)
        if task.type == STREAM:
            def points(_zero_ns):
                db, rp = query_dbrp(query)
                answer = single_query(self._influxdb, query, cluster, self._steps).read()
                return answer.addCallback(
                    lambda batches: PointsReader(merged_points(batches, db, rp)))

            yield self._start_replay(replay, task, StreamReplay, points)
        else:
            yield self._start_replay(replay, task, BatchReplay, lambda _execution: [
                single_query(self._influxdb, query, cluster, self._steps)])
        return shown

    @defer.inlineCallbacks
    def _start_replay(self, replay: Replay, task, run_class, data, path: Optional[str] = None):
        """Compile the task, build its execution and start feeding it ``data``
        (the run's ``open_source``/``open_sources``); failures end the replay."""
        try:
            compiled = yield self._compile(task, "task start: ")
        except ReplayError as e:
            yield self._replay_done(replay, None, e.message)
            return
        try:
            run = run_class(replay.id, task, compiled, data, self._reactor,
                            self._replay_services(), replay.clock == records.REAL,
                            replay.recording_time,
                            lambda r, error: self._replay_done(replay, r, error), path)
        except TaskStartError as e:
            yield self._replay_done(replay, None, f"task start: {e}")
            return
        except Exception as e:
            self.log.failure("replay {id}: cannot start task {task}", id=replay.id, task=task.id)
            yield self._replay_done(replay, None, f"task start: {e}")
            return
        self._running[replay.id] = run
        self.log.info("replay {id} to task {task} started", id=replay.id, task=task.id)
        run.start()

    def _replay_done(self, replay: Replay, run, error: Optional[str]):
        self._running.pop(replay.id, None)
        replay.status = FAILED if error else FINISHED
        replay.error = error or ""
        replay.progress = 1.0
        replay.date = self.now_ns()
        if run is not None and error is None:
            replay.stats = run.stats
            self._outputs[replay.id] = (run.task_id, run.outputs)
            while len(self._outputs) > KEPT_OUTPUTS:
                self._outputs.popitem(last=False)
        if error:
            self.log.error("replay {id} failed: {error}", id=replay.id, error=error)
        else:
            self.log.info("replay {id} finished", id=replay.id)
        d = self.replays.replace(replay)
        d.addErrback(lambda f: self.log.failure("cannot save replay {id}", f, id=replay.id))
        return d

    @defer.inlineCallbacks
    def delete_replay(self, replay_id: str):
        """A running replay is stopped (Kapacitor leaves it running)."""
        run = self._running.pop(replay_id, None)
        if run is not None:
            run.cancel()
        self._outputs.pop(replay_id, None)
        yield self.replays.delete(replay_id)

    # ----------------------------------------------- the task API's view

    def running_replay(self, replay_id: str):
        return self._running.get(replay_id)

    def output(self, task_id: str, endpoint: str, replay_id: str = ""):
        """An httpOut result of a replay of ``task_id``: ``replay_id``'s (running or
        finished), else that of a running replay of the task; ``None`` when none."""
        if replay_id:
            run = self._running.get(replay_id)
            if run is not None and run.task_id == task_id:
                node = run.execution.outputs.get(endpoint)
                return None if node is None else node.result()
            kept = self._outputs.get(replay_id)
            if kept is not None and kept[0] == task_id:
                return kept[1].get(endpoint)
            return None
        for run in self._running.values():
            if run.task_id == task_id and endpoint in run.execution.outputs:
                return run.execution.outputs[endpoint].result()
        return None


class ReplayServiceRunner(Service):
    """Opens the service at start-up; stops recorders and replays at shutdown."""

    name = "replay"

    def __init__(self, service: ReplayService):
        self.service = service

    def startService(self):
        super().startService()
        self.service.open().addErrback(
            lambda f: self.service.log.failure("opening recordings and replays failed", f))

    def stopService(self):
        super().stopService()
        self.service.close()
