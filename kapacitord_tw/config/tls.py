"""
The ``[tls]`` section: Go cipher-suite names, minimum/maximum versions, and
the OpenSSL context that serves ``[http] https-enabled``.
"""

from __future__ import annotations

from typing import Iterable, Optional

from kapacitord_tw import gocompat

#: Go's cipher-suite names (crypto/tls) → OpenSSL names.  TLS 1.3 suites have
#: no OpenSSL cipher-list name: they are always enabled with TLS 1.3.
GO_CIPHERS = {
    "TLS_AES_128_GCM_SHA256": None,
    "TLS_AES_256_GCM_SHA384": None,
    "TLS_CHACHA20_POLY1305_SHA256": None,
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA": "ECDHE-ECDSA-AES128-SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA": "ECDHE-ECDSA-AES256-SHA",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA": "ECDHE-RSA-AES128-SHA",
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA": "ECDHE-RSA-AES256-SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256": "ECDHE-ECDSA-AES128-GCM-SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384": "ECDHE-ECDSA-AES256-GCM-SHA384",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256": "ECDHE-RSA-AES128-GCM-SHA256",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384": "ECDHE-RSA-AES256-GCM-SHA384",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256": "ECDHE-RSA-CHACHA20-POLY1305",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256": "ECDHE-ECDSA-CHACHA20-POLY1305",
    # Kapacitor's own table spells these two without the _SHA256 suffix.
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305": "ECDHE-RSA-CHACHA20-POLY1305",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305": "ECDHE-ECDSA-CHACHA20-POLY1305",
    "TLS_RSA_WITH_AES_128_CBC_SHA": "AES128-SHA",
    "TLS_RSA_WITH_AES_256_CBC_SHA": "AES256-SHA",
    "TLS_RSA_WITH_AES_128_GCM_SHA256": "AES128-GCM-SHA256",
    "TLS_RSA_WITH_AES_256_GCM_SHA384": "AES256-GCM-SHA384",
    "TLS_RSA_WITH_AES_128_CBC_SHA256": "AES128-SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256": "ECDHE-ECDSA-AES128-SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256": "ECDHE-RSA-AES128-SHA256",
}

DEPRECATED_CIPHERS = frozenset(
    {
        "TLS_RSA_WITH_RC4_128_SHA",
        "TLS_RSA_WITH_3DES_EDE_CBC_SHA",
        "TLS_ECDHE_ECDSA_WITH_RC4_128_SHA",
        "TLS_ECDHE_RSA_WITH_RC4_128_SHA",
        "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA",
    }
)


#: The list printed with an unknown cipher, sorted as Kapacitor prints it.
AVAILABLE_CIPHERS = ", ".join(sorted(GO_CIPHERS))


def validate_ciphers(names: Iterable[str]) -> None:
    from kapacitord_tw.config.loader import ValidationError

    for name in names:
        upper = name.upper()
        if upper in DEPRECATED_CIPHERS:
            raise ValidationError(
                f"tls: deprecated cipher suite: {gocompat.go_quote(name)}. "
                f"available ciphers: {AVAILABLE_CIPHERS}"
            )
        if upper not in GO_CIPHERS:
            raise ValidationError(
                f"tls: unknown cipher suite: {gocompat.go_quote(name)}. "
                f"available ciphers: {AVAILABLE_CIPHERS}"
            )


def certificate_options(http, tls):
    """A ``CertificateOptions`` for ``https-certificate``/``-private-key``."""
    from twisted.internet import ssl
    from twisted.internet.ssl import TLSVersion

    from kapacitord_tw.config.loader import normalise_tls_version

    versions = {
        "TLS1.1": TLSVersion.TLSv1_1,
        "TLS1.2": TLSVersion.TLSv1_2,
        "TLS1.3": TLSVersion.TLSv1_3,
    }
    cert_path = http.https_certificate
    key_path = http.https_private_key or cert_path
    with open(cert_path, "rb") as f:
        cert_pem = f.read()
    with open(key_path, "rb") as f:
        key_pem = f.read()
    certificate = ssl.PrivateCertificate.loadPEM(key_pem + b"\n" + cert_pem)
    minimum: Optional[str] = normalise_tls_version(tls.min_version) or "TLS1.2"
    maximum = normalise_tls_version(tls.max_version)
    if minimum == "TLS1.1":
        kwargs = {"insecurelyLowerMinimumTo": versions[minimum]}
    else:
        kwargs = {"raiseMinimumTo": versions[minimum]}
    if maximum:
        kwargs["lowerMaximumSecurityTo"] = versions[maximum]
    openssl_names = [GO_CIPHERS[c.upper()] for c in tls.ciphers if GO_CIPHERS[c.upper()]]
    if openssl_names:
        kwargs["acceptableCiphers"] = ssl.AcceptableCiphers.fromOpenSSLCipherString(
            ":".join(openssl_names)
        )
    return ssl.CertificateOptions(
        privateKey=certificate.privateKey.original,
        certificate=certificate.original,
        **kwargs,
    )
