"""What a batch or query recording (and a live replay) asks InfluxDB, and
what the answers become.

:func:`task_queries` is Kapacitor's ``ExecutingTask.BatchQueries``: for
each query node of a batch task, in script order, the statements its
schedule would have run between ``start`` and ``stop`` (``every`` steps,
rounded with ``.align()``, or the ``.cron()`` fire times; never a window
ending after now), on the node's cluster.  :class:`QueryBatches` runs such
a list one statement per :meth:`~QueryBatches.read`, so a recording or a
replay holds one answer at a time.  :func:`merged_points` turns one answer
into a stream in time order (``runQueryStream``).

A recording may run at most :data:`MAX_QUERIES` queries: Kapacitor has no
limit, but the count is the client's to choose (``-past 10y`` of a task
that runs every second), and each costs a round trip to InfluxDB.
"""

from __future__ import annotations

import heapq
from typing import Iterator, List, Optional, Sequence, Tuple

from twisted.internet import defer, task

from kapacitord_tw import gocompat
from kapacitord_tw.engine.messages import Batch, Point, go_round
from kapacitord_tw.engine.node import NodeError, prop
from kapacitord_tw.engine.nodes.batch import (
    MAX_POINTS_PER_QUERY, QueryNode, build_query, series_to_batches,
)
from kapacitord_tw.influxdb.client import InfluxDBError
from kapacitord_tw.replay.influxql_from import select_sources

#: Queries one batch recording or live batch replay may run.
MAX_QUERIES = 100_000

NOT_QUALIFIED = ("could not determine database and retention policy. "
                 "Is the query fully qualified?")


class QueryFailed(Exception):
    """The recording or replay cannot go on; the text is its error."""


def _go_dbrp(db: str, rp: str) -> str:
    """``kapacitor.DBRP.String()``: ``"db"."rp"`` with Go's quoting."""
    return f"{gocompat.go_quote(db)}.{gocompat.go_quote(rp)}"


def query_nodes(execution) -> List[object]:
    """A batch task's batch collectors (``tm.BatchCollectors``): the children of
    its ``batch`` node in the order Kapacitor links them, which is the
    pipeline's walk order (not the script's: recording entry N goes to the
    N-th of these); [] for a stream task."""
    source = next((n for n in execution.sources if n.spec.type_name == "BatchNode"), None)
    if source is None:
        return []
    return [n for n in execution.nodes.values() if source.name in n.spec.parents]


def query_dbrp(query: str) -> Tuple[str, str]:
    """The database and retention policy a recorded query reads (``execQuery``)."""
    sources = select_sources(query)
    if not sources or len(sources) != 1:
        raise QueryFailed(NOT_QUALIFIED)
    db, rp, _name = sources[0]
    if not db or not rp:
        raise QueryFailed(NOT_QUALIFIED)
    return db, rp


def _windows(node: QueryNode, start_ns: int, stop_ns: int, now_ns: int) -> Iterator[Tuple[int, int]]:
    """``QueryNode.Queries``: each tick after ``start`` up to ``stop``, as a
    (start, stop) query window ending ``offset`` before the tick."""
    current = start_ns
    while True:
        if node.schedule is not None:
            fire = node.schedule.next(current / 1e9)
            if fire is None:
                return
            current = int(round(fire * 1e9))
        else:
            current += node.every
            if node.align:
                current = go_round(current, node.every)
        if current > stop_ns:
            return
        qstop = current - node.offset
        if qstop > now_ns:
            return
        yield qstop - node.period, qstop


def task_queries(execution, dbrps, influxdb, start_ns: int, stop_ns: int, now_ns: int,
                 steps: task.Cooperator) -> List["QueryBatches"]:
    """One :class:`QueryBatches` per query node of the task; :class:`QueryFailed`
    when the task is not a batch task, reads a dbrp it does not have, names an
    unknown cluster or would run too many queries."""
    if execution.type != "batch":
        raise QueryFailed("wrong task type")
    nodes = query_nodes(execution)
    allowed = {(d.db, d.rp) for d in dbrps}
    for node in nodes:
        if not isinstance(node, QueryNode):
            raise QueryFailed(f"{node.spec.desc}: only query() nodes can be recorded")
        sources = select_sources(node.query)
        if sources is None:
            raise QueryFailed("unknown query source: the query must read measurements")
        for db, rp, _name in sources:
            if (db, rp) not in allowed:
                raise QueryFailed(f"batch query is not allowed to request data from "
                                  f"{_go_dbrp(db, rp)}")
    out = []
    total = 0
    for node in nodes:
        windows = []
        for window in _windows(node, start_ns, stop_ns, now_ns):
            total += 1
            if total > MAX_QUERIES:
                raise QueryFailed(f"the time range needs more than {MAX_QUERIES} queries: "
                                  "record a shorter one")
            windows.append(window)
        cluster = _cluster(influxdb, prop(node, "Cluster", ""))
        statements = [(build_query(node.query, start, stop, node.dimensions, node.fill), stop)
                      for start, stop in windows]
        out.append(QueryBatches(cluster.client, statements, node.by_name, node.by_time, steps))
    return out


