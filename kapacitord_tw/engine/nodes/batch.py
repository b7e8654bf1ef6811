"""``batch|query(...)``: batches read from an InfluxDB cluster on a schedule (upstream ``batch.go``).

Each ``QueryNode`` runs on the reactor's clock every ``.every()``: the
window ends now (truncated to ``every`` with ``.align()``, minus
``.offset()``) and starts ``.period()`` earlier.  The statement is the
script's ``SELECT`` with that time range ANDed to its ``WHERE``, then
``.groupBy()`` (``time(...)`` and tags) and ``.fill()``; it runs on
``.cluster()`` (else the default cluster) with the cluster's credentials.
Every series of the answer becomes one engine :class:`Batch` (group tags =
the series' tags) that flows down the task's batch edges.

A query that fails (refused statement, unreachable or wrong-password
InfluxDB) is counted in ``query_errors``, logged, and becomes the task's
``error`` as ``GET /tasks/<id>`` shows it; the task keeps running and the
next tick tries again.  At most one query of a node is in flight.
With ``.cron('…')`` (Kapacitor's cronexpr syntax, :mod:`..cron`) the
query runs at each fire time of the expression instead, in the local zone,
and the window ends at that fire time (minus ``.offset()``).
"""

from __future__ import annotations

import re
from typing import List, Optional

from twisted.internet import defer
from twisted.internet.task import LoopingCall

from kapacitord_tw.engine import cron as _cron
from kapacitord_tw.engine.messages import Batch, BatchPoint, go_truncate
from kapacitord_tw.engine.node import Node, NodeError, duration_ns, node_type, prop
from kapacitord_tw.influxdb.influxql import quote_ident

#: Points one query may bring back (the answer is held in memory).
MAX_POINTS_PER_QUERY = 1_000_000

_CLAUSES = re.compile(r"\b(GROUP\s+BY|ORDER\s+BY|LIMIT|OFFSET|SLIMIT|SOFFSET|FILL|TZ)\b", re.I)
_WHERE = re.compile(r"\bWHERE\b", re.I)


def _mask_quotes(q: str) -> str:
    """``q`` with quoted text blanked out, so keywords inside names are not seen."""
    out, quote, escaped = [], None, False
    for ch in q:
        if quote:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == quote:
                quote = None
                out.append(ch)
                continue
            out.append(" ")
        else:
            if ch in "'\"":
                quote = ch
            out.append(ch)
    return "".join(out)


def _duration_literal(ns: int) -> str:
    for unit, size in (("h", 3_600 * 10**9), ("m", 60 * 10**9), ("s", 10**9),
                       ("ms", 10**6), ("u", 10**3)):
        if ns % size == 0:
            return f"{ns // size}{unit}"
    return f"{ns}ns"


def build_query(select: str, start: int, stop: int, dimensions, fill) -> str:
    """The statement for the window [start, stop) (times in ns since the epoch)."""
    text = select.strip().rstrip(";")
    masked = _mask_quotes(text)
    clause = _CLAUSES.search(masked)
    if clause:
        raise NodeError(f"query must not contain {clause.group(1).upper()}: use the "
                        "query node's methods (.groupBy(), .fill(), ...)")
    condition = f"time >= {start} AND time < {stop}"
    where = _WHERE.search(masked)
    if where:
        text = f"{text[:where.start()]}WHERE ({text[where.end():].strip()}) AND {condition}"
    else:
        text = f"{text} WHERE {condition}"
    groups = []
    for d in dimensions or ():
        if isinstance(d, str):
            groups.append(quote_ident(d))
        elif hasattr(d, "length"):
            length = duration_ns(d.length)
            offset = duration_ns(getattr(d, "offset", None))
            groups.append(f"time({_duration_literal(length)}"
                          + (f", {_duration_literal(offset)})" if offset else ")"))
        else:  # ``*``
            groups.append("*")
    if groups:
        text += " GROUP BY " + ", ".join(groups)
    if fill is not None:
        if isinstance(fill, bool):
            raise NodeError("fill must be a number, null, none, previous or linear")
        text += f" fill({fill})"
    return text


def series_to_batches(results, by_name: bool, tmax: int, by_time: bool = False) -> List[Batch]:
    """One Batch per series, as Kapacitor's ``ResultToBufferedBatches``: every
    number is a float64 (Go decodes them as ``json.Number``), and a batch of a
    query grouped by time ends at its last point, any other at ``tmax``."""
    batches = []
    total = 0
    for result in results:
        for series in result.get("series") or []:
            columns = series.get("columns") or []
            tags = dict(series.get("tags") or {})
            points = []
            for row in series.get("values") or []:
                fields = {}
                when = 0
                for col, value in zip(columns, row):
                    if col == "time":
                        when = int(value)
                    elif value is not None:
                        if type(value) is int:
                            value = float(value)
                        fields[col] = value
                if fields:
                    points.append(BatchPoint(when, fields, tags))
            total += len(points)
            if total > MAX_POINTS_PER_QUERY:
                raise NodeError(f"query returned more than {MAX_POINTS_PER_QUERY} points")
            end = max(p.time for p in points) if by_time and points else tmax
            batches.append(Batch(series.get("name", ""), tags, by_name, end, points))
    return batches


@node_type("BatchNode")
class BatchNode(Node):
    """``batch``: the source of a batch task; its queries do the work."""

    def batch(self, b):
        return b


