"""
The task master: one :class:`ExecutingTask` per enabled task.

An executing task holds its compiled pipeline and the runtime counters
Kapacitor reports (``GET /tasks/<id>`` ``stats`` and the executing DOT).
No node processes data yet; the instance is shaped for an engine to be
plugged in: a stream task counts the points written to its dbrps into the
source node (``collected``/``emitted``) and the source's out-edges, and its
throughput is sampled once a second from the source's count, as Kapacitor
does.  The master holds the one bus subscription and the one timer for all
its tasks, and only while at least one is executing: each batch is counted
by dbrp once, not once per task, and an idle daemon does no work at all.
"""

from __future__ import annotations

from collections import Counter
from typing import Dict, Iterable, Optional, Tuple

from twisted.internet.task import LoopingCall
from twisted.logger import Logger

from kapacitord_tw import tick
from kapacitord_tw.tick import default_node_stats

#: Seconds between throughput samples (Kapacitor's one-second ticker).
SAMPLE_INTERVAL = 1.0


class ExecutingTask:
    """A running instance of a compiled task; ``started_at`` (reactor seconds)
    is where its first throughput sample starts counting."""

    def __init__(self, task_id: str, compiled, dbrps: Iterable[Tuple[str, str]],
                 started_at: Optional[float] = None):
        self.id = task_id
        self.compiled = compiled
        self.type = compiled.type
        self.dbrps = frozenset(dbrps)
        nodes = compiled.pipeline.nodes
        # Kapacitor's per-node stat map at zero: avg_exec_time_ns, errors,
        # working_cardinality and the node's own counters (alerts_triggered ...).
        self._stats: Dict[str, Dict[str, int]] = {
            n.name: dict(default_node_stats(n.type_name)) for n in nodes
        }
        self._collected: Dict[str, int] = {n.name: 0 for n in nodes}
        self._emitted: Dict[str, int] = {n.name: 0 for n in nodes}
        self._edges: Dict[Tuple[str, str], int] = {
            (n.name, child): 0 for n in nodes for child in n.children
        }
        self._source = compiled.pipeline.sources[0] if compiled.pipeline.sources else None
        self._source_edges = tuple(edge for edge in self._edges if edge[0] == self._source)
        self.throughput = 0.0
        self._sampled = 0
        self._sampled_at = started_at

    # -------------------------------------------------------------- data

    def collect(self, per_dbrp: Dict[Tuple[str, str], int]) -> None:
        """Count a batch's points (given by dbrp) written to one of our dbrps."""
        if self._source is None or self.type != "stream":
            return
        count = sum(per_dbrp.get(dbrp, 0) for dbrp in self.dbrps)
        if not count:
            return
        self._collected[self._source] += count
        self._emitted[self._source] += count
        for edge in self._source_edges:
            self._edges[edge] += count

    def sample(self, now: float) -> None:
        """Points per second at the source since the previous sample."""
        current = self._collected[self._source] if self._source else 0
        elapsed = now - self._sampled_at if self._sampled_at is not None else 0
        if elapsed > 0:
            self.throughput = (current - self._sampled) / elapsed
        self._sampled, self._sampled_at = current, now

    # ------------------------------------------------------------- views

    def execution_stats(self) -> dict:
        """``{"task-stats": …, "node-stats": …}`` with Go's (sorted) map keys;
        ``collected``/``emitted`` are added to each node's stats, as Kapacitor does."""
        node_stats = {}
        for name in sorted(self._stats):
            values = dict(self._stats[name])
            values["collected"] = self._collected[name]
            values["emitted"] = self._emitted[name]
            node_stats[name] = {k: values[k] for k in sorted(values)}
        return {"task-stats": {"throughput": float(self.throughput)}, "node-stats": node_stats}

    def runtime_stats(self) -> "tick.RuntimeStats":
        return tick.RuntimeStats(
            nodes={name: dict(values) for name, values in self._stats.items()},
            edges=dict(self._edges),
            throughput=float(self.throughput),
        )

    def dot(self, labels: bool = False) -> str:
        return self.compiled.dot(self.id, stats=self.runtime_stats(), labels=labels)


class TaskMaster:
    """Executing tasks by id; ``bus`` (optional) is the point bus they read.

    Without a ``reactor`` nothing is sampled (throughput stays 0).
    """

    log = Logger()

    def __init__(self, reactor=None, bus=None):
        self._reactor = reactor
        self._bus = bus
        self._executing: Dict[str, ExecutingTask] = {}
        self._sampler: Optional[LoopingCall] = None
        self._unsubscribe = None

    def start_task(self, task_id: str, compiled, dbrps) -> ExecutingTask:
        """Start (or restart) ``task_id`` with ``compiled``."""
        self.stop_task(task_id)
        started_at = None if self._reactor is None else self._reactor.seconds()
        executing = ExecutingTask(task_id, compiled, dbrps, started_at)
        if not self._executing:
            self._wake()
        self._executing[task_id] = executing
        self.log.info("started task {task}", task=task_id)
        return executing

    def stop_task(self, task_id: str) -> bool:
        executing = self._executing.pop(task_id, None)
        if executing is None:
            return False
        if not self._executing:
            self._idle()
        self.log.info("stopped task {task}", task=task_id)
        return True

    def stop_all(self) -> None:
        for task_id in list(self._executing):
            self.stop_task(task_id)

    def is_executing(self, task_id: str) -> bool:
        return task_id in self._executing

    def executing(self, task_id: str) -> Optional[ExecutingTask]:
        return self._executing.get(task_id)

    def executing_ids(self):
        return sorted(self._executing)

    # ------------------------------------------- points and sampling

    def _wake(self) -> None:
        """The first task starts: read the bus and sample throughput."""
        if self._bus is not None:
            self._unsubscribe = self._bus.subscribe(self._receive)
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

    def _receive(self, points) -> None:
        per_dbrp = Counter((p.database, p.retention_policy) for p in points)
        for executing in self._executing.values():
            executing.collect(per_dbrp)

    def _sample(self) -> None:
        now = self._reactor.seconds()
        for executing in self._executing.values():
            executing.sample(now)
