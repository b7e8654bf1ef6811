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

from kapacitord_tw.engine.messages import Batch, BatchPoint, Point
from kapacitord_tw.engine.node import GroupedNode, NodeError, node_type, prop
from kapacitord_tw.engine.reducers import METHODS, ZERO_TIME, go_type
from kapacitord_tw.gocompat import go_quote

_MISSING = object()


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


class _Group:
    __slots__ = ("node", "name", "tags", "dims", "by_name", "group")

    def __init__(self, node: InfluxQLNode, first):
        self.node = node
        self.name = first.name
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
        collected = node.collect(b.points, "failed to aggregate point in batch")
        if collected is None:
            if not node.empty_ok:
                return None
            # An empty batch: count and sum still answer (0, float64 assumed).
            fn, values, points = node.functions[float], [], []
            results = [(0, 0 if node.method_name == "count" else 0.0, -1)]
        else:
            fn, values, points = collected
            results = fn(values, points)
        return node.emit(self, results, points, b.tmax)

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
        return node.emit(self, fn(values, points), points, self.time)


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
