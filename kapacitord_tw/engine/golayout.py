"""Go's ``time.Time.Format`` reference-layout formatting (``2006-01-02 15:04:05 -0700 MST``).

Templates call ``{{ .Time.Format "..." }}`` and ``{{ .Time }}`` prints with
Go's default layout; both go through this one formatter.  One left-to-right
pass over the layout, so its cost is linear in the layout's length.
"""

from __future__ import annotations

import datetime as _dt

__all__ = ["format_layout"]

_MONTHS = ["January", "February", "March", "April", "May", "June", "July",
           "August", "September", "October", "November", "December"]
_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]

# Longest match first where one chunk is a prefix of another.
_CHUNKS = [
    "January", "Jan", "Monday", "Mon", "MST",
    "2006", "002", "01", "02", "03", "04", "05", "06",
    "15", "1", "2", "_2006", "__2", "_2", "3", "4", "5", "PM", "pm",
    "-07:00:00", "-070000", "-07:00", "-0700", "-07",
    "Z07:00:00", "Z070000", "Z07:00", "Z0700", "Z07",
]


def _zone(chunk: str, offset: int) -> str:
    if chunk.startswith("Z") and offset == 0:
        return "Z"
    sign = "-" if offset < 0 else "+"
    off = abs(offset)
    hh, mm, ss = off // 3600, off // 60 % 60, off % 60
    body = chunk[1:]
    if body == "07":
        return f"{sign}{hh:02d}"
    if body == "0700":
        return f"{sign}{hh:02d}{mm:02d}"
    if body == "07:00":
        return f"{sign}{hh:02d}:{mm:02d}"
    if body == "070000":
        return f"{sign}{hh:02d}{mm:02d}{ss:02d}"
    return f"{sign}{hh:02d}:{mm:02d}:{ss:02d}"


def _value(chunk: str, t: _dt.datetime, offset: int, zone: str) -> str:
    h12 = t.hour % 12 or 12
    yday = t.timetuple().tm_yday
    simple = {
        "January": _MONTHS[t.month - 1], "Jan": _MONTHS[t.month - 1][:3],
        "Monday": _DAYS[t.weekday()], "Mon": _DAYS[t.weekday()][:3],
        "2006": "%04d" % t.year, "_2006": "_%04d" % t.year, "06": "%02d" % (t.year % 100),
        "01": "%02d" % t.month, "1": str(t.month),
        "02": "%02d" % t.day, "2": str(t.day), "_2": "%2d" % t.day,
        "002": "%03d" % yday, "__2": "%3d" % yday,
        "15": "%02d" % t.hour, "03": "%02d" % h12, "3": str(h12),
        "04": "%02d" % t.minute, "4": str(t.minute),
        "05": "%02d" % t.second, "5": str(t.second),
        "PM": "PM" if t.hour >= 12 else "AM", "pm": "pm" if t.hour >= 12 else "am",
    }
    if chunk in simple:
        return simple[chunk]
    if chunk == "MST":
        return zone or _zone("-0700", offset)
    return _zone(chunk, offset)


def _chunk_at(layout: str, i: int) -> str | None:
    for chunk in _CHUNKS:
        if layout.startswith(chunk, i):
            # "Jan"/"Mon" and friends must not run into a lower-case letter.
            if chunk in ("Jan", "Mon") and \
                    layout[i + len(chunk):i + len(chunk) + 1].islower() and \
                    layout[i + len(chunk):i + len(chunk) + 1].isascii():
                return None
            return chunk
    return None


def format_layout(layout: str, wall: _dt.datetime, nanos: int, offset: int, zone: str) -> str:
    """Format the wall-clock time *wall* (+ *nanos*) in a zone *offset* seconds east of UTC."""
    out = []
    i = 0
    n = len(layout)
    while i < n:
        c = layout[i]
        if c in ".," and i + 1 < n and layout[i + 1] in "09":
            digit = layout[i + 1]
            j = i + 1
            while j < n and layout[j] == digit:
                j += 1
            if not (j < n and layout[j].isdigit()):
                width = min(j - i - 1, 9)
                frac = ("%09d" % nanos)[:width]
                if digit == "9":
                    frac = frac.rstrip("0")
                    if frac:
                        out.append(c + frac)
                else:
                    out.append(c + frac)
                i = j
                continue
        chunk = _chunk_at(layout, i)
        if chunk is None:
            out.append(c)
            i += 1
            continue
        out.append(_value(chunk, wall, offset, zone))
        i += len(chunk)
    return "".join(out)
