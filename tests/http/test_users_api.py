"""The ``/users`` API (reference §3) with the project's fixes #6-#8, #14, #16, #23."""

from __future__ import annotations

import json

import bcrypt
import pytest

from kapacitord_tw.storage import JournalStore
from tests.http.harness import V1, Harness, HeldWorkers, InlinePool, err_body

USERS = V1 + "/users"


def pretty(obj) -> bytes:
    return json.dumps(obj, indent=4, ensure_ascii=False).encode()


def user_obj(name, type_="normal", permissions=()):
    return {
        "link": {"rel": "self", "href": f"/kapacitor/v1/users/{name}"},
        "name": name,
        "type": type_,
        "permissions": list(permissions),
    }


@pytest.fixture
def h(tmp_path):
    """Bootstrap mode: the API is usable without credentials."""
    return Harness(tmp_path, http_auth=False)


def assert_error(reply, code, message):
    assert (reply.code, reply.body) == (code, err_body(message, pretty=True))


def create(h, name, password="pw", **extra):
    return h.post(USERS, {"name": name, "password": password, **extra})


# -------------------------------------------------------------- create

def test_create_returns_200_with_the_pretty_user(h):
    r = create(h, "bob", permissions=["api"])
    assert r.code == 200
    assert r.body == pretty(user_obj("bob", permissions=["api"]))


def test_create_admin(h):
    r = create(h, "root", type="admin")
    assert r.body == pretty(user_obj("root", "admin"))


def test_created_user_is_durable_before_the_reply(h, tmp_path):
    create(h, "bob")
    fired = []
    h.store.close().addBoth(fired.append)
    reopened = JournalStore.open(str(tmp_path / "store.journal"), h.clock, InlinePool())
    record = reopened.get_now("users", "bob")
    assert bcrypt.checkpw(b"pw", record["hash"].encode())


def test_stored_hash_uses_configured_cost(h):
    create(h, "bob")
    stored = h.app.userdb.lookup_fresh("bob").hash
    assert stored.startswith(b"$2") and stored.split(b"$")[2] == b"04"


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"   ",
        b"{",
        b"[]",
        b'"bob"',
        b'{"name": 1, "password": "x"}',
        b'{"name": "bob", "password": 5}',
        b'{"name": "bob", "password": "x", "type": "root"}',
        b'{"name": "bob", "password": "x", "type": 1}',
        b'{"name": "bob", "password": "x", "permissions": ["bogus"]}',
        b'{"name": "bob", "password": "x", "permissions": "api"}',
        b'{"name": "bob", "password": "x", "permissions": [1]}',
        b'{"name": "bob", "password": "x", "extra": NaN}',
        b'{"name": "bob", "password": "x", "extra": -Infinity}',
    ],
)
def test_undecodable_create_body_is_invalid_json(h, body):
    assert_error(h.post(USERS, body), 400, "invalid JSON")


def test_name_is_required(h):
    assert_error(h.post(USERS, {"password": "x"}), 400, "username is required")
    assert_error(h.post(USERS, {"name": "", "password": "x"}), 400, "username is required")


def test_null_body_is_an_empty_request(h):
    assert_error(h.post(USERS, b"null"), 400, "username is required")


@pytest.mark.parametrize(
    "name, quoted",
    [
        ("bad name", '"bad name"'),
        ("a/b", '"a/b"'),
        ("bob\n", '"bob\\n"'),
        ('q"uote', '"q\\"uote"'),
        ("tab\there", '"tab\\there"'),
    ],
)
def test_name_must_match_the_username_rule(h, name, quoted):
    r = h.post(USERS, {"name": name, "password": "x"})
    assert_error(
        r, 400, "username must contain only letters, numbers, '-', '.', '@' and '_'. " + quoted
    )


def test_unicode_letters_and_symbols_are_allowed_in_names(h):
    r = create(h, "José-ok_1@x.y")
    assert r.code == 200
    assert r.json()["name"] == "José-ok_1@x.y"


def test_password_is_required(h):
    assert_error(h.post(USERS, {"name": "bob"}), 400, "password is required")
    assert_error(h.post(USERS, {"name": "bob", "password": ""}), 400, "password is required")


