"""The compact form of a write on its way to the engine: series once, rows many times.

Writers repeat their series, so a write is carried as rows of
``(series, fields, time)`` where ``series`` is a :class:`Series` shared by
every point of that series (its tags ``dict`` included): a point then costs
its fields and its time, not a copy of its tags.  The ingest workers send
rows; the engine builds its messages from them; anything that wants the old
:class:`~kapacitord_tw.ingest.points.Point` tuples gets them from
:meth:`WriteRows.points`.
"""

from __future__ import annotations

from typing import Dict, List, Optional, Tuple

from kapacitord_tw.ingest.points import Point

__all__ = ["ALL", "Series", "SeriesTable", "WriteRows"]

#: ``wanted`` answer meaning every measurement of the database/retention policy.
ALL = True


class Series:
    """One measurement and tag set.  ``tags`` is shared and never changed;
    ``key`` (the sorted ``(tag, value)`` pairs) is hashable; ``cache`` is
    per-series memo space for the engine (group ids by dimensions)."""

    __slots__ = ("measurement", "key", "tags", "cache", "__weakref__")

    def __init__(self, measurement: str, key: Tuple[Tuple[str, str], ...]):
        self.measurement = measurement
        self.key = key
        self.tags: Dict[str, str] = dict(key)
        self.cache: Dict[object, object] = {}

    def __repr__(self) -> str:
        return f"Series({self.measurement!r}, {self.key!r})"


class SeriesTable:
    """Interns series so every write of one series shares one :class:`Series`.

    Bounded: past ``limit`` distinct series the table starts over (the
    series already handed out stay valid; only sharing is lost).
    """

    def __init__(self, limit: int = 200_000):
        self.limit = limit
        self._series: Dict[Tuple[str, tuple], Series] = {}

    def intern(self, measurement: str, key: Tuple[Tuple[str, str], ...]) -> Series:
        probe = (measurement, key)
        series = self._series.get(probe)
        if series is None:
            if len(self._series) >= self.limit:
                self._series = {}
            series = self._series[probe] = Series(measurement, key)
        return series

    def __len__(self) -> int:
        return len(self._series)


class WriteRows:
    """One write's points for ``database``/``retention_policy``, in write order.

    ``rows`` holds ``(series, fields, time)``: ``fields`` a ``dict`` (sorted
    by key, owned by the row, never changed), ``time`` ns since the epoch.
    ``count`` is the number of points the write had, wanted or not.
    ``wanted`` is the set of measurements the rows were kept for, when the
    parser left the others out (``None``: any measurement may be there), so
    a router whose tasks all take exactly those can skip looking at rows.
    ``fields`` is the projection the rows were parsed with: measurement ->
    the only fields their dicts hold (the others' rows are whole).
    ``grouped``: the rows may be grouped by measurement, frame by frame
    (each measurement's rows still in write order).  ``runs``: when they
    are, the ``(measurement, count)`` of each group, in order, if the
    parser said (else None).
    """

    __slots__ = ("database", "retention_policy", "rows", "count", "wanted", "fields", "grouped",
                 "runs")

    def __init__(self, database: str, retention_policy: str,
                 rows: List[Tuple[Series, dict, int]], count: Optional[int] = None,
                 wanted: Optional[frozenset] = None, fields: Optional[dict] = None,
                 grouped: bool = False, runs: Optional[list] = None):
        self.database = database
        self.retention_policy = retention_policy
        self.rows = rows
        self.count = len(rows) if count is None else count
        self.wanted = wanted
        self.fields = fields or {}
        self.grouped = grouped
        self.runs = runs

    def points(self) -> Tuple[Point, ...]:
        """The rows as ingest :class:`Point` objects (subscribers that want those)."""
        db, rp = self.database, self.retention_policy
        return tuple(Point(db, rp, s.measurement, s.key, tuple(f.items()), t)
                     for s, f, t in self.rows)

    @classmethod
    def from_points(cls, points, table: SeriesTable) -> "WriteRows":
        """Rows of ingest points that share one database and retention policy."""
        if not points:
            return cls("", "", [])
        first = points[0]
        intern = table.intern
        rows = [(intern(p.measurement, p.tags), dict(p.fields), p.time) for p in points]
        return cls(first.database, first.retention_policy, rows)
