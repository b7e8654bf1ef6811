"""Behaviour of JournalStore that users, tasks and templates rely on, on real files."""

from __future__ import annotations

import errno
import os
import stat

import pytest
import pytest_twisted
from twisted.internet.defer import gatherResults
from twisted.logger import LogLevel, capturedLogs
from zope.interface.verify import verifyObject

from kapacitord_tw.storage import (
    IStore,
    StoreClosed,
    StoreCorrupted,
    StoreLocked,
    StoreService,
    StoreWriteError,
)

from .helpers import CountingFsync, in_thread, lines_of, open_store, write_lines


@pytest.fixture
def path(tmp_path):
    return str(tmp_path / "data" / "kapacitor.journal")


def test_journal_store_implements_istore(path):
    store = open_store(path)
    try:
        assert verifyObject(IStore, store)
    finally:
        store.close()


@pytest_twisted.inlineCallbacks
def test_records_survive_reopen(path):
    store = open_store(path)
    yield store.put("user_store", "alice", {"admin": True, "privileges": {"/api": ["all"]}})
    yield store.put("user_store", "bob", {"admin": False})
    yield store.put("task_store", "cpu", {"script": "stream|from()"})
    yield store.put("user_store", "bob", {"admin": False, "hash": "$2b$"})
    assert (yield store.delete("task_store", "cpu")) is True
    assert (yield store.create("task_store", "mem", {"script": "batch"})) is True
    yield store.close()

    store = open_store(path)
    assert (yield store.get("user_store", "alice")) == {"admin": True, "privileges": {"/api": ["all"]}}
    assert store.get_now("user_store", "bob") == {"admin": False, "hash": "$2b$"}
    assert store.get_now("task_store", "cpu") is None
    assert store.keys("task_store") == ["mem"]
    assert store.count("user_store") == 2
    assert store.namespaces() == ["task_store", "user_store"]
    yield store.close()


@pytest_twisted.inlineCallbacks
def test_store_file_is_private_and_data_dir_is_created_0755(tmp_path):
    old_umask = os.umask(0o022)
    try:
        path = tmp_path / "new" / "dir" / "kapacitor.journal"
        store = open_store(str(path))
        yield store.put("user_store", "alice", {"hash": "secret"})
        yield store.close()
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o755


@pytest_twisted.inlineCallbacks
def test_compaction_creates_the_new_journal_private_too(path):
    store = open_store(path)
    yield store.put("user_store", "alice", {"hash": "secret"})
    yield store.close()
    os.chmod(path, 0o644)

    store = open_store(path)
    assert (yield store.compact()) is True
    yield store.close()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


@pytest_twisted.inlineCallbacks
def test_torn_tail_is_cut_off_and_warned(path):
    store = open_store(path)
    yield store.put("ns", "a", {"v": 1})
    yield store.put("ns", "b", {"v": 2})
    yield store.close()
    size = os.path.getsize(path)
    with open(path, "ab") as f:
        f.write(b'0badc0de ["put","ns","c",{"v"')  # a crash in the middle of a write

    with capturedLogs() as events:
        store = open_store(path)
    warnings = [e for e in events if e.get("log_level") == LogLevel.warn and e.get("path") == path]
    assert len(warnings) == 1
    assert warnings[0]["discarded_bytes"] == len(b'0badc0de ["put","ns","c",{"v"')
    assert os.path.getsize(path) == size
    assert store.keys("ns") == ["a", "b"]

    # Appends after the cut land on a clean file.
    yield store.put("ns", "c", {"v": 3})
    yield store.close()
    store = open_store(path)
    assert store.keys("ns") == ["a", "b", "c"]
    yield store.close()


