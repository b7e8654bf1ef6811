"""
The official flow on the real daemon: internal authorizations on, a normal
user with ``api`` and ``write_points`` defines the docs' cpu alert with the
``kapacitor`` CLI, writes points with curl, and the alert reaches the log
file and a local HTTP receiver, with the node stats to show for it.
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

from tests.cli.test_tasks_e2e import kapacitor
from tests.support.daemon import Daemon, free_port, write_config

V1 = "/kapacitor/v1"
ADMIN = ("admin", "Pa5sw0Rd")
OPS = ("ops", "0ps-pw")

CPU_ALERT = """\
dbrp "telegraf"."autogen"

stream
    // Select the CPU measurement from the `telegraf` database.
    |from()
        .measurement('cpu')
    // Triggers a critical alert when the CPU idle usage drops below 70%
    |alert()
        .crit(lambda: int("usage_idle") < 70)
        // Whenever we get an alert write it to a file.
        .log('{log}')
        .post('{url}')
"""


class Receiver:
    """A local HTTP endpoint standing in for an alert webhook."""

    def __init__(self):
        bodies = self.bodies = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                bodies.append((self.headers.get("Content-Type"), self.rfile.read(length)))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d/alert" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def wait_for(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    return predicate()


def test_cpu_alert_fires_on_points_written_by_a_normal_user(tmp_path):
    port = free_port()
    data = tmp_path / "data"
    plain = write_config(tmp_path / "plain.conf", data, port)
    secured = write_config(tmp_path / "secured.conf", data, port, http_auth=True)
    alert_log = tmp_path / "alerts.log"
    receiver = Receiver()
    tick = tmp_path / "cpu_alert.tick"
    tick.write_text(CPU_ALERT.format(log=alert_log, url=receiver.url))
    try:
        with Daemon(plain, port) as daemon:
            for name, password, extra in (
                    ("admin", ADMIN[1], {"type": "admin"}),
                    ("ops", OPS[1], {"permissions": ["api", "write_points"]})):
                status, _, raw = daemon.request(
                    "POST", V1 + "/users", {"name": name, "password": password, **extra})
                assert status == 200, raw
            assert daemon.stop() == 0

        with Daemon(secured, port) as daemon:
            url = "http://%s:%s@127.0.0.1:%d" % (*OPS, port)
            done = kapacitor(url, "define", "cpu_alert", "-tick", str(tick))
            assert done.code == 0, done.err
            done = kapacitor(url, "enable", "cpu_alert")
            assert done.code == 0, done.err

            points = b"cpu,host=web1 usage_idle=95 1000000000\n" \
                     b"cpu,host=web1 usage_idle=42.5 2000000000\n" \
                     b"cpu,host=web2 usage_idle=99 3000000000\n"
            written = subprocess.run(
                ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-XPOST",
                 "-u", "%s:%s" % OPS, "--data-binary", "@-",
                 "http://127.0.0.1:%d/kapacitor/v1/write?db=telegraf&rp=autogen" % port],
                input=points, capture_output=True, timeout=20)
            assert written.stdout == b"204"

            lines = wait_for(lambda: alert_log.exists() and len(
                alert_log.read_text().splitlines()) == 2 and alert_log.read_text().splitlines())
            assert lines, alert_log.read_text() if alert_log.exists() else "no alert log"
            event, recovery = map(json.loads, lines)
            assert (event["id"], event["message"], event["level"]) == (
                "cpu:nil", "cpu:nil is CRITICAL", "CRITICAL")
            assert event["previousLevel"] == "OK" and event["recoverable"] is True
            assert event["time"] == "1970-01-01T00:00:02Z"
            assert event["data"]["series"] == [{
                "name": "cpu", "tags": {"host": "web1"},
                "columns": ["time", "usage_idle"],
                "values": [["1970-01-01T00:00:02Z", 42.5]]}]

            # The next point (web2, 99) ends the alert: the recovery is sent too.
            assert (recovery["level"], recovery["previousLevel"]) == ("OK", "CRITICAL")
            assert recovery["duration"] == 1_000_000_000
            assert '&#34;Level&#34;:&#34;OK&#34;' in recovery["details"]

            posted = wait_for(lambda: len(receiver.bodies) == 2 and receiver.bodies)
            assert [ctype for ctype, _ in posted] == ["application/json"] * 2
            assert [json.loads(body) for _, body in posted] == [event, recovery]

            status, _, raw = daemon.request("GET", V1 + "/tasks/cpu_alert", auth=OPS)
            stats = json.loads(raw)["stats"]["node-stats"]
            assert stats["stream0"]["collected"] == 3
            assert stats["alert2"]["crits_triggered"] == 1
            assert stats["alert2"]["oks_triggered"] == 1
            assert stats["alert2"]["alerts_triggered"] == 2
            assert stats["alert2"]["errors"] == 0
            assert daemon.stop() == 0
    finally:
        receiver.close()
