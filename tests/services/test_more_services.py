"""pagerduty, opsgenie, pushover, sensu, alerta, servicenow, bigpanda and zenoss
against local receivers: Kapacitor's exact request (upstream
``services/<name>/service.go`` and the ``TestStream_Alert<Name>``
expectations in integrations/streamer_test.go), their options' decode errors,
their service tests, and their TICKscript properties."""

from __future__ import annotations

import base64
import json
import types
from urllib.parse import parse_qsl

import attrs
import pytest
import pytest_twisted
from twisted.internet import protocol, reactor

from kapacitord_tw import tick
from kapacitord_tw.config import services as cs
from kapacitord_tw.engine.alertdata import AlertData, Level
from kapacitord_tw.engine.alerting import build_handlers
from kapacitord_tw.engine.task import EngineServices
from kapacitord_tw.services.registry import HandlerConfigError, NotificationServices

T10 = 31536010 * 10**9  # 1971-01-01T00:00:10Z
SERIES = [{"name": "cpu", "tags": {"host": "serverA"}, "columns": ["time", "count"],
           "values": [["1971-01-01T00:00:10Z", 10.0]]}]
SERIES_JSON = (b'{"series":[{"name":"cpu","tags":{"host":"serverA"},"columns":["time","count"],'
               b'"values":[["1971-01-01T00:00:10Z",10]]}]}')
ALERT = AlertData(id="kapacitor/cpu/serverA", message="kapacitor/cpu/serverA is CRITICAL",
                  details="details", time=T10, level=Level.CRITICAL, series=SERIES,
                  name="cpu", task_name="TestStream_Alert", group="host=serverA",
                  tags={"host": "serverA"}, fields={"count": 10.0})


def services(**sections):
    live = {name: cs.default_value(name) for name in cs.SERVICE_SECTIONS}
    live.update(sections)
    ns = NotificationServices(lambda name: live[name], timeout=5.0,
                              server_url="http://localhost:9092/kapacitor/v1")
    return ns, live


def node_handlers(ns, script: str):
    """The handlers ``build_handlers`` makes for the alert node of *script*."""
    props = [n for n in tick.compile_task(script).pipeline.nodes
             if "Id" in n.properties][0].properties
    task = types.SimpleNamespace(id="t", master_id="main",
                                 services=EngineServices(notifications=ns))
    node = types.SimpleNamespace(name="alert2", state_changes_only=False)
    return build_handlers(props, task, node), node


def decode_error(ns, name, options) -> str:
    with pytest.raises(HandlerConfigError) as e:
        ns.handler(name, options)
    return str(e.value)


# ------------------------------------------------------------------ pagerduty

@pytest_twisted.ensureDeferred
async def test_pagerduty_event_and_service_key_override(receiver):
    rec, url = receiver
    ns, _ = services(pagerduty=cs.PagerDutyConfig(enabled=True, url=url + "/create_event.json",
                                                  service_key="service_key"))
    [default, override], _ = node_handlers(
        ns, "stream|from()|alert().pagerDuty().pagerDuty().serviceKey('test_override_key')")
    await default.handle(ALERT)
    await override.handle(ALERT)
    first, second = rec.requests
    assert (first.method, first.path) == ("POST", "/create_event.json")
    assert first.headers["content-type"] == "application/json"
    assert first.body == (
        b'{"client":"kapacitor","client_url":"http://localhost:9092/kapacitor/v1",'
        b'"description":"kapacitor/cpu/serverA is CRITICAL","details":"details",'
        b'"event_type":"trigger","incident_key":"kapacitor/cpu/serverA",'
        b'"service_key":"service_key"}\n')
    assert json.loads(second.body)["service_key"] == "test_override_key"


@pytest_twisted.ensureDeferred
async def test_pagerduty_ok_resolves_and_info_is_refused(receiver):
    rec, url = receiver
    ns, _ = services(pagerduty=cs.PagerDutyConfig(enabled=True, url=url))
    h = ns.handler("pagerduty", {"service-key": "k"})
    await h.handle(attrs.evolve(ALERT, level=Level.OK))
    await h.handle(attrs.evolve(ALERT, level=Level.INFO))
    assert [json.loads(r.body)["event_type"] for r in rec.requests] == ["resolve"]
    assert h.errors == 1
    ok, message = await ns.test("pagerduty", {"level": "INFO"})
    assert (ok, message) == (
        False, "AlertLevel 'info' is currently ignored by the PagerDuty service")


