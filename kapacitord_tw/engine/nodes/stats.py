"""``stats(interval)`` (and ``deadman``, built on it): a source that reports,
every interval of the reactor's clock, how many points each group of
another node has emitted.

Only a node watched by a stats node counts per group (on its first
out-edge, as Kapacitor does); every other node keeps just its totals.
"""

from __future__ import annotations

from twisted.internet.task import LoopingCall

from kapacitord_tw.engine.messages import NO_DIMENSIONS, Point, go_round, go_truncate
from kapacitord_tw.engine.node import Node, NodeError, duration_ns, node_type, prop

SECOND = 1_000_000_000


@node_type("StatsNode")
class StatsNode(Node):
    def __init__(self, spec, task):
        super().__init__(spec, task)
        self.interval = duration_ns(self.props.get("Interval"))
        if self.interval <= 0:
            raise NodeError("stats node must have positive interval")
        self.align = bool(prop(self, "AlignFlag", False))
        self.source_name = self.props.get("SourceNode")
        self._loop = None
        self._first = None

    def start(self) -> None:
        source = self.task.nodes.get(self.source_name)
        if source is None:
            raise NodeError(f"no node found for {self.source_name}")
        if source.group_stats is None:
            source.group_stats = {}
        self.source = source
        clock = self.task.clock
        if self.align:
            now = int(clock.seconds() * SECOND)
            wait = go_truncate(now, self.interval) + self.interval - now
            self._first = clock.callLater(wait / SECOND, self._start_ticking)
        else:
            self._start_ticking(emit_now=False)

    def _start_ticking(self, emit_now: bool = True) -> None:
        self._first = None
        if emit_now:
            self.emit()
        self._loop = LoopingCall(self.emit)
        self._loop.clock = self.task.clock
        self._loop.start(self.interval / SECOND, now=False)

    def stop(self) -> None:
        if self._first is not None and self._first.active():
            self._first.cancel()
        if self._loop is not None and self._loop.running:
            self._loop.stop()

    def emit(self) -> None:
        """One point per group of the watched node (one zero point before any data)."""
        if self.task.stopped:
            return
        t = int(self.task.clock.seconds() * SECOND)
        if self.align:
            t = go_round(t, self.interval)
        stats = self.source.group_stats
        if stats:
            points = [Point("stats", "", "", dict(tags), {"emitted": count}, t, dims)
                      for tags, dims, count in stats.values()]
        else:
            points = [Point("stats", "", "", {}, {"emitted": 0}, t, NO_DIMENSIONS)]
        for p in points:
            self.receive(p)

    def point(self, p):
        return p
