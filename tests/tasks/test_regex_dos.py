"""Issue #10 item 2: regexes that backtrack exponentially in Python's ``re``
are matched by RE2 in linear time -- in lambdas, at define time, through
templates and their vars.  Each request must answer well within a second."""

from __future__ import annotations

import time

import pytest

from kapacitord_tw.ingest.points import Point
from tests.tasks.support import TASKS, TELEGRAF, TEMPLATES

HOSTILE = "a" * 5000 + "!"
#: The patterns of the attacker's review, each with a text that makes a
#: backtracking engine take minutes or more, and what Go answers.
PATTERNS = [
    ("(a|aa){0,1000}$", HOSTILE, True),
    ("(.*a){20}$", HOSTILE, False),
    ("(?:a*){1000}$", HOSTILE, True),
    ("a*a*a*a*a*a*a*a*b", HOSTILE, False),
    ("(a?){30}a{30}", "a" * 30, True),
]


def timed(call, *args, **kwargs):
    start = time.monotonic()
    reply = call(*args, **kwargs)
    return reply, time.monotonic() - start


@pytest.mark.parametrize("pattern, text, expected", PATTERNS)
def test_define_time_match_is_fast_and_right(h, pattern, text, expected):
    script = (
        f"var matched = '{text}' =~ /{pattern}/\n"
        "stream|from().measurement('cpu')|eval(lambda: matched).as('m')"
    )
    reply, elapsed = timed(h.post, TASKS, {"id": "t", "script": script, "dbrps": TELEGRAF,
                                           "status": "enabled"})
    assert reply.code == 200, reply.body
    assert elapsed < 1
    # A template shows the value the constant expression took.
    reply, elapsed = timed(h.post, TEMPLATES, {"id": "tpl", "script": script})
    assert reply.code == 200, reply.body
    assert elapsed < 1
    assert reply.json()["vars"]["matched"] == {"type": "bool", "value": expected,
                                                "description": ""}


@pytest.mark.parametrize("pattern, text, expected", PATTERNS)
def test_where_lambda_matches_points_fast_and_right(h, pattern, text, expected):
    script = f"stream|from().measurement('cpu')|where(lambda: \"host\" =~ /{pattern}/)|log()"
    reply, elapsed = timed(h.post, TASKS, {"id": "t", "script": script, "dbrps": TELEGRAF,
                                           "status": "enabled"})
    assert reply.code == 200, reply.body
    assert elapsed < 1
    start = time.monotonic()
    h.app.bus.publish([Point("telegraf", "autogen", "cpu", (("host", text),),
                             (("usage_idle", 5.0),), 1)])
    assert time.monotonic() - start < 1
    where = h.get(TASKS + "/t").json()["stats"]["node-stats"]["where2"]
    assert (where["collected"], where["emitted"]) == (1, int(expected))


def test_tasks_from_a_template_with_the_patterns_as_regex_vars_are_fast(h):
    template = (
        "var pattern regex\n"
        "stream|from().measurement('cpu')"
        f"|where(lambda: \"host\" =~ pattern OR '{HOSTILE}' =~ pattern"
        f" OR '{'a' * 30}' =~ pattern)|log()"
    )
    reply = h.post(TEMPLATES, {"id": "tpl", "script": template})
    assert reply.code == 200, reply.body
    start = time.monotonic()
    for index, (pattern, _, _) in enumerate(PATTERNS):
        reply = h.post(TASKS, {
            "id": f"from_tpl_{index}", "template-id": "tpl", "dbrps": TELEGRAF,
            "status": "enabled", "vars": {"pattern": {"type": "regex", "value": pattern}},
        })
        assert reply.code == 200, reply.body
        assert reply.json()["executing"] is True
    assert time.monotonic() - start < 2


def test_repeat_counts_go_refuses_are_refused_with_gos_text(h):
    reply = h.post(TASKS, {"id": "t", "dbrps": TELEGRAF,
                           "script": "stream|from()|where(lambda: \"host\" =~ /(a|aa){0,1001}$/)"})
    assert reply.code == 400
    assert "error parsing regexp: invalid repeat count: `{0,1001}`" in reply.json()["error"]
