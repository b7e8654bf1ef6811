"""
Kapacitor's ``TestBatch_*`` cases with the query node really querying influxd.

The Go harness never runs a batch task's query: it replays recorded query
*results* (``testdata/<name>.N.brpl``) into the task (``batch_conformance.py``).
Here a case runs the way a deployed task does:

1. **Source points.**  Each recording is turned back into the points its
   query was run over (:func:`source_points`) and written, with line
   protocol, into a fresh database of a real influxd.  A recorded point
   becomes one point of the batch's measurement, with the batch's and the
   point's tags, at the recording's time moved as the replay moves it (the
   file's first point at 1971-01-01T00:00:00Z).  Its fields are renamed
   from the query's result columns back to the fields they were computed
   from (``SELECT mean("value")`` gave the column ``mean`` of field
   ``value``; ``sum("value") AS "value"``, ``first(...)``, plain fields
   alike): with one point per ``GROUP BY time`` bucket, the aggregate of
   that one point is the recorded value.  Tags that the query's ``WHERE``
   pins with ``"tag" = 'value'`` are added when the recording lacks them
   (the recorded batches came from points that had them).  When several
   queries read the same points (same measurement and ``WHERE``), only the
   finest recording (most tags) is written: the other queries must derive
   their own results from it, as they did when the recording was made.
2. **The task** is the case's script, verbatim, built on a
   ``twisted.internet.task.Clock`` set to 1971-01-01T00:00:00Z, with the
   module's influxd as its default cluster.  Its query nodes run on their
   own ``.every()`` schedule: the clock moves one period at a time up to
   the case's duration, and after each step the test waits for every query
   in flight (:meth:`QueryNode.idle`), so windows are
   ``[0s, 10s)``, ``[10s, 20s)`` ... from the first point.
3. **The end** is the Go harness's: the task is drained and the httpOut
   result compared with the case's expected result (``compare``).

A case whose recording no query over influxd can give back (data influxd
cannot store, a statement influxd refuses, a replay-only effect the Go
expectation relies on) is listed in ``batch_influxd_excluded.txt`` with the
reason; the test module runs those as strict xfails, so the reasons stay true.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import attrs

from kapacitord_tw import tick
from tests.engine.batch_conformance import ZERO_NS, parse_time, read_brpl, recordings

HERE = Path(__file__).parent
EXCLUDED_FILE = HERE / "batch_influxd_excluded.txt"

_FROM = re.compile(
    r'\bFROM\s+("(?:[^"\\]|\\.)*"|\w+)\.("(?:[^"\\]|\\.)*"|\w+)\.("(?:[^"\\]|\\.)*"|\w+|/(?:[^/\\]|\\.)*/)',
    re.I)
_SELECT = re.compile(r"^\s*SELECT\s+(.*?)\s+FROM\b", re.I | re.S)
_ITEM = re.compile(r'^(?:(\w+)\(\s*("[^"]*"|\w+)\s*\)|("[^"]*"|\w+))(?:\s+AS\s+("[^"]*"|\w+))?$', re.I)
_WHERE = re.compile(r"\bWHERE\b(.*)$", re.I | re.S)
_PINNED = re.compile(r"""("[^"]*"|\w+)\s*=\s*'((?:[^'\\]|\\.)*)'""")


def load_excluded() -> Dict[str, str]:
    """``{case id: reason}`` of the cases influxd cannot reproduce."""
    excluded: Dict[str, str] = {}
    for raw in EXCLUDED_FILE.read_text().splitlines():
        name, _, reason = raw.partition("#")
        if name.strip():
            excluded[name.strip()] = reason.strip()
    return excluded


def _unquote(ident: str) -> str:
    if ident.startswith('"') and ident.endswith('"'):
        return ident[1:-1].replace('\\"', '"')
    return ident


