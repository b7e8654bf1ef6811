"""
twisted.cred checkers for Kapacitor's three kinds of credentials.

* ``BcryptChecker`` (``IUsernamePassword``): bcrypt in the dedicated worker
  pool, never on the reactor.  The original's fast path is kept (a proven
  password is remembered for an hour as sha256(random salt || password),
  compared with ``hmac.compare_digest``) but is dropped as soon as the user
  changes or is deleted.  An unknown or hash-less user costs the same
  bcrypt work as a wrong password; a password over bcrypt's 72 bytes is a
  failed login.  Uncached attempts go through the ``LoginThrottle`` first.
* ``JWTChecker`` (``IBearerToken``): HMAC-signed tokens with ``exp`` and
  ``username`` claims, Kapacitor's messages; refused outright while
  ``[http] shared-secret`` is empty.
* ``SubscriptionChecker`` (``ISubscriptionToken``): InfluxDB subscription
  tokens, stored as users named ``_sub:<token>``.

Each returns the username as the avatar ID; the realm builds the avatar.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import math
import os
import warnings
from typing import Dict, Optional

import attrs
import bcrypt
import jwt
from twisted.cred.checkers import ICredentialsChecker
from twisted.cred.credentials import IUsernamePassword
from twisted.cred.error import UnauthorizedLogin
from twisted.internet.defer import Deferred, fail, succeed
from twisted.logger import Logger, LogLevel
from zope.interface import implementer

from kapacitord_tw import gocompat
from kapacitord_tw.auth.credentials import IBearerToken, ISubscriptionToken
from kapacitord_tw.auth.privileges import valid_username
from kapacitord_tw.auth.workers import WorkersBusy

BCRYPT_MAX_PASSWORD = 72
PASSWORD_CACHE_SECONDS = 3600.0
AUTHORIZATION_FAILED = "authorization failed"


class Throttled(Exception):
    """Too many failed logins: retry after ``retry_after`` seconds."""

    def __init__(self, retry_after: int):
        super().__init__(retry_after)
        self.retry_after = retry_after


class LoginFailed(UnauthorizedLogin):
    """An UnauthorizedLogin whose text is Kapacitor's 401 message."""

    def __init__(self, message: str = AUTHORIZATION_FAILED):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


def hash_password(password: bytes, cost: int) -> bytes:
    """bcrypt a password (call in a worker thread)."""
    return bcrypt.hashpw(password, bcrypt.gensalt(rounds=cost))


def bcrypt_cost(hashed: bytes) -> Optional[int]:
    """The cost a bcrypt hash was made with (``$2b$12$...`` → 12), or None."""
    parts = hashed.split(b"$")
    if len(parts) < 4 or not parts[2].isdigit():
        return None
    return int(parts[2])


def _check(password: bytes, hashed: bytes) -> bool:
    try:
        return bcrypt.checkpw(password, hashed)
    except ValueError:
        return False


@attrs.frozen
class _CachedPassword:
    salt: bytes
    digest: bytes
    expires: float
    hashed: bytes


class PasswordCache:
    """username → sha256(salt || password) after a successful bcrypt check."""

    def __init__(self, clock):
        self._clock = clock
        self._entries: Dict[str, _CachedPassword] = {}

    def matches(self, name: str, password: bytes, hashed: bytes) -> bool:
        entry = self._entries.get(name)
        if entry is None:
            return False
        if self._clock.seconds() >= entry.expires or entry.hashed != hashed:
            del self._entries[name]
            return False
        digest = hashlib.sha256(entry.salt + password).digest()
        return hmac.compare_digest(digest, entry.digest)

    def remember(self, name: str, password: bytes, hashed: bytes) -> None:
        salt = os.urandom(32)
        self._entries[name] = _CachedPassword(
            salt=salt,
            digest=hashlib.sha256(salt + password).digest(),
            expires=self._clock.seconds() + PASSWORD_CACHE_SECONDS,
            hashed=hashed,
        )

    def forget(self, name: str) -> None:
        self._entries.pop(name, None)

    def __len__(self) -> int:
        return len(self._entries)


