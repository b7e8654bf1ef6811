"""The server address given with ``-url``, and the credentials inside it.

The documented way to authenticate the CLI is
``-url http://<username>:<password>@localhost:9092``. Go's ``net/url``
percent-decodes the user-info part and ``net/http`` sends it as HTTP Basic
auth, so a password containing ``@``, ``:`` or ``/`` works when written as
``%40``, ``%3A`` or ``%2F``. The password must never be shown back: every URL
we print goes through :meth:`Endpoint.display`, which masks it as ``***``
(as Go's HTTP client does in its own errors).
"""

from __future__ import annotations

import base64
import re
from urllib.parse import unquote_to_bytes, urlsplit

import attrs

from .gofmt import go_quote

__all__ = ["Endpoint", "EndpointError", "parse_endpoint"]


class EndpointError(Exception):
    """The ``-url`` value cannot be used (the original exits with status 4)."""


# Characters Go's net/url accepts in the user-info part of a URL.
_USERINFO_OK = re.compile(r"^[A-Za-z0-9\-._:~!$&'()*+,;=%@]*$")
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")


@attrs.frozen
class Endpoint:
    """Where to send requests, and the Basic credentials to send with them."""

    scheme: str
    netloc: str  # host[:port], without user-info
    masked_userinfo: str | None = None  # "user:***" as typed, for messages
    username: str | None = None
    credentials: bytes | None = attrs.field(default=None, repr=False)

    def url(self, path: str, query: str = "") -> str:
        """The URL a request goes to (no user-info: auth goes in a header)."""
        return "%s://%s%s%s" % (
            self.scheme,
            self.netloc,
            path,
            "?" + query if query else "",
        )

    def display(self, path: str = "", query: str = "") -> str:
        """The URL as shown to the user: the password replaced by ``***``."""
        userinfo = self.masked_userinfo + "@" if self.masked_userinfo is not None else ""
        return "%s://%s%s%s%s" % (
            self.scheme,
            userinfo,
            self.netloc,
            path,
            "?" + query if query else "",
        )

    @property
    def has_credentials(self) -> bool:
        return self.credentials is not None

    def authorization(self) -> str | None:
        """The ``Authorization`` header value, or ``None`` without user-info."""
        if self.credentials is None:
            return None
        return "Basic " + base64.b64encode(self.credentials).decode("ascii")

    @property
    def host(self) -> str:
        return _split_host_port(self.netloc)[0]


def _split_host_port(netloc: str) -> tuple[str, str | None]:
    if netloc.startswith("["):
        end = netloc.find("]")
        if end == -1:
            return netloc, None
        host, rest = netloc[1:end], netloc[end + 1 :]
        return host, rest[1:] if rest.startswith(":") else None
    host, colon, port = netloc.rpartition(":")
    if not colon:
        return netloc, None
    return host, port


def _mask(raw_userinfo: str) -> str:
    user, colon, _password = raw_userinfo.partition(":")
    return user + ":***" if colon else user


def parse_endpoint(raw: str) -> Endpoint:
    """Parse ``-url``; raise :class:`EndpointError` with a masked message."""
    try:
        parts = urlsplit(raw)
    except ValueError as exc:
        raise EndpointError("parse %s: %s" % (go_quote(_mask_raw(raw)), exc)) from None
    scheme = parts.scheme
    authority = parts.netloc
    raw_userinfo = None
    if "@" in authority:
        raw_userinfo, _, authority = authority.rpartition("@")
    masked_raw = _mask_raw(raw)
    if raw_userinfo is None and "@" in raw[raw.find(authority) + len(authority):]:
        # e.g. http://user:pa/ss@host: the '/' ended the host part early,
        # and parsing further would show pieces of the password.
        raise EndpointError(
            "parse %s: the user name or password contains '/', '?' or '#'; "
            "percent-encode them as %%2F, %%3F and %%23" % go_quote(masked_raw)
        )
    if scheme not in ("http", "https"):
        raise EndpointError(
            "Unsupported protocol scheme: %s, your address must start with "
            "http:// or https://" % scheme
        )
    if raw_userinfo is not None:
        if not _USERINFO_OK.match(raw_userinfo):
            raise EndpointError(
                "parse %s: net/url: invalid userinfo" % go_quote(masked_raw)
            )
        bad = _BAD_ESCAPE.search(raw_userinfo)
        if bad:
            if bad.start() < _user_end(raw_userinfo):
                what = go_quote(raw_userinfo[bad.start() : bad.start() + 3])
            else:  # never echo any part of the password
                what = "in the password"
            raise EndpointError(
                "parse %s: invalid URL escape %s" % (go_quote(masked_raw), what)
            )
    _host, port = _split_host_port(authority)
    if port is not None and not port.isdigit() and port != "":
        raise EndpointError(
            "parse %s: invalid port %s after host"
            % (go_quote(masked_raw), go_quote(":" + port))
        )
    if raw_userinfo is None:
        return Endpoint(scheme=scheme, netloc=authority)
    raw_user, _, raw_password = raw_userinfo.partition(":")
    user = unquote_to_bytes(raw_user)
    password = unquote_to_bytes(raw_password)
    return Endpoint(
        scheme=scheme,
        netloc=authority,
        masked_userinfo=_mask(raw_userinfo),
        username=user.decode("utf-8", "replace"),
        credentials=user + b":" + password,
    )


def _user_end(raw_userinfo: str) -> int:
    colon = raw_userinfo.find(":")
    return len(raw_userinfo) if colon == -1 else colon


def _mask_raw(raw: str) -> str:
    """Mask the password in a URL string that may not even parse.

    Everything between ``://`` and the last ``@`` is treated as user-info, so
    an unencoded ``/`` in a password can only cause over-masking, never a leak.
    """
    scheme_end = raw.find("://")
    start = scheme_end + 3 if scheme_end != -1 else 0
    at = raw.rfind("@", start)
    if at == -1:
        return raw
    return raw[:start] + _mask(raw[start:at]) + raw[at:]
