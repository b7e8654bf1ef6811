"""
The user cache (``[auth] cache-expiration``), the password fast path, and
where bcrypt runs (reference §2.5, with fixes #4 and #5).
"""

from __future__ import annotations

import threading

import attrs
import bcrypt
import pytest
import pytest_twisted
from twisted.internet import reactor

from kapacitord_tw.auth.workers import CPUWorkers
from tests.http.harness import V1, Harness, HeldWorkers, err_body

PING = V1 + "/ping"
BOB = ("bob", "bobpw")
ROOT = ("root", "rootpw")


def make(tmp_path, cache="10m"):
    h = Harness(tmp_path, cache=cache)
    h.add_user("root", "rootpw", admin=True)
    h.add_user("bob", "bobpw", permissions=["api"])
    return h


def strip_bob_in_store(h):
    """Change bob behind the user DB's back: same password, no privileges."""
    stored = h.store.get_now("users", "bob")
    h.put_record("bob", hash=stored["hash"])


# --------------------------------------------------------- user cache

def test_user_cache_serves_until_cache_expiration(tmp_path):
    h = make(tmp_path, cache="10m")
    assert h.get(PING, auth=BOB).code == 204
    strip_bob_in_store(h)
    h.clock.advance(599)
    assert h.get(PING, auth=BOB).code == 204
    h.clock.advance(2)
    r = h.get(PING, auth=BOB)
    assert r.code == 403


def test_zero_cache_expiration_reads_the_store_every_time(tmp_path):
    h = make(tmp_path, cache="0s")
    assert h.get(PING, auth=BOB).code == 204
    strip_bob_in_store(h)
    assert h.get(PING, auth=BOB).code == 403


def test_wrong_password_evicts_the_cached_user(tmp_path):
    h = make(tmp_path, cache="1h")
    assert h.get(PING, auth=BOB).code == 204
    strip_bob_in_store(h)
    assert h.get(PING, auth=BOB).code == 204          # still cached
    assert h.get(PING, auth=("bob", "wrong")).code == 401
    assert h.get(PING, auth=BOB).code == 403          # re-read from the store


def test_user_deleted_in_store_is_gone_after_expiry(tmp_path):
    h = make(tmp_path, cache="1m")
    assert h.get(PING, auth=BOB).code == 204
    h.store.delete("users", "bob")
    h.clock.advance(61)
    assert h.get(PING, auth=BOB).body == err_body("authorization failed", pretty=False)


# ------------------------------------------------------ password cache

def test_second_login_skips_bcrypt(tmp_path):
    h = make(tmp_path)
    assert h.get(PING, auth=BOB).code == 204
    assert h.get(PING, auth=BOB).code == 204
    assert h.get(PING + "?u=bob&p=bobpw").code == 204
    assert h.workers.checks() == 1


def test_password_cache_lasts_one_hour(tmp_path):
    h = make(tmp_path, cache="2h")
    h.get(PING, auth=BOB)
    h.clock.advance(3599)
    h.get(PING, auth=BOB)
    assert h.workers.checks() == 1
    h.clock.advance(2)
    assert h.get(PING, auth=BOB).code == 204
    assert h.workers.checks() == 2


def test_wrong_password_is_not_answered_from_the_cache(tmp_path):
    h = make(tmp_path)
    h.get(PING, auth=BOB)
    assert h.get(PING, auth=("bob", "bobpw2")).code == 401
    assert h.workers.checks() == 2


def test_password_change_stops_the_old_password_at_once(tmp_path):
    h = make(tmp_path, cache="1h")
    assert h.get(PING, auth=BOB).code == 204            # old password now cached
    assert h.patch(V1 + "/users/bob", {"password": "newpw"}, auth=ROOT).code == 200
    assert h.get(PING, auth=BOB).body == err_body("authorization failed", pretty=False)
    assert h.get(PING, auth=("bob", "newpw")).code == 204


def test_own_password_change_stops_the_old_password(tmp_path):
    h = make(tmp_path, cache="1h")
    assert h.patch(V1 + "/users/bob", {"password": "newpw"}, auth=BOB).code == 200
    assert h.get(PING, auth=BOB).code == 401
    assert h.get(PING, auth=("bob", "newpw")).code == 204


def test_deletion_stops_the_cached_password_at_once(tmp_path):
    h = make(tmp_path, cache="1h")
    assert h.get(PING, auth=BOB).code == 204
    assert h.delete(V1 + "/users/bob", auth=ROOT).code == 204
    assert h.get(PING, auth=BOB).code == 401


def test_recreated_user_needs_the_new_password(tmp_path):
    h = make(tmp_path, cache="1h")
    h.get(PING, auth=BOB)
    h.delete(V1 + "/users/bob", auth=ROOT)
    h.post(V1 + "/users", {"name": "bob", "password": "other", "permissions": ["api"]}, auth=ROOT)
    assert h.get(PING, auth=BOB).code == 401
    assert h.get(PING, auth=("bob", "other")).code == 204


