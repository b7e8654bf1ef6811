"""Global options, environment variables, dispatch and exit statuses."""

from __future__ import annotations

import ssl

import pytest

from .fakeserver import FakeKapacitor

TASKS = "/kapacitor/v1/tasks"
EMPTY = {"tasks": []}


@pytest.mark.parametrize("form", ["-url {}", "-url={}", "--url {}", "--url={}"])
def test_url_flag_accepts_every_go_spelling(kapacitor, server, form):
    server.reply("GET", TASKS, json_body=EMPTY)
    argv = form.format(server.url()).split(" ") + ["list", "tasks"]
    result = kapacitor(*argv, use_url=False)
    assert result.code == 0, result.err
    assert server.calls() == [("GET", TASKS)]


def test_kapacitor_url_environment_variable_is_used(kapacitor, server):
    server.reply("GET", TASKS, json_body=EMPTY)
    result = kapacitor("list", "tasks", use_url=False, env={"KAPACITOR_URL": server.url("u:p")})
    assert result.code == 0, result.err
    assert server.requests[0].headers["authorization"] == "Basic dTpw"


def test_url_flag_wins_over_the_environment(kapacitor, server):
    server.reply("GET", TASKS, json_body=EMPTY)
    result = kapacitor("list", "tasks", env={"KAPACITOR_URL": "http://127.0.0.1:1"})
    assert result.code == 0, result.err


def test_bad_kapacitor_unsafe_ssl_exits_1(kapacitor, server):
    result = kapacitor("list", "tasks", env={"KAPACITOR_UNSAFE_SSL": "maybe"})
    assert (result.code, result.err) == (1, 'strconv.ParseBool: parsing "maybe": invalid syntax\n')
    assert server.requests == []


def test_flags_stop_at_the_first_command_word(kapacitor, server):
    server.reply("GET", TASKS, json_body=EMPTY)
    result = kapacitor("list", "tasks", "-url")
    assert result.code == 0, result.err
    assert server.requests[0].param("pattern") == ["-url"]


def test_double_dash_ends_the_global_flags(kapacitor, server):
    server.reply("GET", TASKS, json_body=EMPTY)
    result = kapacitor("--", "list", "tasks")
    assert result.code == 0, result.err


def test_no_command_prints_usage_and_exits_1(kapacitor):
    result = kapacitor()
    assert result.code == 1
    assert result.err.startswith(
        "Error: Must pass a command.\n\nUsage: kapacitor [options] [command] [args]\n\nCommands:\n\n"
        "\trecord                Record the result of a query or a snapshot of the current stream data.\n"
        "\tdefine                Create/update a task.\n"
    )
    assert result.err.endswith(
        "Options:\n\n"
        "  -skipVerify\n"
        "    \tDisable SSL verification (note, this is insecure). Defaults to the "
        "KAPACITOR_UNSAFE_SSL environment variable or false if not set.\n"
        "  -url string\n"
        "    \tThe URL http(s)://host:port of the kapacitord server. Defaults to the "
        "KAPACITOR_URL environment variable or http://localhost:9092 if not set.\n"
    )


def test_unknown_command_exits_1(kapacitor):
    result = kapacitor("frobnicate")
    assert result.code == 1
    assert result.err.startswith("Unknown command frobnicate\n\nUsage: kapacitor")


def test_original_command_not_implemented_here_says_so(kapacitor, server):
    result = kapacitor("push", "task")
    assert (result.code, result.err) == (3, "Error: the push command is not implemented by this client\n")


def test_unknown_global_flag_exits_2(kapacitor):
    result = kapacitor("-nope", "list", use_url=False)
    assert result.code == 2
    assert result.err.startswith("flag provided but not defined: -nope\nUsage of main:\n  -skipVerify\n")


def test_dash_h_prints_the_flags_and_exits_0(kapacitor):
    result = kapacitor("-h", use_url=False)
    assert result.code == 0
    assert result.err.startswith("Usage of main:\n  -skipVerify\n")


def test_url_with_unsupported_scheme_exits_4(kapacitor):
    result = kapacitor("list", "tasks", url="ftp://localhost:9092")
    assert (result.code, result.err) == (
        4, "Unsupported protocol scheme: ftp, your address must start with http:// or https://\n"
    )


def test_help_for_a_command_prints_its_usage_and_exits_0(kapacitor):
    result = kapacitor("help", "enable")
    assert (result.code, result.out) == (0, "")
    assert result.err == (
        "Usage: kapacitor enable [task ID...]\n\n\tEnable and start a task running from the live data.\n"
        "\nFor example:\n\n\tYou can enable by specific task ID.\n\n\t\t$ kapacitor enable cpu_alert\n"
        "\n\tOr, you can enable by glob:\n\n\t\t$ kapacitor enable *_alert\n\n"
    )


def test_help_without_a_command_exits_1(kapacitor):
    result = kapacitor("help")
    assert result.code == 1
    assert result.err.startswith("Usage: kapacitor help [command]\n\n\nUsage: kapacitor [options]")


def test_help_for_an_unknown_command_exits_1(kapacitor):
    result = kapacitor("help", "nope")
    assert result.code == 1
    assert result.err.startswith("Unknown command nope\n")


# -- TLS ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tls_context(tmp_path_factory):
    from tests.support.tls import self_signed

    cert_pem, key_pem = self_signed()
    directory = tmp_path_factory.mktemp("tls")
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert_pem)
    key_path.write_bytes(key_pem)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    return context


@pytest.fixture
def tls_server(tls_context):
    fake = FakeKapacitor(tls_context).start()
    fake.reply("GET", TASKS, json_body=EMPTY)
    yield fake
    fake.stop()


def test_self_signed_certificate_is_refused_by_default(kapacitor, tls_server):
    result = kapacitor("list", "tasks", url=tls_server.url("admin:pw"))
    assert result.code == 3
    assert result.err.startswith('Error: Get "https://admin:***@127.0.0.1:')
    assert "certificate" in result.err


def test_skip_verify_flag_accepts_a_self_signed_certificate(kapacitor, tls_server):
    result = kapacitor("-skipVerify", "list", "tasks", url=tls_server.url())
    assert result.code == 0, result.err


def test_kapacitor_unsafe_ssl_accepts_a_self_signed_certificate(kapacitor, tls_server):
    result = kapacitor("list", "tasks", url=tls_server.url(), env={"KAPACITOR_UNSAFE_SSL": "true"})
    assert result.code == 0, result.err
