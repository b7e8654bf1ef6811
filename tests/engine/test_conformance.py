"""
The stream engine against Kapacitor's own integration cases, through the HTTP API.

One test per case of ``cases.json`` (see ``conformance.py`` for how a case
runs and compares).  Cases named in ``pending.txt`` are expected to fail
(strict xfail: one that starts passing fails the run until it is removed --
``python -m tests.engine.update_pending`` rewrites the file).
"""

import time
from pathlib import Path

import pytest

from tests.engine.conformance import (
    TESTDATA,
    check_case,
    compare,
    fast_tmpdir,
    load_cases,
    load_pending,
    replay,
    write_batches,
)

CASES = load_cases()
PENDING = load_pending()


def _param(case):
    marks = []
    if case["id"] in PENDING:
        reason = PENDING[case["id"]] or "pending"
        marks.append(pytest.mark.xfail(strict=True, reason=reason))
    return pytest.param(case, id=case["id"], marks=marks)


@pytest.fixture
def utc(monkeypatch):
    """Times print in the local zone, as Go's do: pin it to UTC for exact bodies."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.parametrize("case", [_param(c) for c in CASES])
def test_stream_case(case, utc):
    try:
        with fast_tmpdir() as tmp:
            check_case(Path(tmp), case)
    except AssertionError as e:
        # The message says what differs; a traceback through the harness
        # would not, and rendering one per pending case slows the run.
        pytest.fail(str(e), pytrace=False)


# ------------------------------------------------ the suite's own machinery


def test_every_case_has_its_replay_file_and_httpout():
    ids = [c["id"] for c in CASES]
    assert len(ids) == len(set(ids)) >= 100
    for case in CASES:
        assert (TESTDATA / case["srpl"]).is_file(), case["id"]
        assert f"|httpOut('{case['httpOut']}')" in case["script"], case["id"]


def test_pending_names_only_known_cases():
    assert set(PENDING) <= {c["id"] for c in CASES}


def test_replay_shifts_the_first_point_to_1971_and_keeps_file_order():
    srpl = (
        "dbname\nrpname\ncpu,host=a value=1 0000000005\n"
        "dbname\nrpname\ncpu,host=b value=2   0000000005\n"
        "other\nrp\nmem value=3i 0000000007\n"
        "dbname\nrpname\ncpu value=4 0000000020\n"
    )
    assert list(replay(srpl, 10)) == [
        ("dbname", "rpname", "cpu,host=a value=1 31536000"),
        ("dbname", "rpname", "cpu,host=b value=2 31536000"),
        ("other", "rp", "mem value=3i 31536002"),
        # 15 s after the first point: beyond the 10 s the clock is moved to.
    ]


def test_write_batches_split_on_dbrp_changes_and_keep_order():
    points = [("d", "r", "a 1"), ("d", "r", "b 2"), ("e", "r", "c 3"), ("d", "r", "d 4")]
    assert list(write_batches(points)) == [
        ("d", "r", b"a 1\nb 2"),
        ("e", "r", b"c 3"),
        ("d", "r", b"d 4"),
    ]


def test_compare_follows_go_json_decoding():
    exp = {"series": [{"name": "cpu", "columns": ["time", "v"],
                       "values": [["1971-01-01T00:00:10Z", 1]]}]}
    same = {"series": [{"name": "cpu", "tags": {}, "columns": ["time", "v"],
                        "values": [["1971-01-01T00:00:10Z", 1.0]]}]}
    assert compare(exp, same, False) is None
    off_by_ulp = {"series": [{"name": "cpu", "columns": ["time", "v"],
                              "values": [["1971-01-01T00:00:10Z", 1.0000000000000002]]}]}
    assert compare(exp, off_by_ulp, False) == "series 0: values differ"
    boolean = {"series": [{"name": "cpu", "columns": ["time", "v"],
                           "values": [["1971-01-01T00:00:10Z", True]]}]}
    assert compare(exp, boolean, False) == "series 0: values differ"
    assert compare({"series": None}, {"series": []}, False) is None
    assert compare({"series": None}, same, False) == (
        "unexpected number of series: exp 0 got 1")


def test_compare_ignoring_order_matches_series_by_name_and_tags():
    a = {"name": "cpu", "tags": {"host": "a"}, "columns": ["time"], "values": [["t1"]]}
    b = {"name": "cpu", "tags": {"host": "b"}, "columns": ["time"], "values": [["t2"]]}
    assert compare({"series": [a, b]}, {"series": [b, a]}, True) is None
    assert compare({"series": [a, b]}, {"series": [b, a]}, False) is not None
    assert compare({"series": [a, a]}, {"series": [a, b]}, True) == (
        "could not find matching series: cpu {'host': 'a'}")
