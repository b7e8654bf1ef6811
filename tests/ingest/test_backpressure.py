"""Back-pressure from the task engine to ``/write``: when the engine's queue
is past its high-water mark, the write is answered only once the engine has
processed enough (issue 11 item 6), so a fast writer slows down instead of
growing memory or losing points."""

from __future__ import annotations

from twisted.internet import defer

from kapacitord_tw import tick
from kapacitord_tw.engine.router import Engine
from kapacitord_tw.engine.task import TaskExecution
from kapacitord_tw.ingest.points import Point, PointBus
import pytest

from tests.http.harness import V1
from tests.ingest.support import write_workers  # noqa: F401  (a fixture)
from tests.ops.support import ADMIN, secured


@pytest.fixture(params=["in-daemon", "workers"])
def harness(request, tmp_path):
    """A secured harness whose bodies are parsed in the daemon, or by real
    parse workers; ``settle()`` waits until what was sent is parsed."""
    h = secured(tmp_path)
    h.settle = lambda: [h.stub.flush() for _ in range(5)]
    if request.param == "workers":
        workers = request.getfixturevalue("write_workers")
        workers.serve(h)
        h.settle = lambda: workers.drain(h)
    return h


def _point(t: int = 1) -> Point:
    return Point("db", "rp", "cpu", (), (("v", 1.0),), t)


def test_bus_returns_nothing_when_no_subscriber_asks_to_wait():
    bus = PointBus()
    seen = []
    bus.subscribe(seen.append)
    assert bus.publish([_point()]) is None
    assert len(seen) == 1


def test_bus_returns_a_subscribers_wait_and_still_delivers_to_the_others():
    bus = PointBus()
    held = defer.Deferred()
    seen = []
    bus.subscribe(lambda batch: held)
    bus.subscribe(seen.append)
    wait = bus.publish([_point()])
    assert len(seen) == 1
    fired = []
    wait.addCallback(fired.append)
    assert fired == []
    held.callback(None)
    assert len(fired) == 1


def test_write_is_answered_only_when_the_subscriber_lets_it(harness):
    h = harness
    held = defer.Deferred()
    h.app.bus.subscribe(lambda batch: held)
    d = h.start("POST", V1 + "/write?db=telegraf&rp=autogen", b"cpu v=1 1\n", auth=ADMIN)
    h.settle()
    done = []
    d.addBoth(lambda r: done.append(r) or r)
    assert done == []  # still waiting for the engine
    held.callback(None)
    assert h.finish(d).code == 204


@pytest.mark.parametrize("as_rows", [False, True])
def test_write_waits_for_a_full_engine_queue_and_every_point_is_processed(harness, as_rows):
    h = harness
    engine = Engine(h.clock, slice_points=5, high_water=10)
    execution = TaskExecution("t", tick.compile_task("stream|from().measurement('cpu')"),
                              [("telegraf", "autogen")], h.clock)
    execution.start()
    engine.add_task(execution)
    if as_rows:  # as the task master subscribes
        h.app.bus.subscribe(engine.publish, rows=engine.publish_rows, wanted=engine.wanted)
    else:
        h.app.bus.subscribe(engine.publish)
    body = b"".join(b"cpu,host=h%d v=%d %d\n" % (i % 3, i, i) for i in range(50))
    d = h.start("POST", V1 + "/write?db=telegraf&rp=autogen", body, auth=ADMIN)
    h.settle()
    done = []
    d.addBoth(lambda r: done.append(r) or r)
    assert done == [] and engine.queued_points == 50
    assert execution.received == 0
    h.clock.advance(0)  # the engine's slices run on the reactor
    assert engine.queued_points == 0
    assert h.finish(d).code == 204
    assert execution.received == 50
    assert execution.execution_stats()["node-stats"]["from1"]["collected"] == 50
