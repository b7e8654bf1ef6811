"""
The audit channel (issue #10 item 10): an ``api`` user may set the level to
ERROR, but failed logins, user changes and the level change itself are
still written, with who did them and from where.  The lines go through the
daemon's own level filter and logfmt writer.
"""

from __future__ import annotations

import io

import pytest
from twisted.logger import FilteringLogObserver, globalLogPublisher

from kapacitord_tw.logs import LogfmtObserver
from tests.http.harness import V1
from tests.ops.support import ADMIN, secured

OPERATOR = ("operator", "op-pw")


@pytest.fixture
def h(tmp_path):
    h = secured(tmp_path, login_failures_budget=3)
    h.add_user(OPERATOR[0], OPERATOR[1], permissions=["api"])
    h.add_user("bob", "bob-pw", permissions=["write_points"])
    return h


@pytest.fixture
def log(h):
    """The log as the daemon writes it: filtered at the running level."""
    stream = io.StringIO()
    observer = FilteringLogObserver(LogfmtObserver(stream), [h.app.log_control.predicate])
    h.app.log_control.set_level("INFO")
    globalLogPublisher.addObserver(observer)
    yield stream
    globalLogPublisher.removeObserver(observer)


def audit_lines(stream) -> list:
    return [line for line in stream.getvalue().splitlines() if "service=audit" in line]


def silence(h) -> None:
    assert h.post(V1 + "/loglevel", {"level": "ERROR"}, auth=OPERATOR).code == 204


def test_the_level_change_is_logged_with_who_made_it(h, log):
    silence(h)
    (line,) = audit_lines(log)
    assert 'msg="log level set to ERROR"' in line
    assert "by=operator" in line and "previous=INFO" in line and "client=127.0.0.1" in line


def test_after_error_a_failed_admin_login_still_logs(h, log):
    silence(h)
    assert h.get(V1 + "/ping", auth=("admin", "wrong")).code == 401
    failed = [line for line in audit_lines(log) if 'msg="authentication failed"' in line]
    assert len(failed) == 1
    assert "user=admin" in failed[0] and "credentials=basic" in failed[0]
    assert "lvl=warn" in failed[0] and "client=127.0.0.1" in failed[0]
    # The access line of that request is silenced: only the audit line tells.
    assert 'msg="http request"' not in log.getvalue()


def test_after_error_a_user_deletion_still_logs(h, log):
    silence(h)
    assert h.delete(V1 + "/users/bob", auth=ADMIN).code == 204
    deleted = [line for line in audit_lines(log) if 'msg="user deleted"' in line]
    assert len(deleted) == 1
    assert "user=bob" in deleted[0] and "by=admin" in deleted[0]


def test_after_error_creation_and_permission_changes_still_log(h, log):
    silence(h)
    created = h.post(V1 + "/users", {"name": "carl", "password": "carl-pw",
                                     "permissions": ["write_points"]}, auth=ADMIN)
    assert created.code == 200
    promoted = h.patch(V1 + "/users/carl", {"type": "admin"}, auth=ADMIN)
    assert promoted.code == 200
    repassworded = h.patch(V1 + "/users/carl", {"password": "carl-pw-2"}, auth=ADMIN)
    assert repassworded.code == 200
    lines = audit_lines(log)
    (create,) = [line for line in lines if 'msg="user created"' in line]
    assert "user=carl" in create and "permissions=write_points" in create and "by=admin" in create
    updates = [line for line in lines if 'msg="user updated"' in line]
    assert len(updates) == 2
    assert "changed=type,permissions" in updates[0] and "type=admin" in updates[0]
    assert "changed=password" in updates[1]
    assert "carl-pw" not in log.getvalue()


def test_throttled_logins_are_audited(h, log):
    silence(h)
    for _ in range(3):
        assert h.get(V1 + "/ping", auth=("admin", "wrong")).code == 401
    throttled = h.get(V1 + "/ping", auth=("admin", "wrong"))
    assert throttled.code == 429
    lines = audit_lines(log)
    assert sum('msg="authentication failed"' in line for line in lines) == 3
    (line,) = [line for line in lines if 'msg="authentication throttled"' in line]
    assert "user=admin" in line and "retry-after=" in line


def test_a_forged_line_cannot_be_injected_through_a_user_name(h, log):
    silence(h)
    forged = "x\nts=2020-01-01T00:00:00.000Z lvl=info msg=\"user deleted\" service=audit"
    assert h.get(V1 + "/ping?u=" + forged.replace("\n", "%0A").replace(" ", "%20")
                 + "&p=pw").code == 401
    assert not any(line.startswith("ts=2020") for line in log.getvalue().splitlines())
    assert sum('msg="user deleted"' in line for line in audit_lines(log)) == 0
