"""A write whose tasks read one field of each point, carried as columns.

The usual task reads one field (``mean('usage_idle')``), so a worker's
parser keeps one value of each point.  As rows, each point still cost a
``dict`` and a tuple to build, to marshal, to unmarshal and to walk; as
columns -- series, values, times -- a write is three lists, which marshal
and slice in C.  :class:`ColumnRows` is still a sequence of the rows
``(series, fields, time)`` (built on demand), so anything that takes rows
takes it; a task whose lane reads columns (``engine.nodes.lane``) never
builds them.
"""

from __future__ import annotations

from typing import Dict, Optional

__all__ = ["ColumnRows"]


class ColumnRows:
    """Rows ``(series[i], {name: values[i]}, times[i])``, where ``name`` is
    ``names[series[i].measurement]``; a value of None (or a measurement
    with no name) is a point without that field: ``{}``.  Every other value
    is a float (columns are parsed only from bodies of float fields): a
    lane folds them into a window's sum without looking at their type."""

    __slots__ = ("series", "values", "times", "names")

    def __init__(self, series: list, values: list, times: list, names: Dict[str, str]):
        self.series = series
        self.values = values
        self.times = times
        self.names = names

    def __len__(self) -> int:
        return len(self.series)

    def __iter__(self):
        names = self.names
        for series, value, time in zip(self.series, self.values, self.times):
            if value is None:
                yield series, {}, time
                continue
            name = names.get(series.measurement)
            yield series, ({} if name is None else {name: value}), time

    def __getitem__(self, index):
        if isinstance(index, slice):
            return ColumnRows(self.series[index], self.values[index], self.times[index],
                              self.names)
        series, value = self.series[index], self.values[index]
        name = None if value is None else self.names.get(series.measurement)
        return series, ({} if name is None else {name: value}), self.times[index]

    def __add__(self, other):
        if isinstance(other, ColumnRows) and other.names is self.names:
            return ColumnRows(self.series + other.series, self.values + other.values,
                              self.times + other.times, self.names)
        return list(self) + list(other)

    def __iadd__(self, other):
        # In place, as a list's += (the router adds a measurement's later
        # runs to the part it already keeps in a dict).
        if isinstance(other, ColumnRows) and other.names is self.names:
            self.extend(other.series, other.values, other.times)
            return self
        return list(self) + list(other)

    def __eq__(self, other) -> bool:
        try:
            return len(self) == len(other) and all(a == b for a, b in zip(self, other))
        except TypeError:
            return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def by_measurement(self) -> Dict[str, "ColumnRows"]:
        """Each measurement's points, in order (a write for tasks of one
        measurement each, when the parser did not group it)."""
        measurements = [s.measurement for s in self.series]
        if len(set(measurements)) <= 1:
            return {measurements[0]: self} if measurements else {}
        at: Dict[str, list] = {}
        for i, measurement in enumerate(measurements):
            indices = at.get(measurement)
            if indices is None:
                at[measurement] = [i]
            else:
                indices.append(i)
        return {m: ColumnRows(list(map(self.series.__getitem__, indices)),
                              list(map(self.values.__getitem__, indices)),
                              list(map(self.times.__getitem__, indices)), self.names)
                for m, indices in at.items()}

    def extend(self, series: list, values: list, times: list) -> None:
        """A later frame's columns (the same write)."""
        self.series += series
        self.values += values
        self.times += times

    def __repr__(self) -> str:
        return f"ColumnRows({len(self)} rows)"


def single_names(fields: Optional[dict]) -> Optional[Dict[str, str]]:
    """Measurement -> the one field name kept of its points, when a
    projection keeps at most one field of every measurement it names (the
    columnar case; a measurement keeping none is left out); else None."""
    if not fields:
        return None
    names: Dict[str, str] = {}
    for measurement, kept in fields.items():
        if len(kept) > 1:
            return None
        if kept:
            (names[measurement],) = kept
    return names