def test_keys_match_case_insensitively(h):
    r = h.post(USERS, b'{"NAME": "bob", "PassWord": "pw", "Type": "admin"}')
    assert r.body == pretty(user_obj("bob", "admin"))


def test_exact_key_wins_and_last_duplicate_wins(h):
    r = h.post(USERS, b'{"name": "first", "name": "bob", "password": "pw"}')
    assert r.json()["name"] == "bob"


def test_unknown_keys_and_trailing_bytes_are_ignored(h):
    r = h.post(USERS, b'{"name": "bob", "password": "pw", "extra": 1} trailing garbage {')
    assert r.code == 200


def test_password_over_72_bytes_is_400_at_create(h):
    r = create(h, "bob", password="x" * 73)
    assert_error(r, 400, "password is too long: bcrypt accepts at most 72 bytes, got 73")
    assert h.get(USERS + "/bob").code == 404


def test_password_limit_counts_utf8_bytes(h):
    assert create(h, "bob", password="é" * 36).code == 200          # 72 bytes
    assert create(h, "ann", password="é" * 37).code == 400          # 74 bytes


def test_duplicate_create_is_409_and_changes_nothing(h):
    create(h, "bob", password="first", permissions=["api"])
    r = create(h, "bob", password="second", type="admin")
    assert_error(r, 409, "user bob already exists")
    stored = h.app.userdb.lookup_fresh("bob")
    assert not stored.admin and bcrypt.checkpw(b"first", stored.hash)


def test_concurrent_duplicate_creates_make_one_user(tmp_path):
    held = HeldWorkers()
    h = Harness(tmp_path, http_auth=False, workers=held)
    first = h.start("POST", USERS, {"name": "bob", "password": "one"})
    second = h.start("POST", USERS, {"name": "bob", "password": "two"})
    held.release_all()
    replies = sorted([h.finish(first).code, h.finish(second).code])
    assert replies == [200, 409]


# ----------------------------------------------------------------- get

def test_get_user(h):
    create(h, "bob", permissions=["config_api"])
    r = h.get(USERS + "/bob")
    assert r.body == pretty(user_obj("bob", permissions=["config_api"]))


def test_get_missing_user_is_404(h):
    assert_error(h.get(USERS + "/nobody"), 404, "no user exists")


@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
def test_username_required_on_path(h, method):
    body = "{}" if method == "PATCH" else None
    assert_error(h.request(method, USERS + "/", body=body), 400, "must specify username on path")


def test_post_to_users_slash_is_404(h):
    assert_error(h.post(USERS + "/", {"name": "a", "password": "b"}), 404, "Not Found")


# -------------------------------------------------------------- update

def test_patch_password_only_keeps_permissions(h):
    create(h, "bob", permissions=["api", "write_points"])
    r = h.patch(USERS + "/bob", {"password": "newpw"})
    assert r.body == pretty(user_obj("bob", permissions=["api", "write_points"]))
    assert bcrypt.checkpw(b"newpw", h.app.userdb.lookup_fresh("bob").hash)


def test_patch_empty_permissions_removes_all(h):
    create(h, "bob", permissions=["api"])
    assert h.patch(USERS + "/bob", {"permissions": []}).json()["permissions"] == []


def test_patch_null_permissions_leaves_them(h):
    create(h, "bob", permissions=["api"])
    assert h.patch(USERS + "/bob", {"permissions": None}).json()["permissions"] == ["api"]


def test_patch_name_is_ignored(h):
    create(h, "bob")
    assert h.patch(USERS + "/bob", {"name": "eve"}).json()["name"] == "bob"
    assert h.get(USERS + "/eve").code == 404


def test_patch_to_admin_clears_permissions_even_those_sent(h):
    create(h, "bob", permissions=["api"])
    r = h.patch(USERS + "/bob", {"type": "admin", "permissions": ["all"]})
    assert r.body == pretty(user_obj("bob", "admin"))


