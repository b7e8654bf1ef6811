"""
Dedicated thread pools for CPU-bound work, kept apart from the reactor's own
pool (so name resolution is never starved) and from each other: bcrypt
checks get one pool (sized to leave a core to the reactor), TICKscript
compiles another, so a login never waits behind a 1 MB script.  Each queue
is bounded: past ``max_pending`` calls, new work is refused at once with
``WorkersBusy`` instead of piling up behind a password-guessing storm or a
flood of big definitions.
"""

from __future__ import annotations

import os
from typing import Callable

from twisted.application.service import Service
from twisted.internet.defer import Deferred, fail, maybeDeferred
from twisted.internet.threads import deferToThreadPool
from twisted.python.threadpool import ThreadPool


class WorkersBusy(Exception):
    """Too many CPU-bound calls are already queued."""


class CPUWorkers(Service):
    """``run(f, *args)`` in a worker thread; a Service so it stops cleanly."""

    def __init__(self, reactor, max_pending: int = 64, threads: int | None = None,
                 name: str = "kapacitord-cpu"):
        self._reactor = reactor
        # One core is left to the reactor, so a bcrypt storm cannot starve
        # the requests of users who are already logged in.
        self.threads = threads or max(1, (os.cpu_count() or 1) - 1)
        self.name = name
        self._pool = ThreadPool(minthreads=0, maxthreads=self.threads, name=name)
        self.max_pending = max_pending
        self.pending = 0

    def startService(self):
        super().startService()
        self._pool.start()

    def stopService(self):
        super().stopService()
        self._pool.stop()

    def run(self, function: Callable, *args) -> Deferred:
        if self.pending >= self.max_pending:
            return fail(WorkersBusy())
        if not self._pool.started:
            self._pool.start()
        self.pending += 1
        d = deferToThreadPool(self._reactor, self._pool, function, *args)

        def done(result):
            self.pending -= 1
            return result

        d.addBoth(done)
        return d


#: Compiles waiting beyond this many are refused (a 503 for a definition).
COMPILE_QUEUE = 16


def bcrypt_workers(reactor, max_pending: int) -> CPUWorkers:
    """The pool for bcrypt: it releases the GIL, so threads run in parallel."""
    return CPUWorkers(reactor, max_pending=max_pending, name="kapacitord-bcrypt")


def compile_workers(reactor, max_pending: int = COMPILE_QUEUE) -> CPUWorkers:
    """The pool for TICKscript compiles: pure Python, so one thread (more
    would only take turns at the GIL)."""
    return CPUWorkers(reactor, max_pending=max_pending, threads=1, name="kapacitord-tick")


class InlineWorkers:
    """Runs work synchronously: a deterministic stand-in for unit tests."""

    pending = 0
    max_pending = 1 << 30

    def run(self, function: Callable, *args) -> Deferred:
        return maybeDeferred(function, *args)
