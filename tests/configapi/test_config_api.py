"""``/kapacitor/v1/config`` (reference §7) through the real resource tree."""

from __future__ import annotations

import json

import attrs
import pytest

from kapacitord_tw.config import services
from tests.http import harness as harness_module
from tests.http.harness import V1, Harness, err_body

CONFIG = V1 + "/config"
_MAKE_CONFIG = harness_module.make_config


def make(tmp_path, monkeypatch, http_auth=False, **changes):
    """A harness whose Config carries *changes* (top-level fields, or
    ``sections={...}`` for notification sections)."""
    sections = changes.pop("sections", {})
    def make_config(path, **kw):
        config = _MAKE_CONFIG(path, **kw)
        if sections:
            changes["services"] = {**config.services, **sections}
        return attrs.evolve(config, **changes)

    monkeypatch.setattr(harness_module, "make_config", make_config)
    return Harness(tmp_path, http_auth=http_auth)


@pytest.fixture
def h(tmp_path, monkeypatch):
    return make(tmp_path, monkeypatch, sections={
        "smtp": services.SMTPConfig(host="smtp.example.com"),
        "httppost": (services.HTTPPostConfig(endpoint="test", url="http://httppost.example.com",
                                             headers={"testing": "works"}),),
    })


def assert_error(reply, code, message):
    assert (reply.code, reply.body) == (code, err_body(message, pretty=True))


def encoder(obj) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode() + b"\n"


SMTP_OPTIONS = {
    "enabled": False, "from": "", "global": False, "host": "smtp.example.com",
    "idle-timeout": "30s", "no-verify": False, "password": False, "port": 25,
    "state-changes-only": False, "to": None, "to-templates": None, "username": "",
}


def smtp_element(**options):
    return {"link": {"rel": "self", "href": "/kapacitor/v1/config/smtp/"},
            "options": {**SMTP_OPTIONS, **options}, "redacted": ["password"]}


HTTPPOST_OPTIONS = {
    "alert-template": "", "alert-template-file": "", "basic-auth": False, "endpoint": "test",
    "headers": {"testing": "works"}, "row-template": "", "row-template-file": "",
    "url": "http://httppost.example.com",
}


# ------------------------------------------------------------------- GET

def test_get_section_is_encoder_json_with_upstreams_smtp_options(h):
    r = h.get(CONFIG + "/smtp")
    assert r.code == 200
    assert r.body == encoder({"link": {"rel": "self", "href": "/kapacitor/v1/config/smtp"},
                              "elements": [smtp_element()]})


def test_get_single_element_with_trailing_slash(h):
    assert h.get(CONFIG + "/smtp/").json() == smtp_element()


def test_get_all_lists_every_notification_section_sorted(h):
    body = h.get(CONFIG).json()
    assert body["link"] == {"rel": "self", "href": "/kapacitor/v1/config"}
    assert list(body["sections"]) == sorted(services.SERVICE_SECTIONS)
    assert body["sections"]["smtp"]["elements"] == [smtp_element()]
    assert body["sections"]["slack"]["elements"][0]["redacted"] == ["url", "token"]
    assert body["sections"]["teams"]["elements"][0]["redacted"] is None


def test_list_section_element_by_its_endpoint(h):
    r = h.get(CONFIG + "/httppost/test")
    assert r.json() == {"link": {"rel": "self", "href": "/kapacitor/v1/config/httppost/test"},
                        "options": HTTPPOST_OPTIONS, "redacted": ["basic-auth"]}


def test_get_errors(h):
    assert_error(h.get(CONFIG + "/"), 400,
                 "section not specified, do you have an extra trailing '/'?")
    assert_error(h.get(CONFIG + "/auth"), 404, "unknown section: auth")
    assert_error(h.get(CONFIG + "/smtp/x"), 404, "unknown section/element: smtp/x")
    assert_error(h.get(CONFIG + "/httppost/nope"), 404, "unknown section/element: httppost/nope")


# ------------------------------------------------------------------ POST

def test_set_then_get_shows_new_values_and_secrets_as_true(h):
    r = h.post(CONFIG + "/smtp/", {"set": {"idle-timeout": "1m0s", "global": True,
                                           "password": "secret", "port": "26"}})
    assert (r.code, r.body) == (204, b"")
    element = h.get(CONFIG + "/smtp/").json()
    assert element == smtp_element(**{"idle-timeout": "1m0s", "global": True,
                                      "password": True, "port": 26})
    assert b"secret" not in h.get(CONFIG).body


def test_set_takes_effect_in_the_live_configuration_and_tells_listeners(h):
    heard = []
    h.app.service_configs.subscribe(lambda name, value: heard.append((name, value.host)))
    h.post(CONFIG + "/smtp/", {"set": {"host": "mail.local", "password": "pw"}})
    live = h.app.service_configs.current("smtp")
    assert (live.host, live.password) == ("mail.local", "pw")
    assert heard == [("smtp", "mail.local")]


