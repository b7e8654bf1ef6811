"""The shape every runtime node shares: receive, process, forward, count.

A node's handlers (``point``, ``batch``, ``barrier``, ``delete_group``)
return what to forward: ``None``, one message, or a list of messages, like
Kapacitor's ``ForwardReceiver``.  The base class times the handler alone
(``avg_exec_time_ns`` excludes the children), forwards the result to every
child and counts it on the edge: points on stream edges, whole batches on
batch edges.  A handler that raises :class:`NodeError` (or any exception)
costs the message, not the task: the node's ``errors`` counter goes up and
one line names the task and the node.

:class:`GroupedNode` keeps one state object per group, created on the
group's first message and dropped on :class:`DeleteGroup`, as Kapacitor's
``GroupedConsumer`` does; ``working_cardinality`` is the number of groups.
"""

from __future__ import annotations

import time
from typing import Callable, Dict, List, Type

from twisted.logger import Logger

from kapacitord_tw.engine.messages import Barrier, Batch, DeleteGroup, Point
from kapacitord_tw.tick import default_node_stats

_perf_ns = time.perf_counter_ns

#: One message in this many is timed for ``avg_exec_time_ns`` (the first
#: always is): Kapacitor's ``[stats] timing-sample-rate`` defaults to 10%,
#: and two clock reads per node per point cost more than most handlers.
TIMING_SAMPLE_EVERY = 10

#: type_name (Go struct name) -> node class
NODE_TYPES: Dict[str, Type["Node"]] = {}


def node_type(*type_names: str) -> Callable[[Type["Node"]], Type["Node"]]:
    """Register a class as the runtime of the pipeline nodes named ``type_names``."""

    def register(cls):
        for name in type_names:
            NODE_TYPES[name] = cls
        return cls

    return register


class NodeError(Exception):
    """A message could not be processed; the text is what Kapacitor logs."""


