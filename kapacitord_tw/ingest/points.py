"""The point type that ``/write`` produces and the bus that carries points to the task engine.

The HTTP layer parses a request body into :class:`Point` objects and hands
them to an :class:`IPointBus`; the task engine subscribes to that bus.  The
bus is the only coupling between the two, so either side can be tested with
a plain list standing in for the other.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from typing import Union

import attrs
from twisted.internet import defer
from twisted.logger import Logger
from zope.interface import Interface, implementer

__all__ = [
    "FieldKind",
    "FieldValue",
    "IPointBus",
    "Point",
    "PointBus",
    "Unsigned",
    "field_kind",
]


class Unsigned(int):
    """An unsigned 64-bit field value (line protocol ``u`` suffix).

    A subclass of ``int`` so arithmetic still works, but a distinct type so
    the engine can tell ``5u`` from ``5i`` the way InfluxDB's ``uint64`` and
    ``int64`` differ.  Use :func:`field_kind` rather than ``isinstance``:
    ``bool`` and ``Unsigned`` are both ``int`` subclasses.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return f"Unsigned({int(self)})"


#: A field value: ``int`` (int64, ``i`` suffix), :class:`Unsigned` (uint64),
#: ``float``, ``bool`` or ``str``.
FieldValue = Union[int, float, bool, str, Unsigned]


class FieldKind(enum.Enum):
    """The InfluxDB field types a :data:`FieldValue` can have."""

    INTEGER = "integer"
    UNSIGNED = "unsigned"
    FLOAT = "float"
    BOOLEAN = "boolean"
    STRING = "string"


def field_kind(value: FieldValue) -> FieldKind:
    """Which InfluxDB type *value* stands for (checks ``bool``/``Unsigned`` before ``int``)."""
    kind = type(value)
    if kind is float:
        return FieldKind.FLOAT
    if kind is bool:
        return FieldKind.BOOLEAN
    if kind is Unsigned:
        return FieldKind.UNSIGNED
    if kind is int:
        return FieldKind.INTEGER
    if kind is str:
        return FieldKind.STRING
    raise TypeError(f"not a field value: {value!r}")


@attrs.frozen
class Point:
    """One parsed point, as Kapacitor's task master receives it.

    ``tags`` and ``fields`` are tuples of ``(key, value)`` pairs sorted by key
    (fields: one entry per key, the last one written wins, as in InfluxDB's
    field map), so equal points compare equal and are hashable.  ``time`` is
    nanoseconds since the Unix epoch.
    """

    database: str
    retention_policy: str
    measurement: str
    tags: tuple[tuple[str, str], ...]
    fields: tuple[tuple[str, FieldValue], ...]
    time: int

    @property
    def tag_map(self) -> dict[str, str]:
        """The tags as a new ``dict`` (what Kapacitor's ``models.Tags`` is)."""
        return dict(self.tags)

    @property
    def field_map(self) -> dict[str, FieldValue]:
        """The fields as a new ``dict`` (what Kapacitor's ``models.Fields`` is)."""
        return dict(self.fields)


class IPointBus(Interface):
    """Fan-out of written points from the HTTP layer to the task engine.

    Contract:

    * ``publish`` delivers every batch, in publish order, to every callback
      subscribed at the moment ``publish`` is called, synchronously, on the
      calling (reactor) thread, before ``publish`` returns.
    * Each callback receives the batch as an immutable ``tuple`` of
      :class:`Point`; it must not block.  It returns ``None``, or a
      ``Deferred`` when the publisher should wait before sending more
      (back-pressure: the task engine's queue is full); that Deferred only
      ever succeeds.  ``publish`` returns ``None`` or a Deferred that fires
      once every such Deferred has.
    * An exception from one callback is logged and does not prevent delivery
      to the others, nor does it propagate to the publisher: a write request
      has already been accepted when its points are published, like
      Kapacitor's task master, which buffers points for its tasks.
    * Empty batches are not delivered.
    * Subscribing or unsubscribing from inside a callback is allowed and
      takes effect from the next ``publish``.
    """

    def subscribe(callback: Callable[[tuple[Point, ...]], object], *, rows=None,
                  wanted=None, fields=None, grouped=None) -> Callable[[], None]:
        """Register *callback* for every later batch; return a function that unregisters it.

        The returned function may be called any number of times.  Subscribing
        the same callable twice delivers each batch to it twice.  ``rows``:
        called instead of *callback* with a write published as rows
        (:class:`~kapacitord_tw.ingest.rows.WriteRows`); ``wanted(database,
        rp)``: which points of such a write the subscriber can use (``None``,
        ``True`` for all, or a set of measurements); without it, all.
        ``fields(database, rp)``: measurement -> the only fields the
        subscriber can observe of its points (a projection: parsers may
        leave the others out); without it, every field.  ``grouped(database,
        rp)``: True when the subscriber can take a write's rows grouped by
        measurement (it reads each measurement on its own); without it, no.
        """

    def publish(points: Sequence[Point]):
        """Deliver *points* (one write request's worth) to all current subscribers;
        a Deferred when the publisher must wait (see above), else ``None``."""

    def publish_rows(write):
        """Deliver one write's rows (a ``WriteRows``, filtered by :meth:`wanted`
        when it was parsed): ``rows`` subscribers get it as it is, others as
        points; returns as :meth:`publish` does."""

    def wanted(database: str, retention_policy: str):
        """The union of the subscribers' ``wanted``: ``None`` when no
        subscriber can use any point of that database and retention policy."""

    def fields(database: str, retention_policy: str) -> dict:
        """Measurement -> the only fields any subscriber can observe of its
        points; measurements left out are parsed whole."""

    def grouped(database: str, retention_policy: str) -> bool:
        """True when every subscriber taking points of that database and
        retention policy can take them grouped by measurement."""


