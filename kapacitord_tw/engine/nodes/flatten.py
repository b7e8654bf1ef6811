"""``flatten()``: folds the points of one time (within ``.tolerance()``) into one.

Each point's fields are renamed after the values of its ``.on()`` tags
(``auth.server01.value``) and merged into a single point per group and
time.  A stream group emits its merged point when a point of a later time
(or a later barrier) arrives; a batch emits one merged point per time.
A group holds only the points of its current time.
"""

from __future__ import annotations

from typing import Dict, List, Optional

from kapacitord_tw.engine.messages import Batch, BatchPoint, Point, go_round
from kapacitord_tw.engine.node import GroupedNode, duration_ns, node_type


@node_type("FlattenNode")
class FlattenNode(GroupedNode):
    def __init__(self, spec, task):
        super().__init__(spec, task)
        self.on: List[str] = list(self.props.get("Dimensions") or ())
        delimiter = self.props.get("Delimiter")
        self.delimiter: str = "." if delimiter is None else delimiter
        self.tolerance = duration_ns(self.props.get("Tolerance"))
        self.drop_name = bool(self.props.get("DropOriginalFieldNameFlag", False))

    def new_group(self, first):
        return _FlattenGroup(self, first)

    def flatten(self, points) -> Dict[str, object]:
        """The merged fields of ``points`` (each ``(fields, tags)``)."""
        fields: Dict[str, object] = {}
        delimiter, on, drop = self.delimiter, self.on, self.drop_name
        for p_fields, tags in points:
            parts = []
            for tag in on:
                value = tags.get(tag)
                if value is None:
                    self.error(f"point missing tag for flatten operation: "
                               f"tag {tag} is missing from point")
                    break
                parts.append(value)
            else:
                prefix = delimiter.join(parts)
                if drop:
                    for value in p_fields.values():
                        fields[prefix] = value
                elif prefix:
                    prefix += delimiter
                    for name, value in p_fields.items():
                        fields[prefix + name] = value
                else:
                    fields.update(p_fields)
        return fields


class _FlattenGroup:
    __slots__ = ("node", "time", "name", "tags", "dimensions", "points")

    def __init__(self, node: FlattenNode, first):
        self.node = node
        self.time: Optional[int] = go_round(first.time, node.tolerance)
        self.name = first.name
        self.tags = first.group_tags()
        self.dimensions = first.dimensions
        self.points: List[tuple] = []

    def _add(self, t: int, fields, tags) -> Optional[tuple]:
        """Buffer a point; ``(time, fields)`` of the previous time when it is complete."""
        done = None
        if t != self.time:
            if self.points:
                done = (self.time, self.node.flatten(self.points))
                self.points = []
            self.time = t
        self.points.append((fields, tags))
        return done

    def _point(self, t: int, fields) -> Point:
        return Point(self.name, "", "", self.tags, fields, t, self.dimensions)

    def point(self, p: Point):
        done = self._add(go_round(p.time, self.node.tolerance), p.fields, p.tags)
        if done is None or not done[1]:
            return None
        return self._point(*done)

    def barrier(self, b):
        if self.time is not None and b.time > self.time and self.points:
            fields = self.node.flatten(self.points)
            self.points = []
            return [self._point(self.time, fields), b]
        return b

    def batch(self, b: Batch):
        tol = self.node.tolerance
        self.time = None
        self.points = []
        out: List[BatchPoint] = []
        for bp in b.points:
            done = self._add(go_round(bp.time, tol), bp.fields, bp.tags)
            if done is not None and done[1]:
                out.append(BatchPoint(done[0], done[1], self.tags))
        if self.points:
            out.append(BatchPoint(self.time, self.node.flatten(self.points), self.tags))
            self.points = []
        return b.evolve(points=out)
