"""The journal's line format, and reading a journal back.

A journal is a text file of lines ``<crc32 as 8 hex digits> <compact JSON>``:

* line 1 is the header ``{"format": "kapacitord-tw-journal", "version": 1}``;
* ``["put", namespace, key, value]`` and ``["del", namespace, key]`` records;
* ``["commit", n]`` closes a batch of the *n* records before it.

Every write appends whole batches (records plus their commit) and fsyncs
before the next batch starts, so after a crash only the last batch can be
damaged or incomplete, and that batch was never acknowledged.  Reading
therefore keeps everything up to the last intact commit, drops what follows
it (a torn tail), and refuses a file where a damaged line is followed by an
intact commit: that line was acknowledged and has since been altered.
"""

from __future__ import annotations

import json
import zlib

import attr

from .errors import StoreCorrupted
from .namespace import Namespace

HEADER = {"format": "kapacitord-tw-journal", "version": 1}

_PUT = "put"
_DEL = "del"
_COMMIT = "commit"


def _dumps(obj) -> bytes:
    # ASCII-only output cannot hold a raw newline and encodes any str.
    return json.dumps(obj, ensure_ascii=True, separators=(",", ":"), allow_nan=False).encode("ascii")


def frame(body: bytes) -> bytes:
    """One journal line (without its newline) holding *body*."""
    return b"%08x %s" % (zlib.crc32(body), body)


HEADER_LINE = frame(_dumps(HEADER))


def put_line(namespace: str, key: str, value: dict) -> bytes:
    """The line recording ``namespace[key] = value``; raises TypeError/ValueError for non-JSON input."""
    if not isinstance(namespace, str) or not isinstance(key, str):
        raise TypeError("namespace and key must be str")
    if not isinstance(value, dict):
        raise TypeError(f"value must be a dict, not {type(value).__name__}")
    return frame(_dumps([_PUT, namespace, key, value]))


def delete_line(namespace: str, key: str) -> bytes:
    """The line recording the removal of ``namespace[key]``."""
    return frame(_dumps([_DEL, namespace, key]))


def commit_line(count: int) -> bytes:
    """The line that closes a batch of *count* records."""
    return frame(_dumps([_COMMIT, count]))


def batch_bytes(lines: list[bytes]) -> bytes:
    """*lines* followed by their commit, ready to append."""
    return b"\n".join(lines) + b"\n" + commit_line(len(lines)) + b"\n"


#: The C scanner behind ``json.loads``, called without its per-call wrapping.
_scan_once = json.JSONDecoder().scan_once


def decode(body: bytes):
    """``json.loads(body)`` in about half the time, for the ASCII lines this module writes.

    Start-up decodes every record, and the user DB every user once more;
    for small records ``json.loads``'s per-call wrapping costs as much as
    the scan itself.  Anything the fast path is unsure of (non-ASCII bytes,
    whitespace around the value, an error) is handed to ``json.loads``, so
    results and error messages are exactly its own.
    """
    try:
        text = body.decode("ascii")
        value, end = _scan_once(text, 0)
    except (UnicodeDecodeError, StopIteration, ValueError):
        return json.loads(body)
    if end != len(text):
        return json.loads(body)
    return value


def value_of(line: bytes) -> dict:
    """A fresh copy of the value held by a put line."""
    return decode(line[9:])[3]


def snapshot_bytes(chunks) -> bytes:
    """A complete journal holding the put lines of *chunks* (iterables of lines) as one batch."""
    lines = [line for chunk in chunks for line in chunk]
    if not lines:
        return HEADER_LINE + b"\n"
    return HEADER_LINE + b"\n" + batch_bytes(lines)


@attr.s(frozen=True, slots=True)
class TornTail:
    """What was dropped from the end of a journal after a crash."""

    line = attr.ib()  # first dropped line number (1-based)
    reason = attr.ib()
    discarded_bytes = attr.ib()


@attr.s(frozen=True, slots=True)
class Loaded:
    """The state recovered from a journal."""

    namespaces = attr.ib()  # dict[str, Namespace]
    live_bytes = attr.ib()  # size of the live put lines, newlines included
    committed_end = attr.ib()  # byte offset just after the last intact commit
    torn = attr.ib()  # TornTail | None


