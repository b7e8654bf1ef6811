"""Write-path helpers for the engine and ingest benchmarks: bodies, wrk
POST scripts, tasks defined through the API, and a private ``influxd``."""

from __future__ import annotations

import gzip
import http.client
import json
import os
import re
import shutil
import subprocess
import time

from tests.support.daemon import free_port

#: The docs' cpu alert as the issue states it: from|where|window(10s)|mean|alert.
CPU_ALERT = """\
stream
    |from()
        .measurement('{measurement}')
        .groupBy('host', 'cpu')
    |where(lambda: "usage_idle" >= 0.0)
    |window()
        .period(10s)
        .every(10s)
    |mean('usage_idle')
    |alert()
        .crit(lambda: "mean" < 10.0)
        .log('{log}')
"""


def cpu_body(lines: int = 5000, measurements: int = 1, prefix: str = "cpu") -> bytes:
    """``lines`` 3-field cpu points, all distinct series, no timestamps (the
    server's clock, so windows close every 10 s as in production); with
    ``measurements`` > 1 the lines are spread evenly over ``m000``... names."""
    out = []
    for i in range(lines):
        name = prefix if measurements == 1 else f"m{i % measurements:03d}"
        host, cpu = divmod(i, 5)
        cpu_tag = "cpu-total" if cpu == 4 else f"cpu{cpu}"
        idle = 50 + (i * 7919) % 4900 / 100
        out.append(
            f"{name},host=server{host:04d},cpu={cpu_tag} "
            f"usage_user={(i % 97) / 3:.3f},usage_system={(i % 89) / 7:.3f},usage_idle={idle:.2f}"
        )
    return ("\n".join(out) + "\n").encode()


def wrk_script(directory: str, name: str, body: bytes, headers: dict) -> str:
    """A wrk lua script that POSTs ``body`` (read from a file) with ``headers``."""
    body_path = os.path.join(directory, name + ".body")
    with open(body_path, "wb") as f:
        f.write(body)
    lines = [f'local f = assert(io.open("{body_path}", "rb"))',
             "wrk.body = f:read(\"*a\")", "f:close()", 'wrk.method = "POST"']
    for key, value in headers.items():
        lines.append(f'wrk.headers["{key}"] = "{value}"')
    path = os.path.join(directory, name + ".lua")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def wrk_post(url: str, script: str, seconds: float, connections: int = 4,
             latency: bool = False) -> dict:
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "-s", script, "--timeout", "30s"]
    if latency:
        cmd.append("--latency")
    cmd.append(url)
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    bad = int(non2xx.group(1)) if non2xx else 0
    if bad:
        raise RuntimeError(f"non-2xx answers during the benchmark:\n{out}")
    return {"requests": requests, "raw": out}


