"""Helpers shared by the commands: reading files, wrapping errors, columns."""

from __future__ import annotations

from ..client import ApiError, TransportError
from ..runtime import CommandError

__all__ = ["read_text", "go_os_error", "wrap", "pad", "id_width", "PAGE"]

PAGE = 100  # the original lists 100 items per request


def go_os_error(op: str, path: str, exc: OSError) -> str:
    """``open x: no such file or directory``, as Go's ``*PathError`` reads."""
    reason = exc.strerror or str(exc)
    return "%s %s: %s" % (op, path, reason[:1].lower() + reason[1:])


def read_text(path: str, context: str | None = None) -> str:
    """A whole file as text; Go-worded ``CommandError`` when it cannot be read.

    ``context`` prefixes the message (``failed to open file x: open x: ...``).
    """
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except IsADirectoryError as exc:
        message = go_os_error("read", path, exc)
    except OSError as exc:
        message = go_os_error("open", path, exc)
    else:
        return data.decode("utf-8", "replace")
    raise CommandError("%s: %s" % (context, message) if context else message)


def wrap(exc: Exception, prefix: str) -> Exception:
    """Prefix an error's message (``errors.Wrap``), keeping its kind and status."""
    if isinstance(exc, ApiError):
        return ApiError(exc.status, "%s: %s" % (prefix, exc.message))
    if isinstance(exc, TransportError):
        return TransportError("%s: %s" % (prefix, exc))
    return CommandError("%s: %s" % (prefix, exc))


def id_width(values: list[str], header: str) -> int:
    """Go's ``maxID + 1`` column width; Go measures IDs in bytes."""
    widest = max([len(header)] + [len(v.encode("utf-8")) for v in values])
    return widest + 1


def pad(text: str, width: int) -> str:
    """``%-Ns``: pad to ``width`` runes (never truncate)."""
    return text.ljust(width)
