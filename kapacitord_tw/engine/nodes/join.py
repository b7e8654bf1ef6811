"""``join()``: joins its parents' data, point by point or batch by batch, on time.

Each group keeps *sets* keyed by the (tolerance-rounded) time: one slot per
parent.  A set is emitted when every parent filled it, or -- once every
parent's *head* (the time of its latest message, barriers included) has
passed the set's time -- as it is (a full outer join under ``.fill()``,
dropped for the default inner join).  When the input ends every buffered
set is emitted (Kapacitor's ``Finish``).

With ``.on(dims)`` the parents may be grouped more finely than the join:
*match* points (grouped exactly by ``dims``) wait in a per-group queue for
the *specific* points (grouped by more tags) that share their time, and a
specific point that can no longer get a match goes on alone.

Per point the work is a few dictionary look-ups and, for the group's
oldest time, a heap operation; what a group holds is freed as soon as its
sets are emitted, and all of it on ``DeleteGroup`` (for example from a
``barrier().delete(TRUE)`` upstream).
"""

from __future__ import annotations

import heapq
from collections import deque
from typing import Dict, List, Optional

from kapacitord_tw.engine.messages import (
    Batch, BatchPoint, Dimensions, Point, go_round, group_id)
from kapacitord_tw.engine.node import MultiInputNode, NodeError, duration_ns, node_type

#: Go's zero ``time.Time`` in Unix nanoseconds: a parent's head before it
#: sent anything; no data time is before it.
_GO_ZERO = -62135596800 * 1_000_000_000

_NO_FILL, _NULL_FILL, _NUMBER_FILL = 0, 1, 2