@pytest_twisted.ensureDeferred
async def test_pagerduty_service_test_and_error_message(receiver):
    rec, url = receiver
    ns, _ = services(pagerduty=cs.PagerDutyConfig(enabled=True, url=url, service_key="sk"))
    assert ns.test_options("pagerduty") == {
        "incident-key": "testIncidentKey", "description": "test pagerduty message",
        "details": "", "level": "CRITICAL"}
    assert await ns.test("pagerduty", {}) == (True, "")
    body = json.loads(rec.requests[0].body)
    assert (body["incident_key"], body["service_key"]) == ("testIncidentKey", "sk")
    rec.code, rec.answer = 400, b'{"message":"Event object is invalid"}'
    assert await ns.test("pagerduty", {}) == (False, "Event object is invalid")
    assert decode_error(ns, "pagerduty", {"service_key": "x"}) == (
        "failed to decode options into *pagerduty.HandlerConfig: 1 error(s) decoding:\n\n"
        "* '' has invalid keys: service_key")


# ------------------------------------------------------------------ opsgenie

@pytest_twisted.ensureDeferred
async def test_opsgenie_alert_and_recovery(receiver):
    rec, url = receiver
    ns, _ = services(opsgenie=cs.OpsGenieConfig(enabled=True, url=url + "/alert",
                                                recovery_url=url + "/alert/note",
                                                api_key="api_key", recipients=("ops",)))
    [h], _ = node_handlers(ns, "stream|from()|alert().opsGenie()"
                               ".teams('test_team', 'another_team')")
    await h.handle(ALERT)
    await h.handle(attrs.evolve(ALERT, level=Level.OK))
    create, recover = rec.requests
    assert create.path == "/alert/" and recover.path == "/alert/note/"
    assert create.headers["content-type"] == "application/json"
    assert create.body == (
        b'{"alias":"kapacitor/cpu/serverA","apiKey":"api_key","description":'
        + json.dumps(SERIES_JSON.decode()).encode()
        + b',"details":{"Level":"CRITICAL","Monitoring Tool":"Kapacitor"},'
        b'"entity":"kapacitor/cpu/serverA","message":"kapacitor/cpu/serverA is CRITICAL",'
        b'"monitoring_tool":"kapacitor","note":"","recipients":["ops"],'
        b'"teams":["test_team","another_team"]}\n')
    body = json.loads(recover.body)
    assert (body["note"], body["details"]["Level"]) == (
        "kapacitor/cpu/serverA is CRITICAL", "RECOVERY")
    assert h.errors == 0


@pytest_twisted.ensureDeferred
async def test_opsgenie_service_test_and_bad_options(receiver):
    rec, url = receiver
    ns, _ = services(opsgenie=cs.OpsGenieConfig(enabled=True, url=url, api_key="k"))
    assert ns.test_options("opsgenie") == {
        "teams": None, "recipients": None, "message-type": "CRITICAL",
        "message": "test opsgenie message", "entity-id": "testEntityID"}
    assert await ns.test("opsgenie", {"teams": ["t"]}) == (True, "")
    body = json.loads(rec.requests[0].body)
    assert (body["teams"], body["description"], "recipients" in body) == (
        ["t"], '{"series":null}', False)
    assert await ns.test("opsgenie", {"teams": "t"}) == (
        False, "json: cannot unmarshal string into Go struct field testOptions.teams "
               "of type []string")
    assert decode_error(ns, "opsgenie", {"teams-list": "t"}) == (
        "failed to decode options into *opsgenie.HandlerConfig: 1 error(s) decoding:\n\n"
        "* 'teams-list': source data must be an array or slice, got string")


# ------------------------------------------------------------------ pushover

@pytest_twisted.ensureDeferred
async def test_pushover_form_post(receiver):
    rec, url = receiver
    ns, _ = services(pushover=cs.PushoverConfig(enabled=True, url=url + "/1/messages.json",
                                                token="KzGDORePKggMaC0QOYAMyEEuzJnyUi",
                                                user_key="user"))
    [full, short], _ = node_handlers(
        ns, "stream|from()|alert().pushover().sound('siren').device('mydev').title('my title')"
            ".uRL('http://example.com').uRLTitle('myurltitle')"
            ".pushover().title('othertitle').device('otherdev')")
    await full.handle(ALERT)
    await short.handle(attrs.evolve(ALERT, level=Level.OK))
    first, second = rec.requests
    assert first.path == "/1/messages.json"
    assert first.headers["content-type"] == "application/x-www-form-urlencoded"
    assert first.body == (
        b"device=mydev&message=kapacitor%2Fcpu%2FserverA+is+CRITICAL&priority=1&sound=siren"
        b"&title=my+title&token=KzGDORePKggMaC0QOYAMyEEuzJnyUi&url=http%3A%2F%2Fexample.com"
        b"&url_title=myurltitle&user=user")
    assert dict(parse_qsl(second.body.decode())) == {
        "device": "otherdev", "message": "kapacitor/cpu/serverA is CRITICAL",
        "priority": "-2", "title": "othertitle", "token": "KzGDORePKggMaC0QOYAMyEEuzJnyUi",
        "user": "user"}


