"""
``kapacitord config`` output: valid TOML that loads back to the same
configuration, with durations in Go's canonical form.
"""

import tomllib

import attrs
from hypothesis import given, settings
from hypothesis import strategies as st

from kapacitord_tw.config import loader, model
from kapacitord_tw.config.render import render_toml

SECOND = 1_000_000_000


def roundtrip(config):
    text = render_toml(config)
    loaded = loader.parse_text(text, model.builtin_config())
    assert loaded.warnings == ()
    return loaded.config


def test_every_setting_is_rendered_and_loads_back_unchanged():
    config = model.demo_config("/home/k")
    text = render_toml(config)
    data = tomllib.loads(text)
    for field in model.settings(config):
        assert field.metadata["toml"] in data
    for name, section in model.sections(config):
        assert set(data[name]) == {f.metadata["toml"] for f in model.settings(section)}
    assert roundtrip(config) == config


def test_durations_are_printed_in_go_canonical_form():
    config = attrs.evolve(
        model.builtin_config(),
        http=model.HTTPConfig(shutdown_timeout=600 * SECOND),
        auth=model.AuthConfig(cache_expiration=5400 * SECOND + SECOND // 2),
    )
    data = tomllib.loads(render_toml(config))
    assert data["http"]["shutdown-timeout"] == "10m0s"
    assert data["auth"]["cache-expiration"] == "1h30m0.5s"


def test_non_default_values_survive_the_round_trip():
    config = attrs.evolve(
        model.builtin_config(),
        hostname='quote"back\\slash tab\t del\x7f é \U0001f600',
        data_dir="/var/lib/kapacitor",
        http=model.HTTPConfig(bind_address="[::1]:9093", auth_enabled=True,
                              shutdown_timeout=1500 * 1_000_000),
        auth=model.AuthConfig(enabled=True, bcrypt_cost=12),
        tls=model.TLSConfig(ciphers=("TLS_AES_128_GCM_SHA256", "tls_aes_256_gcm_sha384"),
                            min_version="tls1.3"),
    )
    assert roundtrip(config) == config


_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=20)


@settings(max_examples=200, deadline=None)
@given(hostname=_text, secret=_text, ns=st.integers(min_value=0, max_value=2**63 - 1))
def test_any_string_or_duration_round_trips(hostname, secret, ns):
    config = attrs.evolve(
        model.builtin_config(),
        hostname=hostname,
        http=model.HTTPConfig(shared_secret=secret, read_timeout=ns),
    )
    assert roundtrip(config) == config