def test_delete_returns_an_option_to_the_file_value(h):
    h.post(CONFIG + "/smtp/", {"set": {"host": "mail.local", "port": 2525}})
    h.post(CONFIG + "/smtp/", {"delete": ["host"]})
    options = h.get(CONFIG + "/smtp/").json()["options"]
    assert (options["host"], options["port"]) == ("smtp.example.com", 2525)
    assert h.app.service_configs.current("smtp").host == "smtp.example.com"


def test_httppost_headers_and_basic_auth_redacted(h):
    r = h.post(CONFIG + "/httppost/test", {"set": {
        "headers": {"testing": "more"}, "basic-auth": {"username": "usr", "password": "pass"}}})
    assert r.code == 204
    element = h.get(CONFIG + "/httppost/test").json()
    assert element["options"] == {**HTTPPOST_OPTIONS, "headers": {"testing": "more"},
                                  "basic-auth": True}
    live = h.app.service_configs.element("httppost", "test")
    assert (live.basic_auth.username, live.basic_auth.password) == ("usr", "pass")


def test_add_and_remove_a_list_element(h):
    r = h.post(CONFIG + "/httppost", {"add": {"endpoint": "new", "url": "http://new.local"}})
    assert r.code == 204
    section = h.get(CONFIG + "/httppost").json()
    assert [e["link"]["href"] for e in section["elements"]] == [
        "/kapacitor/v1/config/httppost/new", "/kapacitor/v1/config/httppost/test"]
    assert section["elements"][0]["options"]["url"] == "http://new.local"
    assert h.app.service_configs.element("httppost", "new").url == "http://new.local"
    assert h.post(CONFIG + "/httppost", {"remove": ["new"]}).code == 204
    assert len(h.get(CONFIG + "/httppost").json()["elements"]) == 1
    assert h.app.service_configs.element("httppost", "new") is None


def test_overrides_are_stored_under_kapacitors_ids(h):
    h.post(CONFIG + "/smtp/", {"set": {"port": 26}})
    h.post(CONFIG + "/httppost", {"add": {"endpoint": "new", "url": "http://n"}})
    assert h.store.keys("config_overrides") == ["httppost/new", "smtp/"]
    assert h.store.get_now("config_overrides", "smtp/") == {
        "id": "smtp/", "options": {"port": 26}, "create": False}


@pytest.mark.parametrize("path,body,message", [
    ("/smtp/", "{", None),
    ("/smtp/", {"set": "x"}, "failed to decode JSON:json: cannot unmarshal string into Go "
                             "struct field updateAction.set of type map[string]interface {}"),
    ("/smtp", {"set": {"port": 1}},
     "failed to apply update: invalid update action: element not specified, are you "
     "missing a trailing '/'?"),
    ("/smtp/", {"set": {"port": 1}, "remove": ["x"]},
     "failed to apply update: invalid update action: cannot provide both set/delete and "
     "add/remove actions in the same update"),
    ("/httppost/test", {"add": {"endpoint": "x"}},
     "failed to apply update: invalid update action: must not provide an element name when "
     "adding an a new override"),
    ("/sm!tp/", {"set": {"port": 1}},
     'failed to apply update: invalid update action: invalid section name "sm!tp"'),
    ("/smtp", {"add": {"x": 1}},
     'failed to apply update: section "smtp" is not a list, cannot add new element'),
    ("/httppost", {"add": {"url": "http://x"}},
     'failed to apply update: missing key "endpoint" in "add" map'),
    ("/httppost", {"add": {"endpoint": 5}},
     'failed to apply update: expected "endpoint" key to be a string, got float64'),
    ("/smtp/", {"set": {"bogus": 1}},
     "failed to override configuration smtp/: unknown options [bogus] in section smtp"),
    ("/smtp/", {"set": {"port": "many"}},
     'failed to override configuration smtp/: cannot set option port: cannot convert '
     'string "many" into int'),
    ("/smtp/", {"set": {"enabled": True}},
     "failed to override configuration smtp/: failed validation: must provide a 'from' address"),
    ("/httppost/test", {"set": {"endpoint": "renamed"}},
     "failed to override configuration httppost/test: cannot override element key endpoint"),
    ("/auth/", {"set": {"enabled": True}},
     "failed to override configuration auth/: unknown options [enabled] in section auth"),
    ("/auth/", {"delete": ["x"]},
     "failed to override configuration auth/: unknown section auth"),
    ("/httppost", {"add": {"endpoint": "test", "url": "http://dup"}},
     'failed to read sections from configuration object: section "httppost" has duplicate '
     'elements: "test"'),
])
def test_a_refused_update_is_a_400_and_changes_nothing(h, path, body, message):
    before = h.get(CONFIG).body
    live = dict((n, h.app.service_configs.current(n)) for n in h.app.service_configs.names())
    r = h.post(CONFIG + path, body)
    assert r.code == 400
    if message is not None:
        assert r.json()["error"] == message
    else:
        assert r.json()["error"].startswith("failed to decode JSON:")
    assert h.get(CONFIG).body == before
    assert h.store.keys("config_overrides") == []
    assert all(h.app.service_configs.current(n) == v for n, v in live.items())


def test_a_bad_duration_is_refused_not_silently_ignored(h):
    r = h.post(CONFIG + "/smtp/", {"set": {"idle-timeout": "soon"}})
    assert r.code == 400
    assert r.json()["error"].startswith(
        "failed to override configuration smtp/: cannot set option idle-timeout:")