class Node:
    """A running pipeline node; ``spec`` is its :class:`~kapacitord_tw.tick.pipeline.PipelineNode`."""

    log = Logger(namespace="kapacitord_tw.engine")

    def __init__(self, spec, task):
        self.spec = spec
        self.name = spec.name
        self.task = task
        self.props = spec.properties
        self.children: List[Node] = []
        #: messages sent to each child (same order as ``children``)
        self.edge_counts: List[int] = []
        self.batch_edges = spec.provides == "batch"
        self.errors = 0
        self.quiet = bool(self.props.get("QuietFlag", False))
        #: this node's own counters (alerts_triggered, fields_defaulted ...)
        self.counters: Dict[str, int] = {
            k: 0 for k in default_node_stats(spec.type_name)
            if k not in ("avg_exec_time_ns", "errors", "working_cardinality")
        }
        self._exec_ns = 0
        self._exec_count = 0
        self._until_timed = 1
        #: group -> (group tags, dimensions, emitted), kept only when a stats node watches us
        self.group_stats = None
        self._suppressed = 0
        self._log_window = -1.0
        self._logged_in_window = 0
        #: while a chunk is processed, what the handlers forward directly
        #: (e.g. a callback that fires at once) joins the chunk's output here
        self._collecting = None

    # ---------------------------------------------------------------- wiring

    def link(self, child: "Node") -> None:
        self.children.append(child.inlet(self))
        self.edge_counts.append(0)

    def inlet(self, parent: "Node"):
        """What ``parent`` delivers to: the node itself, or a per-parent inlet."""
        return self

    def finish(self):
        """The input ended (task drained): what to emit before closing, like ``Finish()``."""
        return None

    def start(self) -> None:
        """Called once the whole graph is linked (timers, files, routes)."""

    def stop(self) -> None:
        """Called when the task stops; release what ``start`` took."""

    # ------------------------------------------------------------ messages

    def receive(self, msg) -> None:
        self._until_timed -= 1
        timed = not self._until_timed
        if timed:
            self._until_timed = TIMING_SAMPLE_EVERY
            started = _perf_ns()
        try:
            out = self._dispatch(msg)
        except NodeError as e:
            if timed:
                self._count_time(started)
            self.error(str(e))
            return
        except Exception as e:  # a bug in a node must not stop the task
            if timed:
                self._count_time(started)
            self.errors += 1
            self.log.failure("task {task} node {node}: internal error processing message",
                             task=self.task.id, node=self.name)
            return
        if timed:
            self._exec_ns += _perf_ns() - started
            self._exec_count += 1
        if out is not None:
            if type(out) is list:
                for m in out:
                    self.forward(m)
            else:
                self.forward(out)

    def receive_many(self, msgs: list) -> None:
        """A chunk of messages, in order (tasks without multi-input nodes).

        The same handlers as :meth:`receive`, in one loop and timed once;
        the children get the outputs as one chunk.  Per node, the messages
        and their order are what per-message delivery gives.
        """
        started = _perf_ns()
        out: list = []
        self._collecting = out
        one = self._handle_into
        for msg in msgs:
            one(msg, out)
        self._end_chunk(started, len(msgs), out)

    def _dispatch(self, msg):
        """The handler's result for ``msg``, by message type."""
        kind = type(msg)
        if kind is Point:
            return self.point(msg)
        if kind is Batch:
            return self.batch(msg)
        if kind is Barrier:
            return self.barrier(msg)
        if kind is DeleteGroup:
            return self.delete_group(msg)
        raise NodeError(f"unexpected message {kind.__name__}")  # pragma: no cover

    def _end_chunk(self, started: int, count: int, out: list) -> None:
        self._collecting = None
        self._exec_ns += _perf_ns() - started
        self._exec_count += count
        if out:
            self.forward_many(out)

    def _handle_into(self, msg, out: list) -> None:
        """One message of a chunk: its handler's result joins ``out``; a
        failure costs the message, as in :meth:`receive`."""
        try:
            r = self._dispatch(msg)
        except NodeError as e:
            self.error(str(e))
            return
        except Exception:
            self.errors += 1
            self.log.failure("task {task} node {node}: internal error processing message",
                             task=self.task.id, node=self.name)
            return
        if r is not None:
            if type(r) is list:
                out.extend(r)
            else:
                out.append(r)

    def forward_many(self, msgs: list) -> None:
        """Send a chunk to every child, counting data messages on the edges."""
        counted_type = Batch if self.batch_edges else Point
        n = [*map(type, msgs)].count(counted_type)  # in C: 15-20 against 40-60 ns a message
        if self.group_stats is not None:
            for m in msgs:
                self._count_group(m, type(m) is counted_type)
        counts = self.edge_counts
        for i, child in enumerate(self.children):
            counts[i] += n
            child.receive_many(msgs)

    def _count_time(self, started: int) -> None:
        self._exec_ns += _perf_ns() - started
        self._exec_count += 1

    def forward(self, msg) -> None:
        """Send ``msg`` to every child, counting it on the edges."""
        if self._collecting is not None:
            self._collecting.append(msg)
            return
        children = self.children
        counts = self.edge_counts
        counted = type(msg) is (Batch if self.batch_edges else Point)
        if self.group_stats is not None:
            self._count_group(msg, counted)
        if len(children) == 1:
            if counted:
                counts[0] += 1
            children[0].receive(msg)
            return
        for i, child in enumerate(children):
            if counted:
                counts[i] += 1
            child.receive(msg)

    def _count_group(self, msg, counted: bool) -> None:
        if counted and self.children:
            entry = self.group_stats.get(msg.group)
            if entry is None:
                self.group_stats[msg.group] = (msg.group_tags(), msg.dimensions, 1)
            else:
                self.group_stats[msg.group] = (entry[0], entry[1], entry[2] + 1)
        elif type(msg) is DeleteGroup:
            self.group_stats.pop(msg.group, None)

    # Default handlers: data a node does not handle is an error, control
    # messages pass through.

    def point(self, p: Point):
        raise NodeError(f"{self.spec.desc} does not support stream data")

    def batch(self, b: Batch):
        raise NodeError(f"{self.spec.desc} does not support batch data")

    def barrier(self, b: Barrier):
        return b

    def delete_group(self, d: DeleteGroup):
        return d

    # ------------------------------------------------------------ errors

    def error(self, message: str) -> None:
        """Count a failed message and log it (at most a few lines a second per node)."""
        self.errors += 1
        if self.quiet:
            return
        now = self.task.clock.seconds()
        if now - self._log_window >= 1.0:
            if self._suppressed:
                self.log.error("task {task} node {node}: {count} more errors not logged",
                               task=self.task.id, node=self.name, count=self._suppressed)
            self._log_window, self._logged_in_window, self._suppressed = now, 0, 0
        if self._logged_in_window < 10:
            self._logged_in_window += 1
            self.log.error("task {task} node {node}: {error}",
                           task=self.task.id, node=self.name, error=message)
        else:
            self._suppressed += 1

    # ------------------------------------------------------------- stats

    @property
    def cardinality(self) -> int:
        return 0

    def stats(self) -> Dict[str, int]:
        """Kapacitor's stat map for this node, without collected/emitted."""
        values = dict(self.counters)
        values["errors"] = self.errors
        values["working_cardinality"] = self.cardinality
        values["avg_exec_time_ns"] = (self._exec_ns // self._exec_count
                                      if self._exec_count else 0)
        return values