@pytest_twisted.inlineCallbacks
def test_last_record_with_bad_checksum_is_a_torn_tail(path):
    store = open_store(path)
    yield store.put("ns", "a", {"v": 1})
    yield store.put("ns", "b", {"v": 2})
    yield store.close()
    lines = lines_of(path)
    assert lines[-2].startswith(b"") and b'"b"' in lines[-2]
    lines[-2] = lines[-2].replace(b'"v":2', b'"v":3')  # its checksum no longer matches
    write_lines(path, lines)

    with capturedLogs() as events:
        store = open_store(path)
    assert [e["line"] for e in events if e.get("log_level") == LogLevel.warn] == [len(lines) - 1]
    assert store.keys("ns") == ["a"]
    yield store.close()


@pytest_twisted.inlineCallbacks
def test_damaged_record_before_acknowledged_ones_raises_naming_file_and_line(path):
    store = open_store(path)
    for key in "abc":
        yield store.put("ns", key, {"v": key})
    yield store.close()
    lines = lines_of(path)
    assert b'"a"' in lines[1]
    lines[1] = lines[1].replace(b'"v":"a"', b'"v":"A"')
    write_lines(path, lines)

    with pytest.raises(StoreCorrupted) as info:
        open_store(path)
    assert path in str(info.value)
    assert "line 2" in str(info.value)
    assert info.value.line == 2


@pytest.mark.parametrize("content", [
    b"",
    b"hello world\n",
    b"\x00\x00\x00\x00\xed\xda\x0c\xed" * 512,  # binary, like a BoltDB page
    b'16af7fd9 {"format":"kapacitord-tw-journal","version":2}\n',
])
def test_file_that_is_not_a_journal_raises(path, content):
    os.makedirs(os.path.dirname(path))
    with open(path, "wb") as f:
        f.write(content)
    with pytest.raises(StoreCorrupted) as info:
        open_store(path)
    assert path in str(info.value) and "line 1" in str(info.value)
    with open(path, "rb") as f:
        assert f.read() == content  # never "repaired" into an empty store


def test_unreadable_store_path_raises(path):
    os.makedirs(path)  # a directory where the file should be
    with pytest.raises(StoreCorrupted) as info:
        open_store(path)
    assert path in str(info.value)


@pytest_twisted.inlineCallbacks
def test_second_open_of_the_same_file_is_refused(path):
    store = open_store(path)
    with pytest.raises(StoreLocked):
        open_store(path)
    yield store.close()
    store = open_store(path)
    yield store.close()


@pytest_twisted.inlineCallbacks
def test_stale_compaction_temp_file_is_removed_and_ignored(path):
    store = open_store(path)
    yield store.put("ns", "a", {"v": 1})
    yield store.close()
    with open(path + ".tmp", "wb") as f:
        f.write(b"half a compaction")
    store = open_store(path)
    assert not os.path.exists(path + ".tmp")
    assert store.get_now("ns", "a") == {"v": 1}
    yield store.close()


@pytest_twisted.inlineCallbacks
def test_compaction_keeps_everything_and_shrinks_the_file(path):
    store = open_store(path)
    for round_ in range(20):
        yield gatherResults([store.put("ns", f"k{i}", {"round": round_, "pad": "x" * 100})
                             for i in range(50)])
    yield store.delete("ns", "k0")
    before = os.path.getsize(path)

    assert (yield store.compact()) is True
    after = os.path.getsize(path)
    assert after < before / 10
    assert store.stats.file_size == after
    yield store.put("ns", "late", {"v": 1})
    yield store.close()

    store = open_store(path)
    assert store.count("ns") == 50
    assert store.get_now("ns", "k0") is None
    assert store.get_now("ns", "k1") == {"round": 19, "pad": "x" * 100}
    assert store.get_now("ns", "late") == {"v": 1}
    yield store.close()


@pytest_twisted.inlineCallbacks
def test_compaction_starts_by_itself_once_the_journal_outgrows_the_data(path):
    store = open_store(path, compact_floor=4096)
    for i in range(200):
        yield store.put("ns", "same", {"i": i, "pad": "y" * 50})
    assert store.stats.compactions >= 1
    assert os.path.getsize(path) <= 2 * store.stats.live_bytes + 4096 + 200
    yield store.close()
    store = open_store(path)
    assert store.get_now("ns", "same") == {"i": 199, "pad": "y" * 50}
    yield store.close()


