"""
A private ``influxd`` (Debian's ``influxdb`` package, 1.6.x) for tests.

Everything lives under one temporary directory (meta, data, WAL, the
generated config and the log); it listens on free loopback ports, reports
nothing home and keeps its subscriber on, so subscriptions are really
forwarded.  With ``auth=True`` HTTP authentication is on and an admin user
is created first (influxd lets the first admin be created without
credentials).  ``start()`` returns once ``/ping`` answers; ``stop()``
terminates it and waits.

When ``influxd`` is missing it is installed with ``apt-get install -y
influxdb`` (the README's test command does the same): tests that need it
are never skipped.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import shutil
import signal
import subprocess
import time
import urllib.parse
from typing import Optional, Tuple
from tests.support.ports import free_port

INSTALL = ["apt-get", "install", "-y", "influxdb"]


def influxd_binary() -> str:
    """The ``influxd`` path, installing Debian's package when it is missing."""
    found = shutil.which("influxd") or ("/usr/bin/influxd" if os.path.exists("/usr/bin/influxd") else None)
    if found:
        return found
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    result = subprocess.run(INSTALL, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        subprocess.run(["apt-get", "update"], env=env, capture_output=True)
        subprocess.run(INSTALL, env=env, check=True, capture_output=True)
    found = shutil.which("influxd") or "/usr/bin/influxd"
    if not os.path.exists(found):
        raise RuntimeError("influxd is not installed and `apt-get install -y influxdb` did not install it")
    return found


CONFIG = """\
reporting-disabled = true
bind-address = "127.0.0.1:{rpc_port}"

[meta]
  dir = "{dir}/meta"
  logging-enabled = false

[data]
  dir = "{dir}/data"
  wal-dir = "{dir}/wal"
  query-log-enabled = false
  trace-logging-enabled = false

[coordinator]
  log-queries-after = "0s"

[http]
  enabled = true
  bind-address = "127.0.0.1:{port}"
  auth-enabled = {auth}
  log-enabled = true
  write-tracing = false
  pprof-enabled = false

[monitor]
  store-enabled = false

[subscriber]
  enabled = true
  http-timeout = "5s"
  insecure-skip-verify = true

[continuous_queries]
  enabled = false

[retention]
  enabled = false

[logging]
  level = "info"
"""


class InfluxD:
    """One ``influxd -config <generated>`` child process."""

    def __init__(self, workdir, auth: bool = False,
                 admin: Tuple[str, str] = ("admin", "influx-admin-pw")):
        self.dir = os.path.join(str(workdir), "influxd")
        self.auth = auth
        self.admin = admin
        self.port = free_port()
        self.rpc_port = free_port()
        self.proc: Optional[subprocess.Popen] = None
        self.log_path = os.path.join(self.dir, "influxd.log")
        self._log = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # ------------------------------------------------------------ life

    def start(self, timeout: float = 30.0) -> "InfluxD":
        binary = influxd_binary()
        os.makedirs(self.dir, exist_ok=True)
        conf = os.path.join(self.dir, "influxdb.conf")
        with open(conf, "w") as f:
            f.write(CONFIG.format(dir=self.dir, port=self.port, rpc_port=self.rpc_port,
                                  auth=str(self.auth).lower()))
        self._log = open(self.log_path, "ab")
        env = {k: v for k, v in os.environ.items() if not k.startswith("INFLUXDB_")}
        self.proc = subprocess.Popen([binary, "-config", conf], stdout=self._log,
                                     stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"influxd exited {self.proc.returncode}:\n{self.output()[-3000:]}")
            try:
                status, _body = self.request("GET", "/ping", auth=False, timeout=1)
                if status == 204:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"influxd did not answer /ping in {timeout}s")
            time.sleep(0.05)
        if self.auth:
            name, password = self.admin
            status, body = self.request(
                "POST", "/query",
                form={"q": f"CREATE USER \"{name}\" WITH PASSWORD '{password}' WITH ALL PRIVILEGES"},
                auth=False)
            if status != 200:
                raise RuntimeError(f"cannot create the influxd admin: {status} {body!r}")
        return self

    def stop(self, timeout: float = 30.0) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> "InfluxD":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def output(self) -> str:
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    # ------------------------------------------------------------ HTTP

    def request(self, method: str, path: str, params=None, form=None, body: bytes = None,
                auth=True, timeout: float = 10.0):
        """(status, body bytes); ``auth``: True = the admin, a (user, password) pair, or False."""
        if params:
            path = path + "?" + urllib.parse.urlencode(params)
        headers = {}
        if form is not None:
            body = urllib.parse.urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if auth and (self.auth or auth is not True):
            user, password = self.admin if auth is True else auth
            token = base64.b64encode(f"{user}:{password}".encode()).decode()
            headers["Authorization"] = f"Basic {token}"
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            return resp.status, resp.read()
        finally:
            conn.close()

    def query(self, q: str, db: Optional[str] = None, auth=True, epoch: Optional[str] = None) -> dict:
        """Run InfluxQL; raise on an HTTP or statement error."""
        form = {"q": q}
        if db:
            form["db"] = db
        if epoch:
            form["epoch"] = epoch
        status, body = self.request("POST", "/query", form=form, auth=auth)
        data = json.loads(body or b"{}")
        if status != 200:
            raise RuntimeError(f"influxd {status}: {body!r}")
        for result in data.get("results", []):
            if "error" in result:
                raise RuntimeError(f"influxd: {result['error']}")
        return data

    def write(self, db: str, lines, rp: Optional[str] = None, precision: Optional[str] = None,
              auth=True) -> None:
        if isinstance(lines, str):
            lines = lines.encode()
        params = {"db": db}
        if rp:
            params["rp"] = rp
        if precision:
            params["precision"] = precision
        status, body = self.request("POST", "/write", params=params, body=lines, auth=auth)
        if status != 204:
            raise RuntimeError(f"influxd write {status}: {body!r}")

    def series(self, q: str, db: str) -> list:
        """The ``series`` of the first result of ``q`` (``[]`` when none)."""
        results = self.query(q, db=db).get("results", [{}])
        return results[0].get("series", []) if results else []

    def subscriptions(self) -> list:
        """``(db, rp, name, mode, destinations)`` of every subscription."""
        out = []
        for s in self.query("SHOW SUBSCRIPTIONS")["results"][0].get("series", []):
            cols = s["columns"]
            for row in s.get("values", []):
                r = dict(zip(cols, row))
                out.append((s["name"], r["retention_policy"], r["name"], r["mode"],
                            tuple(r["destinations"])))
        return sorted(out)