@node_type("QueryNode")
class QueryNode(Node):
    def __init__(self, spec, task):
        super().__init__(spec, task)
        self.query = prop(self, "QueryStr", "")
        self.period = duration_ns(self.props.get("Period"))
        self.every = duration_ns(self.props.get("Every"))
        self.align = bool(prop(self, "AlignFlag", False))
        self.offset = duration_ns(self.props.get("Offset"))
        self.cron = prop(self, "Cron", "")
        self.dimensions = list(self.props.get("Dimensions") or [])
        self.by_name = bool(prop(self, "GroupByMeasurementFlag", False))
        self.fill = self.props.get("Fill")
        self.by_time = any(hasattr(d, "length") for d in self.dimensions)
        self.schedule: Optional[_cron.CronExpression] = None
        if self.every and self.cron:
            raise NodeError("must not set both 'every' and 'cron' properties")
        if self.cron:
            try:
                self.schedule = _cron.parse(self.cron)
            except _cron.CronError as e:
                raise NodeError(str(e)) from None
        elif self.every < 0:
            raise NodeError("'every' duration must must non-negative")
        elif self.every == 0:
            raise NodeError("must define one of 'every' or 'cron'")
        build_query(self.query, 0, 1, self.dimensions, self.fill)  # refuse a bad shape now
        #: In a replay (``task.replaying``) recorded batches are handed to the node:
        #: it never queries, so, as in Kapacitor, it needs no cluster and no schedule.
        self.replayed = bool(getattr(task, "replaying", False))
        service = getattr(task.services, "influxdb", None)
        try:
            self.cluster = service.cluster(prop(self, "Cluster", "")) if service else None
        except KeyError as e:
            if not self.replayed:
                raise NodeError(str(e.args[0])) from None
            self.cluster = None
        if self.cluster is None and not self.replayed:
            raise NodeError("no InfluxDB cluster is configured")
        self.counters.setdefault("query_errors", 0)
        self.counters.setdefault("batches_queried", 0)
        self.counters.setdefault("points_queried", 0)
        self._timer: Optional[LoopingCall] = None
        self._cron_call = None
        self._running: Optional[defer.Deferred] = None

    def start(self) -> None:
        if self.replayed:
            return
        errors = getattr(self.task.services, "task_errors", None)
        if errors is not None:
            errors.clear(self.task.id)
        if self.schedule is not None:
            self._schedule_next(self.task.clock.seconds())
            return
        self._timer = LoopingCall(self.tick)
        self._timer.clock = self.task.clock
        self._timer.start(self.every / 1e9, now=False)

    def _schedule_next(self, after: float) -> None:
        """Arm the call for the expression's next fire time (none after 2099: stop)."""
        when = self.schedule.next(after)
        if when is None or self.task.stopped:
            self._cron_call = None
            return
        clock = self.task.clock
        self._cron_call = clock.callLater(max(0.0, when - clock.seconds()), self._fire, when)

    def _fire(self, when: float) -> None:
        self._cron_call = None
        self.tick(int(round(when * 1e9)))
        self._schedule_next(max(when, self.task.clock.seconds()))

    def stop(self) -> None:
        if self._cron_call is not None and self._cron_call.active():
            self._cron_call.cancel()
        self._cron_call = None
        if self._timer is not None and self._timer.running:
            self._timer.stop()
        if self._running is not None and not self._running.called:
            self._running.cancel()

    def window(self, now_ns: int):
        aligned = self.align and self.schedule is None
        stop = go_truncate(now_ns, self.every) if aligned else now_ns
        stop -= self.offset
        return stop - self.period, stop

    def tick(self, now_ns: Optional[int] = None) -> Optional[defer.Deferred]:
        """Run one query (skipped while the previous one is still running);
        ``now_ns``: the fire time (default: the clock's now)."""
        if self._running is not None or self.task.stopped:
            return None
        if now_ns is None:
            now_ns = int(self.task.clock.seconds() * 1e9)
        start, stop = self.window(now_ns)
        statement = build_query(self.query, start, stop, self.dimensions, self.fill)
        d = self._running = self.cluster.client.query(statement)
        d.addCallback(series_to_batches, self.by_name, stop, self.by_time)
        d.addCallbacks(self._emit, self._failed)
        d.addBoth(self._finished)
        return d

    def idle(self) -> defer.Deferred:
        """Fires once no query of this node is running (at once when none is),
        after its batches went down the task: what a caller driving the
        schedule with a fake clock waits for between ticks."""
        running = self._running
        if running is None:
            return defer.succeed(None)
        done: defer.Deferred = defer.Deferred()

        def fire(result):
            done.callback(None)
            return result

        running.addBoth(fire)
        return done

    def _emit(self, batches) -> None:
        if self.task.stopped:
            return
        self.counters["batches_queried"] += len(batches)
        self.counters["points_queried"] += sum(len(b.points) for b in batches)
        for b in batches:
            self.forward(b)

    def _failed(self, failure) -> None:
        if failure.check(defer.CancelledError):
            return
        message = f"query failed: {failure.getErrorMessage()}"
        self.counters["query_errors"] += 1
        self.error(message)
        errors = getattr(self.task.services, "task_errors", None)
        if errors is not None:
            errors.report(self.task.id, message)

    def _finished(self, _result) -> None:
        self._running = None

    def batch(self, b):
        return b
