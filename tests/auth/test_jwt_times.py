"""Issue #10 item 14: a JWT ``exp`` of NaN, Infinity or 1e400 never expired.

Python's JSON reader takes ``NaN``/``Infinity`` and reads ``1e400`` as
infinity; Go's refuses all three, and its int64 seconds cannot hold times
beyond 2^63 either.  Such tokens are refused with Kapacitor's 401 shape.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

import pytest

from tests.auth.test_authentication import PING, SECRET, assert_401, bearer, h  # noqa: F401


def _signed(payload: str) -> str:
    """An HS256 token over a raw JSON payload (PyJWT would not write these numbers)."""
    def segment(text: str) -> str:
        return base64.urlsafe_b64encode(text.encode()).rstrip(b"=").decode()

    signing_input = segment('{"alg":"HS256","typ":"JWT"}') + "." + segment(payload)
    mac = hmac.new(SECRET.encode(), signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def test_signed_token_with_a_normal_exp_logs_in(h):  # noqa: F811
    t = _signed('{"username":"root","exp":%d}' % (int(time.time()) + 3600))
    assert h.get(PING, headers=bearer(t)).code == 204


@pytest.mark.parametrize("exp, message", [
    ("NaN", "invalid token: invalid character 'N' looking for beginning of value"),
    ("Infinity", "invalid token: invalid character 'I' looking for beginning of value"),
    ("-Infinity", "invalid token: invalid character 'I' looking for beginning of value"),
    ("1e400", "invalid token: json: cannot unmarshal number 1e400 into Go value of type float64"),
    ("1" + "0" * 400, "invalid token: json: cannot unmarshal number 1" + "0" * 400
     + " into Go value of type float64"),
    # Finite, but no int64 time: as good as never expiring, so refused.
    ("1e300", "invalid token: Token is expired"),
    ("9223372036854775808", "invalid token: Token is expired"),
])
def test_non_finite_or_out_of_range_exp_is_refused(h, exp, message):  # noqa: F811
    t = _signed('{"username":"root","exp":%s}' % exp)
    assert_401(h.get(PING, headers=bearer(t)), message)


@pytest.mark.parametrize("claim, message", [
    ("nbf", "invalid token: Token is not valid yet"),
    ("iat", "invalid token: Token used before issued"),
])
def test_out_of_range_nbf_and_iat_are_refused(h, claim, message):  # noqa: F811
    t = _signed('{"username":"root","exp":%d,"%s":1e300}' % (int(time.time()) + 3600, claim))
    assert_401(h.get(PING, headers=bearer(t)), message)