class _Unthrottled:
    """The throttle's interface, letting everything through."""

    def admit(self, username: str, client: str) -> int:
        return 0

    def failed(self, username: str, client: str) -> None:
        pass

    succeeded = release = failed


@implementer(ICredentialsChecker)
class BcryptChecker:
    """Username/password against the user DB."""

    credentialInterfaces = (IUsernamePassword,)
    log = Logger()

    def __init__(self, userdb, workers, clock, cost: int, throttle=None):
        self._userdb = userdb
        self._throttle = throttle if throttle is not None else _Unthrottled()
        self._workers = workers
        self.password_cache = PasswordCache(clock)
        self._cost = cost
        self._dummy_hash: Optional[bytes] = None
        self._rehashing: set = set()
        userdb.subscribe(self.password_cache.forget)

    def warm_up(self) -> Deferred:
        """A hash of the configured cost for users that do not exist.

        Made once (at start-up by ``WarmupService``) so that the first
        unknown-user login already takes as long as a wrong password."""
        if self._dummy_hash is not None:
            return succeed(self._dummy_hash)
        d = self._workers.run(hash_password, os.urandom(16), self._cost)

        def keep(hashed):
            self._dummy_hash = hashed
            return hashed

        return d.addCallback(keep)

    def requestAvatarId(self, credentials):
        name = credentials.username
        if isinstance(name, bytes):
            name = name.decode("utf-8", "surrogateescape")
        password = credentials.password
        if isinstance(password, str):
            password = password.encode("utf-8", "surrogateescape")
        client = getattr(credentials, "client", "")
        if not name:
            return fail(LoginFailed("username required"))
        user = self._userdb.lookup(name)
        if (
            user is not None
            and user.hash
            and len(password) <= BCRYPT_MAX_PASSWORD
            and self.password_cache.matches(name, password, user.hash)
        ):
            return succeed(name)
        wait = self._throttle.admit(name, client)
        if wait:
            return fail(Throttled(wait))
        if len(password) > BCRYPT_MAX_PASSWORD:
            # bcrypt would refuse (or silently truncate) it: a failed login.
            self._throttle.failed(name, client)
            return fail(LoginFailed())
        if user is not None and user.hash:
            d = self._workers.run(_check, password, user.hash)
            d.addCallbacks(
                self._checked, self._unchecked,
                callbackArgs=(name, client, password, user.hash),
                errbackArgs=(name, client),
            )
            return d
        # Unknown or hash-less user: spend the same bcrypt work, then fail.
        d = self.warm_up()
        d.addCallback(lambda dummy: self._workers.run(_check, password, dummy))
        d.addCallbacks(
            lambda _ok: self._refuse(name, client), self._unchecked,
            errbackArgs=(name, client),
        )
        return d

    def _unchecked(self, failure, name: str, client: str):
        """The password was never checked.  A full bcrypt queue counts as a
        failed attempt (a flood that fills the queue then throttles itself);
        anything else just frees the attempt's slot."""
        if failure.check(WorkersBusy):
            self._throttle.failed(name, client)
        else:
            self._throttle.release(name, client)
        return failure

    def _checked(self, ok: bool, name: str, client: str, password: bytes, hashed: bytes):
        if not ok:
            self._userdb.evict(name)
            self._throttle.failed(name, client)
            raise LoginFailed()
        current = self._userdb.lookup(name)
        if current is None or current.hash != hashed:
            # Changed or deleted while bcrypt ran: the old password is stale,
            # but it was right, so it is no failure for the throttle either.
            self._throttle.release(name, client)
            raise LoginFailed()
        self.password_cache.remember(name, password, hashed)
        self._throttle.succeeded(name, client)
        if bcrypt_cost(hashed) != self._cost:
            self._rehash(name, password, hashed)
        return name

    def _rehash(self, name: str, password: bytes, hashed: bytes) -> None:
        """Store the password hashed at the configured cost, in the background.

        A user hashed at another cost answers a wrong password faster (or
        slower) than an unknown user, whose dummy check runs at the
        configured cost: timing would tell which names exist.  Each user's
        hash converges on the configured cost at their next successful
        login (as Django and Synapse do).  Failing to store it is logged,
        never a failed login.
        """
        if name in self._rehashing:
            return
        self._rehashing.add(name)
        d = self._workers.run(hash_password, password, self._cost)

        def store(new_hash: bytes):
            current = self._userdb.lookup_fresh(name)
            if current is None or current.hash != hashed:
                return False  # changed meanwhile: that change wins
            d = self._userdb.replace(attrs.evolve(current, hash=new_hash))
            return d.addCallback(lambda _: True)

        def stored(replaced: bool):
            if replaced:
                self.log.info("password of {username} re-hashed at bcrypt cost {cost}",
                              username=name, cost=self._cost)

        def failed(failure):
            self.log.failure("cannot store the re-hashed password of {username}; "
                             "it is tried again at the next login",
                             failure, level=LogLevel.warn, username=name)

        def done(result):
            self._rehashing.discard(name)
            return result

        d.addCallback(store)
        d.addCallbacks(stored, failed)
        d.addBoth(done)

    def _refuse(self, name: str, client: str):
        self._throttle.failed(name, client)
        raise LoginFailed()


