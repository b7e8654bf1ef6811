"""The ``[http]`` settings of the transport hardening (issue #10 items 4a and
16): header deadline, connection bound and CORS allow-list, from the file
and from ``KAPACITOR_HTTP_*``."""

import attrs
import pytest

from kapacitord_tw.config import loader, model
from kapacitord_tw.config.render import render_toml

SECOND = 1_000_000_000


def test_defaults():
    http = model.HTTPConfig()
    assert http.read_header_timeout == 10 * SECOND
    assert http.max_connections == 1000
    assert http.cors_allowed_origins == ()


def test_file_settings():
    text = """
[http]
  read-header-timeout = "2s"
  max-connections = 50
  cors-allowed-origins = ["https://a.example", "http://localhost:8888"]
"""
    http = loader.parse_text(text, model.builtin_config()).config.http
    assert http.read_header_timeout == 2 * SECOND
    assert http.max_connections == 50
    assert http.cors_allowed_origins == ("https://a.example", "http://localhost:8888")


def test_env_overrides_split_origins_on_commas():
    environ = {
        "KAPACITOR_HTTP_CORS_ALLOWED_ORIGINS": "https://a.example,https://b.example",
        "KAPACITOR_HTTP_READ_HEADER_TIMEOUT": "500ms",
        "KAPACITOR_HTTP_MAX_CONNECTIONS": "7",
    }
    loaded = loader.apply_env(model.builtin_config(), environ)
    assert loaded.warnings == ()
    http = loaded.config.http
    assert http.cors_allowed_origins == ("https://a.example", "https://b.example")
    assert http.read_header_timeout == SECOND // 2
    assert http.max_connections == 7


def test_origins_of_the_wrong_type_are_a_parse_error():
    with pytest.raises(loader.ParseError, match="cors-allowed-origins: expected a list of strings"):
        loader.parse_text('[http]\ncors-allowed-origins = "https://a"\n', model.builtin_config())


@pytest.mark.parametrize("changes, message", [
    ({"max_connections": 0}, "http: max-connections must be >= 1, got 0"),
    ({"read_header_timeout": -SECOND}, "http: read-header-timeout must not be negative, got -1s"),
])
def test_invalid_values_are_refused(changes, message):
    config = model.demo_config("/home/k")
    config = attrs.evolve(config, http=attrs.evolve(config.http, **changes))
    with pytest.raises(loader.ValidationError) as err:
        loader.validate(config)
    assert str(err.value) == message


def test_zero_header_timeout_is_valid_and_means_none():
    config = model.demo_config("/home/k")
    loader.validate(attrs.evolve(config, http=attrs.evolve(config.http, read_header_timeout=0)))


def test_kapacitord_config_prints_them():
    text = render_toml(model.demo_config("/home/k"))
    assert '  read-header-timeout = "10s"\n' in text
    assert "  max-connections = 1000\n" in text
    assert "  cors-allowed-origins = []\n" in text
