"""The notification sections in the configuration file, the environment,
validation and ``kapacitord config`` output."""

from __future__ import annotations

import pytest

from kapacitord_tw.config import loader, model, render, services


def parse(text: str) -> loader.Loaded:
    return loader.parse_text(text, model.builtin_config())


def test_defaults_are_upstreams_new_config():
    config = model.Config()
    assert config.services["smtp"] == services.SMTPConfig()
    assert config.services["smtp"].idle_timeout == 30 * model.SECOND
    assert config.services["slack"] == (services.SlackConfig(default=True),)
    assert config.services["httppost"][0].endpoint == "example"


def test_single_section_is_read_over_its_defaults():
    loaded = parse('[smtp]\n  enabled = true\n  from = "k@example.com"\n  to = ["a@b"]\n'
                   '  idle-timeout = "1m"\n  toTemplates = ["{{.ID}}"]\n')
    smtp = loaded.config.services["smtp"]
    assert (smtp.enabled, smtp.from_, smtp.to, smtp.host) == (True, "k@example.com", ("a@b",),
                                                              "localhost")
    assert smtp.idle_timeout == 60 * model.SECOND and smtp.to_templates == ("{{.ID}}",)
    assert loaded.warnings == ()


def test_list_sections_take_an_array_of_tables_or_one_table():
    loaded = parse('[[httppost]]\n  endpoint = "a"\n  url = "http://a"\n'
                   '  headers = { X-Token = "t" }\n  basic-auth = { username = "u", password = "p" }\n'
                   '[[httppost]]\n  endpoint = "b"\n  url = "http://b"\n'
                   '[mqtt]\n  name = "broker"\n  url = "tcp://localhost:1883"\n')
    a, b = loaded.config.services["httppost"]
    assert (a.endpoint, a.headers, a.basic_auth.username, a.basic_auth.password) == (
        "a", {"X-Token": "t"}, "u", "p")
    assert b.endpoint == "b" and b.headers == {}
    (broker,) = loaded.config.services["mqtt"]
    assert (broker.name, broker.url) == ("broker", "tcp://localhost:1883")


def test_list_elements_start_from_go_zero_values():
    """listmap decodes each [[x]] into a zero struct, not NewConfig()."""
    (slack,) = parse('[[slack]]\n  url = "http://s"\n').config.services["slack"]
    assert (slack.username, slack.default) == ("", False)


def test_unknown_keys_warn_and_bad_types_fail():
    loaded = parse("[teams]\n  channel-url = \"http://t\"\n  bogus = 1\n")
    assert loaded.warnings == ("unknown configuration key [teams] bogus ignored",)
    with pytest.raises(loader.ParseError, match="toml: cannot load smtp.port: expected an integer"):
        parse('[smtp]\n  port = "25"\n')


def test_environment_overrides_single_and_indexed_list_sections():
    env = {
        "KAPACITOR_SMTP_HOST": "mail.local",
        "KAPACITOR_SMTP_PORT": "0x1d",
        "KAPACITOR_SLACK_0_URL": "https://hooks.slack.test/x",
        "KAPACITOR_HTTPPOST_0_URL": "http://post.local",
        "KAPACITOR_HTTPPOST_0_HEADERS_Authorization": "Bearer t",
        "KAPACITOR_HTTPPOST_0_BASIC_AUTH_PASSWORD": "pw",
        "KAPACITOR_HTTPPOST_1_URL": "http://nowhere",
    }
    loaded = loader.apply_env(model.Config(), env)
    s = loaded.config.services
    assert (s["smtp"].host, s["smtp"].port) == ("mail.local", 29)
    assert s["slack"][0].url == "https://hooks.slack.test/x"
    post = s["httppost"][0]
    assert (post.url, post.headers, post.basic_auth.password) == (
        "http://post.local", {"Authorization": "Bearer t"}, "pw")
    # Only existing elements can be set, as in Kapacitor.
    assert loaded.warnings == ("environment variable KAPACITOR_HTTPPOST_1_URL ignored: "
                               "it names no configuration key",)


def test_environment_errors_use_kapacitors_words():
    with pytest.raises(loader.EnvError) as err:
        loader.apply_env(model.Config(), {"KAPACITOR_SMTP_ENABLED": "yes"})
    assert str(err.value) == ("failed to apply KAPACITOR_SMTP_ENABLED to Enabled using type "
                              "bool and value 'yes'")


@pytest.mark.parametrize("text,message", [
    ("[smtp]\n  enabled = true\n", "smtp: must provide a 'from' address"),
    ("[[slack]]\n  enabled = true\n", "slack: must specify url"),
    ("[[httppost]]\n  endpoint = \"x\"\n", "httppost: must specify url"),
    ("[[discord]]\n  enabled = true\n", "Must specify the Discord channel webhook URL"),
    ("[teams]\n  enabled = true\n", "teams: must specify Teams channel webhook URL"),
])
def test_validation_names_the_section_as_kapacitor_does(tmp_path, text, message):
    config = parse(text).config
    config = model.Config(data_dir=str(tmp_path), services=config.services)
    with pytest.raises(loader.ValidationError) as err:
        loader.validate(config)
    assert str(err.value) == message


def test_config_override_section_and_its_variable():
    assert model.Config().config_override.enabled is True
    assert parse("[config-override]\n  enabled = false\n").config.config_override.enabled is False
    env = loader.apply_env(model.Config(), {"KAPACITOR_CONFIG_OVERRIDE_ENABLED": "false"})
    assert env.config.config_override.enabled is False


def test_kapacitord_config_output_reads_back_to_the_same_sections():
    config = parse('[[httppost]]\n  endpoint = "a"\n  url = "http://a"\n'
                   '  headers = { "X Token" = "t" }\n'
                   '[zenoss]\n  severity-map = { OK = 0, Info = 2, Warning = "W", Critical = 5 }\n'
                   ).config
    text = render.render_toml(config)
    assert "[[httppost]]" in text and "[smtp]" in text and "[config-override]" in text
    again = parse(text)
    assert again.warnings == ()
    assert again.config.services == config.services
