"""``[[influxdb]]``: defaults, file, ``KAPACITOR_INFLUXDB_<i>_*``, validation, rendering."""

import tomllib

import pytest

from kapacitord_tw.config import loader, model
from kapacitord_tw.config.influxdb import InfluxDBConfig
from kapacitord_tw.config.render import render_toml
from kapacitord_tw.gocompat import parse_duration


def _load(tmp_path, text, env=None):
    path = tmp_path / "k.conf"
    path.write_text('data_dir = "/d"\n' + text)
    loaded = loader.load(str(path), env or {}, str(tmp_path))
    return loaded


def test_builtin_default_is_one_enabled_cluster_at_localhost_8086():
    (c,) = model.builtin_config().influxdb
    assert (c.enabled, c.name, c.default, c.urls) == (True, "default", False, ("http://localhost:8086",))
    assert c.startup_timeout == parse_duration("5m")
    assert c.subscriptions_sync_interval == parse_duration("1m")
    assert (c.subscription_protocol, c.subscription_mode) == ("http", "cluster")
    assert c.excluded_map() == {"_kapacitor": ("autogen",)}
    assert c.subscription_map() == {}


def test_file_elements_start_from_the_defaults_and_read_every_key(tmp_path):
    loaded = _load(tmp_path, """
[[influxdb]]
  name = "a"
  default = true
  urls = ["http://127.0.0.1:1", "http://127.0.0.1:2"]
  username = "u"
  password = "p"
  timeout = "3s"
  insecure-skip-verify = true
  disable-subscriptions = true
  subscription-protocol = "https"
  subscription-mode = "server"
  kapacitor-hostname = "kap.example"
  http-port = 9999
  startup-timeout = "10s"
  subscriptions-sync-interval = "2s"
  [influxdb.subscriptions]
    mydb = ["autogen", "long"]
  [influxdb.excluded-subscriptions]
    other = ["autogen"]
[[influxdb]]
  name = "b"
""")
    a, b = loaded.config.influxdb
    assert a.urls == ("http://127.0.0.1:1", "http://127.0.0.1:2")
    assert (a.username, a.password, a.timeout) == ("u", "p", 3 * 10**9)
    assert a.insecure_skip_verify and a.disable_subscriptions and a.default
    assert (a.subscription_protocol, a.subscription_mode) == ("https", "server")
    assert (a.kapacitor_hostname, a.http_port) == ("kap.example", 9999)
    assert (a.startup_timeout, a.subscriptions_sync_interval) == (10 * 10**9, 2 * 10**9)
    assert a.subscription_map() == {"mydb": ("autogen", "long")}
    assert a.excluded_map() == {"other": ("autogen",)}
    assert b.enabled and b.name == "b" and b.urls == ("http://localhost:8086",)
    loader.validate(loaded.config)
    assert not [w for w in loaded.warnings if "influxdb" in w]


def test_env_overrides_reach_existing_elements_only(tmp_path):
    env = {
        "KAPACITOR_INFLUXDB_0_URLS_0": "http://10.0.0.1:8086",
        "KAPACITOR_INFLUXDB_0_USERNAME": "kap",
        "KAPACITOR_INFLUXDB_0_PASSWORD": "s3cret",
        "KAPACITOR_INFLUXDB_0_STARTUP_TIMEOUT": "7s",
        "KAPACITOR_INFLUXDB_0_DISABLE_SUBSCRIPTIONS": "true",
        "KAPACITOR_INFLUXDB_0_SUBSCRIPTION_MODE": "server",
        "KAPACITOR_INFLUXDB_0_SUBSCRIPTIONS_telegraf": "autogen,long",
        "KAPACITOR_INFLUXDB_1_USERNAME": "nobody",
    }
    loaded = loader.load(None, env, str(tmp_path))
    (c,) = loaded.config.influxdb
    assert c.urls == ("http://10.0.0.1:8086",)
    assert (c.username, c.password, c.startup_timeout) == ("kap", "s3cret", 7 * 10**9)
    assert c.disable_subscriptions and c.subscription_mode == "server"
    assert c.subscription_map() == {"telegraf": ("autogen", "long")}
    assert any("KAPACITOR_INFLUXDB_1_USERNAME" in w for w in loaded.warnings)