@pytest_twisted.inlineCallbacks
def test_changes_acknowledged_during_a_compaction_survive_it(path, monkeypatch):
    fsync = CountingFsync(os.fsync)
    monkeypatch.setattr(os, "fsync", fsync)
    store = open_store(path)
    yield gatherResults([store.put("ns", f"old{i}", {"i": i}) for i in range(100)])

    fsync.hold_suffix = ".tmp"  # the compacted file's fsync waits until released
    compacted = store.compact()
    yield in_thread(fsync.holding.wait, 10)
    # The snapshot is taken; these are written to the old journal meanwhile.
    yield gatherResults([store.put("ns", f"new{i}", {"i": i}) for i in range(30)])
    yield store.delete("ns", "old0")
    yield store.put("ns", "old1", {"i": "changed"})
    pending = store.put("ns", "racing", {"i": 0})
    fsync.release.set()
    assert (yield compacted) is True
    yield pending
    yield store.close()

    store = open_store(path)
    assert store.count("ns") == 100 - 1 + 30 + 1
    assert store.get_now("ns", "old0") is None
    assert store.get_now("ns", "old1") == {"i": "changed"}
    assert store.get_now("ns", "new29") == {"i": 29}
    assert store.get_now("ns", "racing") == {"i": 0}
    yield store.close()


@pytest_twisted.inlineCallbacks
def test_failed_compaction_leaves_the_store_working(path, monkeypatch):
    store = open_store(path)
    yield store.put("ns", "a", {"v": 1})
    fsync = CountingFsync(os.fsync)
    fsync.fail_with = OSError(errno.ENOSPC, "No space left on device")
    fsync.fail_suffix = ".tmp"
    monkeypatch.setattr(os, "fsync", fsync)
    with capturedLogs():
        assert (yield store.compact()) is False
    assert not os.path.exists(path + ".tmp")
    yield store.put("ns", "b", {"v": 2})
    yield store.close()
    store = open_store(path)
    assert store.keys("ns") == ["a", "b"]
    yield store.close()


@pytest_twisted.inlineCallbacks
def test_close_during_a_compaction_waits_for_it(path, monkeypatch):
    fsync = CountingFsync(os.fsync)
    monkeypatch.setattr(os, "fsync", fsync)
    store = open_store(path)
    yield store.put("ns", "a", {"v": 1})
    fsync.hold_suffix = ".tmp"
    compacted = store.compact()
    yield in_thread(fsync.holding.wait, 10)
    written = store.put("ns", "b", {"v": 2})
    closed = store.close()
    assert not closed.called
    fsync.release.set()
    yield written
    yield closed
    assert (yield compacted) is True
    store = open_store(path)
    assert store.keys("ns") == ["a", "b"]
    yield store.close()


@pytest_twisted.inlineCallbacks
def test_concurrent_puts_share_fsyncs(path, monkeypatch):
    store = open_store(path)
    fsync = CountingFsync(os.fsync)
    monkeypatch.setattr(os, "fsync", fsync)
    yield gatherResults([store.put("ns", f"k{i}", {"i": i}) for i in range(100)])
    assert store.stats.batches <= 3
    assert fsync.calls <= 3
    yield store.close()


@pytest_twisted.inlineCallbacks
def test_deferreds_fire_in_call_order(path):
    store = open_store(path)
    fired = []
    ds = []
    for i in range(50):
        d = store.put("ns", f"k{i}", {"i": i}) if i % 5 else store.delete("ns", "missing")
        ds.append(d.addCallback(lambda _, i=i: fired.append(i)))
    yield gatherResults(ds)
    assert fired == list(range(50))
    yield store.close()


