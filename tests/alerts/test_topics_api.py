"""``/kapacitor/v1/alerts/topics``: shapes, statuses and messages, driven
through the real resource tree in memory (tests/http/harness.py)."""

from __future__ import annotations

import pytest

from kapacitord_tw.engine.alerting import AlertEvent
from tests.http.harness import Harness, err_body

TOPICS = "/kapacitor/v1/alerts/topics"
ADMIN = ("root", "rootpw")


def event(event_id, level, message=None, time=2 * 10**9, tags=None, name="cpu"):
    return AlertEvent(id=event_id, message=message or f"{event_id} is {level}", details="",
                      time=time, duration=0, level=level, data={"series": None},
                      recoverable=True, name=name, task_name="t", tags=tags or {})


@pytest.fixture
def h(tmp_path):
    return Harness(tmp_path, http_auth=False, auth=False)


def topic_body(topic_id, level, collected):
    base = f"{TOPICS}/{topic_id}"
    return {"link": {"rel": "self", "href": base}, "id": topic_id, "level": level,
            "collected": collected,
            "events-link": {"rel": "events", "href": base + "/events"},
            "handlers-link": {"rel": "handlers", "href": base + "/handlers"}}


def test_topics_list_sorted_with_level_of_worst_event_and_collected_count(h):
    alerts = h.app.alerts
    alerts.collect("mem", event("mem:a", 1))
    alerts.collect("cpu", event("cpu:a", 3))
    alerts.collect("cpu", event("cpu:b", 2))
    alerts.collect("cpu", event("cpu:a", 0))
    reply = h.get(TOPICS)
    assert reply.code == 200
    assert reply.json() == {"link": {"rel": "self", "href": TOPICS},
                            "topics": [topic_body("cpu", "WARNING", 3),
                                       topic_body("mem", "INFO", 1)]}
    assert reply.body.startswith(b'{\n    "link"')  # pretty, as Kapacitor writes it


def test_topics_filtered_by_min_level_prefix_and_pattern(h):
    alerts = h.app.alerts
    alerts.collect("cpu", event("a", 3))
    alerts.collect("disk", event("b", 1))
    reply = h.get(TOPICS + "?min-level=warn")  # ParseLevel accepts a prefix
    assert [t["id"] for t in reply.json()["topics"]] == ["cpu"]
    assert reply.json()["link"]["href"] == TOPICS + "?min-level=warn"
    assert [t["id"] for t in h.get(TOPICS + "?pattern=d*").json()["topics"]] == ["disk"]


@pytest.mark.parametrize("query, message", [
    ("min-level=foo", "unknown alert level 'FOO'"),
    ("min-level=K", "unknown alert level 'K'"),
    ("pattern=%5B", "invalid pattern: syntax error in pattern"),
])
def test_bad_list_parameters_are_400(h, query, message):
    reply = h.get(f"{TOPICS}?{query}")
    assert (reply.code, reply.body) == (400, err_body(message, True))


def test_topic_events_and_one_event(h):
    h.app.alerts.collect("cpu", event("cpu:b", 2, time=3 * 10**9))
    h.app.alerts.collect("cpu", event("cpu:a", 3))
    h.app.alerts.collect("cpu", event("cpu:c", 0))
    events = h.get(TOPICS + "/cpu/events").json()
    assert events["link"] == {"rel": "self", "href": TOPICS + "/cpu/events"}
    assert events["topic"] == "cpu"
    assert [e["id"] for e in events["events"]] == ["cpu:a", "cpu:b", "cpu:c"]
    warn = h.get(TOPICS + "/cpu/events?min-level=WARNING").json()["events"]
    assert [e["id"] for e in warn] == ["cpu:a", "cpu:b"]
    one = h.get(TOPICS + "/cpu/events/cpu:b")
    assert one.json() == {
        "link": {"rel": "self", "href": TOPICS + "/cpu/events/cpu:b"},
        "id": "cpu:b",
        "state": {"message": "cpu:b is 2", "details": "", "time": "1970-01-01T00:00:03Z",
                  "duration": "0s", "level": "WARNING"}}


def test_unknown_topic_event_and_handler_are_404_with_kapacitors_messages(h):
    h.app.alerts.collect("cpu", event("a", 3))
    for path, message in [
        ("/nope", 'unknown topic: "nope"'),
        ("/cpu/events/zz", 'unknown event "zz" in topic "cpu"'),
        ("/cpu/handlers/zz", 'unknown handler: "zz"'),
    ]:
        reply = h.get(TOPICS + path)
        assert (reply.code, reply.body) == (404, err_body(message, True)), path


