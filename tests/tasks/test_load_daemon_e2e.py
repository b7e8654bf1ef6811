"""
``[load]`` on the real ``kapacitord``: tasks shipped as files run once the
daemon listens, a changed file wins at the next start, SIGHUP loads the
directory again, and a bad file keeps the daemon from starting (Kapacitor's
``Open`` fails the same way).
"""

import json
import signal
import time

from tests.support.daemon import Daemon, free_port, run_kapacitord, write_config

V1 = "/kapacitor/v1"

TEMPLATE = """\
var measurement string
var limit = 10.0

stream
    |from()
        .measurement(measurement)
    |where(lambda: "usage_idle" < limit)
    |httpOut('low')
"""

PLAIN_TASK = """\
dbrp "telegraf"."autogen"

stream
    |from()
        .measurement('cpu')
    |eval(lambda: "usage_idle" * {factor})
        .as('double')
    |httpOut('out')
"""


def make_load_dir(tmp_path):
    root = tmp_path / "load"
    for part in ("tasks", "templates", "handlers"):
        (root / part).mkdir(parents=True)
    (root / "templates" / "low.tick").write_text(TEMPLATE)
    (root / "tasks" / "cpu_double.tick").write_text(PLAIN_TASK.format(factor="2.0"))
    (root / "tasks" / "mem_low.yaml").write_text(
        'template-id: low\ndbrps:\n - {db: telegraf, rp: autogen}\n'
        'vars:\n  measurement: {type: string, value: mem}\n')
    return root


def config_for(tmp_path, port, root):
    extra = f'\n[load]\n  enabled = true\n  dir = "{root}"\n'
    return write_config(tmp_path / "k.conf", tmp_path / "data", port, extra=extra)


def poll_output(daemon, task_id, name, timeout=10.0):
    deadline = time.monotonic() + timeout
    while True:
        status, _h, body = daemon.request("GET", f"{V1}/tasks/{task_id}/{name}")
        if status == 200 and json.loads(body).get("series"):
            return json.loads(body)
        assert time.monotonic() < deadline, (status, body)
        time.sleep(0.05)


def write(daemon, lines):
    status, _h, body = daemon.request(
        "POST", f"{V1}/write?db=telegraf&rp=autogen&precision=s", body=lines)
    assert status == 204, body


def get_task(daemon, task_id):
    status, _h, body = daemon.request("GET", f"{V1}/tasks/{task_id}?script-format=raw")
    return status, json.loads(body)


def test_loaded_tasks_run_on_the_real_daemon_and_a_changed_file_wins_on_restart(tmp_path):
    root = make_load_dir(tmp_path)
    port = free_port()
    daemon = Daemon(config_for(tmp_path, port, root), port)
    with daemon:
        # Listening means loaded: no polling for the definitions themselves.
        status, task = get_task(daemon, "cpu_double")
        assert status == 200
        assert (task["status"], task["executing"]) == ("enabled", True)
        write(daemon, "cpu usage_idle=4 1\nmem usage_idle=3 2\n")
        assert poll_output(daemon, "cpu_double", "out")["series"][0]["values"] == [
            ["1970-01-01T00:00:01Z", 8.0]]
        assert poll_output(daemon, "mem_low", "low")["series"][0]["values"] == [
            ["1970-01-01T00:00:02Z", 3.0]]
        assert daemon.stop() == 0

    (root / "tasks" / "cpu_double.tick").write_text(PLAIN_TASK.format(factor="3.0"))
    with Daemon(daemon.config_path, port) as again:
        status, task = get_task(again, "cpu_double")
        assert "* 3.0" in task["script"]
        write(again, "cpu usage_idle=4 5\n")
        assert poll_output(again, "cpu_double", "out")["series"][0]["values"] == [
            ["1970-01-01T00:00:05Z", 12.0]]
        assert again.stop() == 0


def test_sighup_loads_new_files_and_drops_removed_ones(tmp_path):
    root = make_load_dir(tmp_path)
    port = free_port()
    with Daemon(config_for(tmp_path, port, root), port) as daemon:
        (root / "tasks" / "mem_low.yaml").unlink()
        (root / "tasks" / "late.tick").write_text(PLAIN_TASK.format(factor="1.0"))
        daemon.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while get_task(daemon, "late")[0] != 200:
            assert time.monotonic() < deadline, daemon.output()
            time.sleep(0.05)
        deadline = time.monotonic() + 10
        while get_task(daemon, "mem_low")[0] != 404:
            assert time.monotonic() < deadline, daemon.output()
            time.sleep(0.05)
        assert get_task(daemon, "late")[1]["executing"] is True
        assert daemon.stop() == 0


def test_a_bad_file_keeps_the_daemon_from_starting(tmp_path):
    root = make_load_dir(tmp_path)
    bad = root / "tasks" / "nodbrp.tick"
    bad.write_text("stream|from().measurement('cpu')")
    port = free_port()
    result = run_kapacitord(["-config", config_for(tmp_path, port, root)])
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1] == (
        "run: open server: failed to reload tasks/templates/handlers: failed to load tasks: "
        f"failed to load file {bad}: failed to create task: must specify dbrp")
