"""``kapacitorLoopback()``: writes the task's output back into this daemon's own ingest.

Points get the node's database, retention policy, measurement and extra
tags, then go onto the point bus that ``/write`` publishes to, so other
tasks receive them as if they had been written.  A task may not loop back
into one of its own dbrps (Kapacitor's ``loop detected on dbrp``).

Points are published on the next reactor turn, gathered into one bus
delivery, never from inside the handler: a chain of tasks looping into
each other then takes turns with the rest of the reactor instead of
recursing.  At most ``MAX_PENDING`` points wait; more are dropped and
counted as errors.
"""

from __future__ import annotations

from typing import List

from kapacitord_tw.engine.messages import Batch, Point
from kapacitord_tw.engine.node import Node, NodeError, node_type
from kapacitord_tw.ingest import points as ingest

MAX_PENDING = 100_000


@node_type("KapacitorLoopbackNode")
class KapacitorLoopbackNode(Node):
    def __init__(self, spec, task):
        super().__init__(spec, task)
        self.database = self.props.get("Database") or ""
        self.retention_policy = self.props.get("RetentionPolicy") or ""
        self.measurement = self.props.get("Measurement") or ""
        self.tags = dict(self.props.get("Tags") or {})
        for db, rp in sorted(task.dbrps):
            if db == self.database and rp == self.retention_policy:
                raise NodeError(f"loop detected on dbrp: {{{db} {rp}}}")
        self.bus = getattr(task.services, "bus", None)
        self.pending: List[ingest.Point] = []
        self._scheduled = None

    def point(self, p: Point):
        tags = p.tags
        if self.tags:
            tags = dict(tags)
            tags.update(self.tags)
        self._write(self.database or p.database,
                    self.retention_policy or p.retention_policy,
                    self.measurement or p.name, tags, p.fields, p.time)
        return None

    def batch(self, b: Batch):
        for bp in b.points:
            tags = bp.tags
            if self.tags:
                tags = dict(tags)
                tags.update(self.tags)
            self._write(self.database, self.retention_policy, b.name, tags, bp.fields, bp.time)
        return None

    def barrier(self, b):
        return None

    def delete_group(self, d):
        return None

    def _write(self, db, rp, name, tags, fields, time) -> None:
        if self.bus is None:
            raise NodeError("failed to write point over loopback: no point bus")
        if len(self.pending) >= MAX_PENDING:
            raise NodeError(f"failed to write point over loopback: {MAX_PENDING} points "
                            "waiting, point dropped")
        values = tuple(sorted((k, v) for k, v in fields.items() if v is not None))
        if not values:
            raise NodeError("failed to write point over loopback: point has no fields")
        self.pending.append(ingest.Point(db, rp, name, tuple(sorted(tags.items())),
                                         values, time))
        self.counters["points_written"] += 1
        if self._scheduled is None:
            self._scheduled = self.task.clock.callLater(0, self._publish)

    def _publish(self) -> None:
        self._scheduled = None
        batch, self.pending = self.pending, []
        if batch and not self.task.stopped:
            self.bus.publish(batch)

    def stop(self) -> None:
        if self._scheduled is not None and self._scheduled.active():
            self._scheduled.cancel()
        self._scheduled = None
        self.pending = []
