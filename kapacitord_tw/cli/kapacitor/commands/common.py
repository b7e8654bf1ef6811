"""Helpers shared by the commands: reading files, paging, wrapping errors, columns."""

from __future__ import annotations

import os
from typing import Callable, Iterator

from ..client import ApiError, TransportError
from ..runtime import CommandError
from ..taskvars import VarsError, load_json

__all__ = [
    "read_text",
    "read_document",
    "existing",
    "go_os_error",
    "wrap",
    "pad",
    "id_width",
    "pages",
    "all_pages",
    "delete_pages",
    "PAGE",
]

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


def read_document(path: str, text: str, what: str) -> tuple[str, object]:
    """``(kind, document)`` of a YAML or JSON file, picked by its extension.

    ``what`` names the file in Go's messages (``failed to unmarshal yaml
    <what> "x": ...``); ``kind`` is ``yaml`` or ``json`` for later ones.
    """
    extension = os.path.splitext(path)[1]
    if extension in (".yaml", ".yml"):
        try:
            import yaml  # optional: the only YAML reader we know of is PyYAML
        except ImportError:
            raise CommandError(
                'failed to unmarshal yaml %s "%s": reading YAML needs the PyYAML '
                "package; install it or use a .json file" % (what, path)
            ) from None
        try:
            return "yaml", yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise CommandError('failed to unmarshal yaml %s "%s": %s' % (what, path, exc)) from None
    if extension == ".json":
        try:
            return "json", load_json(text)
        except VarsError as exc:
            raise CommandError('failed to unmarshal json %s "%s": %s' % (what, path, exc)) from None
    raise CommandError("bad file extension. Must be YAML or JSON")


def pages(fetch: Callable[[int, int], list]) -> Iterator[list]:
    """The pages of a listing, asked for ``PAGE`` at a time as the original does.

    ``fetch(offset, limit)`` returns one page; a short page is the last.  Each
    page is yielded before the next is asked for, so work on one page (and its
    errors) comes before the next request, as in the original.
    """
    offset = 0
    while True:
        page = fetch(offset, PAGE)
        yield page
        if len(page) != PAGE:
            return
        offset += PAGE


def existing(fetch: Callable[[str], dict], href: str) -> dict:
    """The object at ``href``, or ``{}`` when it cannot be read.

    The ``define`` commands ignore this error as the original does: anything
    that is not an existing object is created, and creating reports the error.
    """
    try:
        return fetch(href)
    except (ApiError, TransportError):
        return {}


def all_pages(fetch: Callable[[int, int], list]) -> list:
    """Every item of a listing (see :func:`pages`)."""
    return [item for page in pages(fetch) for item in page]


def delete_pages(fetch: Callable[[int, int], list], delete: Callable[[str], None]) -> None:
    """Delete every listed item by its ``link``; always re-reads the first page,
    since each deletion shifts what the next offset would show."""
    while True:
        page = fetch(0, PAGE)
        for item in page:
            delete(item["link"]["href"])
        if len(page) != PAGE:
            return


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