# ------------------------------------------------------------------- JWT

_HMAC = {"HS256", "HS384", "HS512"}
_KNOWN_ALGS = _HMAC | {
    "RS256", "RS384", "RS512", "ES256", "ES384", "ES512",
    "PS256", "PS384", "PS512", "EdDSA", "none",
}


def _b64_segment(segment: str) -> bytes:
    """golang-jwt's DecodeSegment (RawURLEncoding) with Go's error text."""
    for index, ch in enumerate(segment):
        if not (ch.isascii() and (ch.isalnum() or ch in "-_")):
            if ch == "=":
                break
            raise ValueError(f"illegal base64 data at input byte {index}")
    stripped = segment.rstrip("=")
    if len(stripped) % 4 == 1:
        raise ValueError(f"illegal base64 data at input byte {len(stripped) - 1}")
    try:
        return base64.urlsafe_b64decode(stripped + "=" * (-len(stripped) % 4))
    except (binascii.Error, ValueError):
        raise ValueError("illegal base64 data at input byte 0") from None


class _GoJSONError(ValueError):
    """A JSON input Go's decoder refuses, with Go's text."""


def _refuse_constant(name: str):
    # NaN and Infinity are not JSON: Go stops at their first letter.
    raise _GoJSONError(f"invalid character '{name.lstrip('-')[0]}' looking for beginning of value")


def _go_float(text: str) -> float:
    """A JSON number as Go decodes it into ``interface{}``: a finite float64."""
    try:
        value = float(text)
    except OverflowError:
        value = math.inf
    if not math.isfinite(value):
        raise _GoJSONError(f"json: cannot unmarshal number {text} into Go value of type float64")
    return value


def _json_int(text: str):
    if len(text) > 20:  # beyond int64: Go decodes it as a float64, which may overflow
        _go_float(text)
    return int(text)


def _json_object(raw: bytes) -> dict:
    try:
        value = json.loads(raw, parse_constant=_refuse_constant, parse_float=_go_float,
                           parse_int=_json_int)
    except _GoJSONError:
        raise
    except (ValueError, UnicodeDecodeError) as e:
        raise ValueError(f"invalid character in JSON: {e}") from None
    except RecursionError:  # deep nesting: a bad token, not a 500
        raise ValueError("exceeded max depth") from None
    if not isinstance(value, dict):
        raise ValueError("json: cannot unmarshal into Go value of type map[string]interface {}")
    return value


#: Time claims are int64 seconds in Go; beyond that its conversion is garbage.
_MAX_TIME = float(2**63)


