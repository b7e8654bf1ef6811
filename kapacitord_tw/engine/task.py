"""An executing task: the runtime nodes of one compiled pipeline, linked.

The compiled :class:`~kapacitord_tw.tick.pipeline.Pipeline` is the only
description of what to build: each ``PipelineNode`` becomes the node class
registered for its Go type name, linked to its children in script order.
The task counts what crosses each edge and reports Kapacitor's stats and
executing DOT from those counts.
"""

from __future__ import annotations

from typing import Dict, Iterable, List, Optional, Tuple

import attrs
from twisted.logger import Logger

from kapacitord_tw import tick
from kapacitord_tw.engine.alerting import AlertTopics
from kapacitord_tw.engine.messages import NO_DIMENSIONS, Point
from kapacitord_tw.engine.node import NODE_TYPES, MultiInputNode, Node, NodeError
from kapacitord_tw.engine.projection import fields_needed


class UnsupportedNode(Node):
    """A node type the engine does not run yet: it counts what reaches it and emits nothing."""

    def point(self, p):
        return None

    def batch(self, b):
        return None


@attrs.frozen
class EngineServices:
    """What running nodes reach outside the task: who we are and the alert topics."""

    hostname: str = "localhost"
    cluster_id: str = ""
    server_id: str = ""
    master_id: str = "main"
    topics: object = attrs.field(factory=AlertTopics)
    #: the ingest point bus (``kapacitorLoopback`` writes into it); None: no loopback
    bus: object = None
    #: a treq-like client for ``httpPost`` (None: one without keep-alive on the reactor)
    http_client: object = None
    #: kapacitord_tw.services.registry.NotificationServices (None: only log/post/tcp/exec)
    notifications: object = None
    #: kapacitord_tw.influxdb.service.InfluxDBService (batch queries, influxDBOut); None: none
    influxdb: object = None
    #: where a node reports an error that becomes its task's ``error`` (TaskErrors)
    task_errors: object = attrs.field(factory=lambda: TaskErrors())

    @property
    def server_info(self) -> Dict[str, str]:
        return {"Hostname": self.hostname, "ClusterID": self.cluster_id,
                "ServerID": self.server_id}


class TaskErrors:
    """A task's last error as ``GET /tasks/<id>`` shows it, set by running nodes
    (a batch query InfluxDB refused).  ``target`` is the task store once the
    daemon has one (``set_task_error(id, text)``); until then errors are kept here."""

    def __init__(self, target=None):
        self.target = target
        self.last: Dict[str, str] = {}

    def report(self, task_id: str, message: str) -> None:
        if self.last.get(task_id) == message:
            return
        self.last[task_id] = message
        if self.target is not None:
            d = self.target.set_task_error(task_id, message)
            if d is not None and hasattr(d, "addErrback"):
                d.addErrback(lambda f: TaskExecution.log.failure(
                    "task {task}: cannot record its error", f, task=task_id))

    def clear(self, task_id: str) -> None:
        self.last.pop(task_id, None)


class TaskStartError(Exception):
    """A node could not be built (Kapacitor's ``failed to create node``)."""