@pytest_twisted.ensureDeferred
async def test_pushover_service_test_hides_the_user_key_and_reports_errors(receiver):
    rec, url = receiver
    ns, _ = services(pushover=cs.PushoverConfig(enabled=True, url=url, token="t",
                                                user_key="secret-user"))
    options = ns.test_options("pushover")
    assert "secret-user" not in json.dumps(options)
    assert (options["message"], options["level"]) == ("test pushover message", "CRITICAL")
    assert await ns.test("pushover", {"level": "WARNING"}) == (True, "")
    assert dict(parse_qsl(rec.requests[0].body.decode()))["user"] == "secret-user"
    assert dict(parse_qsl(rec.requests[0].body.decode()))["priority"] == "0"
    rec.code, rec.answer = 400, b'{"user":"invalid","errors":["user identifier is invalid"]}'
    assert await ns.test("pushover", {}) == (
        False, "failed to understand Pushover response. code: 400 content: "
               "user identifier is invalid")
    assert decode_error(ns, "pushover", {"sound": 1}) == (
        "failed to decode options into *pushover.HandlerConfig: 1 error(s) decoding:\n\n"
        "* 'sound' expected type 'string', got unconvertible type 'float64', value: '1'")


# ------------------------------------------------------------------ sensu

class _SensuClient(protocol.Protocol):
    """A Sensu client socket: reads one JSON check, answers ``ok`` and closes."""

    def __init__(self, server) -> None:
        self.server, self.buf = server, b""

    def dataReceived(self, data: bytes) -> None:
        self.buf += data
        if self.buf.endswith(b"\n"):
            self.server.checks.append(self.buf)
            self.transport.write(self.server.answer)
            self.transport.loseConnection()
            waiters, self.server.waiters = self.server.waiters, []
            for w in waiters:
                w.callback(None)


@pytest.fixture
def sensu_client():
    server = types.SimpleNamespace(checks=[], answer=b"ok", waiters=[])
    factory = protocol.Factory.forProtocol(lambda: _SensuClient(server))
    port = reactor.listenTCP(0, factory, interface="127.0.0.1")
    server.addr = f"127.0.0.1:{port.getHost().port}"
    yield server
    port.stopListening()


@pytest_twisted.ensureDeferred
async def test_sensu_check_over_tcp(sensu_client):
    ns, _ = services(sensu=cs.SensuConfig(enabled=True, addr=sensu_client.addr,
                                          source="Kapacitor", handlers=("h1",)))
    [h], _ = node_handlers(ns, "stream|from()|alert().sensu().metadata('k1', 'v1')"
                               ".metadata('k2', 5).metadata('name', 'ignored')")
    await h.handle(attrs.evolve(ALERT, id="kapacitor.cpu.serverA"))
    assert h.errors == 0
    assert sensu_client.checks == [
        b'{"handlers":["h1"],"k1":"v1","k2":5,"name":"kapacitor.cpu.serverA",'
        b'"output":"kapacitor/cpu/serverA is CRITICAL","source":"Kapacitor","status":2}\n']


@pytest_twisted.ensureDeferred
async def test_sensu_source_template_handlers_and_bad_answers(sensu_client):
    ns, _ = services(sensu=cs.SensuConfig(enabled=True, addr=sensu_client.addr))
    h = ns.handler("sensu", {"source": "{{ .TaskName }}-{{ index .Tags \"host\" }}",
                             "handlers": ["a", "b"]})
    await h.handle(attrs.evolve(ALERT, id="cpu_serverA", level=Level.WARNING))
    check = json.loads(sensu_client.checks[0])
    assert (check["source"], check["handlers"], check["status"]) == (
        "TestStream_Alert-serverA", ["a", "b"], 1)
    await h.handle(ALERT)          # "/" is not allowed in a Sensu check name
    assert h.errors == 1 and len(sensu_client.checks) == 1
    sensu_client.answer = b"bad check"
    assert await ns.test("sensu", {}) == (False, "sensu socket error: bad check")
    assert json.loads(sensu_client.checks[1]) == {
        "handlers": None, "name": "testName", "output": "testOutput", "source": "Kapacitor",
        "status": 2}
    assert await ns.test("sensu", {"name": "a b"}) == (
        False, 'invalid name "a b" for sensu alert. Must match ^[\\w\\.-]+$')


