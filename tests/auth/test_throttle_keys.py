"""Issue #10 item 12: the throttle can no longer be turned against the users it protects.

Before: six wrong passwords for ``carol`` from one address made her right
password from another address a 429; 400 failures under random names from
many addresses evicted the admin's back-off from a 300-entry table; 503s
from a full bcrypt queue were neither counted nor delayed; and every key
held the whole user name.
"""

from __future__ import annotations

import base64
import random
import tracemalloc

import pytest
from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.defer import fail
from twisted.internet.testing import StringTransport
from twisted.internet.task import Clock

from kapacitord_tw.auth.throttle import USER_BUDGET_FACTOR, LoginThrottle, client_network
from kapacitord_tw.auth.workers import WorkersBusy
from tests.http.harness import V1, Harness, parse_wire

PING = V1 + "/ping"
SECOND = 1_000_000_000
BUDGET = 3


def make(tmp_path, entries=1000, **extra):
    h = Harness(tmp_path, cache="1h", login_failures_budget=BUDGET,
                login_backoff_base=1 * SECOND, login_backoff_max=60 * SECOND,
                login_throttle_entries=entries, **extra)
    h.add_user("root", "rootpw", admin=True)
    h.add_user("carol", "carolpw", permissions=["api"])
    return h


def ping_from(h, address: str, user: str, password: str) -> int:
    """GET /ping with Basic credentials over a connection from *address*."""
    credentials = base64.b64encode(f"{user}:{password}".encode()).decode()
    data = (f"GET {PING} HTTP/1.1\r\nHost: kapacitor.test\r\n"
            f"Authorization: Basic {credentials}\r\nConnection: close\r\n\r\n").encode()
    peer = (IPv6Address("TCP", address, 40000) if ":" in address
            else IPv4Address("TCP", address, 40000))
    site = h.stub._agent._serverFactory
    protocol = site.buildProtocol(peer)
    transport = StringTransport(peerAddress=peer)
    protocol.makeConnection(transport)
    protocol.dataReceived(data)
    status, _headers, _body = parse_wire(transport.value())
    return status


def test_wrong_passwords_from_one_address_do_not_lock_the_user_out_elsewhere(tmp_path):
    h = make(tmp_path)
    for _ in range(6):
        assert ping_from(h, "10.0.0.66", "carol", "guess") in (401, 429)
    assert ping_from(h, "10.0.0.66", "carol", "carolpw") == 429  # the guesser waits
    assert ping_from(h, "10.0.0.7", "carol", "carolpw") == 204  # carol does not


def test_guessing_one_user_from_many_addresses_is_throttled_far_above_the_budget(tmp_path):
    h = make(tmp_path)
    for i in range(BUDGET * USER_BUDGET_FACTOR):
        assert ping_from(h, f"10.1.{i // 250}.{i % 250}", "carol", "guess") == 401
    assert ping_from(h, "10.9.9.9", "carol", "guess") == 429


def test_an_address_guessing_many_names_is_throttled(tmp_path):
    h = make(tmp_path)
    for name in ("a", "b", "c"):
        assert ping_from(h, "10.0.0.66", name, "guess") == 401
    assert ping_from(h, "10.0.0.66", "carol", "carolpw") == 429
    assert ping_from(h, "10.0.0.7", "carol", "carolpw") == 204


def test_storm_of_random_names_does_not_evict_the_admins_backoff(tmp_path):
    h = make(tmp_path, entries=300)
    for _ in range(BUDGET):
        ping_from(h, "10.0.0.66", "root", "guess")
    assert ping_from(h, "10.0.0.66", "root", "rootpw") == 429
    rng = random.Random(12)
    for i in range(400):
        name = "".join(rng.choice("abcdefghijklmnop") for _ in range(12))
        assert ping_from(h, f"172.16.{i // 200}.{i % 200}", name, "x") in (401, 429)
    assert len(h.app.throttle) <= 300
    assert ping_from(h, "10.0.0.66", "root", "rootpw") == 429


def test_ipv6_clients_are_counted_per_64(tmp_path):
    h = make(tmp_path)
    for i in range(BUDGET):
        assert ping_from(h, f"2001:db8:1:2::{i + 1}", f"n{i}", "guess") == 401
    # Another host of the same /64: the same client.
    assert ping_from(h, "2001:db8:1:2:ffff::9", "carol", "carolpw") == 429
    assert ping_from(h, "2001:db8:1:3::1", "carol", "carolpw") == 204


def test_client_network():
    assert client_network("10.0.0.1") == "10.0.0.1"
    assert client_network("2001:db8:1:2:3:4:5:6") == "2001:db8:1:2::/64"
    assert client_network("::ffff:10.0.0.1") == "10.0.0.1"
    assert client_network("fe80::1%eth0") == "fe80::/64"
    assert client_network("") == ""


class FullWorkers:
    """A bcrypt pool whose queue is full: every check is refused at once."""

    pending = max_pending = 1

    def run(self, function, *args):
        return fail(WorkersBusy())


def test_busy_refusals_are_counted_and_then_throttled(tmp_path):
    h = make(tmp_path, workers=FullWorkers())
    codes = [ping_from(h, "10.0.0.66", "carol", "guess") for _ in range(BUDGET + 1)]
    assert codes == [503] * BUDGET + [429]


def test_busy_refusals_are_tarpitted(tmp_path):
    h = make(tmp_path, workers=FullWorkers(), login_tarpit=SECOND)
    d = h.start("GET", PING, auth=("carol", "guess"))
    for _ in range(5):
        h.stub.flush()
    fired = []
    d.addBoth(lambda result: fired.append(1) or result)
    assert fired == [], "a 503 for a full bcrypt queue is not answered at once"
    h.clock.advance(1)
    assert h.finish(d).code == 503


def test_long_user_names_cost_a_digest_each():
    clock = Clock()
    throttle = LoginThrottle(clock, budget=3, base=1.0, maximum=8.0, max_entries=10_000)
    names = [f"{i:05d}" + "x" * 12_000 for i in range(200)]
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for name in names:
        throttle.failed(name, "10.0.0.1")
    grown = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    assert len(throttle) == 401  # a user and a pair key per name, one address key
    # 200 names of 12 KB would be 2.4 MB if kept; digests keep it small.
    assert grown < 300_000