def test_adding_an_element_twice_is_a_400_not_a_crash(h):
    assert h.post(CONFIG + "/httppost", {"add": {"endpoint": "x", "url": "http://x"}}).code == 204
    r = h.post(CONFIG + "/httppost", {"add": {"endpoint": "x", "url": "http://y"}})
    assert_error(r, 400, "failed to apply update: cannot add new override, override already "
                         "exists for httppost/x")


def test_slack_url_is_redacted_and_list_validation_applies(h):
    r = h.post(CONFIG + "/slack/", {"set": {"url": "https://hooks.slack.test/T0/B0/secret",
                                            "enabled": True}})
    assert r.code == 204
    element = h.get(CONFIG + "/slack/").json()
    assert element["options"]["url"] is True
    assert b"hooks.slack.test" not in h.get(CONFIG).body
    r = h.post(CONFIG + "/slack", {"add": {"workspace": "w2", "url": "http://x"}})
    assert_error(r, 400, "failed to update configuration slack/: id must not be empty")
    assert h.app.service_configs.current("slack")[0].url == "https://hooks.slack.test/T0/B0/secret"


# ------------------------------------------------- persistence, start-up

def test_overrides_survive_a_restart(tmp_path, monkeypatch):
    first = make(tmp_path, monkeypatch)
    first.post(CONFIG + "/smtp/", {"set": {"host": "mail.local", "password": "pw"}})
    first.post(CONFIG + "/httppost", {"add": {"endpoint": "new", "url": "http://n"}})
    fired = []
    first.store.close().addBoth(fired.append)
    assert fired == [None]
    second = make(tmp_path, monkeypatch)
    assert second.app.service_configs.current("smtp").host == "mail.local"
    assert second.app.service_configs.element("httppost", "new").url == "http://n"
    assert second.get(CONFIG + "/smtp/").json()["options"]["password"] is True


def test_skip_config_overrides_starts_on_the_file_but_keeps_the_overrides(tmp_path, monkeypatch):
    first = make(tmp_path, monkeypatch)
    first.post(CONFIG + "/smtp/", {"set": {"host": "mail.local"}})
    first.store.close()
    second = make(tmp_path, monkeypatch, skip_config_overrides=True)
    assert second.app.service_configs.current("smtp").host == "localhost"
    # Kapacitor's GET still shows the stored overrides; the next update applies them.
    assert second.get(CONFIG + "/smtp/").json()["options"]["host"] == "mail.local"
    second.post(CONFIG + "/smtp/", {"set": {"port": 26}})
    assert second.app.service_configs.current("smtp").host == "mail.local"


def test_an_override_that_no_longer_validates_leaves_the_file_value(tmp_path, monkeypatch):
    first = make(tmp_path, monkeypatch, sections={"smtp": services.SMTPConfig(from_="k@x")})
    first.post(CONFIG + "/smtp/", {"set": {"enabled": True}})
    first.store.close()
    second = make(tmp_path, monkeypatch)  # the file lost its from address
    assert second.app.service_configs.current("smtp").enabled is False
    r = second.get(CONFIG + "/smtp")
    assert r.code == 500
    assert r.json()["error"] == (
        "failed to resolve current config:failed to override configuration smtp/: "
        "failed validation: must provide a 'from' address")
    assert second.post(CONFIG + "/smtp/", {"delete": ["enabled"]}).code == 204


def test_disabled_service_answers_403(tmp_path, monkeypatch):
    from kapacitord_tw.config.model import ConfigOverrideConfig

    h = make(tmp_path, monkeypatch, config_override=ConfigOverrideConfig(enabled=False))
    for reply in (h.get(CONFIG), h.get(CONFIG + "/smtp"),
                  h.post(CONFIG + "/smtp/", {"set": {"port": 1}})):
        assert_error(reply, 403, "config override service is not enabled")


# ------------------------------------------------------------ privileges

@pytest.fixture
def secured(tmp_path, monkeypatch):
    h = make(tmp_path, monkeypatch, http_auth=True)
    h.add_user("root", admin=True)
    h.add_user("cfg", permissions=["config_api"])
    h.add_user("apiuser", permissions=["api"])
    h.add_user("everything", permissions=["all"])
    return h


@pytest.mark.parametrize("user,allowed", [
    ("root", True), ("cfg", True), ("everything", True), ("apiuser", False)])
def test_only_admin_all_and_config_api_users_reach_the_config(secured, user, allowed):
    get = secured.get(CONFIG + "/smtp", auth=(user, "pw"))
    post = secured.post(CONFIG + "/smtp/", {"set": {"port": 26}}, auth=(user, "pw"))
    if allowed:
        assert (get.code, post.code) == (200, 204)
    else:
        assert (get.code, post.code) == (403, 403)
        assert secured.store.keys("config_overrides") == []


def test_anonymous_gets_401(secured):
    assert secured.get(CONFIG).code == 401
    assert secured.post(CONFIG + "/smtp/", {"set": {"port": 26}}).code == 401
