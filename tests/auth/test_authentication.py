"""
Credentials and their outcomes (reference §2.2–§2.4, §2.9) with fixes #2
(no bearer tokens without a shared secret), #3 (no noauth fall-through) and
#13 (password login of a hash-less user is a 401, not a crash).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import jwt
import pytest

from tests.http.harness import V1, Harness, basic, err_body

SECRET = "s3cr3t-shared-" * 5
PING = V1 + "/ping"
ROOT = ("root", "rootpw")


@pytest.fixture
def h(tmp_path):
    harness = Harness(tmp_path, secret=SECRET)
    harness.add_user("root", "rootpw", admin=True)
    harness.add_user("bob", "bobpw", permissions=["api"])
    return harness


def assert_401(reply, message):
    assert reply.code == 401, reply.body
    assert reply.body == err_body(message, pretty=False)


def token(claims, secret=SECRET, algorithm="HS512"):
    return jwt.encode(claims, secret, algorithm=algorithm)


def bearer(text):
    return {"Authorization": "Bearer " + text}


def future():
    return int(time.time()) + 3600


# ------------------------------------------------------------- parsing

def test_basic_auth_logs_in(h):
    assert h.get(PING, auth=ROOT).code == 204


def test_query_u_and_p_log_in(h):
    assert h.get(PING + "?u=root&p=rootpw").code == 204


def test_basic_wins_over_query_credentials(h):
    r = h.get(PING + "?u=root&p=rootpw", auth=("root", "wrong"))
    assert_401(r, "authorization failed")
    assert h.get(PING + "?u=root&p=wrong", auth=ROOT).code == 204


def test_unknown_authorization_scheme_is_ignored(h):
    assert h.get(PING + "?u=root&p=rootpw", headers={"Authorization": "Digest abc"}).code == 204
    assert_401(h.get(PING, headers={"Authorization": "Digest abc"}),
               "unable to parse authentication credentials")


def test_basic_without_colon_is_ignored(h):
    header = "Basic " + base64.b64encode(b"rootrootpw").decode()
    assert h.get(PING + "?u=root&p=rootpw", headers={"Authorization": header}).code == 204


def test_ignored_basic_header_is_never_taken_for_a_login(h):
    # "Basic cm9vdA==" is "root" without a colon: ignored, so u/p log in.
    junk = {"Authorization": "Basic " + base64.b64encode(b"root").decode()}
    assert h.get(PING + "?u=root&p=rootpw", headers=junk).code == 204
    assert_401(h.get(V1 + "/users", headers=junk), "unable to parse authentication credentials")


def test_repeated_basic_login_sees_privilege_changes_at_once(h):
    bob = ("bob", "bobpw")
    assert h.get(PING, auth=bob).code == 204
    assert h.patch(V1 + "/users/bob", {"permissions": []}, auth=ROOT).code == 200
    assert h.get(PING, auth=bob).code == 403


def test_basic_scheme_is_case_insensitive(h):
    header = basic(*ROOT).replace("Basic", "bAsIc")
    assert h.get(PING, headers={"Authorization": header}).code == 204


def test_empty_username_is_username_required(h):
    assert_401(h.get(PING, headers={"Authorization": basic("", "secret")}), "username required")


def test_no_credentials(h):
    assert_401(h.get(PING), "unable to parse authentication credentials")


def test_query_needs_both_u_and_p(h):
    assert_401(h.get(PING + "?u=root"), "unable to parse authentication credentials")
    assert_401(h.get(PING + "?u=root&p="), "unable to parse authentication credentials")


def test_wrong_password_gets_401_authorization_failed(h):
    assert_401(h.get(PING, auth=("root", "nope")), "authorization failed")


def test_unknown_user_gets_401_authorization_failed(h):
    assert_401(h.get(PING, auth=("ghost", "nope")), "authorization failed")


def test_username_with_colon_logs_in_through_query(h):
    h.add_user("a:b", "pw", admin=True)
    assert h.get(PING + "?u=a%3Ab&p=pw").code == 204


def test_auth_fail_counts_exactly_password_failures(h):
    stats = h.app.stats
    h.get(PING)                                                  # no credentials: 1
    h.get(PING, headers={"Authorization": basic("", "x")})       # username required: 2
    h.get(PING, auth=("root", "wrong"))                          # wrong password: 3
    h.get(PING, auth=("ghost", "x"))                             # unknown user: 4
    h.get(PING + "?u=root&p=wrong")                              # query, wrong: 5
    assert stats.get("auth_fail") == 5
    h.get(PING, auth=ROOT)                                       # success
    h.get(PING, headers=bearer("a.b"))                           # JWT failure: not counted
    h.get(PING, auth=("~subscriber", "unknown"))                 # subscription: not counted
    h.get(V1 + "/users", auth=("bob", "bobpw"))                  # 403: not counted
    assert stats.get("auth_fail") == 5


def test_password_over_72_bytes_at_login_is_401(h):
    assert_401(h.get(PING, auth=("root", "x" * 73)), "authorization failed")
    assert_401(h.get(PING, auth=("root", "rootpw" + "x" * 80)), "authorization failed")


# ----------------------------------------------------------------- JWT

@pytest.mark.parametrize("algorithm", ["HS512", "HS256", "HS384"])
def test_valid_jwt_logs_in(h, algorithm):
    t = token({"username": "root", "exp": future()}, algorithm=algorithm)
    assert h.get(PING, headers=bearer(t)).code == 204


def test_jwt_user_gets_its_own_privileges(h):
    t = token({"username": "bob", "exp": future()})
    r = h.get(V1 + "/users", headers=bearer(t))
    assert r.code == 403
    assert r.error.startswith("user bob ")


def test_jwt_wrong_secret(h):
    t = token({"username": "root", "exp": future()}, secret="other" * 13)
    assert_401(h.get(PING, headers=bearer(t)), "invalid token: signature is invalid")


def test_jwt_expired(h):
    t = token({"username": "root", "exp": int(time.time()) - 10})
    assert_401(h.get(PING, headers=bearer(t)), "invalid token: Token is expired")


def test_jwt_expiry_follows_the_clock(h):
    t = token({"username": "root", "exp": int(time.time()) + 60})
    assert h.get(PING, headers=bearer(t)).code == 204
    h.clock.advance(120)
    assert_401(h.get(PING, headers=bearer(t)), "invalid token: Token is expired")


@pytest.mark.parametrize("exp", ["soon", -5, True])
def test_jwt_non_numeric_or_negative_exp_is_expired(h, exp):
    t = token({"username": "root", "exp": exp})
    assert_401(h.get(PING, headers=bearer(t)), "invalid token: Token is expired")


def test_jwt_issued_in_the_future(h):
    t = token({"username": "root", "exp": future(), "iat": future()})
    assert_401(h.get(PING, headers=bearer(t)), "invalid token: Token used before issued")


def test_jwt_not_valid_yet_is_reported_last(h):
    t = token({"username": "root", "exp": 1, "nbf": future()})
    assert_401(h.get(PING, headers=bearer(t)), "invalid token: Token is not valid yet")


def test_jwt_bad_base64_segment(h):
    t = "ab$c." + _segment({"username": "root"}) + ".sig"
    assert_401(h.get(PING, headers=bearer(t)), "invalid token: illegal base64 data at input byte 2")


@pytest.mark.parametrize("claims", [{"username": "root"}, {"username": "root", "exp": 0}])
def test_jwt_without_expiration(h, claims):
    assert_401(h.get(PING, headers=bearer(token(claims))), "token expiration required")


@pytest.mark.parametrize("username", [None, 42, ["root"]])
def test_jwt_username_must_be_a_string(h, username):
    claims = {"exp": future()}
    if username is not None:
        claims["username"] = username
    assert_401(h.get(PING, headers=bearer(token(claims))), "username in token must be a string")


def test_jwt_empty_username(h):
    t = token({"username": "", "exp": future()})
    assert_401(h.get(PING, headers=bearer(t)), "token must contain a username")


def _segment(obj) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()


def _hs256_by_hand(claims, key: bytes) -> str:
    # PyJWT refuses empty keys, so sign by hand (the forgery of §10 #2).
    signing_input = _segment({"alg": "HS256", "typ": "JWT"}) + "." + _segment(claims)
    mac = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def test_hand_signed_token_is_accepted_with_its_key(h):
    t = _hs256_by_hand({"username": "root", "exp": future()}, SECRET.encode())
    assert h.get(PING, headers=bearer(t)).code == 204


def test_jwt_rs256_header_is_refused(h):
    t = ".".join([_segment({"alg": "RS256", "typ": "JWT"}),
                  _segment({"username": "root", "exp": future()}), "c2ln"])
    assert_401(h.get(PING, headers=bearer(t)), "invalid token: unexpected signing method: RS256")


def test_jwt_alg_none_is_refused(h):
    t = ".".join([_segment({"alg": "none"}), _segment({"username": "root", "exp": future()}), ""])
    assert_401(h.get(PING, headers=bearer(t)), "invalid token: unexpected signing method: none")


def test_jwt_two_segments(h):
    assert_401(h.get(PING, headers=bearer("abc.def")),
               "invalid token: token contains an invalid number of segments")


def test_bare_bearer_scheme_without_token_is_ignored(h):
    # Header values lose trailing blanks, so "Bearer " arrives as "Bearer".
    assert_401(h.get(PING, headers={"Authorization": "Bearer "}),
               "unable to parse authentication credentials")


def test_jwt_unknown_user(h):
    t = token({"username": "x", "exp": future()})
    assert_401(h.get(PING, headers=bearer(t)), 'retrieving user "x" from store: no user exists')


def test_bearer_is_case_sensitive(h):
    t = token({"username": "root", "exp": future()})
    r = h.get(PING, headers={"Authorization": "bearer " + t})
    assert_401(r, "unable to parse authentication credentials")


def test_jwt_refused_when_shared_secret_is_empty(tmp_path):
    h = Harness(tmp_path, secret="")
    h.add_user("root", "rootpw", admin=True)
    forged = _hs256_by_hand({"username": "root", "exp": future()}, b"")
    r = h.get(PING, headers=bearer(forged))
    assert r.code == 401
    assert "bearer tokens are not configured" in r.error
    assert "shared-secret" in r.error


# ------------------------------------------------------ subscriptions

def test_subscription_token_with_invalid_characters(h):
    r = h.get(PING, auth=("~subscriber", "bad token!"))
    assert_401(r, 'token must be a valid username: "bad token!"')


def test_unknown_subscription_token(h):
    assert_401(h.get(PING, auth=("~subscriber", "abc123")), "invalid subscription token")


def test_valid_subscription_token_logs_in(h):
    h.put_record("_sub:abc123", privileges={"/api/ping": 16, "/api/write": 4})
    assert h.get(PING, auth=("~subscriber", "abc123")).code == 204


def test_subscriber_is_not_special_in_query_parameters(h):
    h.put_record("_sub:abc123", privileges={"/api/ping": 16})
    assert_401(h.get(PING + "?u=~subscriber&p=abc123"), "authorization failed")


def test_password_login_as_hashless_subscription_user_is_401(h):
    h.put_record("_sub:abc123", privileges={"/api/ping": 16})
    assert_401(h.get(PING + "?u=_sub:abc123&p=x"), "authorization failed")
    assert_401(h.get(PING + "?u=_sub:abc123&p=x"), "authorization failed")


# ------------------------------------------- http auth on, users off

@pytest.fixture
def noauth(tmp_path):
    return Harness(tmp_path, auth=False, secret=SECRET)


def test_noauth_mode_refuses_passwords(noauth):
    assert_401(noauth.get(PING, auth=("anyone", "anything")), "authorization failed")
    assert_401(noauth.get(PING + "?u=anyone&p=x"), "authorization failed")


def test_noauth_mode_refuses_subscription_tokens(noauth):
    assert_401(noauth.get(PING, auth=("~subscriber", "abc")), "authorization failed")


def test_noauth_mode_jwt_user_is_admin(noauth):
    t = token({"username": "someone", "exp": future()})
    assert noauth.get(PING, headers=bearer(t)).code == 204
    assert noauth.get(V1 + "/no/where", headers=bearer(t)).code == 404


def test_noauth_mode_jwt_still_checked(noauth):
    t = token({"username": "someone", "exp": future()}, secret="wrong" * 13)
    assert_401(noauth.get(PING, headers=bearer(t)), "invalid token: signature is invalid")


def test_noauth_mode_has_no_users_api_but_authenticates_first(noauth):
    assert_401(noauth.get(V1 + "/users"), "unable to parse authentication credentials")
    t = token({"username": "someone", "exp": future()})
    r = noauth.get(V1 + "/users", headers=bearer(t))
    assert (r.code, r.body) == (404, err_body("Not Found", pretty=True))


def test_auth_disabled_runs_everything_as_admin(tmp_path):
    h = Harness(tmp_path, http_auth=False)
    assert h.get(PING).code == 204
    assert h.get(PING, auth=("wrong", "wrong")).code == 204
    assert h.post(V1 + "/users", {"name": "admin", "password": "pw", "type": "admin"}).code == 200