def test_handler_create_get_list_replace_patch_delete(h):
    spec = {"id": "web", "kind": "post", "match": 'changed() == TRUE AND "host" == \'a\'',
            "options": {"url": "http://127.0.0.1:1/x", "headers": {"X-A": "b"}, "timeout": 1000000000}}
    created = h.post(TOPICS + "/cpu/handlers", spec)
    assert created.code == 200, created.body
    link = {"rel": "self", "href": TOPICS + "/cpu/handlers/web"}
    expected = {"link": link, "id": "web", "kind": "post",
                "options": {"headers": {"X-A": "b"}, "timeout": 1000000000,
                            "url": "http://127.0.0.1:1/x"},
                "match": spec["match"]}
    assert created.json() == expected
    assert h.get(TOPICS + "/cpu/handlers/web").json() == expected
    listed = h.get(TOPICS + "/cpu/handlers").json()
    assert listed == {"link": {"rel": "self", "href": TOPICS + "/cpu/handlers"},
                      "topic": "cpu", "handlers": [expected]}
    # Defining a handler makes its topic exist.
    assert h.get(TOPICS + "/cpu").json() == topic_body("cpu", "OK", 0)

    patched = h.request("PATCH", TOPICS + "/cpu/handlers/web", [
        {"op": "replace", "path": "/match", "value": "level() >= CRITICAL"},
        {"op": "remove", "path": "/options/headers"}])
    assert patched.code == 200, patched.body
    assert patched.json()["match"] == "level() >= CRITICAL"
    assert "headers" not in patched.json()["options"]

    replaced = h.request("PUT", TOPICS + "/cpu/handlers/web",
                         {"id": "log2", "kind": "log", "options": {"path": "/tmp/x.log"}})
    assert replaced.code == 200, replaced.body
    assert replaced.json()["link"]["href"] == TOPICS + "/cpu/handlers/log2"
    assert [x["id"] for x in h.get(TOPICS + "/cpu/handlers").json()["handlers"]] == ["log2"]

    assert h.delete(TOPICS + "/cpu/handlers/log2").code == 204
    assert h.get(TOPICS + "/cpu/handlers").json()["handlers"] == []
    assert h.delete(TOPICS + "/cpu/handlers/log2").code == 204  # gone already: still 204


def test_handlers_listed_by_id_pattern_in_id_order(h):
    for handler_id in ("b2", "a1", "b1"):
        assert h.post(TOPICS + "/t/handlers", {"id": handler_id, "kind": "publish",
                                               "options": {"topics": ["x"]}}).code == 200
    ids = [x["id"] for x in h.get(TOPICS + "/t/handlers?pattern=b*").json()["handlers"]]
    assert ids == ["b1", "b2"]


