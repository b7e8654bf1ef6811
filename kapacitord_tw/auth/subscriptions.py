"""Subscription tokens: the least-privilege users InfluxDB writes to us with.

Upstream's ``GrantSubscriptionAccess`` / ``ListSubscriptionTokens`` /
``RevokeSubscriptionAccess`` (``services/auth/service.go``, reference
§2.9).  A token ``T`` is the user ``_sub:T`` (the ``:`` keeps it out of
reach of ``/users``): no password hash, so no password opens it, and only
``write`` on ``/api/write``, ``all`` on ``/api/ping`` and ``write`` on the
subscribed database.  :class:`~kapacitord_tw.auth.checkers.SubscriptionChecker`
accepts ``~subscriber:T`` for exactly the users granted here; revoking the
user (which the user DB makes durable before answering) makes the token dead.

Tokens are ``base64url(<cluster name> ";" <64 random bytes>)``, so each
cluster finds (and revokes) its own without touching another's.
"""

from __future__ import annotations

import base64
import binascii
import os
from typing import List, Optional, Tuple

from twisted.internet import defer

from kapacitord_tw.auth.privileges import Privilege, User, api_resource, database_resource

PREFIX = "_sub:"
TOKEN_RANDOM_BYTES = 64
DELIMITER = ";"
LIST_PAGE = 100


def generate_token(cluster: str, random: bytes = None) -> str:
    """``generateRandomToken``: the cluster's name, ``;``, 64 random bytes, base64url."""
    raw = cluster.encode("utf-8") + DELIMITER.encode() + (
        random if random is not None else os.urandom(TOKEN_RANDOM_BYTES))
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def split_token(token: str) -> Optional[Tuple[str, bytes]]:
    """``splitToken``: (cluster name, random part), or None for a token that is no such thing."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        return None
    i = raw.find(DELIMITER.encode())
    if i <= 0:
        return None
    return raw[:i].decode("utf-8", "replace"), raw[i + 1:]


def subscription_user(token: str, database: str) -> User:
    return User(
        name=PREFIX + token,
        admin=False,
        privileges={
            api_resource("/write"): Privilege.WRITE,
            api_resource("/ping"): Privilege.ALL,
            database_resource(database): Privilege.WRITE,
        },
    )


class SubscriptionTokens:
    """Grants, lists and revokes subscription users in the user DB."""

    def __init__(self, userdb):
        self._userdb = userdb

    @defer.inlineCallbacks
    def grant(self, token: str, database: str, retention_policy: str = ""):
        """Durable once it fires; an existing user of that name is replaced."""
        user = subscription_user(token, database)
        created = yield self._userdb.create(user)
        if not created:
            yield self._userdb.replace(user)

    @defer.inlineCallbacks
    def tokens(self):
        """Every granted token, read 100 users at a time (``_sub:*``)."""
        out: List[str] = []
        offset = 0
        while True:
            users = yield self._userdb.list(PREFIX + "*", offset, LIST_PAGE)
            out.extend(u.name[len(PREFIX):] for u in users if u.name.startswith(PREFIX))
            if len(users) != LIST_PAGE:
                return out
            offset += LIST_PAGE

    def revoke(self, token: str):
        """Deferred[bool]: the user is gone (durably) when it fires."""
        return self._userdb.delete(PREFIX + token)

    def is_granted(self, token: str) -> bool:
        return self._userdb.lookup(PREFIX + token) is not None


class OpenSubscriptions:
    """No user store (``[auth] enabled = false``): subscriptions carry no token."""

    def grant(self, token, database, retention_policy=""):
        return defer.succeed(None)

    def tokens(self):
        return defer.succeed([])

    def revoke(self, token):
        return defer.succeed(False)

    def is_granted(self, token) -> bool:
        return False
