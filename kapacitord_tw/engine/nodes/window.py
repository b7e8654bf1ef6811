"""``window()``: buffers each group's points and emits them as batches.

By time (``period``/``every``/``align``/``fillPeriod``) the window is driven
by point times, never the wall clock; by count (``periodCount``/
``everyCount``) by the number of points.  A window holds only the time,
fields and tags of each point, shared with the points it came from.

A time window keeps them in parallel lists (times, fields, and tags when
its points do not all share one tags dict) rather than an object per
point: an int and two dicts that hold only strings and numbers are objects
the cyclic GC does not track, where a million buffered point objects made
each collection of the young generations under load take 10-600 ms
(measured: 100 tasks, 120,000 points/s).  While every point has the one
field (what the parser's projection gives the usual task), only the values
are kept.  While a group's points arrive in time order (the usual case)
the window's start is found by bisection and cut off in one slice, not
point by point.  Batch points are built when a child reads them, and live
only as long as the batch.

When each point can be in one window only (``every`` at least ``period``)
a group's points are dropped as soon as its window is emitted, not at the
next emission: Kapacitor's purge would drop exactly those then.  And when
the window's one child is ``mean``, ``sum`` or ``count`` of a field, a
group folds that field's float values into a sum and a count as they come
(see :class:`_TimeWindow`), so a window holds no point at all: the usual
alert task then keeps two numbers a group, not every point of ten seconds.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import deque

from kapacitord_tw.engine.messages import Batch, BatchPoint, Point, go_truncate
from kapacitord_tw.engine.node import (
    GroupedNode, NodeError, _perf_ns, duration_ns, node_type, prop)


@node_type("WindowNode")
class WindowNode(GroupedNode):
    def __init__(self, spec, task):
        super().__init__(spec, task)
        self.period = duration_ns(self.props.get("Period"))
        self.every = duration_ns(self.props.get("Every"))
        self.period_count = int(prop(self, "PeriodCount", 0))
        self.every_count = int(prop(self, "EveryCount", 0))
        self.align = bool(prop(self, "AlignFlag", False))
        self.fill_period = bool(prop(self, "FillPeriodFlag", False))
        if self.period == 0 and self.period_count == 0:
            raise NodeError("window node must have either a non zero period or non zero period count")
        #: one int object per window end time: groups whose windows end
        #: together share it, so checking a point against its group's end
        #: reads one object, not one a group (each a memory read that the
        #: caches miss when thousands of groups take a point each)
        self._ends: dict = {}
        #: each point is in one window at most: a group lets its points go
        #: once their window is emitted
        self.disjoint = bool(self.period and self.every >= self.period)
        #: the field a group folds (see :class:`_TimeWindow`), once known
        self.fold_field = _UNKNOWN

    def _fold_field(self):
        """The field whose float values groups fold into a sum and a count:
        the one child's, when it is a ``mean``, ``sum`` or ``count`` that
        takes only that (:meth:`InfluxQLNode.folds`); else None."""
        field = None
        if self.disjoint and len(self.children) == 1:
            folds = getattr(self.children[0], "folds", None)
            if folds is not None and folds():
                field = self.children[0].field
        self.fold_field = field
        return field

    def window_end(self, t: int) -> int:
        ends = self._ends
        end = ends.get(t)
        if end is None:
            if len(ends) >= 1024:
                ends.clear()
            end = ends[t] = t
        return end

    def new_group(self, first):
        if self.fold_field is _UNKNOWN:
            self._fold_field()  # the children are linked before any message
        if self.period:
            return _TimeWindow(self, first)
        return _CountWindow(self, first)

    def receive_many(self, msgs: list) -> None:
        if not (self.period and self.every):
            return super().receive_many(msgs)
        # A point before its window's end is only buffered: the short way.
        started = _perf_ns()
        out: list = []
        self._collecting = out
        groups = self.groups
        one = self._handle_into
        for msg in msgs:
            if type(msg) is Point:
                g = groups.get(msg.group)
                if g is not None and msg.time < g.next_emit:
                    g.hold(msg.time, msg.fields, msg.tags)
                    continue
            one(msg, out)
        self._end_chunk(started, len(msgs), out)

    def batch(self, b):
        raise NodeError("window does not support batch data")


_UNKNOWN = object()


class _TimeWindow:
    """One group's time window.

    Folding (the node's ``fold_field`` set): while the window's points each
    have that field as a float, only their sum (added left to right, as Go
    does) and their count are kept, and the child reduces those.  The
    first point of a window decides: a float of the field starts the fold
    (``folding``); anything else, or a later point that is not such a
    float, goes to the lists, behind the fold's points.  A window's first
    points older than ``next_emit - period`` are the ones Kapacitor's purge
    drops from the front at the emission; folding, they are dropped as they
    come, and once a point is folded nothing behind it can be purged.
    """

    __slots__ = ("node", "name", "tags", "by_name", "group", "next_emit", "times", "fields",
                 "tags_held", "shared_tags", "ordered", "key", "folding", "fsum", "fn")

    def __init__(self, node: WindowNode, first):
        self.node = node
        self.name = first.name if hasattr(first, "name") else ""
        self.tags = first.group_tags()
        self.by_name = first.dimensions.by_name
        self.group = first.group
        t = first.time
        period, every = node.period, node.every
        if node.fill_period:
            nxt = t + period
            if node.align:
                first_period = nxt
                nxt = go_truncate(nxt, every)
                if not nxt > first_period:
                    nxt += every
        else:
            nxt = t + every
            if node.align:
                nxt = go_truncate(nxt, every)
        self.next_emit = node.window_end(nxt)
        #: the buffered points, oldest first (three lists: ~170 bytes for an
        #: empty group, where one deque cost ~600)
        self.times: list = []
        #: their fields: while every point has the one field ``key``, only
        #: its values (no dict per point is kept); else the dicts (``key`` None)
        self.fields: list = []
        self.key = None
        #: their tags: while every point's are one dict (a series' points),
        #: that dict alone; else a list (``tags_held`` not None)
        self.shared_tags = None
        self.tags_held = None
        #: the times are in order (then the window's start is bisected)
        self.ordered = True
        #: folding: the fold's points are ahead of any in the lists, and
        #: none is in them yet (a point then only adds to ``fsum``/``fn``)
        self.folding = False
        self.fsum = 0.0
        self.fn = 0

    def __len__(self) -> int:
        return len(self.times) + self.fn

    def _append(self, p) -> None:
        self.hold(p.time, p.fields, p.tags)

    def hold(self, t: int, fields: dict, tags: dict) -> None:
        """Buffer one point (``nodes.lane`` has this inline)."""
        if self.folding:
            value = fields.get(self.node.fold_field)
            if type(value) is float:
                self.fsum += value
                self.fn += 1
                return
            self.folding = False  # the lists go on behind the fold
        times = self.times
        if not times:
            if self.first(fields, tags, t):
                return
        else:
            if t < times[-1]:
                self.ordered = False
            key = self.key
            if key is None:
                self.fields.append(fields)
            elif len(fields) == 1 and key in fields:
                self.fields.append(fields[key])
            else:
                self.widen(fields)
            if self.tags_held is not None:
                self.tags_held.append(tags)
            elif tags is not self.shared_tags:
                self.unshare(tags)
        times.append(t)

    def first(self, fields: dict, tags: dict, t: int) -> bool:
        """The fields and tags of the only point held: one field keeps its
        value only, and the tags are the group's until a point has others.
        True when the fold took the point instead (or dropped it: it is one
        the emission's purge would drop), and the lists stay empty."""
        if not self.fn:
            field = self.node.fold_field
            if field is not None and field is not _UNKNOWN:
                value = fields.get(field)
                if type(value) is float:
                    if t >= self.next_emit - self.node.period:
                        self.fsum += value
                        self.fn = 1
                        self.folding = True
                    return True
        self.shared_tags = tags
        self.tags_held = None
        if len(fields) == 1:
            (key,) = fields
            self.key = key
            self.fields.append(fields[key])
        else:
            self.key = None
            self.fields.append(fields)
        return False

    def unshare(self, tags: dict) -> None:
        """A point with other tags than the points held: a list of them."""
        self.tags_held = [self.shared_tags] * len(self.times)
        self.tags_held.append(tags)

    def widen(self, fields: dict) -> None:
        """A point with other fields: back to holding every point's dict."""
        key = self.key
        self.fields = [{key: v} for v in self.fields]
        self.fields.append(fields)
        self.key = None

    def _purge(self, oldest: int, inclusive: bool) -> None:
        """Drop the points before ``oldest`` (up to it unless ``inclusive``)
        from the front, stopping at the first one to keep, as Kapacitor does
        (a late point behind a kept one stays)."""
        times = self.times
        if self.ordered:
            cut = bisect_left(times, oldest) if inclusive else bisect_right(times, oldest)
        else:
            cut, n = 0, len(times)
            if inclusive:
                while cut < n and times[cut] < oldest:
                    cut += 1
            else:
                while cut < n and times[cut] <= oldest:
                    cut += 1
        if cut:
            del times[:cut]
            del self.fields[:cut]
            if self.tags_held is not None:
                del self.tags_held[:cut]
            if not times:
                self.ordered = True

    def _batch(self, tmax: int, keep: bool = True) -> Batch:
        """The window as a batch; ``keep``: the lists go on holding its
        points (else the batch takes them)."""
        times, values = self.times, self.fields
        if keep:
            times, values = times[:], values[:]
        tags = self.tags_held[:] if self.tags_held is not None else [self.shared_tags] * len(times)
        folded = (self.fsum, self.fn) if self.fn else None
        if self.key is None or not times:
            points = list(map(BatchPoint, times, values, tags))
            return Batch(self.name, self.tags, self.by_name, tmax, points, group=self.group,
                         folded=folded)
        # Batch points only if a child reads them (a reducer reads the values).
        return Batch(self.name, self.tags, self.by_name, tmax, None, group=self.group,
                     columns=(times, self.key, values, tags), folded=folded)

    def _emit_disjoint(self, tmax: int) -> Batch:
        """Each point in one window only: the window's batch, and the group
        empty (the next emission's purge would drop every point held)."""
        if not self.fn:  # a fold's first point is kept: nothing behind it is purged
            self._purge(tmax - self.node.period, True)
        out = self._batch(tmax, keep=False)
        self.times = []
        self.fields = []
        self.tags_held = None
        self.ordered = True
        self.folding = False
        self.fsum = 0.0
        self.fn = 0
        return out

    def _advance(self, t: int):
        node = self.node
        if node.every == 0:
            if t >= self.next_emit:
                self._purge(t - node.period, False)
                self.next_emit = node.window_end(t)
                return self._batch(t)
            return None
        if t >= self.next_emit:
            if node.disjoint:
                out = self._emit_disjoint(self.next_emit)
            else:
                self._purge(self.next_emit - node.period, True)
                out = self._batch(self.next_emit)
            nxt = t + node.every
            if node.align:
                nxt = go_truncate(nxt, node.every)
            self.next_emit = node.window_end(nxt)
            return out
        return None

    def point(self, p):
        if self.node.every == 0:
            self._append(p)
            return self._advance(p.time)
        out = self._advance(p.time)
        self._append(p)
        return out

    def barrier(self, b):
        out = self._advance(b.time)
        return b if out is None else [out, b]


class _CountWindow:
    __slots__ = ("node", "name", "tags", "by_name", "group", "buf", "count", "next_emit")

    def __init__(self, node: WindowNode, first):
        self.node = node
        self.name = first.name if hasattr(first, "name") else ""
        self.tags = first.group_tags()
        self.by_name = first.dimensions.by_name
        self.group = first.group
        self.buf = deque(maxlen=node.period_count)
        self.count = 0
        self.next_emit = node.period_count if node.fill_period else node.every_count

    def __len__(self) -> int:
        return len(self.buf)

    def point(self, p):
        self.buf.append(BatchPoint(p.time, p.fields, p.tags))
        self.count += 1
        if self.count == self.next_emit:
            self.next_emit += self.node.every_count
            points = list(self.buf)
            return Batch(self.name, self.tags, self.by_name, points[-1].time, points,
                         group=self.group)
        return None