def test_patch_admin_to_normal_keeps_the_map(h):
    create(h, "boss", type="admin", permissions=["config_api"])
    create(h, "other", type="admin")
    r = h.patch(USERS + "/boss", {"type": "normal"})
    assert r.body == pretty(user_obj("boss", permissions=["config_api"]))


def test_patch_missing_user_is_404(h):
    assert_error(h.patch(USERS + "/nobody", {"password": "x"}), 404, "no user exists")


@pytest.mark.parametrize("body", [b"", b"{", b'{"type": "root"}', b'{"permissions": [true]}'])
def test_patch_with_bad_body_is_invalid_json(h, body):
    create(h, "bob")
    assert_error(h.patch(USERS + "/bob", body), 400, "invalid JSON")


def test_password_over_72_bytes_is_400_at_update(h):
    create(h, "bob")
    r = h.patch(USERS + "/bob", {"password": "y" * 100})
    assert_error(r, 400, "password is too long: bcrypt accepts at most 72 bytes, got 100")
    assert bcrypt.checkpw(b"pw", h.app.userdb.lookup_fresh("bob").hash)


def test_permissions_round_trip_as_all(h):
    r = create(h, "bob", permissions=["api", "config_api", "write_points"])
    assert r.json()["permissions"] == ["all"]
    r = create(h, "ann", permissions=["none", "write_points", "api"])
    assert r.json()["permissions"] == ["api", "write_points"]


def test_concurrent_patches_of_password_and_permissions_both_survive(tmp_path):
    held = HeldWorkers()
    h = Harness(tmp_path, http_auth=False, workers=held)
    creating = h.start("POST", USERS, {"name": "bob", "password": "old"})
    held.release()
    assert h.finish(creating).code == 200
    password_change = h.start("PATCH", USERS + "/bob", {"password": "new"})
    assert len(held.queue) == 1  # hashing the new password
    permissions_change = h.finish(h.start("PATCH", USERS + "/bob", {"permissions": ["api"]}))
    assert permissions_change.json()["permissions"] == ["api"]
    held.release()
    assert h.finish(password_change).json()["permissions"] == ["api"]
    stored = h.app.userdb.lookup_fresh("bob")
    assert bcrypt.checkpw(b"new", stored.hash)
    assert stored.permissions() == ["api"]


# -------------------------------------------------------------- delete

def test_delete_user(h):
    create(h, "bob")
    r = h.delete(USERS + "/bob")
    assert (r.code, r.body) == (204, b"")
    assert h.get(USERS + "/bob").code == 404


def test_delete_missing_user_is_204(h):
    assert h.delete(USERS + "/nobody").code == 204


def test_slash_in_path_is_part_of_the_name(h):
    create(h, "a")
    assert_error(h.get(USERS + "/a/"), 404, "no user exists")
    assert_error(h.get(USERS + "/a/b"), 404, "no user exists")


# ----------------------------------------------------------- last admin

@pytest.fixture
def secured(tmp_path):
    h = Harness(tmp_path)
    h.add_user("root", "rootpw", admin=True)
    return h


ROOT = ("root", "rootpw")


def test_last_admin_cannot_be_deleted_when_http_auth_is_on(secured):
    r = secured.delete(USERS + "/root", auth=ROOT)
    assert r.code == 409
    assert "last admin" in r.error
    assert secured.get(USERS + "/root", auth=ROOT).code == 200


def test_last_admin_cannot_be_demoted_when_http_auth_is_on(secured):
    r = secured.patch(USERS + "/root", {"type": "normal"}, auth=ROOT)
    assert r.code == 409
    assert "last admin" in r.error
    assert secured.get(USERS + "/root", auth=ROOT).json()["type"] == "admin"


def test_an_admin_can_go_when_another_remains(secured):
    secured.add_user("second", "pw", admin=True)
    assert secured.delete(USERS + "/root", auth=ROOT).code == 204
    assert secured.patch(USERS + "/second", {"type": "normal"}, auth=("second", "pw")).code == 409


def test_demoting_a_normal_user_never_conflicts(secured):
    secured.add_user("bob", "pw")
    assert secured.patch(USERS + "/bob", {"type": "normal"}, auth=ROOT).code == 200
    assert secured.delete(USERS + "/bob", auth=ROOT).code == 204


