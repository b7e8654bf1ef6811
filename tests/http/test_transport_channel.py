"""
The HTTP channel and site under hostile clients, in memory with a ``Clock``
(issue #10 items 4a, 4b and 15): the header deadline, the connection bound,
431 for oversized headers, and requests refused from their headers before
their body is read.
"""

from __future__ import annotations

import json

import pytest
from twisted.internet.address import IPv4Address
from twisted.internet.testing import StringTransport
from twisted.logger import globalLogPublisher

from kapacitord_tw.http import channel as channel_module
from kapacitord_tw.http.site import KapacitorSite
from tests.http.harness import V1, Harness, HeldWorkers, basic, err_body, parse_wire

ADMIN = ("admin", "pw")
WRITE = V1 + "/write?db=db"
MiB = 1024 * 1024


class Connection:
    """One client connection to a site driven by the harness's clock."""

    def __init__(self, site: KapacitorSite, port: int = 40000):
        self.transport = StringTransport(peerAddress=IPv4Address("TCP", "127.0.0.1", port))
        self.protocol = site.buildProtocol(self.transport.getPeer())
        self.protocol.makeConnection(self.transport)

    def send(self, data: bytes) -> None:
        self.protocol.dataReceived(data)

    @property
    def wire(self) -> bytes:
        return self.transport.value()

    @property
    def closed(self) -> bool:
        return self.transport.disconnecting or self.transport.disconnected

    def lose(self) -> None:
        from twisted.internet.error import ConnectionDone
        from twisted.python.failure import Failure

        self.protocol.connectionLost(Failure(ConnectionDone()))


def make_site(h: Harness, **kw) -> KapacitorSite:
    kw.setdefault("max_body_size", h.config.http.max_body_size)
    return KapacitorSite(h.app.root, h.app.stats, reactor=h.clock, **kw)


@pytest.fixture
def h(tmp_path):
    harness = Harness(tmp_path, http_auth=True)
    harness.add_user(*ADMIN, admin=True)
    harness.add_user("writer", "pw", permissions=["write_points"])
    return harness


def head(method: bytes, path: str, *headers: bytes) -> bytes:
    lines = [method + b" " + path.encode() + b" HTTP/1.1", b"Host: k", *headers]
    return b"\r\n".join(lines) + b"\r\n\r\n"


def auth_header(user: str, password: str) -> bytes:
    return b"Authorization: " + basic(user, password).encode()


# ----------------------------------------------------- header deadline (4a)

def test_headers_dribbled_slower_than_the_deadline_lose_the_connection(h):
    site = make_site(h, header_timeout=10.0)
    c = Connection(site)
    c.send(b"GET /kapacitor/v1/ping HTTP/1.1\r\n")
    for _ in range(4):  # a header line every 3 s: Twisted's idle timer never fires
        h.clock.advance(3)
        if c.closed:
            break
        c.send(b"X-Slow: a\r\n")
    assert c.closed
    assert c.wire == b""


def test_a_connection_that_sends_nothing_is_closed_at_the_deadline(h):
    c = Connection(make_site(h, header_timeout=10.0))
    h.clock.advance(9.9)
    assert not c.closed
    h.clock.advance(0.2)
    assert c.closed


def test_headers_completed_in_time_are_served_and_the_deadline_restarts(h):
    c = Connection(make_site(h, header_timeout=10.0))
    h.clock.advance(9)
    c.send(head(b"GET", V1 + "/ping", auth_header(*ADMIN)))
    assert parse_wire(c.wire)[0] == 204
    # Idle between requests is the read timeout's business, not this one.
    h.clock.advance(30)
    assert not c.closed
    # The next request's deadline counts from its first byte.
    c.transport.clear()
    c.send(b"GET /kapacitor/v1/ping HTTP/1.1\r\n")
    h.clock.advance(9)
    c.send(b"Host: k\r\n" + auth_header(*ADMIN) + b"\r\n\r\n")
    assert parse_wire(c.wire)[0] == 204
    assert not c.closed


def test_the_deadline_does_not_cut_a_slow_body_or_a_slow_answer(h):
    h.workers = held = HeldWorkers()
    h.app.bcrypt_checker._workers = held
    c = Connection(make_site(h, header_timeout=10.0))
    c.send(head(b"GET", V1 + "/ping", auth_header("admin", "other")))
    h.clock.advance(60)   # bcrypt is slow today: the answer may take its time
    assert not c.closed
    held.release_all()
    assert parse_wire(c.wire)[0] == 401


