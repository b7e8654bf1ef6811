"""
The log of the real ``kapacitord`` process (issue #10 items 4c, 10): SIGHUP
reopens the log file for logrotate, 7 KB user names cost the log a few
hundred bytes per request, and a silenced log still carries the audit lines.
"""

from __future__ import annotations

import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor

from tests.http.harness import V1
from tests.ops.test_daemon_e2e import ADMIN, seed_admin
from tests.support.daemon import Daemon, free_port, write_config


def wait_for(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def text(path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return ""


def daemon_logging_to(tmp_path, log_file, http_auth=False) -> Daemon:
    data = tmp_path / "data"
    if http_auth:
        seed_admin(tmp_path, data)
    port = free_port()
    config = write_config(tmp_path / "kapacitor.conf", data, port, http_auth=http_auth)
    return Daemon(config, port, args=["-log-file", str(log_file)])


def test_sighup_reopens_the_log_file_after_logrotate_renamed_it(tmp_path):
    log_file = tmp_path / "kapacitor.log"
    rotated = tmp_path / "kapacitor.log.1"
    with daemon_logging_to(tmp_path, log_file) as daemon:
        assert daemon.request("GET", V1 + "/ping?marker=before")[0] == 204
        wait_for(lambda: "marker=before" in text(log_file))
        os.rename(log_file, rotated)
        assert daemon.request("GET", V1 + "/ping?marker=renamed")[0] == 204
        wait_for(lambda: "marker=renamed" in text(rotated))

        daemon.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: log_file.exists())
        assert daemon.request("GET", V1 + "/ping?marker=after")[0] == 204
        wait_for(lambda: "marker=after" in text(log_file))
        assert daemon.proc.poll() is None, "SIGHUP must not stop the daemon"
        assert daemon.stop() == 0
    new = text(log_file)
    assert "log file reopened" in new.splitlines()[0]
    assert "marker=before" not in new and "marker=renamed" not in new
    assert "marker=after" not in text(rotated)
    assert "Server shutdown completed" in new
    assert (log_file.stat().st_mode & 0o777) & ~0o640 == 0


def test_seven_kilobyte_user_names_cost_the_log_a_few_hundred_bytes(tmp_path):
    """The issue's attack: 8 connections sending a 7 KB ``u=``."""
    log_file = tmp_path / "kapacitor.log"
    name = "a" * 7 * 1024
    requests_per_client = 25
    with daemon_logging_to(tmp_path, log_file, http_auth=True) as daemon:
        assert daemon.request("GET", V1 + "/ping?marker=start", auth=ADMIN)[0] == 204
        wait_for(lambda: "marker=start" in text(log_file))
        before = log_file.stat().st_size

        def client(_):
            return [daemon.request("GET", V1 + "/ping?u=" + name)[0]
                    for _ in range(requests_per_client)]

        with ThreadPoolExecutor(8) as pool:
            codes = [c for batch in pool.map(client, range(8)) for c in batch]
        assert set(codes) == {401}
        assert daemon.request("GET", V1 + "/ping?marker=end", auth=ADMIN)[0] == 204
        wait_for(lambda: "marker=end" in text(log_file))
        grown = log_file.stat().st_size - before
        assert daemon.stop() == 0
    per_request = grown / len(codes)
    # Unbounded, each line carried the name twice (uri and username): 14 KB.
    assert per_request < 1500, per_request


def test_after_loglevel_error_the_audit_lines_are_still_written(tmp_path):
    log_file = tmp_path / "kapacitor.log"
    with daemon_logging_to(tmp_path, log_file, http_auth=True) as daemon:
        status, _, body = daemon.request(
            "POST", V1 + "/users", {"name": "ops", "password": "ops-pw", "permissions": ["api"]},
            auth=ADMIN)
        assert status == 200, body
        assert daemon.request("POST", V1 + "/loglevel", {"level": "ERROR"},
                              auth=("ops", "ops-pw"))[0] == 204
        assert daemon.request("GET", V1 + "/ping", auth=("admin", "guess"))[0] == 401
        assert daemon.request("DELETE", V1 + "/users/ops", auth=ADMIN)[0] == 204
        wait_for(lambda: 'msg="user deleted"' in text(log_file))
        assert daemon.stop() == 0
    lines = text(log_file).splitlines()
    audit = [line for line in lines if "service=audit" in line]
    assert any('msg="log level set to ERROR"' in line and "by=ops" in line for line in audit)
    assert any('msg="authentication failed"' in line and "user=admin" in line
               for line in audit)
    assert any('msg="user deleted"' in line and "user=ops" in line and "by=admin" in line
               for line in audit)
    # Everything after the change that is not audit is at level error.
    after = lines[next(i for i, line in enumerate(lines) if "set to ERROR" in line) + 1:]
    assert all("service=audit" in line or "lvl=error" in line for line in after)
