"""
``/kapacitor/v1/users``: Kapacitor's user API (reference §3), with the
security fixes listed in the README:

* managing users needs an admin; a normal user may read itself and change
  its own password, nothing else (§10 #1);
* a duplicate create is a 409, PATCH of a missing user a 404, bad
  ``offset``/``limit`` a single 400, a negative limit a 400 (§10 #6-#8, #14);
* passwords over bcrypt's 72 bytes are a 400, not a 500 (§10 #16);
* the last admin cannot be deleted or demoted while HTTP auth is on (§10 #23).

Every 200/204 after a change is sent only once the change is on disk.
"""

from __future__ import annotations

from typing import List

import attrs
from klein import Klein
from twisted.internet import defer
from twisted.logger import Logger

from kapacitord_tw import audit, globmatch, gocompat, names
from kapacitord_tw.auth.checkers import BCRYPT_MAX_PASSWORD, hash_password
from kapacitord_tw.auth.credentials import client_host, query_args
from kapacitord_tw.auth.guard import forbidden
from kapacitord_tw.auth.privileges import (
    PERMISSIONS,
    User,
    privileges_from_permissions,
    valid_username,
)
from kapacitord_tw.auth.workers import WorkersBusy
from kapacitord_tw.http import jsonbody
from kapacitord_tw.http.area import Area, install_error_handlers
from kapacitord_tw.http.errors import APIError, json_response, no_content
from kapacitord_tw.http.root import decoded_path, request_user
from kapacitord_tw.http.routing import BASE

USERS_PATH = BASE + "/users"
USER_FIELDS = ("link", "name", "permissions", "type")
DEFAULT_LIMIT = 100

_CREATE_FIELDS = {
    "name": jsonbody.string,
    "password": jsonbody.string,
    "type": jsonbody.enum("", "normal", "admin"),
    "permissions": jsonbody.list_of(jsonbody.enum(*PERMISSIONS)),
}
_UPDATE_FIELDS = {
    "password": jsonbody.string,
    "type": jsonbody.enum("", "normal", "admin"),
    "permissions": jsonbody.list_of(jsonbody.enum(*PERMISSIONS)),
}


def user_link(name: str) -> dict:
    return {"rel": "self", "href": gocompat.path_join(BASE, "/users", name)}


def user_type(user: User) -> str:
    return "admin" if user.admin else "normal"


def user_json(user: User) -> dict:
    return {
        "link": user_link(user.name),
        "name": user.name,
        "type": user_type(user),
        "permissions": user.permissions(),
    }


def _decode(request, fields) -> dict:
    try:
        return jsonbody.decode_struct(request.content.read(), fields)
    except jsonbody.BodyError:
        raise APIError(400, "invalid JSON") from None


def _check_password(password: str) -> bytes:
    raw = password.encode("utf-8")
    if len(raw) > BCRYPT_MAX_PASSWORD:
        raise APIError(
            400,
            f"password is too long: bcrypt accepts at most {BCRYPT_MAX_PASSWORD} bytes, "
            f"got {len(raw)}",
        )
    return raw


def _int_param(args: dict, name: str, default: int) -> int:
    values = args.get(name.encode())
    if not values:
        return default
    text = values[0].decode("utf-8", "replace")
    try:
        value = gocompat.parse_int10(text)
    except gocompat.NumError as e:
        raise APIError(
            400, f"invalid {name} parameter {gocompat.go_quote(text)} must be an integer: {e}"
        ) from None
    if value < 0:
        raise APIError(
            400, f"invalid {name} parameter {gocompat.go_quote(text)} must not be negative"
        )
    return value


def _actor(request) -> tuple:
    """(who, from where) made the change, for the audit line."""
    return request_user(request).name, client_host(request)


