"""Each HTTP service against a local receiver: Kapacitor's exact method, path,
headers and body (upstream ``services/<name>/service.go`` and the
``TestStream_Alert<Service>`` expectations in integrations/streamer_test.go)."""

from __future__ import annotations

import base64
import json
import time

import attrs
import pytest
import pytest_twisted

from kapacitord_tw.config import services as cs
from kapacitord_tw.engine.alertdata import AlertData, Level
from kapacitord_tw.services.registry import HandlerConfigError, NotificationServices

T10 = 31536010 * 10**9  # 1971-01-01T00:00:10Z
SERIES = [{"name": "cpu", "tags": {"host": "serverA"}, "columns": ["time", "count"],
           "values": [["1971-01-01T00:00:10Z", 10.0]]}]
ALERT = AlertData(id="kapacitor/cpu/serverA", message="kapacitor/cpu/serverA is CRITICAL",
                  details="details", time=T10, level=Level.CRITICAL, series=SERIES,
                  name="cpu", task_name="testAlertHandlers", tags={"host": "serverA"})


def services(**sections):
    """NotificationServices over a mutable config: a dict section -> value."""
    live = {name: cs.default_value(name) for name in cs.SERVICE_SECTIONS}
    live.update(sections)
    ns = NotificationServices(lambda name: live[name], timeout=5.0,
                              server_url="http://localhost:9092/kapacitor/v1")
    return ns, live


@pytest_twisted.ensureDeferred
async def test_slack_payload_headers_and_node_options(receiver):
    rec, url = receiver
    ns, _ = services(slack=(cs.SlackConfig(enabled=True, default=True, url=url + "/hook",
                                           channel="#alerts", token="xoxb-1"),))
    h = ns.handler("slack", {"channel": "#x", "icon-emoji": ":smile:"})
    await h.handle(ALERT)
    assert h.errors == 0
    r = rec.requests[0]
    assert (r.method, r.path) == ("POST", "/hook")
    assert r.headers["content-type"] == "application/json"
    assert r.headers["authorization"] == "Bearer xoxb-1"
    assert r.body == (
        b'{"attachments":[{"fallback":"kapacitor/cpu/serverA is CRITICAL","color":"danger",'
        b'"text":"kapacitor/cpu/serverA is CRITICAL","mrkdwn_in":["text"]}],"channel":"#x",'
        b'"icon_emoji":":smile:","text":"","username":"kapacitor"}\n')


@pytest_twisted.ensureDeferred
async def test_slack_url_change_takes_effect_on_next_alert(receiver):
    rec, url = receiver
    ns, live = services(slack=(cs.SlackConfig(enabled=True, default=True, url=url + "/old"),))
    h = ns.handler("slack", {})
    await h.handle(ALERT)
    live["slack"] = (cs.SlackConfig(enabled=True, default=True, url=url + "/new"),)
    await h.handle(ALERT)
    assert [r.path for r in rec.requests] == ["/old", "/new"]


@pytest_twisted.ensureDeferred
async def test_slack_disabled_counts_an_error_and_sends_nothing(receiver):
    rec, url = receiver
    ns, _ = services(slack=(cs.SlackConfig(enabled=False, default=True, url=url),))
    h = ns.handler("slack", {})
    await h.handle(ALERT)
    assert h.errors == 1 and rec.requests == []


def test_bad_options_get_kapacitors_decode_error():
    ns, _ = services()
    with pytest.raises(HandlerConfigError) as e:
        ns.handler("slack", {"channel": 1, "nope": True})
    assert str(e.value) == (
        "failed to decode options into *slack.HandlerConfig: 2 error(s) decoding:\n\n"
        "* '' has invalid keys: nope\n"
        "* 'channel' expected type 'string', got unconvertible type 'float64', value: '1'")


@pytest_twisted.ensureDeferred
async def test_teams_message_card(receiver):
    rec, url = receiver
    ns, _ = services(teams=cs.TeamsConfig(enabled=True, channel_url=url + "/teams"))
    await ns.handler("teams", {}, topic="t1").handle(ALERT)
    assert json.loads(rec.requests[0].body) == {
        "@type": "MessageCard", "@context": "http://schema.org/extensions",
        "title": "CRITICAL: [kapacitor/cpu/serverA]", "text": "kapacitor/cpu/serverA is CRITICAL",
        "summary": "CRITICAL: [kapacitor/cpu/serverA] - kapacitor/cpu/serverA is CRITICAL...",
        "themeColor": "CC4A31"}
    assert not rec.requests[0].body.endswith(b"\n")   # json.Marshal


