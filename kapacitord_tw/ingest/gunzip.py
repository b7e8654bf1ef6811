"""Inflating a gzip ``/write`` body as Go's multistream ``gzip.Reader`` does,
in linear time and within the body limit: shared by the daemon and the
ingest workers, so both give the same answers."""

from __future__ import annotations

import zlib

__all__ = ["GZIP_MAGIC", "GzipError", "gunzip"]

#: ID bytes and the deflate method: the start of every gzip member.
GZIP_MAGIC = b"\x1f\x8b\x08"

#: Input fed to zlib at first for each member; doubled while the member
#: lasts.  zlib copies everything after a member's end into ``unused_data``:
#: feeding the whole remaining body would make many small members quadratic.
FIRST_FEED = 64
MAX_FEED = 1 << 20


class GzipError(Exception):
    """A body that cannot be inflated: ``code`` (400, or 413 past the limit)
    and ``raw``, Go's message as bytes (``/write`` answers it as plain text)."""

    def __init__(self, code: int, raw: bytes):
        super().__init__(code, raw)
        self.code = code
        self.raw = raw


def too_large(limit: int) -> GzipError:
    return GzipError(413, f"request body too large: the limit is {limit} bytes".encode())


def check_gzip_header(member: bytes) -> None:
    """Go's errors for a member without a 10-byte gzip header (not zlib's)."""
    if not member:
        raise GzipError(400, b"EOF")
    if len(member) < 10:
        raise GzipError(400, b"unexpected EOF")
    if not member.startswith(GZIP_MAGIC):
        raise GzipError(400, b"gzip: invalid header")


def gunzip(body: bytes, limit: int) -> bytes:
    """Inflate every gzip member, as Go's multistream ``gzip.Reader`` does.

    Linear in the body: each member sees at most twice its own size of
    input (plus ``FIRST_FEED``), never the rest of the body.  Raises
    :class:`GzipError`.
    """
    view = memoryview(body)
    end = len(body)
    out = []
    size = 0
    offset = 0
    new_inflater = zlib.decompressobj
    while True:
        if end - offset < 10 or not body.startswith(GZIP_MAGIC, offset):
            check_gzip_header(body[offset:offset + 10])  # raises Go's error
        inflater = new_inflater(16 + zlib.MAX_WBITS)
        feed = FIRST_FEED
        while not inflater.eof:
            if offset >= end:
                raise GzipError(400, b"unexpected EOF")
            piece = view[offset:offset + feed]
            try:
                chunk = inflater.decompress(piece, limit + 1 - size)
            except zlib.error as e:
                raise GzipError(400, f"gzip: invalid data: {e}".encode()) from None
            if chunk:
                size += len(chunk)
                if size > limit:
                    raise too_large(limit)
                out.append(chunk)
            # All of the piece was used unless the member ended inside it
            # (the output bound cannot leave any: hitting it is the 413).
            offset += len(piece) - len(inflater.unused_data)
            if feed < MAX_FEED:
                feed *= 2
        if offset >= end:
            return b"".join(out)
