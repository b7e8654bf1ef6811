"""
The real ``kapacitord`` process: ping over TCP, the pid file, SIGTERM,
``[logging]`` and the access log, config precedence as a user sees it.
"""

import http.client
import json
import os
import re
import signal
import socket
import time

import pytest

from kapacitord_tw import __version__
from tests.support.daemon import Daemon, free_port, run_kapacitord, write_config

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@pytest.fixture
def setup(tmp_path):
    """Write a config for a free port; returns (config path, port)."""

    def make(extra="", **kw):
        port = free_port()
        path = write_config(tmp_path / "kapacitor.conf", tmp_path / "data", port, extra=extra, **kw)
        return path, port

    return make


def read(path) -> str:
    with open(path, encoding="utf-8") as f:
        return f.read()


def test_ping_get_and_head_answer_204_with_kapacitor_headers(setup):
    path, port = setup(auth=False)
    with Daemon(path, port) as daemon:
        ids = set()
        for method in ("GET", "HEAD"):
            status, headers, body = daemon.request(method, "/kapacitor/v1/ping")
            assert status == 204
            assert body == b""
            assert headers["X-Kapacitor-Version"] == __version__
            assert headers["Content-Type"] == "application/json; charset=utf-8"
            assert UUID.match(headers["Request-Id"])
            ids.add(headers["Request-Id"])
        assert len(ids) == 2


def test_pidfile_holds_the_child_pid_and_sigterm_exits_0_and_removes_it(setup, tmp_path):
    path, port = setup(auth=False)
    pidfile = tmp_path / "run" / "sub" / "kapacitord.pid"
    daemon = Daemon(path, port, pidfile=str(pidfile)).start()
    try:
        assert int(read(pidfile).strip()) == daemon.proc.pid
        assert daemon.stop() == 0
        assert not pidfile.exists()
        assert "Server shutdown completed" in daemon.output()
    finally:
        daemon.kill()


def test_idle_keep_alive_connection_does_not_hold_up_shutdown(setup):
    path, port = setup(auth=False)
    with Daemon(path, port) as daemon:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", "/kapacitor/v1/ping")
        assert conn.getresponse().status == 204  # connection stays open (HTTP/1.1)
        started = time.monotonic()
        assert daemon.stop(timeout=8) == 0
        assert time.monotonic() - started < 5
        conn.close()


def test_request_in_flight_during_sigterm_still_completes(setup):
    path, port = setup(auth=True, cost=4)
    body = json.dumps({"name": "bob", "password": "pw", "type": "normal"}).encode()
    daemon = Daemon(path, port).start()
    try:
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        sock.sendall(
            b"POST /kapacitor/v1/users HTTP/1.1\r\nHost: k\r\n"
            b"Content-Length: %d\r\n\r\n" % len(body) + body[:10]
        )
        time.sleep(0.3)
        daemon.proc.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        assert daemon.proc.poll() is None, "exited with a request in flight"
        sock.sendall(body[10:])
        response = http.client.HTTPResponse(sock)
        response.begin()
        assert response.status == 200
        assert json.loads(response.read())["name"] == "bob"
        sock.close()
        assert daemon.proc.wait(10) == 0
    finally:
        daemon.kill()
    with Daemon(path, port) as again:
        status, _h, _b = again.request("GET", "/kapacitor/v1/users/bob")
        assert status == 200


def test_logging_file_receives_the_log_with_mode_0640(setup, tmp_path):
    log_file = tmp_path / "logs" / "nested" / "kapacitor.log"
    path, port = setup(auth=False, extra=f'  file = "{log_file}"\n')
    with Daemon(path, port) as daemon:
        assert daemon.request("GET", "/kapacitor/v1/ping")[0] == 204
        assert daemon.stop() == 0
        assert "Listening on HTTP" not in daemon.output()
    text = read(log_file)
    assert f'msg="Using configuration at: {path}"' in text
    assert "Listening on HTTP" in text
    assert 'msg="http request"' in text
    assert (log_file.stat().st_mode & 0o777) == 0o640 & ~current_umask()


def test_level_error_suppresses_info_and_warning_lines(tmp_path):
    log_file = tmp_path / "kapacitor.log"
    port = free_port()
    # [http] auth-enabled without [auth] and without a shared secret logs an
    # error at start-up, next to a warning and info lines.
    path = tmp_path / "kapacitor.conf"
    path.write_text(f"""\
data_dir = "{tmp_path / 'data'}"
[http]
  bind-address = "127.0.0.1:{port}"
  auth-enabled = true
[logging]
  file = "{log_file}"
  level = "ERROR"
""")
    with Daemon(str(path), port) as daemon:
        daemon.request("GET", "/kapacitor/v1/ping")
        assert daemon.stop() == 0
    lines = read(log_file).splitlines()
    assert any("lvl=error" in line and "nobody can log in" in line for line in lines)
    assert [line for line in lines if "lvl=error" not in line] == []


def test_log_file_and_level_flags_override_the_config(setup, tmp_path):
    config_log = tmp_path / "from-config.log"
    flag_log = tmp_path / "from-flag.log"
    path, port = setup(auth=False, extra=f'  file = "{config_log}"\n')
    daemon = Daemon(path, port, args=["-log-file", str(flag_log), "-log-level", "error"])
    with daemon:
        daemon.request("GET", "/kapacitor/v1/ping")
        assert daemon.stop() == 0
    assert not config_log.exists()
    assert flag_log.exists()
    assert "lvl=info" not in read(flag_log)


