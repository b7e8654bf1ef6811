"""A request body held in memory as the chunks it arrived in.

Twisted spools a body of 100 kB or more to a temporary file: a 5,000-line
write (450 kB) was written to disk and read back before it was parsed, and
that file I/O cost the daemon about 0.05 us a point.  The site refuses a
body past ``max-body-size`` while it arrives, so holding it in memory is
bounded; its chunks are joined once, when it is read.
"""

from __future__ import annotations

import io
from typing import List

__all__ = ["BodyChunks"]


class BodyChunks:
    """The file interface ``twisted.web`` uses on ``Request.content``:
    ``write`` while the body arrives, then ``seek``, ``tell`` and ``read``."""

    def __init__(self) -> None:
        self._chunks: List[bytes] = []
        self._size = 0
        self._position = 0
        self.closed = False

    def write(self, data) -> int:
        if self._position != self._size:
            raise io.UnsupportedOperation("write after a seek back")
        self._chunks.append(bytes(data))
        self._size += len(data)
        self._position = self._size
        return len(data)

    def _whole(self) -> bytes:
        if len(self._chunks) > 1:
            self._chunks = [b"".join(self._chunks)]
        return self._chunks[0] if self._chunks else b""

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._size}[whence]
        self._position = min(max(0, base + offset), self._size)
        return self._position

    def read(self, size: int = -1) -> bytes:
        whole = self._whole()
        start = self._position
        end = self._size if size is None or size < 0 else min(self._size, start + size)
        self._position = end
        return whole[start:end]  # the whole body itself when read at once

    def getvalue(self) -> bytes:
        return self._whole()

    def close(self) -> None:
        self._chunks = []
        self._size = self._position = 0
        self.closed = True
