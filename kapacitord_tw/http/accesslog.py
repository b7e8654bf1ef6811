"""
The fields of the access-log line (reference §5.8), made safe to log.

* ``uri``: the request target with any ``p`` query value replaced by
  ``[REDACTED]`` (as Kapacitor does, ``%70=`` too; and inside a ``u`` value
  that carries an escaped ``;p=…``), and the user-info of an absolute-form
  target (``http://admin:secret@host/…``) removed;
* ``username``: the user the guard authenticated; only when there is none
  (a refused login, auth disabled) the name the client claimed — Basic, then
  the ``u`` query value read as Go reads queries, then URL user-info — with
  anything that looks like a ``p=`` pair inside it redacted.

Lengths and escaping are the log formatter's job (``kapacitord_tw.logs``).
"""

from __future__ import annotations

import re
from typing import Optional
from urllib.parse import quote_from_bytes, unquote_to_bytes

from kapacitord_tw.auth.credentials import SUBSCRIPTION, parse_credentials
from kapacitord_tw.auth.privileges import ADMIN_USER
from kapacitord_tw.auth.realm import IUserAvatar

#: ``scheme://`` and the user-info of an absolute-form target (up to the last
#: ``@`` of the authority).
_ABSOLUTE_FORM = re.compile(rb"^([A-Za-z][A-Za-z0-9+.\-]*://)(?:([^/?#]*)@)?")
_BAD_ESCAPE = re.compile(rb"%(?![0-9A-Fa-f]{2})")


#: A ``p`` pair: a one-letter key is ``p`` only as ``p`` or ``%70`` (the
#: credential parser decodes ``%70`` too).  Anchored after separators, so
#: the scan is linear.
_P_PAIRS = (
    (re.compile(rb"(?:^|(?<=[&;]))p=[^&;]*+"), b"p=[REDACTED]"),
    (re.compile(rb"(?:^|(?<=[&;]))%70=[^&;]*+"), b"%70=[REDACTED]"),
)
_U_PAIR = re.compile(rb"(?:^|(?<=[&;]))(?:u|%75)=([^&;]*+)")


def _may_hold_pair(value: bytes) -> bool:
    """Only a value with an ``=`` (raw or escaped) can hide a ``p=`` pair."""
    return b"=" in value or b"%3d" in value.lower()


def redact_query(query: bytes, look_inside_u: bool = True) -> bytes:
    """Every ``p=`` value (``&`` or ``;`` separated, ``%70=`` too) replaced
    by ``[REDACTED]``; with ``look_inside_u``, also a ``p=`` pair escaped
    into the first ``u`` value (the one read as the user name)."""
    if b"=" not in query:
        return query
    if look_inside_u:
        match = _U_PAIR.search(query)
        if match is not None and _may_hold_pair(match.group(1)):
            # ``u=admin%3Bp%3Dsecret``: a password glued to the name.
            name = _go_unescape(match.group(1)) or b""
            redacted = redact_query(name, look_inside_u=False)
            if redacted != name:
                query = (query[:match.start(1)] + quote_from_bytes(redacted).encode()
                         + query[match.end(1):])
    for pattern, redacted_pair in _P_PAIRS:
        # A literal replacement: no Python call per pair.
        query = pattern.sub(redacted_pair, query)
    return query


def strip_userinfo(uri: bytes) -> bytes:
    """An absolute-form target without its ``user:password@``."""
    match = _ABSOLUTE_FORM.match(uri)
    if match is None or match.group(2) is None:
        return uri
    return match.group(1) + uri[match.end():]


def redact_uri(uri: bytes) -> bytes:
    """The request target as logged: no ``p=`` value, no user-info."""
    if uri[:1] == b"/" and b"?" not in uri:
        return uri  # a path alone (the usual case): nothing to hide
    path, sep, query = strip_userinfo(uri).partition(b"?")
    if not sep:
        return path
    return path + sep + redact_query(query)


def _go_unescape(text: bytes) -> Optional[bytes]:
    """Go's ``url.QueryUnescape``: ``None`` where Go reports an error."""
    if _BAD_ESCAPE.search(text):
        return None
    return unquote_to_bytes(text.replace(b"+", b" "))


def go_query_value(query: bytes, key: bytes) -> Optional[bytes]:
    """The first value of *key* as Go's ``url.ParseQuery`` reads it: pairs
    holding a ``;`` are dropped (Go 1.17+), so are badly escaped ones."""
    for pair in query.split(b"&"):
        if b";" in pair or not pair:
            continue
        raw_key, _, raw_value = pair.partition(b"=")
        if _go_unescape(raw_key) != key:
            continue
        value = _go_unescape(raw_value)
        if value is not None:
            return value
    return None


def _userinfo_user(uri: bytes) -> bytes:
    match = _ABSOLUTE_FORM.match(uri)
    if match is None or match.group(2) is None:
        return b""
    return _go_unescape(match.group(2).partition(b":")[0]) or b""


def claimed_username(request) -> str:
    """The name the client gave (Basic, ``u``, URL user-info), ``""`` if none."""
    uri = request.uri
    if (uri[:1] == b"/" and b"?" not in uri
            and not request.requestHeaders.hasHeader(b"Authorization")):
        return ""  # a path alone and no credentials (the usual case with auth off)
    parsed = parse_credentials(request)
    if parsed is not None and parsed.username and (
        parsed.from_basic_header or parsed.kind == SUBSCRIPTION
    ):
        name = parsed.username.encode("utf-8", "surrogateescape")
    else:
        query = request.uri.partition(b"?")[2]
        name = go_query_value(query, b"u") or _userinfo_user(request.uri)
    # Whatever the parsing, a ``p=`` pair glued to the name stays out.
    return redact_query(name, look_inside_u=False).decode("utf-8", "surrogateescape")


def log_username(request) -> str:
    """The authenticated user; else the claimed name; else ``-``."""
    user = request.getComponent(IUserAvatar)
    if user is not None and user is not ADMIN_USER:
        # A subscription user's name is ``_sub:<token>``: the token is a secret.
        return "~subscriber" if user.name.startswith("_sub:") else user.name
    return claimed_username(request) or "-"
