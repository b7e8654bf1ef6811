"""``influxDBOut()``: writes a task's points to an InfluxDB cluster (upstream ``influxdb_out.go``).

Points become line protocol in a buffer; the buffer is written when it
holds ``.buffer()`` points (default 1000) and every ``.flushInterval()``
(default 10s, on the reactor's clock), and once more when the task stops
(the daemon stops its tasks before the InfluxDB clients).  Measurement and
retention policy default to the point's own; ``.tag()`` adds tags.
``.create()`` issues upstream's ``CREATE DATABASE "db" [WITH NAME "rp"]``
when the node starts (the retention policy becomes the new database's
default, infinite, replication 1); where the database already exists with
another default, InfluxDB refuses that statement and the policy is created
on its own (``CREATE RETENTION POLICY ... DURATION INF REPLICATION 1``)
unless it exists: upstream only logs the refusal and its writes then fail.
A write that fails is counted in ``write_errors`` and logged; its points
are dropped, as upstream drops them after its retries.  A failed write or
create also becomes the task's ``error`` (``GET /tasks/<id>``); upstream
only logs them.  At most
``MAX_IN_FLIGHT`` writes are outstanding; beyond that a flush waits for the
next tick, and the buffer is capped at ``MAX_BUFFERED`` points (more are
dropped and counted as errors).
"""

from __future__ import annotations

import math
from typing import List, Optional

from twisted.internet import defer
from twisted.internet.task import LoopingCall

from kapacitord_tw.engine.messages import Batch, Point
from kapacitord_tw.engine.node import Node, NodeError, duration_ns, node_type, prop
from kapacitord_tw.influxdb.client import QueryError
from kapacitord_tw.influxdb.influxql import quote_ident

#: InfluxDB's answer to ``CREATE DATABASE ... WITH NAME`` for a database with another default.
RP_CONFLICT = "retention policy conflicts with an existing policy"

MAX_IN_FLIGHT = 4
MAX_BUFFERED = 1_000_000
_PRECISION_NS = {"": 1, "n": 1, "ns": 1, "u": 1_000, "us": 1_000, "ms": 1_000_000,
                 "s": 1_000_000_000, "m": 60_000_000_000, "h": 3_600_000_000_000}


def _escape_key(s: str) -> str:
    return s.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=").replace(" ", "\\ ")


def _escape_measurement(s: str) -> str:
    return s.replace("\\", "\\\\").replace(",", "\\,").replace(" ", "\\ ")


def _field_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return f"{v}i"
    if isinstance(v, float):
        if not math.isfinite(v):
            raise NodeError(f"invalid field value {v}")
        return repr(v)
    return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'


def line(measurement: str, tags, fields, time_ns: int, precision_ns: int = 1) -> str:
    """One line of InfluxDB line protocol (tags sorted, as InfluxDB keys them)."""
    head = _escape_measurement(measurement)
    for k in sorted(tags):
        v = tags[k]
        if v != "":
            head += f",{_escape_key(k)}={_escape_key(v)}"
    parts = [f"{_escape_key(k)}={_field_value(v)}" for k, v in sorted(fields.items())
             if v is not None]
    if not parts:
        raise NodeError("point has no fields")
    return f"{head} {','.join(parts)} {time_ns // precision_ns}"


