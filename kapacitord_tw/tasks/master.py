"""
The task master: one executing task (:class:`~kapacitord_tw.engine.task.TaskExecution`)
per enabled task, fed by the engine's router.

The master holds the one bus subscription and the one throughput timer for
all its tasks, and only while at least one is executing, so an idle daemon
does no work at all.  Throughput is sampled once a second from each task's
source count, as Kapacitor does.
"""

from __future__ import annotations

from typing import Dict, Optional

from twisted.internet.task import LoopingCall
from twisted.logger import Logger

from kapacitord_tw.engine.router import Engine
from kapacitord_tw.engine.task import EngineServices, TaskExecution

#: Seconds between throughput samples (Kapacitor's one-second ticker).
SAMPLE_INTERVAL = 1.0


class TaskMaster:
    """Executing tasks by id; ``bus`` (optional) is the point bus they read.

    Without a ``reactor`` nothing is sampled (throughput stays 0).
    """

    log = Logger()

    def __init__(self, reactor=None, bus=None, services=None):
        self._reactor = reactor
        self.services = services if services is not None else EngineServices()
        self._bus = bus
        self._executing: Dict[str, TaskExecution] = {}
        self.engine = Engine(reactor if reactor is not None else _Immediate())
        self._sampler: Optional[LoopingCall] = None
        self._unsubscribe = None

    @property
    def clock(self):
        """The reactor, or None when the master runs without one (tests)."""
        return self._reactor

    def start_task(self, task_id: str, compiled, dbrps) -> TaskExecution:
        """Start (or restart) ``task_id`` with ``compiled``; raises
        :class:`~kapacitord_tw.engine.task.TaskStartError` when a node cannot be built."""
        self.stop_task(task_id)
        clock = self._reactor if self._reactor is not None else _Immediate()
        started_at = None if self._reactor is None else self._reactor.seconds()
        executing = TaskExecution(task_id, compiled, dbrps, clock, started_at, self.services)
        executing.start()
        if not self._executing:
            self._wake()
        self._executing[task_id] = executing
        self.engine.add_task(executing)
        self.log.info("started task {task}", task=task_id)
        return executing

    def stop_task(self, task_id: str) -> bool:
        executing = self._executing.pop(task_id, None)
        if executing is None:
            return False
        self.engine.remove_task(task_id)
        executing.stop()
        if not self._executing:
            self._idle()
        self.log.info("stopped task {task}", task=task_id)
        return True

    def stop_all(self) -> None:
        for task_id in list(self._executing):
            self.stop_task(task_id)

    def is_executing(self, task_id: str) -> bool:
        return task_id in self._executing

    def executing(self, task_id: str) -> Optional[TaskExecution]:
        return self._executing.get(task_id)

    def executing_ids(self):
        return sorted(self._executing)

    # ------------------------------------------- points and sampling

    def _wake(self) -> None:
        """The first task starts: read the bus and sample throughput."""
        if self._bus is not None:
            self._unsubscribe = self._bus.subscribe(
                self.engine.publish, rows=self.engine.publish_rows, wanted=self.engine.wanted,
                fields=self.engine.fields, grouped=self.engine.grouped)
        if self._reactor is not None:
            self._sampler = LoopingCall(self._sample)
            self._sampler.clock = self._reactor
            self._sampler.start(SAMPLE_INTERVAL, now=False)

    def _idle(self) -> None:
        """The last task stopped: stop reading and sampling."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self._sampler is not None and self._sampler.running:
            self._sampler.stop()
        self._sampler = None

    def _sample(self) -> None:
        now = self._reactor.seconds()
        for executing in self._executing.values():
            executing.sample(now)


class _Immediate:
    """A clock for a master without a reactor (tools, tests): queued work runs at once."""

    def seconds(self) -> float:
        import time

        return time.time()

    def callLater(self, delay, f, *args, **kwargs):
        f(*args, **kwargs)
        return _Done()


class _Done:
    def active(self) -> bool:
        return False

    def cancel(self) -> None:
        pass
