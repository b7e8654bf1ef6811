"""Parse worker processes: ``/write`` bodies are inflated and parsed on the
other cores, and the daemon only maps their rows to shared series.

``ParsePool.parse(job)`` has the :class:`~.parsing.DaemonParser`'s
contract (a Deferred of ``Parsed``/``ParseFailed``), so ``/write`` is the
same with or without workers.  Each worker holds at most
``jobs_per_worker`` jobs (one parsing, one waiting in its pipe); the rest
wait here, in arrival order.  A worker that dies is replaced, and its jobs
are parsed again -- by another worker, or in the daemon after a second
failure or while no worker is up -- so no request is lost or left hanging.
Workers get a minimal environment (no ``KAPACITOR_*`` settings, no
secrets), no descriptors but their pipes, and exit when their stdin
closes: with the daemon, or at :meth:`ParsePool.stopService`.
"""

from __future__ import annotations

import fcntl
import os
import sys
from collections import deque
from typing import Deque, List, Optional

from twisted.application.service import Service
from twisted.internet import defer, error, protocol, task
from twisted.logger import Logger
from twisted.python.failure import Failure

import kapacitord_tw
from kapacitord_tw.ingest import frames
from kapacitord_tw.ingest.columns import ColumnRows, single_names
from kapacitord_tw.ingest.parsing import DaemonParser, ParseFailed, ParseJob, Parsed
from kapacitord_tw.ingest.rows import SeriesTable

__all__ = ["ParsePool", "worker_count"]

#: Bodies this small (about 150 typical lines) are parsed in the daemon: a
#: round trip to a worker costs them more than it saves.  Measured with
#: 100-line bodies and the cpu-alert task, 4 connections: 625-670 writes/s
#: parsed here, 370-440 through a worker; alike with 32 connections.
INLINE_LIMIT = 16 * 1024
JOBS_PER_WORKER = 2
#: A job whose worker died this many times is parsed in the daemon.
MAX_ATTEMPTS = 2
#: Seconds a stopping pool waits for workers to finish their jobs.
STOP_TIMEOUT = 5.0
#: Respawn delay after repeated failures: doubles up to this many seconds.
MAX_RESPAWN_DELAY = 10.0
#: Bytes of a worker's stderr logged per read (tracebacks).
STDERR_LOG_LIMIT = 4096
#: Capacity asked for the job and answer pipes (Linux allows 1 MiB unprivileged).
PIPE_SIZE = 1 << 20


def worker_count(configured: int) -> int:
    """``[http] write-workers``: negative means one per CPU but one (at least
    one), so the daemon -- tasks and API in one thread -- keeps a CPU: with
    a worker per CPU on 2 cores the ping p99 under a write storm was 6.9-9.1
    ms, with one worker 4.9-5.4 ms (three interleaved pairs), for 10-15 %
    fewer points/s."""
    if configured < 0:
        return max(1, (os.cpu_count() or 1) - 1)
    return configured


def worker_environment() -> dict:
    """Only what Python needs to find this package: nothing of the daemon's
    own environment (it may hold ``KAPACITOR_*`` secrets)."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(kapacitord_tw.__file__)))
    return {"PATH": os.environ.get("PATH", os.defpath), "PYTHONPATH": root}


def widen_pipe(fd: int) -> None:
    """Pipes of ``PIPE_SIZE`` (Linux), so a body or a frame goes through in
    one write: fewer wake-ups of the worker and of the daemon."""
    try:
        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, PIPE_SIZE)
    except (AttributeError, OSError):
        pass  # not Linux, or above /proc/sys/fs/pipe-max-size: the default


class _Job:
    __slots__ = ("number", "job", "deferred", "rows", "runs", "attempts", "cancelled")

    def __init__(self, number: int, job: ParseJob):
        self.number = number
        self.job = job
        self.rows: list = []
        #: ``(measurement, count)`` of the rows so far, when a worker sends
        #: them grouped by measurement (None: in write order)
        self.runs: Optional[list] = []
        self.attempts = 0
        self.cancelled = False
        self.deferred = defer.Deferred(self._cancel)

    def _cancel(self, _d) -> None:
        self.cancelled = True
        self.reset()

    def reset(self) -> None:
        """No rows yet (parsed again, or answered)."""
        self.rows = []
        self.runs = []

    def add(self, rows: list, runs: Optional[list]) -> None:
        """A frame's rows, and their runs (a measurement's run may go on from the last frame)."""
        if type(self.rows) is ColumnRows:
            self.rows = list(self.rows)
        self.rows.extend(rows)
        self._add_runs(runs)

    def add_columns(self, series: list, values: list, times: list,
                    runs: Optional[list]) -> None:
        """A COLUMNS frame's points (see :mod:`~kapacitord_tw.ingest.columns`)."""
        held = self.rows
        if type(held) is ColumnRows:
            held.extend(series, values, times)
        else:
            part = ColumnRows(series, values, times, single_names(self.job.fields) or {})
            if held:
                held.extend(part)
            else:
                self.rows = part
        self._add_runs(runs)

    def _add_runs(self, runs: Optional[list]) -> None:
        held = self.runs
        if held is None:
            return
        if runs is None:
            self.runs = None
            return
        if held and runs and held[-1][0] == runs[0][0]:
            held[-1] = (runs[0][0], held[-1][1] + runs[0][1])
            runs = runs[1:]
        held.extend(runs)

    def finish(self, result) -> None:
        if self.deferred.called:  # cancelled meanwhile
            return
        if isinstance(result, Failure):
            self.deferred.errback(result)
        else:
            self.deferred.callback(result)


