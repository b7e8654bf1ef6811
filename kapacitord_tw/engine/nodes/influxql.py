"""The InfluxQL function nodes: ``mean()``, ``count()``, ``top()``, ``elapsed()``...

One node class runs every method of :data:`~kapacitord_tw.engine.reducers.METHODS`,
on both edges, as Kapacitor's ``InfluxQLNode`` does:

* a batch is reduced as a whole (``window()|mean('x')``);
* on a stream, the points of one group that share a time are reduced
  together, when the first point with another time arrives;
* a transformation (``elapsed``, ``difference``, ``movingAverage``,
  ``cumulativeSum``) answers every point (every batch point) with at most
  one point, from state kept per group (per batch).

The field's type is fixed by the first point that has the field (the
"reduce context"); points without it, or of another type, are errors
counted on the node and skipped, with Kapacitor's messages.  What comes
out follows ``EmitPoint``/``EmitBatch``: the result field is named by
``.as()``; a selector (first, last, min, max, percentile) emits the
selected point's own tags and fields; the time is the batch's (or the
stream points') unless the method has a point time of its own and
``.usePointTimes()`` asked for it (transformations and holtWinters always
use point times).
"""

from __future__ import annotations

from collections import deque

from twisted.internet.defer import DeferredSemaphore
from twisted.internet.threads import deferToThreadPool

from kapacitord_tw.engine.messages import Batch, BatchPoint, Point
from kapacitord_tw.engine.node import GroupedNode, NodeError, node_type, prop
from kapacitord_tw.engine.reducers import FOLDS, METHODS, ZERO_TIME, go_type
from kapacitord_tw.gocompat import go_quote

_MISSING = object()

#: holtWinters fits waiting for their thread, per node, before batches are dropped.
MAX_PENDING_FITS = 64

#: Threads of the reactor's pool that fits may hold at once, all tasks together,
#: so name resolution and the store's fsyncs always find a free thread.
FIT_THREADS = DeferredSemaphore(2)


