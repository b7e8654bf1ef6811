"""Login throttling: budget, doubling back-off with a cap, bounded state."""

from __future__ import annotations

import attrs
import bcrypt
import pytest
from twisted.internet.task import Clock

from kapacitord_tw.auth.throttle import LoginThrottle
from tests.http.harness import V1, Harness, HeldWorkers, err_body

PING = V1 + "/ping"
SECOND = 1_000_000_000


def make(tmp_path, budget=3, base=1, maximum=8, entries=1000, cache="1h", **extra):
    h = Harness(
        tmp_path, cache=cache, **extra,
        login_failures_budget=budget,
        login_backoff_base=base * SECOND,
        login_backoff_max=maximum * SECOND,
        login_throttle_entries=entries,
    )
    h.add_user("root", "rootpw", admin=True)
    h.add_user("bob", "bobpw", permissions=["api"])
    return h


def fail(h, user="bob"):
    r = h.get(PING, auth=(user, "wrong"))
    assert r.code == 401, r.body


def test_budget_exhausted_gives_429_with_retry_after(tmp_path):
    h = make(tmp_path, budget=3)
    for _ in range(3):
        fail(h)
    r = h.get(PING, auth=("bob", "bobpw"))
    assert r.code == 429
    assert r.header("Retry-After") == "1"
    assert r.body == err_body("too many failed logins, retry after 1s", pretty=False)


def test_throttled_attempt_does_not_run_bcrypt(tmp_path):
    h = make(tmp_path, budget=2)
    fail(h)
    fail(h)
    before = h.workers.checks()
    assert h.get(PING, auth=("bob", "bobpw")).code == 429
    assert h.workers.checks() == before


def test_below_budget_is_not_throttled(tmp_path):
    h = make(tmp_path, budget=3)
    fail(h)
    fail(h)
    assert h.get(PING, auth=("bob", "bobpw")).code == 204


def test_backoff_doubles_and_is_capped(tmp_path):
    h = make(tmp_path, budget=2, base=1, maximum=4)
    fail(h)
    waits = []
    for _ in range(5):
        fail(h)
        r = h.get(PING, auth=("bob", "wrong"))
        assert r.code == 429
        wait = int(r.header("Retry-After"))
        waits.append(wait)
        h.clock.advance(wait)
    assert waits == [1, 2, 4, 4, 4]


def test_throttle_ends_when_the_backoff_has_passed(tmp_path):
    h = make(tmp_path, budget=2, base=2)
    fail(h)
    fail(h)
    assert h.get(PING, auth=("bob", "bobpw")).code == 429
    h.clock.advance(2)
    assert h.get(PING, auth=("bob", "bobpw")).code == 204


def test_unknown_users_are_throttled_too(tmp_path):
    h = make(tmp_path, budget=2)
    fail(h, "ghost")
    fail(h, "ghost")
    assert h.get(PING, auth=("ghost", "x")).code == 429


def test_logged_in_user_with_cached_password_is_unaffected(tmp_path):
    h = make(tmp_path, budget=2)
    assert h.get(PING, auth=("bob", "bobpw")).code == 204
    for _ in range(2):
        fail(h)
    assert h.get(PING, auth=("bob", "wrong")).code == 429
    assert h.get(PING, auth=("bob", "bobpw")).code == 204
    assert h.get(PING + "?u=bob&p=bobpw").code == 204


def test_throttled_logins_count_as_auth_failures(tmp_path):
    h = make(tmp_path, budget=1)
    fail(h)
    h.get(PING, auth=("bob", "bobpw"))
    assert h.app.stats.get("auth_fail") == 2


def test_throttle_state_is_bounded(tmp_path):
    h = make(tmp_path, budget=100, entries=10)
    for i in range(50):
        fail(h, f"user{i}")
    assert len(h.app.throttle) == 10


def test_jwt_and_subscription_failures_are_not_throttled(tmp_path):
    h = make(tmp_path, budget=1)
    for _ in range(3):
        assert h.get(PING, headers={"Authorization": "Bearer a.b"}).code == 401
        assert h.get(PING, auth=("~subscriber", "nope")).code == 401
    assert h.get(PING, auth=("bob", "bobpw")).code == 204


