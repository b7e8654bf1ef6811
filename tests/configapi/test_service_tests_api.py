"""``/kapacitor/v1/service-tests`` with stub testers, and end to end with the
real Slack service against a local receiver whose URL is set through ``/config``."""

from __future__ import annotations

import json

import pytest
import pytest_twisted
from twisted.internet import defer, reactor
from twisted.internet.task import Clock
from twisted.web import resource, server

from kapacitord_tw.http.servicetests import ServiceTests, ServiceTestsAPI
from tests.http.harness import V1, Harness, err_body

TESTS = V1 + "/service-tests"


def encoder(obj) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode() + b"\n"


@pytest.fixture
def h(tmp_path):
    return Harness(tmp_path, http_auth=False)


def stub(h, name, options, result):
    """Register a test that records its options and answers *result*."""
    seen = []

    def run(opts):
        seen.append(opts)
        return result(opts) if callable(result) else result

    h.app.service_tests.register(name, options, run)
    return seen


def test_list_shows_every_registered_service_sorted_with_default_options(h):
    stub(h, "zz-stub", {"a": 1}, defer.succeed((True, "")))
    body = h.get(TESTS).json()
    names = [s["name"] for s in body["services"]]
    assert names == sorted(names)
    assert {"slack", "smtp", "httppost", "zz-stub"} <= set(names)
    assert body["services"][-1] == {
        "link": {"rel": "self", "href": "/kapacitor/v1/service-tests/zz-stub"},
        "name": "zz-stub", "options": {"a": 1}}


def test_list_by_pattern_and_bad_pattern(h):
    for name in ("zz-b", "zz-a", "zy"):
        stub(h, name, {}, defer.succeed((True, "")))
    r = h.get(TESTS + "?pattern=zz-*")
    assert [s["name"] for s in r.json()["services"]] == ["zz-a", "zz-b"]
    assert [s["name"] for s in h.get(TESTS + "?pattern=sl*").json()["services"]] == ["slack"]
    assert h.get(TESTS + "?pattern=nothing*").body == encoder(
        {"link": {"rel": "self", "href": TESTS}, "services": None})
    r = h.get(TESTS + "?pattern=[")
    assert (r.code, r.body) == (400, err_body("bad pattern: syntax error in pattern", True))


def test_get_one_and_errors(h):
    stub(h, "stub", {"x": "y"}, defer.succeed((True, "")))
    assert h.get(TESTS + "/stub").body == encoder({
        "link": {"rel": "self", "href": TESTS + "/stub"}, "name": "stub", "options": {"x": "y"}})
    r = h.get(TESTS + "/nope")
    assert (r.code, r.body) == (404, err_body('service "nope" not found', True))
    r = h.post(TESTS + "/", {})
    assert (r.code, r.body) == (400, err_body("must provide service name", True))


def test_post_merges_the_body_over_the_defaults(h):
    seen = stub(h, "stub", {"channel": "#a", "level": "CRITICAL"},
                defer.succeed((True, "")))
    r = h.post(TESTS + "/stub", {"CHANNEL": "#b", "unknown": 1})
    assert (r.code, r.body) == (200, encoder({"success": True, "message": ""}))
    assert seen == [{"channel": "#b", "level": "CRITICAL"}]
    h.post(TESTS + "/stub", "null")
    assert seen[-1] == {"channel": "#a", "level": "CRITICAL"}


def test_post_with_a_bad_body_is_a_400(h):
    stub(h, "stub", {"a": 1}, defer.succeed((True, "")))
    r = h.post(TESTS + "/stub", "")
    assert (r.code, r.body) == (400, err_body("failed to decode JSON body:EOF", True))


def test_a_failing_or_raising_test_is_success_false_never_a_500(h):
    stub(h, "fails", {}, defer.succeed((False, "connection refused")))
    stub(h, "raises", {}, lambda opts: 1 / 0)
    assert h.post(TESTS + "/fails", {}).json() == {"success": False,
                                                   "message": "connection refused"}
    r = h.post(TESTS + "/raises", {})
    assert r.code == 200
    assert r.json() == {"success": False, "message": "division by zero"}


def test_a_test_that_never_answers_times_out(tmp_path):
    """Driven on a Clock: the API's own timeout answers for a hung service."""
    clock = Clock()
    tests = ServiceTests()
    tests.register("hangs", {}, lambda opts: defer.Deferred())
    api = ServiceTestsAPI(tests, clock, timeout=5)
    request_d = _call(api, "POST", TESTS + "/hangs", b"{}")
    assert not request_d.called
    clock.advance(5)
    body = json.loads(request_d.result)
    assert body == {"success": False, "message": "timed out after 5s"}


def _call(api, method, path, body):
    """Call the area's Klein app directly with a dummy request."""
    from twisted.web.test.requesthelper import DummyRequest

    request = DummyRequest([])
    request.method = method.encode()
    request.path = path.encode()
    request.uri = path.encode()
    from io import BytesIO

    request.content = BytesIO(body)
    request.args = {}
    return defer.maybeDeferred(api.run, request)


def test_duplicate_registration_is_refused():
    tests = ServiceTests()
    tests.register("a", None, lambda o: None)
    with pytest.raises(ValueError, match='tester with name "a" already exists'):
        tests.register("a", None, lambda o: None)


def test_privileges_follow_the_path(tmp_path):
    h = Harness(tmp_path, http_auth=True)
    h.add_user("apiuser", permissions=["api"])
    h.add_user("cfg", permissions=["config_api"])
    assert h.get(TESTS, auth=("apiuser", "pw")).code == 200
    assert h.get(TESTS, auth=("cfg", "pw")).code == 403
    assert h.get(TESTS).code == 401


# ------------------------------------------------------------ end to end

class _Receiver(resource.Resource):
    isLeaf = True

    def __init__(self):
        super().__init__()
        self.bodies = []

    def render_POST(self, request):
        self.bodies.append((request.path.decode(), json.loads(request.content.read())))
        return b"ok"


@pytest_twisted.ensureDeferred
async def test_slack_url_set_through_config_is_used_by_the_next_test(tmp_path):
    receiver = _Receiver()
    port = reactor.listenTCP(0, server.Site(receiver), interface="127.0.0.1")
    try:
        h = Harness(tmp_path, reactor=reactor, http_auth=False)
        url = f"http://127.0.0.1:{port.getHost().port}/hooks/first"
        r = await h.wait(h.start("POST", V1 + "/config/slack/", {"set": {"url": url,
                                                                        "enabled": True}}))
        assert r.code == 204
        r = await h.wait(h.start("POST", TESTS + "/slack", {"channel": "#ops"}))
        assert r.json() == {"success": True, "message": ""}
        second = url.replace("first", "second")
        await h.wait(h.start("POST", V1 + "/config/slack/", {"set": {"url": second}}))
        r = await h.wait(h.start("POST", TESTS + "/slack", {"channel": "#ops"}))
        assert r.json() == {"success": True, "message": ""}
        assert [path for path, _ in receiver.bodies] == ["/hooks/first", "/hooks/second"]
        assert receiver.bodies[0][1]["channel"] == "#ops"
        assert receiver.bodies[0][1]["attachments"][0]["text"] == "test slack message"
    finally:
        await port.stopListening()
