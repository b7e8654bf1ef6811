"""``combine()``: every combination of a group's points of one time, as one point each.

The points of one (tolerance-rounded) time are buffered per group; when a
later time arrives (or a batch ends) every k-combination of them, k being
the number of expressions, in index order, is tried: expression *s* takes
the first unused point of the combination that it matches.  A complete
match becomes one point, its fields and non-group tags prefixed with the
``.as()`` names.  The number of combinations is checked against ``.max()``
(default one million) before any is built, so a client cannot make one
time's work grow past that bound.
"""

from __future__ import annotations

from itertools import combinations
from typing import List

from kapacitord_tw.engine.messages import Point, go_round
from kapacitord_tw.engine.node import (
    GroupedNode, NodeError, duration_ns, lambda_program, node_type)


def combination_count(n: int, k: int) -> int:
    """n choose k, or -1 when ``n < k`` (Kapacitor's ``combination.Count``)."""
    if n < k:
        return -1
    count = 1
    for i in range(k):
        count = count * (n - i) // (i + 1)
    return count


@node_type("CombineNode")
class CombineNode(GroupedNode):
    def __init__(self, spec, task):
        super().__init__(spec, task)
        self.lambdas = list(self.props.get("Lambdas") or ())
        self.names: List[str] = list(self.props.get("Names") or ())
        if len(self.names) != len(self.lambdas):
            raise NodeError("number of prefixes specified by combine.as() must match "
                            "the number of combine expressions")
        delimiter = self.props.get("Delimiter")
        self.delimiter = "." if delimiter is None else delimiter
        self.prefixes = [n + self.delimiter for n in self.names]
        self.tolerance = duration_ns(self.props.get("Tolerance"))
        self.max = int(self.props.get("Max", 1_000_000))
        # Compiled once: each group's buffer only takes fresh evaluators.
        self.programs = [lambda_program(lam) for lam in self.lambdas]

    def new_group(self, first):
        return _CombineBuffer(self, first)


class _CombineBuffer:
    __slots__ = ("node", "time", "name", "dimensions", "predicates", "points")

    def __init__(self, node: CombineNode, first):
        self.node = node
        self.time = first.time
        self.name = first.name
        self.dimensions = first.dimensions
        self.predicates = [p.new_evaluator().predicate for p in node.programs]
        #: (time, fields, tags) of the current time
        self.points: List[tuple] = []

    def _add(self, t: int, fields, tags, out: list) -> None:
        t = go_round(t, self.node.tolerance)
        if t == self.time:
            self.points.append((t, fields, tags))
        else:
            self._combine(out)
            self.time = t
            self.points = [(t, fields, tags)]

    def point(self, p):
        out: list = []
        self._add(p.time, p.fields, p.tags, out)
        return out or None

    def batch(self, b):
        out: list = []
        self.name = b.name
        self.time = None
        self.points = []
        for bp in b.points:
            self._add(bp.time, bp.fields, bp.tags, out)
        self._combine(out)
        self.points = []
        return out or None

    def _combine(self, out: list) -> None:
        points = self.points
        if not points:
            return
        node = self.node
        k = len(self.predicates)
        count = combination_count(len(points), k)
        if count > node.max:
            node.error(f"refusing to perform combination as total combinations {count} "
                       f"exceeds max combinations {node.max}")
            return
        if count == -1:
            return
        matches = []
        for predicate in self.predicates:
            row = []
            for t, fields, tags in points:
                try:
                    row.append(bool(predicate(t, fields, tags)))
                except Exception as e:
                    node.error(f"error evaluating lambda expression: {e}")
                    row.append(False)
            matches.append(row)
        group_tags = set(self.dimensions.tag_names)
        prefixes = node.prefixes
        tolerance = node.tolerance
        for indices in combinations(range(len(points)), k):
            remaining = list(indices)
            chosen = []
            for s in range(k):
                row = matches[s]
                for pos, idx in enumerate(remaining):
                    if row[idx]:
                        chosen.append(points[idx])
                        del remaining[pos]
                        break
                else:
                    break
            if len(chosen) != k:
                continue
            fields: dict = {}
            tags: dict = {}
            for prefix, (_t, p_fields, p_tags) in zip(prefixes, chosen):
                for name, value in p_fields.items():
                    fields[prefix + name] = value
                for name, value in p_tags.items():
                    if name in group_tags:
                        tags[name] = value
                    else:
                        tags[prefix + name] = value
            out.append(Point(self.name, "", "", tags, fields,
                             go_round(chosen[0][0], tolerance), self.dimensions))
