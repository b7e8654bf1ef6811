"""Issue #10 item 7 through the API: a user change the store refused never takes effect.

Before: with the journal unwritable, ``POST /users {"type":"admin"}``
answered 500 yet the new admin could log in (and download a backup), and a
500'd promotion took effect in the login cache.
"""

from __future__ import annotations

import os

import pytest
from twisted.logger import capturedLogs

from tests.http.harness import V1, Harness, HeldPool
from tests.storage.test_write_failures import DiskFull

USERS = V1 + "/users"
PING = V1 + "/ping"
BACKUP = V1 + "/storage/backup"


@pytest.fixture
def h(tmp_path):
    harness = Harness(tmp_path, cache="1h")
    harness.add_user("root", "rootpw", admin=True)
    harness.add_user("bob", "bobpw", permissions=["api"])
    return harness


@pytest.fixture
def disk(monkeypatch):
    full = DiskFull(os.write, "store.journal")
    monkeypatch.setattr(os, "write", full)
    return full


ROOT = ("root", "rootpw")


def test_admin_created_on_a_full_disk_cannot_log_in_and_can_be_created_later(h, disk):
    with capturedLogs():
        r = h.post(USERS, {"name": "mallory", "password": "pw", "type": "admin"}, auth=ROOT)
    assert r.code == 500
    assert h.get(PING, auth=("mallory", "pw")).code == 401
    assert h.get(BACKUP, auth=("mallory", "pw")).code == 401
    assert h.get(USERS + "/mallory", auth=ROOT).code == 404
    assert h.app.userdb.admin_count() == 1

    disk.full = False  # space freed, no restart
    r = h.post(USERS, {"name": "mallory", "password": "pw", "type": "admin"}, auth=ROOT)
    assert r.code == 200
    assert h.get(PING, auth=("mallory", "pw")).code == 204
    assert h.app.userdb.admin_count() == 2


def test_promotion_refused_by_a_full_disk_does_not_reach_the_login_cache(h, disk):
    disk.full = False
    assert h.get(USERS, auth=("bob", "bobpw")).code == 403  # logged in, cached, not admin
    disk.full = True
    with capturedLogs():
        r = h.patch(USERS + "/bob", {"type": "admin"}, auth=ROOT)
    assert r.code == 500
    assert h.get(USERS, auth=("bob", "bobpw")).code == 403
    assert not h.app.userdb.is_admin("bob")
    assert h.get(USERS + "/bob", auth=ROOT).json()["type"] == "normal"


def test_password_change_refused_by_a_full_disk_keeps_the_old_password(h, disk):
    with capturedLogs():
        r = h.patch(USERS + "/bob", {"password": "newpw"}, auth=ROOT)
    assert r.code == 500
    assert h.get(PING, auth=("bob", "newpw")).code == 401
    assert h.get(PING, auth=("bob", "bobpw")).code == 204


def test_deletion_refused_by_a_full_disk_keeps_the_user(h, disk):
    with capturedLogs():
        r = h.delete(USERS + "/bob", auth=ROOT)
    assert r.code == 500
    assert h.get(PING, auth=("bob", "bobpw")).code == 204
    disk.full = False
    assert h.delete(USERS + "/bob", auth=ROOT).code == 204
    assert h.get(PING, auth=("bob", "bobpw")).code == 401


def test_login_during_an_unacknowledged_change_sees_the_acknowledged_user(h):
    """While a change is on its way to disk, authentication does not see it."""
    pool = h.store._pool = HeldPool()
    created = h.start("POST", USERS, {"name": "eve", "password": "pw", "type": "admin"}, auth=ROOT)
    promoted = h.start("PATCH", USERS + "/bob", {"type": "admin"}, auth=ROOT)
    h.stub.flush()
    assert pool.held, "the writes should be waiting for the disk"
    assert h.app.userdb.lookup("eve") is None
    assert not h.app.userdb.lookup("bob").admin
    assert h.app.userdb.admin_count() == 1
    pool.release_all()
    assert h.finish(created).code == 200
    assert h.finish(promoted).code == 200
    assert h.app.userdb.lookup("eve").admin
    assert h.app.userdb.lookup("bob").admin
    assert h.app.userdb.admin_count() == 3
