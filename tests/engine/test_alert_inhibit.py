"""``.inhibit(category, tags...)``: while a host is down, its ``system`` alerts are held back."""

from __future__ import annotations

import pytest

from tests.engine.conformance import make_harness, pin_utc
from tests.http.harness import V1

TELEGRAF = [{"db": "telegraf", "rp": "autogen"}]


@pytest.fixture
def h(tmp_path):
    pin_utc()
    return make_harness(tmp_path)


def define(h, task_id, script):
    reply = h.post(V1 + "/tasks", {"id": task_id, "type": "stream", "dbrps": TELEGRAF,
                                   "script": script, "status": "enabled"})
    assert reply.code == 200, reply.body


def write(h, body):
    assert h.post(V1 + "/write?db=telegraf&rp=autogen&precision=s", body).code == 204
    h.app.engine.flush()


def alert_stats(h, task_id):
    nodes = h.get(V1 + "/tasks/" + task_id).json()["stats"]["node-stats"]
    return next(v for k, v in nodes.items() if k.startswith("alert"))


def test_a_down_host_inhibits_its_system_alerts_and_only_its_own(h):
    define(h, "down", "stream|from().measurement('up').groupBy('host')"
                      "|alert().crit(lambda: \"v\" == 0).inhibit('system', 'host')")
    define(h, "cpu", "stream|from().measurement('cpu').groupBy('host')"
                     "|alert().category('system').crit(lambda: \"usage\" > 90)")
    write(h, "up,host=a v=0 1\nup,host=b v=1 1\n")
    write(h, "cpu,host=a usage=95 2\ncpu,host=b usage=95 2\n")
    stats = alert_stats(h, "cpu")
    assert (stats["alerts_inhibited"], stats["alerts_triggered"]) == (1, 1)
    # Host a comes back: its alerts flow again.
    write(h, "up,host=a v=1 3\n")
    write(h, "cpu,host=a usage=97 4\n")
    stats = alert_stats(h, "cpu")
    assert (stats["alerts_inhibited"], stats["alerts_triggered"]) == (1, 2)


def test_stopping_the_inhibiting_task_releases_its_inhibitors(h):
    define(h, "down", "stream|from().measurement('up').groupBy('host')"
                      "|alert().crit(lambda: \"v\" == 0).inhibit('system', 'host')")
    define(h, "cpu", "stream|from().measurement('cpu').groupBy('host')"
                     "|alert().category('system').crit(lambda: \"usage\" > 90)")
    write(h, "up,host=a v=0 1\n")
    assert h.patch(V1 + "/tasks/down", {"status": "disabled"}).code == 200
    write(h, "cpu,host=a usage=95 2\n")
    assert alert_stats(h, "cpu")["alerts_inhibited"] == 0