class UsersAPI(Area):
    app = install_error_handlers(Klein())
    log = Logger()
    mux = (
        ("GET", "/users", {"authorize": "authorize"}),
        ("POST", "/users", {"authorize": "authorize"}),
        ("GET", "/users/", {"authorize": "authorize"}),
        ("PATCH", "/users/", {"authorize": "authorize"}),
        ("DELETE", "/users/", {"authorize": "authorize"}),
    )

    def __init__(self, userdb, workers, bcrypt_cost: int, http_auth_enabled: bool):
        self._userdb = userdb
        self._workers = workers
        self._cost = bcrypt_cost
        self._lockout_guard = http_auth_enabled

    # ------------------------------------------------------ authorization

    def authorize(self, request, user: User) -> None:
        """Admins manage users; others may only read or re-password themselves."""
        if user.admin:
            return
        method = request.method.decode("latin-1").upper()
        path = decoded_path(request)
        prefix = USERS_PATH + "/"
        if method in ("GET", "PATCH") and path.startswith(prefix) and path[len(prefix):] == user.name:
            return
        raise forbidden(user, method, path)

    # ------------------------------------------------------------ helpers

    def _name(self, request) -> str:
        path = decoded_path(request)
        name = path[len(USERS_PATH) + 1:]
        if not name:
            raise APIError(400, "must specify username on path")
        return name

    def _hash(self, raw: bytes):
        d = self._workers.run(hash_password, raw, self._cost)

        def busy(failure):
            failure.trap(WorkersBusy)
            raise APIError(503, "password hashing is busy, retry later")

        return d.addErrback(busy)

    def _would_lock_out(self, name: str) -> bool:
        return (
            self._lockout_guard
            and self._userdb.is_admin(name)
            and self._userdb.admin_count() <= 1
        )

    # ------------------------------------------------------------- routes

    @app.route("/users", methods=["POST"])
    @defer.inlineCallbacks
    def create(self, request):
        body = _decode(request, _CREATE_FIELDS)
        name = body.get("name", "")
        if not name:
            raise APIError(400, "username is required")
        too_long = names.too_long("username", name)
        if too_long is not None:
            raise APIError(400, too_long)
        if not valid_username(name):
            raise APIError(
                400,
                "username must contain only letters, numbers, '-', '.', '@' and '_'. "
                + gocompat.go_quote(name),
            )
        password = body.get("password", "")
        if not password:
            raise APIError(400, "password is required")
        raw = _check_password(password)
        try:
            privileges = privileges_from_permissions(body.get("permissions"))
        except ValueError as e:
            raise APIError(400, f"invalid permissions: {e}") from None
        if self._userdb.exists(name):
            raise APIError(409, f"user {name} already exists")
        hashed = yield self._hash(raw)
        user = User(
            name=name,
            admin=body.get("type") == "admin",
            hash=hashed,
            privileges=privileges,
        )
        created = yield self._userdb.create(user)
        if not created:
            raise APIError(409, f"user {name} already exists")
        audit.user_created(name, user_type(user), user.permissions(), *_actor(request))
        return json_response(request, user_json(user))

    @app.route("/users/", methods=["GET", "PATCH", "DELETE"])
    @app.route("/users/<path:_rest>", methods=["GET", "PATCH", "DELETE"])
    def one_user(self, request, _rest=None):
        method = request.method.decode("latin-1").upper()
        name = self._name(request)
        if method == "GET":
            return self._get(request, name)
        if method == "PATCH":
            return self._update(request, name)
        return self._delete(request, name)

    @defer.inlineCallbacks
    def _get(self, request, name: str):
        user = yield self._userdb.get(name)
        if user is None:
            raise APIError(404, "no user exists")
        return json_response(request, user_json(user))

    @defer.inlineCallbacks
    def _update(self, request, name: str):
        body = _decode(request, _UPDATE_FIELDS)
        requester = request_user(request)
        changes_role = body.get("type", "") != "" or "permissions" in body
        if changes_role and not requester.admin:
            raise forbidden(requester, "PATCH", decoded_path(request))
        if not self._userdb.exists(name):
            raise APIError(404, "no user exists")
        hashed = None
        password = body.get("password", "")
        if password:
            hashed = yield self._hash(_check_password(password))
        # Apply the change to the current record in one reactor turn, so
        # concurrent updates of other fields are never lost.
        current = self._userdb.lookup_fresh(name)
        if current is None:
            raise APIError(404, "no user exists")
        updated = current
        if hashed is not None:
            updated = attrs.evolve(updated, hash=hashed)
        if "permissions" in body:
            updated = attrs.evolve(
                updated, privileges=privileges_from_permissions(body["permissions"])
            )
        new_type = body.get("type", "")
        if new_type:
            updated = attrs.evolve(updated, admin=new_type == "admin")
            if updated.admin:
                updated = attrs.evolve(updated, privileges={})
        if current.admin and not updated.admin and self._would_lock_out(name):
            raise APIError(
                409,
                f"cannot make {name} a normal user: it is the last admin and "
                "[http] auth-enabled = true would lock everyone out",
            )
        yield self._userdb.replace(updated)
        changed = [field for field, differs in (
            ("password", hashed is not None),
            ("type", updated.admin != current.admin),
            ("permissions", updated.privileges != current.privileges),
        ) if differs]
        audit.user_updated(
            name, changed, user_type(updated), updated.permissions(), *_actor(request)
        )
        return json_response(request, user_json(updated))

    @defer.inlineCallbacks
    def _delete(self, request, name: str):
        if self._would_lock_out(name):
            raise APIError(
                409,
                f"cannot delete {name}: it is the last admin and "
                "[http] auth-enabled = true would lock everyone out",
            )
        existed = yield self._userdb.delete(name)
        if existed:
            audit.user_deleted(name, *_actor(request))
        return no_content(request)

    @app.route("/users", methods=["GET"])
    @defer.inlineCallbacks
    def list_users(self, request):
        args = query_args(request)
        pattern = (args.get(b"pattern") or [b""])[0].decode("utf-8", "replace")
        try:
            globmatch.check_pattern(pattern)
        except globmatch.PatternTooLong as e:
            raise APIError(400, str(e)) from None
        requested = [f.decode("utf-8", "replace") for f in args.get(b"fields", [])]
        for field in requested:
            if field not in USER_FIELDS:
                raise APIError(400, f"unsupported field {gocompat.go_quote(field)}")
        offset = _int_param(args, "offset", 0)
        limit = _int_param(args, "limit", DEFAULT_LIMIT)
        fields = set(requested) | {"link", "name"} if requested else set(USER_FIELDS)
        users: List[User] = (
            (yield self._userdb.list(pattern, offset, limit)) if limit > 0 else []
        )
        entries = []
        for user in users:
            full = user_json(user)
            entries.append({k: full[k] for k in sorted(full) if k in fields})
        return json_response(request, {"users": entries})
