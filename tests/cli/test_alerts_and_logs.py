"""Alert topics and handlers (list/show/define/delete), and logs/watch."""

from __future__ import annotations

import json
import time

import pytest

TOPICS = "/kapacitor/v1/alerts/topics"


@pytest.fixture
def utc(monkeypatch):
    """Run with the local zone set to UTC (show-topic prints local times)."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def _topic(topic_id: str, level: str = "OK", collected: int = 0) -> dict:
    base = "%s/%s" % (TOPICS, topic_id)
    return {
        "link": {"rel": "self", "href": base},
        "id": topic_id,
        "level": level,
        "collected": collected,
        "events-link": {"rel": "events", "href": base + "/events"},
        "handlers-link": {"rel": "handlers", "href": base + "/handlers"},
    }


def _handler(topic: str, handler_id: str, kind: str, options=None, match: str = "") -> dict:
    return {
        "link": {"rel": "self", "href": "%s/%s/handlers/%s" % (TOPICS, topic, handler_id)},
        "id": handler_id,
        "kind": kind,
        "options": options,
        "match": match,
    }


def test_list_topics_prints_id_level_and_collected(kapacitor, server):
    server.reply("GET", TOPICS, json_body={
        "link": {"rel": "self", "href": TOPICS},
        "topics": [_topic("cpu", "CRITICAL", 12), _topic("main:mem_alert:alert2", "OK", 3)],
    })
    result = kapacitor("list", "topics")
    assert result.code == 0, result.err
    assert result.out == (
        "ID                    Level     Collected\n"
        "cpu                   CRITICAL         12\n"
        "main:mem_alert:alert2 OK                3\n"
    )
    assert server.requests[0].query == [("min-level", "OK"), ("pattern", "")]


def test_list_topic_handlers_of_matching_topics(kapacitor, server):
    server.reply("GET", TOPICS, json_body={"topics": [_topic("system")]})
    server.reply("GET", TOPICS + "/system/handlers", json_body={
        "topic": "system",
        "handlers": [_handler("system", "slack", "slack"), _handler("system", "email-ops", "smtp")],
    })
    result = kapacitor("list", "topic-handlers", "sys*", "*")
    assert result.code == 0, result.err
    assert result.out == (
        "Topic      ID         Kind       \n"
        "system     slack      slack      \n"
        "system     email-ops  smtp       \n"
    )
    assert server.requests[0].param("pattern") == ["sys*"]
    assert server.requests[1].param("pattern") == ["*"]


def test_show_topic_prints_handlers_and_events_oldest_first(kapacitor, server, utc):
    server.reply("GET", TOPICS + "/cpu", json_body=_topic("cpu", "CRITICAL", 2))
    server.reply("GET", TOPICS + "/cpu/events", json_body={"topic": "cpu", "events": [
        {"link": {"rel": "self", "href": TOPICS + "/cpu/events/host=b"}, "id": "host=b",
         "state": {"message": "b is critical", "details": "", "time": "2026-03-03T12:05:00Z",
                   "duration": "0s", "level": "CRITICAL"}},
        {"link": {"rel": "self", "href": TOPICS + "/cpu/events/host=a"}, "id": "host=a",
         "state": {"message": "ok", "details": "", "time": "2026-03-03T13:00:00+01:00",
                   "duration": "0s", "level": "OK"}},
    ]})
    server.reply("GET", TOPICS + "/cpu/handlers", json_body={"topic": "cpu", "handlers": [
        _handler("cpu", "log", "log"), _handler("cpu", "pager", "pagerduty2"),
    ]})
    result = kapacitor("show-topic", "cpu")
    assert result.code == 0, result.err
    assert result.out == (
        "ID: cpu\n"
        "Level: CRITICAL\n"
        "Collected: 2\n"
        "Handlers: [log, pager]\n"
        "Events:\n"
        "Event  Level    Message       Date                   \n"
        "host=a OK       ok            03 Mar 26 12:00 UTC    \n"
        "host=b CRITICAL b is critical 03 Mar 26 12:05 UTC    \n"
    )
    assert server.requests[1].query == [("min-level", "OK")]
    assert server.requests[2].query == [("pattern", "")]


def test_show_topic_handler_prints_options_as_sorted_json(kapacitor, server):
    server.reply("GET", TOPICS + "/cpu/handlers/post", json_body=_handler(
        "cpu", "post", "post", {"url": "http://example.com/?a=1&b=<2>", "headers": {"b": "2", "a": "1"}},
        match="level() == CRITICAL",
    ))
    result = kapacitor("show-topic-handler", "cpu", "post")
    assert result.code == 0, result.err
    assert result.out == (
        "ID: post\n"
        "Topic: cpu\n"
        "Kind: post\n"
        "Match: level() == CRITICAL\n"
        'Options: {"headers":{"a":"1","b":"2"},"url":"http://example.com/?a=1\\u0026b=\\u003c2\\u003e"}\n'
    )


def test_show_topic_handler_needs_two_ids(kapacitor, server):
    result = kapacitor("show-topic-handler", "cpu")
    assert result.code == 2
    assert result.err.startswith("Must specify both topic and handler IDs\nUsage: kapacitor show-topic-handler")


def test_define_topic_handler_creates_a_new_handler(kapacitor, server, tmp_path):
    spec = tmp_path / "slack.json"
    spec.write_text(json.dumps({"topic": "cpu", "id": "slack", "kind": "slack", "options": {"channel": "#alerts"}}))
    server.error("GET", TOPICS + "/cpu/handlers/slack", 404, 'unknown handler: "slack"')
    server.reply("POST", TOPICS + "/cpu/handlers", json_body=_handler("cpu", "slack", "slack"))
    result = kapacitor("define-topic-handler", str(spec))
    assert (result.code, result.out, result.err) == (0, "", "")
    assert server.requests[1].body == (
        b'{"topic":"cpu","id":"slack","kind":"slack","options":{"channel":"#alerts"},"match":""}\n'
    )


def test_define_topic_handler_replaces_an_existing_handler(kapacitor, server, tmp_path):
    spec = tmp_path / "slack.json"
    spec.write_text(json.dumps({"topic": "cpu", "id": "slack", "kind": "slack"}))
    server.reply("GET", TOPICS + "/cpu/handlers/slack", json_body=_handler("cpu", "slack", "slack"))
    server.reply("PUT", TOPICS + "/cpu/handlers/slack", json_body=_handler("cpu", "slack", "slack"))
    result = kapacitor("define-topic-handler", str(spec))
    assert result.code == 0, result.err
    assert server.calls()[1] == ("PUT", TOPICS + "/cpu/handlers/slack")
    assert server.requests[1].json() == {"topic": "cpu", "id": "slack", "kind": "slack", "options": None, "match": ""}


def test_delete_topics_and_topic_handlers(kapacitor, server):
    server.reply("GET", TOPICS, json_body={"topics": [_topic("old")]})
    server.reply("DELETE", TOPICS + "/old", status=204)
    assert kapacitor("delete", "topics", "o*").code == 0
    server.reply("GET", TOPICS + "/cpu/handlers", json_body={"handlers": [_handler("cpu", "slack", "slack")]})
    server.reply("DELETE", TOPICS + "/cpu/handlers/slack", status=204)
    result = kapacitor("delete", "topic-handlers", "cpu", "sl*")
    assert result.code == 0, result.err
    assert server.calls() == [
        ("GET", TOPICS), ("DELETE", TOPICS + "/old"),
        ("GET", TOPICS + "/cpu/handlers"), ("DELETE", TOPICS + "/cpu/handlers/slack"),
    ]


# -- logs and watch ---------------------------------------------------------------

LOGS = "/kapacitor/v1preview/logs"


def test_logs_streams_the_server_output(kapacitor, server):
    lines = b'ts=1 lvl=info msg="one" service=http\nts=2 lvl=error msg="two" service=http\n'
    server.reply("GET", LOGS, raw=lines, headers={"Content-Type": "application/logfmt"})
    result = kapacitor("logs", "service=http", "lvl=info+")
    assert (result.code, result.out, result.err) == (0, lines.decode(), "")
    assert server.requests[0].query == [("lvl", "info+"), ("service", "http")]


def test_watch_filters_on_the_task(kapacitor, server):
    server.reply("GET", LOGS, raw=b"")
    result = kapacitor("watch", "cpu_alert", "node=log5")
    assert result.code == 0, result.err
    assert server.requests[0].query == [("node", "log5"), ("task", "cpu_alert")]


def test_logs_with_a_malformed_tag(kapacitor, server):
    result = kapacitor("logs", "a=b=c")
    assert (result.code, result.err) == (3, "Error: bad keyvalue pair: 'a=b=c'\n")
    assert server.requests == []


def test_logs_refused_by_the_server(kapacitor, server):
    server.error("GET", LOGS, 403, 'user bob does not have "read" privilege for API endpoint "/kapacitor/v1preview/logs"', compact=True)
    result = kapacitor("logs")
    assert (result.code, result.err) == (3, "Error: failed to retrieve logs: bad status code 403\n")
