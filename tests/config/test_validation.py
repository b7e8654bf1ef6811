"""
Validation of the merged configuration: kapacitord's order and messages
(reference §4.2, §4.3, §4.5, §4.6) plus our deliberate fixes (bcrypt cost
above 31, an empty bind port).
"""

import attrs
import pytest

from kapacitord_tw.config import loader, model
from kapacitord_tw.config.tls import GO_CIPHERS

SUFFIX = ". To generate a valid configuration file run `kapacitord config > kapacitor.generated.conf`."


def valid(**changes):
    return attrs.evolve(model.demo_config("/home/k"), **changes)


def error_of(config):
    with pytest.raises(loader.ValidationError) as err:
        loader.validate(config)
    return str(err.value)


def http(**changes):
    return valid(http=attrs.evolve(model.HTTPConfig(), **changes))


def auth(**changes):
    return valid(auth=attrs.evolve(model.AuthConfig(), **changes))


def tls(**changes):
    return valid(tls=attrs.evolve(model.TLSConfig(), **changes))


def test_demo_config_is_valid():
    loader.validate(valid())


def test_empty_hostname_is_rejected_first():
    assert error_of(valid(hostname="", data_dir="")) == "must configure valid hostname"


def test_empty_data_dir_is_rejected():
    assert error_of(valid(data_dir="")) == "must configure valid data dir"


def test_invalid_configuration_wraps_with_the_generate_hint():
    err = loader.ValidationError("must configure valid data dir")
    assert loader.invalid_configuration(err) == (
        "invalid configuration: must configure valid data dir" + SUFFIX
    )


def test_enabled_auth_needs_bcrypt_cost_of_at_least_4():
    assert error_of(auth(enabled=True)) == "auth: must provide a bcrypt cost >= 4, got 0"
    assert error_of(auth(enabled=True, bcrypt_cost=3)) == (
        "auth: must provide a bcrypt cost >= 4, got 3"
    )
    loader.validate(auth(enabled=True, bcrypt_cost=4))


def test_bcrypt_cost_above_31_is_rejected_at_start_not_at_first_login():
    assert error_of(auth(enabled=True, bcrypt_cost=32)) == (
        "auth: must provide a bcrypt cost <= 31, got 32"
    )
    loader.validate(auth(enabled=True, bcrypt_cost=31))


def test_bcrypt_cost_is_not_checked_when_auth_is_disabled():
    loader.validate(auth(enabled=False, bcrypt_cost=0))


def test_auth_is_validated_before_storage_and_http():
    config = attrs.evolve(
        auth(enabled=True),
        storage=model.StorageConfig(boltdb=""),
        http=model.HTTPConfig(bind_address="nope"),
    )
    assert error_of(config).startswith("auth: ")


def test_empty_boltdb_path_is_rejected():
    assert error_of(valid(storage=model.StorageConfig(boltdb=""))) == (
        "storage: must specify storage 'boltdb' path"
    )


@pytest.mark.parametrize(
    "address, message",
    [
        ("localhost",
         "http: invalid http bind address localhost: address localhost: missing port in address"),
        ("9092",
         "http: invalid http bind address 9092: address 9092: missing port in address"),
        ("::1:9092",
         "http: invalid http bind address ::1:9092: address ::1:9092: too many colons in address"),
        ("[::1]",
         "http: invalid http bind address [::1]: address [::1]: missing port in address"),
        (":abc",
         'http: invalid http bind address port abc: strconv.ParseInt: parsing "abc": invalid syntax'),
        (":0x10",
         'http: invalid http bind address port 0x10: strconv.ParseInt: parsing "0x10": invalid syntax'),
        (":65536", "http: invalid http bind address port 65536: out of range"),
        (":-1", "http: invalid http bind address port -1: out of range"),
        (":99999999999999999999",
         "http: invalid http bind address port 99999999999999999999: "
         'strconv.ParseInt: parsing "99999999999999999999": value out of range'),
    ],
)
def test_bad_bind_address_messages(address, message):
    assert error_of(http(bind_address=address)) == message


def test_empty_port_is_rejected_instead_of_binding_a_random_port():
    message = error_of(http(bind_address="localhost:"))
    assert message.startswith("http: invalid http bind address localhost:: missing port number")
    assert "localhost:9092" in message


@pytest.mark.parametrize("address", [":9092", "127.0.0.1:9092", "[::1]:9092", ":0", ":65535",
                                     "localhost:010"])
def test_good_bind_addresses(address):
    loader.validate(http(bind_address=address))


@pytest.mark.parametrize("version", ["tls1.1", "TLS1.2", "tls1.3", "1.1", "1.2", "1.3", "Tls1.3"])
def test_tls_versions_accepted_in_any_case_with_or_without_prefix(version):
    loader.validate(tls(min_version=version, max_version=version))


@pytest.mark.parametrize("field", ["min_version", "max_version"])
def test_unknown_tls_version_message(field):
    assert error_of(tls(**{field: "tls1.4"})) == (
        'tls: unknown tls version: "tls1.4". available versions: TLS1.1, TLS1.2, TLS1.3'
    )


@pytest.mark.parametrize("version", ["TLS1.0", "SSL3.0", "1.0"])
def test_deprecated_tls_version_message(version):
    assert error_of(tls(min_version=version)) == (
        f'tls: deprecated tls version: "{version}". available versions: TLS1.1, TLS1.2, TLS1.3'
    )


def test_unknown_cipher_message_lists_the_sorted_available_ciphers():
    message = error_of(tls(ciphers=["TLS_NOPE"]))
    assert message.startswith('tls: unknown cipher suite: "TLS_NOPE". available ciphers: ')
    listed = message.split("available ciphers: ", 1)[1].split(", ")
    assert listed == sorted(listed)
    assert "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256" in listed


def test_deprecated_cipher_message():
    message = error_of(tls(ciphers=["TLS_RSA_WITH_RC4_128_SHA"]))
    assert message.startswith('tls: deprecated cipher suite: "TLS_RSA_WITH_RC4_128_SHA". ')


def test_ciphers_are_checked_before_versions_like_kapacitor():
    message = error_of(tls(ciphers=["TLS_NOPE"], min_version="tls9"))
    assert message.startswith("tls: unknown cipher suite")


# Every name in Kapacitor's own table (tlsconfig/config.go) must be accepted.
KAPACITOR_CIPHER_NAMES = """
TLS_RSA_WITH_AES_128_CBC_SHA TLS_RSA_WITH_AES_256_CBC_SHA TLS_RSA_WITH_AES_128_CBC_SHA256
TLS_RSA_WITH_AES_128_GCM_SHA256 TLS_RSA_WITH_AES_256_GCM_SHA384
TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA
TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA
TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256 TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256
TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384
TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305
TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305 TLS_AES_128_GCM_SHA256 TLS_AES_256_GCM_SHA384
TLS_CHACHA20_POLY1305_SHA256
""".split()


@pytest.mark.parametrize("name", KAPACITOR_CIPHER_NAMES)
def test_every_kapacitor_cipher_name_is_accepted(name):
    loader.validate(tls(ciphers=[name]))
    loader.validate(tls(ciphers=[name.lower()]))
    assert name in GO_CIPHERS
