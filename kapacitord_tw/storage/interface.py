"""The storage contract shared by users, tasks and templates.

Written as a zope ``Interface`` so another backend (for instance one that
reads a real BoltDB file) can be plugged in without touching the callers.
"""

from __future__ import annotations

from zope.interface import Attribute, Interface


class IStore(Interface):
    """Namespaces ("buckets") of string keys mapping to JSON-object values.

    Mutations are applied to the in-memory view at once, in call order, and
    their Deferred fires only when the change is on disk; reads see every
    mutation issued so far, durable or not.  A mutation the disk refuses
    errbacks and is undone (with those queued behind it), so reads go back
    to the acknowledged state.  Values handed in are copied and
    values handed out are fresh copies, so callers may mutate both freely.
    Keys are ordered by the bytes of their UTF-8 encoding (BoltDB order).
    """

    stats = Attribute("A StoreStats snapshot of counters, for tests and monitoring.")

    def get(namespace, key):
        """Deferred firing with the value stored under *key*, or ``None``."""

    def get_now(namespace, key):
        """The value stored under *key*, or ``None``, without a Deferred (hot paths)."""

    def keys(namespace):
        """All keys of *namespace* in byte order (a new list)."""

    def namespaces():
        """Names of the namespaces that hold at least one key, sorted."""

    def count(namespace):
        """Number of keys in *namespace*."""

    def put(namespace, key, value):
        """Store *value* (a dict of JSON types) under *key*; Deferred fires ``None`` once durable."""

    def create(namespace, key, value):
        """Store *value* only if *key* is absent.

        The Deferred fires ``True`` if stored, ``False`` if the key existed
        (including a create still pending: creates are atomic in call order).
        """

    def update(namespace, key, function):
        """Atomically replace the value with ``function(copy_of_current)``.

        Deferred fires with the new value, or ``None`` (and *function* is not
        called) when *key* is absent.
        """

    def delete(namespace, key):
        """Remove *key*; Deferred fires ``True`` if it existed, ``False`` otherwise."""

    def list(namespace, pattern=None, offset=0, limit=None):
        """Deferred firing with ``[(key, value), ...]`` in byte order.

        *pattern* is ``None``, a Go ``path.Match`` glob (malformed: matches
        nothing) or a ``key -> bool`` predicate; *offset* counts matching keys;
        *limit* ``None`` means all and a negative *limit* returns nothing
        (Kapacitor's "negative means everything" belongs to the HTTP layer).
        """

    def snapshot_bytes():
        """A consistent copy of the whole store in the on-disk format (a backup ``open`` loads)."""

    def close():
        """Deferred firing once every pending write is durable; later mutations fail."""
