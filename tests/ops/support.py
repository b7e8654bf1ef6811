"""Shared set-up for the operations-endpoint tests: a secured harness with
an admin, a recorder on the point bus, and the ``/debug/vars`` counters."""

from __future__ import annotations

import attrs

from tests.http import harness
from tests.http.harness import V1, Harness

ADMIN = ("admin", "pw")


def secured(tmp_path, **config) -> Harness:
    """``[http] auth-enabled = true`` with one admin user, ``admin``/``pw``."""
    h = Harness(tmp_path, http_auth=True, **config)
    h.add_user(*ADMIN, admin=True)
    return h


def with_settings(monkeypatch, http=None, **top) -> None:
    """Make the next ``Harness`` use extra settings: ``[http]`` ones (e.g.
    ``pprof_enabled``) in ``http``, top-level ones as keywords."""
    make_config = harness.make_config

    def patched(*args, **kwargs):
        config = make_config(*args, **kwargs)
        return attrs.evolve(config, http=attrs.evolve(config.http, **(http or {})), **top)

    monkeypatch.setattr(harness, "make_config", patched)


def record_points(h: Harness) -> list:
    """Every batch published on the point bus from now on, in order."""
    batches: list = []
    h.app.bus.subscribe(batches.append)
    return batches


def httpd_values(h: Harness) -> dict:
    """The ``httpd`` counters as ``/debug/vars`` publishes them."""
    reply = h.get(V1 + "/debug/vars", auth=ADMIN)
    assert reply.code == 200, reply.body
    entries = [s for s in reply.json()["kapacitor"].values() if s["name"] == "httpd"]
    assert len(entries) == 1
    return entries[0]["values"]
