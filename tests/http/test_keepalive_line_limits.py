"""
The line limits hold for every request of a keep-alive connection, pipelined
or not: a request line may be up to 1 MiB, a header line only 16 KiB, also
while the line is still arriving (the channel switches its line limit at
the request line and back when the request is done).
"""

from __future__ import annotations

from kapacitord_tw.http import channel as channel_module
from tests.http.harness import V1, Harness
from tests.http.test_transport_channel import ADMIN, Connection, auth_header, head, make_site

PING = V1 + "/ping"
LONG_PATH = V1 + "/tasks/" + "t" * 200_000


def make(tmp_path):
    h = Harness(tmp_path, http_auth=True)
    h.add_user(*ADMIN, admin=True)
    return h


def statuses(wire: bytes):
    """Status codes of the answers on the wire, in order."""
    return [int(line.split(b" ")[1]) for line in wire.split(b"\r\n") if line.startswith(b"HTTP/1.1 ")]


def test_every_request_of_a_connection_may_have_a_long_request_line(tmp_path):
    c = Connection(make_site(make(tmp_path)))
    for _ in range(3):
        c.send(head(b"GET", PING, auth_header(*ADMIN)))
        c.send(head(b"GET", LONG_PATH, auth_header(*ADMIN)))
    assert statuses(c.wire) == [204, 404] * 3
    assert not c.closed


def test_pipelined_requests_keep_their_limits(tmp_path):
    c = Connection(make_site(make(tmp_path)))
    c.send(head(b"GET", PING, auth_header(*ADMIN)) + head(b"GET", LONG_PATH, auth_header(*ADMIN))
           + head(b"GET", PING, auth_header(*ADMIN)))
    assert statuses(c.wire) == [204, 404, 204]


def test_header_line_over_16_kib_on_a_later_request_gets_431(tmp_path):
    c = Connection(make_site(make(tmp_path)))
    c.send(head(b"GET", LONG_PATH, auth_header(*ADMIN)))
    c.send(head(b"GET", PING, auth_header(*ADMIN), b"X-Big: " + b"a" * 20_000))
    assert c.wire.endswith(channel_module.HEADERS_TOO_LARGE)
    assert c.closed


def test_unfinished_header_line_over_16_kib_on_a_later_request_gets_431(tmp_path):
    """No line end yet: the line limit itself must already be the header's."""
    c = Connection(make_site(make(tmp_path)))
    c.send(head(b"GET", PING, auth_header(*ADMIN)))
    c.send(b"GET " + PING.encode() + b" HTTP/1.1\r\nX-Big: ")
    for _ in range(3):
        c.send(b"a" * 8_000)
    assert statuses(c.wire) == [204, 431]
    assert c.closed


def test_unfinished_request_line_on_a_later_request_may_grow_past_16_kib(tmp_path):
    c = Connection(make_site(make(tmp_path)))
    c.send(head(b"GET", PING, auth_header(*ADMIN)))
    c.send(b"GET " + V1.encode() + b"/tasks/")
    for _ in range(4):
        c.send(b"t" * 8_000)
    assert statuses(c.wire) == [204]
    assert not c.closed
    c.send(b" HTTP/1.1\r\nHost: k\r\n" + auth_header(*ADMIN) + b"\r\n\r\n")
    assert statuses(c.wire) == [204, 404]
