"""Recording the answers of InfluxDB queries (``/recordings/batch`` and
``/recordings/query``) into a recording file.

The queries run one at a time (:class:`~kapacitord_tw.replay.queries.QueryBatches`);
each answer is encoded and written in cooperative steps of about
:data:`STEP_POINTS` points on the reactor, so a large answer never holds it
for long: Python's JSON and line-protocol encoding hold the GIL, a thread
would not help.  A batch recording gets one zip entry per query node
(``saveBatchRecording``); a stream recording gets the points of its one
query in time order (``saveStreamQuery``).
"""

from __future__ import annotations

from typing import Callable, List, Optional, Tuple

from twisted.internet import defer, task
from twisted.logger import Logger
from twisted.python.failure import Failure

from kapacitord_tw.replay.brpl import encode_batch_pieces
from kapacitord_tw.replay.queries import QueryFailed, merged_points
from kapacitord_tw.replay.srpl import encode_point

STEP_POINTS = 1000
#: Encoded bytes gathered before one write to the file.
WRITE_BYTES = 64 * 1024


def cooperator(reactor) -> task.Cooperator:
    """A Cooperator on ``reactor`` (not the global one), so a test's Clock drives it."""
    return task.Cooperator(scheduler=lambda work: reactor.callLater(0, work))


class QueryRecorder:
    """Runs ``sources`` and writes what they answer with ``writer``.

    ``points_of`` is ``None`` for a batch recording (``writer`` is a
    :class:`~kapacitord_tw.replay.brpl.BatchWriter`), or the ``(database,
    retention policy)`` the points of a stream recording are written with
    (``writer`` is a :class:`~kapacitord_tw.replay.srpl.StreamWriter`).
    ``done(error)`` is called once, with ``None`` when everything was written.
    """

    log = Logger(namespace="kapacitord_tw.replay")

    def __init__(self, recording_id: str, writer, sources: List, steps: task.Cooperator,
                 done: Callable[[Optional[str]], None],
                 points_of: Optional[Tuple[str, str]] = None):
        self.id = recording_id
        self.writer = writer
        self._sources = sources
        self._steps = steps
        self._done = done
        self._points_of = points_of
        self._work: Optional[task.CooperativeTask] = None
        self.finished = False

    def start(self) -> None:
        self._run().addBoth(self._ended)

    @defer.inlineCallbacks
    def _run(self):
        for index, source in enumerate(self._sources):
            if self._points_of is None:
                self.writer.begin(index)
            while not source.done and not self.finished:
                batches = yield source.read()
                if self.finished:
                    return
                if self._points_of is None:
                    steps = self._batch_steps(batches)
                else:
                    steps = self._point_steps(batches, *self._points_of)
                self._work = self._steps.cooperate(steps)
                yield self._work.whenDone()
                self._work = None

    def _batch_steps(self, batches):
        """Encode piece by piece (a piece is at most STEP_POINTS points), write in
        blocks of about WRITE_BYTES; each yield lets the cooperator decide
        whether the reactor gets a turn."""
        pending, size = [], 0
        for batch in batches:
            for piece in encode_batch_pieces(batch, STEP_POINTS):
                pending.append(piece)
                size += len(piece)
                if size >= WRITE_BYTES:
                    self.writer.write(b"".join(pending))
                    pending, size = [], 0
                yield None
        if pending:
            self.writer.write(b"".join(pending))

    def _point_steps(self, batches, database: str, retention_policy: str):
        records = []
        for p in merged_points(batches, database, retention_policy):
            records.append(encode_point(database, retention_policy, p.name, p.tags.items(),
                                        p.fields.items(), p.time))
            if len(records) >= STEP_POINTS:
                self.writer.write(b"".join(records), len(records))
                records = []
                yield None
        if records:
            self.writer.write(b"".join(records), len(records))

    def _ended(self, result) -> None:
        if self.finished:
            return
        self.finished = True
        if isinstance(result, Failure):
            if result.check(QueryFailed):
                error = result.getErrorMessage()
            elif result.check(OSError):
                error = f"failed to write recording: {result.getErrorMessage()}"
            else:
                self.log.failure("recording {id} failed", result, id=self.id)
                error = result.getErrorMessage() or type(result.value).__name__
            self._done(error)
        else:
            self._done(None)

    def cancel(self) -> None:
        """Stop without a result (deleted, or shutdown): the partial file is removed."""
        if self.finished:
            return
        self.finished = True
        for source in self._sources:
            source.close()
        if self._work is not None:
            try:
                self._work.stop()
            except task.TaskFinished:
                pass
        self.writer.abort()
