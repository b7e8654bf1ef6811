"""Parsing a write straight into columns, a body at a time.

When the tasks read at most one field of every wanted measurement and the
body is plain line protocol with float fields only (one RE2 match tells),
each line needs only its series, its time and one value.  Those are taken
for all the lines of a piece of the body at once, with ``map`` over C
methods (``str.split``, ``dict.get``, ``str.rpartition``, ``float``), not
line by line in bytecode: in-process, the cpu body's 5,000 lines cost
about half of what the row loop spent building a dict and a tuple for
each.  What this cannot decide alike for every line of a piece (a field
not at a field's start, a missing field, several field names) is decided
line by line with the row parser's own helper; anything the row parser
would hand to its faithful scanner (a new key it cannot split, a time out
of range, a very long line) makes :func:`parse_columns` answer None, and
the body is parsed as rows: acceptance and errors stay the row parser's.
"""

from __future__ import annotations

from itertools import compress, repeat
from operator import itemgetter
from typing import Callable, Optional, Tuple

from kapacitord_tw.ingest.columns import single_names
from kapacitord_tw.ingest.lineprotocol import (
    _LONG_LINE,
    _PLAIN,
    _PRECISION_NS,
    MAX_NANO_TIME,
    MIN_NANO_TIME,
    SeriesKeys,
    _last_value,
    _single_field,
)

__all__ = ["columnar", "parse_columns"]

_first = itemgetter(0)
_second = itemgetter(1)
_third = itemgetter(2)
_last_char = itemgetter(slice(-1, None))
_FIELD_START = frozenset({",", ""})
#: Characters of the body taken at a time: a piece's lines, their parts and
#: their values stay in the CPU's caches while each pass goes over them, and
#: a piece shorter than ``_LONG_LINE`` needs no look at its lines' lengths.
PIECE = 32 * 1024


def columnar(wanted, fields) -> Optional[dict]:
    """The field name per measurement when a job can be parsed into columns:
    some measurements wanted, and of each of them at most one plain field."""
    if not isinstance(wanted, frozenset) or not wanted or not fields:
        return None
    names = single_names(fields)
    if names is None:
        return None
    for measurement in wanted:
        kept = fields.get(measurement)
        if kept is None or _single_field(kept) is False:
            return None
    return names


def parse_columns(body: bytes, precision: str, now_ns: int, keys: SeriesKeys, *,
                  wanted: frozenset, fields: dict, allow_unsigned: bool = False,
                  between: Optional[Callable[[], object]] = None, piece: int = PIECE,
                  ) -> Optional[Tuple[list, list, list, list, int]]:
    """``(handles, measurements, values, times, count)`` of the wanted points
    (handles from ``keys``; a value None: the point lacks the field), or
    None when this body must be parsed as rows.  ``fields`` must pass
    :func:`columnar`.  The body is taken ``piece`` bytes (of whole lines)
    at a time, and ``between`` is called once before the pieces are checked
    and again before each piece is parsed: a worker gives up its CPU there
    (see ``worker.yield_cpu``)."""
    names = single_names(fields) or {}
    if not body.isascii():
        return None
    # The whole-body pattern is "lines separated by newlines", so checking
    # each piece of whole lines (in place) accepts exactly the same bodies:
    # 0.23 ms for the 400 KiB cpu body, where one match over all of it took
    # 0.65 ms.  All of it first, so a body of other field types costs no
    # columns.
    plain = _PLAIN[bool(allow_unsigned)][2].fullmatch
    view = memoryview(body)
    cuts = list(_cuts(body, piece))
    if between is not None:
        between()
    for start, cut in cuts:
        if plain(view[start:cut]) is None:
            return None
    mult = _PRECISION_NS.get(precision, 1)
    default_time = now_ns - now_ns % mult
    # Each raw key's handle, or False for a key of a measurement not
    # wanted, in one look-up a line (kept per set of wanted measurements).
    table = keys.wanted_handles(wanted)
    measurement_of = keys.handle_measurements
    only = next(iter(wanted)) if len(wanted) == 1 else None
    handles: list = []
    measurements: list = []
    values: list = []
    times: list = []
    count = 0
    for start, cut in cuts:
        if between is not None:
            between()
        text = body[start:cut].decode("latin-1")
        lines = text.split("\n")
        if "" in lines:
            lines = list(filter(None, lines))
            if not lines:
                continue
        if len(text) >= _LONG_LINE and max(map(len, lines)) >= _LONG_LINE:
            return None  # a line this long: the scanner decides
        n = len(lines)
        count += n
        # No line has a time when each has one space: (key, " ", fields).
        timeless = text.count(" ") == n
        parts = list(map(str.partition if timeless else str.split, lines, repeat(" ")))
        del lines, text
        section = _third if timeless else _second
        stamps = None
        if not timeless:
            lengths = set(map(len, parts))
            if lengths == {3}:
                stamps = list(map(int, map(_third, parts)))
                if mult != 1:
                    stamps = [t * mult for t in stamps]
            elif lengths != {2}:
                stamps = [int(p[2]) * mult if len(p) == 3 else default_time for p in parts]
            if stamps is not None and (min(stamps) < MIN_NANO_TIME
                                       or max(stamps) > MAX_NANO_TIME):
                return None
        got = list(map(table.get, map(_first, parts)))
        if None in got and not _find_handles(got, parts, keys, table, wanted):
            return None  # the scanner decides: rows
        if False in got:
            keep = [h is not False for h in got]
            parts = list(compress(parts, keep))
            got = list(compress(got, keep))
            if stamps is not None:
                stamps = list(compress(stamps, keep))
            if not parts:
                continue
        names_of = ([only] * len(parts) if only is not None
                    else list(map(measurement_of.__getitem__, got)))
        handles += got
        measurements += names_of
        times += stamps if stamps is not None else [default_time] * len(parts)
        values += _values(parts, section, names_of, names)
    return handles, measurements, values, times, count


