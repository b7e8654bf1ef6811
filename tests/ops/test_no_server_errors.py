"""Bad input to ``/write``, ``/loglevel`` and ``/storage`` is the client's
fault: whatever the body, query or path, the answer is never a 5xx."""

from __future__ import annotations

import gzip
import tempfile
from pathlib import Path
from urllib.parse import quote

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.http.harness import V1
from tests.ops.support import ADMIN, secured

FUZZ = settings(max_examples=150, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])

LINE_BITS = st.sampled_from([
    b"cpu", b",", b"=", b" ", b"\\", b'"', b"\n", b"1", b"1i", b"1u", b"-", b".", b"e",
    b"t", b"host", b"v", b"\x00", b"\t", b"\xff", b"\xc3\xa9", b"#", b"9223372036854775807",
])
BODIES = st.one_of(st.binary(max_size=200), st.lists(LINE_BITS, max_size=40).map(b"".join))
QUERY_VALUES = st.one_of(st.text(max_size=12), st.sampled_from(["", "n", "u", "ms", "s", "h"]))


def fresh():
    h = secured(Path(tempfile.mkdtemp(prefix="ops-fuzz-")), max_body_size=2048)
    h.add_user("sub", permissions=["write_points"])
    return h


def test_write_never_answers_5xx():
    h = fresh()

    @FUZZ
    @given(body=BODIES, db=QUERY_VALUES, rp=QUERY_VALUES, precision=QUERY_VALUES,
           gzipped=st.sampled_from([None, "whole", "truncated"]), admin=st.booleans())
    def check(body, db, rp, precision, gzipped, admin):
        headers = None
        if gzipped:
            body = gzip.compress(body)
            if gzipped == "truncated":
                body = body[: len(body) // 2]
            headers = {"Content-Encoding": "gzip"}
        query = f"db={quote(db)}&rp={quote(rp)}&precision={quote(precision)}"
        auth = ADMIN if admin else ("sub", "pw")
        r = h.post(V1 + "/write?" + query, body, auth=auth, headers=headers)
        assert r.code < 500, (r.code, r.body)
        assert r.code in (204, 400, 413), (r.code, r.body)

    check()


def test_loglevel_never_answers_5xx():
    h = fresh()

    @FUZZ
    @given(body=st.one_of(st.binary(max_size=60),
                          st.builds(lambda v: b'{"level": ' + v + b"}",
                                    st.sampled_from([b"1", b"null", b"[]", b"{}", b'"\\ud800"',
                                                     b'"debug', b'"info"', b"true"]))))
    def check(body):
        r = h.post(V1 + "/loglevel", body, auth=ADMIN)
        assert r.code in (204, 400), (r.code, r.body)

    check()


def test_storage_actions_never_answer_5xx():
    h = fresh()

    @FUZZ
    @given(name=st.text(max_size=12), body=st.binary(max_size=60))
    def check(name, body):
        r = h.post(V1 + "/storage/stores/" + quote(name, safe=""), body, auth=ADMIN)
        # 301: names that clean to another path (`a/..`) are redirected first.
        assert r.code in (204, 301, 400, 404), (r.code, r.body)

    check()
