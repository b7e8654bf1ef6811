"""
Kapacitor's stream conformance cases, run through our public HTTP API.

The cases come from upstream ``integrations/streamer_test.go`` (every
``TestStream_*`` that checks an ``httpOut`` result through
``testStreamerWithOutput``); their inputs are the upstream ``.srpl`` replay
files in ``testdata/``, copied verbatim.  One case is run the way the Go
harness runs it (``testStreamer`` + ``fastForwardTask``), but from outside:

1. define the task with ``POST /kapacitor/v1/tasks`` (stream, dbrp
   ``dbname.rpname``, enabled);
2. replay the file with ``POST /kapacitor/v1/write`` -- the replay rule of
   ``ReplayStreamFromIO`` is in :func:`replay`;
3. let the engine process everything queued (``app.engine.flush()``);
4. ``GET /kapacitor/v1/tasks/<task>/<httpOut name>`` and compare with
   :func:`compare`, which follows the Go test's ``compareResults``.

What the Go harness does after the replay, and what it implies here:
``fastForwardTask`` waits for the replay, then ``tm.Drain()`` deletes every
fork of the task master -- the task's input edge is *closed* -- and
``et.Wait()`` waits until every node has consumed its input and returned.
Only then is the httpOut endpoint read (it stays registered until
``tm.Close``).  So the expected result is the state after *all* replayed
points went through the whole pipeline, with no wall-clock time passing and
no point after the last one: windows and groupBy batches that were never
closed by a later point are not emitted (a node's ``Done()`` emits nothing,
for every node but one).  The exception is the join node: when all its parents
are closed, ``JoinNode.Finish`` emits every buffered set, matched or not.
An engine whose tasks keep running has no such end of stream, so after
``flush()`` the runner also calls ``engine.drain(task_id)`` when the engine
offers it; without it, join cases whose last sets are only emitted at end of
stream stay pending.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Tuple
from urllib.parse import quote

from tests.http.harness import V1, Harness

HERE = Path(__file__).parent
CASES_FILE = HERE / "cases.json"
PENDING_FILE = HERE / "pending.txt"
TESTDATA = HERE / "testdata"

#: ``dbrps`` at the top of streamer_test.go.
DBRPS = [{"db": "dbname", "rp": "rpname"}]

#: ``clock.New(time.Date(1971, 1, 1, 0, 0, 0, 0, time.UTC))``, in seconds.
ZERO_S = 365 * 86400

#: Stands for the Go test's ``httptest`` server URL in a few scripts.  What
#: that server received is checked by the alert cases, not here; a refused
#: port keeps the task's post from reaching anything.
TS_URL_TOKEN = "@TS_URL@"
POST_URL = "http://127.0.0.1:1"

#: ``float64(time.Now().Year())`` in TestStream_EvalNow.
NOW_YEAR_TOKEN = "$NOW_YEAR"

#: Keep each write body under the write API's inline-parse limit (64 KiB),
#: so parsing stays on the (fake) reactor and the request completes in memory.
WRITE_CHUNK_BYTES = 32 * 1024


def load_cases() -> List[dict]:
    return json.loads(CASES_FILE.read_text())["cases"]


def load_pending() -> Dict[str, str]:
    """``{case id: reason}`` from pending.txt (``id  # reason`` per line)."""
    pending: Dict[str, str] = {}
    if not PENDING_FILE.exists():
        return pending
    for raw in PENDING_FILE.read_text().splitlines():
        name, _, reason = raw.partition("#")
        name = name.strip()
        if name:
            pending[name] = reason.strip()
    return pending


# ------------------------------------------------------------------ replay


def replay(srpl: str, duration_s: float) -> Iterator[Tuple[str, str, str]]:
    """(db, rp, line-protocol line) in file order, as ``ReplayStreamFromIO`` sends them.

    The file is triples of lines: database, retention policy, one point in
    line protocol with a timestamp in seconds (precision "s").  The replay
    shifts every point by the same amount so that the *first* point lands
    on the clock's zero, 1971-01-01T00:00:00Z (``recTime`` is false, so the
    shifted time is the point's time).  A point is only collected once the
    clock reaches its time, and ``fastForwardTask`` sets the clock to
    zero + duration: points later than that are never replayed (in Go the
    test would then hang; every shipped case replays its whole file).
    """
    lines = srpl.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if len(lines) % 3:
        raise ValueError("invalid replay file format, expected another line")
    first: Optional[int] = None
    for i in range(0, len(lines), 3):
        db, rp, point = lines[i], lines[i + 1], lines[i + 2]
        head, _, stamp = point.rstrip().rpartition(" ")
        t = int(stamp)
        if first is None:
            first = t
        offset = t - first
        if offset > duration_s:
            continue
        yield db, rp, f"{head.rstrip()} {ZERO_S + offset}"


def write_batches(points) -> Iterator[Tuple[str, str, bytes]]:
    """Consecutive points of one (db, rp), in file order, in bodies of bounded size."""
    key = None
    body: List[str] = []
    size = 0
    for db, rp, line in points:
        if body and ((db, rp) != key or size + len(line) + 1 > WRITE_CHUNK_BYTES):
            yield key[0], key[1], "\n".join(body).encode()
            body, size = [], 0
        key = (db, rp)
        body.append(line)
        size += len(line) + 1
    if body:
        yield key[0], key[1], "\n".join(body).encode()


# -------------------------------------------------------------------- run


def pin_utc() -> None:
    """Times print in the local zone, as Go's do (and ``hour()`` reads it)."""
    os.environ["TZ"] = "UTC"
    time.tzset()


def fast_tmpdir():
    """A temporary directory in RAM when there is one: each case's store
    fsyncs a few times, which on a disk costs more than the case itself."""
    shm = "/dev/shm"
    base = shm if os.path.isdir(shm) and os.access(shm, os.W_OK) else None
    return tempfile.TemporaryDirectory(prefix="kapacitor-conformance-", dir=base)


def make_harness(tmp_path) -> Harness:
    return Harness(tmp_path, http_auth=False)


def settle(h: Harness, task_id: str, drain: bool = False) -> None:
    """Let the engine process everything queued (and, at the end, close the stream)."""
    engine = getattr(h.app, "engine", None)
    flush = getattr(engine, "flush", None)
    if flush is not None:
        flush()
    if drain:
        end = getattr(engine, "drain", None)
        if end is not None:
            end(task_id)


def run_case(h: Harness, case: dict):
    """Define, replay, read back: the decoded httpOut body."""
    task_id = case["name"]
    script = case["script"].replace(TS_URL_TOKEN, POST_URL)
    reply = h.post(V1 + "/tasks", {
        "id": task_id,
        "type": "stream",
        "dbrps": DBRPS,
        "script": script,
        "status": "enabled",
    })
    assert reply.code == 200, f"define: {reply.code} {reply.body[:500]!r}"
    srpl = (TESTDATA / case["srpl"]).read_text()
    for db, rp, body in write_batches(replay(srpl, case["duration"])):
        url = f"{V1}/write?db={quote(db)}&rp={quote(rp)}&precision=s"
        reply = h.post(url, body)
        assert reply.code == 204, f"write: {reply.code} {reply.body[:500]!r}"
        settle(h, task_id)
    settle(h, task_id, drain=True)
    reply = h.get(f"{V1}/tasks/{quote(task_id)}/{quote(case['httpOut'])}")
    assert reply.code == 200, f"httpOut: {reply.code} {reply.body[:500]!r}"
    return json.loads(reply.body)


# ---------------------------------------------------------------- compare


def expected_result(case: dict):
    """The case's result with its stand-ins filled in."""
    year = float(time.gmtime().tm_year)

    def fill(v):
        if v == NOW_YEAR_TOKEN:
            return year
        if isinstance(v, list):
            return [fill(x) for x in v]
        if isinstance(v, dict):
            return {k: fill(x) for k, x in v.items()}
        return v

    return fill(case["result"])


def _same_value(exp, got) -> bool:
    """``reflect.DeepEqual`` after ``encoding/json``: every number is a float64."""
    if isinstance(exp, bool) or isinstance(got, bool):
        return type(exp) is type(got) and exp == got
    if isinstance(exp, (int, float)) and isinstance(got, (int, float)):
        return float(exp) == float(got)
    return type(exp) is type(got) and exp == got


def _same_values(exp_rows, got_rows) -> bool:
    exp_rows, got_rows = exp_rows or [], got_rows or []
    if len(exp_rows) != len(got_rows):
        return False
    for e, g in zip(exp_rows, got_rows):
        if not isinstance(g, list) or len(e) != len(g):
            return False
        if not all(_same_value(x, y) for x, y in zip(e, g)):
            return False
    return True


def _row_problem(i: int, exp: dict, got: dict) -> Optional[str]:
    if (exp.get("columns") or []) != (got.get("columns") or []):
        return f"series {i}: columns exp {exp.get('columns')} got {got.get('columns')}"
    if not _same_values(exp.get("values"), got.get("values")):
        return f"series {i}: values differ"
    return None


def compare(exp: dict, got: dict, ignore_order: bool) -> Optional[str]:
    """None if equal, else what differs -- ``compareResults`` /
    ``compareResultsIgnoreSeriesOrder`` of the Go test.

    Go decodes the body and compares with ``reflect.DeepEqual``, so numbers
    are compared as float64 (exactly) and a missing ``tags`` equals empty
    tags (``omitempty``).  Times are compared as the strings Kapacitor
    writes (RFC3339Nano, UTC, ``Z``): the Go test parses them first, which
    is only looser about formatting that Kapacitor never produces.
    """
    if not isinstance(got, dict):
        return f"not a result object: {got!r}"
    if (exp.get("error") or None) != (got.get("error") or None):
        return f"unexpected error: exp {exp.get('error')!r} got {got.get('error')!r}"
    exp_series = exp.get("series") or []
    got_series = got.get("series") or []
    if len(exp_series) != len(got_series):
        return f"unexpected number of series: exp {len(exp_series)} got {len(got_series)}"
    if not ignore_order:
        for i, (e, g) in enumerate(zip(exp_series, got_series)):
            if (e.get("name") or "") != (g.get("name") or ""):
                return f"series {i}: name exp {e.get('name')!r} got {g.get('name')!r}"
            if (e.get("tags") or {}) != (g.get("tags") or {}):
                return f"series {i}: tags exp {e.get('tags')} got {g.get('tags')}"
            problem = _row_problem(i, e, g)
            if problem:
                return problem
        return None
    unmatched = list(range(len(got_series)))
    for i, e in enumerate(exp_series):
        for j in unmatched:
            g = got_series[j]
            if (e.get("name") or "") == (g.get("name") or "") and (
                (e.get("tags") or {}) == (g.get("tags") or {})
            ):
                unmatched.remove(j)
                problem = _row_problem(i, e, g)
                if problem:
                    return problem
                break
        else:
            return f"could not find matching series: {e.get('name')} {e.get('tags')}"
    return None


@contextlib.contextmanager
def _rand_seeded_with_zero():
    """``TestStream_EvalRand`` replaces ``stateful.NewRand`` with a generator seeded with 0."""
    from kapacitord_tw.tick import functions
    from kapacitord_tw.tick.mwc import MWC

    saved = functions.new_rand_source
    functions.new_rand_source = lambda: MWC.seeded(0)
    try:
        yield
    finally:
        functions.new_rand_source = saved


#: What a Go test pins around its run, by case id.
CASE_SETUP = {"TestStream_EvalRand": _rand_seeded_with_zero}


def check_case(tmp_path, case: dict) -> None:
    """Run one case on a fresh app; AssertionError says what differs."""
    h = make_harness(tmp_path)
    with CASE_SETUP.get(case["id"], contextlib.nullcontext)():
        got = run_case(h, case)
    exp = expected_result(case)
    problem = compare(exp, got, case["ignoreOrder"])
    assert problem is None, (
        f"{problem}\nexp {json.dumps(exp, sort_keys=True)}\ngot {json.dumps(got, sort_keys=True)}"
    )
