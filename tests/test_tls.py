"""
``[http] https-enabled`` with a throwaway self-signed certificate, and the
``[tls]`` section's versions and ciphers as a TLS client sees them.
"""

import http.client
import socket
import ssl

import pytest

from tests.support.daemon import Daemon, free_port, run_kapacitord, write_config
from tests.support.tls import self_signed


@pytest.fixture(scope="module")
def key_pair():
    return self_signed()


@pytest.fixture
def files(tmp_path, key_pair):
    cert_pem, key_pem = key_pair
    cert = tmp_path / "cert.pem"
    key = tmp_path / "key.pem"
    combined = tmp_path / "combined.pem"
    cert.write_bytes(cert_pem)
    key.write_bytes(key_pem)
    combined.write_bytes(key_pem + cert_pem)
    return {"cert": str(cert), "key": str(key), "combined": str(combined)}


@pytest.fixture
def https_daemon(tmp_path, files):
    """Start kapacitord with HTTPS; ``[tls]`` lines and env come from the test."""
    started = []

    def start(tls="", certificate=None, private_key=None):
        port = free_port()
        extra = f"\n[tls]\n{tls}\n" if tls else ""
        path = write_config(tmp_path / "kapacitor.conf", tmp_path / "data", port,
                            auth=False, extra=extra)
        env = {
            "KAPACITOR_HTTP_HTTPS_ENABLED": "true",
            "KAPACITOR_HTTP_HTTPS_CERTIFICATE": certificate or files["cert"],
        }
        if private_key:
            env["KAPACITOR_HTTP_HTTPS_PRIVATE_KEY"] = private_key
        daemon = Daemon(path, port, env=env).start()
        started.append(daemon)
        return daemon

    yield start
    for daemon in started:
        daemon.kill()


def client_context(cafile, maximum=None, minimum=None):
    context = ssl.create_default_context(cafile=cafile)
    if maximum:
        context.maximum_version = maximum
    if minimum:
        context.minimum_version = minimum
    return context


def https_ping(port, context):
    conn = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=10)
    try:
        conn.request("GET", "/kapacitor/v1/ping")
        response = conn.getresponse()
        response.read()
        return response.status, conn.sock.version(), conn.sock.cipher()[0]
    finally:
        conn.close()


def test_https_ping_verifies_against_the_certificate(https_daemon, files):
    daemon = https_daemon(private_key=files["key"])
    status, version, _cipher = https_ping(daemon.port, client_context(files["cert"]))
    assert status == 204
    assert version == "TLSv1.3"
    assert daemon.stop() == 0


def test_private_key_defaults_to_the_certificate_file(https_daemon, files):
    daemon = https_daemon(certificate=files["combined"])
    status, _version, _cipher = https_ping(daemon.port, client_context(files["cert"]))
    assert status == 204


def test_plain_http_is_not_served_on_the_https_port(https_daemon, files):
    daemon = https_daemon(private_key=files["key"])
    with pytest.raises((http.client.HTTPException, ConnectionError, socket.timeout)):
        daemon.request("GET", "/kapacitor/v1/ping", timeout=3)


def test_tls_1_2_is_the_default_minimum(https_daemon, files):
    daemon = https_daemon(private_key=files["key"])
    context = client_context(files["cert"], maximum=ssl.TLSVersion.TLSv1_2)
    status, version, _cipher = https_ping(daemon.port, context)
    assert (status, version) == (204, "TLSv1.2")


def test_min_version_tls13_refuses_a_tls12_only_client(https_daemon, files):
    daemon = https_daemon(tls='  min-version = "tls1.3"', private_key=files["key"])
    old_client = client_context(files["cert"], maximum=ssl.TLSVersion.TLSv1_2)
    with pytest.raises(ssl.SSLError):
        https_ping(daemon.port, old_client)
    status, version, _cipher = https_ping(daemon.port, client_context(files["cert"]))
    assert (status, version) == (204, "TLSv1.3")


def test_max_version_and_kapacitor_cipher_names_choose_the_suite(https_daemon, files):
    daemon = https_daemon(
        tls='  max-version = "1.2"\n  ciphers = ["tls_ecdhe_rsa_with_chacha20_poly1305"]',
        private_key=files["key"],
    )
    status, version, cipher = https_ping(daemon.port, client_context(files["cert"]))
    assert (status, version, cipher) == (204, "TLSv1.2", "ECDHE-RSA-CHACHA20-POLY1305")


def test_missing_certificate_stops_start_up_with_exit_1(tmp_path):
    port = free_port()
    path = write_config(tmp_path / "kapacitor.conf", tmp_path / "data", port, auth=False)
    missing = tmp_path / "nope.pem"
    result = run_kapacitord(
        ["-config", path],
        env={"KAPACITOR_HTTP_HTTPS_ENABLED": "true",
             "KAPACITOR_HTTP_HTTPS_CERTIFICATE": str(missing)},
        home=tmp_path,
    )
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1].startswith("run: create server: ")
    assert str(missing) in result.stderr.splitlines()[-1]
