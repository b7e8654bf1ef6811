"""Real parse worker processes for tests that drive ``/write`` through the
in-memory harness.

Tests run inside pytest-twisted's reactor, so they cannot wait on it; the
workers' pipes are served by a private reactor of their own instead, which
the harness turns while it waits for an answer (and which reaps the ended
workers itself: the global reactor, whose SIGCHLD handler would, is busy
running the test).
"""

from __future__ import annotations

import time

import pytest
from twisted.internet import process
from twisted.internet.epollreactor import EPollReactor
from twisted.python.failure import Failure

from kapacitord_tw.ingest.pool import ParsePool


def pump(reactor, done, timeout: float = 60.0) -> None:
    """Turn ``reactor`` until ``done()``; fail after ``timeout`` seconds (a
    60,000-line write took over 20 s beside a busy loop per CPU: the workers
    run at nice 15)."""
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, "timed out waiting for the parse workers"
        reactor.iterate(0.002)
        process.reapAllProcesses()


class Workers:
    """A started ``ParsePool`` on a private reactor; every body goes to a
    worker (no inline limit)."""

    def __init__(self, size: int = 2, **kwargs):
        self.reactor = EPollReactor()
        kwargs.setdefault("inline_limit", -1)
        self.pool = ParsePool(self.reactor, size, **kwargs)
        self.pool.startService()
        self.wait_ready()

    def wait_ready(self, count: int | None = None) -> None:
        want = self.pool.size if count is None else count
        pump(self.reactor, lambda: sum(w.ready for w in self.pool.workers) >= want)

    def serve(self, h) -> None:
        """Make harness ``h`` parse with these workers, and wait for them."""
        h.app.writes.parser = self.pool

        def finish(d):
            result = []
            d.addBoth(result.append)

            def done():
                h.stub.flush()
                return bool(result)

            pump(self.reactor, done)
            if isinstance(result[0], Failure):
                result[0].raiseException()
            return result[0]

        h.finish = finish

    def idle(self) -> bool:
        pool = self.pool
        return not pool._pending and not any(w.jobs for w in pool.workers)

    def drain(self, h) -> None:
        """Until every body sent to the workers is parsed and its answer handled."""
        pump(self.reactor, lambda: h.stub.flush() or self.idle())
        h.stub.flush()

    def settle(self, deferreds, stub=None) -> list:
        """Results of ``deferreds``, in their order, once all have fired."""
        results: dict = {}
        for i, d in enumerate(deferreds):
            d.addBoth(lambda result, i=i: results.__setitem__(i, result))

        def done():
            if stub is not None:
                stub.flush()
            return len(results) == len(deferreds)

        pump(self.reactor, done)
        return [results[i] for i in range(len(deferreds))]

    def stop(self) -> None:
        stopped = []
        self.pool.stopService().addBoth(stopped.append)
        pump(self.reactor, lambda: bool(stopped))
        self.reactor.disconnectAll()


@pytest.fixture(scope="module")
def write_workers():
    """Two worker processes shared by a module's tests."""
    workers = Workers()
    yield workers
    # Every body went to a worker: none was parsed in the daemon instead.
    assert workers.pool.parsed_in_daemon == 0
    workers.stop()
