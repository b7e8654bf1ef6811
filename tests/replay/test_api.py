"""``/recordings`` and ``/replays`` on the real resource tree in memory, time on a Clock."""

from __future__ import annotations

import gzip
import os

import pytest

from kapacitord_tw.gocompat import parse_time
from kapacitord_tw.replay.srpl import StreamReader
from tests.http.harness import V1, Harness, HeldPool

SCRIPT = ("stream|from().measurement('cpu')|window().period(10s).every(10s)"
          "|mean('value')|httpOut('out')")
SECOND = 10**9


@pytest.fixture
def h(tmp_path, monkeypatch):
    # ``[replay] dir`` defaults to ./replay: keep it inside the test's directory.
    monkeypatch.chdir(tmp_path)
    harness = Harness(tmp_path, http_auth=False)
    _open(harness)
    return harness


def _open(harness):
    fired = []
    harness.app.replays.open().addBoth(fired.append)
    assert fired == [None], fired


def define(h, task_id="t", script=SCRIPT, enabled=True, dbrp=("db", "rp")):
    reply = h.post(V1 + "/tasks", {
        "id": task_id, "type": "stream", "dbrps": [{"db": dbrp[0], "rp": dbrp[1]}],
        "script": script, "status": "enabled" if enabled else "disabled"})
    assert reply.code == 200, reply.body


def write(h, lines, db="db", rp="rp"):
    reply = h.request("POST", f"http://kapacitor.test/write?db={db}&rp={rp}", "\n".join(lines))
    assert reply.code == 204, reply.body


def cpu_lines(start_s, count, measurement="cpu"):
    return [f"{measurement},host=a value={i} {(start_s + i) * SECOND}" for i in range(count)]


def record(h, rid="rec", task="t", stop="2100-01-01T00:00:00Z"):
    reply = h.post(V1 + "/recordings/stream", {"id": rid, "task": task, "stop": stop})
    assert reply.code == 201, reply.body
    return reply.json()


def finish_recording(h, rid="rec"):
    h.app.replays._recorders[rid].finish()
    reply = h.get(V1 + "/recordings/" + rid)
    assert reply.code == 200 and reply.json()["status"] == "finished", reply.body
    return reply.json()


def run_turns(h, turns=20):
    for _ in range(turns):
        h.clock.advance(0)


def recorded_points(h, rid="rec"):
    reader = StreamReader(os.path.join(h.app.replays.dir, rid + ".srpl"), 0)
    try:
        return reader.read(10**6)
    finally:
        reader.close()


# ------------------------------------------------------------ recordings


def test_record_stream_answers_201_running_then_finishes_with_its_size(h):
    define(h)
    body = record(h)
    assert list(body) == ["link", "id", "type", "size", "date", "error", "status", "progress"]
    assert body["link"] == {"rel": "self", "href": V1 + "/recordings/rec"}
    assert (body["type"], body["status"], body["size"], body["progress"]) == (
        "stream", "running", 0, 0)
    assert h.get(V1 + "/recordings/rec").code == 202
    write(h, cpu_lines(int(h.clock.seconds()), 5))
    done = finish_recording(h)
    path = os.path.join(str(h.app.replays.dir), "rec.srpl")
    assert done["size"] == os.path.getsize(path) > 0
    assert (done["progress"], done["error"]) == (1, "")
    assert gzip.open(path).read().startswith(b"db\nrp\ncpu,host=a value=0 ")


def test_points_written_once_the_recording_is_listed_running_are_recorded(h):
    """The store lists the recording before its line is on disk: a client that
    sees "running" and writes at once must find its points in the recording."""
    define(h)
    pool = h.store._pool = HeldPool()
    started = h.start("POST", V1 + "/recordings/stream",
                      {"id": "rec", "task": "t", "stop": "2100-01-01T00:00:00Z"})
    h.stub.flush()
    assert pool.held, "the recording should be waiting for the disk"
    assert h.app.replays.recordings.get("rec").status == "running"
    write(h, cpu_lines(int(h.clock.seconds()), 3))
    pool.release_all()
    assert h.finish(started).code == 201
    done = finish_recording(h)
    pool.release_all()
    assert done["error"] == ""
    assert len(recorded_points(h)) == 3


