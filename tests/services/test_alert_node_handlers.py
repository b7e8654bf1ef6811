"""TICKscript service properties (``.slack().channel(...)``) become service
handlers through ``build_handlers``; ``global``/``state-changes-only`` apply."""

from __future__ import annotations

import json
import types

import pytest_twisted

from kapacitord_tw import tick
from kapacitord_tw.config import services as cs
from kapacitord_tw.engine.alerting import build_handlers
from kapacitord_tw.engine.task import EngineServices
from kapacitord_tw.services.registry import NotificationServices
from tests.services.test_http_services import ALERT


def _alert_props(script: str) -> dict:
    node = [n for n in tick.compile_task(script).pipeline.nodes if "Id" in n.properties][0]
    return node.properties


def _setup(**sections):
    live = {name: cs.default_value(name) for name in cs.SERVICE_SECTIONS}
    live.update(sections)
    ns = NotificationServices(lambda name: live[name], timeout=5.0)
    task = types.SimpleNamespace(id="t", master_id="main",
                                 services=EngineServices(notifications=ns))
    node = types.SimpleNamespace(name="alert2", state_changes_only=False)
    return task, node


@pytest_twisted.ensureDeferred
async def test_slack_property_methods_reach_the_payload(receiver):
    rec, url = receiver
    task, node = _setup(slack=(cs.SlackConfig(enabled=True, default=True, url=url),))
    props = _alert_props("stream|from()|alert().slack().channel('#x').username('u')"
                         ".iconEmoji(':x:')")
    handlers = build_handlers(props, task, node)
    assert len(handlers) == 1
    await handlers[0].handle(ALERT)
    body = json.loads(rec.requests[0].body)
    assert (body["channel"], body["username"], body["icon_emoji"]) == ("#x", "u", ":x:")


@pytest_twisted.ensureDeferred
async def test_teams_handler_of_a_node_names_its_anonymous_topic(receiver):
    rec, url = receiver
    task, node = _setup(teams=cs.TeamsConfig(enabled=True, channel_url=url))
    [h] = build_handlers(_alert_props("stream|from()|alert().teams()"), task, node)
    await h.handle(ALERT.__class__(id="", message="m", details="", time=0))
    assert json.loads(rec.requests[0].body)["title"] == "OK: [main:t:alert2]"


def test_global_service_adds_a_handler_and_state_changes_only():
    task, node = _setup(slack=(cs.SlackConfig(enabled=True, default=True, url="http://x",
                                              global_=True, state_changes_only=True),))
    handlers = build_handlers(_alert_props("stream|from()|alert()"), task, node)
    assert [h.kind for h in handlers] == ["slack"]
    assert node.state_changes_only is True


def test_global_state_changes_only_also_applies_to_a_node_naming_the_service():
    task, node = _setup(slack=(cs.SlackConfig(enabled=True, default=True, url="http://x",
                                              global_=True, state_changes_only=True),))
    handlers = build_handlers(_alert_props("stream|from()|alert().slack().channel('#a')"),
                              task, node)
    assert [h.kind for h in handlers] == ["slack"]
    assert node.state_changes_only is True


def test_without_notifications_only_engine_handlers_are_built():
    task = types.SimpleNamespace(id="t", master_id="main", services=EngineServices())
    node = types.SimpleNamespace(name="alert2", state_changes_only=False)
    handlers = build_handlers(_alert_props("stream|from()|alert().slack()"), task, node)
    assert handlers == []