def test_sensu_bad_options_and_source_template():
    ns, _ = services()
    assert decode_error(ns, "sensu", {"metadata": [1], "handlers": [1]}) == (
        "failed to decode options into *sensu.HandlerConfig: 2 error(s) decoding:\n\n"
        "* 'handlers[0]' expected type 'string', got unconvertible type 'float64', value: '1'\n"
        "* 'metadata' expected a map, got 'slice'")
    assert decode_error(ns, "sensu", {"source": "{{ .Name "}).startswith("template: source:1:")


@pytest_twisted.ensureDeferred
async def test_sensu_dead_client_counts_an_error(closed_port):
    ns, _ = services(sensu=cs.SensuConfig(enabled=True, addr=f"127.0.0.1:{closed_port}"))
    h = ns.handler("sensu", {})
    await h.handle(attrs.evolve(ALERT, id="x"))
    assert h.errors == 1 and h.pending == 0


# ------------------------------------------------------------------ alerta

@pytest_twisted.ensureDeferred
async def test_alerta_defaults_and_overrides(receiver):
    rec, url = receiver
    rec.code = 201
    ns, _ = services(alerta=cs.AlertaConfig(enabled=True, url=url, origin="Kapacitor"))
    a = attrs.evolve(ALERT, id="serverA")
    [first, second], _ = node_handlers(
        ns, "stream|from()|alert().alerta().token('testtoken1234567').environment('production')"
            ".timeout(1h)"
            ".alerta().token('anothertesttoken').resource('resource: {{ index .Tags \"host\" }}')"
            ".event('event: {{ .TaskName }}').environment('{{ index .Tags \"host\" }}')"
            ".origin('override').group('{{ .ID }}').value('{{ index .Fields \"count\" }}')"
            ".services('serviceA', 'serviceB', '{{ .Name }}').correlated('{{ .Name }}')"
            ".attribute('attributeA', '{{ .Name }}').attribute('attributeB', TRUE)"
            ".attribute('attributeC', 9001.0)")
    await first.handle(a)
    await second.handle(a)
    assert first.errors == second.errors == 0
    r1, r2 = rec.requests
    assert r1.path == "/alert"
    assert r1.headers["authorization"] == "Bearer testtoken1234567"
    assert r1.headers["content-type"] == "application/json"
    assert r1.body == (
        b'{"correlate":["cpu"],"environment":"production","event":"serverA",'
        b'"group":"host=serverA","origin":"Kapacitor","rawData":' + SERIES_JSON
        + b',"resource":"cpu","service":["cpu"],"severity":"critical",'
        b'"tags":["host=serverA"],"text":"kapacitor/cpu/serverA is CRITICAL",'
        b'"timeout":3600,"value":""}\n')
    assert r2.headers["authorization"] == "Bearer anothertesttoken"
    body = json.loads(r2.body)
    del body["rawData"]
    assert body == {
        "attributes": {"attributeA": "cpu", "attributeB": True, "attributeC": 9001},
        "correlate": ["cpu"], "environment": "serverA", "event": "event: TestStream_Alert",
        "group": "serverA", "origin": "override", "resource": "resource: serverA",
        "service": ["serviceA", "serviceB", "cpu"], "severity": "critical",
        "tags": ["host=serverA"], "text": "kapacitor/cpu/serverA is CRITICAL",
        "timeout": 86400, "value": "10"}


@pytest_twisted.ensureDeferred
async def test_alerta_topic_handler_options_service_test_and_errors(receiver):
    rec, url = receiver
    rec.code = 201
    ns, _ = services(alerta=cs.AlertaConfig(enabled=True, url=url + "/api", token="cfgtoken",
                                            token_prefix="Key", environment="prod"))
    h = ns.handler("alerta", {"resource": "", "timeout": 60 * 10**9})
    await h.handle(ALERT)          # an empty resource: refused before any request
    assert h.errors == 1 and rec.requests == []
    await ns.handler("alerta", {"timeout": 60 * 10**9}).handle(ALERT)
    r = rec.requests[0]
    assert r.path == "/api/alert" and r.headers["authorization"] == "Key cfgtoken"
    assert (json.loads(r.body)["timeout"], json.loads(r.body)["environment"]) == (60, "prod")
    assert await ns.test("alerta", {}) == (True, "")
    body = json.loads(rec.requests[1].body)
    assert (body["resource"], body["timeout"], body["tags"], body["rawData"],
            body["attributes"]) == ("testResource", 86400, [], {"series": None},
                                    {"testAttributeA": "A", "testAttributeB": True,
                                     "testAttributeC": 9001})
    rec.code, rec.answer = 400, b'{"status":"error","message":"bad environment"}'
    assert await ns.test("alerta", {}) == (False, "bad environment")
    assert decode_error(ns, "alerta", {"timeout": "1h"}) == (
        "failed to decode options into *alerta.HandlerConfig: 1 error(s) decoding:\n\n"
        "* 'timeout' expected type 'time.Duration', got unconvertible type 'string', "
        "value: '1h'")
    assert decode_error(ns, "alerta", {"group": "{{ .Group"}).startswith("template: group:1:")


