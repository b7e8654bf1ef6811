"""``POST /kapacitor/v1/loglevel`` (reference §5.4): the running level
changes for DEBUG, INFO and ERROR in any case; anything else is a 400."""

from __future__ import annotations

import pytest
from twisted.logger import LogLevel, PredicateResult

from tests.http.harness import V1, err_body
from tests.ops.support import ADMIN, secured

LOGLEVEL = V1 + "/loglevel"


@pytest.fixture
def h(tmp_path):
    return secured(tmp_path)


def set_level(h, body, auth=ADMIN):
    return h.post(LOGLEVEL, body, auth=auth)


@pytest.mark.parametrize("name, level", [
    ("debug", LogLevel.debug), ("DEBUG", LogLevel.debug),
    ("INFO", LogLevel.info), ("info", LogLevel.info),
    ("ERROR", LogLevel.error), ("eRRoR", LogLevel.error),
])
def test_accepted_level_is_204_and_changes_the_running_level(h, name, level):
    start = LogLevel.error if level is not LogLevel.error else LogLevel.debug
    h.app.log_control.set_level(start.name)
    r = set_level(h, {"level": name})
    assert (r.code, r.body) == (204, b"")
    assert h.app.log_control.level is level


def test_the_new_level_filters_events(h):
    assert set_level(h, {"level": "ERROR"}).code == 204
    predicate = h.app.log_control.predicate
    assert predicate({"log_level": LogLevel.info, "log_namespace": "x"}) == PredicateResult.no
    assert predicate({"log_level": LogLevel.error, "log_namespace": "x"}) != PredicateResult.no


@pytest.mark.parametrize("body", [
    {"level": "WARN"}, {"level": "warn"}, {"level": "OFF"}, {"level": "trace"},
    {"level": ""}, {"level": None}, {}, {"lvl": "debug"},
])
def test_other_levels_are_400_and_leave_the_level_alone(h, body):
    h.app.log_control.set_level("INFO")
    r = set_level(h, body)
    assert (r.code, r.body) == (400, err_body("invalid log level", pretty=True))
    assert h.app.log_control.level is LogLevel.info


@pytest.mark.parametrize("body", [b"{", b"level=debug", b"[]", b'"debug"', b'{"level": 5}',
                                  b"\xff\xfe", b'{"level": ["debug"]}'])
def test_malformed_json_is_400_invalid_json(h, body):
    h.app.log_control.set_level("INFO")
    r = set_level(h, body)
    assert r.code == 400
    assert r.error.startswith("invalid json: ")
    assert r.body == err_body(r.error, pretty=True)
    assert h.app.log_control.level is LogLevel.info


def test_empty_body_is_400_invalid_json_eof(h):
    r = set_level(h, b"")
    assert (r.code, r.body) == (400, err_body("invalid json: EOF", pretty=True))


def test_api_users_may_change_the_level(h):
    h.add_user("operator", permissions=["api"])
    assert set_level(h, {"level": "error"}, auth=("operator", "pw")).code == 204
    assert h.app.log_control.level is LogLevel.error


def test_users_without_api_permission_get_403(h):
    h.add_user("writer", permissions=["write_points", "config_api"])
    h.app.log_control.set_level("INFO")
    r = set_level(h, {"level": "debug"}, auth=("writer", "pw"))
    message = ('user writer does not have "write" privilege for API endpoint '
               '"/kapacitor/v1/loglevel"')
    assert (r.code, r.body) == (403, err_body(message, pretty=False))
    assert h.app.log_control.level is LogLevel.info


def test_anonymous_gets_401(h):
    assert set_level(h, {"level": "debug"}, auth=None).code == 401