class _WorkerProtocol(protocol.ProcessProtocol):
    """One worker process: its jobs in flight, in order, and its series."""

    def __init__(self, pool: "ParsePool", number: int):
        self.pool = pool
        self.number = number
        self.reader = frames.FrameReader()
        #: the daemon's Series for the worker's series numbers
        self.series: List[object] = []
        self.jobs: Deque[_Job] = deque()
        self.ready = False
        self.completed = 0
        self.pid: Optional[int] = None
        self.ended = defer.Deferred()

    def connectionMade(self) -> None:
        self.pid = self.transport.pid
        for pipe in (0, 1):
            widen_pipe(self.transport.pipes[pipe].fileno())

    def send(self, entry: _Job) -> None:
        job = entry.job
        header = (frames.JOB, entry.number, job.gzip, job.precision, job.now_ns, job.wanted,
                  job.allow_unsigned, job.limit, job.fields, job.grouped, len(job.body))
        self.transport.writeSequence([frames.frame(header), job.body])

    def childDataReceived(self, fd: int, data: bytes) -> None:
        if fd == 2:
            self.pool.log.warn("parse worker {pid}: {text}", pid=self.pid,
                               text=data[:STDERR_LOG_LIMIT].decode("utf-8", "replace").rstrip())
            return
        try:
            for message in self.reader.feed(data):
                self.pool._message(self, message)
        except Exception:
            self.pool.log.failure("parse worker {pid} sent a bad answer; stopping it",
                                  pid=self.pid)
            self.kill()

    def kill(self) -> None:
        try:
            self.transport.signalProcess("KILL")
        except (error.ProcessExitedAlready, AttributeError, OSError):
            pass

    def processEnded(self, reason: Failure) -> None:
        self.pool._ended(self, reason)
        self.ended.callback(None)


