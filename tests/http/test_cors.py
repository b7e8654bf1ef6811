"""
CORS (issue #10 item 16): only origins in ``[http] cors-allowed-origins``
get CORS headers; Kapacitor's echo of any ``Origin`` is gone.
"""

from __future__ import annotations

import pytest

from tests.http.harness import V1, Harness
from tests.ops.support import ADMIN, with_settings

ALLOWED = "https://dash.example"
METHODS = "DELETE, GET, OPTIONS, POST, PATCH"
HEADERS = (
    "Accept, Accept-Encoding, Authorization, Content-Length, Content-Type, "
    "X-CSRF-Token, X-HTTP-Method-Override"
)
CORS = (
    "Access-Control-Allow-Origin",
    "Access-Control-Allow-Credentials",
    "Access-Control-Allow-Methods",
    "Access-Control-Allow-Headers",
)


def harness(tmp_path, monkeypatch, origins) -> Harness:
    with_settings(monkeypatch, http={"cors_allowed_origins": origins})
    h = Harness(tmp_path, http_auth=True)
    h.add_user(*ADMIN, admin=True)
    return h


@pytest.fixture
def h(tmp_path, monkeypatch):
    return harness(tmp_path, monkeypatch, (ALLOWED, "http://localhost:8888"))


def cors_headers(reply) -> dict:
    return {name: reply.header(name) for name in CORS if reply.header(name) is not None}


def test_by_default_no_origin_gets_cors_headers(tmp_path):
    h = Harness(tmp_path, http_auth=True)
    h.add_user(*ADMIN, admin=True)
    for method in ("OPTIONS", "GET"):
        r = h.request(method, V1 + "/ping", headers={"Origin": "https://evil.example"},
                      auth=ADMIN)
        assert cors_headers(r) == {}
        assert r.header("Vary") is None


def test_allowed_origin_is_echoed_with_credentials(h):
    r = h.get(V1 + "/ping", headers={"Origin": ALLOWED}, auth=ADMIN)
    assert r.code == 204
    assert cors_headers(r) == {
        "Access-Control-Allow-Origin": ALLOWED,
        "Access-Control-Allow-Credentials": "true",
        "Access-Control-Allow-Methods": METHODS,
        "Access-Control-Allow-Headers": HEADERS,
    }
    assert r.header("Vary") == "Origin"


def test_preflight_of_an_allowed_origin_is_200_with_cors_headers(h):
    r = h.request("OPTIONS", V1 + "/tasks", headers={
        "Origin": "http://localhost:8888", "Access-Control-Request-Method": "POST"})
    assert (r.code, r.body) == (200, b"")
    assert r.header("Access-Control-Allow-Origin") == "http://localhost:8888"
    assert r.header("Access-Control-Allow-Credentials") == "true"


@pytest.mark.parametrize("origin", [
    "https://evil.example",
    "https://dash.example.evil.example",   # not a prefix match
    "https://DASH.example",                # exact match only
    "null",
])
def test_other_origins_get_no_cors_headers(h, origin):
    for method in ("OPTIONS", "GET"):
        r = h.request(method, V1 + "/ping", headers={"Origin": origin}, auth=ADMIN)
        assert cors_headers(r) == {}, origin
        # The preflight answer itself is Kapacitor's, unauthenticated 200.
        assert r.code == (200 if method == "OPTIONS" else 204)


def test_the_first_origin_header_counts(h):
    r = h.stub.get("http://k" + V1 + "/ping", headers={"Origin": ["https://evil.example", ALLOWED]})
    reply = h.finish(r.addCallback(h._read))
    assert cors_headers(reply) == {}


def test_a_refused_request_from_an_allowed_origin_still_has_cors_headers(h):
    # So the page can read the 401 and ask for credentials.
    r = h.get(V1 + "/ping", headers={"Origin": ALLOWED})
    assert r.code == 401
    assert r.header("Access-Control-Allow-Origin") == ALLOWED


def test_star_lets_any_origin_in_without_credentials(tmp_path, monkeypatch):
    h = harness(tmp_path, monkeypatch, ("*", ALLOWED))
    r = h.get(V1 + "/ping", headers={"Origin": "https://anyone.example"}, auth=ADMIN)
    assert r.header("Access-Control-Allow-Origin") == "*"
    assert r.header("Access-Control-Allow-Credentials") is None
    assert r.header("Access-Control-Allow-Methods") == METHODS
    r = h.get(V1 + "/ping", headers={"Origin": ALLOWED}, auth=ADMIN)
    assert r.header("Access-Control-Allow-Origin") == ALLOWED
    assert r.header("Access-Control-Allow-Credentials") == "true"
