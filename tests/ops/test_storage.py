"""``/kapacitor/v1/storage`` (reference §8.1, README "Storage, backup and
restore"): listing and rebuilding stores, and the admin-only backup."""

from __future__ import annotations

import base64
import json

import pytest

from kapacitord_tw.storage import JournalStore
from tests.http.harness import JSON_TYPE, V1, InlinePool, SyncClock, err_body, parse_wire
from tests.ops.support import ADMIN, secured

STORES = V1 + "/storage/stores"
BACKUP = V1 + "/storage/backup"
REBUILD = {"action": "rebuild"}


@pytest.fixture
def h(tmp_path):
    return secured(tmp_path)


def assert_error(reply, code, message):
    assert (reply.code, reply.body) == (code, err_body(message, pretty=True))


def test_stores_are_listed_with_links(h):
    r = h.get(STORES, auth=ADMIN)
    assert r.code == 200
    assert r.header("Content-Type") == JSON_TYPE
    assert r.body == json.dumps({
        "link": {"rel": "self", "href": STORES},
        "storage": [{"link": {"rel": "self", "href": STORES + "/tasks"}, "name": "tasks"}],
    }, indent=4).encode()


def test_rebuild_is_204_and_keeps_every_record(h, tmp_path):
    h.add_user("bob", "bob-pw", permissions=["api"])
    r = h.post(STORES + "/tasks", REBUILD, auth=ADMIN)
    assert (r.code, r.body) == (204, b"")
    assert h.get(V1 + "/users/bob", auth=("bob", "bob-pw")).code == 200
    assert sorted(h.store.keys("users")) == ["admin", "bob"]


@pytest.mark.parametrize("path, name", [
    ("/storage/stores/x", "x"),
    ("/storage/stores/users", "users"),
    ("/storage/stores/tasks/", "tasks/"),
    ("/storage/stores/", ""),
    ("/storage/x/y", "x/y"),
])
def test_unknown_store_is_404(h, path, name):
    assert_error(h.post(V1 + path, REBUILD, auth=ADMIN), 404, f'unknown storage "{name}"')


def test_unknown_action_is_400(h):
    assert_error(h.post(STORES + "/tasks", {"action": "foo"}, auth=ADMIN), 400,
                 "failed to unmarshal storage action unknown StorageAction foo")


@pytest.mark.parametrize("body", [b"", b"{", b"[]", b'{"action": 1}', b"\xff"])
def test_malformed_action_body_is_400(h, body):
    r = h.post(STORES + "/tasks", body, auth=ADMIN)
    assert r.code == 400
    assert r.error.startswith("failed to unmarshal storage action ")


def test_api_users_may_list_and_rebuild(h):
    h.add_user("operator", permissions=["api"])
    assert h.get(STORES, auth=("operator", "pw")).code == 200
    assert h.post(STORES + "/tasks", REBUILD, auth=("operator", "pw")).code == 204


# ------------------------------------------------------------- backup

def raw_get(h, path, user=ADMIN, extra=b""):
    token = base64.b64encode(f"{user[0]}:{user[1]}".encode())
    wire = h.raw(b"GET " + path.encode() + b" HTTP/1.1\r\nHost: k\r\n"
                 b"Authorization: Basic " + token + b"\r\n" + extra + b"\r\n")
    return parse_wire(wire)


def test_backup_is_an_octet_stream_attachment_with_a_length(h):
    status, headers, body = raw_get(h, BACKUP, extra=b"Accept-Encoding: gzip\r\n")
    assert status == 200
    assert headers["content-type"] == ["application/octet-stream"]
    assert headers["content-disposition"] == ['attachment; filename="kapacitord-tw.journal"']
    assert headers["content-length"] == [str(len(body))]
    assert "content-encoding" not in headers
    assert body == h.store.snapshot_bytes()


def test_backup_opens_as_a_store_holding_every_user(h, tmp_path):
    h.add_user("bob", "bob-pw", permissions=["write_points"])
    r = h.get(BACKUP, auth=ADMIN)
    assert r.code == 200
    restored = tmp_path / "restored" / "kapacitord-tw.journal"
    restored.parent.mkdir()
    restored.write_bytes(r.body)
    store = JournalStore.open(str(restored), SyncClock(), InlinePool())
    try:
        assert sorted(store.keys("users")) == ["admin", "bob"]
        assert store.get_now("users", "bob") == h.store.get_now("users", "bob")
    finally:
        store.close()


@pytest.mark.parametrize("permissions", [["api"], ["all"], []])
def test_backup_needs_an_admin(h, permissions):
    h.add_user("operator", permissions=permissions)
    r = h.get(BACKUP, auth=("operator", "pw"))
    message = ('user operator does not have "read" privilege for API endpoint '
               '"/kapacitor/v1/storage/backup"')
    assert (r.code, r.body) == (403, err_body(message, pretty=False))


def test_backup_without_credentials_is_401(h):
    assert h.get(BACKUP).code == 401