# ------------------------------------------------------------------ servicenow

@pytest_twisted.ensureDeferred
async def test_servicenow_records(receiver):
    rec, url = receiver
    ns, _ = services(servicenow=cs.ServiceNowConfig(
        enabled=True, url=url + "/api/global/em/jsonv2", source="Kapacitor",
        username="u", password="p"))
    a = attrs.evolve(ALERT, tags={"host": "serverA", "type": "idle"})
    [plain, full], _ = node_handlers(
        ns, "stream|from()|alert().serviceNow().serviceNow().node('{{ index .Tags \"host\" }}')"
            ".type('CPU').resource('CPU-Total').metricName('{{ index .Tags \"type\" }}')"
            ".messageKey('Alert: {{ .ID }}')"
            ".additionalInfo('link', 'http://push/alert?id={{ .ID }}')"
            ".additionalInfo('ticks', 666)")
    await plain.handle(a)
    await full.handle(a)
    r1, r2 = rec.requests
    assert r1.path == "/api/global/em/jsonv2"
    assert r1.headers["authorization"] == "Basic " + base64.b64encode(b"u:p").decode()
    assert r1.body == (
        b'{"records":[{"source":"Kapacitor","message_key":"kapacitor/cpu/serverA",'
        b'"severity":"1","description":"kapacitor/cpu/serverA is CRITICAL"}]}')
    assert r2.body == (
        b'{"records":[{"source":"Kapacitor","node":"serverA","type":"CPU",'
        b'"resource":"CPU-Total","metric_name":"idle",'
        b'"message_key":"Alert: kapacitor/cpu/serverA","severity":"1",'
        b'"description":"kapacitor/cpu/serverA is CRITICAL","additional_info":'
        b'"{\\"link\\":\\"http://push/alert?id=kapacitor/cpu/serverA\\",\\"ticks\\":\\"666\\"}"}]}')


@pytest_twisted.ensureDeferred
async def test_servicenow_topic_options_cutoffs_service_test_and_errors(receiver):
    rec, url = receiver
    ns, _ = services(servicenow=cs.ServiceNowConfig(enabled=True, url=url + "/cfg"))
    h = ns.handler("servicenow", {"url": url + "/other", "source": "s" * 150,
                                  "metricName": "{{ .Name }}"})
    await h.handle(attrs.evolve(ALERT, level=Level.WARNING))
    r = rec.requests[0]
    assert r.path == "/other" and "authorization" not in r.headers
    record = json.loads(r.body)["records"][0]
    assert (record["source"], record["metric_name"], record["severity"]) == (
        "s" * 100, "cpu", "4")
    assert await ns.test("servicenow", {"node": "n1"}) == (True, "")
    assert rec.requests[1].path == "/cfg"
    assert json.loads(rec.requests[1].body) == {"records": [{
        "source": "Kapacitor", "node": "n1", "message_key": "1001", "severity": "1",
        "description": "test servicenow message"}]}
    # a template that does not parse fails every send, as upstream's does
    bad = ns.handler("servicenow", {"node": "{{ .ID"})
    await bad.handle(ALERT)
    assert bad.errors == 1 and len(rec.requests) == 2
    rec.code, rec.answer = 401, b'{"error":"User Not Authenticated"}'
    assert await ns.test("servicenow", {}) == (False, "User Not Authenticated")
    assert decode_error(ns, "servicenow", {"metric_name": "m"}) == (
        "failed to decode options into *servicenow.HandlerConfig: 1 error(s) decoding:\n\n"
        "* '' has invalid keys: metric_name")


# ------------------------------------------------------------------ bigpanda