class Client:
    """Small JSON calls to a daemon."""

    def __init__(self, port: int, auth_header: str | None, timeout: float = 60):
        self.port = port
        self.auth = auth_header
        self.timeout = timeout

    def call(self, method: str, path: str, body=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        headers = {"Authorization": self.auth} if self.auth else {}
        if body is not None and not isinstance(body, bytes):
            body = json.dumps(body)
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        conn.close()
        if resp.status >= 300:
            raise RuntimeError(f"{method} {path}: {resp.status} {data[:300]!r}")
        return json.loads(data) if data else None

    def define_task(self, task_id: str, script: str, db: str = "telegraf") -> None:
        self.call("POST", "/kapacitor/v1/tasks", {
            "id": task_id, "type": "stream", "dbrps": [{"db": db, "rp": "autogen"}],
            "script": script, "status": "enabled"})

    def collected(self, task_id: str) -> int:
        task = self.call("GET", f"/kapacitor/v1/tasks/{task_id}")
        return task["stats"]["node-stats"]["stream0"]["collected"]

    def collected_sum(self, task_ids) -> int:
        """``collected`` of the tasks' stream0, summed, in one request (one
        ``GET /tasks/<id>`` per task made polling 100 tasks slower than the
        engine it measures)."""
        if len(task_ids) == 1:
            return self.collected(task_ids[0])
        wanted = set(task_ids)
        listed = self.call("GET", "/kapacitor/v1/tasks?fields=stats&limit=10000")["tasks"]
        return sum(t["stats"]["node-stats"]["stream0"]["collected"]
                   for t in listed if t["id"] in wanted)

    def accepted(self) -> int:
        """``points_written_ok`` from ``/debug/vars`` (points /write accepted)."""
        found = []

        def walk(node):
            if isinstance(node, dict):
                if "points_written_ok" in node:
                    found.append(node["points_written_ok"])
                for value in node.values():
                    walk(value)

        walk(self.call("GET", "/kapacitor/v1/debug/vars"))
        return int(found[0]) if found else 0

    def settle(self, task_ids, accepted0: int, collected0: int, timeout: float = 120):
        """Wait until every accepted point is counted by the tasks' stream0;
        (points accepted since ``accepted0``, seconds until the last change)."""
        start = time.perf_counter()
        last = (None, None)
        last_change = start
        pause = 0.01
        while True:
            accepted = self.accepted() - accepted0
            asked = time.perf_counter()
            collected = self.collected_sum(task_ids) - collected0 if task_ids else accepted
            now = time.perf_counter()
            # Listing 100 tasks with their stats costs the daemon ~20 ms:
            # polled every 10 ms it would spend most of the drain answering
            # us.  Wait three times what the last answer took (<= 25 %).
            pause = max(0.01, 3 * (now - asked))
            if (accepted, collected) != last:
                last, last_change = (accepted, collected), now
            elif collected == accepted and now - last_change >= 0.05:
                return accepted, last_change - start
            if collected > accepted:
                raise RuntimeError(f"tasks collected {collected} points, only {accepted} accepted")
            if now - start > timeout:
                raise RuntimeError(f"engine did not drain: {collected} of {accepted} points")
            time.sleep(pause)


def rss_kib(pid: int, key: str = "VmRSS") -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


class InfluxD:
    """A private ``influxd`` (Debian's influxdb 1.x) on free loopback ports."""

    def __init__(self, workdir: str):
        self.dir = os.path.join(workdir, "influxd")
        self.port = free_port()
        self.rpc_port = free_port()
        self.proc = None

    def __enter__(self):
        binary = shutil.which("influxd") or "/usr/bin/influxd"
        if not os.path.exists(binary):
            subprocess.run(["apt-get", "install", "-y", "influxdb"], check=True,
                           stdout=subprocess.DEVNULL)
        os.makedirs(self.dir, exist_ok=True)
        conf = os.path.join(self.dir, "influxdb.conf")
        with open(conf, "w") as f:
            f.write(f"""\
reporting-disabled = true
bind-address = "127.0.0.1:{self.rpc_port}"
[meta]
  dir = "{self.dir}/meta"
[data]
  dir = "{self.dir}/data"
  wal-dir = "{self.dir}/wal"
  query-log-enabled = false
  trace-logging-enabled = false
[http]
  enabled = true
  bind-address = "127.0.0.1:{self.port}"
  log-enabled = false
  auth-enabled = false
[monitor]
  store-enabled = false
[subscriber]
  enabled = false
[continuous_queries]
  enabled = false
[logging]
  level = "error"
""")
        self._log = open(os.path.join(self.dir, "influxd.log"), "wb")
        self.proc = subprocess.Popen([binary, "-config", conf], stdout=self._log,
                                     stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while True:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("POST", "/query?q=CREATE+DATABASE+telegraf")
                if conn.getresponse().status == 200:
                    return self
            except OSError:
                pass
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError("influxd did not start")
            time.sleep(0.1)

    def __exit__(self, *exc):
        self.proc.terminate()
        self.proc.wait(30)
        self._log.close()


def gzipped(body: bytes) -> bytes:
    return gzip.compress(body, compresslevel=6)
