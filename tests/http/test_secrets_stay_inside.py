"""Passwords and password hashes never leave the process (README security
notes): not in a log event, not in an answer — except the admin-only backup,
whose whole point is to carry the hashes."""

from __future__ import annotations

import os
import stat
from urllib.parse import quote

import pytest
from twisted.logger import globalLogPublisher

from kapacitord_tw.ids import load_ids
from kapacitord_tw.logs import format_logfmt
from tests.http.harness import V1, Harness

PING = V1 + "/ping"
ROOT = ("root", "rootpw")


@pytest.fixture
def events():
    seen = []
    globalLogPublisher.addObserver(seen.append)
    yield seen
    globalLogPublisher.removeObserver(seen.append)


@pytest.fixture
def h(tmp_path):
    h = Harness(tmp_path)
    h.add_user("root", "rootpw", admin=True)
    h.add_user("bob", "bob-secret-0", permissions=["write_points"])
    return h


def _stored_hashes(h) -> list:
    return [h.store.get_now("users", name)["hash"] for name in h.store.keys("users")]


def test_passwords_and_hashes_reach_no_log_line_and_no_answer(h, events):
    secrets = ["bob-secret-0", "wrong-basic-1", "wrong-query-2", "wrong-encoded-3",
               "new-user-4", "patched-5"]
    replies = [
        h.get(PING, auth=("bob", "wrong-basic-1")),
        h.get(PING + "?u=bob&p=wrong-query-2"),
        # %70 is "p": it logs in like p= does, so it must be redacted like it.
        h.get(PING + "?u=bob&%70=wrong-encoded-3"),
        h.get(PING + "?u=bob&p=" + quote("bob-secret-0")),
        h.get(PING, auth=("bob", "bob-secret-0")),
        h.post(V1 + "/users", {"name": "carl", "password": "new-user-4"}, auth=ROOT),
        h.patch(V1 + "/users/carl", {"password": "patched-5"}, auth=ROOT),
        h.get(V1 + "/users/carl", auth=ROOT),
        h.get(V1 + "/users", auth=ROOT),
        h.get(V1 + "/users?fields=hash", auth=ROOT),
    ]
    assert [r.code for r in replies] == [401, 401, 401, 204, 204, 200, 200, 200, 200, 400]
    hashes = _stored_hashes(h)
    assert len(hashes) == 3
    access = [e for e in events if e.get("log_format") == "http request"]
    assert len(access) == len(replies)
    assert any(e["uri"].endswith("&%70=[REDACTED]") for e in access)
    lines = "".join(format_logfmt(e) for e in events)
    for secret in secrets + hashes:
        assert secret not in lines
        assert all(secret not in repr(e) for e in events)
        assert all(secret.encode() not in r.body for r in replies)
    assert all(b"$2" not in r.body for r in replies)


def test_only_the_admin_backup_carries_the_hashes(h):
    backup = h.get(V1 + "/storage/backup", auth=ROOT)
    assert backup.code == 200
    assert all(hashed.encode() in backup.body for hashed in _stored_hashes(h))
    refused = h.get(V1 + "/storage/backup", auth=("bob", "bob-secret-0"))
    assert refused.code == 403
    assert b"$2" not in refused.body


def test_node_ids_are_world_readable_and_the_journal_is_private(tmp_path):
    old = os.umask(0o022)
    try:
        load_ids(str(tmp_path / "data"))
        h = Harness(tmp_path / "data")
        h.add_user("root", "rootpw", admin=True)
    finally:
        os.umask(old)
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in (tmp_path / "data").iterdir()}
    assert modes == {"cluster.id": 0o644, "server.id": 0o644, "store.journal": 0o600}
