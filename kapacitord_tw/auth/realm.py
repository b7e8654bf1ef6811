"""
Realms turn an avatar ID (a username) into the immutable ``User`` avatar.

``UserRealm`` reads the user DB.  ``TokenIssuerRealm`` serves the mode
``[http] auth-enabled = true`` with ``[auth] enabled = false``, where only
Bearer tokens signed with the shared secret can log in and the token's
user is trusted as an admin of that name, as in the original.
"""

from __future__ import annotations

from twisted.cred.portal import IRealm
from zope.interface import Interface, implementer

from kapacitord_tw.auth.checkers import LoginFailed
from kapacitord_tw.auth.privileges import User


class IUserAvatar(Interface):
    """The avatar interface: an authenticated Kapacitor user."""


def _logout() -> None:
    """Nothing to release: avatars are immutable values."""


@implementer(IRealm)
class UserRealm:
    def __init__(self, userdb):
        self._userdb = userdb

    def requestAvatar(self, avatarId, mind, *interfaces):
        if IUserAvatar not in interfaces:
            raise NotImplementedError("only IUserAvatar is provided")
        user = self._userdb.lookup(avatarId)
        if user is None:
            # Deleted between the credential check and now.
            raise LoginFailed()
        return IUserAvatar, user, _logout


@implementer(IRealm)
class TokenIssuerRealm:
    def requestAvatar(self, avatarId, mind, *interfaces):
        if IUserAvatar not in interfaces:
            raise NotImplementedError("only IUserAvatar is provided")
        return IUserAvatar, User(name=avatarId, admin=True), _logout
