"""Where points enter a task and get their groups: ``stream``, ``from`` and ``groupBy``."""

from __future__ import annotations

from typing import Dict, List, Optional, Tuple

from kapacitord_tw.engine.messages import (
    Batch, Dimensions, Point, go_round, go_truncate, group_id)
from kapacitord_tw.engine.node import (
    Node, _perf_ns, duration_ns, lambda_evaluator, node_type, prop)

from kapacitord_tw.engine.nodes.lane import plan as plan_lane

_UNPLANNED = object()


def tag_names(dimensions, excluded=()) -> Tuple[bool, Tuple[str, ...]]:
    """``determineTagNames``: (all tags?, the named tags sorted, minus ``excluded``)."""
    every = False
    names: List[str] = []
    for d in dimensions or ():
        if isinstance(d, str):
            names.append(d)
        else:  # a StarNode
            every = True
    names.sort()
    return every, tuple(n for n in names if n not in excluded)


def group_tag_names(tags: Dict[str, str], every: bool, names: Tuple[str, ...],
                    excluded=()) -> Tuple[str, ...]:
    """``computeTagNames``: a point's dimension tags."""
    if every:
        return tuple(k for k in sorted(tags) if k not in excluded)
    return names


@node_type("StreamNode")
class StreamNode(Node):
    """``stream``: every point of the task's dbrps, as written."""

    def point(self, p):
        return p


@node_type("FromNode")
class FromNode(Node):
    """``from()``: filters by database, retention policy, measurement and ``where``; sets the groups."""

    def __init__(self, spec, task):
        super().__init__(spec, task)
        self.database = prop(self, "Database", "")
        self.retention_policy = prop(self, "RetentionPolicy", "")
        self.measurement = prop(self, "Measurement", "")
        self.truncate = duration_ns(self.props.get("Truncate"))
        self.round = duration_ns(self.props.get("Round"))
        self.by_name = bool(prop(self, "GroupByMeasurementFlag", False))
        self.every_tag, self.tag_names = tag_names(self.props.get("Dimensions"))
        self.fixed_dimensions: Optional[Dimensions] = (
            None if self.every_tag else Dimensions(self.by_name, self.tag_names))
        lam = self.props.get("Lambda")
        self.where = lambda_evaluator(lam) if lam is not None else None
        #: key of this node's grouping in a Series' memo (equal for equal groupings)
        # A string: its hash is cached, a tuple's is computed at every look-up.
        self._memo_key = ("from\n" + repr(self.fixed_dimensions) if self.fixed_dimensions is not None
                          else f"from*\n{self.by_name}")
        #: this node, its where and window in one loop (see ``nodes.lane``),
        #: planned on the first rows, once the task is linked
        self._lane = _UNPLANNED

    def receive_rows(self, database: str, retention_policy: str, rows) -> Optional[int]:
        """A chunk of written rows ``(series, fields, time)`` straight from
        the router: filtered and grouped here, so each point that passes is
        built once, with its group (memoised per series and node).  None,
        or (a lane's) the index of the first row not taken yet."""
        started = _perf_ns()
        if ((self.database and database != self.database)
                or (self.retention_policy and retention_policy != self.retention_policy)):
            self._exec_ns += _perf_ns() - started
            self._exec_count += len(rows)
            return
        # A from -> where -> window task takes the rows in one loop, which
        # repeats this one's filtering and grouping inline (keep them alike).
        lane = self._lane
        if lane is _UNPLANNED:
            lane = self._lane = plan_lane(self)
        if lane is not None and lane.usable():
            return lane.run(database, retention_policy, rows)
        measurement = self.measurement
        where = self.where.predicate if self.where is not None else None
        truncate, rounding = self.truncate, self.round
        memo_key = self._memo_key
        new_point = object.__new__
        out = []
        append = out.append
        for series, fields, when in rows:
            if measurement and series.measurement != measurement:
                continue
            tags = series.tags
            if where is not None:
                try:
                    if not where(when, fields, tags):
                        continue
                except Exception as e:
                    self._where_failed(e)
                    continue
            if truncate:
                when = go_truncate(when, truncate)
            if rounding:
                when = go_round(when, rounding)
            grouping = series.cache.get(memo_key)
            if grouping is None:
                grouping = series.cache[memo_key] = self._grouping(series)
            # Point's constructor, inlined: the class call alone cost more
            # than these eight stores (407 against 148 ns).
            p = new_point(Point)
            p.name = series.measurement
            p.database = database
            p.retention_policy = retention_policy
            p.tags = tags
            p.fields = fields
            p.time = when
            p.dimensions = grouping[0]
            p.group = grouping[1]
            append(p)
        self._exec_ns += _perf_ns() - started
        self._exec_count += len(rows)
        if out:
            self.forward_many(out)

    def _where_failed(self, e: Exception) -> None:
        # Kapacitor logs the error and drops the point.
        self.error(f"failed to evaluate WHERE expression: {e}")

    def _grouping(self, series):
        dims = self.fixed_dimensions
        if dims is None:
            dims = Dimensions(self.by_name, group_tag_names(series.tags, True, ()))
        return dims, group_id(series.measurement, series.tags, dims)

    def point(self, p):
        if self.database and p.database != self.database:
            return None
        if self.retention_policy and p.retention_policy != self.retention_policy:
            return None
        if self.measurement and p.name != self.measurement:
            return None
        if self.where is not None:
            try:
                if not self.where.predicate(p.time, p.fields, p.tags):
                    return None
            except Exception as e:
                self._where_failed(e)
                return None
        when = p.time
        if self.truncate:
            when = go_truncate(when, self.truncate)
        if self.round:
            when = go_round(when, self.round)
        dims = self.fixed_dimensions
        if dims is None:
            dims = Dimensions(self.by_name, group_tag_names(p.tags, True, ()))
        if when == p.time and dims == p.dimensions:
            return p
        return p.evolve(time=when, dimensions=dims)


