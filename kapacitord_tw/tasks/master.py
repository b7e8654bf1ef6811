"""
The task master: one :class:`ExecutingTask` per enabled task.

An executing task holds its compiled pipeline and the runtime counters
Kapacitor reports (``GET /tasks/<id>`` ``stats`` and the executing DOT).
No node processes data yet; the instance is shaped for an engine to be
plugged in: it subscribes to the point bus while it runs and counts the
points of its dbrps into the source node (``collected``/``emitted``) and the
source's out-edges, and the throughput is sampled once a second from the
source's count, as Kapacitor does.
"""

from __future__ import annotations

from typing import Dict, Iterable, Optional, Tuple

from twisted.internet.task import LoopingCall
from twisted.logger import Logger

from kapacitord_tw import tick
from kapacitord_tw.tick import default_node_stats

class ExecutingTask:
    """A running instance of a compiled task."""

    def __init__(self, task_id: str, compiled, dbrps: Iterable[Tuple[str, str]], reactor=None):
        self.id = task_id
        self.compiled = compiled
        self.type = compiled.type
        self.dbrps = frozenset(dbrps)
        self._reactor = reactor
        nodes = compiled.pipeline.nodes
        self._stats: Dict[str, Dict[str, int]] = {n.name: self._initial_stats(n) for n in nodes}
        self._collected: Dict[str, int] = {n.name: 0 for n in nodes}
        self._emitted: Dict[str, int] = {n.name: 0 for n in nodes}
        self._edges: Dict[Tuple[str, str], int] = {
            (n.name, child): 0 for n in nodes for child in n.children
        }
        self._source = compiled.pipeline.sources[0] if compiled.pipeline.sources else None
        self.throughput = 0.0
        self._sampled = 0
        self._sampled_at: Optional[float] = None
        self._sampler: Optional[LoopingCall] = None
        self._unsubscribe = None

    @staticmethod
    def _initial_stats(node) -> Dict[str, int]:
        """Kapacitor's per-node stat map at zero: ``avg_exec_time_ns``, ``errors``,
        ``working_cardinality`` and the node's own counters (``alerts_triggered`` …)."""
        return dict(default_node_stats(node.type_name))

    # ---------------------------------------------------------- lifecycle

    def start(self, bus=None) -> None:
        if bus is not None and self.type == "stream":
            self._unsubscribe = bus.subscribe(self.receive)
        if self._reactor is not None:
            self._sampled_at = self._reactor.seconds()
            self._sampler = LoopingCall(self._sample)
            self._sampler.clock = self._reactor
            self._sampler.start(1.0, now=False)

    def stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self._sampler is not None and self._sampler.running:
            self._sampler.stop()
        self._sampler = None

    # -------------------------------------------------------------- data

    def receive(self, points) -> None:
        """Bus callback: count the points written to one of our dbrps."""
        if self._source is None:
            return
        count = sum(1 for p in points if (p.database, p.retention_policy) in self.dbrps)
        if not count:
            return
        source = self._source
        self._collected[source] += count
        self._emitted[source] += count
        for edge in self._edges:
            if edge[0] == source:
                self._edges[edge] += count

    def _sample(self) -> None:
        now = self._reactor.seconds()
        current = self._collected.get(self._source, 0) if self._source else 0
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
    """Executing tasks by id; ``bus`` (optional) is the point bus they read."""

    log = Logger()

    def __init__(self, reactor=None, bus=None):
        self._reactor = reactor
        self._bus = bus
        self._executing: Dict[str, ExecutingTask] = {}

    def start_task(self, task_id: str, compiled, dbrps) -> ExecutingTask:
        """Start (or restart) ``task_id`` with ``compiled``."""
        self.stop_task(task_id)
        executing = ExecutingTask(task_id, compiled, dbrps, self._reactor)
        executing.start(self._bus)
        self._executing[task_id] = executing
        self.log.info("started task {task}", task=task_id)
        return executing

    def stop_task(self, task_id: str) -> bool:
        executing = self._executing.pop(task_id, None)
        if executing is None:
            return False
        executing.stop()
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
