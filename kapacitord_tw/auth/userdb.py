"""
The user database: immutable ``User`` values persisted in the durable store,
behind a cache that honours ``[auth] cache-expiration``.

Every mutation returns a Deferred that fires once the change is on disk, so
the HTTP layer acknowledges only durable writes.  Authentication sees only
acknowledged users: while a change of a user is on its way to disk,
``lookup`` answers with the user as last acknowledged, and the cache and the
admin set change only once the store says the change is durable.  A change
the store refuses (a full disk) therefore never lets anyone in.
Subscribers hear about every change when it is issued and again when it is
acknowledged (the checker drops its password cache and the guard its login
memo then), which is how a password change or deletion stops the old
password as soon as it is durable.
"""

from __future__ import annotations

from typing import Callable, Dict, List, Optional, Set, Tuple

from twisted.internet.defer import Deferred, succeed
from twisted.internet.interfaces import IReactorTime
from zope.interface import Interface, implementer

from kapacitord_tw.auth.privileges import User
from kapacitord_tw.storage.interface import IStore

NAMESPACE = "users"


class IUserDB(Interface):
    """Deferred-returning user storage (local store, or another backend)."""

    def get(name):
        """Deferred[User | None], read from the store (not the cache)."""

    def lookup(name):
        """User | None now, through the cache: the authentication hot path."""

    def create(user):
        """Deferred[bool]: False when the name is taken; durable when True."""

    def replace(user):
        """Deferred[None]: overwrite an existing user, durably."""

    def delete(name):
        """Deferred[bool]: whether it existed; durable when it fires."""

    def list(pattern, offset, limit):
        """Deferred[list[User]] in byte order of the name, Go glob pattern."""

    def admin_count():
        """Number of admin users (for the last-admin guard)."""

    def subscribe(callback):
        """Call ``callback(name)`` after any change of ``name``."""


def user_to_record(user: User) -> dict:
    return {
        "name": user.name,
        "admin": user.admin,
        "hash": user.hash.decode("ascii"),
        "privileges": {res: int(mask) for res, mask in user.privileges.items()},
    }


def user_from_record(record: dict) -> User:
    return User(
        name=record["name"],
        admin=bool(record.get("admin", False)),
        hash=record.get("hash", "").encode("ascii"),
        privileges=record.get("privileges", {}),
    )


class UserCache:
    """name → (User, expiry); expired entries dropped lazily on read."""

    def __init__(self, clock: IReactorTime, ttl_seconds: float):
        self._clock = clock
        self._ttl = ttl_seconds
        self._entries: Dict[str, Tuple[User, float]] = {}

    def get(self, name: str) -> Optional[User]:
        entry = self._entries.get(name)
        if entry is None:
            return None
        user, expires = entry
        if self._clock.seconds() >= expires:
            del self._entries[name]
            return None
        return user

    def put(self, user: User) -> None:
        if self._ttl > 0:
            self._entries[user.name] = (user, self._clock.seconds() + self._ttl)

    def evict(self, name: str) -> None:
        self._entries.pop(name, None)

    def __len__(self) -> int:
        return len(self._entries)


@implementer(IUserDB)
class UserDB:
    """Users in the ``users`` namespace of an ``IStore``."""

    def __init__(self, store: IStore, clock: IReactorTime, cache_expiration_ns: int):
        self._store = store
        self.cache = UserCache(clock, cache_expiration_ns / 1e9)
        self._subscribers: List[Callable[[str], None]] = []
        #: Admins as acknowledged by the store.
        self._admins: Set[str] = set()
        #: name → [changes not yet acknowledged, the user as last acknowledged].
        self._pending: Dict[str, list] = {}
        for name in store.keys(NAMESPACE):
            record = store.get_now(NAMESPACE, name)
            if record and record.get("admin"):
                self._admins.add(name)

    # ------------------------------------------------------------- reads

    def lookup(self, name: str) -> Optional[User]:
        """The user as last acknowledged by the store (authentication)."""
        pending = self._pending.get(name)
        if pending is not None:
            return pending[1]
        user = self.cache.get(name)
        if user is not None:
            return user
        record = self._store.get_now(NAMESPACE, name)
        if record is None:
            return None
        user = user_from_record(record)
        self.cache.put(user)
        return user

    def lookup_fresh(self, name: str) -> Optional[User]:
        """The stored user now, bypassing the cache (read-modify-write)."""
        record = self._store.get_now(NAMESPACE, name)
        return None if record is None else user_from_record(record)

    def get(self, name: str) -> Deferred:
        return succeed(self.lookup_fresh(name))

    def exists(self, name: str) -> bool:
        return self._store.get_now(NAMESPACE, name) is not None

    def list(self, pattern: str = "", offset: int = 0, limit: Optional[int] = None) -> Deferred:
        # The store matches a str pattern the Go way itself.
        d = self._store.list(NAMESPACE, pattern or None, offset, limit)
        d.addCallback(lambda rows: [user_from_record(value) for _key, value in rows])
        return d

    def admin_count(self) -> int:
        """Admins that stay admins whatever becomes of the changes in flight
        (the last-admin guard must not count a promotion that may yet fail,
        nor an admin whose demotion may yet succeed)."""
        return sum(1 for name in self._admins
                   if name not in self._pending or self._admin_now(name))

    def is_admin(self, name: str) -> bool:
        return name in self._admins or self._admin_now(name)

    def _admin_now(self, name: str) -> bool:
        record = self._store.get_now(NAMESPACE, name)
        return bool(record and record.get("admin"))

    # --------------------------------------------------------- mutations

    def subscribe(self, callback: Callable[[str], None]) -> None:
        self._subscribers.append(callback)

    def _notify(self, name: str) -> None:
        for callback in self._subscribers:
            callback(name)

    def _track(self, name: str, write: Callable[[], Deferred], user: Optional[User]) -> Deferred:
        """Hold ``name`` at its acknowledged value until the store answers ``write()``.

        ``user`` is the new value (None: deleted).  On success the cache and
        the admin set take it; on failure nothing changes (the store has
        undone the change itself).
        """
        pending = self._pending.get(name)
        if pending is None:
            pending = self._pending[name] = [0, self.lookup(name)]
        try:
            d = write()
        except BaseException:
            if pending[0] == 0:
                del self._pending[name]
            raise
        pending[0] += 1
        self.cache.evict(name)
        self._notify(name)

        def settled(result, ok: bool):
            if ok and (result is not False):
                pending[1] = user
                if user is not None and user.admin:
                    self._admins.add(name)
                else:
                    self._admins.discard(name)
            pending[0] -= 1
            if pending[0] == 0:
                del self._pending[name]
                self.cache.evict(name)
                if pending[1] is not None:
                    self.cache.put(pending[1])
            self._notify(name)
            return result

        d.addCallbacks(settled, settled, callbackArgs=(True,), errbackArgs=(False,))
        return d

    def create(self, user: User) -> Deferred:
        # The existence check and the store's in-memory insert happen in
        # one reactor turn, so two concurrent creates cannot both succeed.
        if self.exists(user.name):
            return succeed(False)
        record = user_to_record(user)
        return self._track(user.name, lambda: self._store.create(NAMESPACE, user.name, record), user)

    def replace(self, user: User) -> Deferred:
        record = user_to_record(user)
        return self._track(user.name, lambda: self._store.put(NAMESPACE, user.name, record), user)

    def delete(self, name: str) -> Deferred:
        return self._track(name, lambda: self._store.delete(NAMESPACE, name), None)

    def evict(self, name: str) -> None:
        """Drop a cached user (the original does this after a failed bcrypt)."""
        self.cache.evict(name)
