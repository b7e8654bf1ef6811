"""
``bind-address`` → Twisted endpoint string, so ``serverFromString`` (and
with it socket activation and TLS) does the listening.
"""

import pytest
from twisted.internet.endpoints import TCP4ServerEndpoint, TCP6ServerEndpoint, serverFromString
from twisted.internet.task import Clock

from kapacitord_tw.config.netaddr import bind_port, endpoint_description, split_host_port


@pytest.mark.parametrize(
    "address, description",
    [
        (":9092", "tcp:port=9092"),
        ("127.0.0.1:9092", "tcp:port=9092:interface=127.0.0.1"),
        ("0.0.0.0:9092", "tcp:port=9092:interface=0.0.0.0"),
        ("[::1]:9092", "tcp6:port=9092:interface=\\:\\:1"),
        ("[::]:9092", "tcp6:port=9092:interface=\\:\\:"),
        ("localhost:9092", "tcp:port=9092:interface=127.0.0.1"),
        (":010", "tcp:port=10"),
    ],
)
def test_bind_address_becomes_an_endpoint_string(address, description):
    assert endpoint_description(address) == description


@pytest.mark.parametrize(
    "address, kind, interface, port",
    [
        (":9092", TCP4ServerEndpoint, "", 9092),
        ("127.0.0.1:9093", TCP4ServerEndpoint, "127.0.0.1", 9093),
        ("[::1]:9094", TCP6ServerEndpoint, "::1", 9094),
    ],
)
def test_endpoint_string_is_understood_by_server_from_string(address, kind, interface, port):
    endpoint = serverFromString(Clock(), endpoint_description(address))
    assert isinstance(endpoint, kind)
    assert endpoint._interface == interface
    assert endpoint._port == port


def test_bind_port_reads_base_ten_like_go():
    assert bind_port(":010") == 10
    assert bind_port("[::1]:9092") == 9092


@pytest.mark.parametrize(
    "hostport, expected",
    [
        (":9092", ("", "9092")),
        ("host:80", ("host", "80")),
        ("[::1]:80", ("::1", "80")),
        ("[fe80::1%eth0]:80", ("fe80::1%eth0", "80")),
        ("host:", ("host", "")),
    ],
)
def test_split_host_port_like_go(hostport, expected):
    assert split_host_port(hostport) == expected


@pytest.mark.parametrize(
    "hostport, why",
    [
        ("host", "missing port in address"),
        ("a:b:c", "too many colons in address"),
        ("[::1", "missing ']' in address"),
        ("[::1]", "missing port in address"),
        ("[::1]x:80", "missing port in address"),
        ("[::1]:80]", "unexpected '[' in address"),
        ("a[b:80", "unexpected '[' in address"),
    ],
)
def test_split_host_port_errors_carry_go_messages(hostport, why):
    with pytest.raises(ValueError) as err:
        split_host_port(hostport)
    assert str(err.value) == f"address {hostport}: {why}"
