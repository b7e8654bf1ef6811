"""The messages that flow along a task's edges (Kapacitor's ``edge`` package).

A stream edge carries :class:`Point`; a batch edge carries :class:`Batch`
(Kapacitor's buffered batch: begin, points, end in one object).  Both
edges also carry :class:`Barrier` and :class:`DeleteGroup`.

Messages are shared between the children of a node, so they are never
changed once emitted: a node that alters a point makes a new one
(:meth:`Point.evolve`).  ``tags`` and ``fields`` are plain dicts, owned by
the message that holds them.  Times are nanoseconds since the Unix epoch.
"""

from __future__ import annotations

from typing import Dict, List, Optional, Tuple

__all__ = [
    "Barrier",
    "Batch",
    "BatchPoint",
    "DeleteGroup",
    "Dimensions",
    "NO_DIMENSIONS",
    "Point",
    "go_round",
    "go_truncate",
    "group_id",
]

#: Seconds from Go's zero time (0001-01-01) to the Unix epoch: Go truncates
#: and rounds times relative to its zero time, not to 1970.
_GO_ZERO_OFFSET_NS = 62135596800 * 1_000_000_000


def go_truncate(t: int, d: int) -> int:
    """``time.Time.Truncate(d)``: round down to a multiple of ``d`` since Go's zero time."""
    if d <= 0:
        return t
    return t - (t + _GO_ZERO_OFFSET_NS) % d


def go_round(t: int, d: int) -> int:
    """``time.Time.Round(d)``: nearest multiple of ``d`` since Go's zero time, halves up."""
    if d <= 0:
        return t
    r = (t + _GO_ZERO_OFFSET_NS) % d
    if r + r < d:
        return t - r
    return t + d - r


class Dimensions(tuple):
    """``models.Dimensions``: ``(by_name, tag_names)``; tag names in group-by order."""

    __slots__ = ()

    def __new__(cls, by_name: bool = False, tag_names: Tuple[str, ...] = ()):
        return tuple.__new__(cls, (bool(by_name), tuple(tag_names)))

    @property
    def by_name(self) -> bool:
        return self[0]

    @property
    def tag_names(self) -> Tuple[str, ...]:
        return self[1]


NO_DIMENSIONS = Dimensions(False, ())


def group_id(name: str, tags: Dict[str, str], dims: Dimensions) -> str:
    """``models.ToGroupID``: the key that tells one group from another."""
    by_name, tag_names = dims
    if not tag_names:
        return name if by_name else ""
    body = ",".join([f"{t}={tags.get(t, '')}" for t in tag_names])
    return name + "\n" + body if by_name else body


class Point:
    """One point on a stream edge (``edge.PointMessage``)."""

    __slots__ = ("name", "database", "retention_policy", "tags", "fields", "time",
                 "dimensions", "group")

    def __init__(self, name: str, database: str, retention_policy: str,
                 tags: Dict[str, str], fields: Dict[str, object], time: int,
                 dimensions: Dimensions = NO_DIMENSIONS, group: Optional[str] = None):
        self.name = name
        self.database = database
        self.retention_policy = retention_policy
        self.tags = tags
        self.fields = fields
        self.time = time
        self.dimensions = dimensions
        self.group = group if group is not None else group_id(name, tags, dimensions)

    def evolve(self, **changes) -> "Point":
        """A copy with ``changes``; the group is recomputed when name, tags or dimensions change."""
        get = changes.get
        if "group" in changes:
            group = changes["group"]
        elif "name" in changes or "tags" in changes or "dimensions" in changes:
            group = None
        else:
            group = self.group
        return Point(get("name", self.name), get("database", self.database),
                     get("retention_policy", self.retention_policy), get("tags", self.tags),
                     get("fields", self.fields), get("time", self.time),
                     get("dimensions", self.dimensions), group)

    def group_tags(self) -> Dict[str, str]:
        """The tags that identify the group (``GroupInfo().Tags``)."""
        tags = self.tags
        return {t: tags.get(t, "") for t in self.dimensions[1]}

    def __repr__(self) -> str:
        return (f"Point({self.name!r}, tags={self.tags!r}, fields={self.fields!r}, "
                f"time={self.time}, group={self.group!r})")


