"""``kapacitor list service-tests`` and ``kapacitor service-tests``: the
original's output and exit codes."""

from __future__ import annotations

TESTS = "/kapacitor/v1/service-tests"


def _service(name: str, options=None) -> dict:
    return {"link": {"rel": "self", "href": "%s/%s" % (TESTS, name)}, "name": name,
            "options": options or {}}


def _listing(*names: str) -> dict:
    return {"link": {"rel": "self", "href": TESTS},
            "services": [_service(n) for n in names] or None}


def test_list_service_tests_prints_a_header_and_one_name_a_line(kapacitor, server):
    server.reply("GET", TESTS, json_body=_listing("slack", "smtp"))
    result = kapacitor("list", "service-tests")
    assert (result.code, result.out, result.err) == (0, "Service Name\nslack\nsmtp\n", "")
    request = server.requests[-1]
    assert request.param("pattern") == ["*"]


def test_list_service_tests_asks_once_per_pattern(kapacitor, server):
    server.reply("GET", TESTS, json_body=_listing("slack"))
    result = kapacitor("list", "service-tests", "sl*", "sm*")
    assert result.out == "Service Name\nslack\nslack\n"
    assert [r.param("pattern") for r in server.requests] == [["sl*"], ["sm*"]]


def test_service_tests_runs_each_match_and_prints_a_table(kapacitor, server):
    server.reply("GET", TESTS, json_body=_listing("slack", "smtp"))
    server.reply("POST", TESTS + "/slack", json_body={"success": True, "message": ""})
    server.reply("POST", TESTS + "/smtp", json_body={"success": False,
                                                     "message": "dial tcp: connection refused"})
    result = kapacitor("service-tests", "s*")
    assert result.code == 0
    assert result.out == (
        "Service             Success   Message\n"
        "slack               true      \n"
        "smtp                false     dial tcp: connection refused\n"
    )
    posts = [r for r in server.requests if r.method == "POST"]
    assert [r.body for r in posts] == [b"null\n", b"null\n"]


def test_service_tests_without_a_name_is_an_error_exit_3(kapacitor, server):
    result = kapacitor("service-tests")
    assert (result.code, result.out, result.err) == (
        3, "", "Error: must provide at least one service name or pattern.\n")


def test_service_tests_stops_on_a_server_error(kapacitor, server):
    server.reply("GET", TESTS, json_body=_listing("slack"))
    server.error("POST", TESTS + "/slack", 403, "forbidden", compact=True)
    result = kapacitor("service-tests", "slack")
    assert result.code == 3
    assert result.out == ""
    assert result.err.startswith("Error: forbidden")
