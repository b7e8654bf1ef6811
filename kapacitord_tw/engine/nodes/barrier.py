"""``barrier()``: tells the nodes below that a group's time has moved on.

``.idle(d)``: once a group has had no message for ``d`` of reactor time, a
barrier is emitted at the group's last time + ``d`` (and again every
``d`` while it stays idle).  ``.period(d)``: a barrier every ``d``, at the
current time.  Messages older than the last barrier are dropped.  With
``.delete(TRUE)`` each barrier is followed by a ``DeleteGroup``, so the
nodes below (join, window, ...) forget the group and so does this node.

Timers run on the task's clock (the reactor; a ``Clock`` in tests).  An
idle timer is not reset per message: each message stores its reactor time
and the timer, when it fires early, re-arms for the time still to go, so a
message costs one clock read.
"""

from __future__ import annotations

from kapacitord_tw.engine.messages import Barrier, DeleteGroup
from kapacitord_tw.engine.node import GroupedNode, NodeError, duration_ns, node_type

_NS = 1_000_000_000


@node_type("BarrierNode")
class BarrierNode(GroupedNode):
    def __init__(self, spec, task):
        super().__init__(spec, task)
        self.idle = duration_ns(self.props.get("Idle"))
        self.period = duration_ns(self.props.get("Period"))
        self.delete = bool(self.props.get("Delete", False))
        if self.idle <= 0 and self.period <= 0:
            raise NodeError("barrier node must have either a non zero idle or a non zero period")
        self.clock = task.clock

    def new_group(self, first):
        if self.idle > 0:
            return _IdleBarrier(self, first)
        return _PeriodicBarrier(self, first)

    def delete_group(self, d):
        g = self.groups.pop(d.group, None)
        if g is not None:
            g.cancel()
        return d

    def stop(self) -> None:
        for g in self.groups.values():
            g.cancel()

    def fire(self, group, time: int) -> None:
        """Emit a barrier for ``group`` (from a timer) and, with ``.delete``, forget it."""
        self.forward(Barrier(group.group, group.tags, group.dimensions, time))
        if self.delete:
            self.groups.pop(group.group, None)
            group.cancel()
            self.forward(DeleteGroup(group.group, group.tags, group.dimensions))


class _GroupTimer:
    __slots__ = ("node", "group", "tags", "dimensions", "call", "last_barrier")

    def __init__(self, node: BarrierNode, first):
        self.node = node
        self.group = first.group
        self.tags = first.group_tags()
        self.dimensions = first.dimensions
        self.call = None
        #: data time of the last barrier emitted; older messages are dropped
        self.last_barrier = None

    def cancel(self) -> None:
        if self.call is not None and self.call.active():
            self.call.cancel()
        self.call = None

    def _late(self, t: int) -> bool:
        return self.last_barrier is not None and t < self.last_barrier


class _IdleBarrier(_GroupTimer):
    __slots__ = ("last_time", "touched")

    def __init__(self, node, first):
        super().__init__(node, first)
        self.last_time = first.time
        self.touched = node.clock.seconds()
        self.call = node.clock.callLater(node.idle / _NS, self._check)

    def _seen(self, t: int) -> None:
        self.last_time = t
        self.touched = self.node.clock.seconds()

    def point(self, p):
        if self._late(p.time):
            return None
        self._seen(p.time)
        return p

    batch = point

    def barrier(self, b):
        if self._late(b.time):
            return None
        self._seen(b.time)
        self.last_barrier = b.time
        return b

    def _check(self) -> None:
        node = self.node
        idle_s = node.idle / _NS
        remaining = self.touched + idle_s - node.clock.seconds()
        if remaining > 0:
            self.call = node.clock.callLater(remaining, self._check)
            return
        t = self.last_time + node.idle
        self.last_time = self.last_barrier = t
        self.touched = node.clock.seconds()
        self.call = node.clock.callLater(idle_s, self._check)
        node.fire(self, t)


class _PeriodicBarrier(_GroupTimer):
    __slots__ = ()

    def __init__(self, node, first):
        super().__init__(node, first)
        self.call = node.clock.callLater(node.period / _NS, self._tick)

    def point(self, p):
        return None if self._late(p.time) else p

    batch = point

    def barrier(self, b):
        return None if self._late(b.time) else b

    def _tick(self) -> None:
        node = self.node
        now = int(node.clock.seconds() * _NS)
        self.last_barrier = now
        self.call = node.clock.callLater(node.period / _NS, self._tick)
        node.fire(self, now)
