"""The engine and ingest figures of issues 11 and 14 (see ``__main__``).

Throughput is points *processed*: after each wrk burst the benchmark waits
until the tasks' ``stream0`` counts every accepted point (the queue is
drained), and divides by burst plus drain time.  ``/write`` itself waits
when the engine lags (back-pressure), so the drain is short.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time

from benchmarks.writes import (CPU_ALERT, Client, InfluxD, cpu_body, gzipped, rss_kib,
                               wrk_post, wrk_script)

HERE = os.path.dirname(os.path.abspath(__file__))
LINES = 5000


def _figure(*args):
    from benchmarks.__main__ import figure

    return figure(*args)


def _admin_header():
    from benchmarks.__main__ import ADMIN, basic

    return basic(*ADMIN)


def _seconds(raw: str) -> float:
    m = re.search(r"requests in ([\d.]+)(ms|s|m)", raw)
    value, unit = float(m.group(1)), m.group(2)
    return value / 1000 if unit == "ms" else value * 60 if unit == "m" else value


class Target:
    """One write endpoint driven by wrk; ``tasks`` are the task ids whose
    stream0 must count every point before the burst is over."""

    def __init__(self, name, url, script, lines, client=None, tasks=()):
        self.name, self.url, self.script, self.lines = name, url, script, lines
        self.client, self.tasks = client, list(tasks)
        self.points = 0.0
        self.seconds = 0.0
        self.drained = 0.0

    def burst(self, seconds: float, connections: int = 4) -> None:
        if self.client is None:  # influxd: what wrk saw completed
            result = wrk_post(self.url, self.script, seconds, connections)
            self.points += result["requests"] * self.lines
            self.seconds += _seconds(result["raw"])
            return
        accepted0 = self.client.accepted()
        collected0 = self.client.collected_sum(self.tasks)
        result = wrk_post(self.url, self.script, seconds, connections)
        points, drain = self.client.settle(self.tasks, accepted0, collected0)
        self.points += points
        self.seconds += _seconds(result["raw"]) + drain
        self.drained = max(self.drained, drain)

    @property
    def rate(self) -> float:
        return self.points / self.seconds if self.seconds else 0.0


def alternate(targets, seconds: float, rounds: int = 4, connections: int = 4) -> None:
    for t in targets:  # warm-up
        t.burst(1, connections)
        t.points = t.seconds = 0.0
    for _ in range(rounds):
        for t in targets:
            t.burst(seconds, connections)


def _daemon_target(run, d, name, body, tasks=(), lines=LINES, extra_headers=None):
    auth = _admin_header()
    headers = {"Authorization": auth, "Content-Type": "text/plain"}
    headers.update(extra_headers or {})
    script = wrk_script(run.workdir, name, body, headers)
    client = Client(d.port, auth)
    url = f"http://127.0.0.1:{d.port}/kapacitor/v1/write?db=telegraf&rp=autogen"
    return Target(name, url, script, lines, client, tasks)


def _cpu_task(run, client, task_id="cpu_alert", measurement="cpu"):
    log = os.path.join(run.workdir, task_id + ".alerts.log")
    client.define_task(task_id, CPU_ALERT.format(measurement=measurement, log=log))


#: A task that takes every cpu point and does nothing with it: the write path
#: building and routing rows, without the cpu-alert task's nodes.
PASS_THROUGH = "stream\n    |from()\n        .measurement('cpu')\n"


def bench_engine_efficiency(run) -> list:
    body = cpu_body(LINES)
    with run.daemon("eng-off", http_auth=True) as off, \
            run.daemon("eng-on", http_auth=True) as on, \
            run.daemon("eng-pass", http_auth=True) as passing:
        _cpu_task(run, Client(on.port, _admin_header()))
        Client(passing.port, _admin_header()).define_task("pass", PASS_THROUGH)
        t_off = _daemon_target(run, off, "eff-off", body)
        t_on = _daemon_target(run, on, "eff-on", body, tasks=["cpu_alert"])
        t_pass = _daemon_target(run, passing, "eff-pass", body, tasks=["pass"])
        alternate([t_off, t_on, t_pass], max(1, run.seconds // 2))
    ratio = t_on.rate / t_off.rate
    print(f"  engine_efficiency[vs a pass-through task, stream|from().measurement('cpu')] = "
          f"{t_on.rate / t_pass.rate:.3f}  ({t_on.rate:.0f} vs {t_pass.rate:.0f} points/s "
          "processed: the cost of where|window|mean|alert alone)", flush=True)
    return [_figure("engine_efficiency", ratio, ">= 0.60", ratio >= 0.60,
                    f"({t_on.rate:.0f} points/s processed by the cpu-alert task vs "
                    f"{t_off.rate:.0f} points/s accepted with no task; 5,000-line bodies)")]


def bench_task_fanout(run) -> list:
    with run.daemon("fan-1", http_auth=True) as one, run.daemon("fan-100", http_auth=True) as many:
        _cpu_task(run, Client(one.port, _admin_header()), "m000", "m000")
        client = Client(many.port, _admin_header())
        ids = [f"m{i:03d}" for i in range(100)]
        for task_id in ids:
            _cpu_task(run, client, task_id, task_id)
        t_one = _daemon_target(run, one, "fan-1", cpu_body(LINES, prefix="m000"), tasks=["m000"])
        t_many = _daemon_target(run, many, "fan-100", cpu_body(LINES, measurements=100), tasks=ids)
        # Whole-length bursts: the drain at the end of each (and the stats
        # listing of 100 tasks that detects it) is a smaller part of it.
        alternate([t_one, t_many], run.seconds)
    ratio = t_many.rate / t_one.rate
    return [_figure("task_fanout", ratio, ">= 0.80", ratio >= 0.80,
                    f"({t_many.rate:.0f} points/s over 100 tasks on 100 measurements vs "
                    f"{t_one.rate:.0f} points/s for 1 task)")]


def bench_engine_storm(run) -> list:
    from benchmarks.__main__ import wrk

    with run.daemon("eng-storm", http_auth=True) as d:
        client = Client(d.port, _admin_header())
        _cpu_task(run, client)
        ping = f"http://127.0.0.1:{d.port}/kapacitor/v1/ping"
        good = "Authorization: " + _admin_header()
        wrk(ping, 1, 4, good)
        calm = wrk(ping, run.seconds, 4, good, latency=True)
        writer = _daemon_target(run, d, "storm-writes", cpu_body(LINES), tasks=["cpu_alert"])
        storm = subprocess.Popen(
            ["wrk", "-t1", "-c4", f"-d{run.seconds + 2}s", "-s", writer.script, "--timeout", "30s",
             writer.url], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            time.sleep(1)
            stormy = wrk(ping, run.seconds, 4, good, latency=True)
        finally:
            out, _ = storm.communicate(timeout=run.seconds + 60)
        written = int(re.search(r"(\d+) requests in", out).group(1)) * LINES
    timeouts = re.search(r"timeout (\d+)", stormy["raw"])
    timeouts = int(timeouts.group(1)) if timeouts else 0
    if timeouts or stormy["p99_ms"] <= 0:
        # wrk leaves timed-out pings out of its percentiles: no figure then.
        stormy["p99_ms"] = float("inf")
    ratio = stormy["p99_ms"] / calm["p99_ms"]
    return [_figure("engine_storm_p99", ratio, "<= 3", ratio <= 3,
                    f"({timeouts} pings timed out (2 s); ping p99 {stormy['p99_ms']:.2f} ms while 4 writers saturate the engine "
                    f"[{written / (run.seconds + 2):.0f} points/s] vs {calm['p99_ms']:.2f} ms idle)")]


def _memory_case(case: str) -> dict:
    out = subprocess.run([sys.executable, os.path.join(HERE, "window_memory.py"), case],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def bench_window_memory(run) -> list:
    g = _memory_case("groups")
    p = _memory_case("points")
    return [
        _figure("group_memory", g["per_group"], "<= 4096 B", g["per_group"] <= 4096,
                f"(bytes of RSS per group, window(1m)|mean over {g['groups']:,} groups; "
                "measured in-process: RSS delta, router fed parsed line protocol)"),
        _figure("window_point_memory", p["per_point"], "<= 500 B", p["per_point"] <= 500,
                f"(bytes of RSS per buffered point, window(30m).every(1m)|mean, {p['groups']:,} "
                f"groups x 30 simulated minutes, {p['points_held']:,} points held; in-process RSS delta)"),
    ]


def bench_ingest_vs_influxdb(run) -> list:
    body = cpu_body(LINES)
    small = cpu_body(100)
    results = []
    with InfluxD(run.workdir) as influx, run.daemon("ingest", http_auth=True) as d:
        _cpu_task(run, Client(d.port, _admin_header()))
        influx_url = f"http://127.0.0.1:{influx.port}/write?db=telegraf"
        plain = {"Content-Type": "text/plain"}
        gz = dict(plain, **{"Content-Encoding": "gzip"})
        pairs = [
            ("5,000-line bodies", body, {}, LINES),
            ("gzip 5,000-line bodies", gzipped(body), {"Content-Encoding": "gzip"}, LINES),
            ("100-line bodies", small, {}, 100),
        ]
        figures = []
        for label, data, extra, lines in pairs:
            slug = re.sub(r"\W+", "-", label)
            ours = _daemon_target(run, d, "ours-" + slug, data, tasks=["cpu_alert"], lines=lines,
                                  extra_headers=extra)
            theirs = Target("influx-" + slug, influx_url,
                            wrk_script(run.workdir, "influx-" + slug, data, gz if extra else plain),
                            lines)
            alternate([theirs, ours], max(1, run.seconds // 2), rounds=3)
            figures.append((label, ours.rate, theirs.rate))
        label, ours_rate, influx_rate = figures[0]
        ratio = ours_rate / influx_rate
        results.append(_figure("ingest_vs_influxdb", ratio, ">= 0.60", ratio >= 0.60,
                               f"({ours_rate:.0f} points/s through authenticated /write with the "
                               f"cpu-alert task vs influxd {influx_rate:.0f} points/s; {label})"))
        for label, ours_rate, influx_rate in figures[1:]:
            print(f"  ingest_vs_influxdb[{label}] = {ours_rate / influx_rate:.3f}  "
                  f"({ours_rate:.0f} vs {influx_rate:.0f} points/s)", flush=True)
    return results


def bench_write_memory(run) -> list:
    """Peak RSS (VmHWM) after a 25 MiB body and 100 concurrent 1 MiB writers,
    auth on and the cpu-alert task enabled."""
    with run.daemon("write-memory", http_auth=True) as d:
        _cpu_task(run, Client(d.port, _admin_header()))
        return _write_memory(d)


def _write_memory(d) -> list:
    import threading

    client = Client(d.port, _admin_header())
    start = rss_kib(d.proc.pid)
    line = b"cpu,host=server0001,cpu=cpu-total usage_user=1.5,usage_system=2.5,usage_idle=96.0\n"
    big = line * ((25 * 1024 * 1024 - 1024) // len(line))
    client.call("POST", "/kapacitor/v1/write?db=telegraf&rp=autogen", big)
    after_big = rss_kib(d.proc.pid, "VmHWM")
    mib = line * ((1024 * 1024) // len(line))
    errors = []

    def writer():
        try:
            Client(d.port, _admin_header(), timeout=900).call(
                "POST", "/kapacitor/v1/write?db=telegraf&rp=autogen", mib)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=writer) for _ in range(100)]
    began = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    took = time.perf_counter() - began
    peak = rss_kib(d.proc.pid, "VmHWM")
    settled = rss_kib(d.proc.pid)
    print(f"  write_memory: RSS {start / 1024:.0f} MiB at start, peak {after_big / 1024:.0f} MiB "
          f"after one 25 MiB body, peak {peak / 1024:.0f} MiB after 100 concurrent 1 MiB writers "
          f"(all answered in {took:.0f} s; {len(errors)} failed{': ' + str(errors[0])[:200] if errors else ''}), "
          f"{settled / 1024:.0f} MiB after", flush=True)
    return [not errors]