@node_type("JoinNode")
class JoinNode(MultiInputNode):
    def __init__(self, spec, task):
        super().__init__(spec, task)
        props = self.props
        self.names: List[str] = list(props.get("Names") or ())
        self.on: List[str] = list(props.get("Dimensions") or ())
        self.delimiter: str = props.get("Delimiter", ".")
        if self.delimiter is None:
            self.delimiter = "."
        self.delete_all = bool(props.get("DeleteAll", False))
        self.stream_name: str = props.get("StreamName") or ""
        self.tolerance = duration_ns(props.get("Tolerance"))
        self.parents = max(1, len(spec.parents))
        if len(self.names) != self.parents:
            raise NodeError("number of prefixes specified by join.as() must match "
                            "the number of joined streams")
        fill = props.get("Fill")
        self.fill_value = None
        if isinstance(fill, str):
            if fill == "null":
                self.fill = _NULL_FILL
            elif fill == "none":
                self.fill = _NO_FILL
            else:
                raise NodeError(f"unexpected fill option {fill}")
        elif isinstance(fill, (int, float)) and not isinstance(fill, bool):
            self.fill, self.fill_value = _NUMBER_FILL, fill
        else:
            self.fill = _NO_FILL
        #: the prefix of each parent's fields, delimiter included
        self.prefixes = [name + self.delimiter for name in self.names]
        self.batch_input = spec.wants == "batch"
        self.groups: Dict[str, _JoinGroup] = {}
        # .on() matching state
        self.reported = set()
        self.all_reported = False
        self.low_marks: Dict[tuple, int] = {}
        self.match_buffers: Dict[str, deque] = {}
        self.specific_buffers: Dict[str, deque] = {}

    @property
    def cardinality(self) -> int:
        return len(self.groups)

    def _group(self, gid: str) -> "_JoinGroup":
        g = self.groups.get(gid)
        if g is None:
            g = self.groups[gid] = _JoinGroup(self)
        return g

    # ------------------------------------------------------------ messages

    def point_from(self, index, p):
        return self._message(index, p)

    def batch_from(self, index, b):
        return self._message(index, b)

    def _message(self, src: int, m):
        out: list = []
        if self.on:
            self._match(src, m, out)
        else:
            self._group(m.group).collect(src, m, out)
        return out or None

    def barrier_from(self, index, b):
        out: list = []
        self._group(b.group).barrier(index, b.time, out)
        out.append(b)
        return out

    def delete_from(self, index, d):
        gid = d.group
        self.groups.pop(gid, None)
        self.match_buffers.pop(gid, None)
        self.specific_buffers.pop(gid, None)
        if self.delete_all:
            self.low_marks.clear()
        else:
            self.low_marks.pop((index, gid), None)
        return d

    def finish(self):
        out: list = []
        for g in list(self.groups.values()):
            g.emit_all(out)
        return out or None

    # ------------------------------------------------------------ .on()

    def _match(self, src: int, m, out: list) -> None:
        """Pair specific messages with the match messages of their time."""
        if not self.all_reported:
            self.reported.add(src)
            self.all_reported = len(self.reported) == self.parents
        tol = self.tolerance
        t = go_round(m.time, tol)
        gid = group_id(m.name, m.group_tags(), Dimensions(m.dimensions[0], self.on))
        self.low_marks[(src, gid)] = t
        low: Optional[int] = None  # None is Go's zero time: nothing is before it
        all_reported = self.all_reported
        if all_reported:
            marks = self.low_marks
            for s in range(self.parents):
                lm = marks.get((s, gid))
                if low is None:
                    low = lm
                elif lm is None or lm < low:
                    low = lm
            specific = self.specific_buffers.get(gid)
            if specific:
                while specific and low is not None and go_round(specific[0][1].time, tol) < low:
                    s_src, s_msg = specific.popleft()
                    self._group(s_msg.group).collect(s_src, s_msg, out)

        if len(m.dimensions[1]) > len(self.on):
            matches = self.match_buffers.get(gid)
            matched = False
            if matches:
                i = 0
                n = len(matches)
                while i < n:
                    m_src, m_msg = matches[i]
                    pt = go_round(m_msg.time, tol)
                    if pt == t:
                        self._send_match(src, m, m_src, m_msg, out)
                        matched = True
                    if not (low is not None and pt < low):
                        break
                    i += 1
                if all_reported:
                    for _ in range(i):
                        matches.popleft()
            if not matched:
                if all_reported and low is not None and t < low:
                    self._group(m.group).collect(src, m, out)
                else:
                    buf = self.specific_buffers.get(gid)
                    if buf is None:
                        buf = self.specific_buffers[gid] = deque()
                    buf.append((src, m))
        else:
            buf = self.match_buffers.get(gid)
            if buf is None:
                buf = self.match_buffers[gid] = deque()
            elif all_reported and low is not None:
                # A match point older than every parent's latest time can
                # never meet a specific point again: free it now.
                while buf and go_round(buf[0][1].time, tol) < low:
                    buf.popleft()
            buf.append((src, m))
            specific = self.specific_buffers.get(gid)
            if specific:
                while specific and go_round(specific[0][1].time, tol) == t:
                    s_src, s_msg = specific.popleft()
                    self._send_match(s_src, s_msg, src, m, out)

    def _send_match(self, s_src, specific, m_src, matched, out: list) -> None:
        tags = specific.group_tags()
        if type(matched) is Batch:
            joined = matched.evolve(tags=tags)
        else:
            joined = matched.evolve(tags=tags, dimensions=specific.dimensions)
        g = self._group(specific.group)
        g.collect(s_src, specific, out)
        g.collect(m_src, joined, out)


class _JoinSet:
    """The messages of one time, one slot per parent."""

    __slots__ = ("time", "values", "size", "first", "name")

    def __init__(self, t: int, count: int, name: str):
        self.time = t
        self.values: list = [None] * count
        self.size = 0
        self.first = count
        self.name = name

    def set(self, i: int, msg) -> None:
        if i < self.first:
            self.first = i
        self.values[i] = msg
        self.size += 1


