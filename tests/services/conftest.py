"""Real receivers for the notification services: an HTTP server standing in
for each SaaS API, a real SMTP server (aiosmtpd) and a real MQTT broker (mosquitto)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time

import attr
import pytest
from twisted.internet import defer, reactor
from twisted.web import resource, server
from tests.support.ports import free_port


@attr.s
class Received:
    method: str = attr.ib()
    path: str = attr.ib()
    headers: dict = attr.ib()
    body: bytes = attr.ib()


class _Recorder(resource.Resource):
    isLeaf = True

    def __init__(self, code: int = 200, answer: bytes = b""):
        super().__init__()
        self.code, self.answer = code, answer
        self.requests = []
        self.waiters = []

    def render(self, request):
        self.requests.append(Received(
            request.method.decode(), request.uri.decode(),
            {k.decode().lower(): v[0].decode() for k, v in request.requestHeaders.getAllRawHeaders()},
            request.content.read()))
        waiters, self.waiters = self.waiters, []
        for w in waiters:
            w.callback(None)
        request.setResponseCode(self.code)
        return self.answer

    def next_request(self):
        d = defer.Deferred()
        self.waiters.append(d)
        return d


@pytest.fixture
def receiver():
    """``(recorder, base_url)``: a local HTTP server on an ephemeral port."""
    rec = _Recorder()
    port = reactor.listenTCP(0, server.Site(rec), interface="127.0.0.1")
    yield rec, f"http://127.0.0.1:{port.getHost().port}"
    port.stopListening()


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on."""
    return free_port()


@pytest.fixture
def smtp_server():
    """A real SMTP server (aiosmtpd) on loopback: ``(host, port, messages)``."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Message

    messages = []

    class Keep(Message):
        def handle_message(self, message):
            messages.append(message)

    port = free_port()
    controller = Controller(Keep(), hostname="127.0.0.1", port=port)
    controller.start()
    yield "127.0.0.1", port, messages
    controller.stop()


@pytest.fixture
def mosquitto():
    """A real mosquitto broker on a free port: ``(port, subscriber_factory)``."""
    exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    assert os.path.exists(exe), "mosquitto is required: apt-get install -y mosquitto"
    port = free_port()
    tmp = tempfile.mkdtemp()
    conf = os.path.join(tmp, "m.conf")
    with open(conf, "w") as f:
        f.write(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n")
    proc = subprocess.Popen([exe, "-c", conf], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    else:
        proc.kill()
        raise RuntimeError("mosquitto did not start")
    yield port
    proc.terminate()
    proc.wait(5)
    shutil.rmtree(tmp, ignore_errors=True)
