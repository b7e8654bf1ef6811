"""
The guard: the one place where every request is authenticated through the
cred ``Portal`` and authorized by method and path (reference §2.2–§2.3,
§2.7).  401 and 403 bodies are Kapacitor's compact error bodies.

Beyond the original: a Basic header the portal has already accepted is
recognised by the ``LoginMemo`` without parsing it again; a throttled login
is a 429 with ``Retry-After``, answered only after a short tarpit; a full
bcrypt queue is a 503, tarpitted too (and counted by the throttle as a
failed attempt).
"""

from __future__ import annotations

from typing import Union

from twisted.cred.error import UnauthorizedLogin, UnhandledCredentials
from twisted.internet.defer import Deferred
from twisted.internet.task import deferLater
from twisted.logger import Logger
from twisted.python.failure import Failure

from kapacitord_tw import audit
from kapacitord_tw.auth import credentials as creds
from kapacitord_tw.auth.checkers import AUTHORIZATION_FAILED, Throttled
from kapacitord_tw.auth.privileges import (
    ADMIN_USER,
    User,
    api_resource,
    authorization_error_message,
    required_privilege,
)
from kapacitord_tw.auth.realm import IUserAvatar
from kapacitord_tw.auth.workers import WorkersBusy
from kapacitord_tw.http.errors import APIError


def unauthorized(message: str) -> APIError:
    return APIError(401, message, pretty=False)


def forbidden(user: User, method: str, path: str) -> APIError:
    privilege = required_privilege(method)
    return APIError(403, authorization_error_message(user.name, privilege, path), pretty=False)


class Guard:
    """Authenticate (portal) and authorize (privileges) one request."""

    log = Logger()

    def __init__(self, portal, enabled: bool, stats, clock, tarpit: float = 1.0,
                 userdb=None, memo=None):
        """``memo`` needs ``userdb``: a remembered login is honoured only
        while the user's stored hash is the one it was proven against."""
        self._portal = portal
        self._enabled = enabled
        self._stats = stats
        # Throttled attempts are answered after a pause (at most ``tarpit``
        # seconds): each connection of a password-guessing storm then costs
        # the reactor a request or two per second instead of thousands.
        self._clock = clock
        self._tarpit = tarpit
        self._userdb = userdb
        self._memo = memo
        if memo is not None:
            memo.attach(userdb.lookup)
            userdb.subscribe(memo.forget_user)

    def anonymous(self) -> User:
        """The user of unauthenticated requests (auth off, bypass routes)."""
        return ADMIN_USER

    def authenticate(self, request) -> Union[User, Deferred]:
        """The request's user: at once when it is known now (auth off, or
        credentials already proven), else a Deferred.  Refusals raise (or
        errback with) ``APIError``."""
        if not self._enabled:
            return ADMIN_USER
        memo = self._memo
        if memo is not None:
            # The hot path: a Basic header already proven (inline, as it
            # runs for every authenticated request).
            values = request.requestHeaders.getRawHeaders(b"Authorization")
            if values:
                header = values[0]
                if header[:6].lower() == b"basic ":
                    user = memo.user_for(header)
                    if user is not None:
                        return user
        return self._login(request)

    def _login(self, request) -> Union[User, Deferred]:
        """Credentials the memo does not know: through the portal."""
        parsed = creds.parse_credentials(request)
        if parsed is None:
            self._stats.incr("auth_fail")
            raise unauthorized("unable to parse authentication credentials")
        if parsed.kind == creds.PASSWORD and not parsed.username:
            self._stats.incr("auth_fail")
            raise unauthorized("username required")
        d = self._portal.login(parsed.credentials, None, IUserAvatar)
        d.addCallback(_avatar)
        if self._memo is not None and parsed.from_basic_header:
            d.addCallback(self._remember, self._memo.digest(creds.authorization_header(request)))
        d.addErrback(self._rejected, request, parsed)
        try:
            return _now_or_later(d)
        except APIError as refusal:
            # Throttled (429) and busy (503) answers are both tarpitted:
            # a storm that fills the bcrypt queue must not get its 503s at
            # the rate it can send requests.
            if refusal.code not in (429, 503) or self._tarpit <= 0:
                raise
            return deferLater(self._clock, self._tarpit, _raise, refusal)

    def _remember(self, user: User, digest: bytes) -> User:
        if user.hash:
            self._memo.remember(digest, user.name, user.hash)
        return user

    def _rejected(self, failure, request, parsed):
        if failure.check(Throttled):
            self._stats.incr("auth_fail")
            wait = failure.value.retry_after
            audit.login_throttled(parsed.username, creds.client_host(request), wait)
            request.setHeader(b"Retry-After", str(wait).encode("ascii"))
            return APIError(429, f"too many failed logins, retry after {wait}s", pretty=False)
        if failure.check(WorkersBusy):
            request.setHeader(b"Retry-After", b"1")
            return APIError(503, "authentication is busy, retry later", pretty=False)
        if failure.check(UnhandledCredentials):
            message = AUTHORIZATION_FAILED
        elif failure.check(UnauthorizedLogin):
            message = str(failure.value) or AUTHORIZATION_FAILED
        else:
            return failure
        if parsed.kind == creds.PASSWORD:
            self._stats.incr("auth_fail")
        audit.login_failed(
            parsed.username, creds.client_host(request), _credentials_kind(parsed), message
        )
        # Returned, not raised: a refusal storm must not pay for a
        # traceback-carrying Failure per request.
        return unauthorized(message)

    def authorize(self, user: User, method: str, path: str) -> None:
        if user.admin:
            return  # ``User.authorize``'s first rule, without building the resource path
        if not user.authorize(required_privilege(method), api_resource(path)):
            raise forbidden(user, method, path)


def _now_or_later(d: Deferred) -> Union[User, Deferred]:
    """Unwrap a Deferred that has already fired (the cached-credential path)."""
    box: list = []
    d.addBoth(box.append)
    if box:
        result = box[0]
        if isinstance(result, Failure):
            result.raiseException()
        if isinstance(result, APIError):
            raise result
        return result
    later = Deferred()
    d.addCallback(lambda _: _fire(later, box[0]))
    return later


def _raise(error: Exception):
    raise error


def _fire(d: Deferred, result) -> None:
    if isinstance(result, (Failure, APIError)):
        d.errback(result)
    else:
        d.callback(result)


def _credentials_kind(parsed) -> str:
    """How the client sent its credentials, for the audit line."""
    if parsed.kind == creds.PASSWORD:
        return "basic" if parsed.from_basic_header else "query"
    return parsed.kind


def _avatar(result) -> User:
    _interface, user, _logout = result
    return user