@pytest_twisted.inlineCallbacks
def test_only_one_of_concurrent_creates_wins(path):
    store = open_store(path)
    results = yield gatherResults([store.create("user_store", "alice", {"n": n}) for n in range(20)])
    assert results == [True] + [False] * 19
    assert store.get_now("user_store", "alice") == {"n": 0}
    yield store.close()
    store = open_store(path)
    assert store.get_now("user_store", "alice") == {"n": 0}
    yield store.close()


@pytest_twisted.inlineCallbacks
def test_concurrent_updates_are_not_lost(path):
    store = open_store(path)
    yield store.put("ns", "counter", {"n": 0})

    def bump(value):
        return {**value, "n": value["n"] + 1}

    results = yield gatherResults([store.update("ns", "counter", bump) for _ in range(25)])
    assert results[-1] == {"n": 25}
    assert (yield store.update("ns", "absent", bump)) is None
    yield store.close()
    store = open_store(path)
    assert store.get_now("ns", "counter") == {"n": 25}
    yield store.close()


@pytest_twisted.inlineCallbacks
def test_listing_follows_utf8_byte_order(path):
    store = open_store(path)
    raw_ff = b"\xff".decode("utf-8", "surrogateescape")  # an invalid byte from a URL
    keys = ["b", "Z", "a", "é", "\ue000", "𝄞", raw_ff, "a/b", "ab"]
    for key in keys:
        yield store.put("ns", key, {"k": key})
    expected = ["Z", "a", "a/b", "ab", "b", "é", "\ue000", "𝄞", raw_ff]
    assert store.keys("ns") == expected
    assert [k for k, _ in (yield store.list("ns"))] == expected
    yield store.delete("ns", "é")
    yield store.close()
    store = open_store(path)
    assert store.keys("ns") == [k for k in expected if k != "é"]
    yield store.close()


@pytest_twisted.inlineCallbacks
def test_list_pages_with_offset_limit_and_pattern(path):
    store = open_store(path)
    names = [f"user{i:02d}" for i in range(30)] + ["team/a", "team/b"]
    for name in names:
        yield store.put("ns", name, {"name": name})
    # "team/..." sorts before "user...".
    page = yield store.list("ns", offset=7, limit=3)
    assert page == [(n, {"name": n}) for n in ["user05", "user06", "user07"]]
    assert (yield store.list("ns", offset=31)) == [("user29", {"name": "user29"})]
    assert (yield store.list("ns", limit=0)) == []
    # Go path.Match: '*' stops at '/', offset counts matching keys only.
    assert [k for k, _ in (yield store.list("ns", pattern="user1*", offset=8))] == ["user18", "user19"]
    assert [k for k, _ in (yield store.list("ns", pattern="*"))] == names[:30]
    assert [k for k, _ in (yield store.list("ns", pattern="team/*", limit=1))] == ["team/a"]
    assert (yield store.list("ns", pattern="[")) == []  # malformed: matches nothing
    assert [k for k, _ in (yield store.list("ns", pattern=lambda k: k.endswith("9")))] == [
        "user09", "user19", "user29"]
    assert (yield store.list("empty")) == []
    yield store.close()


@pytest_twisted.inlineCallbacks
def test_write_failure_that_cannot_be_cut_back_refuses_later_writes(path, monkeypatch):
    # Every fsync fails, so the failed batch cannot even be cut off the
    # journal: the store gives up until a restart (a recoverable full disk
    # is in test_write_failures.py).
    store = open_store(path)
    yield store.put("ns", "kept", {"v": 1})
    fsync = CountingFsync(os.fsync)
    fsync.fail_with = OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(os, "fsync", fsync)

    with capturedLogs() as events:
        first = store.put("ns", "lost", {"v": 2})
        queued = store.put("ns", "queued", {"v": 3})
        with pytest.raises(StoreWriteError, match="No space left"):
            yield first
        with pytest.raises(StoreWriteError):
            yield queued
        assert store.get_now("ns", "lost") is None
        with pytest.raises(StoreWriteError):
            yield store.put("ns", "later", {"v": 4})

    monkeypatch.setattr(os, "fsync", fsync.real)
    assert any(e.get("log_level") == LogLevel.critical and e.get("path") == path for e in events)
    with pytest.raises(StoreWriteError):
        yield store.put("ns", "later", {"v": 4})
    with pytest.raises(StoreWriteError):
        yield store.create("ns", "later", {"v": 4})
    yield store.close()

    store = open_store(path)
    assert store.get_now("ns", "kept") == {"v": 1}
    assert store.get_now("ns", "later") is None
    yield store.close()


