"""Issue #10 item 7: a full disk refuses writes without leaving them half-true.

A refused change must be undone in memory (a 500'd admin must not be able
to log in), the journal must not keep a half-written record, and once
space is freed the store must accept writes again without a restart.
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import uuid

import pytest
import pytest_twisted
from twisted.logger import capturedLogs

from kapacitord_tw.storage import StoreWriteError

from .helpers import lines_of, open_store


@pytest.fixture
def path(tmp_path):
    return str(tmp_path / "data" / "kapacitor.journal")


class DiskFull:
    """Stands in for ``os.write``: writes to the journal stop half-way with ENOSPC.

    Only the file whose name ends with ``suffix`` is affected (the reactor
    writes to its own pipes meanwhile).
    """

    def __init__(self, real, suffix: str):
        self.real = real
        self.suffix = suffix
        self.full = True
        self.refused = 0

    def __call__(self, fd, data):
        if self.full and os.readlink(f"/proc/self/fd/{fd}").endswith(self.suffix):
            self.refused += 1
            half = bytes(data)[: max(1, len(data) // 2)]
            written = self.real(fd, half)  # a torn record, as a full disk leaves
            if written:
                raise OSError(errno.ENOSPC, "No space left on device")
        return self.real(fd, data)


@pytest_twisted.inlineCallbacks
def test_refused_changes_are_undone_and_writes_work_again_once_space_is_freed(path, monkeypatch):
    store = open_store(path)
    yield store.put("users", "root", {"admin": True})
    yield store.put("users", "bob", {"admin": False})
    disk = DiskFull(os.write, "kapacitor.journal")
    monkeypatch.setattr(os, "write", disk)

    with capturedLogs():
        created = store.create("users", "mallory", {"admin": True})
        promoted = store.put("users", "bob", {"admin": True})
        deleted = store.delete("users", "root")
        for d in (created, promoted, deleted):
            with pytest.raises(StoreWriteError, match="No space left on device"):
                yield d
    assert disk.refused >= 1
    # Nothing refused is visible: reads show the acknowledged state.
    assert store.get_now("users", "mallory") is None
    assert store.get_now("users", "bob") == {"admin": False}
    assert store.get_now("users", "root") == {"admin": True}
    assert store.keys("users") == ["bob", "root"]

    disk.full = False  # space freed: no restart needed
    assert (yield store.create("users", "carol", {"admin": False})) is True
    yield store.put("users", "bob", {"v": 2})
    yield store.close()

    # The half-written record was cut off: the journal loads cleanly, with
    # exactly the acknowledged changes.
    assert all(line[8:9] == b" " for line in lines_of(path))
    with capturedLogs() as events:
        store = open_store(path)
    assert not [e for e in events if "torn" in e.get("log_format", "")]
    assert store.keys("users") == ["bob", "carol", "root"]
    assert store.get_now("users", "bob") == {"v": 2}
    yield store.close()


@pytest_twisted.inlineCallbacks
def test_update_refused_by_a_full_disk_is_undone(path, monkeypatch):
    store = open_store(path)
    yield store.put("ns", "k", {"n": 1})
    disk = DiskFull(os.write, "kapacitor.journal")
    monkeypatch.setattr(os, "write", disk)
    with capturedLogs():
        d = store.update("ns", "k", lambda v: {"n": v["n"] + 1})
        with pytest.raises(StoreWriteError):
            yield d
    assert store.get_now("ns", "k") == {"n": 1}
    disk.full = False
    assert (yield store.update("ns", "k", lambda v: {"n": v["n"] + 1})) == {"n": 2}
    yield store.close()
    store = open_store(path)
    assert store.get_now("ns", "k") == {"n": 2}
    yield store.close()


@pytest_twisted.inlineCallbacks
def test_failure_during_a_compaction_does_not_swap_in_undone_changes(path, monkeypatch):
    store = open_store(path)
    yield store.put("ns", "a", {"v": 1})
    disk = DiskFull(os.write, "kapacitor.journal")
    monkeypatch.setattr(os, "write", disk)
    with capturedLogs():
        refused = store.put("ns", "ghost", {"v": 2})
        compacted = store.compact()  # its snapshot holds "ghost"
        with pytest.raises(StoreWriteError):
            yield refused
        assert (yield compacted) is False
    disk.full = False
    yield store.put("ns", "b", {"v": 3})
    yield store.close()
    store = open_store(path)
    assert store.keys("ns") == ["a", "b"]
    yield store.close()


def _mount_tmpfs(directory: str, size: str) -> bool:
    if os.geteuid() != 0 or shutil.which("mount") is None:
        return False
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", directory],
                            capture_output=True)
    return result.returncode == 0


@pytest.fixture
def small_tmpfs(tmp_path):
    directory = str(tmp_path / "tmpfs")
    os.mkdir(directory)
    if not _mount_tmpfs(directory, "256k"):
        pytest.skip("cannot mount a tmpfs here (needs root and mount permission)")
    yield directory
    subprocess.run(["umount", "-l", directory], capture_output=True)


@pytest_twisted.inlineCallbacks
def test_a_really_full_tmpfs_refuses_then_recovers(small_tmpfs):
    path = os.path.join(small_tmpfs, "kapacitor.journal")
    filler = os.path.join(small_tmpfs, "filler")
    store = open_store(path, compact_floor=1 << 30)
    yield store.put("users", "root", {"admin": True})
    # Fill the file system.
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        while True:
            os.write(fd, b"x" * 4096)
    except OSError as e:
        assert e.errno == errno.ENOSPC
    finally:
        os.close(fd)
    big = {"pad": uuid.uuid4().hex * 200}
    with capturedLogs():
        refused = store.put("users", "mallory", dict(big, admin=True))
        with pytest.raises(StoreWriteError):
            yield refused
    assert store.get_now("users", "mallory") is None
    os.unlink(filler)  # space freed
    yield store.put("users", "carol", big)
    yield store.close()
    store = open_store(path)
    assert store.keys("users") == ["carol", "root"]
    yield store.close()
