"""An answer made while a request is read leaves in the same reactor turn.

Twisted's TCP transport only buffers a write until the reactor polls again,
after the next turn's timed calls -- under a write storm, an engine slice.
The channel sends such answers at once (issue 11: ping latency while the
engine is busy), over a real TCP connection here.
"""

from __future__ import annotations

import pytest_twisted
from twisted.internet import defer, protocol, reactor
from twisted.internet.endpoints import TCP4ClientEndpoint

from kapacitord_tw.http.site import KapacitorSite
from tests.http.harness import V1, Harness

PING = f"GET {V1}/ping HTTP/1.1\r\nHost: k\r\n\r\n".encode()


class _Client(protocol.Protocol):
    def __init__(self):
        self.received = b""
        self.answered = defer.Deferred()

    def dataReceived(self, data):
        self.received += data
        if b"\r\n\r\n" in self.received and not self.answered.called:
            self.answered.callback(self.received)


@pytest_twisted.inlineCallbacks
def test_a_ping_answer_is_not_left_for_the_next_reactor_turn(tmp_path):
    h = Harness(tmp_path, http_auth=False, reactor=reactor)
    site = KapacitorSite(h.app.root, h.app.stats, reactor=reactor,
                         max_body_size=h.config.http.max_body_size)
    left_after_read = []
    build = site.buildProtocol

    def built(addr):
        channel = build(addr)
        read = channel.dataReceived

        def data_received(data):
            read(data)
            t = channel._channel.transport  # the HTTP/1.1 channel inside the wrapper
            left_after_read.append(t._tempDataLen + len(t.dataBuffer) - t.offset)

        channel.dataReceived = data_received
        return channel

    site.buildProtocol = built
    port = reactor.listenTCP(0, site, interface="127.0.0.1")
    try:
        client = _Client()
        conn = yield TCP4ClientEndpoint(reactor, "127.0.0.1", port.getHost().port).connect(
            protocol.Factory.forProtocol(lambda: client))
        for _ in range(3):  # keep-alive: each request of the connection
            client.answered = defer.Deferred()
            client.received = b""
            conn.transport.write(PING)
            answer = yield client.answered
            assert answer.startswith(b"HTTP/1.1 204 No Content")
        conn.transport.loseConnection()
    finally:
        yield port.stopListening()
    assert left_after_read and left_after_read == [0] * len(left_after_read)
