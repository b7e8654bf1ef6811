"""
The topic flow on the real secured daemon: a task publishes to ``.topic('cpu')``,
a normal user (``api`` + ``write_points``) defines a ``post`` topic handler with
``kapacitor define-topic-handler`` from a YAML file, points are written with
curl, the local receiver gets Kapacitor's payload, and ``kapacitor list
topics`` shows ``cpu`` at CRITICAL — also after a restart, from the store.
"""

from __future__ import annotations

import json
import subprocess

from tests.cli.test_tasks_e2e import kapacitor
from tests.engine.test_cpu_alert_e2e import Receiver, wait_for
from tests.support.daemon import Daemon, free_port, write_config

V1 = "/kapacitor/v1"
ADMIN = ("admin", "Pa5sw0Rd")
OPS = ("ops", "0ps-pw")

TOPIC_ALERT = """\
dbrp "telegraf"."autogen"

stream
    |from()
        .measurement('cpu')
    |alert()
        .crit(lambda: int("usage_idle") < 70)
        .topic('cpu')
"""

HANDLER_YAML = """\
topic: cpu
id: webhook
kind: post
match: level() >= WARNING
options:
  url: {url}
  headers:
    X-Team: ops
"""


def _write(port: int, points: bytes) -> bytes:
    done = subprocess.run(
        ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-XPOST",
         "-u", "%s:%s" % OPS, "--data-binary", "@-",
         "http://127.0.0.1:%d/kapacitor/v1/write?db=telegraf&rp=autogen" % port],
        input=points, capture_output=True, timeout=20)
    return done.stdout


def test_topic_handler_defined_by_cli_receives_events_and_topic_survives_restart(tmp_path):
    port = free_port()
    data = tmp_path / "data"
    plain = write_config(tmp_path / "plain.conf", data, port)
    secured = write_config(tmp_path / "secured.conf", data, port, http_auth=True)
    receiver = Receiver()
    tick = tmp_path / "cpu_topic.tick"
    tick.write_text(TOPIC_ALERT)
    handler_file = tmp_path / "webhook.yaml"
    handler_file.write_text(HANDLER_YAML.format(url=receiver.url))
    try:
        with Daemon(plain, port) as daemon:
            for name, password, extra in (
                    ("admin", ADMIN[1], {"type": "admin"}),
                    ("ops", OPS[1], {"permissions": ["api", "write_points"]})):
                status, _, raw = daemon.request(
                    "POST", V1 + "/users", {"name": name, "password": password, **extra})
                assert status == 200, raw
            assert daemon.stop() == 0

        url = "http://%s:%s@127.0.0.1:%d" % (*OPS, port)
        with Daemon(secured, port) as daemon:
            done = kapacitor(url, "define-topic-handler", str(handler_file))
            assert (done.code, done.out, done.err) == (0, "", "")
            done = kapacitor(url, "define", "cpu_topic", "-tick", str(tick))
            assert done.code == 0, done.err
            done = kapacitor(url, "enable", "cpu_topic")
            assert done.code == 0, done.err

            assert _write(port, b"cpu,host=web1 usage_idle=95 1000000000\n"
                                b"cpu,host=web1 usage_idle=42.5 2000000000\n") == b"204"

            posted = wait_for(lambda: len(receiver.bodies) == 1 and receiver.bodies)
            assert posted, "the topic handler posted nothing"
            content_type, body = posted[0]
            assert content_type == "application/json"
            assert body.endswith(b"\n")
            event = json.loads(body)
            assert list(event) == ["id", "message", "details", "time", "duration", "level",
                                   "data", "previousLevel", "recoverable"]
            assert (event["id"], event["message"], event["level"], event["previousLevel"]) == (
                "cpu:nil", "cpu:nil is CRITICAL", "CRITICAL", "OK")
            assert event["time"] == "1970-01-01T00:00:02Z"
            assert event["data"]["series"] == [{
                "name": "cpu", "tags": {"host": "web1"},
                "columns": ["time", "usage_idle"],
                "values": [["1970-01-01T00:00:02Z", 42.5]]}]

            done = kapacitor(url, "list", "topics")
            assert done.code == 0, done.err
            assert done.out == (
                "ID  Level     Collected\n"
                "cpu CRITICAL          1\n")
            done = kapacitor(url, "list", "topic-handlers")
            assert done.out == (
                "Topic      ID         Kind       \n"
                "cpu        webhook    post       \n")
            done = kapacitor(url, "show-topic-handler", "cpu", "webhook")
            assert done.out == (
                "ID: webhook\nTopic: cpu\nKind: post\nMatch: level() >= WARNING\n"
                'Options: {"headers":{"X-Team":"ops"},"url":"%s"}\n' % receiver.url)
            assert daemon.stop() == 0

        with Daemon(secured, port) as daemon:
            # Restarted: the handler and the event's level come back from the store.
            done = kapacitor(url, "list", "topics", "cpu")
            assert done.out == (
                "ID  Level     Collected\n"
                "cpu CRITICAL          0\n")
            done = kapacitor(url, "list", "topic-handlers", "cpu")
            assert "webhook    post" in done.out
            # The alert resumes at CRITICAL: the recovery is an OK after CRITICAL.
            assert _write(port, b"cpu,host=web1 usage_idle=99 3000000000\n") == b"204"
            listed = wait_for(lambda: kapacitor(url, "list", "topics").out == (
                "ID  Level     Collected\n"
                "cpu OK                1\n"))
            assert listed, kapacitor(url, "list", "topics").out
            # The event went from CRITICAL (restored) to OK: it was collected
            # as a recovery, and level() >= WARNING kept it from the receiver.
            done = kapacitor(url, "show-topic", "cpu")
            assert "Level: OK\n" in done.out and "Handlers: [webhook]\n" in done.out
            assert len(receiver.bodies) == 1
            done = kapacitor(url, "delete", "topic-handlers", "cpu", "web*")
            assert (done.code, done.out, done.err) == (0, "", "")
            done = kapacitor(url, "list", "topic-handlers")
            assert done.out == "Topic      ID         Kind       \n"
            done = kapacitor(url, "show-topic-handler", "cpu", "webhook")
            assert (done.code, done.err) == (3, 'Error: unknown handler: "webhook"\n')
            done = kapacitor(url, "delete", "topics", "cpu")
            assert done.code == 0, done.err
            done = kapacitor(url, "list", "topics")
            assert done.out == "ID Level     Collected\n"
            assert daemon.stop() == 0
    finally:
        receiver.close()
