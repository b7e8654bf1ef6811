"""
Issue #12's whole flow on the real secured daemon: a user with ``config_api``
points ``[slack]`` at a local receiver through ``POST /config/slack/``, a
normal user defines the cpu alert with ``.topic('cpu')`` and a ``slack`` topic
handler with ``kapacitor define-topic-handler``; written points deliver
Kapacitor's Slack payload, a URL changed through the API is used by the next
alert and survives a restart, and the ``api`` user cannot touch the config.
"""

from __future__ import annotations

import json

from tests.alerts.test_topic_e2e import TOPIC_ALERT, _write
from tests.cli.test_tasks_e2e import kapacitor
from tests.engine.test_cpu_alert_e2e import Receiver, wait_for
from tests.support.daemon import Daemon, free_port, write_config

V1 = "/kapacitor/v1"
ADMIN = ("admin", "Pa5sw0Rd")
OPS = ("ops", "0ps-pw")
CFG = ("cfg", "cfg-pw")

SLACK_HANDLER = """\
topic: cpu
id: to-slack
kind: slack
options:
  channel: '#ops'
"""


def slack_body(message: str, color: str) -> dict:
    """Kapacitor's Slack webhook body for one alert (services/slack)."""
    return {"attachments": [{"fallback": message, "color": color, "text": message,
                             "mrkdwn_in": ["text"]}],
            "channel": "#ops", "icon_emoji": "", "text": "", "username": "kapacitor"}


def test_slack_topic_handler_follows_the_url_set_through_the_config_api(tmp_path):
    port = free_port()
    data = tmp_path / "data"
    plain = write_config(tmp_path / "plain.conf", data, port)
    secured = write_config(tmp_path / "secured.conf", data, port, http_auth=True)
    first, second = Receiver(), Receiver()
    tick = tmp_path / "cpu_topic.tick"
    tick.write_text(TOPIC_ALERT)
    handler_file = tmp_path / "slack.yaml"
    handler_file.write_text(SLACK_HANDLER)
    ops_url = "http://%s:%s@127.0.0.1:%d" % (*OPS, port)
    try:
        with Daemon(plain, port) as daemon:
            for name, password, extra in (
                    ("admin", ADMIN[1], {"type": "admin"}),
                    ("ops", OPS[1], {"permissions": ["api", "write_points"]}),
                    ("cfg", CFG[1], {"permissions": ["config_api"]})):
                status, _, raw = daemon.request(
                    "POST", V1 + "/users", {"name": name, "password": password, **extra})
                assert status == 200, raw
            assert daemon.stop() == 0

        with Daemon(secured, port) as daemon:
            status, _, _ = daemon.request(
                "POST", V1 + "/config/slack/", {"set": {"url": first.url}}, auth=OPS)
            assert status == 403
            status, _, raw = daemon.request(
                "POST", V1 + "/config/slack/",
                {"set": {"enabled": True, "url": first.url}}, auth=CFG)
            assert status == 204, raw

            done = kapacitor(ops_url, "define-topic-handler", str(handler_file))
            assert done.code == 0, done.err
            assert kapacitor(ops_url, "define", "cpu_topic", "-tick", str(tick)).code == 0
            assert kapacitor(ops_url, "enable", "cpu_topic").code == 0

            assert _write(port, b"cpu,host=web1 usage_idle=42.5 1000000000\n") == b"204"
            posted = wait_for(lambda: len(first.bodies) == 1 and first.bodies)
            assert posted, "nothing reached the first Slack URL"
            assert json.loads(posted[0][1]) == slack_body("cpu:nil is CRITICAL", "danger")

            done = kapacitor(ops_url, "list", "topics")
            assert done.out == "ID  Level     Collected\ncpu CRITICAL          1\n"

            status, _, raw = daemon.request(
                "POST", V1 + "/config/slack/", {"set": {"url": second.url}}, auth=CFG)
            assert status == 204, raw
            assert _write(port, b"cpu,host=web1 usage_idle=99 2000000000\n") == b"204"
            posted = wait_for(lambda: len(second.bodies) == 1 and second.bodies)
            assert posted, "the changed URL was not used by the next alert"
            assert json.loads(posted[0][1]) == slack_body("cpu:nil is OK", "good")
            assert len(first.bodies) == 1
            assert daemon.stop() == 0

        with Daemon(secured, port) as daemon:
            status, _, raw = daemon.request("GET", V1 + "/config/slack/", auth=CFG)
            assert status == 200, raw
            options = json.loads(raw)["options"]
            assert options["url"] is True  # set, and redacted
            assert options["enabled"] is True
            assert _write(port, b"cpu,host=web1 usage_idle=10 3000000000\n") == b"204"
            posted = wait_for(lambda: len(second.bodies) == 2 and second.bodies)
            assert posted, "\n".join(l for l in daemon.output().splitlines()
                                      if "factory" not in l and "8086" not in l)[-4000:]
            assert json.loads(posted[1][1]) == slack_body("cpu:nil is CRITICAL", "danger")
            assert len(first.bodies) == 1
            assert daemon.stop() == 0
    finally:
        first.close()
        second.close()