def _cuts(body: bytes, size: int):
    """Where each piece of whole lines of the body starts and ends (``size``
    bytes or so; the newline between two pieces is in neither)."""
    start, end = 0, len(body)
    while start < end:
        cut = body.find(b"\n", start + size)
        if cut < 0:
            cut = end
        yield start, cut
        start = cut + 1


def _find_handles(got: list, parts: list, keys: SeriesKeys, table: dict,
                  wanted: frozenset) -> bool:
    """Fill the ``None`` of ``got``: each new raw key's handle (False for a key
    of a measurement not wanted); False when a key needs the scanner."""
    raw = keys.raw
    for i, handle in enumerate(got):
        if handle is not None:
            continue
        key = parts[i][0]
        handle = table.get(key)
        if handle is None:
            entry = raw.get(key)
            if entry is None:
                entry = keys.new_key(key)
                if entry is None:
                    return False
            if entry[1] not in wanted:
                handle = False
            else:
                handle = entry[0]
                if handle is None:
                    handle = entry[0] = keys.handle(entry[1], entry[2])
                keys.handle_measurements[handle] = entry[1]
            table[key] = handle
        got[i] = handle
    return True


def _values(parts: list, section, measurements: list, names: dict) -> list:
    """The kept field's value of each line's field section (``section(part)``;
    None when it has none)."""
    kept = set(map(names.get, set(measurements)))
    if len(kept) == 1:
        (name,) = kept
        if name is None:
            return [None] * len(parts)
        # After a comma, ``name=`` is at a field's start: the last such is
        # the value (duplicates: the last wins), up to the next comma if any.
        cut = list(map(str.rpartition, map(section, parts), repeat("," + name + "=")))
        if not all(map(_second, cut)):
            # Some section has it first, or not at all: a field's start is
            # then the section's start or after a comma.
            cut = list(map(str.rpartition, map(section, parts), repeat(name + "=")))
            if not (all(map(_second, cut))
                    and _FIELD_START.issuperset(map(_last_char, map(_first, cut)))):
                cut = None
        if cut is not None:
            try:
                return list(map(float, map(_third, cut)))
            except ValueError:  # some field follows it
                return list(map(float, map(_first, map(str.partition, map(_third, cut),
                                                       repeat(",")))))
    out = []
    singles: dict = {}
    for part, measurement in zip(parts, measurements):
        name = names.get(measurement)
        if name is None:
            out.append(None)
            continue
        single = singles.get(name)
        if single is None:
            single = singles[name] = _single_field(frozenset((name,)))
        out.append(_last_value(section(part), single, True).get(name))
    return out
