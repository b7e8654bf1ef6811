"""MQTT 3.1.1 publishing to ``[[mqtt]]`` brokers (upstream ``services/mqtt``).

A small client of our own over a Twisted protocol: per alert it connects,
sends CONNECT, waits for CONNACK, PUBLISHes (QoS 0, or 1 and waits for
PUBACK; QoS 2 is refused as upstream's paho client would need a session),
and DISCONNECTs — all under one timeout.  The broker URL is paho's
``tcp://host:port`` (``ssl://``/``tls://`` use TLS).
"""

from __future__ import annotations

import os
import struct
from urllib.parse import urlsplit

from twisted.internet import defer, protocol

from kapacitord_tw.alerts import options as opt
from kapacitord_tw.engine.alertdata import AlertData
from kapacitord_tw.engine.gotemplate import TemplateError, parse
from kapacitord_tw.services.base import HandlerConfigError, ServiceError

NAME = "mqtt"
PROPERTY = "MQTTHandlers"
OPTIONS_TYPE = "*mqtt.HandlerConfig"
OPTIONS = {"broker-name": opt.string, "topic": opt.string, "qos": opt.integer,
           "retained": opt.boolean}
PROPERTY_KEYS = {"BrokerName": "broker-name", "Topic": "topic", "Qos": "qos",
                 "Retained": "retained"}
_CONNACK_ERRORS = {1: "unacceptable protocol version", 2: "identifier rejected",
                   3: "server unavailable", 4: "bad user name or password",
                   5: "not authorized"}


def _utf8(s: str) -> bytes:
    b = s.encode("utf-8")
    return struct.pack("!H", len(b)) + b


def _remaining(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n % 128, n // 128
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def connect_packet(client_id: str, username: str, password: str, keepalive: int = 30) -> bytes:
    flags = 0x02  # clean session
    payload = _utf8(client_id)
    if username:
        flags |= 0x80
        payload += _utf8(username)
        if password:
            flags |= 0x40
            payload += _utf8(password)
    var = _utf8("MQTT") + bytes([4, flags]) + struct.pack("!H", keepalive)
    body = var + payload
    return b"\x10" + _remaining(len(body)) + body


def publish_packet(topic: str, payload: bytes, qos: int, retained: bool, packet_id: int) -> bytes:
    header = 0x30 | (qos << 1) | (1 if retained else 0)
    body = _utf8(topic) + (struct.pack("!H", packet_id) if qos else b"") + payload
    return bytes([header]) + _remaining(len(body)) + body


class _Publisher(protocol.Protocol):
    """CONNECT → CONNACK → PUBLISH (→ PUBACK) → DISCONNECT."""

    def __init__(self, connect: bytes, publish: bytes, qos: int, done: defer.Deferred):
        self.connect, self.publish, self.qos, self.done = connect, publish, qos, done
        self.buf = b""
        self.state = "connack"

    def connectionMade(self):
        self.transport.write(self.connect)

    def _finish(self, error=None):
        if self.done.called:
            return
        if error is None:
            self.transport.write(b"\xe0\x00")   # DISCONNECT
            self.done.callback(None)
        else:
            self.done.errback(ServiceError(error))
        self.transport.loseConnection()

    def dataReceived(self, data):
        self.buf += data
        while len(self.buf) >= 2:
            kind, length = self.buf[0] >> 4, self.buf[1]
            if length & 0x80 or len(self.buf) < 2 + length:
                if length & 0x80:
                    return self._finish("unexpected packet from MQTT broker")
                return
            body, self.buf = self.buf[2:2 + length], self.buf[2 + length:]
            if self.state == "connack" and kind == 2:
                code = body[1] if len(body) > 1 else 255
                if code:
                    return self._finish("MQTT broker refused connection: "
                                        + _CONNACK_ERRORS.get(code, f"code {code}"))
                self.transport.write(self.publish)
                if self.qos == 0:
                    return self._finish()
                self.state = "puback"
            elif self.state == "puback" and kind == 4:
                return self._finish()

    def connectionLost(self, reason):
        if not self.done.called:
            self.done.errback(ServiceError("MQTT broker closed the connection"))


def _broker(cfg, name: str):
    elements = tuple(cfg or ())
    if not name:
        defaults = [c for c in elements if c.default] or (elements[:1] if len(elements) == 1
                                                         else [])
        if not defaults:
            raise ServiceError('unknown MQTT broker ""')
        return defaults[0]
    for c in elements:
        if c.name == name:
            return c
    raise ServiceError(f'unknown MQTT broker "{name}"')


async def publish(ctx, broker_name: str, topic: str, qos: int, retained: bool,
                  payload: str) -> None:
    if not topic:
        raise ServiceError("missing MQTT topic")
    c = _broker(ctx.config(), broker_name)
    if not c.enabled:
        raise ServiceError(f'unknown MQTT broker "{broker_name or c.name}"')
    if qos not in (0, 1):
        raise ServiceError(f"unsupported MQTT QoS {qos}")
    u = urlsplit(c.url)
    host, port = u.hostname or "localhost", u.port
    secure = u.scheme in ("ssl", "tls", "tcps", "mqtts")
    port = port or (8883 if secure else 1883)
    from twisted.internet import reactor as default_reactor
    reactor = ctx.reactor or default_reactor
    done = defer.Deferred()
    client_id = c.client_id or "kapacitor-" + os.urandom(4).hex()
    conn = connect_packet(client_id, c.username, c.password)
    pub = publish_packet(topic, payload.encode("utf-8"), qos, retained, 1)
    factory = protocol.ClientFactory.forProtocol(lambda: _Publisher(conn, pub, qos, done))
    factory.clientConnectionFailed = lambda _c, reason: (
        None if done.called else done.errback(ServiceError(
            f"failed to connect to MQTT broker: {reason.type.__name__}")))
    if secure:
        from twisted.internet import ssl
        tls = ssl.CertificateOptions(verify=False) if c.insecure_skip_verify else \
            ssl.optionsForClientTLS(host)
        connector = reactor.connectSSL(host, port, factory, tls, timeout=ctx.timeout)
    else:
        connector = reactor.connectTCP(host, port, factory, timeout=ctx.timeout)
    timer = reactor.callLater(ctx.timeout, done.cancel)
    try:
        await done
    except defer.CancelledError:
        connector.disconnect()
        raise ServiceError("timed out publishing to MQTT broker") from None
    finally:
        if timer.active():
            timer.cancel()


def prepare(options: dict) -> dict:
    try:
        tmpl = parse(options.get("topic", ""), "topic")
    except TemplateError as e:
        raise HandlerConfigError(str(e)) from None
    return {**options, "_topic": tmpl}


async def send(ctx, o: dict, a: AlertData) -> None:
    try:
        topic = o["_topic"].execute(a.event_template_value())
    except TemplateError as e:
        raise ServiceError(f"failed to create MQTT topic from template: {e}") from None
    await publish(ctx, o.get("broker-name", ""), topic, o.get("qos", 0),
                  o.get("retained", False), a.message)


def test_options(cfg) -> dict:
    try:
        name = _broker(cfg, "").name
    except ServiceError:
        name = ""
    return {"broker-name": name, "topic": "", "message": "test MQTT message", "qos": 0,
            "retained": False}


async def test(ctx, o: dict) -> None:
    await publish(ctx, o["broker-name"], o["topic"], int(o["qos"]), bool(o["retained"]),
                  o["message"])
