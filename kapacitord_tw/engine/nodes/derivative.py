"""``derivative()``: the rate of change of a field between consecutive points of a group.

Each point (batch point) that has a previous one in its group (its batch)
gets the field ``.as()`` set to ``(value - previous) / (elapsed / unit)``,
its other fields and tags kept.  The first point only becomes the previous
one.  As in Kapacitor: a field that is missing or not a number is an error
and leaves the previous point as it was; two points at the same time are an
error ("elaspsed time was 0", Kapacitor's spelling) and the later one becomes
the previous; with ``.nonNegative()`` a decrease emits nothing but still
moves the previous point on.
"""

from __future__ import annotations

from kapacitord_tw.engine.messages import Batch, BatchPoint, Point
from kapacitord_tw.engine.node import GroupedNode, duration_ns, node_type, prop
from kapacitord_tw.engine.reducers import go_type
from kapacitord_tw.tick.gonum import float_div

_SECOND = 1_000_000_000


@node_type("DerivativeNode")
class DerivativeNode(GroupedNode):
    def __init__(self, spec, task):
        super().__init__(spec, task)
        self.field = prop(self, "Field", "")
        self.as_ = prop(self, "As", self.field) or self.field
        unit = self.props.get("Unit")
        self.unit = float(duration_ns(unit) if unit is not None else _SECOND)
        self.non_negative = bool(prop(self, "NonNegativeFlag", False))

    def new_group(self, first):
        return _DerivativeGroup(self)

    def derivative(self, previous, current):
        """``(value, store, emit)``: the derivative of ``current`` against ``previous``."""
        field = self.field
        value = current.fields.get(field)
        kind = type(value)
        if kind is not float and kind is not int:
            self.error("cannot perform derivative: field is the wrong type "
                       f"field={field} type={_type_name(value)}")
            return None, False, False
        if previous is None:
            return None, True, False
        elapsed = float(current.time - previous.time)
        if elapsed == 0:
            self.error("cannot perform derivative: elaspsed time was 0")
            return None, True, False
        diff = float(value) - float(previous.fields[field])
        if self.non_negative and diff < 0:
            return None, True, False
        return float_div(diff, float_div(elapsed, self.unit)), True, True


def _type_name(value) -> str:
    return "<nil>" if value is None else go_type(type(value))


class _DerivativeGroup:
    __slots__ = ("node", "previous")

    def __init__(self, node: DerivativeNode):
        self.node = node
        self.previous = None

    def _fields(self, p, value):
        fields = dict(p.fields)
        fields[self.node.as_] = value
        return fields

    def point(self, p: Point):
        value, store, emit = self.node.derivative(self.previous, p)
        if store:
            self.previous = p
        if not emit:
            return None
        return Point(p.name, p.database, p.retention_policy, p.tags, self._fields(p, value),
                     p.time, p.dimensions, p.group)

    def batch(self, b: Batch):
        self.previous = None
        out = []
        for bp in b.points:
            value, store, emit = self.node.derivative(self.previous, bp)
            if store:
                self.previous = bp
            if emit:
                out.append(BatchPoint(bp.time, self._fields(bp, value), bp.tags))
        return b.evolve(points=out)
