"""Issue #10 item 8: stored bcrypt costs converge on the configured one.

A user hashed at cost 4 answered wrong passwords in 2 ms while unknown
users (checked against a dummy hash at the configured cost) took 225 ms:
timing told which names exist.  A successful login now re-hashes the
password at the configured cost.
"""

from __future__ import annotations

import os

import bcrypt
import pytest
from twisted.logger import LogLevel, capturedLogs

from kapacitord_tw.auth.checkers import bcrypt_cost
from tests.http.harness import V1, Harness
from tests.storage.test_write_failures import DiskFull

PING = V1 + "/ping"


def stored_hash(h, name: str) -> bytes:
    return h.store.get_now("users", name)["hash"].encode()


@pytest.mark.parametrize("configured", [5, 6])
def test_login_rehashes_a_cheaper_hash_at_the_configured_cost(tmp_path, configured):
    h = Harness(tmp_path, cost=configured)
    h.add_user("root", "rootpw", admin=True)  # hashed at cost 4
    assert bcrypt_cost(stored_hash(h, "root")) == 4
    assert h.get(PING, auth=("root", "rootpw")).code == 204
    new = stored_hash(h, "root")
    assert bcrypt_cost(new) == configured
    assert bcrypt.checkpw(b"rootpw", new)
    # The password still works (checked against the new hash), the wrong one does not.
    h.app.bcrypt_checker.password_cache.forget("root")
    assert h.get(PING, auth=("root", "rootpw")).code == 204
    assert h.get(PING, auth=("root", "nope")).code == 401


def test_failed_login_does_not_rehash(tmp_path):
    h = Harness(tmp_path, cost=5)
    h.add_user("root", "rootpw", admin=True)
    before = stored_hash(h, "root")
    assert h.get(PING, auth=("root", "nope")).code == 401
    assert stored_hash(h, "root") == before


def test_hash_at_the_configured_cost_is_left_alone(tmp_path):
    h = Harness(tmp_path, cost=4)
    h.add_user("root", "rootpw", admin=True)
    before = stored_hash(h, "root")
    assert h.get(PING, auth=("root", "rootpw")).code == 204
    assert stored_hash(h, "root") == before
    assert h.workers.calls.count("hash_password") == 0


def test_a_rehash_the_store_refuses_is_logged_and_the_login_still_succeeds(tmp_path, monkeypatch):
    h = Harness(tmp_path, cost=5)
    h.add_user("root", "rootpw", admin=True)
    before = stored_hash(h, "root")
    monkeypatch.setattr(os, "write", DiskFull(os.write, "store.journal"))
    with capturedLogs() as events:
        assert h.get(PING, auth=("root", "rootpw")).code == 204
    assert any(e.get("username") == "root" and e.get("log_level") == LogLevel.warn
               and "re-hashed" in e.get("log_format", "") for e in events)
    assert stored_hash(h, "root") == before
    monkeypatch.undo()
    # The next password check (not one the caches answer) tries again.
    h.app.bcrypt_checker.password_cache.forget("root")
    assert h.get(PING + "?u=root&p=rootpw").code == 204
    assert bcrypt_cost(stored_hash(h, "root")) == 5
