"""Shared helpers for the storage tests."""

from __future__ import annotations

import os
import threading

from twisted.internet import reactor
from twisted.internet.defer import Deferred

from kapacitord_tw.storage import JournalStore


def open_store(path, **kwargs) -> JournalStore:
    return JournalStore.open(path, reactor, **kwargs)


def lines_of(path) -> list[bytes]:
    with open(path, "rb") as f:
        return f.read().split(b"\n")[:-1]


def write_lines(path, lines: list[bytes], tail: bytes = b"") -> None:
    with open(path, "wb") as f:
        f.write(b"".join(line + b"\n" for line in lines) + tail)


def in_thread(function, *args) -> Deferred:
    """Run a blocking *function* (like waiting on an Event) without blocking the reactor."""
    from twisted.internet.threads import deferToThread
    return deferToThread(function, *args)


class CountingFsync:
    """Stands in for ``os.fsync``: counts calls and can hold back or fail some of them."""

    def __init__(self, real):
        self.real = real
        self.calls = 0
        self.fail_with: OSError | None = None
        self.fail_suffix = ""  # with fail_with: only fail fsyncs of files whose name ends so
        self.hold_suffix: str | None = None  # block fsyncs of files whose name ends so
        self.release = threading.Event()
        self.holding = threading.Event()

    def __call__(self, fd):
        self.calls += 1
        name = os.readlink(f"/proc/self/fd/{fd}")
        if self.fail_with is not None and name.endswith(self.fail_suffix):
            raise self.fail_with
        if self.hold_suffix is not None:
            if name.endswith(self.hold_suffix):
                self.holding.set()
                self.release.wait(10)
        return self.real(fd)