@node_type("InfluxDBOutNode")
class InfluxDBOutNode(Node):
    def __init__(self, spec, task):
        super().__init__(spec, task)
        self.cluster_name = prop(self, "Cluster", "")
        self.database = prop(self, "Database", "")
        self.retention_policy = prop(self, "RetentionPolicy", "")
        self.measurement = prop(self, "Measurement", "")
        self.consistency = prop(self, "WriteConsistency", "")
        self.precision = prop(self, "Precision", "") or ""
        if self.precision not in _PRECISION_NS:
            raise NodeError(f"invalid precision {self.precision!r}")
        self.buffer_size = max(1, int(prop(self, "Buffer", 1000)))
        self.flush_interval = duration_ns(self.props.get("FlushInterval")) or 10 * 10**9
        self.tags = dict(self.props.get("Tags") or {})
        self.create = bool(prop(self, "CreateFlag", False))
        service = getattr(task.services, "influxdb", None)
        try:
            self.cluster = service.cluster(self.cluster_name) if service is not None else None
        except KeyError as e:
            raise NodeError(str(e.args[0])) from None
        if self.cluster is None:
            raise NodeError("no InfluxDB cluster is configured")
        self.counters.setdefault("points_written", 0)
        self.counters.setdefault("write_errors", 0)
        #: (db, rp) -> lines
        self._buffer: dict = {}
        self._buffered = 0
        self._in_flight: List[defer.Deferred] = []
        self._timer = None
        self._creating: Optional[defer.Deferred] = None
        self._reported_at: Optional[float] = None

    # ------------------------------------------------------------ life

    def start(self) -> None:
        errors = getattr(self.task.services, "task_errors", None)
        if errors is not None:
            errors.clear(self.task.id)
        if self.create and self.database:
            d = self._create_database()
            d.addErrback(self._create_failed)
            # Writes wait for the database to exist.
            self._creating = d
        self._timer = LoopingCall(self.flush)
        self._timer.clock = self.task.clock
        self._timer.start(self.flush_interval / 1e9, now=False)

    @defer.inlineCallbacks
    def _create_database(self):
        query = self.cluster.client.query
        db, rp = self.database, self.retention_policy
        statement = f"CREATE DATABASE {quote_ident(db)}"
        if rp:
            statement += f" WITH NAME {quote_ident(rp)}"
        try:
            yield query(statement)
        except QueryError as e:
            if not rp or RP_CONFLICT not in str(e):
                raise
            # The database exists with another default policy: add the missing policy.
            results = yield query(f"SHOW RETENTION POLICIES ON {quote_ident(db)}")
            names = {row[0] for r in results for series in r.get("series") or []
                     for row in series.get("values") or []}
            if rp not in names:
                yield query(f"CREATE RETENTION POLICY {quote_ident(rp)} ON {quote_ident(db)} "
                            "DURATION INF REPLICATION 1")
        self.log.info("task {task} node {node}: database {db} created{rp}", task=self.task.id,
                      node=self.name, db=db, rp=f" with retention policy {rp}" if rp else "")

    def _create_failed(self, failure) -> None:
        message = f"failed to create database {self.database}: {failure.getErrorMessage()}"
        self.error(message)
        self._report(message)

    def _report(self, message: str) -> None:
        """The task's ``error``, as ``GET /tasks/<id>`` shows it (stored: at most once a
        second, so a failing InfluxDB under load does not turn into a disk write per flush)."""
        errors = getattr(self.task.services, "task_errors", None)
        if errors is None or self.task.stopped:
            return
        now = self.task.clock.seconds()
        if self._reported_at is not None and now - self._reported_at < 1.0:
            return
        self._reported_at = now
        errors.report(self.task.id, message)

    def stop(self) -> None:
        if self._timer is not None and self._timer.running:
            self._timer.stop()
        self.flush(force=True)

    def drained(self) -> defer.Deferred:
        """Fires when every write started so far has finished."""
        return defer.DeferredList(list(self._in_flight), consumeErrors=True)

    # ------------------------------------------------------------ data

    def point(self, p: Point):
        self._add(self.database or p.database, self.retention_policy or p.retention_policy,
                  self.measurement or p.name, p.tags, p.fields, p.time)
        return None

    def batch(self, b: Batch):
        for bp in b.points:
            self._add(self.database, self.retention_policy, self.measurement or b.name,
                      bp.tags, bp.fields, bp.time)
        return None

    def barrier(self, b):
        return None

    def delete_group(self, d):
        return None

    def _add(self, db, rp, name, tags, fields, time) -> None:
        if self._buffered >= MAX_BUFFERED:
            self.counters["write_errors"] += 1
            raise NodeError(f"{MAX_BUFFERED} points waiting for InfluxDB: point dropped")
        if self.tags:
            tags = dict(tags)
            tags.update(self.tags)
        text = line(name, tags, fields, time, _PRECISION_NS[self.precision])
        self._buffer.setdefault((db, rp), []).append(text)
        self._buffered += 1
        if self._buffered >= self.buffer_size:
            self.flush()

    def flush(self, force: bool = False) -> None:
        if not self._buffered:
            return
        if len(self._in_flight) >= MAX_IN_FLIGHT and not force:
            return
        buffer, self._buffer, self._buffered = self._buffer, {}, 0
        for (db, rp), lines in buffer.items():
            body = ("\n".join(lines) + "\n").encode("utf-8", "surrogateescape")
            d = self._write(db, rp, body)
            self._in_flight.append(d)
            d.addCallbacks(self._written, self._failed, callbackArgs=(len(lines),),
                           errbackArgs=(len(lines), db))
            d.addBoth(self._done, d)

    def _write(self, db: str, rp: str, body: bytes) -> defer.Deferred:
        creating = self._creating
        if creating is None or creating.called:
            return self.cluster.client.write(db, rp, body, self.precision, self.consistency)
        d = defer.Deferred()

        def created(result):
            self.cluster.client.write(db, rp, body, self.precision,
                                      self.consistency).chainDeferred(d)
            return result

        creating.addBoth(created)
        return d

    def _written(self, _result, count: int) -> None:
        self.counters["points_written"] += count

    def _failed(self, failure, count: int, db: str) -> None:
        self.counters["write_errors"] += 1
        self.errors += 1
        self.log.error("task {task} node {node}: failed to write {count} points to database "
                       "{db}: {error}", task=self.task.id, node=self.name, count=count, db=db,
                       error=failure.getErrorMessage())
        self._report(f"failed to write points to database {db}: {failure.getErrorMessage()}")

    def _done(self, _result, d) -> None:
        if d in self._in_flight:
            self._in_flight.remove(d)
