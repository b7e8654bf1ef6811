"""
The guard's login memo: a proven Basic header is recognised by a keyed
digest on later requests, but only while the user and the hash it was
proven against are still what the user DB says.
"""

from __future__ import annotations

import base64

import attrs
import bcrypt
from twisted.internet.task import Clock

from kapacitord_tw.auth.memo import MEMO_SECONDS, LoginMemo
from kapacitord_tw.auth.privileges import User
from tests.http.harness import V1, Harness, basic

PING = V1 + "/ping"
BOB = ("bob", "bobpw")
HEADER = basic(*BOB).encode()


def make(tmp_path, cache="1h"):
    h = Harness(tmp_path, cache=cache)
    h.add_user("root", "rootpw", admin=True)
    h.add_user("bob", "bobpw", permissions=["api"])
    return h


def memo_with(users):
    clock = Clock()
    memo = LoginMemo(clock, max_entries=3)
    memo.attach(users.get)
    return clock, memo


def bob_user(password=b"bobpw"):
    return User(name="bob", hash=bcrypt.hashpw(password, bcrypt.gensalt(4)))


# ------------------------------------------------------------ the memo


def test_remembered_header_gives_the_users_current_value():
    bob = bob_user()
    users = {"bob": bob}
    _clock, memo = memo_with(users)
    memo.remember(memo.digest(HEADER), "bob", bob.hash)
    assert memo.user_for(HEADER) is bob
    # A privilege change (same hash) is seen at once: the user comes from the DB.
    users["bob"] = attrs.evolve(bob, admin=True)
    assert memo.user_for(HEADER) is users["bob"]


def test_unknown_header_is_not_recognised():
    bob = bob_user()
    _clock, memo = memo_with({"bob": bob})
    memo.remember(memo.digest(HEADER), "bob", bob.hash)
    assert memo.user_for(basic("bob", "bobpw2").encode()) is None
    assert memo.user_for(HEADER.replace(b"Basic", b"basic")) is None


def test_changed_hash_or_deleted_user_is_not_recognised():
    bob = bob_user()
    users = {"bob": bob}
    _clock, memo = memo_with(users)
    memo.remember(memo.digest(HEADER), "bob", bob.hash)
    users["bob"] = attrs.evolve(bob, hash=bcrypt.hashpw(b"other", bcrypt.gensalt(4)))
    assert memo.user_for(HEADER) is None
    del users["bob"]
    assert memo.user_for(HEADER) is None


def test_entries_expire_and_are_dropped():
    bob = bob_user()
    clock, memo = memo_with({"bob": bob})
    memo.remember(memo.digest(HEADER), "bob", bob.hash)
    clock.advance(MEMO_SECONDS - 1)
    assert memo.user_for(HEADER) is bob
    clock.advance(1)
    assert memo.user_for(HEADER) is None
    assert len(memo) == 0


def test_forget_user_drops_every_header_of_that_user():
    bob = bob_user()
    _clock, memo = memo_with({"bob": bob})
    memo.remember(memo.digest(HEADER), "bob", bob.hash)
    other = HEADER.replace(b"Basic", b"BASIC")
    memo.remember(memo.digest(other), "bob", bob.hash)
    memo.forget_user("bob")
    assert memo.user_for(HEADER) is None and memo.user_for(other) is None
    assert len(memo) == 0


def test_memo_is_bounded_and_evicts_the_oldest():
    users = {f"u{i}": User(name=f"u{i}", hash=b"h%d" % i) for i in range(5)}
    _clock, memo = memo_with(users)
    headers = [basic(f"u{i}", "pw").encode() for i in range(5)]
    for i, header in enumerate(headers):
        memo.remember(memo.digest(header), f"u{i}", b"h%d" % i)
    assert len(memo) == 3
    assert [memo.user_for(h) is not None for h in headers] == [False, False, True, True, True]


def test_memo_keeps_digests_not_credentials():
    bob = bob_user()
    _clock, memo = memo_with({"bob": bob})
    memo.remember(memo.digest(HEADER), "bob", bob.hash)
    (key,) = memo._entries
    assert len(key) == 16
    assert HEADER not in key and base64.b64encode(b"bob:bobpw") not in key
    # Keyed per process: another memo cannot compute the same digest.
    assert LoginMemo(Clock()).digest(HEADER) != memo.digest(HEADER)


# ------------------------------------------------ through the real tree


def test_remembered_login_costs_no_bcrypt_and_no_password_check(tmp_path):
    h = make(tmp_path)
    assert h.get(PING, auth=BOB).code == 204
    checker = h.app.bcrypt_checker
    checker.password_cache.forget("bob")  # only the memo can answer now
    for _ in range(3):
        assert h.get(PING, auth=BOB).code == 204
    assert h.workers.checks() == 1


def test_hash_changed_behind_the_user_db_refuses_the_remembered_header(tmp_path):
    h = make(tmp_path, cache="1m")
    assert h.get(PING, auth=BOB).code == 204
    other = bcrypt.hashpw(b"other", bcrypt.gensalt(4)).decode()
    h.put_record("bob", hash=other, privileges={"/api": 16})
    h.clock.advance(61)  # the user cache expires: the store's hash is read
    assert h.get(PING, auth=BOB).code == 401
    assert h.get(PING, auth=("bob", "other")).code == 204


def test_password_change_refuses_the_remembered_header_at_once(tmp_path):
    h = make(tmp_path)
    for _ in range(2):
        assert h.get(PING, auth=BOB).code == 204
    assert h.patch(V1 + "/users/bob", {"password": "newpw"}, auth=("root", "rootpw")).code == 200
    assert h.get(PING, auth=BOB).code == 401


def test_deleted_user_is_refused_at_once(tmp_path):
    h = make(tmp_path)
    for _ in range(2):
        assert h.get(PING, auth=BOB).code == 204
    assert h.delete(V1 + "/users/bob", auth=("root", "rootpw")).code == 204
    assert h.get(PING, auth=BOB).code == 401