@pytest.mark.parametrize("env, message", [
    ({"KAPACITOR_INFLUXDB_0_ENABLED": "yes"},
     "failed to apply KAPACITOR_INFLUXDB_0_ENABLED to Enabled using type bool and value 'yes'"),
    ({"KAPACITOR_INFLUXDB_0_HTTP_PORT": "x"},
     "failed to apply KAPACITOR_INFLUXDB_0_HTTP_PORT to HTTPPort using type int and value 'x'"),
    ({"KAPACITOR_INFLUXDB_0_TIMEOUT": "soon"},
     'failed to unmarshal env var: time: invalid duration "soon"'),
    ({"KAPACITOR_INFLUXDB_0_SUBSCRIPTION_MODE": "galaxy"},
     'failed to unmarshal env var: unknown subscription mode "galaxy"'),
])
def test_bad_env_values_get_kapacitors_messages(tmp_path, env, message):
    with pytest.raises(loader.EnvError) as err:
        loader.load(None, env, str(tmp_path))
    assert str(err.value) == message


@pytest.mark.parametrize("text, message", [
    ('[[influxdb]]\n name = ""\n', "influxdb cluster must be given a name"),
    ('[[influxdb]]\n name = "a b"\n',
     "influxdb cluster name must contain only numbers, letters or '.', '-', and '_' characters"),
    ('[[influxdb]]\n urls = []\n', "must specify at least one InfluxDB URL"),
    ('[[influxdb]]\n urls = ["localhost:8086"]\n',
     "Unsupported protocol scheme: localhost, your address must start with http:// or https://"),
    ('[[influxdb]]\n subscription-protocol = "tcp"\n',
     "invalid subscription protocol, must be one of 'udp', 'http' or 'https', got \"tcp\""),
    ('[[influxdb]]\n ssl-cert = "/c.pem"\n',
     "Must provide both key and cert files: only cert file provided."),
    ('[[influxdb]]\n ssl-key = "/k.pem"\n',
     "Must provide both key and cert files: only key file provided."),
    ('[[influxdb]]\n compression = "zstd"\n',
     "Invalid compression, must be one of 'gzip' or 'none', got zstd"),
    ('[[influxdb]]\n name = "a"\n[[influxdb]]\n name = "a"\n',
     'duplicate name "a" for influxdb configs'),
    ('[[influxdb]]\n name = "a"\n[[influxdb]]\n name = "b"\n',
     "at least one of the enabled InfluxDB clusters must be marked as default."),
    ('[[influxdb]]\n name = "a"\n default = true\n[[influxdb]]\n name = "b"\n default = true\n',
     "More than one InfluxDB default was specified: b a"),
])
def test_validation_messages_are_upstreams(tmp_path, text, message):
    loaded = _load(tmp_path, text)
    with pytest.raises(loader.ValidationError) as err:
        loader.validate(loaded.config)
    assert str(err.value) == message


def test_the_protocol_error_does_not_print_the_password(tmp_path):
    loaded = _load(tmp_path, '[[influxdb]]\n password = "hunter2"\n subscription-protocol = "x"\n')
    with pytest.raises(loader.ValidationError) as err:
        loader.validate(loaded.config)
    assert "hunter2" not in str(err.value)


def test_a_bad_subscription_mode_in_the_file_is_a_parse_error(tmp_path):
    with pytest.raises(loader.ParseError) as err:
        _load(tmp_path, '[[influxdb]]\n subscription-mode = "galaxy"\n')
    assert str(err.value) == 'unknown subscription mode "galaxy"'


def test_zero_durations_mean_the_defaults():
    from kapacitord_tw.config.influxdb import validate_list

    (c,) = validate_list((InfluxDBConfig(startup_timeout=0, subscriptions_sync_interval=0,
                                         subscription_protocol=""),))
    assert (c.startup_timeout, c.subscriptions_sync_interval) == (5 * 60 * 10**9, 60 * 10**9)
    assert c.subscription_protocol == "http"


def test_kapacitord_config_renders_the_list_and_it_loads_back(tmp_path):
    loaded = _load(tmp_path, """
[[influxdb]]
  name = "a"
  default = true
  urls = ["http://127.0.0.1:1"]
  [influxdb.subscriptions]
    "my db" = ["autogen"]
[[influxdb]]
  name = "b"
  enabled = false
""")
    text = render_toml(loaded.config)
    data = tomllib.loads(text)
    assert [e["name"] for e in data["influxdb"]] == ["a", "b"]
    assert data["influxdb"][0]["subscriptions"] == {"my db": ["autogen"]}
    again = loader.parse_text(text, model.builtin_config())
    assert again.config.influxdb == loaded.config.influxdb