@node_type("InfluxQLNode")
class InfluxQLNode(GroupedNode):
    def __init__(self, spec, task):
        super().__init__(spec, task)
        method_name = prop(self, "Method", "")
        method = METHODS.get(method_name)
        if method is None:
            raise NodeError(f"unsupported influxql function {method_name!r}")
        self.method = method
        self.method_name = method_name
        self.field = prop(self, "Field", "")
        self.as_ = prop(self, "As", method_name)
        args = list(self.props.get("Args") or ())
        _check_args(method_name, args)
        #: {python type of the field: reduce function (or state factory)}
        self.functions = method.build(args)
        self.empty_ok = method.empty_ok
        self.selector = method.selector
        self.transformation = method.transformation
        self.point_times = bool(prop(self, "PointTimes", False)) or method.transformation
        self.emits_batches = spec.provides == "batch"
        clock = task.clock
        #: holtWinters fits take ~0.3 s for 10 points in Python: on a real
        #: reactor they run in its thread pool, their results forwarded in order.
        self.outbox = (_FitOutbox(self, clock)
                       if method_name == "holtWinters" and hasattr(clock, "getThreadPool")
                       and hasattr(clock, "callFromThread") else None)

    def stop(self) -> None:
        if self.outbox is not None:
            self.outbox.close()

    def barrier(self, b):
        return self._behind_fits(super().barrier(b))

    def delete_group(self, d):
        return self._behind_fits(super().delete_group(d))

    def _behind_fits(self, out):
        if self.outbox is not None and self.outbox.entries:
            self.outbox.add_ready(out)
            return None
        return out

    def reduce_and_emit(self, g, fn, values, points, when: int):
        """Run ``fn`` and emit its results (later, for an offloaded fit)."""
        if self.outbox is None:
            return self.emit(g, fn(values, points), points, when)
        self.outbox.add_fit(fn, values, points,
                            lambda results: self.emit(g, results, points, when))
        return None

    def folds(self) -> bool:
        """A window before this node may fold its points (``nodes.window``):
        the method's result is a sum and a count's, and nothing is offloaded."""
        return self.method_name in FOLDS and self.outbox is None

    def reduce_folded(self, g, b: Batch):
        """A folding window's batch: the fold's sum and count, and the
        points after them added as the reduce context would (its type is
        the fold's first value's, a float; other points are errors)."""
        total, n = b.folded
        field = self.field
        for p in b.points:
            value = p.fields.get(field, _MISSING)
            error = self.type_error(value, float)
            if error is not None:
                self.error(f"failed to aggregate point in batch: {error}")
                continue
            total += value
            n += 1
        return self.emit(g, FOLDS[self.method_name](total, n), [], b.tmax)

    def new_group(self, first):
        if self.transformation:
            return _TransformGroup(self, first)
        return _AggregateGroup(self, first)

    # ------------------------------------------------ the reduce context

    def collect(self, points, aggregate_error: str):
        """``(reduce function, values, points)`` of the points that can be
        aggregated, or None when no point fixed the field's type.  Errors are
        counted (and logged) as Kapacitor's reduce context reports them."""
        field = self.field
        try:
            values = [p.fields[field] for p in points]
        except KeyError:
            values = None
        if values is not None:
            kinds = set(map(type, values))
            if len(kinds) == 1:
                fn = self.functions.get(kinds.pop())
                if fn is not None:
                    return fn, values, points
        return self._collect_slowly(points, aggregate_error)

    def _collect_slowly(self, points, aggregate_error: str):
        field = self.field
        kind = fn = None
        values, kept = [], []
        for p in points:
            value = p.fields.get(field, _MISSING)
            if kind is None:
                fn = self.realize(value)
                if fn is None:
                    continue
                kind = type(value)
            error = self.type_error(value, kind)
            if error is not None:
                self.error(f"{aggregate_error}: {error}")
                continue
            values.append(value)
            kept.append(p)
        return None if kind is None else (fn, values, kept)

    def realize(self, value):
        """The function for ``value``'s type, or None (an error is counted)."""
        if value is _MISSING:
            self.error("failed to realize reduce context from fields: "
                       f"field {go_quote(self.field)} missing from point")
            return None
        fn = self.functions.get(type(value))
        if fn is None:
            self.error("failed to realize reduce context from fields: "
                       f"invalid influxql func {self.method_name} with field {self.field}: "
                       f"cannot apply {self.method_name} to {go_type(type(value))} field")
        return fn

    def type_error(self, value, kind):
        if value is _MISSING:
            return f"field {self.field} missing from point cannot aggregate"
        if type(value) is not kind:
            return (f"field {self.field} has wrong type: got {go_type(type(value))} "
                    f"exp {go_type(kind)}")
        return None

    # ------------------------------------------------------- emitting

    def emit(self, g, results, points, when: int):
        return (self.emit_batch(g, results, points, when) if self.emits_batches
                else self.emit_point(g, results, points, when))

    def emit_point(self, g, results, points, when: int):
        """``EmitPoint``: exactly one result becomes a point, anything else nothing."""
        if len(results) != 1:
            return None
        t, value, index = results[0]
        if self.point_times and t != ZERO_TIME:
            when = t
        if self.selector:
            src = points[index]
            tags, fields = src.tags, src.fields
            if self.as_ != self.field:
                fields = dict(fields)
                fields[self.as_] = fields.pop(self.field)
        else:
            tags, fields = g.tags, {self.as_: value}
        return Point(g.name, "", "", tags, fields, when, g.dims, g.group)

    def emit_batch(self, g, results, points, when: int) -> Batch:
        """``EmitBatch``: one batch point per result; top/bottom keep their points' tags."""
        as_, group_tags, point_times = self.as_, g.tags, self.point_times
        tmax = when
        out = []
        for t, value, index in results:
            at = t if point_times and t != ZERO_TIME else when
            tags = group_tags
            if index >= 0:
                own = points[index].tags
                if own:
                    tags = {**group_tags, **own}
            out.append(BatchPoint(at, {as_: value}, tags))
            if at > tmax:
                tmax = at
        return Batch(g.name, group_tags, g.by_name, tmax, out, group=g.group)


def _check_args(method: str, args: list) -> None:
    """Refuse arguments the Go reducers would panic on (Kapacitor's process would die)."""
    if method in ("top", "bottom") and (not args or int(args[0]) < 1):
        raise NodeError(f"{method} needs a positive number of points")
    if method == "movingAverage" and (not args or int(args[0]) < 1):
        raise NodeError("movingAverage needs a positive window")
    if method == "elapsed" and (not args or int(getattr(args[0], "nanoseconds", args[0])) <= 0):
        raise NodeError("elapsed needs a positive unit")
    if method == "percentile" and not args:
        raise NodeError("percentile needs a percentile")
    if method == "holtWinters" and len(args) < 4:
        raise NodeError("holtWinters needs h, m and an interval")


class _BatchPoints:
    """A batch's points as a reducer sees them, built only when it reads one
    (selectors, medians and modes read times; means and sums do not)."""

    __slots__ = ("batch",)

    def __init__(self, batch: Batch):
        self.batch = batch

    def __getitem__(self, index):
        return self.batch.points[index]

    def __len__(self) -> int:
        return len(self.batch.columns[0])

    def __iter__(self):
        return iter(self.batch.points)


class _Group:
    __slots__ = ("node", "name", "tags", "dims", "by_name", "group")

    def __init__(self, node: InfluxQLNode, first):
        self.node = node
        self.name = getattr(first, "name", "")  # a barrier has none, as in Go
        self.tags = first.group_tags()
        self.dims = first.dimensions
        self.by_name = first.dimensions.by_name
        self.group = first.group


