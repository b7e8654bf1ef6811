"""
Credentials as Kapacitor finds them on a request (reference §2.2): Basic,
Bearer, the ``~subscriber`` token, or the ``u``/``p`` query parameters.
"""

from __future__ import annotations

import base64
import binascii
from typing import Optional
from urllib.parse import parse_qs

import attrs
from twisted.cred.credentials import ICredentials, UsernamePassword
from zope.interface import implementer

SUBSCRIBER = "~subscriber"


class IBearerToken(ICredentials):
    """A JWT from ``Authorization: Bearer <token>``."""


class ISubscriptionToken(ICredentials):
    """An InfluxDB subscription token sent as Basic ``~subscriber:<token>``."""


class ClientUsernamePassword(UsernamePassword):
    """Username/password plus the client address, for login throttling."""

    def __init__(self, username, password, client: str = ""):
        super().__init__(username, password)
        self.client = client


@implementer(IBearerToken)
@attrs.frozen
class BearerToken:
    token: str


@implementer(ISubscriptionToken)
@attrs.frozen
class SubscriptionToken:
    token: str


PASSWORD = "password"
BEARER = "bearer"
SUBSCRIPTION = "subscription"


@attrs.frozen
class Parsed:
    kind: str
    credentials: object
    username: str = ""
    #: The credentials are the Basic ``Authorization`` header itself (not
    #: ``u``/``p`` next to an ignored header): only then may the guard key
    #: its login memo on that header.
    from_basic_header: bool = False


def _basic(header: bytes) -> Optional[tuple]:
    if header[:6].lower() != b"basic ":
        return None
    try:
        decoded = base64.b64decode(header[6:], validate=True)
    except (binascii.Error, ValueError):
        return None
    if b":" not in decoded:
        return None
    user, _, password = decoded.partition(b":")
    return user.decode("utf-8", "surrogateescape"), password


def authorization_header(request) -> Optional[bytes]:
    """The first ``Authorization`` header, as Go's ``Header.Get`` reads it
    (Twisted's ``getHeader`` would give the last)."""
    values = request.requestHeaders.getRawHeaders(b"Authorization")
    return values[0] if values else None


def client_host(request) -> str:
    """The peer's IP address ("" for a UNIX socket): the throttle's key."""
    return getattr(request.getClientAddress(), "host", "") or ""


def query_args(request) -> dict:
    """The URL query only (Go's ``r.URL.Query()``), never a form body."""
    query = request.uri.partition(b"?")[2].decode("latin-1")
    parsed = parse_qs(query, keep_blank_values=True, encoding="latin-1", errors="strict")
    return {
        key.encode("latin-1"): [value.encode("latin-1") for value in values]
        for key, values in parsed.items()
    }


def parse_credentials(request) -> Optional[Parsed]:
    """Kapacitor's order: Authorization header first, then ``u``/``p``."""
    header = authorization_header(request)
    if header:
        scheme, space, rest = header.partition(b" ")
        if space and scheme == b"Bearer":
            return Parsed(BEARER, BearerToken(rest.decode("utf-8", "surrogateescape")))
        basic = _basic(header)
        if basic is not None:
            user, password = basic
            if user == SUBSCRIBER:
                token = password.decode("utf-8", "surrogateescape")
                return Parsed(SUBSCRIPTION, SubscriptionToken(token), SUBSCRIBER)
            return Parsed(
                PASSWORD,
                ClientUsernamePassword(user, password, client_host(request)),
                user,
                from_basic_header=True,
            )
    args = query_args(request)
    user = (args.get(b"u") or [b""])[0]
    password = (args.get(b"p") or [b""])[0]
    if user and password:
        name = user.decode("utf-8", "surrogateescape")
        return Parsed(PASSWORD, ClientUsernamePassword(name, password, client_host(request)), name)
    return None
