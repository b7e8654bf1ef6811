"""
Kapacitor's alert-handler cases (``alert_cases.json``, from upstream's
``integrations/streamer_test.go``): the same task and replay as the httpOut
conformance suite, with ``.post()``, ``.tcp()`` and ``.log()`` pointed at
real receivers on loopback; what they receive must be, alert by alert,
what the Go tests expect.
"""

from __future__ import annotations

import json
import os

import pytest
import pytest_twisted
from twisted.internet import defer, protocol, reactor, task
from twisted.web import resource, server

from tests.engine.conformance import HERE, V1, make_harness, pin_utc, replay, write_batches, TESTDATA

CASES = json.loads((HERE / "alert_cases.json").read_text())["cases"]

#: Cases the public API cannot run (services configured on the task master in Go).
NEEDS_TMINIT = {"TestStream_AlertHTTPPostEndpoint", "TestStream_AlertExec"}


def _expected(case):
    """The alerts in the order the receiver sees them (one per request, source order)."""
    if case["id"] == "TestStream_AlertStateChangesOnlyExpired":
        # Go computes these from the request number rc: CRITICAL at 2rc-1 s
        # lasting 2(rc-1) s for rc = 1..5, then the recovery.
        out = []
        for rc in range(1, 6):
            out.append({"id": "cpu:nil", "message": "cpu:nil is CRITICAL", "details": "",
                        "time": "1971-01-01T00:00:%02dZ" % (2 * rc - 1),
                        "duration": (rc - 1) * 2_000_000_000, "level": "CRITICAL",
                        "previousLevel": "OK" if rc == 1 else "CRITICAL", "recoverable": True})
        out.append(case["expected_alerts"][-1]["alert"])
        return out
    return [a["alert"] for a in case["expected_alerts"]]


class _Collect(resource.Resource):
    isLeaf = True

    def __init__(self, bodies):
        super().__init__()
        self.bodies = bodies

    def render_POST(self, request):
        self.bodies.append(json.loads(request.content.read()))
        return b""


class _Lines(protocol.Protocol):
    def connectionMade(self):
        self.buffer = b""

    def dataReceived(self, data):
        self.buffer += data

    def connectionLost(self, reason):
        if self.buffer:
            self.factory.bodies.append(json.loads(self.buffer))


def _run(h, case, script):
    reply = h.post(V1 + "/tasks", {"id": case["name"], "type": "stream",
                                   "dbrps": [{"db": "dbname", "rp": "rpname"}],
                                   "script": script, "status": "enabled"})
    assert reply.code == 200, reply.body
    srpl = (TESTDATA / case["srpl"]).read_text()
    for db, rp, body in write_batches(replay(srpl, case["duration"])):
        reply = h.post(f"{V1}/write?db={db}&rp={rp}&precision=s", body)
        assert reply.code == 204, reply.body
        h.app.engine.flush()
    h.app.engine.drain(case["name"])


def _same(expected, got, ignores_data):
    got = dict(got)
    expected = dict(expected)
    if ignores_data or "data" not in expected:
        got.pop("data", None)
        expected.pop("data", None)
    return expected == got


@pytest.mark.parametrize("case", [c for c in CASES if c["id"] not in NEEDS_TMINIT],
                         ids=lambda c: c["id"])
@pytest_twisted.inlineCallbacks
def test_alert_handlers_receive_what_kapacitor_sends(case, tmp_path):
    pin_utc()
    bodies = []
    listeners = []
    script = case["script"]
    if "@ts.URL@" in script:
        port = reactor.listenTCP(0, server.Site(_Collect(bodies)), interface="127.0.0.1")
        listeners.append(port)
        script = script.replace("@ts.URL@", "http://127.0.0.1:%d/" % port.getHost().port)
    if "@ts.Addr@" in script:
        factory = protocol.ServerFactory.forProtocol(_Lines)
        factory.bodies = bodies
        port = reactor.listenTCP(0, factory, interface="127.0.0.1")
        listeners.append(port)
        script = script.replace("@ts.Addr@", "127.0.0.1:%d" % port.getHost().port)
    logs = {}
    for token in ("@normalPath@", "@modePath@"):
        if token in script:
            logs[token] = tmp_path / (token.strip("@") + ".log")
            script = script.replace(token, str(logs[token]))
    try:
        h = make_harness(tmp_path)
        _run(h, case, script)
        expected = _expected(case)
        want = case.get("expected_request_count") or len(expected)
        if logs:
            def read():
                return [[json.loads(line) for line in path.read_text().splitlines()]
                        if path.exists() else [] for path in logs.values()]
            for _ in range(200):
                if all(len(lines) >= want for lines in read()):
                    break
                yield task.deferLater(reactor, 0.02, lambda: None)
            for lines in read():
                assert len(lines) == want
                assert all(_same(e, g, False) for e, g in zip(expected, lines)), lines
            if "@modePath@" in logs:
                assert os.stat(logs["@modePath@"]).st_mode & 0o777 == 0o644
        else:
            for _ in range(200):
                if len(bodies) >= want:
                    break
                yield task.deferLater(reactor, 0.02, lambda: None)
            # Nothing more arrives after the last expected one.
            yield task.deferLater(reactor, 0.1, lambda: None)
            assert len(bodies) == want
            if expected:
                if "tcp" in case["transports"]:
                    bodies.sort(key=lambda b: b["time"])
                assert len(expected) == len(bodies)
                for i, (e, g) in enumerate(zip(expected, bodies)):
                    assert _same(e, g, case.get("ignores_data")), (i, e, g)
    finally:
        yield defer.gatherResults([defer.maybeDeferred(p.stopListening) for p in listeners])
