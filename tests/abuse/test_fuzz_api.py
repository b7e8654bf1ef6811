"""
Property-based abuse: random methods, paths, query strings, headers,
credentials and JSON-ish bodies against the users and tasks APIs (in memory,
the real resource tree).  Whatever arrives, the answer is never a 5xx and
the daemon keeps serving; a live daemon process gets a sample too.
"""

import json
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.http.harness import Harness
from tests.support.daemon import Daemon, free_port, write_config

LONG = bool(os.environ.get("KAPACITORD_ABUSE_LONG"))
EXAMPLES = 1500 if LONG else 150

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False)
    | st.text(max_size=80),
    lambda children: st.lists(children, max_size=5)
    | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=20,
)
field_names = st.sampled_from(
    ["name", "NAME", "password", "type", "permissions", "id", "script", "dbrps", "status",
     "vars", "template-id", "level", "action"]
)
json_objects = st.dictionaries(field_names | st.text(max_size=10), json_values, max_size=6)
bodies = (
    json_objects.map(lambda o: json.dumps(o).encode())
    | json_values.map(lambda v: json.dumps(v).encode())
    | st.binary(max_size=300)
    | st.just(b"")
)
segments = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="?#"), max_size=12
)
paths = st.one_of(
    st.builds(lambda s: "/kapacitor/v1/users/" + s, segments),
    st.builds(lambda s: "/kapacitor/v1/tasks/" + s, segments),
    st.builds(lambda s: "/kapacitor/v1/templates/" + s, segments),
    st.sampled_from(["/kapacitor/v1/users", "/kapacitor/v1/tasks", "/kapacitor/v1/templates",
                     "/kapacitor/v1/ping", "/write", "/kapacitor/v1/loglevel",
                     "/kapacitor/v1preview/users", "/kapacitor/v1/storage/stores/tasks"]),
    st.builds(lambda a, b: f"/{a}/{b}", segments, segments),
)
queries = st.lists(
    st.tuples(st.sampled_from(["pattern", "fields", "offset", "limit", "u", "p", "db",
                               "script-format", "dot-view", "precision"]), st.text(max_size=10)),
    max_size=4,
)
methods = st.sampled_from(["GET", "POST", "PATCH", "DELETE", "PUT", "HEAD", "OPTIONS"])
credentials = st.one_of(
    st.none(),
    st.tuples(st.sampled_from(["admin", "bob", "", "~subscriber", "_sub:x"]), st.text(max_size=80)),
    st.just(("admin", "Pa5sw0Rd")),
)
headers = st.dictionaries(
    st.sampled_from(["Authorization", "Content-Type", "Accept-Encoding", "Origin",
                     "Content-Encoding", "X-Other"]),
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=60),
    max_size=3,
)


def _quote(text: str) -> str:
    from urllib.parse import quote

    return quote(text, safe="/")


@pytest.fixture
def harness(tmp_path_factory):
    h = Harness(tmp_path_factory.mktemp("fuzz"), http_auth=True)
    h.add_user("admin", "Pa5sw0Rd", admin=True)
    h.add_user("bob", "bobpw", permissions=["api"])
    return h


@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(method=methods, path=paths, query=queries, hdrs=headers, creds=credentials, body=bodies)
def test_random_requests_never_get_a_5xx(harness, method, path, query, hdrs, creds, body):
    from urllib.parse import urlencode

    url = _quote(path) + ("?" + urlencode(query) if query else "")
    if "Content-Encoding" in hdrs:
        hdrs.pop("Content-Encoding")
    reply = harness.request(method, url, body=body, headers=hdrs, auth=creds)
    assert reply.code < 500, (method, url, reply.code, reply.body[:300])
    ping = harness.request("GET", "/kapacitor/v1/ping", auth=("admin", "Pa5sw0Rd"))
    assert ping.code == 204


def test_live_daemon_survives_garbage(tmp_path):
    port = free_port()
    conf = write_config(tmp_path / "k.conf", tmp_path / "data", port, auth=True, http_auth=False)
    garbage = [
        ("POST", "/kapacitor/v1/users", b"{"),
        ("POST", "/kapacitor/v1/users", b"[1,2,3]"),
        ("POST", "/kapacitor/v1/users", json.dumps({"name": "x" * 5000, "password": "p"}).encode()),
        ("POST", "/kapacitor/v1/users", json.dumps({"name": "ok", "password": "p" * 100}).encode()),
        ("PATCH", "/kapacitor/v1/users/nobody", b'{"type": 5}'),
        ("POST", "/kapacitor/v1/tasks", b'{"id": [], "script": 7}'),
        ("POST", "/kapacitor/v1/tasks", json.dumps({"id": "t", "script": "stream|" * 2000}).encode()),
        ("GET", "/kapacitor/v1/users?offset=x&limit=-1&fields=nope", None),
        ("POST", "/write?db=x", b"\xff\xfe garbage = = ,,"),
        ("POST", "/kapacitor/v1/loglevel", b'{"level": {"a": 1}}'),
    ]
    with Daemon(conf, port) as d:
        for method, path, body in garbage:
            status, _h, _b = d.request(method, path, body=body)
            assert status < 500, (method, path, status, _b[:200])
        status, _h, _b = d.request("GET", "/kapacitor/v1/ping")
        assert status == 204
