"""Credentials in ``-url``: Basic auth, percent-decoding, masking, 401/403 messages."""

from __future__ import annotations

import base64

import pytest

from kapacitord_tw.cli.kapacitor.endpoint import EndpointError, parse_endpoint
from tests.support.ports import free_port as _free_port

USERS = "/kapacitor/v1/users"


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(("%s:%s" % (user, password)).encode()).decode()


def test_userinfo_is_sent_as_basic_auth(kapacitor, server):
    server.reply("GET", USERS, json_body={"users": []})
    result = kapacitor("user", "list", url=server.url("admin:secret"))
    assert result.code == 0, result.err
    assert server.requests[0].headers["authorization"] == _basic("admin", "secret")


@pytest.mark.parametrize(
    "encoded, password",
    [
        ("p%40ss", "p@ss"),
        ("a%3Ab", "a:b"),
        ("sl%2Fash", "sl/ash"),
        ("%40%3A%2F%25+x", "@:/%+x"),
        ("p@ss", "p@ss"),  # Go splits at the last '@', so a raw '@' works too
    ],
)
def test_percent_encoded_password_arrives_decoded(kapacitor, server, encoded, password):
    server.reply("GET", USERS, json_body={"users": []})
    result = kapacitor("user", "list", url=server.url("admin:" + encoded))
    assert result.code == 0, result.err
    assert server.requests[0].headers["authorization"] == _basic("admin", password)


def test_percent_encoded_username_arrives_decoded(kapacitor, server):
    server.reply("GET", USERS, json_body={"users": []})
    kapacitor("user", "list", url=server.url("bob%40example.com:pw"))
    assert server.requests[0].headers["authorization"] == _basic("bob@example.com", "pw")


def test_no_userinfo_sends_no_authorization_header(kapacitor, server):
    server.reply("GET", USERS, json_body={"users": []})
    kapacitor("user", "list")
    assert "authorization" not in server.requests[0].headers


def test_user_agent_is_the_go_clients(kapacitor, server):
    server.reply("GET", USERS, json_body={"users": []})
    kapacitor("user", "list")
    assert server.requests[0].headers["user-agent"] == "KapacitorClient"


def test_password_is_masked_when_the_server_is_unreachable(kapacitor):
    url = "http://admin:s3cr%%40t@127.0.0.1:%d" % _free_port()
    result = kapacitor("list", "tasks", url=url)
    assert result.code == 3
    assert result.err.startswith('Error: Get "http://admin:***@127.0.0.1:')
    assert "connection refused" in result.err
    assert "s3cr" not in result.err + result.out


def test_password_is_masked_in_an_unparsable_url(kapacitor):
    result = kapacitor("list", "tasks", url="http://admin:hunter2@localhost:90x2")
    assert result.code == 4
    assert result.err == (
        'parse "http://admin:***@localhost:90x2": invalid port ":90x2" after host\n'
    )


def test_bad_escape_in_password_is_reported_without_echoing_it(kapacitor):
    result = kapacitor("list", "tasks", url="http://admin:hun%zzter@localhost:9092")
    assert result.code == 4
    assert "hun" not in result.err and "%zz" not in result.err
    assert result.err.startswith('parse "http://admin:***@localhost:9092": invalid URL escape')


def test_wrong_password_says_to_check_the_credentials(kapacitor, server):
    server.error("GET", USERS, 401, "authorization failed", compact=True)
    result = kapacitor("user", "list", url=server.url("admin:wrong"))
    assert result.code == 3
    assert result.err == "Error: authorization failed: check the credentials in -url\n"
    assert result.out == ""


def test_missing_credentials_explain_how_to_pass_them(kapacitor, server):
    server.error("GET", "/kapacitor/v1/tasks", 401, "unable to parse authentication credentials", compact=True)
    result = kapacitor("list", "tasks")
    assert result.code == 3
    assert result.err == (
        "Error: unable to parse authentication credentials: the server requires "
        "authentication, give the credentials in -url as "
        "http://<username>:<password>@<host>:<port>\n"
    )


def test_forbidden_shows_the_servers_message(kapacitor, server):
    message = 'user bob does not have "write" privilege for API endpoint "/kapacitor/v1/users"'
    server.error("POST", USERS, 403, message, compact=True)
    result = kapacitor("user", "create", "eve", url=server.url("bob:pw"), stdin="pw\n")
    assert result.code == 3
    assert result.err == "Error: %s\n" % message


def test_endpoint_repr_never_contains_the_password():
    endpoint = parse_endpoint("https://admin:topsecret@example.com:9092")
    assert "topsecret" not in repr(endpoint)
    assert endpoint.display("/x") == "https://admin:***@example.com:9092/x"
    assert endpoint.url("/x") == "https://example.com:9092/x"


def test_url_without_scheme_is_refused_like_the_original():
    with pytest.raises(EndpointError) as info:
        parse_endpoint("localhost:9092")
    assert str(info.value) == (
        "Unsupported protocol scheme: localhost, your address must start with "
        "http:// or https://"
    )


def test_credentials_follow_a_redirect_on_the_same_host(kapacitor, server):
    server.reply("GET", USERS + "/bob", status=301, raw=b"", headers={"Location": USERS + "/bob2"})
    server.reply("GET", USERS + "/bob2", json_body={"name": "bob2", "type": "normal", "permissions": []})
    result = kapacitor("user", "show", "bob", url=server.url("admin:pw"))
    assert result.code == 0, result.err
    assert server.requests[1].headers["authorization"] == _basic("admin", "pw")


def test_credentials_are_not_sent_to_another_host_on_redirect(kapacitor, server):
    from .fakeserver import FakeKapacitor

    other = FakeKapacitor().start()
    try:
        other.reply("GET", USERS + "/bob", json_body={"name": "bob", "type": "normal", "permissions": []})
        elsewhere = other.url().replace("127.0.0.1", "localhost") + USERS + "/bob"
        server.reply("GET", USERS + "/bob", status=302, raw=b"", headers={"Location": elsewhere})
        result = kapacitor("user", "show", "bob", url=server.url("admin:pw"))
        assert result.code == 0, result.err
        assert "authorization" not in other.requests[0].headers
    finally:
        other.stop()


def test_unencoded_slash_in_password_is_explained_without_leaking_it(kapacitor, server):
    result = kapacitor("user", "list", url="http://admin:pa/ss?w#rd@127.0.0.1:9092")
    assert result.code == 4
    assert result.err == (
        'parse "http://admin:***@127.0.0.1:9092": the user name or password contains '
        "'/', '?' or '#'; percent-encode them as %2F, %3F and %23\n"
    )
    assert server.requests == []