def _cluster(influxdb, name: str):
    if influxdb is None:
        raise QueryFailed("InfluxDB not configured, cannot record batch query")
    try:
        return influxdb.cluster(name)
    except KeyError as e:
        raise QueryFailed(str(e.args[0])) from None


def single_query(influxdb, query: str, cluster: str, steps: task.Cooperator) -> "QueryBatches":
    """The one statement of ``/recordings/query`` and ``/replays/query``: its
    batches end at their last point, errors read ``InfluxDB query failed: ...``."""
    query_dbrp(query)
    if influxdb is None:
        raise QueryFailed("InfluxDB not configured, cannot record query")
    try:
        found = influxdb.cluster(cluster)
    except KeyError as e:
        raise QueryFailed(f"failed to get InfluxDB client: {e.args[0]}") from None
    return QueryBatches(found.client, [(query, gocompat.ZERO_TIME_NS)], False, True, steps,
                        prefix="InfluxDB query failed: ")


class QueryBatches:
    """Batches of a list of statements on one cluster, one statement per :meth:`read`.

    ``statements`` are ``(text, stop)``: a batch ends at ``stop`` unless the
    query groups by time (then at its last point), as the query node does.
    """

    def __init__(self, client, statements: Sequence[Tuple[str, int]], by_name: bool,
                 by_time: bool, steps: task.Cooperator, prefix: str = ""):
        self._client = client
        self._steps = steps
        self._work: Optional[task.CooperativeTask] = None
        self._statements = statements
        self._by_name = by_name
        self._by_time = by_time
        self._prefix = prefix
        self._index = 0
        self._pending: Optional[defer.Deferred] = None
        self.done = not statements

    def __len__(self) -> int:
        return len(self._statements)

    def read(self) -> defer.Deferred:
        """The next statement's batches; ``[]`` (and :attr:`done`) after the last."""
        if self._index >= len(self._statements):
            self.done = True
            return defer.succeed([])
        statement, stop = self._statements[self._index]
        self._index += 1
        d = self._pending = self._client.query(statement)
        d.addCallback(self._batches, stop)
        d.addErrback(self._failed)

        def last(result):
            self._pending = None
            if self._index >= len(self._statements):
                self.done = True
            return result

        return d.addBoth(last)

    def _batches(self, results, stop: int) -> defer.Deferred:
        """The answer as batches, converted in cooperative steps."""
        out: List = []
        work = self._steps.cooperate(answer_steps(results, self._by_name, stop, self._by_time,
                                                  out))
        self._work = work
        return work.whenDone().addCallback(lambda _: out)

    def _failed(self, failure):
        if failure.check(InfluxDBError, NodeError):
            raise QueryFailed(self._prefix + failure.getErrorMessage())
        return failure

    def close(self) -> None:
        """Stop: the query in flight (if any) is cancelled."""
        self._index = len(self._statements)
        if self._work is not None:
            try:
                self._work.stop()
            except task.TaskFinished:
                pass
        if self._pending is not None and not self._pending.called:
            self._pending.cancel()


#: Rows of an answer converted per cooperative step.
STEP_ROWS = 2000


def answer_steps(results, by_name: bool, stop: int, by_time: bool, out: List[Batch]):
    """``series_to_batches`` a slice of rows at a time (a generator for a
    Cooperator): the batches land in ``out``."""
    total = 0
    for result in results:
        for series in result.get("series") or []:
            values = series.get("values") or []
            points: List = []
            first = None
            for start in range(0, max(len(values), 1), STEP_ROWS):
                part = dict(series, values=values[start:start + STEP_ROWS])
                (chunk,) = series_to_batches([{"series": [part]}], by_name, stop, by_time)
                first = first or chunk
                points.extend(chunk.points)
                total += len(chunk.points)
                if total > MAX_POINTS_PER_QUERY:
                    raise NodeError(f"query returned more than {MAX_POINTS_PER_QUERY} points")
                yield None
            end = max(p.time for p in points) if by_time and points else stop
            out.append(first.evolve(points=points, tmax=end))


def merged_points(batches, database: str, retention_policy: str) -> Iterator[Point]:
    """The points of one answer in time order across its series (series order
    breaks ties), as stream points of ``database``/``retention_policy``."""
    def series(index, batch):
        name, tags = batch.name, batch.tags
        for p in batch.points:
            yield p.time, index, Point(name, database, retention_policy, dict(tags), p.fields,
                                       p.time)

    merged = heapq.merge(*(series(i, b) for i, b in enumerate(batches)),
                         key=lambda item: (item[0], item[1]))
    return (point for _time, _index, point in merged)
