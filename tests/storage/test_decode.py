"""records.decode: json.loads's results and errors, by a faster path for journal lines."""

from __future__ import annotations

import json

import pytest

from kapacitord_tw.storage import records
from kapacitord_tw.storage.records import decode, put_line, value_of

SAME_AS_JSON_LOADS = [
    b'["put","users","admin",{"name":"admin","admin":true,"hash":"$2b$04$x","privileges":{}}]',
    b'["del","ns","k"]',
    b'["commit",3]',
    b'{"a":[1,2.5,-3e2,null,false,"\\u00e9\\ud83d\\ude00"]}',
    b'{"nan":NaN,"inf":-Infinity}',
    '{"caf\u00e9":"\u00fc"}'.encode("utf-8"),  # raw UTF-8: json.loads decodes it
    b' {"leading":"space"}',
    b'{"trailing":"space"} \n',
    b"\xef\xbb\xbf[1]",  # UTF-8 BOM: json.loads accepts it from bytes
    b"123",
    b'"str"',
]


@pytest.mark.parametrize("body", SAME_AS_JSON_LOADS)
def test_decode_gives_what_json_loads_gives(body):
    expected = json.loads(body)
    got = decode(body)
    assert got == expected or (got != got and expected != expected)
    assert type(got) is type(expected)


BROKEN = [b"", b"{not json", b'{"a":1} x', b'{"a":1}{"b":2}', b"[1,", b'"\x01"', b"\xff\xfe{",
          b"nul", b'{"a":tru}']


@pytest.mark.parametrize("body", BROKEN)
def test_decode_raises_json_loads_own_error(body):
    with pytest.raises(ValueError) as expected:
        json.loads(body)
    with pytest.raises(ValueError) as got:
        decode(body)
    assert type(got.value) is type(expected.value)
    assert str(got.value) == str(expected.value)


def test_value_of_is_a_fresh_copy_each_time():
    line = put_line("ns", "k", {"list": [1], "nested": {"x": "y"}})
    first = value_of(line)
    first["list"].append(2)
    assert value_of(line) == {"list": [1], "nested": {"x": "y"}}


def test_load_still_refuses_a_checksummed_line_with_invalid_json_in_the_value():
    # The checksum matches, so only a bug or a hand edit could have written it.
    bad = records.frame(b'["put","ns","k",{"v":}]')
    data = b"".join(line + b"\n" for line in (records.HEADER_LINE, bad, records.commit_line(1)))
    with pytest.raises(records.StoreCorrupted) as info:
        records.load(data, "/x/kapacitor.journal")
    assert info.value.line == 2
    assert "invalid JSON in a checksummed record" in str(info.value)