@pytest_twisted.inlineCallbacks
def test_stored_values_cannot_be_changed_behind_the_stores_back(path):
    store = open_store(path)
    value = {"privileges": ["read"], "pair": (1, 2)}
    yield store.put("ns", "k", value)
    value["privileges"].append("write")
    got = store.get_now("ns", "k")
    assert got == {"privileges": ["read"], "pair": [1, 2]}  # as it will load after a restart
    got["privileges"].append("delete")
    assert (yield store.get("ns", "k")) == {"privileges": ["read"], "pair": [1, 2]}
    listed = yield store.list("ns")
    listed[0][1]["privileges"].clear()
    assert store.get_now("ns", "k")["privileges"] == ["read"]
    yield store.close()


def test_values_that_are_not_json_objects_are_rejected_at_once(path):
    store = open_store(path)
    try:
        with pytest.raises(TypeError):
            store.put("ns", "k", ["not", "an", "object"])
        with pytest.raises(ValueError):
            store.put("ns", "k", {"nan": float("nan")})
        with pytest.raises(TypeError):
            store.put("ns", "k", {"set": {1, 2}})
        assert store.get_now("ns", "k") is None
    finally:
        store.close()


@pytest_twisted.inlineCallbacks
def test_close_waits_for_pending_writes_then_refuses_changes(path):
    store = open_store(path)
    for i in range(20):
        store.put("ns", f"k{i}", {"i": i})
    yield store.close()
    with pytest.raises(StoreClosed):
        yield store.put("ns", "late", {})
    store = open_store(path)
    assert store.count("ns") == 20
    yield store.close()


@pytest_twisted.inlineCallbacks
def test_snapshot_bytes_is_a_backup_that_opens(path, tmp_path):
    store = open_store(path)
    yield store.put("user_store", "alice", {"admin": True})
    yield store.put("task_store", "t1", {"script": "x"})
    yield store.delete("task_store", "t1")
    yield store.put("task_store", "t2", {"script": "y"})
    backup = store.snapshot_bytes()
    yield store.close()

    restored = tmp_path / "restored" / "kapacitor.journal"
    restored.parent.mkdir()
    restored.write_bytes(backup)
    copy = open_store(str(restored))
    assert copy.snapshot_bytes() == backup
    assert copy.get_now("user_store", "alice") == {"admin": True}
    assert copy.keys("task_store") == ["t2"]
    yield copy.close()


@pytest_twisted.inlineCallbacks
def test_one_put_appends_the_same_bytes_with_10_or_5000_records(path):
    store = open_store(path)
    growth = []
    for total in (10, 5000):
        existing = store.count("ns")
        yield gatherResults([store.put("ns", f"k{i:05d}", {"i": i}) for i in range(existing, total)])
        before = os.path.getsize(path)
        yield store.put("ns", "probe", {"v": 0})
        growth.append(os.path.getsize(path) - before)
    assert growth[0] == growth[1] < 200
    yield store.close()


@pytest_twisted.inlineCallbacks
def test_stopping_the_store_service_makes_pending_writes_durable(path):
    store = open_store(path)
    service = StoreService(store)
    service.startService()
    store.put("ns", "a", {"v": 1})
    yield service.stopService()
    with pytest.raises(StoreClosed):
        yield store.put("ns", "b", {"v": 2})
    store = open_store(path)
    assert store.keys("ns") == ["a"]
    yield store.close()
