"""HTTP conventions of the middleware chain (reference §1, §5.1, §5.3)."""

from __future__ import annotations

import gzip
import json

import pytest

from kapacitord_tw import __version__
from tests.http.harness import JSON_TYPE, V1, Harness, err_body, parse_wire

NOT_FOUND_PRETTY = err_body("Not Found", pretty=True)


@pytest.fixture
def open_server(tmp_path):
    """[http] auth-enabled = false, [auth] enabled = true (bootstrap mode)."""
    return Harness(tmp_path, http_auth=False)


@pytest.fixture
def secured(tmp_path):
    h = Harness(tmp_path)
    h.add_user("root", "rootpw", admin=True)
    h.add_user("bob", "bobpw")
    return h


ROOT = ("root", "rootpw")
BOB = ("bob", "bobpw")


def test_ping_get_is_204_with_kapacitor_headers(open_server):
    r = open_server.get(V1 + "/ping")
    assert r.code == 204
    assert r.body == b""
    assert r.header("X-Kapacitor-Version") == __version__
    assert r.header("Content-Type") == JSON_TYPE
    assert len(r.header("Request-Id")) == 36
    assert open_server.app.stats.get("ping_req") == 1


def test_ping_head_is_204(open_server):
    r = open_server.request("HEAD", V1 + "/ping")
    assert r.code == 204
    assert r.header("X-Kapacitor-Version") == __version__


def test_request_ids_differ_and_client_value_is_overwritten(open_server):
    first = open_server.get(V1 + "/ping", headers={"Request-Id": "mine"})
    second = open_server.get(V1 + "/ping")
    assert first.header("Request-Id") != "mine"
    assert first.header("Request-Id") != second.header("Request-Id")


def test_no_server_header(open_server):
    assert open_server.get(V1 + "/ping").header("Server") is None
    assert open_server.get("/nowhere").header("Server") is None


def test_bare_ping_without_base_path_is_404(open_server):
    r = open_server.get("/ping")
    assert (r.code, r.body) == (404, NOT_FOUND_PRETTY)


def test_routes_lists_patterns_with_methods_sorted_and_pretty(open_server):
    r = open_server.get(V1 + "/:routes")
    assert r.code == 200
    routes = r.json()
    assert list(routes) == sorted(routes)
    assert sorted(routes[V1 + "/ping"]) == ["GET", "HEAD"]
    assert sorted(routes["/"]) == sorted(["GET", "POST", "PATCH", "PUT", "DELETE", "HEAD", "OPTIONS"])
    assert sorted(routes["/kapacitor/v1preview/"]) == sorted(routes["/"])
    assert sorted(routes[V1 + "/users"]) == ["GET", "POST"]
    assert sorted(routes[V1 + "/users/"]) == ["DELETE", "GET", "PATCH"]
    assert r.body == json.dumps(routes, indent=4).encode()


def test_unknown_path_is_pretty_404(open_server):
    r = open_server.get("/kapacitor/v1/nothing/here")
    assert (r.code, r.body) == (404, NOT_FOUND_PRETTY)
    assert r.header("Content-Type") == JSON_TYPE
    assert r.header("X-Kapacitor-Version") == __version__


def test_put_falls_into_the_catch_all(open_server):
    assert open_server.request("PUT", V1 + "/users/bob", body="{}").code == 404


def test_catch_all_needs_credentials_first(secured):
    r = secured.get(V1 + "/nothing")
    assert r.code == 401
    assert r.body == err_body("unable to parse authentication credentials", pretty=False)


def test_catch_all_is_403_for_user_without_privilege(secured):
    r = secured.get(V1 + "/nothing", auth=BOB)
    assert r.code == 403
    assert r.body == err_body(
        'user bob does not have "read" privilege for API endpoint "/kapacitor/v1/nothing"',
        pretty=False,
    )