@pytest.mark.parametrize("body, message", [
    ({"id": "x", "kind": "slack2000"}, 'failed to create handler: unsupported action kind "slack2000"'),
    ({"id": "x", "kind": "log", "options": {"path": "/tmp/a", "color": "red"}},
     "failed to create handler: failed to decode options into *alert.LogHandlerConfig: "
     "1 error(s) decoding:\n\n* '' has invalid keys: color"),
    ({"id": "x", "kind": "exec", "options": {"prog": 7, "args": "a"}},
     "failed to create handler: failed to decode options into *alert.ExecHandlerConfig: "
     "2 error(s) decoding:\n\n* 'args': source data must be an array or slice, got string\n"
     "* 'prog' expected type 'string', got unconvertible type 'float64', value: '7'"),
    ({"id": "x", "kind": "log", "options": {"path": "relative.log"}},
     "failed to create handler: log path must be absolute: relative.log is not absolute"),
    ({"id": "x", "kind": "log", "options": {"path": "/tmp/a", "mode": 0o400}},
     "failed to create handler: invalid file mode -r--------, must be user writable"),
    ({"id": "x", "kind": "post"},
     "failed to create handler: An appropriately formatted url must be specified if an "
     "endpoint is not specified"),
    ({"id": "x", "kind": "aggregate", "options": {"interval": "1m", "topic": "t"}},
     "failed to create handler: failed to decode options into *alert.AggregateHandlerConfig: "
     "1 error(s) decoding:\n\n* 'interval' expected type 'time.Duration', got unconvertible "
     "type 'string', value: '1m'"),
    ({"id": "x", "kind": "aggregate", "options": {"interval": 1000, "message": "{{ .Nope }}"}},
     'failed to create handler: failed to evaluate message template with aggregate message '
     'data: template: message:1:3: executing "message" at <.Nope>: can\'t evaluate field '
     'Nope in type alert.aggregateMessageData'),
    ({"id": "x", "kind": "log", "options": {"path": "/tmp/a"}, "match": "level() >"},
     'failed to create handler: invalid match expression: parser: unexpected EOF line 1 '
     'char 10 in "level() >". expected: "number","string","duration","identifier","TRUE",'
     '"FALSE","==","(","-","!"'),
    ({"id": "x", "kind": "log", "options": {"path": "/tmp/a"}, "match": "level() == WARN"},
     'failed to create handler: unknown identifier "WARN"'),
    ({"id": "bad id", "kind": "log"},
     "invalid handler spec: handler ID must contain only letters, numbers, '-', '.' and '_'. "
     '"bad id"'),
    ({"id": "x"}, "invalid handler spec: handler Kind must not be empty"),
    ({"id": "x", "kind": "log", "options": "path"},
     "invalid handler json: json: cannot unmarshal string into Go struct field "
     "HandlerSpec.options of type map[string]interface {}"),
])
def test_bad_handler_specs_are_400_with_kapacitors_message(h, body, message):
    reply = h.post(TOPICS + "/cpu/handlers", body)
    assert (reply.code, reply.json()) == (400, {"error": message, "message": message})
    assert reply.body.startswith(b'{\n    "error": ')
    assert h.get(TOPICS + "/cpu/handlers/x").code == 404


def test_duplicate_handler_id_is_refused(h):
    spec = {"id": "x", "kind": "publish", "options": {"topics": ["other"]}}
    assert h.post(TOPICS + "/cpu/handlers", spec).code == 200
    reply = h.post(TOPICS + "/cpu/handlers", spec)
    assert (reply.code, reply.body) == (400, err_body(
        'failed to create handler: cannot register handler, handler with ID "x" already exists',
        True))


def test_bad_updates(h):
    assert h.post(TOPICS + "/cpu/handlers", {"id": "x", "kind": "publish"}).code == 200
    cases = [
        ("PATCH", "/cpu/handlers/x", {"op": "replace"}, 400,
         "invalid patch json: json: cannot unmarshal object into Go value of type jsonpatch.Patch"),
        ("PATCH", "/cpu/handlers/x", [{"op": "remove", "path": "/nope"}], 400,
         "failed to apply patch: Unable to remove nonexistent key: nope: missing value"),
        ("PATCH", "/cpu/handlers/x", [{"op": "replace", "path": "/topic", "value": "mem"}], 400,
         "failed to update handler: cannot change topic in update"),
        ("PATCH", "/cpu/handlers/x", [{"op": "replace", "path": "/kind", "value": "zz"}], 400,
         'failed to update handler: unsupported action kind "zz"'),
        ("PUT", "/cpu/handlers/x", {"id": "x", "kind": ""}, 400,
         "invalid handler spec: handler Kind must not be empty"),
        ("PUT", "/cpu/handlers/nope", {"id": "x", "kind": "log"}, 404, 'unknown handler: "nope"'),
        ("PATCH", "/cpu", [], 404, 'unknown handler: ""'),
    ]
    for method, path, body, code, message in cases:
        reply = h.request(method, TOPICS + path, body)
        assert (reply.code, reply.body) == (code, err_body(message, True)), (method, path, body)
    assert h.get(TOPICS + "/cpu/handlers/x").json()["kind"] == "publish"


def test_delete_topic_forgets_events_but_keeps_handlers(h):
    assert h.post(TOPICS + "/cpu/handlers", {"id": "x", "kind": "publish"}).code == 200
    h.app.alerts.collect("cpu", event("a", 3))
    assert h.delete(TOPICS + "/cpu").code == 204
    assert h.get(TOPICS).json()["topics"] == []
    assert h.get(TOPICS + "/cpu/events/a").code == 404
    assert [x["id"] for x in h.get(TOPICS + "/cpu/handlers").json()["handlers"]] == ["x"]


# ------------------------------------------------------------ privileges

