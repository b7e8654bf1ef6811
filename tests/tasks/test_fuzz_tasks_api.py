"""Random bodies, ids and query strings against ``/tasks`` and ``/templates``: never a 5xx."""

from __future__ import annotations

import os

import json
from urllib.parse import quote, urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.tasks.support import CPU_SCRIPT, TELEGRAF, make_harness

SCRIPTS = st.sampled_from([
    CPU_SCRIPT, "stream|from()", "batch|query('SELECT 1').period(1m)|log()", "var x = 1",
    "var x int\nstream|from().measurement('m')|eval(lambda: x).as('y')", "", "dbrp \"a\".\"b\"\n"
    "stream|from()|log()", "stream|from(", "stream|window().period(-1s)",
]) | st.text(max_size=40)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
var_objects = st.fixed_dictionaries({}, optional={
    "type": st.sampled_from(["bool", "int", "float", "string", "regex", "duration", "lambda",
                             "list", "star", "nope"]) | json_values,
    "value": json_values | st.sampled_from(["1m", "(", "\"x\" > 1", "5 parsecs"]),
    "description": json_values,
})
def sometimes_junk(valid):
    return st.one_of(valid, valid, valid, json_values)


bodies = st.one_of(*[st.fixed_dictionaries({}, optional={
    "id": sometimes_junk(st.sampled_from(["t1", "t2", "tpl", "a b", "", "ü", "a/b"])),
    "template-id": sometimes_junk(st.sampled_from(["tpl", "nope", ""])),
    "type": sometimes_junk(st.sampled_from(["stream", "batch", "invalid", "x"])),
    "script": sometimes_junk(SCRIPTS),
    "status": sometimes_junk(st.sampled_from(["enabled", "disabled", "x"])),
    "dbrps": sometimes_junk(st.just(TELEGRAF)),
    "vars": sometimes_junk(st.dictionaries(st.sampled_from(["x", "crit", "period"]),
                                           var_objects, max_size=3)),
}).map(lambda o: json.dumps(o).encode())] * 4, st.binary(max_size=100))
ids = st.sampled_from(["", "t1", "t2", "tpl", "tpl2"]) | st.text(max_size=8).map(
    lambda s: quote(s, safe=""))
requests = st.sampled_from(["/kapacitor/v1/tasks", "/kapacitor/v1/templates"]).flatmap(
    lambda base: st.tuples(st.just("POST"), st.just(base))
    | st.tuples(st.just("GET"), st.just(base))
    | st.tuples(st.sampled_from(["GET", "PATCH", "DELETE", "PATCH"]),
                ids.map(lambda i: base + "/" + i)))
queries = st.lists(st.tuples(
    st.sampled_from(["pattern", "fields", "offset", "limit", "script-format", "dot-view",
                     "replay-id"]),
    st.sampled_from(["", "raw", "labels", "-1", "1", "*", "[", "id", "vars", "x"])
    | st.text(max_size=6)), max_size=3)


@pytest.fixture(scope="module")
def harness(tmp_path_factory):
    h = make_harness(tmp_path_factory.mktemp("fuzz"))
    h.post("/kapacitor/v1/templates",
           {"id": "tpl", "script": "var x int\nstream|from().measurement('m')"
                                   "|eval(lambda: x).as('y')"})
    return h


@settings(max_examples=3000 if os.environ.get("KAPACITORD_ABUSE_LONG") else 300,
          deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(request=requests, query=queries, body=bodies)
def test_random_task_requests_never_get_a_5xx(harness, request, query, body):
    method, path = request
    url = path + ("?" + urlencode(query) if query else "")
    reply = harness.request(method, url, body=body)
    assert reply.code < 500, (method, url, body, reply.code, reply.body[:300])
    if reply.code >= 400:
        error = json.loads(reply.body)
        assert error["error"] == error["message"]