def test_catch_all_is_404_for_privileged_user(secured):
    secured.add_user("ann", "annpw", permissions=["api"])
    assert secured.get(V1 + "/nothing", auth=("ann", "annpw")).code == 404
    assert secured.get(V1 + "/nothing", auth=ROOT).body == NOT_FOUND_PRETTY


def test_head_on_catch_all_needs_no_privilege(secured):
    assert secured.request("HEAD", V1 + "/nothing", auth=BOB).code == 404


def test_unknown_method_is_404_without_kapacitor_headers(secured):
    r = secured.request("FOO", V1 + "/ping")
    assert (r.code, r.body) == (404, NOT_FOUND_PRETTY)
    assert r.header("X-Kapacitor-Version") is None
    assert r.header("Request-Id") is None


def test_methods_are_case_sensitive(open_server):
    code, headers, body = parse_wire(
        open_server.raw(b"get /kapacitor/v1/ping HTTP/1.1\r\nHost: k\r\n\r\n")
    )
    assert (code, body) == (404, NOT_FOUND_PRETTY)
    assert "x-kapacitor-version" not in headers


def test_every_request_is_counted(open_server):
    open_server.get(V1 + "/ping")
    open_server.request("FOO", V1 + "/ping")
    open_server.get(V1 + "//ping")
    open_server.request("OPTIONS", "/x")
    assert open_server.app.stats.get("req") == 4


def test_options_anywhere_is_200_empty_without_auth(secured):
    for path in (V1 + "/ping", V1 + "/users/bob", "/not/registered", "/write"):
        r = secured.request("OPTIONS", path)
        assert (r.code, r.body) == (200, b"")
        assert r.header("X-Kapacitor-Version") is None
        assert r.header("Content-Type") is None
        assert r.header("Request-Id") is not None
        assert r.header("Access-Control-Allow-Origin") is None


def test_options_response_on_the_wire_has_content_length_0(secured):
    wire = secured.raw(b"OPTIONS /kapacitor/v1/tasks HTTP/1.1\r\nHost: k\r\n\r\n")
    head, _, body = wire.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ")
    assert b"\r\nContent-Length: 0" in head
    assert b"Content-Type" not in head
    assert body == b""


@pytest.mark.parametrize("method", [b"OPTIONS", b"GET"])
def test_star_request_target_is_400_and_closes(secured, method):
    wire = secured.raw(method + b" * HTTP/1.1\r\nHost: k\r\n\r\n")
    head, _, body = wire.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 ")
    assert b"\r\nConnection: close" in head
    assert body == b""
    assert secured.disconnected


def test_no_cors_headers_for_origins_not_allowed(secured):
    # Deliberate difference (issue #10 item 16): Kapacitor echoes any
    # Origin; the allow-list is empty by default (see test_cors.py).
    r = secured.request("OPTIONS", V1 + "/tasks", headers={"Origin": "https://evil.example"})
    assert r.code == 200
    assert r.header("Access-Control-Allow-Origin") is None
    assert r.header("Access-Control-Allow-Methods") is None


@pytest.mark.parametrize(
    "path, location",
    [
        (V1 + "//ping", V1 + "/ping"),
        (V1 + "/./ping", V1 + "/ping"),
        (V1 + "/users/../ping", V1 + "/ping"),
        (V1 + "/users//bob/", V1 + "/users/bob/"),
    ],
)
def test_unclean_paths_redirect_301_before_auth(secured, path, location):
    r = secured.get(path + "?u=a&p=b")
    assert r.code == 301
    assert r.header("Location") == location + "?u=a&p=b"
    assert r.header("Content-Type") == "text/html; charset=utf-8"
    assert r.body == f'<a href="{location}?u=a&amp;p=b">Moved Permanently</a>.\n\n'.encode()
    assert r.header("X-Kapacitor-Version") is None