class _AggregateGroup(_Group):
    """Aggregates and selectors: a whole batch, or the stream points of one time."""

    __slots__ = ("time", "pending")

    def __init__(self, node, first):
        super().__init__(node, first)
        self.time = first.time
        self.pending = []

    def batch(self, b: Batch):
        node = self.node
        if b.folded is not None:
            return node.reduce_folded(self, b)
        columns = b.columns
        if columns is not None and columns[1] == node.field and node.outbox is None:
            # A window's values of this field, one type: reduced without
            # building the batch points (built if the reducer reads one).
            values = columns[2]
            kinds = set(map(type, values))
            if len(kinds) == 1:
                fn = node.functions.get(kinds.pop())
                if fn is not None:
                    return node.reduce_and_emit(self, fn, values, _BatchPoints(b), b.tmax)
        collected = node.collect(b.points, "failed to aggregate point in batch")
        if collected is None:
            if not node.empty_ok:
                return None
            # An empty batch: count and sum still answer (0, float64 assumed).
            results = [(0, 0 if node.method_name == "count" else 0.0, -1)]
            return node.emit(self, results, [], b.tmax)
        fn, values, points = collected
        return node.reduce_and_emit(self, fn, values, points, b.tmax)

    def point(self, p: Point):
        if p.time == self.time:
            self.pending.append(p)
            return None
        out = self._flush()
        self.name = p.name
        self.time = p.time
        self.pending = [p]
        return out

    def _flush(self):
        pending = self.pending
        if not pending:
            return None
        node = self.node
        collected = node.collect(pending, "failed to aggregate point")
        if collected is None:
            return None
        fn, values, points = collected
        return node.reduce_and_emit(self, fn, values, points, self.time)


class _TransformGroup(_Group):
    """elapsed, difference, movingAverage, cumulativeSum: one answer per point."""

    __slots__ = ("state", "kind")

    def __init__(self, node, first):
        super().__init__(node, first)
        self.state = None
        self.kind = None

    def _step(self, p, aggregate_error: str):
        """Add ``p`` to the state; the state's result, or None."""
        node = self.node
        value = p.fields.get(node.field, _MISSING)
        if self.state is None:
            factory = node.realize(value)
            if factory is None:
                return None
            self.state, self.kind = factory(), type(value)
        error = node.type_error(value, self.kind)
        if error is None:
            self.state.add(p.time, value)
        else:
            node.error(f"{aggregate_error}: {error}")
        results = self.state.emit()
        return results[0] if len(results) == 1 else None

    def point(self, p: Point):
        result = self._step(p, "failed to aggregate point")
        if result is None:
            return None
        t, value = result
        return Point(self.name, "", "", self.tags, {self.node.as_: value}, t,
                     self.dims, self.group)

    def batch(self, b: Batch):
        self.state = self.kind = None
        as_, tags = self.node.as_, self.tags
        out = []
        for bp in b.points:
            result = self._step(bp, "failed to aggregate batch point")
            if result is not None:
                out.append(BatchPoint(result[0], {as_: result[1]}, tags))
        return b.evolve(points=out)


class _FitEntry:
    __slots__ = ("job", "ready", "out")

    def __init__(self, job, ready: bool, out):
        self.job = job
        self.ready = ready
        self.out = out


class _FitOutbox:
    """What a holtWinters node emits, in arrival order: fits computed one at
    a time in the reactor's thread pool, and the barriers and deletes that
    arrived behind them.  At most :data:`MAX_PENDING_FITS` fits wait; past
    that a batch is dropped with an error rather than queued without bound."""

    def __init__(self, node: InfluxQLNode, reactor):
        self.node = node
        self.reactor = reactor
        self.entries = deque()
        self.waiting = 0
        self.running = False
        self.closed = False

    def add_fit(self, fn, values, points, finish) -> None:
        if self.waiting >= MAX_PENDING_FITS:
            self.node.error("holtWinters is behind: batch dropped")
            return
        self.waiting += 1
        self.entries.append(_FitEntry((fn, values, points, finish), False, None))
        self._start_next()

    def add_ready(self, out) -> None:
        self.entries.append(_FitEntry(None, True, out))

    def close(self) -> None:
        self.closed = True
        self.entries.clear()

    def _start_next(self) -> None:
        if self.running or self.closed:
            return
        for entry in self.entries:
            if entry.job is not None:
                fn, values, points, finish = entry.job
                entry.job = None
                self.waiting -= 1
                self.running = True
                d = FIT_THREADS.run(deferToThreadPool, self.reactor,
                                    self.reactor.getThreadPool(), fn, values, points)
                d.addCallbacks(self._done, self._failed,
                               callbackArgs=(entry, finish), errbackArgs=(entry,))
                return

    def _done(self, results, entry, finish) -> None:
        self._settle(entry, finish(results))

    def _failed(self, failure, entry) -> None:
        self.node.errors += 1
        self.node.log.failure("task {task} node {node}: holtWinters fit failed",
                              failure, task=self.node.task.id, node=self.node.name)
        self._settle(entry, None)

    def _settle(self, entry, out) -> None:
        self.running = False
        if self.closed:
            return
        entry.ready, entry.out = True, out
        entries = self.entries
        while entries and entries[0].ready:
            out = entries.popleft().out
            if out is None:
                continue
            for message in (out if type(out) is list else (out,)):
                self.node.forward(message)
        self._start_next()