def test_password_changed_while_bcrypt_runs_refuses_the_old_password(tmp_path):
    held = HeldWorkers()
    h = Harness(tmp_path, workers=held, cache="1h")
    bob = h.add_user("bob", "bobpw", permissions=["api"])
    login = h.start("GET", PING, auth=BOB)
    assert len(held.queue) == 1                       # bcrypt check in flight
    new_hash = bcrypt.hashpw(b"newpw", bcrypt.gensalt(4))
    h.app.userdb.replace(attrs.evolve(bob, hash=new_hash))
    held.release()
    assert h.finish(login).code == 401
    assert len(h.app.bcrypt_checker.password_cache) == 0


def test_user_deleted_while_bcrypt_runs_is_refused(tmp_path):
    held = HeldWorkers()
    h = Harness(tmp_path, workers=held, cache="1h")
    h.add_user("bob", "bobpw", permissions=["api"])
    login = h.start("GET", PING, auth=BOB)
    h.app.userdb.delete("bob")
    held.release()
    assert h.finish(login).code == 401


def test_unknown_user_costs_a_bcrypt_check(tmp_path):
    h = make(tmp_path)
    assert h.get(PING, auth=("ghost", "pw")).code == 401
    assert h.workers.checks() == 1


def test_hashless_user_costs_a_bcrypt_check(tmp_path):
    h = make(tmp_path)
    h.put_record("_sub:tok")
    assert h.get(PING + "?u=_sub:tok&p=x").code == 401
    assert h.workers.checks() == 1


def test_wrong_password_costs_a_bcrypt_check(tmp_path):
    h = make(tmp_path)
    h.get(PING, auth=("bob", "wrong"))
    assert h.workers.checks() == 1


# ------------------------------------------------- bcrypt off the reactor

@pytest.fixture
def bcrypt_threads(monkeypatch):
    """Thread ids of every bcrypt hash and check."""
    seen = []
    real_check, real_hash = bcrypt.checkpw, bcrypt.hashpw

    def checkpw(*args):
        seen.append(("check", threading.get_ident()))
        return real_check(*args)

    def hashpw(*args):
        seen.append(("hash", threading.get_ident()))
        return real_hash(*args)

    monkeypatch.setattr(bcrypt, "checkpw", checkpw)
    monkeypatch.setattr(bcrypt, "hashpw", hashpw)
    return seen


@pytest_twisted.ensureDeferred
async def test_bcrypt_never_runs_on_the_reactor_thread(tmp_path, bcrypt_threads):
    h = Harness(tmp_path, reactor=reactor, cache="1h")
    try:
        assert isinstance(h.workers, CPUWorkers)
        h.workers.startService()
        reactor_thread = threading.get_ident()
        h.add_user("root", "rootpw", admin=True)
        del bcrypt_threads[:]  # that hash was the test's own
        bob = await h.wait(h.start("POST", V1 + "/users",
                                   {"name": "bob", "password": "bobpw"}, auth=ROOT))
        assert bob.code == 200
        assert (await h.wait(h.start("GET", PING, auth=ROOT))).code == 204
        assert (await h.wait(h.start("GET", PING, auth=("root", "bad")))).code == 401
        assert (await h.wait(h.start("GET", PING, auth=("ghost", "bad")))).code == 401
        kinds = {kind for kind, _ in bcrypt_threads}
        assert kinds == {"hash", "check"}
        assert len([k for k, _ in bcrypt_threads if k == "check"]) >= 3
        assert all(ident != reactor_thread for _, ident in bcrypt_threads)
    finally:
        h.workers.stopService()


@pytest_twisted.ensureDeferred
async def test_full_bcrypt_queue_is_503(tmp_path):
    h = Harness(tmp_path, reactor=reactor, bcrypt_queue_size=1)
    release = threading.Event()
    try:
        h.add_user("root", "rootpw", admin=True)
        busy = h.workers.run(release.wait, 10)
        r = await h.wait(h.start("GET", PING, auth=ROOT))
        assert r.code == 503
        assert r.header("Retry-After") == "1"
        assert r.body == err_body("authentication is busy, retry later", pretty=False)
        release.set()
        await busy
        assert (await h.wait(h.start("GET", PING, auth=ROOT))).code == 204
    finally:
        release.set()
        h.workers.stopService()


@pytest_twisted.ensureDeferred
async def test_full_bcrypt_queue_refuses_user_creation_with_503(tmp_path):
    h = Harness(tmp_path, reactor=reactor, http_auth=False, bcrypt_queue_size=1)
    release = threading.Event()
    try:
        busy = h.workers.run(release.wait, 10)
        r = await h.wait(h.start("POST", V1 + "/users", {"name": "a", "password": "b"}))
        assert r.code == 503
        assert r.error == "password hashing is busy, retry later"
        release.set()
        await busy
    finally:
        release.set()
        h.workers.stopService()
