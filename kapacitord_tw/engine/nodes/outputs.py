"""Nodes whose output leaves the task: ``httpOut`` (the latest result per group) and ``noOp``."""

from __future__ import annotations

from typing import Dict, List, Optional

from kapacitord_tw.engine.messages import Batch, Point
from kapacitord_tw.engine.node import Node, node_type
from kapacitord_tw.engine.rows import batch_row, point_row


@node_type("HTTPOutNode")
class HTTPOutNode(Node):
    """``httpOut(name)``: serves the last point or batch of each group at
    ``/kapacitor/v1/tasks/<task>/<name>``, series in order of group creation."""

    def __init__(self, spec, task):
        super().__init__(spec, task)
        self.endpoint = self.props.get("Endpoint", "")
        self._index: Dict[str, int] = {}
        self._series: List[Optional[dict]] = []
        task.register_output(self.endpoint, self)

    @property
    def cardinality(self) -> int:
        return len(self._index)

    def _slot(self, group: str) -> int:
        idx = self._index.get(group)
        if idx is None:
            idx = self._index[group] = len(self._series)
            self._series.append(None)
        return idx

    def point(self, p: Point):
        self._series[self._slot(p.group)] = point_row(p)
        return p

    def batch(self, b: Batch):
        self._series[self._slot(b.group)] = batch_row(b)
        return b

    def barrier(self, b):
        self._slot(b.group)
        return b

    def delete_group(self, d):
        idx = self._index.pop(d.group, None)
        if idx is not None:
            del self._series[idx]
            for group, i in self._index.items():
                if i > idx:
                    self._index[group] = i - 1
        return d

    def result(self) -> dict:
        """``models.Result`` as Go marshals it: a group seen but not yet filled is ``null``."""
        return {"series": list(self._series) if self._series else None}


@node_type("NoOpNode")
class NoOpNode(Node):
    def point(self, p):
        return p

    def batch(self, b):
        return b
