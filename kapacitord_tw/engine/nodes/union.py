"""``union()``: merges its parents' streams in time order.

Each parent's messages wait in their own queue until every parent has
reported a time (its low mark); then everything up to the lowest time is
released, oldest first.  When the input ends the queues are drained.
"""

from __future__ import annotations

from collections import deque

from kapacitord_tw.engine.messages import Batch
from kapacitord_tw.engine.node import MultiInputNode, node_type


@node_type("UnionNode")
class UnionNode(MultiInputNode):
    def __init__(self, spec, task):
        super().__init__(spec, task)
        self.rename = self.props.get("Rename") or ""
        count = max(1, len(spec.parents))
        self.queues = [deque() for _ in range(count)]
        self.low_marks = [None] * count

    def point_from(self, index, p):
        if self.rename:
            p = p.evolve(name=self.rename)
        self.queues[index].append(p)
        return self._ready(False)

    def batch_from(self, index, b: Batch):
        if self.rename:
            b = b.evolve(name=self.rename)
        self.queues[index].append(b)
        return self._ready(False)

    def barrier_from(self, index, b):
        self.queues[index].append(b)
        return self._ready(False)

    def finish(self):
        return self._ready(True)

    def _ready(self, drain: bool) -> list:
        out = []
        queues, marks = self.queues, self.low_marks
        emitted = True
        while emitted:
            emitted = False
            mark = None
            valid = 0
            for i, q in enumerate(queues):
                source_mark = marks[i]
                if q:
                    t = q[0].time
                    if mark is None or t < mark:
                        mark = t
                    source_mark = t
                marks[i] = source_mark
                if source_mark is not None:
                    valid += 1
                    if not drain and (mark is None or source_mark < mark):
                        mark = source_mark
            if not drain and valid != len(queues):
                return out
            if mark is None:
                return out
            for q in queues:
                while q and not q[0].time > mark:
                    out.append(q.popleft())
                    emitted = True
        return out