@pytest_twisted.ensureDeferred
async def test_pagerduty2_payload(receiver):
    rec, url = receiver
    ns, _ = services(pagerduty2=cs.PagerDuty2Config(enabled=True, url=url + "/enqueue",
                                                    routing_key="rk"))
    h = ns.handler("pagerduty2", {"links": [{"href": "https://x/{{ .Name }}", "text": "t"},
                                            {"href": "https://y"}]})
    await h.handle(ALERT)
    r = rec.requests[0]
    assert r.headers["accept"] == "application/vnd.pagerduty+json;version=2"
    assert r.body == (
        b'{"routing_key":"rk","event_action":"trigger","dedup_key":"kapacitor/cpu/serverA",'
        b'"payload":{"summary":"kapacitor/cpu/serverA is CRITICAL","source":"serverA",'
        b'"severity":"critical","timestamp":"1971-01-01T00:00:10.000000000Z",'
        b'"class":"testAlertHandlers","component":"","group":"","custom_details":{"result":'
        b'{"series":[{"name":"cpu","tags":{"host":"serverA"},"columns":["time","count"],'
        b'"values":[["1971-01-01T00:00:10Z",10]]}]}}},"images":null,'
        b'"links":[{"href":"https://x/cpu","text":"t"},{"href":"https://y","text":"https://y"}],'
        b'"client":"kapacitor","client_url":"http://localhost:9092/kapacitor/v1"}\n')


@pytest_twisted.ensureDeferred
async def test_pagerduty2_ok_resolves(receiver):
    rec, url = receiver
    ns, _ = services(pagerduty2=cs.PagerDuty2Config(enabled=True, url=url))
    await ns.handler("pagerduty2", {"routing-key": "x"}).handle(
        attrs.evolve(ALERT, level=Level.OK))
    body = json.loads(rec.requests[0].body)
    assert (body["event_action"], body["payload"]["severity"], body["routing_key"]) == (
        "resolve", "info", "x")


@pytest_twisted.ensureDeferred
async def test_discord_embed(receiver):
    rec, url = receiver
    rec.code = 204
    ns, _ = services(discord=(cs.DiscordConfig(enabled=True, default=True, url=url + "/d",
                                               timestamp=True, username="k"),))
    h = ns.handler("discord", {"embed-title": "{{ .TaskName }} alert"})
    await h.handle(ALERT)
    assert h.errors == 0
    assert rec.requests[0].body == (
        b'{"avatar_url":"","embeds":[{"color":16342867,"title":"testAlertHandlers alert",'
        b'"description":"kapacitor/cpu/serverA is CRITICAL","timestamp":"1971-01-01T00:00:10Z"}],'
        b'"username":"k"}\n')


@pytest_twisted.ensureDeferred
async def test_telegram_send_message(receiver):
    rec, url = receiver
    ns, _ = services(telegram=cs.TelegramConfig(enabled=True, url=url + "/bot", token="TOK",
                                                chat_id="123", disable_notification=True))
    await ns.handler("telegram", {"parse-mode": "Markdown"}).handle(ALERT)
    r = rec.requests[0]
    assert r.path == "/botTOK/sendMessage"
    assert r.body == (b'{"chat_id":"123","disable_notification":true,"parse_mode":"Markdown",'
                      b'"text":"kapacitor/cpu/serverA is CRITICAL"}\n')


@pytest_twisted.ensureDeferred
async def test_victorops_path_and_body(receiver):
    rec, url = receiver
    ns, _ = services(victorops=cs.VictorOpsConfig(enabled=True, url=url + "/alert",
                                                  api_key="KEY", routing_key="rk"))
    await ns.handler("victorops", {}).handle(ALERT)
    r = rec.requests[0]
    assert r.path == "/alert/KEY/rk"
    assert r.body == (
        b'{"data":"{\\"series\\":[{\\"name\\":\\"cpu\\",\\"tags\\":{\\"host\\":\\"serverA\\"},'
        b'\\"columns\\":[\\"time\\",\\"count\\"],\\"values\\":[[\\"1971-01-01T00:00:10Z\\",10]]}]}",'
        b'"entity_id":"kapacitor/cpu/serverA","message_type":"CRITICAL",'
        b'"monitoring_tool":"kapacitor","state_message":"kapacitor/cpu/serverA is CRITICAL",'
        b'"timestamp":31536010}\n')


