"""``subscription-protocol = "udp"`` against a real influxd and the real daemon.

influxd's subscriber forwards each write as line protocol in UDP datagrams
to the listener the daemon opened for that database and retention policy;
the points must reach an enabled stream task, and ``/debug/vars`` must show
upstream's ``udp`` statistics for the listener.
"""

import json
import socket
import time
from urllib.parse import urlsplit

import pytest

from tests.support.daemon import Daemon, free_port, write_config
from tests.support.influxd import InfluxD
from tests.support.waiting import wait_until

CPU_TASK = """
stream
    |from()
        .measurement('cpu')
    |alert()
        .crit(lambda: "usage_idle" < 10.0)
        .log('{log}')
"""


def _section(influx: InfluxD) -> str:
    return f"""
[[influxdb]]
  enabled = true
  default = true
  name = "local"
  urls = ["{influx.url}"]
  username = "{influx.admin[0]}"
  password = "{influx.admin[1]}"
  kapacitor-hostname = "127.0.0.1"
  subscription-protocol = "udp"
  udp-bind = "127.0.0.1"
  udp-read-buffer = 262144
  startup-timeout = "5s"
  subscriptions-sync-interval = "1s"
"""



@pytest.fixture
def stack(tmp_path):
    influx = InfluxD(tmp_path, auth=True).start()
    influx.query("CREATE DATABASE telegraf")
    data = tmp_path / "kap"
    port = free_port()
    conf = write_config(tmp_path / "k.conf", data, port, extra=_section(influx))
    daemons = []

    def start() -> Daemon:
        d = Daemon(conf, port).start()
        daemons.append(d)
        return d

    yield influx, start, tmp_path
    for d in daemons:
        d.kill()
    influx.stop()


def _ours(influx, tmp_path):
    with open(tmp_path / "kap" / "cluster.id") as f:
        name = "kapacitor-" + f.read().strip()
    return [s for s in influx.subscriptions() if s[2] == name]


def _udp_stats(d):
    _s, _h, body = d.request("GET", "/kapacitor/v1/debug/vars")
    stats = json.loads(body)
    return stats, [v for v in stats["kapacitor"].values() if v["name"] == "udp"]


def test_a_point_written_to_influxd_reaches_a_stream_task_over_udp(stack):
    influx, start, tmp_path = stack
    d = start()
    subs = wait_until(lambda: _ours(influx, tmp_path))
    assert [(s[0], s[1], s[3]) for s in subs] == [("telegraf", "autogen", "ANY")]
    destination = urlsplit(subs[0][4][0])
    assert destination.scheme == "udp" and destination.hostname == "127.0.0.1"
    udp_port = destination.port
    assert udp_port and udp_port != d.port

    log_path = tmp_path / "cpu-alerts.log"
    task = {"id": "cpu", "type": "stream", "dbrps": [{"db": "telegraf", "rp": "autogen"}],
            "script": CPU_TASK.format(log=log_path), "status": "enabled"}
    status, _h, body = d.request("POST", "/kapacitor/v1/tasks", task)
    assert status == 200, body

    started = time.monotonic()
    influx.write("telegraf", "cpu,host=server01 usage_idle=3.5")
    wait_until(lambda: log_path.exists() and log_path.stat().st_size > 0, timeout=10, step=0.01)
    latency = time.monotonic() - started
    print(f"influxd write -> UDP -> alert log: {latency * 1000:.0f} ms")
    event = json.loads(log_path.read_text().splitlines()[0])
    assert event["level"] == "CRITICAL"
    assert event["data"]["series"][0]["tags"]["host"] == "server01"
    assert latency < 5.0

    # A datagram that is not line protocol is counted and logged; the listener lives on.
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.sendto(b"this is not line protocol\n", ("127.0.0.1", udp_port))
    stats, udp = wait_until(lambda: (lambda st: st if st[1] and
                                st[1][0]["values"]["points_parse_fail"] else None)(_udp_stats(d)))
    entry = udp[0]
    assert entry["tags"]["bind"] == f"127.0.0.1:{udp_port}"
    assert entry["tags"]["cluster_id"] == stats["cluster_id"]
    values = entry["values"]
    assert values["points_rx"] >= 1 and values["points_tx"] == values["points_rx"]
    assert values["bytes_rx"] > len("cpu,host=server01 usage_idle=3.5")
    assert values["points_parse_fail"] == 1 and values["tx_fail"] == 0
    assert stats["num_subscriptions"] == 1
    assert "failed to parse points" in d.output()

    # The next point still arrives.
    influx.write("telegraf", "cpu,host=server02 usage_idle=1.5")
    wait_until(lambda: "server02" in log_path.read_text(), timeout=10)

    # A restart listens on the same port again: the subscription is kept.
    assert d.stop() == 0
    assert "closed UDP listener for telegraf.autogen" in d.output()
    d = start()
    # (the log file is shared by both runs: ask the new one for its listener)
    wait_until(lambda: [e for e in _udp_stats(d)[1] if e["tags"]["bind"] == f"127.0.0.1:{udp_port}"])
    assert [urlsplit(s[4][0]).port for s in _ours(influx, tmp_path)] == [udp_port]
    influx.write("telegraf", "cpu,host=server03 usage_idle=2.5")
    wait_until(lambda: "server03" in log_path.read_text(), timeout=10)

    # A new database gets its own listener at the next sync; a dropped one loses it.
    influx.query("CREATE DATABASE other")
    subs = wait_until(lambda: [s for s in _ours(influx, tmp_path) if s[0] == "other"])
    other_port = urlsplit(subs[0][4][0]).port
    assert other_port != udp_port
    wait_until(lambda: len(_udp_stats(d)[1]) == 2)
    influx.query("DROP DATABASE other")
    wait_until(lambda: "closed UDP listener for other.autogen" in d.output())
    assert len(_udp_stats(d)[1]) == 1
    assert d.stop() == 0

    # A port taken by someone else meanwhile: the subscription is made anew on another port.
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as squatter:
        squatter.bind(("127.0.0.1", udp_port))
        d = start()
        subs = wait_until(lambda: [s for s in _ours(influx, tmp_path)
                              if urlsplit(s[4][0]).port != udp_port])
        assert len(_ours(influx, tmp_path)) == 1
        new_port = urlsplit(subs[0][4][0]).port
        wait_until(lambda: [e for e in _udp_stats(d)[1]
                       if e["tags"]["bind"] == f"127.0.0.1:{new_port}"])
        assert f"failed to start UDP listener for telegraf.autogen on 127.0.0.1:{udp_port}" \
            in d.output()
        influx.write("telegraf", "cpu,host=server04 usage_idle=0.5")
        wait_until(lambda: "server04" in log_path.read_text(), timeout=10)
    assert d.stop() == 0
