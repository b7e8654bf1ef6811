"""
The real ``kapacitord`` with ``[http] auth-enabled = true``: the cpu alert's
whole life over HTTP with basic auth, a restart that brings the enabled task
back, and a 403 for a user without the ``api`` permission.
"""

from __future__ import annotations

import json

from tests.support.daemon import Daemon, free_port, write_config
from tests.tasks.support import CPU_FORMATTED, CPU_SCRIPT, RFC3339_NANO, TELEGRAF, ZERO_TIME

V1 = "/kapacitor/v1"
ADMIN = ("admin", "Pa5sw0Rd")
OPERATOR = ("operator", "op-pw")
READER = ("reader", "rd-pw")


def call(daemon, method, path, body=None, auth=ADMIN):
    status, _, data = daemon.request(method, V1 + path, body, auth=auth)
    return status, (json.loads(data) if data else None)


def bootstrap_users(daemon) -> None:
    for name, password, extra in (("admin", ADMIN[1], {"type": "admin"}),
                                  ("operator", OPERATOR[1], {"permissions": ["api"]}),
                                  ("reader", READER[1], {"permissions": ["config_api"]})):
        status, body = call(daemon, "POST", "/users", {"name": name, "password": password, **extra},
                            auth=None)
        assert status == 200, body


def test_task_lifecycle_over_http_with_basic_auth(tmp_path):
    port = free_port()
    data = tmp_path / "data"
    plain = write_config(tmp_path / "plain.conf", data, port)
    secured = write_config(tmp_path / "secured.conf", data, port, http_auth=True)
    with Daemon(plain, port) as daemon:
        bootstrap_users(daemon)
        assert daemon.stop() == 0

    with Daemon(secured, port) as daemon:
        status, body = call(daemon, "POST", "/tasks",
                            {"id": "cpu_alert", "type": "stream", "dbrps": TELEGRAF,
                             "script": CPU_SCRIPT}, auth=OPERATOR)
        assert status == 200, body
        assert (body["script"], body["status"], body["executing"]) == (
            CPU_FORMATTED, "disabled", False)
        assert RFC3339_NANO.match(body["created"]) and body["modified"] == body["created"]
        assert body["last-enabled"] == ZERO_TIME

        status, body = call(daemon, "GET", "/tasks", auth=OPERATOR)
        assert status == 200 and [t["id"] for t in body["tasks"]] == ["cpu_alert"]

        status, body = call(daemon, "PATCH", "/tasks/cpu_alert", {"status": "enabled"},
                            auth=OPERATOR)
        assert (status, body["executing"]) == (200, True)
        assert body["stats"]["task-stats"] == {"throughput": 0}

        status, headers, raw = daemon.request("GET", V1 + "/tasks/cpu_alert", auth=READER)
        assert status == 403
        assert json.loads(raw)["error"] == (
            'user reader does not have "read" privilege for API endpoint '
            '"/kapacitor/v1/tasks/cpu_alert"')
        status, _, raw = daemon.request("POST", V1 + "/tasks", {"id": "x"}, auth=READER)
        assert status == 403
        status, _, _ = daemon.request("GET", V1 + "/tasks")
        assert status == 401
        assert daemon.stop() == 0

    with Daemon(secured, port) as daemon:
        status, body = call(daemon, "GET", "/tasks/cpu_alert")
        assert (status, body["status"], body["executing"]) == (200, "enabled", True)
        assert 'graph [throughput="0.00 points/s"];' in body["dot"]

        status, _, raw = daemon.request("POST", "/write?db=telegraf&rp=autogen",
                                        b"cpu usage_idle=5 1\ncpu usage_idle=7 2\n", auth=ADMIN)
        assert status == 204, raw
        status, body = call(daemon, "GET", "/tasks/cpu_alert")
        assert body["stats"]["node-stats"]["stream0"]["collected"] == 2

        status, body = call(daemon, "PATCH", "/tasks/cpu_alert", {"status": "disabled"})
        assert (status, body["executing"]) == (200, False)
        status, body = call(daemon, "DELETE", "/tasks/cpu_alert")
        assert (status, body) == (204, None)
        status, body = call(daemon, "GET", "/tasks")
        assert (status, body) == (200, {"tasks": []})
