"""
Deeply nested JSON (issue #10 item 13): ~1,500 levels in a request body or a
Bearer token's payload is the client's bad input, answered with Kapacitor's
JSON error, never a ``RecursionError`` escaping as Twisted's HTML 500.
"""

from __future__ import annotations

import base64
import json

import pytest

from tests.http.harness import V1, Harness, err_body

SECRET = "nested-json-secret-" * 3
ADMIN = ("admin", "pw")
DEPTH = 1_500


def nested(depth: int = DEPTH, inner: str = "1") -> str:
    return "[" * depth + inner + "]" * depth


def nested_object(depth: int = DEPTH) -> str:
    return '{"a":' * depth + "1" + "}" * depth


@pytest.fixture
def h(tmp_path):
    harness = Harness(tmp_path, secret=SECRET)
    harness.add_user(*ADMIN, admin=True)
    return harness


def assert_json_error(reply, code: int, message: str, pretty: bool = True) -> None:
    assert reply.code == code, reply.body[:200]
    assert reply.body == err_body(message, pretty=pretty)


@pytest.mark.parametrize("body", [
    nested(),                                   # the whole body
    '{"name":"x","password":"y","permissions":' + nested() + "}",   # a field
    '{"name":' + nested_object() + "}",         # an object field
])
def test_nested_user_body_is_400_invalid_json(h, body):
    reply = h.post(V1 + "/users", body, auth=ADMIN)
    assert_json_error(reply, 400, "invalid JSON")


def test_nested_user_update_is_400_invalid_json(h):
    h.post(V1 + "/users", {"name": "bob", "password": "pw"}, auth=ADMIN)
    reply = h.patch(V1 + "/users/bob", '{"permissions":' + nested() + "}", auth=ADMIN)
    assert_json_error(reply, 400, "invalid JSON")


def test_nested_loglevel_body_is_400(h):
    reply = h.post(V1 + "/loglevel", '{"level":' + nested() + "}", auth=ADMIN)
    assert_json_error(reply, 400, "invalid json: exceeded max depth")


def test_nested_storage_body_is_400(h):
    reply = h.post(V1 + "/storage/stores/tasks", nested(), auth=ADMIN)
    assert_json_error(reply, 400, "failed to unmarshal storage action exceeded max depth")


def test_nested_task_body_is_400(h):
    reply = h.post(V1 + "/tasks", '{"id":"t","vars":' + nested_object() + "}", auth=ADMIN)
    assert reply.code == 400, reply.body[:200]
    assert reply.json()["error"] == "invalid JSON"


def _segment(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).rstrip(b"=").decode()


def test_bearer_token_with_a_nested_payload_is_401_not_500(h):
    header = _segment(json.dumps({"alg": "HS512", "typ": "JWT"}))
    payload = _segment('{"username":"admin","exp":9999999999,"x":' + nested() + "}")
    token = f"{header}.{payload}.c2ln"
    reply = h.get(V1 + "/ping", headers={"Authorization": "Bearer " + token})
    assert_json_error(reply, 401, "invalid token: exceeded max depth", pretty=False)


def test_bearer_token_with_a_nested_header_is_401_not_500(h):
    header = _segment('{"alg":"HS512","x":' + nested_object() + "}")
    payload = _segment(json.dumps({"username": "admin", "exp": 9999999999}))
    reply = h.get(V1 + "/ping", headers={"Authorization": f"Bearer {header}.{payload}.c2ln"})
    assert_json_error(reply, 401, "invalid token: exceeded max depth", pretty=False)


def test_moderate_nesting_is_still_decoded(h):
    # Not every deep value is refused: 50 levels decode and fail on type,
    # as Go's decoder would.
    reply = h.post(V1 + "/loglevel", '{"level":' + nested(50) + "}", auth=ADMIN)
    assert reply.code == 400
    assert reply.json()["error"] == "invalid json: expected a string"