@attrs.frozen
class QueryShape:
    """What the source points of one query must look like."""

    database: str
    retention_policy: str
    #: result column -> the field it was computed from
    columns: Dict[str, str]
    #: tags the WHERE clause pins to one value
    pinned: Dict[str, str]

    @classmethod
    def parse(cls, query: str) -> "QueryShape":
        where = _WHERE.search(query)
        frm = _FROM.search(query)
        select = _SELECT.search(query)
        if not (frm and select):
            raise ValueError(f"cannot read the query {query!r}")
        columns = {}
        for item in select.group(1).split(","):
            m = _ITEM.match(item.strip())
            if not m:
                raise ValueError(f"cannot read the select item {item!r}")
            func, arg, plain, alias = m.groups()
            field = _unquote(arg if func else plain)
            column = _unquote(alias) if alias else (func if func else field)
            columns[column] = field
        pinned = {}
        if where:
            for tag, value in _PINNED.findall(where.group(1)):
                pinned[_unquote(tag)] = value
        return cls(_unquote(frm.group(1)), _unquote(frm.group(2)), columns, pinned)


def query_shapes(script: str) -> List[QueryShape]:
    """One shape per query node, in the order the replay hands them recordings."""
    compiled = tick.compile_task(script)
    return [QueryShape.parse(n.properties.get("QueryStr") or "")
            for n in compiled.pipeline.nodes if n.type_name == "QueryNode"]


@attrs.frozen
class SourcePoint:
    database: str
    retention_policy: str
    measurement: str
    tags: Dict[str, str]
    fields: Dict[str, object]
    time: int


def _file_points(text: str, shape: QueryShape) -> List[SourcePoint]:
    out, diff = [], None
    for raw in read_brpl(text):
        points = raw.get("points") or []
        if not points:
            continue
        if diff is None:
            diff = ZERO_NS - parse_time(points[0]["time"])
        batch_tags = dict(raw.get("tags") or {})
        for p in points:
            tags = dict(batch_tags)
            tags.update(p.get("tags") or {})
            for tag, value in shape.pinned.items():
                tags.setdefault(tag, value)
            # A null is no field at all (``ResultToBufferedBatches`` skips it).
            fields = {shape.columns.get(k, k): v for k, v in (p.get("fields") or {}).items()
                      if v is not None}
            if not fields:
                continue  # influxd stores no point without a field
            out.append(SourcePoint(shape.database, shape.retention_policy, raw.get("name", ""),
                                   tags, fields, parse_time(p["time"]) + diff))
    return out


def source_points(case: dict) -> List[SourcePoint]:
    """The points the case's queries are run over (see the module docstring)."""
    shapes = query_shapes(case["script"])
    files = recordings(case["name"])
    if len(files) != len(shapes):
        raise ValueError(f"{len(files)} recordings for {len(shapes)} queries")
    chosen: Dict[Tuple, Tuple[int, List[SourcePoint]]] = {}
    for text, shape in zip(files, shapes):
        points = _file_points(text, shape)
        names = tuple(sorted({p.measurement for p in points}))
        key = (shape.database, shape.retention_policy, names, tuple(sorted(shape.pinned.items())))
        grain = max((len(p.tags) for p in points), default=0)
        if key not in chosen or grain > chosen[key][0]:
            chosen[key] = (grain, points)
    return [p for _grain, points in chosen.values() for p in points]


# ------------------------------------------------------------ line protocol


def _escape(text: str, specials: str) -> str:
    for ch in specials:
        text = text.replace(ch, "\\" + ch)
    return text


def _field_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return repr(float(v))  # encoding/json read every number as a float64
    if isinstance(v, float):
        return repr(v)
    return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'


def line(p: SourcePoint) -> str:
    """One point in line protocol (ns precision); empty tag values are left out,
    as influxd would drop them."""
    head = _escape(p.measurement, ", ")
    for k in sorted(p.tags):
        if p.tags[k] != "":
            head += f",{_escape(k, ',= ')}={_escape(p.tags[k], ',= ')}"
    body = ",".join(f"{_escape(k, ',= ')}={_field_value(v)}" for k, v in sorted(p.fields.items()))
    return f"{head} {body} {p.time}"


def by_database(points: List[SourcePoint]) -> Dict[Tuple[str, str], List[str]]:
    """Line-protocol lines per (database, retention policy)."""
    out: Dict[Tuple[str, str], List[str]] = {}
    for p in points:
        out.setdefault((p.database, p.retention_policy), []).append(line(p))
    return out


def schedule_step(task) -> Optional[float]:
    """The smallest ``.every()`` of the task's query nodes, in seconds."""
    everies = [n.every for n in task.nodes.values() if n.spec.type_name == "QueryNode" and n.every]
    return min(everies) / 1e9 if everies else None