# ------------------------------------------------ LoginThrottle itself

@pytest.fixture
def throttle():
    clock = Clock()
    clock.advance(1000)
    return LoginThrottle(clock, budget=2, base=1.0, maximum=8.0, max_entries=100), clock


def test_failures_are_counted_per_username_and_per_client(throttle):
    t, clock = throttle
    t.failed("bob", "10.0.0.1")
    t.failed("ann", "10.0.0.1")
    # The address reached the budget; bob did not.
    assert t.retry_after("bob", "10.0.0.2") == 0
    assert t.retry_after("carl", "10.0.0.1") == 1


def test_success_clears_the_username_but_not_the_address(throttle):
    t, clock = throttle
    t.failed("bob", "10.0.0.1")
    t.failed("bob", "10.0.0.1")
    t.succeeded("bob", "10.0.0.1")
    assert t.retry_after("bob", "10.0.0.9") == 0
    assert t.retry_after("bob", "10.0.0.1") == 1


def test_records_are_forgotten_after_twice_the_maximum(throttle):
    t, clock = throttle
    t.failed("bob", "")
    assert len(t) == 2  # the username, and the username without an address
    clock.advance(16.5)
    assert t.retry_after("bob", "") == 0
    assert len(t) == 0


def test_least_penalised_is_evicted_first(throttle):
    t, clock = throttle
    t = LoginThrottle(clock, budget=2, base=60.0, maximum=60.0, max_entries=3)
    t.failed("a", "10.0.0.1")
    t.failed("a", "10.0.0.1")  # a's three keys are blocked
    clock.advance(1)
    t.failed("b", "10.0.0.2")  # one failure each: evicted first, though newer
    assert len(t) == 3
    assert t.retry_after("a", "10.0.0.1") > 0
    assert t.retry_after("b", "10.0.0.2") == 0


def test_throttled_answer_is_delayed_by_the_tarpit(tmp_path):
    from kapacitord_tw.config.model import SECOND

    h = make(tmp_path, budget=2, login_tarpit=SECOND)
    fail(h)
    fail(h)
    d = h.start("GET", PING, auth=("bob", "bobpw"))
    for _ in range(5):
        h.stub.flush()
    fired = []
    d.addBoth(lambda result: fired.append(1) or result)
    assert fired == [], "a throttled attempt is not answered at once"
    h.clock.advance(1)
    r = h.finish(d)
    assert r.code == 429
    assert r.header("Retry-After") is not None


def test_attempts_in_flight_count_against_the_budget(tmp_path):
    from tests.http.harness import HeldWorkers

    h = make(tmp_path, budget=2, workers=HeldWorkers())
    first = h.start("GET", PING, auth=("bob", "wrong1"))
    second = h.start("GET", PING, auth=("bob", "wrong2"))
    third = h.start("GET", PING, auth=("bob", "wrong3"))
    for _ in range(5):
        h.stub.flush()
    assert len(h.workers.queue) == 2, "only the budget reaches bcrypt"
    assert h.finish(third).code == 429
    h.workers.release_all()
    assert h.finish(first).code == 401
    assert h.finish(second).code == 401


def test_unchecked_attempt_releases_its_slot():
    from twisted.internet.task import Clock

    clock = Clock()
    t = LoginThrottle(clock, budget=1, base=1.0, maximum=8.0, max_entries=100)
    assert t.admit("bob", "10.0.0.1") == 0
    assert t.admit("bob", "10.0.0.1") == 1, "one attempt in flight fills a budget of 1"
    t.release("bob", "10.0.0.1")
    assert t.admit("bob", "10.0.0.1") == 0


def test_login_overtaken_by_a_password_change_leaves_no_throttle_behind(tmp_path):
    held = HeldWorkers()
    h = make(tmp_path, budget=1, workers=held)
    bob = h.app.userdb.lookup("bob")
    login = h.start("GET", PING, auth=("bob", "bobpw"))
    h.app.userdb.replace(attrs.evolve(bob, hash=bcrypt.hashpw(b"newpw", bcrypt.gensalt(4))))
    held.release()
    assert h.finish(login).code == 401
    again = h.start("GET", PING, auth=("bob", "newpw"))
    held.release_all()
    assert h.finish(again).code == 204
