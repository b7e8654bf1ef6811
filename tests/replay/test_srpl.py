"""The ``.srpl`` stream recording format: gzip'd db/rp/line-protocol records."""

from __future__ import annotations

import gzip
import os

import pytest

from kapacitord_tw.ingest.points import Unsigned
from kapacitord_tw.replay.srpl import (
    RecordingFormatError, StreamReader, StreamWriter, encode_point,
)

DATA = os.path.join(os.path.dirname(__file__), "testdata")


def test_the_originals_plain_text_test_data_reads():
    # integrations/testdata/TestStream_Alert.srpl, as upstream ships it (not gzip'd).
    reader = StreamReader(os.path.join(DATA, "TestStream_Alert.srpl"), 0)
    points = reader.read(1000)
    reader.close()
    assert len(points) == 27
    first = points[0]
    assert (first.name, first.database, first.retention_policy, first.time) == (
        "cpu", "dbname", "rpname", 1)
    assert first.tags == {"type": "idle", "host": "serverA"}
    assert first.fields == {"value": 97.1}
    assert points[2].name == "disk" and points[2].fields == {"value": 39.0}
    assert reader.done


def test_written_points_read_back_equal_with_awkward_names_and_values(tmp_path):
    path = str(tmp_path / "r.srpl")
    writer = StreamWriter(path)
    tags = (("host name", "a,b=c"), ("empty", ""))
    fields = (("f", 1.5), ("i", -3), ("u", Unsigned(7)), ("b", True),
              ("s", 'say "hi" \\ there'), ("big", 1e21), ("whole", 2.0))
    records = encode_point("my db", "rp 1", "cpu load,x", tags, fields, 123456789)
    writer.write(records * 3, 3)
    assert not os.path.exists(path)  # only the finished file is put in place
    size = writer.finish()
    assert size == os.path.getsize(path)
    assert gzip.open(path).read() == records * 3
    reader = StreamReader(path, 0)
    points = reader.read(2) + reader.read(2)
    reader.close()
    assert len(points) == 3
    p = points[0]
    assert (p.name, p.database, p.retention_policy, p.time) == (
        "cpu load,x", "my db", "rp 1", 123456789)
    assert p.tags == {"host name": "a,b=c"}
    assert p.fields == {"f": 1.5, "i": -3, "u": 7, "b": True, "s": 'say "hi" \\ there',
                        "big": 1e21, "whole": 2.0}


def test_a_truncated_record_is_a_format_error(tmp_path):
    path = tmp_path / "bad.srpl"
    path.write_bytes(gzip.compress(b"db\nrp\ncpu value=1 1\ndb\nrp\n"))
    reader = StreamReader(str(path), 0)
    with pytest.raises(RecordingFormatError, match="expected another line"):
        reader.read(10)
    reader.close()


def test_aborting_a_writer_leaves_nothing(tmp_path):
    writer = StreamWriter(str(tmp_path / "r.srpl"))
    writer.write(encode_point("db", "rp", "m", (), (("v", 1.0),), 1), 1)
    writer.abort()
    assert os.listdir(tmp_path) == []