def test_redirect_location_is_escaped_and_head_has_no_body(secured):
    r = secured.request("HEAD", "/a//b%20c'd(!)*$@")
    assert r.code == 301
    assert r.header("Location") == "/a/b%20c%27d%28%21%29%2A$@"
    assert r.body == b""
    code, headers, body = parse_wire(secured.raw(b"GET /a//b?q='<x>&y HTTP/1.1\r\nHost: k\r\n\r\n"))
    assert headers["location"] == ["/a/b?q='<x>&y"]
    assert body == b'<a href="/a/b?q=&#39;&lt;x&gt;&amp;y">Moved Permanently</a>.\n\n'


def test_unclean_post_redirects_without_body(secured):
    r = secured.post(V1 + "//users", body="{}")
    assert r.code == 301
    assert r.header("Location") == V1 + "/users"
    assert r.body == b""


def test_preview_prefix_is_rewritten_to_v1(open_server):
    r = open_server.get("/kapacitor/v1preview/ping")
    assert r.code == 204
    r = open_server.get("/kapacitor/v1preview/users/nobody")
    assert (r.code, r.error) == (404, "no user exists")


def test_preview_without_slash_is_404(open_server):
    assert open_server.get("/kapacitor/v1preview").body == NOT_FOUND_PRETTY


def test_preview_rewrite_is_authorized_against_both_resources(secured):
    secured.add_user("pinger", "pw", permissions=["write_points"])
    r = secured.get("/kapacitor/v1preview/ping", auth=("pinger", "pw"))
    assert r.code == 403
    assert "/kapacitor/v1preview/ping" in r.error


def test_percent_encoded_user_names(open_server):
    assert open_server.post(V1 + "/users", {"name": "José", "password": "x"}).code == 200
    assert open_server.get(V1 + "/users/Jos%C3%A9").json()["name"] == "José"
    for path in ("/users/a%2Fb", "/users/%FF", "/users/a%25b"):
        r = open_server.get(V1 + path)
        assert (r.code, r.body) == (404, err_body("no user exists", pretty=True))


def test_head_users_is_404_after_auth(secured):
    assert secured.request("HEAD", V1 + "/users").code == 401
    assert secured.request("HEAD", V1 + "/users", auth=ROOT).code == 404
    assert secured.request("HEAD", V1 + "/users", auth=BOB).code == 404


def test_users_routes_are_404_when_auth_service_disabled(tmp_path):
    h = Harness(tmp_path, http_auth=False, auth=False)
    r = h.get(V1 + "/users")
    assert (r.code, r.body) == (404, NOT_FOUND_PRETTY)


def _raw_get(h, path: str, *headers: bytes):
    extra = b"".join(header + b"\r\n" for header in headers)
    return parse_wire(h.raw(b"GET " + path.encode() + b" HTTP/1.1\r\nHost: k\r\n" + extra + b"\r\n"))


def test_gzip_when_accept_encoding_contains_gzip(open_server):
    code, headers, body = _raw_get(open_server, V1 + "/:routes", b"Accept-Encoding: x-gzip-ish")
    assert code == 200
    assert headers["content-encoding"] == ["gzip"]
    assert V1 + "/ping" in json.loads(gzip.decompress(body))


def test_no_gzip_without_gzip_in_accept_encoding(open_server):
    code, headers, body = _raw_get(open_server, V1 + "/:routes", b"Accept-Encoding: identity")
    assert "content-encoding" not in headers
    assert V1 + "/ping" in json.loads(body)


def test_gzip_also_applies_to_errors(open_server):
    code, headers, body = _raw_get(open_server, "/nothing", b"Accept-Encoding: gzip")
    assert code == 404
    assert gzip.decompress(body) == NOT_FOUND_PRETTY


@pytest.mark.parametrize(
    "first",
    [
        b"GET /kapacitor/v1/ping",
        b"HEAD /kapacitor/v1/ping",
        b"DELETE /kapacitor/v1/users/nobody",
        b"HEAD /kapacitor/v1/users",
    ],
)
def test_gzip_adds_no_bytes_to_bodiless_answers_on_keep_alive(open_server, first):
    wire = open_server.raw(
        first + b" HTTP/1.1\r\nHost: k\r\nAccept-Encoding: gzip\r\n\r\n"
        b"GET /kapacitor/v1/ping HTTP/1.1\r\nHost: k\r\n\r\n"
    )
    head, _, rest = wire.partition(b"\r\n\r\n")
    assert b"Content-Encoding: gzip" in head
    assert rest.startswith(b"HTTP/1.1 204 No Content\r\n")