@pytest_twisted.ensureDeferred
async def test_bigpanda_alerts(receiver):
    rec, url = receiver
    rec.code = 201
    ns, _ = services(bigpanda=cs.BigPandaConfig(enabled=True, app_key="012345",
                                                token="testtoken1231234",
                                                url=url + "/test/bigpanda/url",
                                                auto_attributes=""))
    a = attrs.evolve(ALERT, details="https://example.org/link",
                     message="kapacitor/cpu/serverA is CRITICAL @1971-01-01 00:00:10 +0000 UTC")
    [first, second, third], _ = node_handlers(
        ns, "stream|from()|alert().bigPanda().appKey('111111').host('{{.Tags.host}}')"
            ".primaryProperty('host')"
            ".bigPanda().appKey('222222').host('serverA-1').secondaryProperty('application')"
            ".bigPanda().attribute('x_host', '{{.Tags.host}}')"
            ".attribute('x_duration', '{{.Duration}}').attribute('x_detail', '{{.Details}}')"
            ".attribute('x_value', '{{.Fields.count}}')")
    for h in (first, second, third):
        await h.handle(a)
    r1, r2, r3 = rec.requests
    assert r1.path == "/test/bigpanda/url"
    assert r1.headers["authorization"] == "Bearer testtoken1231234"
    assert r1.headers["content-type"] == "application/json"
    assert r1.body == (
        b'{"app_key":"111111","check":"kapacitor/cpu/serverA","description":'
        b'"kapacitor/cpu/serverA is CRITICAL @1971-01-01 00:00:10 +0000 UTC",'
        b'"details":"https://example.org/link","host":"serverA","primary_property":"host",'
        b'"status":"critical","task":"TestStream_Alert:cpu","timestamp":31536010}')
    body2 = json.loads(r2.body)
    assert (body2["app_key"], body2["host"], body2["secondary_property"]) == (
        "222222", "serverA-1", "application")
    body3 = json.loads(r3.body)
    assert {k: body3[k] for k in ("app_key", "host", "x_detail", "x_duration", "x_host",
                                  "x_value")} == {
        "app_key": "012345", "host": "", "x_detail": "https://example.org/link",
        "x_duration": "0s", "x_host": "serverA", "x_value": "10"}


@pytest_twisted.ensureDeferred
async def test_bigpanda_auto_attributes_default_details_service_test_and_errors(receiver):
    rec, url = receiver
    rec.code = 201
    ns, _ = services(bigpanda=cs.BigPandaConfig(enabled=True, app_key="key", token="t",
                                                url=url + "/cfg"))
    h = ns.handler("bigpanda", {"url": url + "/hc", "attributes": {"n": 1.5}})
    a = attrs.evolve(ALERT, level=Level.INFO, details="{&#34;Name&#34;:&#34;cpu&#34;}",
                     tags={"host": "h", "link": "http://x/<y>"},
                     fields={"count": 10.0, "s": "text", "arr": [1, True]})
    await h.handle(a)
    assert rec.requests[0].path == "/hc"
    assert rec.requests[0].body == (
        b'{"app_key":"key","arr":"[1,true]","check":"kapacitor/cpu/serverA","count":"10",'
        b'"description":"kapacitor/cpu/serverA is CRITICAL","host":"",'
        b'"link":"http://x/\\u003cy\\u003e","n":"1.5","s":"text","status":"ok",'
        b'"task":"TestStream_Alert:cpu","timestamp":31536010}')
    options = ns.test_options("bigpanda")
    assert (options["app_key"], options["host"], options["event_data"]["Name"]) == (
        "012345", "serverA", "testBigPanda")
    assert await ns.test("bigpanda", {"timestamp": "1971-01-01T00:00:38Z"}) == (True, "")
    assert json.loads(rec.requests[1].body) == {
        "app_key": "012345", "description": "test bigpanda message", "status": "critical",
        "task": ":testBigPanda", "timestamp": 31536038}
    rec.code, rec.answer = 400, b'{"status":"failure","error":"app_key is invalid"}'
    assert await ns.test("bigpanda", {}) == (False, "app_key is invalid")
    assert decode_error(ns, "bigpanda", {"appKey": "x", "attributes": "a"}) == (
        "failed to decode options into *bigpanda.HandlerConfig: 2 error(s) decoding:\n\n"
        "* '' has invalid keys: appKey\n"
        "* 'attributes' expected a map, got 'string'")


# ------------------------------------------------------------------ zenoss

@pytest_twisted.ensureDeferred
async def test_zenoss_event(receiver):
    rec, url = receiver
    ns, _ = services(zenoss=cs.ZenossConfig(enabled=True, url=url + "/zport/dmd/evconsole_router",
                                            collector=""))
    [h], _ = node_handlers(ns, "stream|from()|alert().zenoss().device('#DEVICE001')"
                               ".component('CPU').eventClass('/App')")
    await h.handle(ALERT)
    r = rec.requests[0]
    assert r.path == "/zport/dmd/evconsole_router"
    assert r.headers["content-type"] == "application/json" and "authorization" not in r.headers
    assert r.body == (
        b'{"action":"EventsRouter","method":"add_event","data":[{"component":"CPU",'
        b'"device":"#DEVICE001","evclass":"/App","evclasskey":"","severity":"Critical",'
        b'"summary":"kapacitor/cpu/serverA is CRITICAL"}],"type":"rpc","tid":1}')