def test_recording_ends_when_the_clock_passes_stop(h):
    define(h)
    now = int(h.clock.seconds())
    record(h, stop=_rfc3339(now + 30))
    write(h, cpu_lines(now, 3))
    h.clock.advance(29)
    assert h.get(V1 + "/recordings/rec").json()["status"] == "running"
    h.clock.advance(2)
    assert h.get(V1 + "/recordings/rec").json()["status"] == "finished"
    assert len(recorded_points(h)) == 3


def test_a_point_later_than_stop_ends_the_recording_and_is_not_recorded(h):
    define(h)
    now = int(h.clock.seconds())
    record(h, stop=_rfc3339(now + 10))
    write(h, cpu_lines(now, 20))
    assert h.get(V1 + "/recordings/rec").json()["status"] == "finished"
    assert [p.time // SECOND - now for p in recorded_points(h)] == list(range(11))


def test_only_the_tasks_database_and_measurements_are_recorded(h):
    define(h)
    now = int(h.clock.seconds())
    record(h)
    write(h, cpu_lines(now, 2, "mem"))
    write(h, cpu_lines(now, 2), db="other")
    write(h, cpu_lines(now, 4))
    finish_recording(h)
    points = recorded_points(h)
    assert [(p.name, p.database, p.retention_policy) for p in points] == [("cpu", "db", "rp")] * 4


def test_recording_errors_have_kapacitors_messages(h):
    define(h)
    bad_id = h.post(V1 + "/recordings/stream", {"id": "a/b", "task": "t"})
    assert (bad_id.code, bad_id.error) == (
        400, "recording ID must contain only letters, numbers, '-', '.' and '_'. \"a/b\"")
    no_task = h.post(V1 + "/recordings/stream", {"task": "nope"})
    assert (no_task.code, no_task.error) == (404, "no task exists")
    record(h)
    again = h.post(V1 + "/recordings/stream", {"id": "rec", "task": "t"})
    assert (again.code, again.error) == (400, "recording already exists")
    missing = h.get(V1 + "/recordings/nope")
    assert (missing.code, missing.error) == (404, "error finding recording: no recording exists")
    assert h.get(V1 + "/recordings/").error == "must specify recording id on path"
    assert h.delete(V1 + "/recordings/nope").code == 204
    bad_time = h.post(V1 + "/recordings/stream", {"task": "t", "stop": "yesterday"})
    assert bad_time.code == 400
    no_start = h.post(V1 + "/recordings/batch", {"task": "t"})
    assert (no_start.code, no_start.error) == (400, "must provide start time")
    no_query = h.post(V1 + "/recordings/query", {"type": "stream"})
    assert (no_query.code, no_query.error) == (400, "must provide query")


def test_a_recording_without_an_id_gets_a_uuid(h):
    define(h)
    body = h.post(V1 + "/recordings/stream", {"task": "t"}).json()
    assert len(body["id"]) == 36 and body["id"].count("-") == 4


def test_batch_recording_of_a_stream_task_and_an_unqualified_query_fail_as_in_kapacitor(h):
    define(h)
    batch = h.post(V1 + "/recordings/batch", {"id": "b", "task": "t",
                                               "start": "2020-01-01T00:00:00Z"})
    assert batch.code == 201
    assert (batch.json()["type"], batch.json()["status"]) == ("batch", "running")
    shown = h.get(V1 + "/recordings/b").json()
    assert (shown["type"], shown["status"], shown["error"]) == (
        "batch", "failed", "wrong task type")
    query = h.post(V1 + "/recordings/query", {"id": "q", "type": "stream",
                                               "query": "select * from cpu"})
    assert query.code == 201
    shown = h.get(V1 + "/recordings/q").json()
    assert (shown["type"], shown["status"], shown["error"]) == (
        "stream", "failed",
        "could not determine database and retention policy. Is the query fully qualified?")
    assert not os.path.exists(os.path.join(h.app.replays.dir, "q.srpl"))


def test_list_recordings_newest_first_with_fields_pattern_and_pages(h):
    define(h)
    for rid in ("a1", "b1", "a2"):
        record(h, rid)
        h.clock.advance(1)
    listing = h.get(V1 + "/recordings").json()["recordings"]
    assert [r["id"] for r in listing] == ["a2", "b1", "a1"]
    assert sorted(listing[0]) == sorted(
        ["link", "id", "type", "size", "date", "error", "status", "progress"])
    some = h.get(V1 + "/recordings?pattern=a*&fields=status").json()["recordings"]
    assert some == [{"id": i, "link": {"rel": "self", "href": V1 + "/recordings/" + i},
                     "status": "running"} for i in ("a2", "a1")]
    page = h.get(V1 + "/recordings?offset=1&limit=1").json()["recordings"]
    assert [r["id"] for r in page] == ["b1"]
    bad = h.get(V1 + "/recordings?fields=nope")
    assert (bad.code, bad.error) == (400, 'unsupported field "nope"')
    bad = h.get(V1 + "/recordings?offset=x")
    assert bad.code == 400 and bad.error.startswith('invalid offset parameter "x" must be an integer')


def test_delete_recording_removes_record_and_file(h):
    define(h)
    record(h)
    write(h, cpu_lines(int(h.clock.seconds()), 3))
    finish_recording(h)
    path = os.path.join(h.app.replays.dir, "rec.srpl")
    assert os.path.exists(path)
    assert h.delete(V1 + "/recordings/rec").code == 204
    assert not os.path.exists(path)
    assert h.get(V1 + "/recordings/rec").code == 404


def test_deleting_a_running_recording_stops_it_and_leaves_no_file(h):
    define(h)
    record(h)
    assert h.delete(V1 + "/recordings/rec").code == 204
    write(h, cpu_lines(int(h.clock.seconds()), 3))
    assert os.listdir(h.app.replays.dir) == []


# --------------------------------------------------------------- replays


def _recorded(h, count=30):
    define(h)
    now = int(h.clock.seconds())
    record(h)
    write(h, cpu_lines(now, count))
    finish_recording(h)
    return now


def test_replay_with_recording_time_reproduces_the_live_httpout(h):
    _recorded(h)
    live = h.get(V1 + "/tasks/t/out")
    assert live.code == 200 and live.json()["series"]
    created = h.post(V1 + "/replays", {"id": "r1", "task": "t", "recording": "rec",
                                       "recording-time": True})
    assert created.code == 201
    body = created.json()
    assert list(body) == ["link", "id", "task", "recording", "recording-time", "clock", "date",
                          "error", "status", "progress", "stats"]
    assert (body["status"], body["clock"], body["stats"]) == ("running", "fast", {})
    run_turns(h)
    done = h.get(V1 + "/replays/r1")
    assert done.code == 200
    assert (done.json()["status"], done.json()["progress"]) == ("finished", 1)
    assert done.json()["stats"]["node-stats"]["stream0"]["collected"] == 30
    replayed = h.get(V1 + "/tasks/t/out?replay-id=r1")
    assert replayed.code == 200
    assert replayed.body == live.body


def test_fast_replay_without_recording_time_moves_the_data_to_now(h):
    _recorded(h)
    h.clock.advance(3600)
    h.post(V1 + "/replays", {"id": "r1", "task": "t", "recording": "rec"})
    run_turns(h)
    replayed = h.get(V1 + "/tasks/t/out?replay-id=r1").json()["series"][0]["values"][0]
    live = h.get(V1 + "/tasks/t/out").json()["series"][0]["values"][0]
    # The same window, an hour later: the first point was moved to the replay's start.
    assert replayed[1] == live[1]
    first_point = (int(h.clock.seconds()) - 3600) * SECOND
    moved = int(h.clock.seconds() * 1e9) - first_point
    assert parse_time(replayed[0]) - parse_time(live[0]) == moved


def test_real_clock_replay_waits_for_each_points_time(h):
    _recorded(h, count=30)
    h.post(V1 + "/replays", {"id": "r1", "task": "t", "recording": "rec", "clock": "real"})
    run_turns(h)
    assert h.get(V1 + "/replays/r1").code == 202
    view = h.get(V1 + "/tasks/t?replay-id=r1")
    assert view.code == 200
    collected = view.json()["stats"]["node-stats"]["stream0"]["collected"]
    assert collected == 1
    h.clock.advance(10)
    run_turns(h)
    collected = h.get(V1 + "/tasks/t?replay-id=r1").json()["stats"]["node-stats"]["stream0"]
    assert collected["collected"] == 11
    h.clock.advance(30)
    run_turns(h)
    assert h.get(V1 + "/replays/r1").json()["status"] == "finished"
    gone = h.get(V1 + "/tasks/t?replay-id=r1")
    assert (gone.code, gone.error) == (400, "no running replay with ID: r1")


def test_replay_id_of_another_task_is_refused(h):
    _recorded(h)
    define(h, "other")
    h.post(V1 + "/replays", {"id": "r1", "task": "t", "recording": "rec", "clock": "real"})
    reply = h.get(V1 + "/tasks/other?replay-id=r1")
    assert (reply.code, reply.error) == (400, "replay r1 is not for task: other")


def test_a_replay_runs_apart_from_the_live_task(h):
    _recorded(h)
    assert h.patch(V1 + "/tasks/t", {"status": "disabled"}).code == 200
    h.post(V1 + "/replays", {"id": "r1", "task": "t", "recording": "rec", "clock": "real"})
    run_turns(h)
    # While it runs, the disabled task's endpoint is the replay's, as in Kapacitor.
    assert h.get(V1 + "/tasks/t").json()["executing"] is False
    h.clock.advance(40)
    run_turns(h)
    assert h.get(V1 + "/tasks/t/out?replay-id=r1").json()["series"]
    assert h.get(V1 + "/tasks/t/out").code == 404


def test_deleting_the_recording_stops_its_replay_with_a_message(h):
    _recorded(h)
    h.post(V1 + "/replays", {"id": "r1", "task": "t", "recording": "rec", "clock": "real"})
    run_turns(h)
    assert h.delete(V1 + "/recordings/rec").code == 204
    shown = h.get(V1 + "/replays/r1").json()
    assert (shown["status"], shown["error"]) == (
        "failed", "running replay: recording rec was deleted")
    h.clock.advance(60)
    run_turns(h)
    assert h.get(V1 + "/replays/r1").json()["status"] == "failed"


def test_deleting_a_running_replay_stops_it(h):
    _recorded(h)
    h.post(V1 + "/replays", {"id": "r1", "task": "t", "recording": "rec", "clock": "real"})
    run_turns(h)
    assert h.delete(V1 + "/replays/r1").code == 204
    h.clock.advance(60)
    run_turns(h)
    assert h.get(V1 + "/replays/r1").code == 404
    assert h.get(V1 + "/tasks/t?replay-id=r1").code == 400


def test_replay_errors_have_kapacitors_messages(h):
    _recorded(h)
    no_task = h.post(V1 + "/replays", {"task": "nope", "recording": "rec"})
    assert (no_task.code, no_task.error) == (404, "task load: no task exists")
    no_rec = h.post(V1 + "/replays", {"task": "t", "recording": "nope"})
    assert (no_rec.code, no_rec.error) == (404, "recording not found: no recording exists")
    bad_clock = h.post(V1 + "/replays", {"task": "t", "recording": "rec", "clock": "slow"})
    assert (bad_clock.code, bad_clock.error) == (400, "unknown Clock slow")
    bad_id = h.post(V1 + "/replays", {"id": "x y", "task": "t", "recording": "rec"})
    assert bad_id.error == "replay ID must contain only letters, numbers, '-', '.' and '_'. \"x y\""
    missing = h.get(V1 + "/replays/nope")
    assert (missing.code, missing.error) == (404, "could not find replay: no replay exists")
    h.post(V1 + "/replays", {"id": "r1", "task": "t", "recording": "rec"})
    again = h.post(V1 + "/replays", {"id": "r1", "task": "t", "recording": "rec"})
    assert (again.code, again.error) == (400, "replay already exists")
    no_query = h.post(V1 + "/replays/query", {"task": "t"})
    assert (no_query.code, no_query.error) == (400, "must provide query")


def test_a_damaged_recording_fails_the_replay(h):
    define(h)
    path = os.path.join(h.app.replays.dir, "bad.srpl")
    os.makedirs(h.app.replays.dir, exist_ok=True)
    with gzip.open(path, "wb") as f:
        f.write(b"db\nrp\ncpu value=\n")
    _open(h)
    h.post(V1 + "/replays", {"id": "r1", "task": "t", "recording": "bad"})
    run_turns(h)
    shown = h.get(V1 + "/replays/r1").json()
    assert shown["status"] == "failed"
    assert shown["error"].startswith("running replay: unable to parse 'cpu value='")


def test_list_replays(h):
    _recorded(h)
    h.post(V1 + "/replays", {"id": "r1", "task": "t", "recording": "rec"})
    h.clock.advance(1)
    run_turns(h)
    h.post(V1 + "/replays", {"id": "r2", "task": "t", "recording": "rec", "clock": "real"})
    listing = h.get(V1 + "/replays?fields=status&fields=clock").json()["replays"]
    assert [(r["id"], r["status"], r["clock"]) for r in listing] == [
        ("r2", "running", "real"), ("r1", "finished", "fast")]


# ------------------------------------------------- restart, privileges


def test_metadata_survives_a_restart_and_running_work_is_marked_failed(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    h = Harness(tmp_path, http_auth=False)
    _open(h)
    _recorded(h)
    record(h, "unfinished")
    h.post(V1 + "/replays", {"id": "r1", "task": "t", "recording": "rec", "clock": "real"})
    h.store.close()
    # A recording shared by dropping its file into the directory.
    with open(os.path.join(h.app.replays.dir, "rec.srpl"), "rb") as f:
        data = f.read()
    with open(os.path.join(h.app.replays.dir, "dropped.srpl"), "wb") as f:
        f.write(data)

    again = Harness(tmp_path, http_auth=False)
    _open(again)
    rec = again.get(V1 + "/recordings/rec").json()
    assert (rec["status"], rec["size"]) == ("finished", len(data))
    unfinished = again.get(V1 + "/recordings/unfinished").json()
    assert (unfinished["status"], unfinished["error"]) == (
        "failed", "unexpected Kapacitor shutdown")
    replay = again.get(V1 + "/replays/r1").json()
    assert (replay["status"], replay["error"]) == ("failed", "unexpected Kapacitor shutdown")
    dropped = again.get(V1 + "/recordings/dropped").json()
    assert (dropped["status"], dropped["type"]) == ("finished", "stream")
    assert not [n for n in os.listdir(again.app.replays.dir) if n.endswith(".tmp")]


def test_recordings_and_replays_need_the_api_privilege(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    h = Harness(tmp_path)
    _open(h)
    h.add_user("admin", admin=True)
    h.add_user("nobody")
    h.add_user("writer", permissions=["write_points"])
    h.add_user("apiuser", permissions=["api"])
    for who in ("nobody", "writer"):
        for method, path in (("GET", "/recordings"), ("POST", "/recordings/stream"),
                             ("GET", "/replays"), ("POST", "/replays"),
                             ("DELETE", "/recordings/x")):
            reply = h.request(method, V1 + path, body={}, auth=(who, "pw"))
            assert reply.code == 403, (who, method, path, reply.body)
    assert h.get(V1 + "/recordings", auth=("apiuser", "pw")).code == 200
    assert h.get(V1 + "/replays", auth=("apiuser", "pw")).code == 200
    assert h.get(V1 + "/recordings").code == 401


def _rfc3339(seconds: int) -> str:
    import time

    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))
