"""Alert handlers against real local receivers: the bytes must be Kapacitor's.

The expected payload is what upstream's TestStream_AlertLog/_AlertTCP/
_AlertExec/_AlertHTTPPost expect (integrations/streamer_test.go): Go's
``json.Marshal(alert.Data)`` plus the encoder's newline.
"""

from __future__ import annotations

import json
import os
import stat

import pytest
import pytest_twisted
from twisted.internet import defer, protocol, reactor
from twisted.web import resource, server

from kapacitord_tw.engine.alertdata import AlertData, Level
from kapacitord_tw.engine.handlers import (
    ExecHandler, HandlerConfigError, LogHandler, PostHandler, TCPHandler,
)

T10 = 31536010 * 10**9  # 1971-01-01T00:00:10Z

ALERT = AlertData(
    id="kapacitor.cpu.serverA",
    message="kapacitor.cpu.serverA is CRITICAL",
    details="",
    time=T10,
    level=Level.CRITICAL,
    recoverable=True,
    series=[{"name": "cpu", "tags": {"host": "serverA"}, "columns": ["time", "count"],
             "values": [["1971-01-01T00:00:10Z", 10.0]]}],
)

# json.Marshal(expAD) in TestStream_AlertExec, with the encoder's newline.
EXPECTED = (
    b'{"id":"kapacitor.cpu.serverA","message":"kapacitor.cpu.serverA is CRITICAL",'
    b'"details":"","time":"1971-01-01T00:00:10Z","duration":0,"level":"CRITICAL",'
    b'"data":{"series":[{"name":"cpu","tags":{"host":"serverA"},"columns":["time","count"],'
    b'"values":[["1971-01-01T00:00:10Z",10]]}]},"previousLevel":"OK","recoverable":true}\n'
)


def test_alert_data_encodes_like_go():
    assert ALERT.encode() == EXPECTED


# ---------------------------------------------------------------------------
# log

@pytest_twisted.ensureDeferred
async def test_log_handler_appends_json_lines_with_default_mode_0600(tmp_path):
    path = str(tmp_path / "normal.log")
    old = os.umask(0o022)
    try:
        h = LogHandler(path)
        await h.handle(ALERT)
        await h.handle(ALERT)
    finally:
        os.umask(old)
    with open(path, "rb") as f:
        assert f.read() == EXPECTED * 2
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert h.errors == 0


@pytest_twisted.ensureDeferred
async def test_log_handler_mode_0644(tmp_path):
    path = str(tmp_path / "mode.log")
    old = os.umask(0o022)
    try:
        await LogHandler(path, 0o644).handle(ALERT)
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o644


@pytest_twisted.ensureDeferred
async def test_log_handler_keeps_event_order(tmp_path):
    path = str(tmp_path / "order.log")
    h = LogHandler(path)
    events = [AlertData(id=str(i), message="m", details="", time=T10) for i in range(50)]
    await defer.gatherResults([h.handle(e) for e in events])
    with open(path) as f:
        assert [json.loads(line)["id"] for line in f] == [str(i) for i in range(50)]


@pytest_twisted.ensureDeferred
async def test_a_burst_of_alerts_is_logged_whole_and_in_order(tmp_path):
    """A window closing for thousands of groups: more events at once than
    max_pending, all written, in order, in far fewer appends than events."""
    path = str(tmp_path / "burst.log")
    h = LogHandler(path)
    appends = []
    append = h._append
    h._append = lambda data: appends.append(data.count(b"\n")) or append(data)
    events = [AlertData(id=str(i), message="m", details="", time=T10) for i in range(3000)]
    await defer.gatherResults([h.handle(e) for e in events])
    with open(path) as f:
        assert [json.loads(line)["id"] for line in f] == [str(i) for i in range(3000)]
    assert (h.dropped, h.errors, h.pending) == (0, 0, 0)
    assert sum(appends) == 3000 and len(appends) < 3000


@pytest_twisted.ensureDeferred
async def test_the_log_handler_holds_a_bounded_number_of_bytes(tmp_path):
    path = str(tmp_path / "bounded.log")
    h = LogHandler(path, max_buffer=3 * len(EXPECTED))
    await defer.gatherResults([h.handle(ALERT) for _ in range(10)])
    with open(path, "rb") as f:
        written = f.read()
    assert h.dropped == 10 - written.count(b"\n") > 0
    assert written == EXPECTED * written.count(b"\n")