@pytest_twisted.ensureDeferred
async def test_opsgenie2_create_and_recovery(receiver):
    rec, url = receiver
    rec.code = 202
    ns, _ = services(opsgenie2=cs.OpsGenie2Config(enabled=True, url=url + "/v2/alerts",
                                                  api_key="KEY", teams=("t1",)))
    h = ns.handler("opsgenie2", {"recipients-list": ["bob"]})
    await h.handle(ALERT)
    await h.handle(attrs.evolve(ALERT, level=Level.OK))
    create, recover = rec.requests
    assert create.headers["authorization"] == "GenieKey KEY"
    alias = base64.urlsafe_b64encode(b"kapacitor/cpu/serverA").decode()
    assert json.loads(create.body) == {
        "alias": alias, "description": json.dumps({"series": SERIES}, separators=(",", ":"))
        .replace("10.0", "10"),
        "details": {"Kapacitor Task Name": "cpu", "Level": "CRITICAL",
                    "Monitoring Tool": "Kapacitor", "host": "serverA"},
        "entity": "kapacitor/cpu/serverA", "message": "kapacitor/cpu/serverA is CRITICAL",
        "note": "", "priority": "P1",
        "responders": [{"name": "t1", "type": "team"}, {"type": "user", "username": "bob"}]}
    assert recover.path == f"/v2/alerts/{alias}/notes?identifierType=alias"
    assert recover.body == b'{"note":"kapacitor/cpu/serverA is CRITICAL"}\n'
    assert h.errors == 0


@pytest_twisted.ensureDeferred
async def test_httppost_endpoint_with_headers_basic_auth_and_alert_template(receiver):
    rec, url = receiver
    ns, _ = services(httppost=(cs.HTTPPostConfig(
        endpoint="ep", url=url + "/{{ .ID }}", headers={"x-team": "ops"},
        basic_auth=cs.BasicAuth("u", "p"), alert_template='{"id":"{{ .ID }}"}'),))
    await ns.handler("httppost", {"endpoint": "ep", "headers": {"X-Extra": "1"}}).handle(ALERT)
    r = rec.requests[0]
    assert r.path == "/kapacitor/cpu/serverA"
    assert r.headers["authorization"] == "Basic " + base64.b64encode(b"u:p").decode()
    assert r.headers["x-team"] == "ops" and r.headers["x-extra"] == "1"
    assert "content-type" not in r.headers       # an alert template sets none
    assert r.body == b'{"id":"kapacitor/cpu/serverA"}'


@pytest_twisted.ensureDeferred
async def test_httppost_url_without_endpoint_sends_alert_data(receiver):
    rec, url = receiver
    ns, _ = services()
    await ns.handler("httppost", {"url": url + "/p"}).handle(ALERT)
    assert rec.requests[0].headers["content-type"] == "application/json"
    assert rec.requests[0].body == ALERT.encode()


def test_httppost_unknown_endpoint_without_url_is_refused():
    ns, _ = services()
    with pytest.raises(HandlerConfigError, match="^An appropriately formatted url must be"):
        ns.handler("httppost", {"endpoint": "nope"})


@pytest_twisted.ensureDeferred
async def test_non_2xx_is_counted_with_the_services_error(receiver):
    rec, url = receiver
    rec.code, rec.answer = 500, b'{"error":"channel_not_found"}'
    ns, _ = services(slack=(cs.SlackConfig(enabled=True, default=True, url=url),))
    h = ns.handler("slack", {})
    await h.handle(ALERT)
    assert h.errors == 1
    ok, message = await ns.test("slack", {})
    assert (ok, message) == (False, "channel_not_found")


@pytest_twisted.ensureDeferred
async def test_dead_receiver_fails_fast_and_counts_an_error(closed_port):
    ns, _ = services(slack=(cs.SlackConfig(enabled=True, default=True,
                                           url=f"http://127.0.0.1:{closed_port}/"),))
    h = ns.handler("slack", {})
    start = time.monotonic()
    await h.handle(ALERT)
    assert time.monotonic() - start < 2
    assert h.errors == 1 and h.pending == 0


@pytest_twisted.ensureDeferred
async def test_service_test_uses_kapacitors_test_options(receiver):
    rec, url = receiver
    ns, _ = services(slack=(cs.SlackConfig(enabled=True, default=True, url=url,
                                           channel="#c"),))
    assert ns.test_options("slack") == {
        "workspace": "", "channel": "#c", "message": "test slack message",
        "level": "CRITICAL", "username": "", "icon-emoji": ""}
    assert await ns.test("slack", {"message": "hello"}) == (True, "")
    body = json.loads(rec.requests[0].body)
    assert body["attachments"][0]["text"] == "hello" and body["channel"] == "#c"


def test_redacted_and_sections():
    assert cs.redacted("slack") == {"url", "token"}
    assert cs.redacted("pagerduty2") == {"routing-key"}
    assert cs.redacted("httppost") == {"basic-auth"}
    assert cs.SERVICE_SECTIONS["mqtt"][1:] == (True, "name")
    assert cs.SERVICE_SECTIONS["httppost"][1:] == (True, "endpoint")
    with pytest.raises(ValueError, match="^must specify url$"):
        cs.validate("slack", (cs.SlackConfig(enabled=True, default=True),))