def _number(value) -> Optional[float]:
    """A time claim as a number of seconds; None if it is no finite int64 time."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    if not math.isfinite(number) or not -_MAX_TIME < number < _MAX_TIME:
        return None
    return number


@implementer(ICredentialsChecker)
class JWTChecker:
    """Bearer tokens signed with ``[http] shared-secret`` (HMAC only)."""

    credentialInterfaces = (IBearerToken,)

    def __init__(self, shared_secret: str, clock, userdb=None):
        self._secret = shared_secret.encode("utf-8")
        self._clock = clock
        self._userdb = userdb

    def requestAvatarId(self, credentials):
        try:
            return succeed(self._verify(credentials.token))
        except LoginFailed as e:
            return fail(e)

    def _invalid(self, why: str) -> LoginFailed:
        return LoginFailed(f"invalid token: {why}")

    def _verify(self, token: str) -> str:
        if not self._secret:
            # Deliberate fix (reference §10 #2): no key, no bearer tokens.
            raise LoginFailed(
                "bearer tokens are not configured: [http] shared-secret is empty"
            )
        parts = token.split(".")
        if len(parts) != 3:
            raise self._invalid("token contains an invalid number of segments")
        try:
            header = _json_object(_b64_segment(parts[0]))
            claims = _json_object(_b64_segment(parts[1]))
        except ValueError as e:
            raise self._invalid(str(e)) from None
        alg = header.get("alg")
        if not isinstance(alg, str) or not alg:
            raise self._invalid("signing method (alg) is unspecified.")
        if alg not in _KNOWN_ALGS:
            raise self._invalid("signing method (alg) is unavailable.")
        if alg not in _HMAC:
            raise self._invalid(f"unexpected signing method: {alg}")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                jwt.decode(
                    token,
                    self._secret,
                    algorithms=[alg],
                    options={
                        "verify_signature": True,
                        "verify_exp": False,
                        "verify_iat": False,
                        "verify_nbf": False,
                        "verify_aud": False,
                        "verify_iss": False,
                    },
                )
        except jwt.InvalidSignatureError:
            raise self._invalid("signature is invalid") from None
        except jwt.PyJWTError as e:
            raise self._invalid(str(e)) from None
        self._check_times(claims)
        exp = _number(claims.get("exp"))
        if exp is None or exp <= 0:
            raise LoginFailed("token expiration required")
        username = claims.get("username")
        if not isinstance(username, str):
            raise LoginFailed("username in token must be a string")
        if not username:
            raise LoginFailed("token must contain a username")
        if self._userdb is not None and self._userdb.lookup(username) is None:
            raise LoginFailed(
                f"retrieving user {gocompat.go_quote(username)} from store: no user exists"
            )
        return username

    def _check_times(self, claims: dict) -> None:
        now = self._clock.seconds()
        problem = None
        if "exp" in claims and claims["exp"] != 0:
            exp = _number(claims["exp"])
            if exp is None or exp < 0 or now > exp:
                problem = "Token is expired"
        if "iat" in claims:
            iat = _number(claims["iat"])
            if iat is None or now < iat:
                problem = "Token used before issued"
        if "nbf" in claims:
            nbf = _number(claims["nbf"])
            if nbf is None or now < nbf:
                problem = "Token is not valid yet"
        if problem:
            raise self._invalid(problem)


@implementer(ICredentialsChecker)
class SubscriptionChecker:
    """``~subscriber:<token>`` → the user ``_sub:<token>``."""

    credentialInterfaces = (ISubscriptionToken,)

    def __init__(self, userdb):
        self._userdb = userdb

    def requestAvatarId(self, credentials):
        token = credentials.token
        if not valid_username(token):
            return fail(LoginFailed(f"token must be a valid username: {gocompat.go_quote(token)}"))
        name = "_sub:" + token
        if self._userdb.lookup(name) is None:
            return fail(LoginFailed("invalid subscription token"))
        return succeed(name)
