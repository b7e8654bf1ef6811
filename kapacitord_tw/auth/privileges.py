"""Kapacitor's privilege model: bit-flag privileges on path-shaped resources.

Mirrors ``auth/auth.go`` and the permission conversions of
``services/auth/service.go`` (reference §2.7, §2.8, §2.11, §3.2).  Every
authorization decision in the HTTP layer goes through :meth:`User.authorize`,
so the prefix walk here must stay exactly Kapacitor's: the most specific
resource entry decides, and an entry without the needed bit blocks its whole
subtree.
"""

from __future__ import annotations

import enum
import unicodedata
from collections.abc import Iterable, Iterator, Mapping

import attrs

from kapacitord_tw.gocompat import go_quote, path_clean, path_dir, path_join

__all__ = [
    "ADMIN_USER",
    "PERMISSIONS",
    "Privilege",
    "PrivilegeMap",
    "User",
    "api_resource",
    "authorization_error_message",
    "database_resource",
    "permissions_from_privileges",
    "privileges_from_permissions",
    "required_privilege",
    "valid_task_id",
    "valid_template_id",
    "valid_username",
]


class Privilege(enum.IntFlag):
    """Privilege bits; ``ALL`` is its own bit and acts as a wildcard only by equality."""

    NONE = 1
    READ = 2
    WRITE = 4
    DELETE = 8
    ALL = 16

    @staticmethod
    def name_of(mask: int) -> str:
        """Go's ``Privilege.String()``: a single known bit's name, anything else ``unknown``."""
        return _PRIVILEGE_NAMES.get(int(mask), "unknown")

    def __str__(self) -> str:
        return Privilege.name_of(self)

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)


_PRIVILEGE_NAMES = {1: "none", 2: "read", 4: "write", 8: "delete", 16: "all"}

_METHOD_PRIVILEGES = {
    "HEAD": Privilege.NONE,
    "OPTIONS": Privilege.NONE,
    "GET": Privilege.READ,
    "POST": Privilege.WRITE,
    "PATCH": Privilege.WRITE,
    "PUT": Privilege.WRITE,
    "DELETE": Privilege.DELETE,
}


def required_privilege(method: str) -> Privilege:
    """The privilege an HTTP method needs (``requiredPrivilegeForHTTPMethod``)."""
    upper = method.upper()
    try:
        return _METHOD_PRIVILEGES[upper]
    except KeyError:
        raise ValueError(f"unknown method {go_quote(upper)}") from None


API_ROOT = "/api"
DATABASE_ROOT = "/database"
BASE_PATH = "/kapacitor/v1"


def api_resource(url_path: str) -> str:
    """The resource an API request is authorized against (``/kapacitor/v1/x`` → ``/api/x``)."""
    return path_join(API_ROOT, url_path.removeprefix(BASE_PATH))


def database_resource(database: str) -> str:
    """``auth.DatabaseResource``: a one-to-one map of a database name onto one path element."""
    if database == "":
        return DATABASE_ROOT
    element = database.replace("/", "_")
    element += "_clean" if element == database else "_dirty"
    return path_join(DATABASE_ROOT, element)


def _mask(privileges: int | Iterable[int]) -> Privilege:
    if isinstance(privileges, int):
        return Privilege(privileges)
    mask = Privilege(0)
    for p in privileges:
        mask |= p
    return mask


class PrivilegeMap(Mapping[str, Privilege]):
    """An immutable, hashable ``resource → bitmask`` map with path-cleaned keys.

    Built from a mapping or pairs whose values are a bitmask or a list of
    privileges (Go's ``NewUser`` takes lists and ORs them).  Keys that clean
    to the same path collapse, the later one winning.
    """

    __slots__ = ("_entries", "_items")

    def __init__(self, entries: Mapping | Iterable[tuple[str, object]] = ()) -> None:
        pairs = entries.items() if isinstance(entries, Mapping) else entries
        cleaned: dict[str, Privilege] = {}
        for resource, privileges in pairs:
            cleaned[path_clean(resource)] = _mask(privileges)
        self._entries = cleaned
        self._items = tuple(sorted(cleaned.items()))

    def __getitem__(self, resource: str) -> Privilege:
        return self._entries[resource]

    def __iter__(self) -> Iterator[str]:
        return (resource for resource, _ in self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __hash__(self) -> int:
        return hash(self._items)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, PrivilegeMap):
            return self._items == other._items
        return super().__eq__(other)

    def __repr__(self) -> str:
        inner = ", ".join(f"{r!r}: {int(m)}" for r, m in self._items)
        return f"PrivilegeMap({{{inner}}})"


def _to_privilege_map(value: Mapping | Iterable | None) -> PrivilegeMap:
    if isinstance(value, PrivilegeMap):
        return value
    return PrivilegeMap(value or ())


