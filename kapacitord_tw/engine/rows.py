"""Points and batches as ``models.Row`` JSON (what httpOut serves and alerts carry)."""

from __future__ import annotations

import datetime as _dt

from kapacitord_tw.gocompat import format_time

_UTC = _dt.timezone.utc


def rfc3339(ns: int) -> str:
    """A point time as Go marshals it: RFC 3339 with nanoseconds, in UTC."""
    return format_time(ns, _UTC)


def point_row(p) -> dict:
    """``pointMessage.ToRow``: columns are ``time`` then the sorted field keys."""
    keys = sorted(p.fields)
    row = {"name": p.name} if p.name else {}
    if p.tags:
        row["tags"] = {k: p.tags[k] for k in sorted(p.tags)}
    row["columns"] = ["time", *keys]
    fields = p.fields
    row["values"] = [[rfc3339(p.time), *[fields[k] for k in keys]]]
    return row


def batch_row(b) -> dict:
    """``bufferedBatchMessage.ToRow``: columns from the first point's fields and its
    tags that are not the batch's, sorted after ``time``."""
    row = {"name": b.name} if b.name else {}
    if b.tags:
        row["tags"] = {k: b.tags[k] for k in sorted(b.tags)}
    if not b.points:
        return row
    first = b.points[0]
    columns = list(first.fields)
    columns.extend(t for t in first.tags if t not in b.tags)
    columns.sort()
    values = []
    for bp in b.points:
        fields, tags = bp.fields, bp.tags
        line = [rfc3339(bp.time)]
        for c in columns:
            if c in fields:
                line.append(fields[c])
            else:
                line.append(tags.get(c))
        values.append(line)
    row["columns"] = ["time", *columns]
    row["values"] = values
    return row