def test_access_log_redacts_the_password_query_value(setup):
    path, port = setup(auth=False)
    with Daemon(path, port) as daemon:
        status, _h, _b = daemon.request("GET", "/kapacitor/v1/ping?u=x&p=secret")
        assert status == 204
        assert daemon.stop() == 0
        log = daemon.output()
    access = [line for line in log.splitlines() if 'msg="http request"' in line]
    assert len(access) == 1
    assert "p=[REDACTED]" in access[0]
    assert "username=x" in access[0]
    assert "status=204" in access[0]
    assert "secret" not in log


def test_unknown_keys_and_variables_are_warned_about_in_the_log(setup):
    path, port = setup(auth=False, extra='[kafka]\n  enabled = true\n[storage]\n  boltdbb = "/t"\n')
    daemon = Daemon(path, port, env={"KAPACITOR_HTTP_BIND_ADRESS": ":1"})
    with daemon:
        assert daemon.stop() == 0
    log = daemon.output()
    assert "unknown configuration key [storage] boltdbb ignored" in log
    assert "configuration section [kafka] is not supported" in log
    assert "environment variable KAPACITOR_HTTP_BIND_ADRESS ignored" in log
    assert "lvl=warn" in log


def test_env_bind_address_overrides_the_file(setup):
    path, file_port = setup(auth=False)
    env_port = free_port()
    daemon = Daemon(path, env_port, env={"KAPACITOR_HTTP_BIND_ADDRESS": f"127.0.0.1:{env_port}"})
    with daemon:
        assert daemon.request("GET", "/kapacitor/v1/ping")[0] == 204
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", file_port), timeout=1).close()


def test_kapacitor_config_path_is_used_when_no_flag_is_given(setup, tmp_path):
    path, port = setup(auth=False)
    daemon = Daemon(None, port, env={"KAPACITOR_CONFIG_PATH": path, "HOME": str(tmp_path)},
                    log_path=str(tmp_path / "out.log"))
    with daemon:
        assert daemon.request("GET", "/kapacitor/v1/ping")[0] == 204
    assert f"Using configuration at: {path}" in daemon.output()


@pytest.mark.skipif(os.path.exists("/etc/kapacitor/kapacitor.conf"),
                    reason="/etc/kapacitor/kapacitor.conf would be used")
def test_without_a_file_run_uses_the_demo_config_under_home(tmp_path):
    port = free_port()
    env = {"HOME": str(tmp_path), "KAPACITOR_HTTP_BIND_ADDRESS": f"127.0.0.1:{port}"}
    daemon = Daemon(None, port, env=env, log_path=str(tmp_path / "out.log"))
    with daemon:
        assert daemon.request("GET", "/kapacitor/v1/ping")[0] == 204
        assert daemon.stop() == 0
    assert "No configuration provided, using default settings" in daemon.output()
    assert (tmp_path / ".kapacitor").is_dir()


def test_port_in_use_exits_1_with_a_message_on_stderr(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        log_file = tmp_path / "kapacitor.log"
        path = write_config(tmp_path / "kapacitor.conf", tmp_path / "data", port, auth=False,
                            extra=f'  file = "{log_file}"\n')
        pidfile = tmp_path / "kapacitord.pid"
        result = run_kapacitord(["-config", path, "-pidfile", pidfile], home=tmp_path)
    assert result.returncode == 1
    assert result.stderr == f"run: open server: cannot listen on 127.0.0.1:{port}\n"
    assert "Address already in use" in read(log_file)
    assert not pidfile.exists()


def test_unwritable_pidfile_exits_1_with_a_message(setup, tmp_path):
    path, _port = setup(auth=False)
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = run_kapacitord(["-config", path, "-pidfile", blocker / "k.pid"], home=tmp_path)
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1].startswith("run: write pid file: ")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_sigterm_and_sigint_both_shut_down_cleanly(setup, sig):
    path, port = setup(auth=False)
    with Daemon(path, port) as daemon:
        daemon.proc.send_signal(sig)
        assert daemon.proc.wait(10) == 0
        assert "Server shutdown completed" in daemon.output()


def test_corrupt_store_stops_start_up_naming_the_file(tmp_path):
    """A damaged journal is reported, never silently replaced by an empty store."""
    from tests.support.daemon import run_kapacitord

    port = free_port()
    data = tmp_path / "data"
    path = write_config(tmp_path / "kapacitor.conf", data, port, auth=True)
    with Daemon(path, port) as d:
        for name in ("admin", "bob"):
            status, _h, _b = d.request("POST", "/kapacitor/v1/users",
                                       {"name": name, "password": "pw", "type": "admin"})
            assert status == 200
        d.stop()
    journal = data / "kapacitord-tw.journal"
    lines = journal.read_bytes().split(b"\n")
    assert b'"admin"' in lines[1] and b'"bob"' in lines[3]
    # Damage a record that is followed by a later acknowledged batch: that
    # is corruption, not the torn tail of a crash.
    lines[1] = lines[1][:-5] + b"XXXXX"
    journal.write_bytes(b"\n".join(lines))
    result = run_kapacitord(["-config", path], home=tmp_path)
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("run: create server: open store: ")
    assert str(journal) in last
    assert "line 2" in last
    assert journal.read_bytes() == b"\n".join(lines), "the damaged file is left as it was"
