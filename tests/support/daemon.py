"""
Start the real ``kapacitord`` process on a free loopback port, for
end-to-end tests (restart, SIGTERM, ``kill -9``).
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from typing import Dict, List, Optional
from tests.support.ports import free_port  # noqa: F401  (the tests take it from here)


def write_config(path, data_dir, port: int, extra: str = "", auth: bool = True,
                 http_auth: bool = False, cost: int = 4, log_level: str = "INFO") -> str:
    text = f"""\
data_dir = "{data_dir}"

[http]
  bind-address = "127.0.0.1:{port}"
  auth-enabled = {str(http_auth).lower()}
  log-enabled = true

[auth]
  enabled = {str(auth).lower()}
  bcrypt-cost = {cost}
  cache-expiration = "1h"
  meta-addr = ""

[logging]
  level = "{log_level}"
{extra}
"""
    with open(path, "w") as f:
        f.write(text)
    return str(path)


KAPACITORD = [sys.executable, "-m", "kapacitord_tw.cli.kapacitord"]


class Daemon:
    """A ``kapacitord -config FILE`` child process.

    ``config_path=None`` starts it without ``-config`` (then pass
    ``log_path``); ``argv`` replaces the whole command line (e.g. to run
    ``twistd -n kapacitord``); ``cwd`` is the child's working directory.
    """

    def __init__(self, config_path: Optional[str], port: int,
                 env: Optional[Dict[str, str]] = None,
                 pidfile: Optional[str] = None, args=(),
                 argv: Optional[List[str]] = None, log_path: Optional[str] = None,
                 cwd: Optional[str] = None):
        self.config_path = config_path
        self.port = port
        self.env = dict(os.environ)
        self.env.pop("KAPACITOR_CONFIG_PATH", None)
        self.env.update(env or {})
        self.pidfile = pidfile
        self.args = list(args)
        self.argv = list(argv) if argv is not None else None
        self.cwd = cwd
        self.proc: Optional[subprocess.Popen] = None
        self.log_path = log_path or str(config_path) + ".log"

    def command(self) -> List[str]:
        if self.argv is not None:
            return list(self.argv)
        cmd = list(KAPACITORD)
        if self.config_path is not None:
            cmd += ["-config", str(self.config_path)]
        if self.pidfile:
            cmd += ["-pidfile", self.pidfile]
        return cmd + self.args

    def start(self, timeout: float = 15.0) -> "Daemon":
        if getattr(self, "proc", None) is not None and self.proc.poll() is None:
            return self  # already running (``with Daemon(...).start() as d``)
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.command(), env=self.env, cwd=self.cwd,
                                     stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"kapacitord exited {self.proc.returncode}:\n{self.output()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"kapacitord did not listen in {timeout}s:\n{self.output()}")

    def output(self) -> str:
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def request(self, method: str, path: str, body=None, auth=None, headers=None, timeout=10.0):
        """(status, headers, body bytes) over a fresh connection."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        hdrs = dict(headers or {})
        if auth is not None:
            token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
            hdrs["Authorization"] = f"Basic {token}"
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
        conn.request(method, path, body=body, headers=hdrs)
        resp = conn.getresponse()
        data = resp.read()
        conn.close()
        return resp.status, resp.headers, data

    def stop(self, timeout: float = 15.0) -> int:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        finally:
            self._log.close()

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        if hasattr(self, "_log"):
            self._log.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.kill()


def run_kapacitord(args, env: Optional[Dict[str, str]] = None, home=None,
                   timeout: float = 30.0) -> subprocess.CompletedProcess:
    """Run ``kapacitord ARGS`` to completion with a clean ``KAPACITOR_*``
    environment (``HOME`` set to ``home`` when given); text output."""
    child_env = {k: v for k, v in os.environ.items() if not k.startswith("KAPACITOR_")}
    if home is not None:
        child_env["HOME"] = str(home)
    child_env.update(env or {})
    return subprocess.run(KAPACITORD + [str(a) for a in args], env=child_env,
                          capture_output=True, text=True, timeout=timeout)