def test_zero_header_timeout_means_no_deadline(h):
    c = Connection(make_site(h, header_timeout=0))
    h.clock.advance(59)
    assert not c.closed


# ------------------------------------------------------ max-connections (4a)

def test_connections_beyond_max_connections_are_dropped_with_one_log_line(h):
    events = []
    globalLogPublisher.addObserver(events.append)
    try:
        site = make_site(h, max_connections=3)
        kept = [Connection(site, 40000 + i) for i in range(3)]
        refused = [Connection(site, 41000 + i) for i in range(50)]
    finally:
        globalLogPublisher.removeObserver(events.append)
    assert not any(c.closed for c in kept)
    assert all(c.transport.disconnected or c.closed for c in refused)
    assert all(c.wire == b"" for c in refused)
    lines = [e for e in events if "max-connections" in e.get("log_format", "")]
    assert len(lines) == 1, lines
    assert lines[0]["limit"] == 3 and lines[0]["open"] == 3
    # A closed connection frees its place.
    kept[0].lose()
    c = Connection(site, 42000)
    c.send(head(b"GET", V1 + "/ping", auth_header(*ADMIN)))
    assert parse_wire(c.wire)[0] == 204


def test_refusals_are_logged_again_after_the_interval_with_their_count(h):
    events = []
    site = make_site(h, max_connections=1)
    Connection(site)
    globalLogPublisher.addObserver(events.append)
    try:
        Connection(site, 1)
        for i in range(9):
            h.clock.advance(1)
            Connection(site, 2 + i)
        h.clock.advance(1.5)
        Connection(site, 99)
    finally:
        globalLogPublisher.removeObserver(events.append)
    counts = [e["count"] for e in events if "max-connections" in e.get("log_format", "")]
    assert counts == [1, 10]


# -------------------------------------------------------------- 431 (15)

def test_headers_over_16_kib_in_total_get_431(h):
    c = Connection(make_site(h))
    many = [b"X-Pad-%d: %s" % (i, b"a" * 1000) for i in range(20)]
    c.send(head(b"GET", V1 + "/ping", *many))
    assert c.wire == channel_module.HEADERS_TOO_LARGE
    assert c.closed


def test_one_header_line_over_16_kib_gets_431(h):
    c = Connection(make_site(h))
    c.send(b"GET /kapacitor/v1/ping HTTP/1.1\r\nX-Big: " + b"a" * 20_000)
    status, headers, body = parse_wire(c.wire)
    assert (status, body) == (431, b"431 Request Header Fields Too Large")
    assert headers["connection"] == ["close"]
    assert c.closed


def test_more_than_500_headers_get_431(h):
    c = Connection(make_site(h))
    c.send(head(b"GET", V1 + "/ping", *[b"X: %d" % i for i in range(501)]))
    assert parse_wire(c.wire)[0] == 431


def test_headers_just_under_the_limit_are_served(h):
    c = Connection(make_site(h))
    c.send(head(b"GET", V1 + "/ping", auth_header(*ADMIN), b"X-Pad: " + b"a" * 15_000))
    assert parse_wire(c.wire)[0] == 204


# ------------------------------------- several Authorization headers (15)

def test_the_first_of_several_authorization_headers_is_used(h):
    good, bad = auth_header(*ADMIN), auth_header("admin", "wrong")
    c = Connection(make_site(h))
    c.send(head(b"GET", V1 + "/ping", good, bad))
    assert parse_wire(c.wire)[0] == 204
    c = Connection(make_site(h), 40001)
    c.send(head(b"GET", V1 + "/ping", bad, good))
    status, _, body = parse_wire(c.wire)
    assert status == 401
    assert json.loads(body)["error"] == "authorization failed"


# ------------------------------------ refused before the body is read (4b)

def body_head(*headers: bytes, length: int = 25 * MiB, path: str = WRITE) -> bytes:
    return head(b"POST", path, b"Content-Length: %d" % length, *headers)


def test_upload_without_credentials_is_answered_401_before_its_body(h):
    c = Connection(make_site(h))
    c.send(body_head() + b"cpu v=1 1\n" * 1000)
    status, headers, body = parse_wire(c.wire)
    assert status == 401
    assert body == err_body("unable to parse authentication credentials", pretty=False)
    assert headers["connection"] == ["close"]
    assert headers["content-type"] == ["application/json; charset=utf-8"]
    assert "request-id" in headers and "x-kapacitor-version" in headers
    # The rest of the body is dropped unread, and the connection closes.
    sent = len(c.wire)
    c.send(b"x" * MiB)
    assert len(c.wire) == sent
    assert c.closed