def test_preview_rewrite_compresses_once_and_versions_once(open_server):
    # Deliberate deviation from §1.6: no double gzip or duplicate header.
    code, headers, body = _raw_get(
        open_server, "/kapacitor/v1preview/users/x", b"Accept-Encoding: gzip"
    )
    assert code == 404
    assert headers["content-encoding"] == ["gzip"]
    assert len(headers["x-kapacitor-version"]) == 1
    assert gzip.decompress(body) == err_body("no user exists", pretty=True)


def test_auth_errors_are_compact_and_handler_errors_pretty(secured):
    unauthorized = secured.get(V1 + "/users/x", auth=("root", "wrong"))
    assert unauthorized.body == err_body("authorization failed", pretty=False)
    assert unauthorized.header("Content-Type") == JSON_TYPE
    forbidden = secured.get(V1 + "/users", auth=BOB)
    assert forbidden.code == 403 and b"\n" not in forbidden.body
    for reply in (unauthorized, forbidden):
        assert reply.header("X-Kapacitor-Version") == __version__
        assert reply.header("Request-Id") is not None
        assert reply.header("Content-Type") == JSON_TYPE
    handler = secured.get(V1 + "/users/x", auth=ROOT)
    assert handler.body == err_body("no user exists", pretty=True)


def test_chunked_body_growing_over_max_body_size_is_413(tmp_path):
    h = Harness(tmp_path, http_auth=False, max_body_size=100)
    chunk = b"x" * 60
    wire = h.raw(
        b"POST /kapacitor/v1/users HTTP/1.1\r\nHost: k\r\nTransfer-Encoding: chunked\r\n\r\n"
        + b"3c\r\n" + chunk + b"\r\n" + b"3c\r\n" + chunk + b"\r\n0\r\n\r\n"
    )
    code, headers, body = parse_wire(wire)
    assert code == 413
    assert json.loads(body)["error"] == "request body too large: the limit is 100 bytes"
    assert h.disconnected


def test_body_over_max_body_size_is_413(tmp_path):
    h = Harness(tmp_path, http_auth=False, max_body_size=100)
    r = h.post(V1 + "/users", body=json.dumps({"name": "a" * 200, "password": "x"}))
    assert r.code == 413
    assert "too large" in r.error
    ok = h.post(V1 + "/users", body=json.dumps({"name": "small", "password": "x"}))
    assert ok.code == 200


@pytest.fixture
def access_log():
    from twisted.logger import globalLogPublisher

    events = []

    def observer(event):
        if event.get("log_format") == "http request":
            events.append(event)

    globalLogPublisher.addObserver(observer)
    yield events
    globalLogPublisher.removeObserver(observer)


def test_access_log_redacts_the_password(secured, access_log):
    secured.get(V1 + "/ping?u=root&p=rootpw&x=1")
    secured.get(V1 + "/ping", auth=ROOT)
    assert len(access_log) == 2
    first, second = access_log
    assert first["uri"] == "/kapacitor/v1/ping?u=root&p=[REDACTED]&x=1"
    assert first["username"] == "root" and first["status"] == 204
    assert second["username"] == "root"
    for event in access_log:
        assert "rootpw" not in repr(event)


def test_access_log_names_the_authenticated_user_not_the_u_query_one(secured, access_log):
    """Kapacitor logs ``u`` first; we log whom the guard let in (issue #10 #9)."""
    secured.get(V1 + "/ping?u=alice", auth=ROOT)
    secured.get(V1 + "/ping?u=bob")
    assert [e["username"] for e in access_log] == ["root", "bob"]
