"""Ties the store's lifetime to the daemon's ``MultiService``."""

from __future__ import annotations

from twisted.application.service import Service


class StoreService(Service):
    """Closes the store when the daemon stops, so pending writes finish first.

    Open the store in ``makeService`` (so a corrupt file stops start-up before
    anything listens) and add this service to the ``MultiService``.
    ``stopService`` runs before the reactor's thread pool shuts down, which the
    store's writes need.
    """

    name = "storage"

    def __init__(self, store) -> None:
        self.store = store

    def stopService(self):
        super().stopService()
        return self.store.close()