def test_refused_upload_opens_no_temporary_file(h, monkeypatch):
    import tempfile

    opened = []
    real = tempfile.TemporaryFile
    monkeypatch.setattr(tempfile, "TemporaryFile", lambda *a, **k: opened.append(1) or real(*a, **k))
    c = Connection(make_site(h))
    c.send(body_head(auth_header("admin", "wrong")) + b"a" * 65536)
    assert parse_wire(c.wire)[0] == 401
    c.send(b"a" * MiB)
    assert opened == []


def test_wrong_password_upload_is_refused_after_the_guard_without_reading_the_body(h):
    held = HeldWorkers()
    h.app.bcrypt_checker._workers = held
    c = Connection(make_site(h))
    c.send(body_head(auth_header("admin", "wrong"), b"Expect: 100-continue"))
    # The guard is checking the password: reading is paused, and no
    # "100 Continue" invites the body meanwhile.
    assert c.transport.producerState == "paused"
    assert c.wire == b""
    held.release_all()
    status, _, body = parse_wire(c.wire)
    assert status == 401
    assert body == err_body("authorization failed", pretty=False)
    assert b"100 Continue" not in c.wire
    assert c.closed


def test_accepted_upload_resumes_reading_and_is_served(h):
    held = HeldWorkers()
    h.app.bcrypt_checker._workers = held
    batches = []
    h.app.bus.subscribe(batches.append)
    body = b"cpu v=1 1\n"
    c = Connection(make_site(h))
    c.send(body_head(auth_header(*ADMIN), b"Expect: 100-continue", length=len(body)))
    assert c.transport.producerState == "paused"
    held.release_all()
    assert c.transport.producerState == "producing"
    assert c.wire == b"HTTP/1.1 100 Continue\r\n\r\n"
    c.transport.clear()
    c.send(body)
    assert parse_wire(c.wire)[0] == 204
    assert len(batches) == 1
    assert not c.closed


def test_a_body_that_arrived_with_its_headers_waits_for_the_guard(h):
    held = HeldWorkers()
    h.app.bcrypt_checker._workers = held
    body = b"cpu v=1 1\n"
    c = Connection(make_site(h))
    c.send(body_head(auth_header(*ADMIN), length=len(body)) + body)
    assert c.wire == b""
    held.release_all()
    assert parse_wire(c.wire)[0] == 204


def test_user_without_the_privilege_gets_403_before_the_body(h):
    c = Connection(make_site(h))
    c.send(body_head(auth_header("writer", "pw"), path=V1 + "/tasks") + b"{")
    status, _, body = parse_wire(c.wire)
    assert status == 403
    assert body == err_body(
        'user writer does not have "write" privilege for API endpoint "/kapacitor/v1/tasks"',
        pretty=False)
    assert c.closed


def test_chunked_upload_without_credentials_is_refused_at_once(h):
    c = Connection(make_site(h))
    c.send(head(b"POST", WRITE, b"Transfer-Encoding: chunked") + b"10\r\n" + b"a" * 16)
    assert parse_wire(c.wire)[0] == 401
    assert c.closed


def test_bodies_on_open_paths_are_not_refused(h):
    # OPTIONS never authenticates (Kapacitor answers 200 to anyone).
    c = Connection(make_site(h))
    c.send(head(b"OPTIONS", V1 + "/write", b"Content-Length: 3") + b"abc")
    assert parse_wire(c.wire)[0] == 200


def test_without_auth_uploads_are_read_as_before(tmp_path):
    h = Harness(tmp_path, http_auth=False)
    c = Connection(make_site(h))
    body = b"cpu v=1 1\n"
    c.send(body_head(length=len(body)) + body)
    assert parse_wire(c.wire)[0] == 204


def test_a_request_line_up_to_one_mib_is_read_and_longer_gets_431(h):
    """Go's header budget (1 MiB) covers the request line: an old record with a
    long id can still be named; a longer line is refused with 431."""
    c = Connection(make_site(h))
    c.send(head(b"GET", V1 + "/tasks/" + "t" * (channel_module.MAX_REQUEST_LINE - 100),
                auth_header(*ADMIN)))
    assert parse_wire(c.wire)[0] == 404
    c = Connection(make_site(h))
    c.send(b"GET " + b"/" * (channel_module.MAX_REQUEST_LINE + 1))
    assert c.wire == channel_module.HEADERS_TOO_LARGE
