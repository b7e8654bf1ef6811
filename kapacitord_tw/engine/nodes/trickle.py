"""``trickle()``: a batch edge turned into a stream edge (upstream ``trickle.go``).

Each point of a batch leaves as a stream point of the batch's measurement
and group (its dimensions are the batch's), with no database or retention
policy, in batch order; the batch's begin and end are not forwarded.
Points, barriers and group deletions pass through unchanged.  Without this
node a ``batch|query()|trickle()|window()`` task emitted nothing.
"""

from __future__ import annotations

from kapacitord_tw.engine.messages import Point
from kapacitord_tw.engine.node import Node, node_type


@node_type("TrickleNode")
class TrickleNode(Node):
    def batch(self, b):
        name, dims = b.name, b.dimensions
        return [Point(name, "", "", bp.tags, bp.fields, bp.time, dims) for bp in b.points]

    def point(self, p):
        return p
