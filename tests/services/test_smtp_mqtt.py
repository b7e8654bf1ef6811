"""Email through a real SMTP server (aiosmtpd) and MQTT through a real mosquitto."""

from __future__ import annotations

import socket
import struct
import time

import pytest_twisted
from twisted.internet import threads

from kapacitord_tw.config import services as cs
from kapacitord_tw.services.mqtt import connect_packet
from kapacitord_tw.services.registry import NotificationServices
from tests.services.test_http_services import ALERT


def _ns(**sections):
    live = {name: cs.default_value(name) for name in cs.SERVICE_SECTIONS}
    live.update(sections)
    return NotificationServices(lambda name: live[name], timeout=5.0)


@pytest_twisted.ensureDeferred
async def test_email_arrives_at_the_smtp_server(smtp_server):
    host, port, messages = smtp_server
    ns = _ns(smtp=cs.SMTPConfig(enabled=True, host=host, port=port, from_="kapacitor@example.com",
                                to=("ops@example.com",)))
    h = ns.handler("smtp", {"to": ["dev@example.com"], "to-field": ["{{ index .Tags \"host\" }}@example.com"]})
    await h.handle(ALERT)
    assert h.errors == 0
    for _ in range(50):
        if messages:
            break
        await threads.deferToThread(time.sleep, 0.05)
    m = messages[0]
    assert m["Subject"] == "kapacitor/cpu/serverA is CRITICAL"
    assert m["From"] == "kapacitor@example.com"
    assert m["To"] == "dev@example.com, serverA@example.com"
    assert m.get_content_type() == "text/html"
    assert m.get_payload(decode=True).rstrip(b"\r\n") == b"details"


@pytest_twisted.ensureDeferred
async def test_email_service_test_and_no_recipients(smtp_server):
    host, port, messages = smtp_server
    ns = _ns(smtp=cs.SMTPConfig(enabled=True, host=host, port=port, from_="k@example.com"))
    assert await ns.test("smtp", {}) == (False, "not sending email, no recipients defined")
    assert await ns.test("smtp", {"to": ["a@example.com"]}) == (True, "")
    for _ in range(50):
        if messages:
            break
        await threads.deferToThread(time.sleep, 0.05)
    assert messages[0]["Subject"] == "test subject"


@pytest_twisted.ensureDeferred
async def test_email_to_a_closed_port_fails_fast(closed_port):
    ns = _ns(smtp=cs.SMTPConfig(enabled=True, host="127.0.0.1", port=closed_port,
                                from_="k@example.com", to=("a@example.com",)))
    h = ns.handler("smtp", {})
    start = time.monotonic()
    await h.handle(ALERT)
    assert time.monotonic() - start < 2 and h.errors == 1


def _subscribe(port: int, topic: str, ready):
    """A blocking MQTT subscriber (in a thread): returns the first PUBLISH packet."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(connect_packet("test-sub", "", ""))
    assert s.recv(4)[0] == 0x20
    t = topic.encode()
    body = struct.pack("!H", 1) + struct.pack("!H", len(t)) + t + b"\x01"
    s.sendall(bytes([0x82, len(body)]) + body)
    assert s.recv(5)[0] == 0x90
    ready()
    data = b""
    while len(data) < 2 or len(data) < 2 + data[1]:
        data += s.recv(4096)
    s.close()
    return data


@pytest_twisted.ensureDeferred
async def test_mqtt_publishes_to_a_real_broker_with_topic_template(mosquitto):
    from twisted.internet import defer, reactor
    ns = _ns(mqtt=(cs.MQTTConfig(enabled=True, name="local", default=True,
                                 url=f"tcp://127.0.0.1:{mosquitto}"),))
    ready = defer.Deferred()
    got = threads.deferToThread(_subscribe, mosquitto, "alerts/cpu",
                                lambda: reactor.callFromThread(ready.callback, None))
    await ready
    h = ns.handler("mqtt", {"topic": "alerts/{{ .Name }}", "qos": 1})
    await h.handle(ALERT)
    assert h.errors == 0
    packet = await got
    assert packet[0] >> 4 == 3
    tlen = struct.unpack("!H", packet[2:4])[0]
    assert packet[4:4 + tlen] == b"alerts/cpu"
    assert packet[4 + tlen:].endswith(b"kapacitor/cpu/serverA is CRITICAL")


@pytest_twisted.ensureDeferred
async def test_mqtt_unknown_broker_and_dead_broker(closed_port):
    ns = _ns(mqtt=(cs.MQTTConfig(enabled=True, name="b", default=True,
                                 url=f"tcp://127.0.0.1:{closed_port}"),))
    assert await ns.test("mqtt", {"topic": "t", "broker-name": "x"}) == (
        False, 'unknown MQTT broker "x"')
    assert await ns.test("mqtt", {}) == (False, "missing MQTT topic")
    h = ns.handler("mqtt", {"topic": "t"})
    start = time.monotonic()
    await h.handle(ALERT)
    assert time.monotonic() - start < 2 and h.errors == 1