@pytest_twisted.ensureDeferred
async def test_each_event_of_a_failed_append_is_counted(tmp_path):
    h = LogHandler(str(tmp_path / "missing-dir" / "a.log"))
    results = await defer.gatherResults([h.handle(ALERT) for _ in range(5)])
    assert results == [None] * 5 and h.errors == 5 and h.pending == 0


@pytest_twisted.ensureDeferred
async def test_log_handler_failure_is_counted_not_raised(tmp_path):
    h = LogHandler(str(tmp_path / "missing-dir" / "a.log"))
    assert await h.handle(ALERT) is None
    assert h.errors == 1


def test_log_handler_rejects_relative_path_and_unwritable_mode():
    with pytest.raises(HandlerConfigError, match="^log path must be absolute: a.log is not absolute$"):
        LogHandler("a.log")
    with pytest.raises(HandlerConfigError,
                       match="^invalid file mode -r--r--r--, must be user writable$"):
        LogHandler("/tmp/a.log", 0o444)


# ---------------------------------------------------------------------------
# post

class _Receiver(resource.Resource):
    isLeaf = True

    def __init__(self, code=200, body=b""):
        super().__init__()
        self.requests = []
        self.code, self.body = code, body

    def render_POST(self, request):
        self.requests.append((request.uri, request.requestHeaders, request.content.read()))
        request.setResponseCode(self.code)
        return self.body


@pytest.fixture
def http_receiver():
    receivers = []

    def start(**kwargs):
        rec = _Receiver(**kwargs)
        port = reactor.listenTCP(0, server.Site(rec), interface="127.0.0.1")
        receivers.append(port)
        return rec, f"http://127.0.0.1:{port.getHost().port}"

    yield start
    for port in receivers:
        port.stopListening()


@pytest_twisted.ensureDeferred
async def test_post_handler_sends_alert_json_and_headers(http_receiver):
    rec, base = http_receiver()
    h = PostHandler(base + "/alert/{{ .ID }}", {"authorization": "works", "X-Extra": "1"})
    await h.handle(ALERT)
    assert h.errors == 0
    [(uri, headers, body)] = rec.requests
    assert uri == b"/alert/kapacitor.cpu.serverA"
    assert body == EXPECTED
    assert headers.getRawHeaders("content-type") == ["application/json"]
    assert headers.getRawHeaders("authorization") == ["works"]
    assert headers.getRawHeaders("x-extra") == ["1"]


@pytest_twisted.ensureDeferred
async def test_post_handler_header_overrides_content_type(http_receiver):
    rec, base = http_receiver()
    await PostHandler(base, {"Content-Type": "text/plain"}).handle(ALERT)
    [(_, headers, _)] = rec.requests
    assert headers.getRawHeaders("content-type") == ["text/plain"]


@pytest_twisted.ensureDeferred
async def test_post_handler_non_2xx_is_logged_with_captured_body(http_receiver):
    from twisted.logger import globalLogPublisher
    rec, base = http_receiver(code=500, body=b"boom")
    seen = []
    globalLogPublisher.addObserver(seen.append)
    try:
        h = PostHandler(base, capture_response=True)
        await h.handle(ALERT)
    finally:
        globalLogPublisher.removeObserver(seen.append)
    assert h.errors == 1
    errors = [e for e in seen if e.get("kind") == "post"]
    assert "POST returned non 2xx status code 500: boom" in errors[0]["error"]
    assert base not in errors[0]["error"]


@pytest_twisted.ensureDeferred
async def test_post_handler_unreachable_url_counts_an_error():
    port = reactor.listenTCP(0, protocol.Factory(), interface="127.0.0.1")
    addr = port.getHost().port
    await port.stopListening()
    h = PostHandler(f"http://127.0.0.1:{addr}/", timeout=5)
    assert await h.handle(ALERT) is None
    assert h.errors == 1


@pytest_twisted.ensureDeferred
async def test_post_handler_times_out_on_a_silent_server():
    class Silent(protocol.Protocol):
        def dataReceived(self, data):
            pass

    port = reactor.listenTCP(0, protocol.Factory.forProtocol(Silent), interface="127.0.0.1")
    try:
        h = PostHandler(f"http://127.0.0.1:{port.getHost().port}/", timeout=0.3)
        await h.handle(ALERT)
        assert h.errors == 1
    finally:
        await port.stopListening()