@node_type("GroupByNode")
class GroupByNode(Node):
    """``groupBy()``: regroups points at once; batches are regrouped and held
    until a batch with a later time (or a barrier) arrives, as in Kapacitor."""

    def __init__(self, spec, task):
        super().__init__(spec, task)
        self.excluded = tuple(self.props.get("ExcludedDimensions") or ())
        self.every_tag, self.tag_names = tag_names(self.props.get("Dimensions"), self.excluded)
        self.by_name = bool(prop(self, "ByMeasurementFlag", False))
        self.pending: Dict[str, Batch] = {}
        self.last_time: Optional[int] = None

    @property
    def cardinality(self) -> int:
        return len(self.pending)

    def point(self, p):
        dims = Dimensions(
            p.dimensions.by_name or self.by_name,
            group_tag_names(p.tags, self.every_tag, self.tag_names, self.excluded))
        return p.evolve(dimensions=dims)

    def batch(self, b: Batch):
        out = self._flush(b.tmax)
        by_name = b.by_name or self.by_name
        for bp in b.points:
            names = group_tag_names(bp.tags, self.every_tag, self.tag_names, self.excluded)
            tags = {t: bp.tags.get(t, "") for t in names}
            probe = Batch(b.name, tags, by_name, b.tmax, [])
            group = self.pending.get(probe.group)
            if group is None:
                group = self.pending[probe.group] = probe
            group.points.append(bp)
        return out

    def barrier(self, b):
        out = self._flush(b.time)
        out.append(b)
        return out

    def delete_group(self, d):
        self.pending.pop(d.group, None)
        return d

    def _flush(self, when: int) -> list:
        if when == self.last_time:
            return []
        self.last_time = when
        out = []
        for group in self.pending.values():
            group.points.sort(key=_time_of)
            out.append(group)
        self.pending = {}
        return out


def _time_of(bp) -> int:
    return bp.time