@pytest.fixture
def secured(tmp_path):
    h = Harness(tmp_path)
    h.add_user(*ADMIN, admin=True)
    h.add_user("api", "apipw", permissions=["api"])
    h.add_user("reader", "readpw", permissions=["write_points"])
    return h


def test_admin_and_api_users_manage_handlers_others_cannot(secured):
    spec = {"id": "x", "kind": "publish", "options": {"topics": ["b"]}}
    anonymous = secured.post(TOPICS + "/cpu/handlers", spec)
    assert anonymous.code == 401
    reader = secured.post(TOPICS + "/cpu/handlers", spec, auth=("reader", "readpw"))
    assert reader.code == 403
    assert secured.get(TOPICS, auth=("reader", "readpw")).code == 403
    assert secured.post(TOPICS + "/cpu/handlers", spec, auth=("api", "apipw")).code == 200
    assert secured.get(TOPICS + "/cpu/handlers/x", auth=ADMIN).code == 200
    assert secured.delete(TOPICS + "/cpu", auth=("api", "apipw")).code == 204
    assert secured.request("PUT", TOPICS + "/cpu/handlers/x", spec).code == 401


# ------------------------------------------------------------ durability

def test_handlers_and_alerting_events_survive_a_restart(tmp_path):
    first = Harness(tmp_path, http_auth=False, auth=False)
    assert first.post(TOPICS + "/cpu/handlers", {
        "id": "keep", "kind": "log", "options": {"path": str(tmp_path / "a.log"), "mode": 0o644},
        "match": "level() > OK"}).code == 200
    first.app.alerts.collect("cpu", event("crit", 3))
    first.app.alerts.collect("cpu", event("ok", 2))
    first.app.alerts.collect("cpu", event("ok", 0))  # an OK erases the stored state
    first.store.close()

    second = Harness(tmp_path, http_auth=False, auth=False)
    handler = second.get(TOPICS + "/cpu/handlers/keep").json()
    assert handler["options"] == {"mode": 420, "path": str(tmp_path / "a.log")}
    assert handler["match"] == "level() > OK"
    assert second.get(TOPICS + "/cpu").json() == topic_body("cpu", "CRITICAL", 0)
    assert [e["id"] for e in second.get(TOPICS + "/cpu/events").json()["events"]] == ["crit"]
    assert second.get(TOPICS + "/cpu/events/crit").json()["state"]["level"] == "CRITICAL"


def test_without_persist_topics_events_are_not_stored(tmp_path):
    from kapacitord_tw.alerts.service import TOPIC_EVENTS
    first = Harness(tmp_path, http_auth=False, auth=False)
    first.app.alerts.persist_topics = False
    first.app.alerts.collect("cpu", event("crit", 3))
    assert first.store.keys(TOPIC_EVENTS) == []


def test_events_of_an_unknown_topic_are_404_not_500(h):
    reply = h.get(TOPICS + "/nope/events")
    assert (reply.code, reply.body) == (404, err_body(
        'failed to get topic events: unknown topic "nope"', True))


def test_deleting_a_task_deletes_its_anonymous_topics(tmp_path):
    """Kapacitor's delete hook: ``main:<task>:<node>`` goes with the task; named topics stay."""
    import time as _time

    from tests.engine.conformance import make_harness, pin_utc
    from tests.http.harness import V1

    pin_utc()
    h = make_harness(tmp_path)
    log = tmp_path / "a.log"
    script = ("stream|from().measurement('cpu')|alert().crit(lambda: \"v\" > 1)"
              ".topic('cpu').log('%s')" % log)
    assert h.post(V1 + "/tasks", {"id": "t", "type": "stream", "script": script,
                                  "dbrps": [{"db": "db", "rp": "rp"}],
                                  "status": "enabled"}).code == 200
    assert h.post(V1 + "/write?db=db&rp=rp", "cpu v=5 %d" % _time.time_ns()).code == 204
    h.app.engine.flush()
    ids = [t["id"] for t in h.get(V1 + "/alerts/topics").json()["topics"]]
    assert ids == ["cpu", "main:t:alert2"]
    assert h.delete(V1 + "/tasks/t").code == 204
    assert [t["id"] for t in h.get(V1 + "/alerts/topics").json()["topics"]] == ["cpu"]
    assert not [k for k in h.store.keys("alert-topic-events") if "main:t:" in k]