def test_post_handler_bad_url_template_is_a_config_error():
    with pytest.raises(HandlerConfigError,
                       match='^failed to parse template: template: body:1: function "nope" not defined$'):
        PostHandler("http://x/{{ nope }}")


# ---------------------------------------------------------------------------
# tcp

class _Collect(protocol.Protocol):
    def connectionMade(self):
        self.buf = b""

    def dataReceived(self, data):
        self.buf += data

    def connectionLost(self, reason):
        self.factory.received.append(self.buf)
        if self.factory.waiting:
            self.factory.waiting.pop(0).callback(self.buf)


@pytest_twisted.ensureDeferred
async def test_tcp_handler_writes_json_and_two_newlines_per_connection():
    f = protocol.Factory.forProtocol(_Collect)
    f.received, f.waiting = [], []
    port = reactor.listenTCP(0, f, interface="127.0.0.1")
    try:
        h = TCPHandler(f"127.0.0.1:{port.getHost().port}")
        got = defer.Deferred()
        f.waiting.append(got)
        await h.handle(ALERT)
        # Kapacitor encodes (newline) and then writes one more newline.
        assert await got == EXPECTED + b"\n"
        got2 = defer.Deferred()
        f.waiting.append(got2)
        await h.handle(ALERT)
        await got2
        assert len(f.received) == 2
        assert h.errors == 0
    finally:
        await port.stopListening()


@pytest_twisted.ensureDeferred
async def test_tcp_handler_connection_refused_is_counted():
    port = reactor.listenTCP(0, protocol.Factory(), interface="127.0.0.1")
    addr = port.getHost().port
    await port.stopListening()
    h = TCPHandler(f"127.0.0.1:{addr}")
    assert await h.handle(ALERT) is None
    assert h.errors == 1


def test_tcp_handler_rejects_address_without_port():
    with pytest.raises(HandlerConfigError, match="missing port in address"):
        TCPHandler("localhost")


# ---------------------------------------------------------------------------
# exec

def _script(tmp_path, body):
    path = tmp_path / "handler.sh"
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o700)
    return str(path)


@pytest_twisted.ensureDeferred
async def test_exec_handler_passes_json_on_stdin_and_args(tmp_path):
    out = tmp_path / "out"
    prog = _script(tmp_path, f'printf "%s|" "$@" > {out}.args\ncat > {out}\n')
    h = ExecHandler(prog, ["arg1", "arg 2"])
    await h.handle(ALERT)
    assert h.errors == 0
    assert out.read_bytes() == EXPECTED
    assert (tmp_path / "out.args").read_text() == "arg1|arg 2|"


@pytest_twisted.ensureDeferred
async def test_exec_handler_nonzero_exit_is_logged_with_output(tmp_path):
    from twisted.logger import globalLogPublisher
    prog = _script(tmp_path, 'cat >/dev/null\necho "bad things" >&2\nexit 3\n')
    seen = []
    globalLogPublisher.addObserver(seen.append)
    try:
        h = ExecHandler(prog, ["secret-token"])
        await h.handle(ALERT)
    finally:
        globalLogPublisher.removeObserver(seen.append)
    assert h.errors == 1
    [event] = [e for e in seen if e.get("kind") == "exec"]
    assert "exit status 3" in event["error"] and "bad things" in event["error"]
    assert "secret-token" not in event["error"]


@pytest_twisted.ensureDeferred
async def test_exec_handler_kills_a_hung_program(tmp_path):
    prog = _script(tmp_path, "exec sleep 30\n")
    h = ExecHandler(prog, timeout=0.3)
    start = reactor.seconds()
    await h.handle(ALERT)
    assert reactor.seconds() - start < 5
    assert h.errors == 1


@pytest_twisted.ensureDeferred
async def test_exec_handler_missing_program_is_counted(tmp_path):
    h = ExecHandler(str(tmp_path / "nope"))
    assert await h.handle(ALERT) is None
    assert h.errors == 1


@pytest_twisted.ensureDeferred
async def test_handler_drops_events_beyond_max_pending(tmp_path):
    prog = _script(tmp_path, "cat >/dev/null\nsleep 0.2\n")
    h = ExecHandler(prog, max_pending=2)
    ds = [h.handle(ALERT) for _ in range(5)]
    await defer.gatherResults(ds)
    assert h.dropped == 3
    assert h.errors == 0