class _Bad(Exception):
    """A line a crash could have produced (torn or failing its checksum)."""


def _check(line: bytes) -> object:
    if len(line) < 10 or line[8:9] != b" ":
        raise _Bad("incomplete or malformed record")
    body = line[9:]
    if b"%08x" % zlib.crc32(body) != line[:8]:
        raise _Bad("checksum mismatch")
    return decode(body)


def load(data: bytes, path: str) -> Loaded:
    """Recover the state stored in *data*, the content of the journal at *path*.

    Raises :class:`StoreCorrupted` (naming *path* and the line) for anything a
    crash cannot explain.
    """
    lines = data.split(b"\n")
    # split() leaves the bytes after the last newline (b"" for a whole file) last;
    # an incomplete line is simply never followed by a commit.
    lines.pop()
    if not lines:
        raise StoreCorrupted(path, 1, "not a kapacitord-tw journal (no header line)")
    try:
        header = _check(lines[0])
    except (_Bad, ValueError):
        header = None
    if header != HEADER:
        raise StoreCorrupted(path, 1, "not a kapacitord-tw journal (bad header)")

    namespaces: dict[str, Namespace] = {}
    offset = len(lines[0]) + 1
    committed_end = offset
    # Lines since the last intact commit: (line number, namespace, key, put line or None),
    # with namespace None for a damaged line or a commit that does not match.
    pending: list = []
    run = 0  # good records at the end of pending, uninterrupted
    first_bad: tuple[int, str] | None = None

    for number, line in enumerate(lines[1:], start=2):
        offset += len(line) + 1
        try:
            record = _check(line)
        except _Bad as e:
            if first_bad is None:
                first_bad = (number, str(e))
            pending.append((number, None, None, None))
            run = 0
            continue
        except ValueError as e:
            # The checksum matched, so this was written as-is: a bug or another format.
            raise StoreCorrupted(path, number, f"invalid JSON in a checksummed record: {e}") from None
        kind = record[0] if isinstance(record, list) and record else None
        if kind == _PUT and len(record) == 4 and _strings(record) and isinstance(record[3], dict):
            pending.append((number, record[1], record[2], line))
            run += 1
        elif kind == _DEL and len(record) == 3 and _strings(record):
            pending.append((number, record[1], record[2], None))
            run += 1
        elif kind == _COMMIT and len(record) == 2 and type(record[1]) is int and record[1] >= 0:
            count = record[1]
            if run < count:
                # The batch this closes is damaged: part of a torn tail, unless
                # an intact batch follows (checked when its commit arrives).
                if first_bad is None:
                    first_bad = (number, f"commit of {count} records follows only {run} intact ones")
                pending.append((number, None, None, None))
                run = 0
                continue
            if len(pending) > count:
                # Intact batch preceded by damage: that damage was acknowledged.
                number_bad, reason = first_bad or (pending[0][0], "records without a commit")
                raise StoreCorrupted(path, number_bad, f"damaged record ({reason}) "
                                     "followed by acknowledged records")
            _apply(namespaces, pending)
            pending = []
            run = 0
            committed_end = offset
        else:
            raise StoreCorrupted(path, number, "unknown record in a checksummed line")

    torn = None
    if committed_end < len(data):
        if first_bad is None:
            first_bad = ((pending[0][0], "batch without a commit") if pending
                         else (len(lines) + 1, "incomplete last line"))
        torn = TornTail(line=first_bad[0], reason=first_bad[1], discarded_bytes=len(data) - committed_end)
    live = 0
    for ns in namespaces.values():
        ns.finish_bulk_load()
        live += sum(map(len, ns.entries.values())) + len(ns.entries)
    return Loaded(namespaces=namespaces, live_bytes=live, committed_end=committed_end, torn=torn)


def _strings(record: list) -> bool:
    return isinstance(record[1], str) and isinstance(record[2], str)


def _apply(namespaces: dict, batch: list) -> None:
    for _, namespace, key, line in batch:
        ns = namespaces.get(namespace)
        if line is not None:
            if ns is None:
                ns = namespaces[namespace] = Namespace()
            ns.entries[key] = line
        elif ns is not None:
            ns.entries.pop(key, None)
            if not ns.entries:
                del namespaces[namespace]
