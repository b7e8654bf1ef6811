"""Blocking file operations of the store, run in worker threads (or at start-up).

Each function returns how many times it called ``fsync`` so the store can
count them on the reactor thread.  ``os.fsync`` is looked up at call time so
tests can make the operating system fail.
"""

from __future__ import annotations

import errno
import fcntl
import os

FILE_MODE = 0o600
DIR_MODE = 0o755


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        if written <= 0:
            raise OSError(errno.EIO, "write made no progress")
        view = view[written:]


def read_all(fd: int) -> bytes:
    chunks = []
    offset = 0
    while True:
        chunk = os.pread(fd, 1 << 22, offset)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        offset += len(chunk)


def fsync_dir(directory: str) -> int:
    """Make a rename or creation in *directory* durable."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    return 1


def lock(fd: int) -> bool:
    """Take the exclusive lock that keeps a second daemon off the file; False if held."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def create_exclusive(path: str) -> int:
    """Open a new file that is never readable by others, replacing a stale one."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    return os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, FILE_MODE)


def write_new_file(tmp_path: str, data: bytes) -> tuple[int, int]:
    """Write *data* to a fresh *tmp_path* and fsync it; returns (fd, fsyncs), fd open for appending."""
    fd = create_exclusive(tmp_path)
    try:
        write_all(fd, data)
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        _unlink_quietly(tmp_path)
        raise
    return fd, 1


def append_durably(fd: int, data: bytes) -> int:
    """Append *data* and fsync: the unit of group commit."""
    write_all(fd, data)
    os.fsync(fd)
    return 1


def truncate_durably(fd: int, size: int) -> int:
    """Cut a failed append off the journal: back to *size*, the acknowledged end."""
    os.ftruncate(fd, size)
    os.fsync(fd)
    return 1


def swap_in(new_fd: int, tmp_path: str, path: str, tail: bytes) -> int:
    """Finish a compaction: append *tail*, then atomically make *tmp_path* the journal."""
    fsyncs = 0
    if tail:
        write_all(new_fd, tail)
        os.fsync(new_fd)
        fsyncs += 1
    if not lock(new_fd):
        raise OSError(errno.EAGAIN, "cannot lock the compacted journal")
    os.replace(tmp_path, path)
    return fsyncs + fsync_dir(os.path.dirname(path))


def discard(fd: int | None, tmp_path: str) -> None:
    """Drop an abandoned compaction."""
    if fd is not None:
        os.close(fd)
    _unlink_quietly(tmp_path)


def _unlink_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
