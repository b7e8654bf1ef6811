"""Subscriptions against a real influxd and the real daemon: tokens, least privilege, rotation.

The daemon runs with ``[auth] enabled`` and ``[http] auth-enabled``; influxd
runs with authentication too, and the cluster's credentials are in
``[[influxdb]]``.  A point written to influxd with its HTTP API must come
to our ``/write`` through the subscription, authenticated by its token,
and fire the task's alert into a log file.
"""

import base64
import json
import os
import time
from urllib.parse import urlsplit

import pytest

from tests.support.daemon import Daemon, free_port, write_config
from tests.support.influxd import InfluxD
from tests.support.waiting import wait_until

ADMIN = ("root", "root-password")

CPU_TASK = """
stream
    |from()
        .measurement('cpu')
    |alert()
        .crit(lambda: "usage_idle" < 10.0)
        .log('{log}')
"""


def _cluster_section(influx: InfluxD) -> str:
    return f"""
[[influxdb]]
  enabled = true
  default = true
  name = "local"
  urls = ["{influx.url}"]
  username = "{influx.admin[0]}"
  password = "{influx.admin[1]}"
  kapacitor-hostname = "127.0.0.1"
  startup-timeout = "5s"
  subscriptions-sync-interval = "1s"
"""



def _our_subscriptions(influx, name):
    return [s for s in influx.subscriptions() if s[2] == name]


def _token(destination: str) -> str:
    parts = urlsplit(destination)
    assert parts.username == "~subscriber"
    return parts.password


def _basic(user, password):
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


@pytest.fixture
def stack(tmp_path):
    """influxd (auth on, db telegraf) + a daemon factory sharing one data dir."""
    influx = InfluxD(tmp_path, auth=True).start()
    influx.query("CREATE DATABASE telegraf")
    data = tmp_path / "kap"
    port = free_port()
    daemons = []

    def start(http_auth: bool) -> Daemon:
        conf = write_config(tmp_path / f"k{len(daemons)}.conf", data, port,
                            extra=_cluster_section(influx), http_auth=http_auth)
        d = Daemon(conf, port).start()
        daemons.append(d)
        return d

    yield influx, start, tmp_path
    for d in daemons:
        d.kill()
    influx.stop()


def _sub_name(tmp_path) -> str:
    with open(tmp_path / "kap" / "cluster.id") as f:
        return "kapacitor-" + f.read().strip()


