"""
The guard's memory of recent successful logins.

After the portal has accepted a Basic ``Authorization`` header, the same
header on later requests is recognised with one keyed BLAKE2 digest and a
dict lookup, so an authenticated request costs almost nothing more than an
anonymous one.  Only digests are kept (keyed with a per-process random key,
so they are useless outside this process), entries are bounded in number,
expire after an hour like the password cache, and are dropped at once when
the user's password hash changes or the user is deleted.

``user_for`` is the whole hot path of an authenticated request, so it is
one method with no helper calls: the keyed hasher is set up once and copied
per request (cheaper than keying a new one), and the user comes
from the user DB's lookup, so privilege changes and the user cache's expiry
apply to remembered logins exactly as to new ones.
"""

from __future__ import annotations

import hashlib
import os
from collections import OrderedDict
from typing import Callable, Dict, Optional, Set, Tuple

MEMO_SECONDS = 3600.0
DIGEST_SIZE = 16


class LoginMemo:
    def __init__(self, clock, max_entries: int = 10_000, ttl: float = MEMO_SECONDS):
        self._clock = clock
        self._keyed = hashlib.blake2b(key=os.urandom(32), digest_size=DIGEST_SIZE)
        self._max = max_entries
        self._ttl = ttl
        self._entries: "OrderedDict[bytes, Tuple[str, bytes, float]]" = OrderedDict()
        self._by_user: Dict[str, Set[bytes]] = {}
        #: ``name -> User | None``, given by the guard (the user DB's ``lookup``).
        self._lookup: Optional[Callable] = None

    def attach(self, lookup: Callable) -> None:
        """Where remembered users are looked up (``UserDB.lookup``)."""
        self._lookup = lookup

    def digest(self, header: bytes) -> bytes:
        hasher = self._keyed.copy()
        hasher.update(header)
        return hasher.digest()

    def user_for(self, header: bytes):
        """The user a remembered Basic header proves, or None.

        None too when the user is gone or their hash is no longer the one
        the login was proven against (the portal then decides afresh)."""
        hasher = self._keyed.copy()
        hasher.update(header)
        digest = hasher.digest()
        entry = self._entries.get(digest)
        if entry is None:
            return None
        name, hashed, expires = entry
        if self._clock.seconds() >= expires:
            self._drop(digest)
            return None
        user = self._lookup(name)
        if user is None or user.hash != hashed:
            return None
        return user

    def remember(self, digest: bytes, name: str, hashed: bytes) -> None:
        self._drop(digest)
        self._entries[digest] = (name, hashed, self._clock.seconds() + self._ttl)
        self._by_user.setdefault(name, set()).add(digest)
        while len(self._entries) > self._max:
            oldest = next(iter(self._entries))
            self._drop(oldest)

    def forget_user(self, name: str) -> None:
        for digest in self._by_user.pop(name, ()):
            self._entries.pop(digest, None)

    def _drop(self, digest: bytes) -> None:
        entry = self._entries.pop(digest, None)
        if entry is not None:
            digests = self._by_user.get(entry[0])
            if digests is not None:
                digests.discard(digest)
                if not digests:
                    del self._by_user[entry[0]]

    def __len__(self) -> int:
        return len(self._entries)