def authorization_error_message(user_name: str, privilege: Privilege, path: str) -> str:
    """The 403 text of the HTTP layer, which names the full request path (§2.3)."""
    return (f'user {user_name} does not have "{Privilege.name_of(privilege)}"'
            f" privilege for API endpoint {go_quote(path)}")


@attrs.frozen
class User:
    """An authenticated identity: admin flag, password hash and resource privileges.

    Immutable, like Kapacitor's ``auth.User``, so no request can alter
    another's view of a user; derive changed copies with ``attrs.evolve``.
    The hash is kept out of ``repr`` so it never reaches a log.
    """

    name: str
    admin: bool = False
    hash: bytes = attrs.field(default=b"", converter=bytes, repr=False)
    privileges: PrivilegeMap = attrs.field(factory=PrivilegeMap, converter=_to_privilege_map)

    def authorize(self, action_privilege: Privilege, resource: str) -> bool:
        """Whether this user may take *action_privilege* on *resource* (``AuthorizeAction``).

        Raises ``ValueError`` for a relative resource, as Go reports an error
        (not a denial) there.
        """
        if action_privilege == Privilege.NONE or self.admin:
            return True
        if not resource.startswith("/"):
            raise ValueError(f"invalid action resource: {go_quote(resource)}, must be an absolute path")
        if not self.privileges:
            return False
        current = path_clean(resource)
        while True:
            mask = self.privileges.get(current)
            if mask is not None:
                # The most specific entry decides, even when it denies.
                return bool(mask & action_privilege) or mask == Privilege.ALL
            if current == "/":
                return False
            current = path_dir(current)

    def permissions(self) -> list[str]:
        """The permission strings the ``/users`` API shows for this user (§2.8)."""
        return permissions_from_privileges(self.privileges)


#: The identity every request runs as when ``[http] auth-enabled = false``.
ADMIN_USER = User(name="ADMIN_USER", admin=True)


PERMISSIONS = ("none", "api", "config_api", "write_points", "all")

_WRITE_RESOURCE = api_resource("/write")
_PING_RESOURCE = api_resource("/ping")
_CONFIG_RESOURCE = api_resource("/config")
_ROOT_RESOURCE = api_resource("/")


def privileges_from_permissions(permissions: Iterable[str] | None) -> dict[str, Privilege]:
    """The privilege map stored for a ``/users`` permission list (``convertPermissions``)."""
    privileges: dict[str, Privilege] = {}
    for permission in permissions or ():
        if permission == "none":
            continue
        if permission == "api":
            privileges[_ROOT_RESOURCE] = Privilege.ALL
            # Subtractive entries: they fence off write and config unless granted.
            privileges.setdefault(_WRITE_RESOURCE, Privilege.NONE)
            privileges.setdefault(_CONFIG_RESOURCE, Privilege.NONE)
        elif permission == "config_api":
            privileges[_PING_RESOURCE] = Privilege.ALL
            privileges[_CONFIG_RESOURCE] = Privilege.ALL
        elif permission == "write_points":
            privileges[_PING_RESOURCE] = Privilege.ALL
            privileges[_WRITE_RESOURCE] = Privilege.ALL
        elif permission == "all":
            privileges[_ROOT_RESOURCE] = Privilege.ALL
            privileges[_CONFIG_RESOURCE] = Privilege.ALL
            privileges[_WRITE_RESOURCE] = Privilege.ALL
        else:
            raise ValueError(f"unknown permission {permission}")
    return privileges


def permissions_from_privileges(privileges: Mapping[str, int]) -> list[str]:
    """The permission strings shown for a privilege map (``convertPrivleges``); never ``none``."""
    def has_all(resource: str) -> bool:
        return bool(privileges.get(resource, 0) & Privilege.ALL)

    has_api = has_all(_ROOT_RESOURCE)
    has_config = has_all(_CONFIG_RESOURCE)
    has_write = has_all(_WRITE_RESOURCE)
    if has_api and has_config and has_write:
        return ["all"]
    shown = []
    if has_api:
        shown.append("api")
    if has_config:
        shown.append("config_api")
    if has_write:
        shown.append("write_points")
    return shown


def _is_letter(ch: str) -> bool:
    return unicodedata.category(ch).startswith("L")


def valid_username(name: str) -> bool:
    """``^[-\\._\\p{L}0-9@]+$`` as Go's regexp reads it (no trailing-newline leniency)."""
    return bool(name) and all(ch in "-._@0123456789" or _is_letter(ch) for ch in name)


def valid_task_id(task_id: str) -> bool:
    """``^[-\\._\\p{L}0-9]+$``: the task (and template) ID rule; unlike usernames, no ``@``."""
    return bool(task_id) and all(ch in "-._0123456789" or _is_letter(ch) for ch in task_id)


valid_template_id = valid_task_id