class BatchPoint:
    """One point inside a batch (``edge.BatchPointMessage``)."""

    __slots__ = ("time", "fields", "tags")

    def __init__(self, time: int, fields: Dict[str, object], tags: Dict[str, str]):
        self.time = time
        self.fields = fields
        self.tags = tags

    @classmethod
    def from_point(cls, p: Point) -> "BatchPoint":
        return cls(p.time, p.fields, p.tags)

    def __repr__(self) -> str:
        return f"BatchPoint({self.time}, {self.fields!r}, {self.tags!r})"


class Batch:
    """A whole batch on a batch edge (``edge.BufferedBatchMessage``).

    ``tags`` are the group's tags; the dimensions are the sorted tag names
    (and ``by_name``), as ``NewBeginBatchMessage`` derives them.

    A window whose points each had one field gives its batch as
    ``columns`` -- ``(times, field name, values, tags)``, parallel lists --
    and the batch points are built from them the first time ``points`` is
    read: a reducer that reads the values never builds them (nor touches a
    dict per point).

    ``folded`` -- ``(sum, count)`` -- is what a folding window gives its
    one child (``mean``, ``sum`` or ``count``; see ``nodes.window``): the
    float values of the batch's first points, added; the points or columns
    are only those after them.  No other node ever sees such a batch.
    """

    __slots__ = ("name", "tags", "by_name", "tmax", "_points", "group", "dimensions", "columns",
                 "folded")

    def __init__(self, name: str, tags: Dict[str, str], by_name: bool, tmax: int,
                 points: Optional[List[BatchPoint]], group: Optional[str] = None,
                 columns: Optional[tuple] = None, folded: Optional[tuple] = None):
        self.name = name
        self.tags = tags
        self.by_name = by_name
        self.tmax = tmax
        self._points = points
        self.columns = columns
        self.folded = folded
        self.dimensions = Dimensions(by_name, tuple(sorted(tags)))
        self.group = group if group is not None else group_id(name, tags, self.dimensions)

    @property
    def points(self) -> List[BatchPoint]:
        """The batch points (for a folded batch, only those after the fold's)."""
        points = self._points
        if points is None:
            times, name, values, tags = self.columns
            points = self._points = [BatchPoint(t, {name: v}, tg)
                                     for t, v, tg in zip(times, values, tags)]
        return points

    @property
    def time(self) -> int:
        return self.tmax

    def evolve(self, **changes) -> "Batch":
        values = {"name": self.name, "tags": self.tags, "by_name": self.by_name,
                  "tmax": self.tmax, "points": self.points}
        values.update(changes)
        if not ({"name", "tags", "by_name"} & changes.keys()):
            values["group"] = self.group
        return Batch(**values)

    def group_tags(self) -> Dict[str, str]:
        return self.tags

    def __repr__(self) -> str:
        return (f"Batch({self.name!r}, tags={self.tags!r}, tmax={self.tmax}, "
                f"points={self.points!r})")


class Barrier:
    """``edge.BarrierMessage``: no point of ``group`` older than ``time`` will follow."""

    __slots__ = ("group", "tags", "dimensions", "time", "delete")

    def __init__(self, group: str, tags: Dict[str, str], dimensions: Dimensions, time: int,
                 delete: bool = False):
        self.group = group
        self.tags = tags
        self.dimensions = dimensions
        self.time = time
        self.delete = delete

    def group_tags(self) -> Dict[str, str]:
        return self.tags


class DeleteGroup:
    """``edge.DeleteGroupMessage``: forget everything kept for ``group``."""

    __slots__ = ("group", "tags", "dimensions")

    def __init__(self, group: str, tags: Dict[str, str], dimensions: Dimensions):
        self.group = group
        self.tags = tags
        self.dimensions = dimensions

    def group_tags(self) -> Dict[str, str]:
        return self.tags