def test_last_admin_may_go_when_http_auth_is_off(h):
    create(h, "root", type="admin")
    assert h.patch(USERS + "/root", {"type": "normal"}).code == 200
    create(h, "boss", type="admin")
    assert h.delete(USERS + "/boss").code == 204


# ---------------------------------------------------------------- list

def names(reply):
    return [u["name"] for u in reply.json()["users"]]


@pytest.fixture
def many(h):
    for name in ["bob", "B", "alice", "Zed", "émile", "_x", "bo", "carl.b"]:
        h.add_user(name)
    return h


def test_list_is_in_byte_order(many):
    assert names(many.get(USERS)) == ["B", "Zed", "_x", "alice", "bo", "bob", "carl.b", "émile"]


def test_list_entries_have_sorted_keys_and_are_pretty(h):
    create(h, "bob", permissions=["api"])
    r = h.get(USERS)
    entry = {
        "link": {"rel": "self", "href": "/kapacitor/v1/users/bob"},
        "name": "bob",
        "permissions": ["api"],
        "type": "normal",
    }
    assert r.body == pretty({"users": [entry]})


def test_empty_list(h):
    assert h.get(USERS).body == b'{\n    "users": []\n}'


@pytest.mark.parametrize(
    "pattern, expected",
    [
        ("b*", ["bo", "bob"]),
        ("b?", ["bo"]),
        ("[ab]*", ["alice", "bo", "bob"]),
        ("[^a-z]*", ["B", "Zed", "_x", "émile"]),
        ("*.b", ["carl.b"]),
        ("\\_x", ["_x"]),
        ("[", []),
        ("nomatch", []),
    ],
)
def test_list_pattern_is_a_go_glob(many, pattern, expected):
    from urllib.parse import quote

    assert names(many.get(USERS + "?pattern=" + quote(pattern))) == expected


def test_list_fields_always_include_name_and_link(h):
    create(h, "bob", permissions=["api"])
    entry = h.get(USERS + "?fields=type").json()["users"][0]
    assert list(entry) == ["link", "name", "type"]
    entry = h.get(USERS + "?fields=permissions&fields=type").json()["users"][0]
    assert list(entry) == ["link", "name", "permissions", "type"]
    entry = h.get(USERS + "?fields=name").json()["users"][0]
    assert list(entry) == ["link", "name"]


def test_list_unsupported_field_is_400(h):
    create(h, "bob")
    assert_error(h.get(USERS + "?fields=password"), 400, 'unsupported field "password"')


def test_list_offset_and_limit(many):
    assert names(many.get(USERS + "?offset=2&limit=3")) == ["_x", "alice", "bo"]
    assert names(many.get(USERS + "?pattern=b*&offset=1")) == ["bob"]
    assert names(many.get(USERS + "?offset=100")) == []


def test_list_limit_zero_is_empty(many):
    assert names(many.get(USERS + "?limit=0")) == []


def test_list_default_limit_is_100(h):
    for i in range(101):
        h.put_record(f"u{i:03d}")
    listed = names(h.get(USERS))
    assert len(listed) == 100 and listed[-1] == "u099"
    assert len(names(h.get(USERS + "?limit=1000"))) == 101


@pytest.mark.parametrize("param", ["offset", "limit"])
def test_list_non_integer_parameter_is_a_single_400(many, param):
    r = many.get(USERS + f"?{param}=ten")
    assert_error(
        r, 400,
        f'invalid {param} parameter "ten" must be an integer: '
        'strconv.ParseInt: parsing "ten": invalid syntax',
    )


def test_list_out_of_range_parameter_is_400(many):
    r = many.get(USERS + "?offset=99999999999999999999")
    assert r.code == 400
    assert r.error.endswith('parsing "99999999999999999999": value out of range')


@pytest.mark.parametrize("param", ["offset", "limit"])
def test_list_negative_parameter_is_400(many, param):
    r = many.get(USERS + f"?{param}=-1&pattern=b*")
    assert_error(r, 400, f'invalid {param} parameter "-1" must not be negative')
