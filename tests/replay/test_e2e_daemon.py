"""``kapacitor record stream`` then ``kapacitor replay`` on the real daemon:
the replay reproduces the task's httpOut, and the CLI's list/delete speak
the original's format."""

from __future__ import annotations

import io
import json
import threading
import time

import attrs
import pytest

from kapacitord_tw.cli.kapacitor import run
from kapacitord_tw.cli.kapacitor.runtime import Terminal

daemon_support = pytest.importorskip("tests.support.daemon")

V1 = "/kapacitor/v1"
SCRIPT = ("stream|from().measurement('cpu').groupBy('host')"
          "|window().period(10s).every(10s)|mean('value')|httpOut('out')")


@attrs.frozen
class Outcome:
    code: int
    out: str
    err: str


def cli(base_url: str, *args: str) -> Outcome:
    out, err = io.StringIO(), io.StringIO()
    terminal = Terminal(stdout=out, stderr=err, stdin=io.StringIO(""),
                        prompt_secret=lambda _p: "", stdin_is_tty=lambda _s: False)
    code = run(["-url", base_url, *args], environ={}, terminal=terminal)
    return Outcome(code, out.getvalue(), err.getvalue())


@pytest.fixture
def daemon(tmp_path):
    port = daemon_support.free_port()
    extra = f'\n[replay]\n  dir = "{tmp_path / "recordings"}"\n'
    config = daemon_support.write_config(tmp_path / "k.conf", tmp_path / "data", port,
                                         extra=extra)
    d = daemon_support.Daemon(config, port).start()
    d.base = "http://127.0.0.1:%d" % port
    d.config = config
    yield d
    d.kill()


def _write(daemon, lines):
    status, _h, body = daemon.request("POST", "/write?db=db&rp=rp", "\n".join(lines))
    assert status == 204, body


def test_record_then_replay_reproduces_the_tasks_httpout(daemon, tmp_path):
    status, _h, body = daemon.request("POST", V1 + "/tasks", {
        "id": "cpu_mean", "type": "stream", "dbrps": [{"db": "db", "rp": "rp"}],
        "script": SCRIPT, "status": "enabled"})
    assert status == 200, body

    recorded = {}
    recorder = threading.Thread(target=lambda: recorded.setdefault(
        "outcome", cli(daemon.base, "record", "stream", "-task", "cpu_mean",
                       "-duration", "4s", "-recording-id", "rec1")))
    recorder.start()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        status, _h, body = daemon.request("GET", V1 + "/recordings/rec1")
        if status == 202:
            break
        time.sleep(0.05)
    start = int(time.time()) - 60
    lines = [f"cpu,host=h{i % 3} value={i} {(start + i) * 10**9}" for i in range(45)]
    _write(daemon, lines[:20])
    _write(daemon, lines[20:])
    _write(daemon, ["mem,host=h0 value=1"])
    recorder.join(15)
    assert recorded["outcome"] == Outcome(0, "rec1\n", ""), recorded

    _status, _h, live = daemon.request("GET", V1 + "/tasks/cpu_mean/out")
    assert len(json.loads(live)["series"]) == 3

    # The live task is stopped: the replay alone produces the output.
    status, _h, _b = daemon.request("PATCH", V1 + "/tasks/cpu_mean", {"status": "disabled"})
    assert status == 200
    replayed = cli(daemon.base, "replay", "-recording", "rec1", "-task", "cpu_mean",
                   "-rec-time", "-replay-id", "rp1")
    assert replayed == Outcome(0, "rp1\n", "")
    status, _h, again = daemon.request("GET", V1 + "/tasks/cpu_mean/out?replay-id=rp1")
    assert status == 200
    assert json.loads(again) == json.loads(live)

    status, _h, body = daemon.request("GET", V1 + "/replays/rp1")
    stats = json.loads(body)["stats"]["node-stats"]
    assert stats["stream0"]["collected"] == 45  # the mem point was not recorded

    listed = cli(daemon.base, "list", "recordings")
    header, row = listed.out.splitlines()
    assert header.split() == ["ID", "Type", "Status", "Size", "Date"]
    assert header.startswith("ID   Type    Status    Size      Date")
    assert row.split()[:3] == ["rec1", "stream", "finished"]
    assert row.split()[4] == "B" or row.split()[4] == "kB"

    replays = cli(daemon.base, "list", "replays")
    header, row = replays.out.splitlines()
    assert header.startswith("ID  Task     Recording Status   Clock   Date")
    assert row.split()[:5] == ["rp1", "cpu_mean", "rec1", "finished", "fast"]

    # Metadata and the file survive a restart.
    daemon.stop()
    daemon.start()
    status, _h, body = daemon.request("GET", V1 + "/recordings/rec1")
    assert (status, json.loads(body)["status"]) == (200, "finished")

    assert cli(daemon.base, "delete", "replays", "rp*") == Outcome(0, "", "")
    assert cli(daemon.base, "delete", "recordings", "rec1") == Outcome(0, "", "")
    assert cli(daemon.base, "list", "recordings").out.splitlines()[1:] == []
    assert list((tmp_path / "recordings").iterdir()) == []


def test_failed_replay_is_the_commands_error(daemon):
    status, _h, body = daemon.request("POST", V1 + "/tasks", {
        "id": "t", "type": "stream", "dbrps": [{"db": "db", "rp": "rp"}],
        "script": SCRIPT, "status": "disabled"})
    assert status == 200, body
    missing = cli(daemon.base, "replay", "-recording", "nope", "-task", "t")
    assert missing == Outcome(3, "", "Error: recording not found: no recording exists\n")
    usage = cli(daemon.base, "replay", "-task", "t")
    assert usage.code == 3 and usage.err.endswith("Error: must pass recording ID\n")
    batch = cli(daemon.base, "record", "batch", "-task", "t", "-past", "1h",
                "-recording-id", "b1")
    assert batch == Outcome(3, "b1\n", "Error: wrong task type\n")
    no_args = cli(daemon.base, "record", "stream", "-task", "t")
    assert no_args.code == 3 and no_args.err.endswith("Error: both task and duration are required\n")