@pytest_twisted.ensureDeferred
async def test_zenoss_custom_fields_severity_map_and_basic_auth(receiver):
    rec, url = receiver
    ns, _ = services(zenoss=cs.ZenossConfig(
        enabled=True, url=url, username="zen", password="pw",
        severity_map=cs.SeverityMap(ok=0, info=2, warning=3, critical=5)))
    [h], _ = node_handlers(
        ns, "stream|from()|alert().zenoss().action('ScriptsRouter').method('kapa_handler')"
            ".eventClass('/App').message('This is message for alert {{ .ID }}')"
            ".collector('{{ index .Tags \"host\" }}')"
            ".customField('data', '{\"id\":\"{{.ID}}\",\"time\":\"{{.Time}}\","
            "\"duration\":\"{{ .Duration}}\",\"level\":\"{{.Level}}\","
            "\"recoverable\":{{.Recoverable}}}')"
            ".customField('ticks', 33).customField('text', '[not json')")
    await h.handle(attrs.evolve(ALERT, recoverable=True))
    r = rec.requests[0]
    assert r.headers["authorization"] == "Basic " + base64.b64encode(b"zen:pw").decode()
    assert json.loads(r.body) == {
        "action": "ScriptsRouter", "method": "kapa_handler", "type": "rpc", "tid": 1,
        "data": [{"summary": "kapacitor/cpu/serverA is CRITICAL", "device": "",
                  "component": "", "severity": 5, "evclasskey": "", "evclass": "/App",
                  "collector": "serverA",
                  "message": "This is message for alert kapacitor/cpu/serverA",
                  "data": {"id": "kapacitor/cpu/serverA", "level": "CRITICAL",
                           "time": "1971-01-01 00:00:10 +0000 UTC", "duration": "0s",
                           "recoverable": True},
                  "text": "[not json", "ticks": 33}]}


@pytest_twisted.ensureDeferred
async def test_zenoss_topic_options_service_test_and_errors(receiver):
    rec, url = receiver
    ns, _ = services(zenoss=cs.ZenossConfig(enabled=True, url=url))
    await ns.handler("zenoss", {"tid": 7, "summary": "{{ .TaskName }}: {{ .Level }}"}).handle(
        attrs.evolve(ALERT, level=Level.WARNING))
    body = json.loads(rec.requests[0].body)
    assert (body["tid"], body["data"][0]["summary"], body["data"][0]["severity"],
            body["data"][0]["collector"]) == (7, "TestStream_Alert: WARNING", "Warning",
                                             "Kapacitor")
    assert ns.test_options("zenoss") == {
        "alert_id": "1001", "level": "CRITICAL", "message": "test zenoss message",
        "action": "EventsRouter", "method": "add_event", "type": "rpc", "tid": 1,
        "summary": "", "device": "", "component": "", "eventclasskey": "", "eventclass": "",
        "collector": "Kapacitor", "custom_fields": {}}
    assert await ns.test("zenoss", {"device": "d1"}) == (True, "")
    assert json.loads(rec.requests[1].body)["data"] == [{
        "collector": "Kapacitor", "component": "", "device": "d1", "evclass": "",
        "evclasskey": "", "severity": "Critical", "summary": "test zenoss message"}]
    rec.code, rec.answer = 500, b"oops"
    assert await ns.test("zenoss", {}) == (
        False, "failed to understand Zenoss response. code: 500 content: oops")
    assert decode_error(ns, "zenoss", {"tid": "1", "evclass": "x"}) == (
        "failed to decode options into *zenoss.HandlerConfig: 2 error(s) decoding:\n\n"
        "* '' has invalid keys: evclass\n"
        "* 'tid' expected type 'int64', got unconvertible type 'string', value: '1'")


# ------------------------------------------------------------------ all eight

def test_the_eight_are_topic_handler_kinds_and_service_tests():
    ns, _ = services()
    eight = {"alerta", "bigpanda", "opsgenie", "pagerduty", "pushover", "sensu",
             "servicenow", "zenoss"}
    assert eight <= set(ns.names())
    registered = {}
    ns.register_kinds(types.SimpleNamespace(
        register=lambda name, factory: registered.setdefault(name, factory)))
    assert eight <= set(registered)


