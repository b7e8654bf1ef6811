"""
Who may do what (reference §2.7, §2.8, §9) with the deliberate fix #1: only
admins manage users; a normal user may read itself and change its own
password.  Every permission set × method × representative endpoint.
"""

from __future__ import annotations

import json

import pytest

from tests.http.harness import V1, Harness, err_body

PRIVILEGE = {"GET": "read", "POST": "write", "PATCH": "write", "DELETE": "delete"}

# Which path-checked areas each permission set reaches (§2.8 table; an
# `api` grant is fenced off from /write and /config by "none" entries).
EVERYTHING = {"ping", "tasks", "users", "config", "write", "unknown"}
REACH = {
    "none": set(),
    "empty": set(),
    "api": {"ping", "tasks", "users", "unknown"},
    "config_api": {"ping", "config"},
    "write_points": {"ping", "write"},
    "all": EVERYTHING,
    "api+config_api": {"ping", "tasks", "users", "unknown", "config"},
    "write_points+api": {"ping", "tasks", "users", "unknown", "write"},
    "api+config_api+write_points": EVERYTHING,
    "admin": EVERYTHING,
}
PERMISSIONS = {
    "none": ["none"],
    "empty": [],
    "api": ["api"],
    "config_api": ["config_api"],
    "write_points": ["write_points"],
    "all": ["all"],
    "api+config_api": ["api", "config_api"],
    "write_points+api": ["write_points", "api"],
    "api+config_api+write_points": ["api", "config_api", "write_points"],
    "admin": [],
}

# endpoint name → (path, area for the generic path check)
ENDPOINTS = {
    "ping": (V1 + "/ping", "ping"),
    "tasks": (V1 + "/tasks", "tasks"),
    "users": (V1 + "/users", "users"),
    "users/self": (V1 + "/users/bob", "users"),
    "users/other": (V1 + "/users/carol", "users"),
    "config": (V1 + "/config", "config"),
    "write": ("/write", "write"),
    "unknown": (V1 + "/no/such/thing", "unknown"),
}

# (method, endpoint) pairs served by the /users area (its own rule).
USERS_ROUTES = {
    ("GET", "users"), ("POST", "users"),
    ("GET", "users/self"), ("PATCH", "users/self"), ("DELETE", "users/self"),
    ("GET", "users/other"), ("PATCH", "users/other"), ("DELETE", "users/other"),
}
SELF_SERVICE = {("GET", "users/self"), ("PATCH", "users/self")}

BODIES = {
    "POST": json.dumps({"name": "newcomer", "password": "pw"}),
    "PATCH": json.dumps({"password": "bobpw"}),
}


def allowed(perm: str, method: str, endpoint: str) -> bool:
    if method == "HEAD" or perm == "admin":
        return True
    if (method, endpoint) in USERS_ROUTES:
        return (method, endpoint) in SELF_SERVICE
    return ENDPOINTS[endpoint][1] in REACH[perm]


@pytest.mark.parametrize("endpoint", sorted(ENDPOINTS))
@pytest.mark.parametrize("method", ["GET", "POST", "PATCH", "DELETE", "HEAD"])
@pytest.mark.parametrize("perm", sorted(PERMISSIONS))
def test_authorization_matrix(tmp_path, perm, method, endpoint):
    h = Harness(tmp_path)
    h.add_user("root", "rootpw", admin=True)
    h.add_user("carol", "carolpw", permissions=["api"])
    h.add_user("bob", "bobpw", admin=perm == "admin", permissions=PERMISSIONS[perm])
    path = ENDPOINTS[endpoint][0]
    r = h.request(method, path, body=BODIES.get(method), auth=("bob", "bobpw"))
    if allowed(perm, method, endpoint):
        assert r.code not in (401, 403), r.body
    else:
        assert r.code == 403
        assert r.body == err_body(
            f'user bob does not have "{PRIVILEGE[method]}" privilege for API endpoint "{path}"',
            pretty=False,
        )


@pytest.fixture
def users(tmp_path):
    h = Harness(tmp_path)
    h.add_user("root", "rootpw", admin=True)
    h.add_user("bob", "bobpw", permissions=["api"])
    return h


BOB = ("bob", "bobpw")


def test_api_user_cannot_promote_itself_to_admin(users):
    r = users.patch(V1 + "/users/bob", {"type": "admin"}, auth=BOB)
    assert r.code == 403
    assert r.body == err_body(
        'user bob does not have "write" privilege for API endpoint "/kapacitor/v1/users/bob"',
        pretty=False,
    )
    assert users.get(V1 + "/users/bob", auth=("root", "rootpw")).json()["type"] == "normal"


def test_user_cannot_change_own_permissions(users):
    r = users.patch(V1 + "/users/bob", {"password": "new", "permissions": ["all"]}, auth=BOB)
    assert r.code == 403
    assert 'does not have "write" privilege' in r.error
    # Nothing was applied, not even the password.
    assert users.get(V1 + "/ping", auth=BOB).code == 204


def test_user_cannot_clear_own_permissions_with_empty_list(users):
    assert users.patch(V1 + "/users/bob", {"permissions": []}, auth=BOB).code == 403


def test_user_may_change_own_password(users):
    r = users.patch(V1 + "/users/bob", {"password": "newpw"}, auth=BOB)
    assert r.code == 200
    assert r.json()["permissions"] == ["api"]
    assert users.get(V1 + "/ping", auth=("bob", "newpw")).code == 204


def test_user_may_send_null_permissions_with_password_change(users):
    r = users.patch(V1 + "/users/bob", {"password": "newpw", "permissions": None}, auth=BOB)
    assert r.code == 200


def test_user_reads_itself_but_not_others_or_the_list(users):
    assert users.get(V1 + "/users/bob", auth=BOB).json()["name"] == "bob"
    assert users.get(V1 + "/users/root", auth=BOB).code == 403
    assert users.get(V1 + "/users", auth=BOB).code == 403


def test_user_cannot_delete_itself(users):
    r = users.delete(V1 + "/users/bob", auth=BOB)
    assert r.code == 403
    assert 'does not have "delete" privilege' in r.error


def test_admin_manages_everyone(users):
    root = ("root", "rootpw")
    assert users.patch(V1 + "/users/bob", {"type": "admin"}, auth=root).code == 200
    assert users.delete(V1 + "/users/bob", auth=root).code == 204


def test_subscription_user_may_ping_but_not_read_users(tmp_path):
    h = Harness(tmp_path)
    h.put_record(
        "_sub:tok", privileges={"/api/write": 4, "/api/ping": 16, "/database/db_clean": 4}
    )
    sub = ("~subscriber", "tok")
    assert h.get(V1 + "/ping", auth=sub).code == 204
    r = h.get(V1 + "/users", auth=sub)
    assert r.code == 403
    assert r.error.startswith('user _sub:tok does not have "read" privilege')