class _Inlet:
    """One parent's edge into a multi-input node: remembers which parent it is."""

    __slots__ = ("node", "index", "name")

    def __init__(self, node: "MultiInputNode", index: int):
        self.node = node
        self.index = index
        self.name = node.name

    def receive(self, msg) -> None:
        self.node.receive_from(self.index, msg)

    def receive_many(self, msgs: list) -> None:
        receive_from, index = self.node.receive_from, self.index
        for msg in msgs:
            receive_from(index, msg)


class MultiInputNode(Node):
    """A node with several parents (``union``, ``join``, ``combine``): its
    handlers get the parent's index (its position in the script) first."""

    def inlet(self, parent: Node):
        return _Inlet(self, list(self.spec.parents).index(parent.name))

    def receive_from(self, index: int, msg) -> None:
        self._source = index
        self.receive(msg)

    _source = 0

    def point(self, p):
        return self.point_from(self._source, p)

    def batch(self, b):
        return self.batch_from(self._source, b)

    def barrier(self, b):
        return self.barrier_from(self._source, b)

    def delete_group(self, d):
        return self.delete_from(self._source, d)

    def point_from(self, index: int, p):
        return Node.point(self, p)

    def batch_from(self, index: int, b):
        return Node.batch(self, b)

    def barrier_from(self, index: int, b):
        return b

    def delete_from(self, index: int, d):
        return d


class GroupedNode(Node):
    """A node with one state object per group (``edge.GroupedConsumer``).

    Subclasses implement :meth:`new_group`, returning an object with the
    handlers they need (``point``/``batch``/``barrier``/``delete_group``);
    missing ones fall back to the node's defaults.
    """

    #: bumped when a group is deleted (what caches of groups check)
    group_epoch = 0

    def __init__(self, spec, task):
        super().__init__(spec, task)
        self.groups: Dict[str, object] = {}

    @property
    def cardinality(self) -> int:
        return len(self.groups)

    def new_group(self, first):
        raise NotImplementedError

    def _group(self, msg):
        g = self.groups.get(msg.group)
        if g is None:
            g = self.groups[msg.group] = self.new_group(msg)
        return g

    def point(self, p: Point):
        # _group inlined: this runs for every point at every grouped node.
        g = self.groups.get(p.group)
        if g is None:
            g = self.groups[p.group] = self.new_group(p)
        handler = getattr(g, "point", None)
        if handler is None:
            return Node.point(self, p)
        return handler(p)

    def batch(self, b: Batch):
        g = self._group(b)
        handler = getattr(g, "batch", None)
        if handler is None:
            return Node.batch(self, b)
        return handler(b)

    def barrier(self, b: Barrier):
        g = self._group(b)
        handler = getattr(g, "barrier", None)
        return b if handler is None else handler(b)

    def delete_group(self, d: DeleteGroup):
        g = self.groups.pop(d.group, None)
        self.group_epoch += 1
        if g is not None:
            handler = getattr(g, "delete_group", None)
            if handler is not None:
                return handler(d)
        return d


def prop(node: Node, name: str, default=None):
    """A pipeline property, or ``default`` when the script did not set it."""
    value = node.props.get(name)
    return default if value is None else value


def duration_ns(value) -> int:
    """A pipeline duration property as nanoseconds (0 when unset)."""
    if value is None:
        return 0
    return int(getattr(value, "nanoseconds", value))


def lambda_program(lambda_node):
    """A TICKscript lambda compiled once; ``.new_evaluator()`` gives each group its own state."""
    from kapacitord_tw.engine.lambdas import compile_lambda

    return compile_lambda(lambda_node)


def lambda_evaluator(lambda_node):
    """A fresh evaluator of a TICKscript lambda (its own stateful-function state)."""
    return lambda_program(lambda_node).new_evaluator()