@pytest_twisted.ensureDeferred
async def test_disabled_services_count_an_error_and_send_nothing(receiver, sensu_client):
    rec, url = receiver
    ns, _ = services(
        pagerduty=cs.PagerDutyConfig(url=url), opsgenie=cs.OpsGenieConfig(url=url),
        pushover=cs.PushoverConfig(url=url), sensu=cs.SensuConfig(addr=sensu_client.addr),
        alerta=cs.AlertaConfig(url=url), servicenow=cs.ServiceNowConfig(url=url),
        bigpanda=cs.BigPandaConfig(url=url), zenoss=cs.ZenossConfig(url=url))
    for name in ("pagerduty", "opsgenie", "pushover", "sensu", "alerta", "servicenow",
                 "bigpanda", "zenoss"):
        h = ns.handler(name, {})
        await h.handle(attrs.evolve(ALERT, id="cpu"))
        assert h.errors == 1, name
        assert await ns.test(name, {}) == (False, "service is not enabled"), name
    assert rec.requests == [] and sensu_client.checks == []


def test_global_services_add_handlers_and_state_changes_only():
    ns, _ = services(pagerduty=cs.PagerDutyConfig(global_=True),
                     zenoss=cs.ZenossConfig(global_=True, state_changes_only=True))
    handlers, node = node_handlers(ns, "stream|from()|alert()")
    assert sorted(h.kind for h in handlers) == ["pagerduty", "zenoss"]
    assert node.state_changes_only is True


@pytest_twisted.ensureDeferred
async def test_config_change_reaches_the_next_alert(receiver):
    rec, url = receiver
    rec.code = 201
    ns, live = services(alerta=cs.AlertaConfig(enabled=True, url=url + "/old"))
    h = ns.handler("alerta", {})
    await h.handle(ALERT)
    live["alerta"] = cs.AlertaConfig(enabled=True, url=url + "/new", token="n")
    await h.handle(ALERT)
    assert [r.path for r in rec.requests] == ["/old/alert", "/new/alert"]
    assert rec.requests[1].headers["authorization"] == "Bearer n"


def test_topic_handler_api_accepts_the_kinds_and_refuses_bad_options(tmp_path):
    from tests.http.harness import Harness, err_body
    h = Harness(tmp_path, http_auth=False, auth=False)
    handlers = "/kapacitor/v1/alerts/topics/cpu/handlers"
    for kind, options in (("pagerduty", {"service-key": "k"}),
                          ("opsgenie", {"teams-list": ["a"]}),
                          ("pushover", {"device": "d", "user-key": "u"}),
                          ("sensu", {"source": "{{ .Name }}", "metadata": {"k": 1}}),
                          ("alerta", {"resource": "r", "timeout": 10**9}),
                          ("servicenow", {"node": "n", "additional_info": {"a": "b"}}),
                          ("bigpanda", {"app-key": "k", "attributes": {"a": 1}}),
                          ("zenoss", {"tid": 2, "customField": {"f": "v"}})):
        r = h.post(handlers, {"id": kind, "kind": kind, "options": options})
        assert r.code == 200, (kind, r.body)
        assert r.json()["options"] == options
    r = h.post(handlers, {"id": "bad", "kind": "zenoss", "options": {"tid": "1"}})
    assert (r.code, r.body) == (400, err_body(
        "failed to create handler: failed to decode options into *zenoss.HandlerConfig: "
        "1 error(s) decoding:\n\n* 'tid' expected type 'int64', got unconvertible type "
        "'string', value: '1'", True))
    r = h.post(handlers, {"id": "bad", "kind": "alerta", "options": {"event": "{{ .ID"}})
    assert r.code == 400 and r.json()["error"].startswith(
        "failed to create handler: template: event:1: ")


@pytest_twisted.ensureDeferred
async def test_sensu_silent_client_times_out():
    """A client that accepts and never answers: the send ends at the timeout."""
    import time
    silent = reactor.listenTCP(0, protocol.Factory.forProtocol(protocol.Protocol),
                               interface="127.0.0.1")
    try:
        live = {name: cs.default_value(name) for name in cs.SERVICE_SECTIONS}
        live["sensu"] = cs.SensuConfig(enabled=True,
                                       addr=f"127.0.0.1:{silent.getHost().port}")
        ns = NotificationServices(lambda name: live[name], timeout=0.3)
        start = time.monotonic()
        assert await ns.test("sensu", {}) == (False, "sensu socket error: no answer within 0.3s")
        assert time.monotonic() - start < 2
    finally:
        await silent.stopListening()