class _JoinGroup:
    __slots__ = ("node", "sets", "times", "head", "oldest")

    def __init__(self, node: JoinNode):
        self.node = node
        #: rounded time -> sets of that time, oldest first
        self.sets: Dict[int, List[_JoinSet]] = {}
        #: heap of the times in ``sets`` (each once)
        self.times: List[int] = []
        self.head = [_GO_ZERO] * node.parents
        self.oldest: Optional[int] = None

    def collect(self, src: int, msg, out: list) -> None:
        node = self.node
        t = go_round(msg.time, node.tolerance)
        if self.oldest is None or t < self.oldest:
            self.oldest = t
        queue = self.sets.get(t)
        if queue is None:
            queue = self.sets[t] = [_JoinSet(t, node.parents, node.stream_name)]
            heapq.heappush(self.times, t)
        target = None
        for s in queue:
            if s.values[src] is None:
                target = s
                break
        if target is None:
            target = _JoinSet(t, node.parents, node.stream_name)
            queue.append(target)
        target.set(src, msg)
        self.head[src] = t
        self.emit(self._only_ready(), out)

    def barrier(self, src: int, t: int, out: list) -> None:
        t = go_round(t, self.node.tolerance)
        if self.oldest is None or t < self.oldest:
            self.oldest = t
        self.head[src] = t
        self.emit(self._only_ready(), out)

    def _only_ready(self) -> bool:
        """True until every parent's head is past the oldest time."""
        oldest = self.oldest
        for h in self.head:
            if not h > oldest:
                return True
        return False

    def emit(self, only_ready: bool, out: list) -> None:
        while self.sets:
            oldest = self.oldest
            queue = self.sets.get(oldest, ())
            count = self.node.parents
            i = 0
            for s in queue:
                if s.size == count or not only_ready:
                    self._emit_set(s, out)
                    i += 1
                else:
                    break
            if i == len(queue):
                if self.sets.pop(oldest, None) is not None:
                    times = self.times
                    while times and times[0] not in self.sets:
                        heapq.heappop(times)
            else:
                del queue[:i]
            self.oldest = self.times[0] if self.times else None
            if only_ready:
                return
            # Parents that skipped a stretch of data: keep emitting while
            # every head is past the oldest time.
            only_ready = self.oldest is not None and self._only_ready()

    def emit_all(self, out: list) -> None:
        while self.sets:
            self.emit(False, out)

    def _emit_set(self, s: _JoinSet, out: list) -> None:
        if not s.name:
            s.name = s.values[s.first].name
        node = self.node
        msg = _join_batch(node, s) if node.batch_input else _join_point(node, s)
        if msg is not None:
            out.append(msg)


def _join_point(node: JoinNode, s: _JoinSet) -> Optional[Point]:
    first = s.values[s.first]
    if type(first) is not Point:
        raise NodeError(f"failed to join into point: unexpected type of first value "
                        f"{type(first).__name__}")
    fields: dict = {}
    prefixes = node.prefixes
    for i, v in enumerate(s.values):
        prefix = prefixes[i]
        if v is None:
            if node.fill == _NO_FILL:
                return None  # inner join: no point without every parent
            fill = node.fill_value
            for k in first.fields:
                fields[prefix + k] = fill
        else:
            for k, value in v.fields.items():
                fields[prefix + k] = value
    return Point(s.name, "", "", first.group_tags(), fields, s.time, first.dimensions)


def _join_batch(node: JoinNode, s: _JoinSet) -> Optional[Batch]:
    first = s.values[s.first]
    if type(first) is not Batch:
        raise NodeError(f"failed to join into batch: unexpected type of first value "
                        f"{type(first).__name__}")
    tol = node.tolerance
    expected = node.parents
    values = s.values
    tags = first.tags
    prefixes = node.prefixes
    points: List[BatchPoint] = []
    empty = [False] * expected
    empty_count = 0
    indexes = [0] * expected
    field_names: list = []
    while empty_count < expected:
        chosen: list = [None] * expected
        set_time: Optional[int] = None
        count = 0
        for i, batch in enumerate(values):
            if empty[i]:
                continue
            if batch is None or indexes[i] == len(batch.points):
                empty_count += 1
                empty[i] = True
                continue
            bp = batch.points[indexes[i]]
            t = go_round(bp.time, tol)
            if set_time is None:
                set_time = t
            if t < set_time:
                # An earlier point: start the row again from it.
                set_time = t
                for j in range(expected):
                    if chosen[j] is not None:
                        indexes[j] -= 1
                    chosen[j] = None
                chosen[i] = bp
                indexes[i] += 1
                count = 1
            elif t == set_time:
                if not field_names:
                    field_names = list(bp.fields)
                chosen[i] = bp
                indexes[i] += 1
                count += 1
        if count == 0:
            continue
        fields: dict = {}
        complete = True
        for i, bp in enumerate(chosen):
            prefix = prefixes[i]
            if bp is None:
                if node.fill == _NO_FILL:
                    complete = False
                    break
                for k in field_names:
                    fields[prefix + k] = node.fill_value
            else:
                for k, value in bp.fields.items():
                    fields[prefix + k] = value
        if complete:
            points.append(BatchPoint(set_time, fields, tags))
    return Batch(s.name, tags, first.dimensions.by_name, s.time, points)
