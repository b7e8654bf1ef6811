"""Request bodies are held as their chunks, not spooled to a temporary file."""

from __future__ import annotations

import io

import pytest

from kapacitord_tw.http.body import BodyChunks
from tests.http.harness import V1
from tests.ingest.support import write_workers  # noqa: F401
from tests.ops.support import ADMIN, secured


def test_a_body_reads_back_as_it_was_written():
    body = BodyChunks()
    for chunk in (b"abc", memoryview(b"def"), b"", b"g"):
        body.write(chunk)
    assert body.tell() == 7
    assert body.seek(0, 0) == 0
    assert body.read(2) == b"ab" and body.read() == b"cdefg" and body.read() == b""
    body.seek(-3, io.SEEK_END)
    assert body.read() == b"efg"
    body.seek(0)
    whole = body.read()
    assert whole == b"abcdefg" and body.getvalue() is whole  # joined once
    with pytest.raises(io.UnsupportedOperation):
        body.seek(1)
        body.write(b"x")  # writing happens before any reading
    body.close()
    assert body.closed and body.read() == b""


def test_a_large_write_is_never_spooled_to_disk(tmp_path, monkeypatch, write_workers):
    import tempfile
    monkeypatch.setattr(tempfile, "TemporaryFile", lambda *a, **k: pytest.fail("spooled"))
    h = secured(tmp_path)
    write_workers.serve(h)
    body = b"".join(b"cpu,host=h%d v=%d 1\n" % (i, i) for i in range(20_000))  # ~450 kB
    assert len(body) > 100_000
    response = h.finish(h.start("POST", f"{V1}/write?db=db&rp=rp", body, auth=ADMIN))
    assert response.code == 204


@pytest.mark.parametrize("content_type", [
    "multipart/form-data; boundary=xyz",
    "application/x-www-form-urlencoded",
    "text/plain; charset=utf-8",
])
def test_a_write_is_line_protocol_whatever_its_content_type_says(tmp_path, content_type):
    """Kapacitor reads a POST's query, never a form body: Twisted's form
    parsing would have refused a multipart-typed write with a bare 400
    (and cost each write an e-mail header parse)."""
    from tests.ops.support import record_points
    h = secured(tmp_path)
    batches = record_points(h)
    reply = h.post(f"{V1}/write?db=db&rp=rp", b"cpu,host=a value=1 10\n",
                   headers={"Content-Type": content_type}, auth=ADMIN)
    assert reply.code == 204, reply.body
    assert [(p.measurement, p.fields, p.time) for batch in batches for p in batch] == [
        ("cpu", (("value", 1.0),), 10)]