class ParsePool(Service):
    """``size`` worker processes behind one ``parse(job)``."""

    log = Logger(namespace="kapacitord_tw.ingest")

    def __init__(self, reactor, size: int, fallback: Optional[DaemonParser] = None,
                 table: Optional[SeriesTable] = None, inline_limit: int = INLINE_LIMIT,
                 jobs_per_worker: int = JOBS_PER_WORKER,
                 argv: Optional[List[str]] = None):
        self._reactor = reactor
        self.size = size
        self.table = table if table is not None else (
            fallback.table if fallback is not None else SeriesTable())
        if fallback is None:
            slices = task.Cooperator(scheduler=lambda step: reactor.callLater(0, step))
            fallback = DaemonParser(self.table, cooperate=slices.cooperate)
        self.fallback = fallback
        self.inline_limit = inline_limit
        self.jobs_per_worker = jobs_per_worker
        self.argv = argv or [sys.executable, "-m", "kapacitord_tw.ingest.worker"]
        self.workers: List[_WorkerProtocol] = []
        self._pending: Deque[_Job] = deque()
        self._numbers = 0
        self._spawned = 0
        self._failures = 0
        self._respawns: list = []
        #: jobs that were parsed in the daemon although workers were configured
        self.parsed_in_daemon = 0

    # ------------------------------------------------------------ service

    def startService(self) -> None:
        super().startService()
        for _ in range(self.size):
            self._spawn()

    def stopService(self) -> defer.Deferred:
        super().stopService()
        for call in self._respawns:
            if call.active():
                call.cancel()
        self._respawns = []
        while self._pending:
            self._in_daemon(self._pending.popleft())
        workers = list(self.workers)
        for worker in workers:
            worker.transport.closeStdin()  # it finishes its jobs, then exits
        if not workers:
            return defer.succeed(None)
        timer = self._reactor.callLater(STOP_TIMEOUT, self._kill_all)
        done = defer.DeferredList([w.ended for w in workers])

        def stopped(result):
            if timer.active():
                timer.cancel()
            return None

        return done.addCallback(stopped)

    def _kill_all(self) -> None:
        for worker in list(self.workers):
            self.log.warn("parse worker {pid} did not stop in time: killed", pid=worker.pid)
            worker.kill()

    def _spawn(self) -> None:
        self._spawned += 1
        worker = _WorkerProtocol(self, self._spawned)
        self.workers.append(worker)
        self._reactor.spawnProcess(worker, self.argv[0], self.argv, env=worker_environment(),
                                   childFDs={0: "w", 1: "r", 2: "r"})

    @property
    def pids(self) -> List[int]:
        return [w.pid for w in self.workers if w.pid is not None]

    # ------------------------------------------------------------ parsing

    def parse(self, job: ParseJob) -> defer.Deferred:
        if not self.running or len(job.body) <= self.inline_limit:
            return self.fallback.parse(job)
        self._numbers += 1
        entry = _Job(self._numbers, job)
        self._pending.append(entry)
        self._dispatch()
        return entry.deferred

    def _dispatch(self) -> None:
        pending = self._pending
        while pending:
            entry = pending[0]
            if entry.cancelled:
                pending.popleft()
                continue
            free = [w for w in self.workers if w.ready and len(w.jobs) < self.jobs_per_worker]
            if not free:
                if not any(w.ready for w in self.workers):
                    # No worker is up (starting, or failing): parse here, at once.
                    while pending:
                        self._in_daemon(pending.popleft())
                return
            worker = min(free, key=lambda w: len(w.jobs))
            pending.popleft()
            worker.jobs.append(entry)
            worker.send(entry)

    def _in_daemon(self, entry: _Job) -> None:
        if entry.cancelled:
            return
        self.parsed_in_daemon += 1
        entry.reset()
        self.fallback.parse(entry.job).addBoth(entry.finish)

    # ------------------------------------------------------------ answers

    def _message(self, worker: _WorkerProtocol, message: tuple) -> None:
        kind = message[0]
        if kind == frames.ROWS:
            _, number, definitions, rows, runs = message
            entry, series = self._parsing(worker, number, definitions)
            if not entry.cancelled:
                entry.add([(series[s], f, t) for s, f, t in rows], runs)
        elif kind == frames.COLUMNS:
            _, number, definitions, count, handles, values, times, runs = message
            handles, values, times = frames.unpack_columns(count, handles, values, times)
            entry, series = self._parsing(worker, number, definitions)
            if not entry.cancelled:
                entry.add_columns(list(map(series.__getitem__, handles)), values, times, runs)
        elif kind == frames.DONE:
            _, number, count, size = message
            entry = self._answered(worker, number)
            entry.finish(Parsed(entry.rows, count, size, entry.runs or None))
            entry.reset()
        elif kind == frames.FAILED:
            _, number, failure, code, raw, count_before, size = message
            entry = self._answered(worker, number)
            entry.reset()
            entry.finish(ParseFailed(failure, code, raw, count_before, size))
        elif kind == frames.RESET:
            worker.series = []
        elif kind == frames.READY:
            worker.ready = True
            self.log.debug("parse worker {pid} ready", pid=worker.pid)
        else:
            raise frames.FrameError(f"unknown message {kind!r}")
        if kind != frames.ROWS and kind != frames.COLUMNS:
            self._dispatch()

    def _parsing(self, worker: _WorkerProtocol, number: int, definitions: list):
        """The job a frame of points belongs to (the worker's first), and the
        worker's series with the frame's new definitions added."""
        series = worker.series
        if definitions:
            intern = self.table.intern
            series.extend([intern(m, tags) for m, tags in definitions])
        entry = worker.jobs[0]
        if entry.number != number:
            raise frames.FrameError(f"points of job {number}, expected {entry.number}")
        return entry, series

    def _answered(self, worker: _WorkerProtocol, number: int) -> _Job:
        entry = worker.jobs.popleft()
        if entry.number != number:
            raise frames.FrameError(f"answer to job {number}, expected {entry.number}")
        worker.completed += 1
        self._failures = 0
        return entry

    def _ended(self, worker: _WorkerProtocol, reason: Failure) -> None:
        if worker in self.workers:
            self.workers.remove(worker)
        jobs = list(worker.jobs)
        worker.jobs.clear()
        if self.running:
            self.log.warn(
                "parse worker {pid} ended ({why}); {jobs} writes it held are parsed again",
                pid=worker.pid, why=reason.getErrorMessage(), jobs=len(jobs))
        retry = []
        for entry in jobs:
            entry.reset()
            entry.attempts += 1
            if entry.cancelled:
                continue
            if entry.attempts >= MAX_ATTEMPTS or not self.running:
                self._in_daemon(entry)
            else:
                retry.append(entry)
        self._pending.extendleft(reversed(retry))
        if self.running:
            if worker.completed == 0:
                self._failures += 1
            delay = 0.0 if self._failures <= 1 else min(
                MAX_RESPAWN_DELAY, 0.1 * 2 ** self._failures)
            self._respawns = [c for c in self._respawns if c.active()]
            self._respawns.append(self._reactor.callLater(delay, self._respawn))
            self._dispatch()

    def _respawn(self) -> None:
        if self.running and len(self.workers) < self.size:
            self._spawn()
