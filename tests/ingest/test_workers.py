"""``/write`` through real parse worker processes: writes are published in
arrival order whichever worker finishes first, a worker killed with
SIGKILL is replaced and its writes parsed again, only wanted rows travel,
and the daemon shares one ``Series`` per series across workers."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time

from benchmarks.writes import cpu_body
from kapacitord_tw.ingest import frames
from kapacitord_tw.ingest.columnparse import PIECE
from kapacitord_tw.ingest.worker import serve, yield_cpu
from kapacitord_tw.ingest.parsing import ParseJob, Parsed
from kapacitord_tw.ingest.rows import WriteRows
from tests.http.harness import V1
from tests.ingest.support import Workers, pump, write_workers  # noqa: F401
from tests.ops.support import ADMIN, httpd_values, record_points, secured


def body_of(lines: int, stamp: int, measurement: str = "cpu") -> bytes:
    """``lines`` points, all at time ``stamp`` (the write's identity)."""
    return b"".join(b"%s,host=h%d v=%d %d\n" % (measurement.encode(), i, i, stamp)
                    for i in range(lines))


def post(h, body: bytes, query: str = "db=db&rp=rp"):
    return h.start("POST", f"{V1}/write?{query}", body, auth=ADMIN)


class RecordingParser:
    """Wraps a parser to record the order in which parses finish."""

    def __init__(self, parser):
        self.parser = parser
        self.finished = []

    def parse(self, job):
        stamp = int(job.body.split(b" ")[-1])
        return self.parser.parse(job).addCallback(
            lambda result: self.finished.append(stamp) or result)


def test_writes_are_published_in_arrival_order_whichever_worker_finishes_first(
        tmp_path, write_workers):
    h = secured(tmp_path)
    write_workers.serve(h)
    recorder = RecordingParser(write_workers.pool)
    h.app.writes.parser = recorder
    batches = record_points(h)
    sizes = [40_000, 1, 30_000, 1, 2, 20_000, 1, 1]
    pending = [post(h, body_of(n, stamp)) for stamp, n in enumerate(sizes)]
    replies = write_workers.settle(pending, h.stub)
    assert [r.code for r in replies] == [204] * len(sizes)
    assert [batch[0].time for batch in batches] == list(range(len(sizes)))
    assert [len(batch) for batch in batches] == sizes
    # The small writes were parsed before the large ones sent before them.
    assert recorder.finished != sorted(recorder.finished)


def test_rows_subscribers_get_only_wanted_measurements_and_every_point_is_counted(
        tmp_path, write_workers):
    h = secured(tmp_path)
    write_workers.serve(h)
    writes = []
    h.app.bus.subscribe(lambda points: None, rows=writes.append,
                        wanted=lambda db, rp: frozenset({"cpu"}) if db == "db" else None)
    body = body_of(3, 1, "cpu") + body_of(5, 1, "mem") + body_of(2, 1, "cpu")
    assert h.finish(post(h, body)).code == 204
    assert h.finish(post(h, body, "db=other")).code == 204
    (cpu, other) = writes
    assert isinstance(cpu, WriteRows)
    assert (cpu.database, cpu.retention_policy, cpu.count) == ("db", "rp", 10)
    assert [(s.measurement, s.tags["host"]) for s, _f, _t in cpu.rows] == [
        ("cpu", "h0"), ("cpu", "h1"), ("cpu", "h2"), ("cpu", "h0"), ("cpu", "h1")]
    assert (other.rows, other.count) == ([], 10)
    assert httpd_values(h)["points_written_ok"] == 20


def test_series_are_shared_across_workers_and_writes(tmp_path, write_workers):
    h = secured(tmp_path)
    write_workers.serve(h)
    writes = []
    h.app.bus.subscribe(lambda points: None, rows=writes.append)
    bodies = [b"cpu,host=a,region=x v=%d %d\ncpu,region=x,host=a w=1 %d\n" % (i, i, i)
              for i in range(6)]
    replies = write_workers.settle([post(h, b) for b in bodies], h.stub)
    assert {r.code for r in replies} == {204}
    series = {id(s) for w in writes for s, _f, _t in w.rows}
    assert len(series) == 1


def test_a_killed_worker_is_replaced_and_its_write_is_parsed_again(tmp_path):
    workers = Workers()
    try:
        h = secured(tmp_path)
        workers.serve(h)
        batches = record_points(h)
        d = post(h, cpu_body(60_000))
        pump(workers.reactor,
             lambda: h.stub.flush() or any(w.jobs for w in workers.pool.workers))
        (victim,) = [w for w in workers.pool.workers if w.jobs]
        os.kill(victim.pid, signal.SIGKILL)
        reply = h.finish(d)
        assert reply.code == 204
        assert len(batches) == 1 and len(batches[0]) == 60_000
        assert len({p.tags for p in batches[0]}) == 60_000 // 5 * 5
        assert workers.pool.parsed_in_daemon == 0  # the other worker parsed it
        workers.wait_ready()
        assert victim.pid not in workers.pool.pids and len(workers.pool.pids) == 2
        # The replacement works.
        assert h.finish(post(h, b"cpu v=1 7\n")).code == 204
        assert batches[-1][0].time == 7
    finally:
        workers.stop()


def test_a_write_whose_workers_die_twice_is_parsed_in_the_daemon(tmp_path):
    workers = Workers()
    try:
        h = secured(tmp_path)
        workers.serve(h)
        batches = record_points(h)
        d = post(h, cpu_body(60_000))
        killed = set()
        for _ in range(2):
            pump(workers.reactor, lambda: h.stub.flush() or any(
                w.jobs and w.pid not in killed for w in workers.pool.workers))
            (victim,) = [w for w in workers.pool.workers if w.jobs and w.pid not in killed]
            killed.add(victim.pid)
            os.kill(victim.pid, signal.SIGKILL)
        reply = h.finish(d)
        assert reply.code == 204
        assert workers.pool.parsed_in_daemon == 1
        assert len(batches[0]) == 60_000
    finally:
        workers.stop()


def test_writes_are_answered_while_workers_cannot_start(tmp_path):
    broken = [sys.executable, "-c", "import sys; sys.exit(3)"]
    workers = Workers.__new__(Workers)
    from twisted.internet.epollreactor import EPollReactor

    from kapacitord_tw.ingest.pool import ParsePool

    workers.reactor = EPollReactor()
    workers.pool = ParsePool(workers.reactor, 2, inline_limit=-1, argv=broken)
    workers.pool.startService()
    try:
        h = secured(tmp_path)
        workers.serve(h)
        batches = record_points(h)
        pump(workers.reactor, lambda: workers.pool._failures >= 3)
        assert h.finish(post(h, b"cpu v=1 1\n")).code == 204
        assert len(batches) == 1
        assert workers.pool.parsed_in_daemon >= 1
    finally:
        workers.stop()


def test_series_numbers_start_again_when_a_workers_table_is_full(tmp_path):
    argv = [sys.executable, "-m", "kapacitord_tw.ingest.worker", "--series-limit", "3"]
    workers = Workers(size=1, argv=argv)
    try:
        h = secured(tmp_path)
        workers.serve(h)
        writes = []
        h.app.bus.subscribe(lambda points: None, rows=writes.append)
        for i in range(6):
            body = b"".join(b"m%d,host=h%d v=%d %d\n" % (i % 4, j, j, i) for j in range(2))
            assert h.finish(post(h, body)).code == 204
        got = [(s.measurement, s.tags["host"], f["v"]) for w in writes for s, f, _t in w.rows]
        assert got == [(f"m{i % 4}", f"h{j}", float(j)) for i in range(6) for j in range(2)]
    finally:
        workers.stop()


def test_a_pool_that_is_not_running_parses_in_the_daemon():
    from twisted.internet.epollreactor import EPollReactor

    from kapacitord_tw.ingest.pool import ParsePool

    pool = ParsePool(EPollReactor(), 2, inline_limit=-1)
    job = ParseJob(b"cpu v=1 1\n", False, "n", 0, "db", "rp", True, False, 1 << 20)
    results = []
    pool.parse(job).addCallback(results.append)
    (result,) = results
    assert isinstance(result, Parsed) and result.count == 1
    assert pool.workers == []


def test_a_cancelled_parse_does_not_disturb_the_next_ones(write_workers):
    def job(body: bytes) -> ParseJob:
        return ParseJob(body, False, "n", 0, "db", "rp", True, False, 1 << 30)

    pool = write_workers.pool
    first = pool.parse(job(body_of(20_000, 1)))
    second = pool.parse(job(b"cpu,host=new v=2 2\n"))
    first.cancel()
    first.addErrback(lambda f: None)
    (result,) = write_workers.settle([second])
    assert isinstance(result, Parsed) and result.count == 1
    ((series, fields, time),) = result.rows
    assert (series.measurement, series.key, fields, time) == (
        "cpu", (("host", "new"),), {"v": 2.0}, 2)


def test_gzip_bodies_are_inflated_by_the_worker_with_gos_errors(write_workers):
    import gzip as gz

    from kapacitord_tw.ingest.parsing import ParseFailed, ParseJob

    def job(body: bytes, limit: int = 1 << 30) -> ParseJob:
        return ParseJob(body, True, "n", 0, "db", "rp", True, False, limit)

    body = body_of(3000, 9)
    good, bad, bomb = write_workers.settle([
        write_workers.pool.parse(job(gz.compress(body[:50_000]) + gz.compress(body[50_000:]))),
        write_workers.pool.parse(job(b"not gzip at all")),
        write_workers.pool.parse(job(gz.compress(body), limit=1000)),
    ])
    assert (good.count, good.size, len(good.rows)) == (3000, len(body), 3000)
    assert bad == ParseFailed("gzip", 400, b"gzip: invalid header")
    assert bomb == ParseFailed("gzip", 413, b"request body too large: the limit is 1000 bytes")


def test_field_keys_and_series_arrive_shared_from_every_worker(tmp_path, write_workers):
    h = secured(tmp_path)
    write_workers.serve(h)
    writes = []
    h.app.bus.subscribe(lambda points: None, rows=writes.append)
    bodies = [cpu_body(3000) for _ in range(4)]  # 3 frames each, on both workers
    replies = write_workers.settle([post(h, b) for b in bodies], h.stub)
    assert {r.code for r in replies} == {204}
    keys = {id(k) for w in writes for _s, fields, _t in w.rows for k in fields}
    assert len(keys) == 3  # usage_idle, usage_system, usage_user: one string each
    firsts = [w.rows[0][0] for w in writes]
    assert all(s is firsts[0] for s in firsts)


def test_workers_build_only_the_fields_the_subscribers_can_observe(tmp_path, write_workers):
    h = secured(tmp_path)
    write_workers.serve(h)
    writes = []
    h.app.bus.subscribe(lambda points: None, rows=writes.append,
                        wanted=lambda db, rp: frozenset({"cpu", "mem"}),
                        fields=lambda db, rp: {"cpu": frozenset({"usage_idle"})})
    body = cpu_body(3) + b"mem,host=a used=1,free=2 5\n"
    assert h.finish(post(h, body)).code == 204
    (write,) = writes
    assert [f for _s, f, _t in write.rows] == [
        {"usage_idle": 50.0}, {"usage_idle": 80.19}, {"usage_idle": 61.38},
        {"free": 2.0, "used": 1.0}]
    assert write.fields == {"cpu": frozenset({"usage_idle"})}
    # A bad value in a field nobody reads still refuses the write.
    bad = post(h, b"cpu,host=a usage_idle=1,usage_user=1x 1\n")
    assert h.finish(bad).code == 400


def test_workers_group_the_rows_by_measurement_when_every_subscriber_reads_one(
        tmp_path, write_workers):
    h = secured(tmp_path)
    write_workers.serve(h)
    writes = []
    h.app.bus.subscribe(lambda points: None, rows=writes.append,
                        wanted=lambda db, rp: frozenset({"a", "b"}),
                        grouped=lambda db, rp: True)
    body = b"".join(b"%s,host=h%d v=%d %d\n" % (b"ab"[i % 2:i % 2 + 1], i, i, i)
                    for i in range(600))
    assert h.finish(post(h, body)).code == 204
    (write,) = writes
    assert write.grouped and write.count == 600
    got = [(s.measurement, t) for s, _f, t in write.rows]
    assert got == [("a", t) for t in range(0, 600, 2)] + [("b", t) for t in range(1, 600, 2)]
    # Each measurement's run, whole although it spans frames of 250 rows.
    assert write.runs == [("a", 300), ("b", 300)]
    # String fields can make rows of any size: those writes keep the parser's frames.
    body = b'a,host=x s="one" 1\nb,host=x s="two" 2\na,host=x s="three" 3\n'
    assert h.finish(post(h, body)).code == 204
    assert [t for _s, _f, t in writes[1].rows] == [1, 2, 3]
    assert writes[1].runs is None
    # A long write is grouped 2,000 rows or so at a time (GROUP_ROWS): each
    # measurement's rows stay in write order, and the runs say where they are.
    body = b"".join(b"%s,host=h%d v=%d %d\n" % (b"ab"[i % 2:i % 2 + 1], i, i, i)
                    for i in range(5000))
    assert h.finish(post(h, body)).code == 204
    long = writes[2]
    got = [(s.measurement, t) for s, _f, t in long.rows]
    assert [t for m, t in got if m == "a"] == list(range(0, 5000, 2))
    assert [t for m, t in got if m == "b"] == list(range(1, 5000, 2))
    assert [m for m, count in long.runs for _ in range(count)] == [m for m, _t in got]
    assert len(long.runs) > 2  # more than one group of each (adjacent runs are joined)


def test_workers_yield_the_cpu_to_the_daemon_but_not_to_everyone(write_workers):
    """Workers run at nice 15 under the ordinary policy: the daemon that
    answers the API and runs the tasks goes first, yet processes outside
    the daemon that keep every CPU busy cannot stall its writes."""
    write_workers.wait_ready()
    pids = [w.pid for w in write_workers.pool.workers]
    assert pids
    for pid in pids:
        assert os.getpriority(os.PRIO_PROCESS, pid) >= os.getpriority(os.PRIO_PROCESS, 0) + 15 \
            or os.getpriority(os.PRIO_PROCESS, pid) == 19
        assert os.sched_getscheduler(pid) == os.SCHED_OTHER
    hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
            for _ in range(os.cpu_count() or 1)]
    try:
        time.sleep(0.2)
        started = time.monotonic()
        job = ParseJob(body_of(20_000, 1), False, "n", 0, "db", "rp", True, False, 1 << 30)
        (result,) = write_workers.settle([write_workers.pool.parse(job)])
        assert isinstance(result, Parsed) and result.count == 20_000
        # 2.6-4.5 s measured on 2 cores; under SCHED_IDLE over 20 s.
        assert time.monotonic() - started < 12
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()


