"""stats, vars, level, backup and version."""

from __future__ import annotations

from kapacitord_tw import __version__

VARS = "/kapacitor/v1/debug/vars"

DEBUG_VARS = {
    "cluster_id": "0c1d2e3f-aaaa-bbbb-cccc-000000000001",
    "cmdline": ["kapacitord"],
    "host": "localhost",
    "kapacitor": {
        "a1": {"name": "ingress", "tags": {"task_master": "main", "database": "telegraf",
                                           "retention_policy": "autogen", "measurement": "cpu"},
               "values": {"points_received": 1234}},
        "a2": {"name": "ingress", "tags": {"task_master": "main", "database": "_internal",
                                           "retention_policy": "monitor", "measurement": "kapacitor_measurement_x"},
               "values": {"points_received": 7}},
        "a3": {"name": "ingress", "tags": {"task_master": "other", "database": "x",
                                           "retention_policy": "y", "measurement": "z"},
               "values": {"points_received": 99}},
        "a4": {"name": "edges", "tags": {}, "values": {}},
    },
    "num_enabled_tasks": 1,
    "num_subscriptions": 0,
    "num_tasks": 2,
    "platform": "OSS",
    "product": "kapacitor",
    "server_id": "0c1d2e3f-aaaa-bbbb-cccc-000000000002",
    "version": "1.8.3",
}


def test_stats_general_prints_padded_columns(kapacitor, server):
    server.reply("GET", VARS, json_body=DEBUG_VARS)
    result = kapacitor("stats", "general")
    assert result.code == 0, result.err
    row = "{:<30}{:<30}\n".format
    assert result.out == (
        row("ClusterID:", "0c1d2e3f-aaaa-bbbb-cccc-000000000001")
        + row("ServerID:", "0c1d2e3f-aaaa-bbbb-cccc-000000000002")
        + row("Host:", "localhost")
        + row("Tasks:", "2")
        + row("Enabled Tasks:", "1")
        + row("Subscriptions:", "0")
        + row("Platform:", "OSS")
        + row("Version:", "1.8.3")
    )
    assert result.out.splitlines()[0] == "ClusterID:                    0c1d2e3f-aaaa-bbbb-cccc-000000000001"


def test_stats_ingress_lists_main_task_master_points(kapacitor, server):
    server.reply("GET", VARS, json_body=DEBUG_VARS)
    result = kapacitor("stats", "ingress")
    assert result.code == 0, result.err
    assert result.out == (
        "Database  Retention Policy Measurement             Points Received\n"
        "_internal monitor          kapacitor_measurement_x               7\n"
        "telegraf  autogen          cpu                                1234\n"
    )


def test_stats_without_a_category(kapacitor, server):
    result = kapacitor("stats")
    assert result.code == 3
    assert result.err.startswith("Usage: kapacitor stats <general|ingress>\n")
    assert result.err.endswith("Error: must provide a stats category\n")
    assert server.requests == []


def test_vars_prints_the_body_verbatim(kapacitor, server):
    raw = b'{\n"cluster_id": "x",\n"version": "1.8.3"\n}\n'
    server.reply("GET", VARS, raw=raw)
    result = kapacitor("vars")
    assert (result.code, result.out) == (0, raw.decode())


def test_vars_with_bad_credentials_is_an_error_not_output(kapacitor, server):
    server.error("GET", VARS, 401, "authorization failed", compact=True)
    result = kapacitor("vars", url=server.url("bob:nope"))
    assert (result.code, result.out) == (3, "")
    assert result.err == "Error: authorization failed: check the credentials in -url\n"


def test_level_posts_the_level(kapacitor, server):
    server.reply("POST", "/kapacitor/v1/loglevel", status=204)
    result = kapacitor("level", "debug")
    assert (result.code, result.out, result.err) == (0, "", "")
    assert server.requests[0].body == b'{"level":"debug"}\n'


def test_level_rejected_by_the_server(kapacitor, server):
    server.error("POST", "/kapacitor/v1/loglevel", 400, "invalid log level")
    result = kapacitor("level", "loud")
    assert (result.code, result.err) == (3, "Error: invalid log level\n")


def test_level_without_argument_exits_2(kapacitor, server):
    result = kapacitor("level")
    assert result.code == 2
    assert result.err.startswith("Must pass a log level\nUsage: kapacitor level (debug|info|error)\n")


def test_backup_writes_the_database_file(kapacitor, server, tmp_path):
    payload = bytes(range(256)) * 300
    server.reply("GET", "/kapacitor/v1/storage/backup", raw=payload,
                 headers={"Content-Type": "application/octet-stream"})
    target = tmp_path / "kapacitor.db"
    result = kapacitor("backup", str(target))
    assert (result.code, result.out, result.err) == (0, "", "")
    assert target.read_bytes() == payload
    assert target.stat().st_mode & 0o777 == 0o600, "a backup holds password hashes"


def test_backup_refused_by_the_server_writes_no_file(kapacitor, server, tmp_path):
    server.error("GET", "/kapacitor/v1/storage/backup", 403,
                 'user bob does not have "read" privilege for API endpoint "/kapacitor/v1/storage/backup"',
                 compact=True)
    target = tmp_path / "kapacitor.db"
    result = kapacitor("backup", str(target))
    assert result.code == 3
    assert result.err == (
        'Error: failed to perform backup: user bob does not have "read" privilege for '
        'API endpoint "/kapacitor/v1/storage/backup"\n'
    )
    assert not target.exists()


def test_backup_short_download_is_an_error(kapacitor, server, tmp_path):
    server.reply("GET", "/kapacitor/v1/storage/backup", raw=b"abc",
                 headers={"Content-Length": "10", "Connection": "close"})
    result = kapacitor("backup", str(tmp_path / "out.db"))
    assert (result.code, result.err) == (
        3, "Error: failed to download entire backup, only wrote 3 bytes out of a total 10 bytes.\n"
    )


def test_backup_needs_a_path(kapacitor, server):
    result = kapacitor("backup")
    assert (result.code, result.err) == (3, "Error: must provide file path for backup.\n")


def test_version_prints_without_contacting_the_server(kapacitor, server):
    result = kapacitor("version")
    assert (result.code, result.out) == (0, "Kapacitor OSS %s (git: unknown unknown)\n" % __version__)
    assert server.requests == []