@implementer(IPointBus)
class PointBus:
    """The in-process :class:`IPointBus`: a list of callbacks called in subscription order."""

    _log = Logger()

    def __init__(self) -> None:
        #: (token, callback, rows callback or None, wanted, fields, grouped (each or None))
        self._subscribers: list[tuple[object, Callable, object, object, object, object]] = []

    def subscribe(self, callback: Callable[[tuple[Point, ...]], object], *, rows=None,
                  wanted=None, fields=None, grouped=None) -> Callable[[], None]:
        token = object()
        # The list is rebuilt, never changed in place, so a publish in progress
        # keeps the snapshot it started with without copying it.
        self._subscribers = [*self._subscribers, (token, callback, rows, wanted, fields, grouped)]

        def unsubscribe() -> None:
            self._subscribers = [s for s in self._subscribers if s[0] is not token]

        return unsubscribe

    def wanted(self, database: str, retention_policy: str):
        answer = None
        for _token, _callback, _rows, wanted, _fields, _grouped in self._subscribers:
            if wanted is None:
                return True
            mine = wanted(database, retention_policy)
            if mine is True:
                return True
            if mine is None:
                continue
            answer = frozenset(mine) if answer is None else answer | mine
        return answer

    def fields(self, database: str, retention_policy: str) -> dict:
        takers = []
        for _token, _callback, _rows, wanted, fields, _grouped in self._subscribers:
            mine = True if wanted is None else wanted(database, retention_policy)
            if mine is None:
                continue
            if fields is None:
                return {}
            takers.append((mine, fields(database, retention_policy)))
        if len(takers) == 1:
            return takers[0][1]
        answer: dict = {}
        for measurement in set().union(*(f for _m, f in takers)):
            kept = frozenset()
            for mine, fields in takers:
                if mine is True or measurement in mine:
                    if measurement not in fields:
                        break
                    kept |= fields[measurement]
            else:
                answer[measurement] = kept
        return answer

    def grouped(self, database: str, retention_policy: str) -> bool:
        takers = False
        for _token, _callback, _rows, wanted, _fields, grouped in self._subscribers:
            if wanted is not None and wanted(database, retention_policy) is None:
                continue
            if grouped is None or not grouped(database, retention_policy):
                return False
            takers = True
        return takers

    def publish(self, points: Sequence[Point]):
        subscribers = self._subscribers
        if not subscribers:  # no task reads points: nothing to do
            return None
        batch = points if type(points) is tuple else tuple(points)
        if not batch:
            return None
        return self._deliver([(callback, batch) for _t, callback, *_rest in subscribers],
                             len(batch))

    def publish_rows(self, write):
        subscribers = self._subscribers
        if not subscribers:
            return None
        calls = []
        points = None
        for _token, callback, rows, _wanted, fields, grouped in subscribers:
            if (write.fields and fields is None) or (write.grouped and grouped is None):
                continue  # it came while the write was parsed for the others
            if rows is not None:
                calls.append((rows, write))
            elif write.rows:
                if points is None:
                    points = write.points()  # once, for every such subscriber
                calls.append((callback, points))
        return self._deliver(calls, write.count)

    def _deliver(self, calls, count: int):
        waits = None
        for callback, batch in calls:
            try:
                wait = callback(batch)
                if isinstance(wait, defer.Deferred):
                    waits = [wait] if waits is None else [*waits, wait]
            except Exception:
                self._log.failure(
                    "point subscriber {subscriber!r} failed on {count} points",
                    subscriber=callback,
                    count=count,
                )
        if waits is None:
            return None
        return waits[0] if len(waits) == 1 else defer.DeferredList(waits)
