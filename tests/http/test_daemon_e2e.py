"""
End to end against the real ``kapacitord`` process: the documented
bootstrap workflow, restart on the same data_dir, the body limit on the
wire, and ``kill -9`` during concurrent user creation.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import threading
import time


from tests.support.daemon import Daemon, free_port, write_config

V1 = "/kapacitor/v1"
ADMIN = ("admin", "Pa5sw0Rd")


def unauthorized(message: str) -> bytes:
    return json.dumps({"error": message, "message": message}, separators=(",", ":")).encode()


def bootstrap_admin(daemon: Daemon) -> None:
    status, _, body = daemon.request(
        "POST", V1 + "/users", {"name": "admin", "password": "Pa5sw0Rd", "type": "admin"}
    )
    assert status == 200, body
    assert json.loads(body)["type"] == "admin"


def check_secured(daemon: Daemon) -> None:
    status, headers, body = daemon.request("GET", V1 + "/tasks", auth=ADMIN)
    assert status not in (401, 403), body
    assert headers.get("Server") is None
    status, _, _ = daemon.request("GET", V1 + "/tasks?u=admin&p=Pa5sw0Rd")
    assert status not in (401, 403)
    status, _, body = daemon.request("GET", V1 + "/tasks", auth=("admin", "wrong"))
    assert (status, body) == (401, unauthorized("authorization failed"))
    status, _, body = daemon.request("GET", V1 + "/tasks")
    assert (status, body) == (401, unauthorized("unable to parse authentication credentials"))
    status, _, body = daemon.request(
        "POST", V1 + "/users", {"name": "reader", "password": "pw", "permissions": []}, auth=ADMIN
    )
    assert status == 200, body
    status, _, body = daemon.request("GET", V1 + "/tasks", auth=("reader", "pw"))
    assert status == 403
    assert json.loads(body)["error"] == (
        'user reader does not have "read" privilege for API endpoint "/kapacitor/v1/tasks"'
    )


def test_documented_bootstrap_workflow(tmp_path):
    port = free_port()
    config = write_config(tmp_path / "kapacitor.conf", tmp_path / "data", port)
    with Daemon(config, port) as daemon:
        bootstrap_admin(daemon)
        assert daemon.stop() == 0
    with Daemon(config, port, env={"KAPACITOR_HTTP_AUTH_ENABLED": "true"}) as daemon:
        check_secured(daemon)


def test_bootstrap_with_environment_variables_only(tmp_path):
    port = free_port()
    config = tmp_path / "kapacitor.conf"
    config.write_text(
        f'data_dir = "{tmp_path / "data"}"\n\n[http]\n  bind-address = "127.0.0.1:{port}"\n'
    )
    env = {"KAPACITOR_AUTH_ENABLED": "true", "KAPACITOR_AUTH_BCRYPT": "4"}
    with Daemon(str(config), port, env=env) as daemon:
        bootstrap_admin(daemon)
        assert daemon.stop() == 0
    with Daemon(str(config), port, env={**env, "KAPACITOR_HTTP_AUTH_ENABLED": "true"}) as daemon:
        check_secured(daemon)


def test_body_over_max_body_size_is_413_before_it_is_sent(tmp_path):
    port = free_port()
    config = tmp_path / "kapacitor.conf"
    config.write_text(
        f'data_dir = "{tmp_path / "data"}"\n\n[http]\n  bind-address = "127.0.0.1:{port}"\n'
        "  max-body-size = 4096\n\n[auth]\n  enabled = true\n  bcrypt-cost = 4\n"
    )
    with Daemon(str(config), port) as daemon:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(
                b"POST /kapacitor/v1/users HTTP/1.1\r\nHost: k\r\n"
                b"Content-Type: application/json\r\nContent-Length: 10000000\r\n\r\n{"
            )
            reply = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                reply += chunk
        head, _, body = reply.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 413 ")
        assert b"4096" in body
        status, _, _ = daemon.request("POST", V1 + "/users", {"name": "ok", "password": "pw"})
        assert status == 200


def test_gzip_bodiless_answers_keep_the_connection_clean(tmp_path):
    """A 204 or HEAD answer must not be followed by gzip trailer bytes.

    Checked on a raw socket: http.client would not notice stray bytes, as it
    drops its read buffer with each response.
    """
    port = free_port()
    config = write_config(tmp_path / "kapacitor.conf", tmp_path / "data", port)
    with Daemon(config, port):
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(
                b"GET /kapacitor/v1/ping HTTP/1.1\r\nHost: k\r\nAccept-Encoding: gzip\r\n\r\n"
                b"HEAD /kapacitor/v1/ping HTTP/1.1\r\nHost: k\r\nAccept-Encoding: gzip\r\n\r\n"
                b"GET /kapacitor/v1/ping HTTP/1.1\r\nHost: k\r\nConnection: close\r\n\r\n"
            )
            reply = b""
            while chunk := s.recv(65536):
                reply += chunk
    responses = reply.split(b"\r\n\r\n")
    assert len(responses) == 4 and responses[-1] == b""
    assert all(r.startswith(b"HTTP/1.1 204 ") for r in responses[:3])


def test_users_acknowledged_before_kill_9_survive_restart(tmp_path):
    port = free_port()
    config = write_config(tmp_path / "kapacitor.conf", tmp_path / "data", port)
    acknowledged = []
    lock = threading.Lock()
    daemon = Daemon(config, port).start()
    stop = threading.Event()

    def creator(worker: int) -> None:
        for i in range(10):
            if stop.is_set():
                return
            name = f"user{worker:02d}x{i:02d}"
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                conn.request("POST", V1 + "/users",
                             json.dumps({"name": name, "password": "pw"}))
                status = conn.getresponse().status
                conn.close()
            except (OSError, http.client.HTTPException):
                return
            if status == 200:
                with lock:
                    acknowledged.append(name)

    threads = [threading.Thread(target=creator, args=(w,)) for w in range(20)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 20
    while len(acknowledged) < 60 and time.monotonic() < deadline:
        time.sleep(0.005)
    os.kill(daemon.proc.pid, signal.SIGKILL)
    stop.set()
    for t in threads:
        t.join(15)
    daemon.kill()
    with lock:
        survivors_expected = list(acknowledged)
    assert len(survivors_expected) >= 60
    with Daemon(config, port) as restarted:
        status, _, body = restarted.request("GET", V1 + "/users?limit=1000")
        assert status == 200
        stored = {u["name"] for u in json.loads(body)["users"]}
    missing = set(survivors_expected) - stored
    assert not missing