def test_a_point_written_to_influxd_reaches_a_task_through_its_token_and_tokens_rotate(stack):
    influx, start, tmp_path = stack
    # Phase 1: no HTTP auth yet, so the first admin can be created.
    d = start(http_auth=False)
    status, _h, body = d.request("POST", "/kapacitor/v1/users",
                                 {"name": ADMIN[0], "password": ADMIN[1], "type": "admin"})
    assert status == 200, body
    name = _sub_name(tmp_path)
    subs = wait_until(lambda: _our_subscriptions(influx, name))
    assert {(s[0], s[1]) for s in subs} == {("telegraf", "autogen")}
    assert urlsplit(subs[0][4][0]).username is None  # no HTTP auth: no token
    assert d.stop() == 0

    # Phase 2: HTTP auth on: the subscription now carries a token.
    d = start(http_auth=True)
    subs = wait_until(lambda: [s for s in _our_subscriptions(influx, name) if "~subscriber:" in s[4][0]])
    destination = subs[0][4][0]
    assert destination.startswith(f"http://~subscriber:")
    assert destination.endswith(f"@127.0.0.1:{d.port}")
    token = _token(destination)

    log_path = tmp_path / "cpu-alerts.log"
    task = {"id": "cpu", "type": "stream", "dbrps": [{"db": "telegraf", "rp": "autogen"}],
            "script": CPU_TASK.format(log=log_path), "status": "enabled"}
    status, _h, body = d.request("POST", "/kapacitor/v1/tasks", task, auth=ADMIN)
    assert status == 200, body

    started = time.monotonic()
    influx.write("telegraf", "cpu,host=server01 usage_idle=3.5")
    wait_until(lambda: log_path.exists() and log_path.stat().st_size > 0, timeout=10, step=0.01)
    latency = time.monotonic() - started
    event = json.loads(log_path.read_text().splitlines()[0])
    assert event["level"] == "CRITICAL" and event["data"]["series"][0]["tags"]["host"] == "server01"
    print(f"influxd write -> alert log: {latency * 1000:.0f} ms")
    assert latency < 5.0

    # The token can write, and nothing else.
    status, _h, _b = d.request("POST", "/write?db=telegraf&rp=autogen", b"cpu usage_idle=50",
                               headers=_basic("~subscriber", token))
    assert status == 204
    for method, path in [("GET", "/kapacitor/v1/tasks"), ("GET", "/kapacitor/v1/users"),
                         ("GET", "/kapacitor/v1/config"), ("GET", "/kapacitor/v1/storage/backup"),
                         ("POST", "/kapacitor/v1/tasks")]:
        status, _h, body = d.request(method, path, headers=_basic("~subscriber", token),
                                     body=b"{}" if method == "POST" else None)
        assert status == 403, (path, status, body)
        assert b"does not have" in body
    # Another database is not the token's.
    status, _h, _b = d.request("POST", "/write?db=other", b"cpu usage_idle=1",
                               headers=_basic("~subscriber", token))
    assert status == 401
    # No password opens the token's user.
    status, _h, _b = d.request("GET", "/kapacitor/v1/ping", auth=("_sub:" + token, ""))
    assert status == 401

    # Sync rotation: revoking the token's user makes the next sync issue a new one.
    status, _h, body = d.request("DELETE", f"/kapacitor/v1/users/_sub:{token}", auth=ADMIN)
    assert status == 204, body
    rotated = wait_until(lambda: [s for s in _our_subscriptions(influx, name)
                             if "~subscriber:" in s[4][0] and _token(s[4][0]) != token])
    token2 = _token(rotated[0][4][0])
    status, _h, body = d.request("POST", "/write?db=telegraf", b"cpu usage_idle=50",
                                 headers=_basic("~subscriber", token))
    assert status == 401 and b"invalid subscription token" in body
    assert d.stop() == 0

    # Restart rotation: a new daemon run issues new tokens and revokes the old.
    d = start(http_auth=True)
    renewed = wait_until(lambda: [s for s in _our_subscriptions(influx, name)
                             if "~subscriber:" in s[4][0] and _token(s[4][0]) != token2])
    token3 = _token(renewed[0][4][0])
    wait_until(lambda: d.request("POST", "/write?db=telegraf", b"cpu usage_idle=50",
                            headers=_basic("~subscriber", token2))[0] == 401)
    status, _h, _b = d.request("POST", "/write?db=telegraf", b"cpu usage_idle=50",
                               headers=_basic("~subscriber", token3))
    assert status == 204
    # The tokens in the user list are exactly the live ones.
    status, _h, body = d.request("GET", "/kapacitor/v1/users?pattern=_sub:*", auth=ADMIN)
    names = {u["name"] for u in json.loads(body)["users"]}
    assert names == {"_sub:" + token3}
    # Still exactly one subscription per db/rp.
    assert len(_our_subscriptions(influx, name)) == 1
    d.stop()

    # No token ever reached our log (the access log names the user ~subscriber).
    output = "".join(x.output() for x in [d])
    for t in (token, token2, token3):
        assert t not in output
    assert "~subscriber" in output


def test_an_unreachable_influxdb_is_logged_and_retried_never_fatal(tmp_path):
    port = free_port()
    dead = free_port()
    extra = f"""
[[influxdb]]
  name = "gone"
  urls = ["http://127.0.0.1:{dead}"]
  startup-timeout = "1s"
  subscriptions-sync-interval = "1s"
"""
    conf = write_config(tmp_path / "k.conf", tmp_path / "kap", port, extra=extra)
    with Daemon(conf, port) as d:
        status, _h, _b = d.request("GET", "/kapacitor/v1/ping")
        assert status == 204
        wait_until(lambda: "retry limit reached" in d.output(), timeout=15)
        status, _h, _b = d.request("GET", "/kapacitor/v1/ping")
        assert status == 204
    assert "failed to connect to InfluxDB" in d.output()
