"""Reading journals back: which damage a crash explains (cut off) and which it cannot (refused)."""

from __future__ import annotations

import pytest

from kapacitord_tw.storage import StoreCorrupted
from kapacitord_tw.storage import records
from kapacitord_tw.storage.records import HEADER_LINE, commit_line, delete_line, frame, load, put_line

PATH = "/var/lib/kapacitor/kapacitor.journal"


def journal(*lines: bytes, tail: bytes = b"") -> bytes:
    return b"".join(line + b"\n" for line in (HEADER_LINE, *lines)) + tail


def batch(*lines: bytes) -> tuple[bytes, ...]:
    return (*lines, commit_line(len(lines)))


A = put_line("ns", "a", {"v": 1})
B = put_line("ns", "b", {"v": 2})
C = put_line("ns", "c", {"v": 3})


def keys(loaded) -> list[str]:
    ns = loaded.namespaces.get("ns")
    return ns.keys() if ns else []


def damaged(line: bytes) -> bytes:
    return line[:-3] + b"X" + line[-2:]


def test_clean_journal_loads_every_batch_in_order():
    loaded = load(journal(*batch(A, B), *batch(delete_line("ns", "a"), C)), PATH)
    assert keys(loaded) == ["b", "c"]
    assert loaded.torn is None


def test_header_only_journal_is_an_empty_store():
    loaded = load(journal(), PATH)
    assert loaded.namespaces == {} and loaded.torn is None


def test_batch_without_commit_at_the_end_is_torn():
    data = journal(*batch(A), B, C)
    loaded = load(data, PATH)
    assert keys(loaded) == ["a"]
    assert loaded.torn.line == 4
    assert loaded.committed_end == len(journal(*batch(A)))


def test_zeroed_blocks_in_the_last_batch_are_torn():
    # What some file systems leave after power loss: the size grew, the data did not arrive.
    data = journal(*batch(A), tail=b"\0" * 300 + B[40:] + b"\n" + commit_line(2) + b"\n")
    loaded = load(data, PATH)
    assert keys(loaded) == ["a"]
    assert loaded.torn is not None and loaded.torn.line == 4


def test_last_batch_with_a_damaged_record_is_dropped_whole():
    loaded = load(journal(*batch(A), damaged(B), C, commit_line(2)), PATH)
    assert keys(loaded) == ["a"]
    assert loaded.torn.line == 4 and loaded.torn.reason == "checksum mismatch"


def test_damaged_commit_followed_by_an_intact_batch_raises():
    first = batch(A, B)
    with pytest.raises(StoreCorrupted) as info:
        load(journal(first[0], first[1], damaged(first[2]), *batch(C)), PATH)
    assert info.value.line == 4 and info.value.path == PATH


def test_records_without_commit_followed_by_an_intact_batch_raise():
    with pytest.raises(StoreCorrupted) as info:
        load(journal(A, *batch(B)), PATH)
    assert info.value.line == 2


def test_lost_line_inside_an_acknowledged_batch_raises():
    # batch(A, B, C) with B's line gone, then another intact batch.
    with pytest.raises(StoreCorrupted) as info:
        load(journal(A, C, commit_line(3), *batch(B)), PATH)
    assert info.value.line == 4  # the commit that no longer matches its batch
    assert "commit of 3 records" in str(info.value)


def test_checksummed_line_that_is_not_json_raises():
    with pytest.raises(StoreCorrupted) as info:
        load(journal(*batch(A), frame(b"{not json")), PATH)
    assert info.value.line == 4


def test_checksummed_unknown_record_raises():
    with pytest.raises(StoreCorrupted) as info:
        load(journal(*batch(A), *batch(frame(b'["put","ns","k",[1]]'))), PATH)
    assert info.value.line == 4


def test_live_bytes_match_a_compacted_journal():
    loaded = load(journal(*batch(A, B), *batch(put_line("ns", "a", {"v": 10}), delete_line("ns", "b"))),
                  PATH)
    chunks = [list(ns.entries.values()) for ns in loaded.namespaces.values()]
    snapshot = records.snapshot_bytes(chunks)
    header_and_commit = len(HEADER_LINE) + 1 + len(commit_line(1)) + 1
    assert loaded.live_bytes == len(snapshot) - header_and_commit