def test_a_worker_gives_up_its_cpu_between_pieces_of_a_body():
    """Between pieces of a body (columns) and chunks of rows, ``serve`` calls
    its pause -- in the worker process, ``sched_yield``: at nice 15 a worker
    still kept a client it had woken waiting up to 2.5 ms for the CPU --
    and what it sends is the same."""
    body = cpu_body(5000)

    def frames_of(fields, pause):
        header = (frames.JOB, 1, False, "n", 0, frozenset({"cpu"}), False, 1 << 30, fields,
                  False, len(body))
        out = io.BytesIO()
        serve(io.BytesIO(frames.frame(header) + body), out, pause=pause)
        return list(frames.FrameReader().feed(out.getvalue()))

    assert yield_cpu() is os.sched_yield
    for fields, kind, at_least in (
            ({"cpu": frozenset({"usage_idle"})}, frames.COLUMNS, len(body) // PIECE),
            ({}, frames.ROWS, 5000 // frames.FRAME_ROWS)):
        calls = []
        paused = frames_of(fields, lambda: calls.append(1))
        assert len(calls) >= at_least
        assert paused == frames_of(fields, lambda: None)
        assert kind in {m[0] for m in paused}
        assert paused[-1][:3] == (frames.DONE, 1, 5000)


def test_writes_whose_subscribers_read_one_field_travel_as_columns(tmp_path, write_workers):
    from kapacitord_tw.ingest.columns import ColumnRows
    from kapacitord_tw.ingest.lineprotocol import parse_rows
    h = secured(tmp_path)
    write_workers.serve(h)
    writes = []
    one = frozenset({"usage_idle"})
    h.app.bus.subscribe(lambda points: None, rows=writes.append,
                        wanted=lambda db, rp: frozenset({"m000", "m001", "m002"}),
                        fields=lambda db, rp: {m: one for m in ("m000", "m001", "m002")},
                        grouped=lambda db, rp: True)
    body = cpu_body(5000, measurements=4)  # m003 is nobody's
    assert h.finish(post(h, body)).code == 204
    (write,) = writes
    assert type(write.rows) is ColumnRows and write.count == 5000
    rows, _count = parse_rows(body, "n", 0, wanted=frozenset({"m000", "m001", "m002"}),
                              fields={m: one for m in ("m000", "m001", "m002")})
    got = [(s.measurement, s.key, f) for s, f, _t in write.rows]
    # Grouped by measurement, the whole write at once, each measurement's in write order.
    assert sorted(got) == sorted((s.measurement, s.key, f) for s, f, _t in rows)
    for m in ("m000", "m001", "m002"):
        assert [k for mm, k, _f in got if mm == m] == [s.key for s, _f, _t in rows
                                                        if s.measurement == m]
    assert [m for m, count in write.runs for _ in range(count)] == [m for m, _k, _f in got]
    assert [m for m, _count in write.runs] == ["m000", "m001", "m002"]  # a run each
    # One time for the whole write, held once a frame (not an int per point).
    times = write.rows.times
    assert len(set(times)) == 1 and len(set(map(id, times))) <= 3
    # A point without the field, and an int field: still what rows say.
    assert h.finish(post(h, b"m000,host=a other=1\nm000,host=b usage_idle=2\n" * 200)).code == 204
    assert [f for _s, f, _t in writes[1].rows][:2] == [{}, {"usage_idle": 2.0}]
    assert h.finish(post(h, b"m000,host=a usage_idle=1i\n" * 2000)).code == 204
    assert type(writes[2].rows) is list and writes[2].rows[0][1] == {"usage_idle": 1}
