"""
The audit channel: security events on their own logger namespace.

``POST /loglevel`` is open to any ``api`` user; setting ``ERROR`` silences
the info lines, so an attacker could hide what follows.  Events logged here
(failed and throttled logins, user changes, level changes, each with who and
from where) pass the level filter whatever the level (``logs.LevelFilter``)
and are written in the same logfmt with ``service=audit``.  Each event has a
fixed message, so they are easy to grep; the details are fields.
"""

from __future__ import annotations

from typing import Iterable

from twisted.logger import Logger

AUDIT_NAMESPACE = "kapacitord_tw.audit"
_audit = Logger(namespace=AUDIT_NAMESPACE)


def is_audit_event(event: dict) -> bool:
    return event.get("log_namespace") == AUDIT_NAMESPACE


def login_failed(user: str, client: str, credentials: str, reason: str) -> None:
    """A login the portal refused (wrong password, unknown user, bad token)."""
    _audit.warn(
        "authentication failed", user=user or "-", client=client or "-",
        credentials=credentials, reason=reason,
    )


def login_throttled(user: str, client: str, retry_after: int) -> None:
    _audit.warn(
        "authentication throttled", user=user or "-", client=client or "-",
        retry_after=retry_after,
    )


def user_created(user: str, type: str, permissions: Iterable[str], by: str, client: str) -> None:
    _audit.info(
        "user created", user=user, type=type, permissions=",".join(permissions) or "-",
        by=by, client=client or "-",
    )


def user_updated(user: str, changed: Iterable[str], type: str, permissions: Iterable[str],
                 by: str, client: str) -> None:
    """``changed`` names the fields changed (``password``, ``type``, ``permissions``)."""
    _audit.info(
        "user updated", user=user, changed=",".join(changed) or "-", type=type,
        permissions=",".join(permissions) or "-", by=by, client=client or "-",
    )


def user_deleted(user: str, by: str, client: str) -> None:
    _audit.info("user deleted", user=user, by=by, client=client or "-")


def log_level_changed(level: str, previous: str, by: str, client: str) -> None:
    _audit.info(
        "log level set to {new_level}", new_level=level, previous=previous, by=by,
        client=client or "-",
    )