class TaskExecution:
    """One running task; ``clock`` is the reactor (``seconds``, ``callLater``)."""

    log = Logger(namespace="kapacitord_tw.engine")

    def __init__(self, task_id: str, compiled, dbrps: Iterable[Tuple[str, str]], clock,
                 started_at: Optional[float] = None, services=None):
        self.id = task_id
        self.compiled = compiled
        self.type = compiled.type
        self.dbrps = frozenset(dbrps)
        self.clock = clock
        self.services = services if services is not None else EngineServices()
        self.server_info = self.services.server_info
        self.master_id = self.services.master_id
        self.topics = self.services.topics
        self.outputs: Dict[str, Node] = {}
        self.nodes: Dict[str, Node] = {}
        self.unsupported: List[str] = []
        # The node modules register their types: loaded by the first task, not at start-up.
        from kapacitord_tw.engine import nodes as node_families

        node_families.register_all()
        pipeline = compiled.pipeline
        for spec in pipeline.nodes:
            cls = NODE_TYPES.get(spec.type_name)
            if cls is None:
                cls = UnsupportedNode
                self.unsupported.append(spec.type_name)
            try:
                self.nodes[spec.name] = cls(spec, self)
            except NodeError as e:
                raise TaskStartError(f"failed to create {spec.name} node: {e}") from None
        for spec in pipeline.nodes:
            parent = self.nodes[spec.name]
            for child in spec.children:
                parent.link(self.nodes[child])
        self.sources = [self.nodes[name] for name in pipeline.sources]
        self.stream_source = next(
            (n for n in self.sources if n.spec.type_name == "StreamNode"), None)
        self.measurements = _measurements(pipeline)
        #: measurement -> the fields this task can observe (None: all of them)
        self.fields = fields_needed(self) if self.measurements is not None else {}
        #: chunks flow node to node unless a multi-input node (union, join,
        #: combine) needs its parents' messages interleaved point by point
        self.chunked = not any(isinstance(n, MultiInputNode) for n in self.nodes.values())
        self.received = 0
        self.stopped = False
        self.throughput = 0.0
        self._sampled = 0
        self._sampled_at = started_at
        if self.unsupported:
            self.log.warn("task {task}: node types not run by this engine yet: {types}",
                          task=task_id, types=", ".join(sorted(set(self.unsupported))))

    # ------------------------------------------------------------ life

    def start(self) -> None:
        for node in self.nodes.values():
            node.start()

    def stop(self) -> None:
        self.stopped = True
        for node in self.nodes.values():
            try:
                node.stop()
            except Exception:
                self.log.failure("task {task} node {node}: error while stopping",
                                 task=self.id, node=node.name)

    def register_output(self, endpoint: str, node: Node) -> None:
        self.outputs[endpoint] = node

    # ------------------------------------------------------------ data

    def feed(self, points) -> None:
        """Deliver engine points (already routed to this task) to the stream source."""
        source = self.stream_source
        if source is None:
            return
        self.received += len(points)
        receive = source.receive
        for p in points:
            receive(p)

    def feed_rows(self, database: str, retention_policy: str, rows) -> Optional[int]:
        """Deliver written rows ``(series, fields, time)`` (already routed to
        this task) to the stream source: in chunks when the task allows it,
        else point by point, exactly as :meth:`feed` does.  None, or the
        index of the first row not taken yet: the caller delivers the rest
        later, before anything newer (a lane gave the reactor back)."""
        source = self.stream_source
        if source is None:
            return
        n = len(rows)
        self.received += n
        if not self.chunked or source.group_stats is not None:
            receive = source.receive
            for series, fields, when in rows:
                receive(Point(series.measurement, database, retention_policy, series.tags,
                              fields, when, NO_DIMENSIONS, ""))
            return
        counts = source.edge_counts
        points = None
        children = source.children
        for i, child in enumerate(children):
            counts[i] += n
            receive_rows = getattr(child, "receive_rows", None)
            if receive_rows is not None:
                rest = receive_rows(database, retention_policy, rows)
                while rest is not None:
                    if len(children) == 1:
                        # Given back (a lane's windows closing took its
                        # time): the router hands these rows over again.
                        counts[i] -= n - rest
                        self.received -= n - rest
                        return rest
                    more = receive_rows(database, retention_policy, rows[rest:])
                    rest = None if more is None else rest + more
                continue
            if points is None:
                points = [Point(series.measurement, database, retention_policy, series.tags,
                                fields, when, NO_DIMENSIONS, "")
                          for series, fields, when in rows]
            child.receive_many(points)

    def drain(self) -> None:
        """End of input (Kapacitor's ``Drain``): each node, parents first,
        emits what it still holds (``union``/``join`` flush their buffers)."""
        for node in self.nodes.values():
            try:
                out = node.finish()
            except Exception:
                self.log.failure("task {task} node {node}: error while finishing",
                                 task=self.id, node=node.name)
                continue
            if out is None:
                continue
            for msg in out if type(out) is list else [out]:
                node.forward(msg)

    @property
    def source_collected(self) -> int:
        source = self.stream_source or (self.sources[0] if self.sources else None)
        return 0 if source is None else self._collected(source)

    def sample(self, now: float) -> None:
        """Points per second at the source since the previous sample."""
        current = self.source_collected
        elapsed = now - self._sampled_at if self._sampled_at is not None else 0
        if elapsed > 0:
            self.throughput = (current - self._sampled) / elapsed
        self._sampled, self._sampled_at = current, now

    # ------------------------------------------------------------ stats

    def _collected(self, node: Node) -> int:
        if node is self.stream_source:
            return self.received
        total = 0
        for parent_name in node.spec.parents:
            parent = self.nodes[parent_name]
            for child, count in zip(parent.children, parent.edge_counts):
                if getattr(child, "node", child) is node:
                    total += count
        return total

    def edges(self) -> Dict[Tuple[str, str], int]:
        return {(node.name, child.name): count
                for node in self.nodes.values()
                for child, count in zip(node.children, node.edge_counts)}

    def execution_stats(self) -> dict:
        """``{"task-stats": …, "node-stats": …}`` with Go's (sorted) map keys."""
        node_stats = {}
        for name in sorted(self.nodes):
            node = self.nodes[name]
            values = node.stats()
            values["collected"] = self._collected(node)
            values["emitted"] = sum(node.edge_counts)
            node_stats[name] = {k: values[k] for k in sorted(values)}
        return {"task-stats": {"throughput": float(self.throughput)}, "node-stats": node_stats}

    def runtime_stats(self) -> "tick.RuntimeStats":
        return tick.RuntimeStats(
            nodes={name: node.stats() for name, node in self.nodes.items()},
            edges=self.edges(),
            throughput=float(self.throughput),
        )

    def dot(self, labels: bool = False) -> str:
        return self.compiled.dot(self.id, stats=self.runtime_stats(), labels=labels)


def _measurements(pipeline) -> Optional[frozenset]:
    """The measurements a stream task can use, or ``None`` for any.

    Only when every ``from()`` under ``stream`` names a measurement can the
    router skip the others; any node reading ``stream`` directly (or a
    ``from()`` without a measurement) needs them all.
    """
    wanted = set()
    for spec in pipeline.nodes:
        if spec.type_name != "StreamNode":
            continue
        for child_name in spec.children:
            child = pipeline.node(child_name)
            measurement = child.properties.get("Measurement") if child.type_name == "FromNode" else None
            if not measurement:
                return None
            wanted.add(measurement)
    return frozenset(wanted)
