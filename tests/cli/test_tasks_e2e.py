"""``kapacitor`` task, template and server commands against the real,
secured ``kapacitord``, each run through the console script in a subprocess.

One daemon per module: started once with ``[http] auth-enabled = false`` to
create the first admin through the CLI (the documented bootstrap), then
restarted on the same data with authentication enforced.  Before each test
every task and template is removed over plain HTTP, so the tables the tests
compare are exactly what that test defined.  Expected outputs follow the
original's ``cmd/kapacitor/main.go`` formats.
"""

from __future__ import annotations

import datetime
import json
import os
import re
import subprocess
import sys

import attrs
import pytest

daemon_support = pytest.importorskip("tests.support.daemon")

ADMIN_PASSWORD = "Pa5sw0Rd"
NOBODY_PASSWORD = "n0-perms"

CPU_ALERT = """stream|from().measurement('cpu')|alert().crit(lambda: "usage_idle" < 10)"""
CPU_ALERT_FORMATTED = """\
stream
    |from()
        .measurement('cpu')
    |alert()
        .crit(lambda: "usage_idle" < 10)
"""
CPU_ALERT_DOT = """\
digraph cpu_alert {
stream0 -> from1;
from1 -> alert2;
}"""
CPU_ALERT_RUNTIME_DOT = """\
digraph cpu_alert {
graph [throughput="0.00 points/s"];

stream0 [avg_exec_time_ns="0s" errors="0" working_cardinality="0" ];
stream0 -> from1 [processed="0"];

from1 [avg_exec_time_ns="0s" errors="0" working_cardinality="0" ];
from1 -> alert2 [processed="0"];

alert2 [alerts_inhibited="0" alerts_triggered="0" avg_exec_time_ns="0s" crits_triggered="0" \
errors="0" infos_triggered="0" oks_triggered="0" warns_triggered="0" working_cardinality="0" ];
}"""

# The template of Kapacitor's "Template tasks" guide.
GENERIC_MEAN_ALERT = """\
var measurement string
var where_filter = lambda: TRUE
var groups = [*]
var field string
var warn lambda
var crit lambda
var window = 5m
var slack_channel = '#alerts'

stream
    |from()
        .measurement(measurement)
        .where(where_filter)
        .groupBy(groups)
    |window()
        .period(window)
        .every(window)
    |mean(field)
    |alert()
         .warn(warn)
         .crit(crit)
         .slack()
         .channel(slack_channel)
"""
GENERIC_MEAN_ALERT_FORMATTED = """\
var measurement string

var where_filter = lambda: TRUE

var groups = [*]

var field string

var warn lambda

var crit lambda

var window = 5m

var slack_channel = '#alerts'

stream
    |from()
        .measurement(measurement)
        .where(where_filter)
        .groupBy(groups)
    |window()
        .period(window)
        .every(window)
    |mean(field)
    |alert()
        .warn(warn)
        .crit(crit)
        .slack()
        .channel(slack_channel)
"""
CPU_VARS = {
    "measurement": {"type": "string", "value": "cpu"},
    "where_filter": {"type": "lambda", "value": "\"cpu\" == 'cpu-total'"},
    "groups": {"type": "list", "value": [{"type": "string", "value": "host"},
                                         {"type": "string", "value": "dc"}]},
    "field": {"type": "string", "value": "usage_idle"},
    "warn": {"type": "lambda", "value": "\"mean\" < 30.0"},
    "crit": {"type": "lambda", "value": "\"mean\" < 10.0"},
    "window": {"type": "duration", "value": "1m"},
    "slack_channel": {"type": "string", "value": "#alerts_testing"},
}

TIME = r"\d\d [A-Z][a-z]{2} \d\d \d\d:\d\d UTC"  # Go's time.RFC822 of a UTC time
NEVER = "01 Jan 01 00:00 UTC"  # a zero time.Time in RFC822


@attrs.frozen
class Outcome:
    code: int
    out: str
    err: str


def _console_script() -> list:
    script = os.path.join(os.path.dirname(sys.executable), "kapacitor")
    if os.access(script, os.X_OK):
        return [script]
    return [sys.executable, "-m", "kapacitord_tw.cli.kapacitor"]


KAPACITOR = _console_script()
CLEAN_ENV = {k: v for k, v in os.environ.items() if not k.startswith("KAPACITOR_")}


def kapacitor(url: str, *args: str, stdin: str = "") -> Outcome:
    done = subprocess.run([*KAPACITOR, "-url", url, *args], input=stdin, env=CLEAN_ENV,
                          capture_output=True, text=True, timeout=20)
    return Outcome(done.returncode, done.stdout, done.stderr)


@attrs.frozen
class Secured:
    daemon: object
    port: int

    def url(self, user: str = "admin", password: str = ADMIN_PASSWORD) -> str:
        return "http://%s:%s@localhost:%d" % (user, password, self.port)

    def admin(self, *args: str, stdin: str = "") -> Outcome:
        return kapacitor(self.url(), *args, stdin=stdin)

    def api(self, method: str, path: str):
        status, _headers, body = self.daemon.request(method, path, auth=("admin", ADMIN_PASSWORD))
        return status, json.loads(body) if body else None


@pytest.fixture(scope="module")
def secured(tmp_path_factory):
    directory = tmp_path_factory.mktemp("kapacitord")
    data = directory / "data"
    port = daemon_support.free_port()

    open_config = daemon_support.write_config(directory / "open.conf", data, port, http_auth=False)
    with daemon_support.Daemon(open_config, port):
        created = kapacitor("http://localhost:%d" % port, "user", "create", "admin",
                            "-type", "admin", stdin=ADMIN_PASSWORD + "\n")
        assert created == Outcome(0, "", ""), created

    secure_config = daemon_support.write_config(directory / "secure.conf", data, port, http_auth=True)
    daemon = daemon_support.Daemon(secure_config, port).start()
    try:
        server = Secured(daemon, port)
        nobody = server.admin("user", "create", "nobody", stdin=NOBODY_PASSWORD + "\n")
        assert nobody == Outcome(0, "", ""), nobody
        yield server
    finally:
        daemon.kill()


@pytest.fixture
def server(secured):
    """The secured daemon with no tasks and no templates."""
    for kind in ("tasks", "templates"):
        status, listing = secured.api("GET", "/kapacitor/v1/%s?fields=link" % kind)
        assert status == 200, listing
        for entry in listing[kind]:
            assert secured.api("DELETE", entry["link"]["href"])[0] == 204
    return secured


@pytest.fixture
def scripts(tmp_path):
    def write(name: str, text: str) -> str:
        path = tmp_path / name
        path.write_text(text)
        return str(path)
    return write


def define_cpu_alert(server, scripts, task_id: str = "cpu_alert") -> None:
    defined = server.admin("define", task_id, "-type", "stream",
                           "-tick", scripts("cpu_alert.tick", CPU_ALERT),
                           "-dbrp", "telegraf.autogen")
    assert defined == Outcome(0, "", ""), defined


def show_fields(out: str) -> dict:
    """``Name: value`` lines of ``show`` before the TICKscript."""
    head = out.split("TICKscript:\n", 1)[0]
    return dict(line.split(": ", 1) for line in head.splitlines())


def rfc822_near_now() -> set:
    now = datetime.datetime.now(datetime.timezone.utc)
    return {(now + datetime.timedelta(minutes=m)).strftime("%d %b %y %H:%M UTC") for m in (-1, 0, 1)}


# ---------------------------------------------------------------- tasks


def test_defined_task_is_listed_disabled_with_its_dbrp(server, scripts):
    define_cpu_alert(server, scripts)
    listed = server.admin("list", "tasks")
    assert listed == Outcome(0, (
        "ID        Type      Status    Executing Databases and Retention Policies\n"
        'cpu_alert stream    disabled  false     ["telegraf"."autogen"]\n'
    ), ""), listed


def test_show_prints_every_field_of_a_disabled_task(server, scripts):
    define_cpu_alert(server, scripts)
    shown = server.admin("show", "cpu_alert")
    assert (shown.code, shown.err) == (0, "")
    created = re.search("^Created: (%s)$" % TIME, shown.out, re.M)
    assert created is not None, shown.out
    assert created.group(1) in rfc822_near_now()
    expected = (
        "ID: cpu_alert\n"
        "Error: \n"
        "Template: \n"
        "Type: stream\n"
        "Status: disabled\n"
        "Executing: false\n"
        "Created: {t}\n"
        "Modified: {t}\n"
        "LastEnabled: " + NEVER + "\n"
        'Databases Retention Policies: ["telegraf"."autogen"]\n'
        "TICKscript:\n" + CPU_ALERT_FORMATTED + "\n"
        "DOT:\n" + CPU_ALERT_DOT + "\n"
    ).replace("{t}", created.group(1))
    assert shown.out == expected


def test_enable_and_disable_change_the_status_in_list_tasks(server, scripts):
    define_cpu_alert(server, scripts)
    assert server.admin("enable", "cpu_alert") == Outcome(0, "", "")
    assert server.admin("list", "tasks").out.splitlines()[1] == (
        'cpu_alert stream    enabled   true      ["telegraf"."autogen"]'
    )
    assert server.admin("disable", "cpu_alert") == Outcome(0, "", "")
    assert server.admin("list", "tasks").out.splitlines()[1] == (
        'cpu_alert stream    disabled  false     ["telegraf"."autogen"]'
    )


def test_show_of_an_enabled_task_has_the_runtime_dot_with_stats(server, scripts):
    define_cpu_alert(server, scripts)
    assert server.admin("enable", "cpu_alert") == Outcome(0, "", "")
    shown = server.admin("show", "cpu_alert")
    assert (shown.code, shown.err) == (0, "")
    fields = show_fields(shown.out)
    assert (fields["Status"], fields["Executing"]) == ("enabled", "true")
    assert fields["LastEnabled"] in rfc822_near_now()
    assert shown.out.endswith("DOT:\n" + CPU_ALERT_RUNTIME_DOT + "\n")

    assert server.admin("disable", "cpu_alert").code == 0
    shown = server.admin("show", "cpu_alert")
    assert show_fields(shown.out)["Executing"] == "false"
    assert shown.out.endswith("DOT:\n" + CPU_ALERT_DOT + "\n")


def test_reload_restarts_matching_tasks_enabled(server, scripts):
    define_cpu_alert(server, scripts, "cpu_alert")
    define_cpu_alert(server, scripts, "cpu_other")
    assert server.admin("enable", "cpu_alert").code == 0
    # Like the original, reload disables then enables: a disabled task ends enabled.
    assert server.admin("reload", "cpu_*") == Outcome(0, "", "")
    assert server.admin("list", "tasks").out.splitlines()[1:] == [
        'cpu_alert stream    enabled   true      ["telegraf"."autogen"]',
        'cpu_other stream    enabled   true      ["telegraf"."autogen"]',
    ]


def test_redefining_an_enabled_task_keeps_it_running_with_the_new_script(server, scripts):
    define_cpu_alert(server, scripts)
    assert server.admin("enable", "cpu_alert").code == 0
    new_script = scripts("mem.tick", CPU_ALERT.replace("'cpu'", "'mem'"))
    assert server.admin("define", "cpu_alert", "-tick", new_script) == Outcome(0, "", "")
    shown = server.admin("show", "cpu_alert")
    fields = show_fields(shown.out)
    assert (fields["Status"], fields["Executing"]) == ("enabled", "true")
    assert CPU_ALERT_FORMATTED.replace("'cpu'", "'mem'") in shown.out


def test_multiple_dbrps_are_listed_in_go_syntax(server, scripts):
    defined = server.admin("define", "cpu_alert", "-type", "stream",
                           "-tick", scripts("cpu.tick", CPU_ALERT),
                           "-dbrp", "telegraf.autogen", "-dbrp", '"other db"."rp.x"')
    assert defined == Outcome(0, "", ""), defined
    assert server.admin("list", "tasks").out.splitlines()[1] == (
        'cpu_alert stream    disabled  false     ["telegraf"."autogen" "other db"."rp.x"]'
    )


def test_delete_tasks_with_a_glob_keeps_the_others(server, scripts):
    for task_id in ("cpu_alert", "cpu_idle", "mem_alert"):
        define_cpu_alert(server, scripts, task_id)
    assert server.admin("delete", "tasks", "cpu_*") == Outcome(0, "", "")
    assert server.admin("list", "tasks") == Outcome(0, (
        "ID        Type      Status    Executing Databases and Retention Policies\n"
        'mem_alert stream    disabled  false     ["telegraf"."autogen"]\n'
    ), "")


def test_show_of_an_unknown_task_is_an_error(server):
    assert server.admin("show", "nope") == Outcome(3, "", "Error: no task exists\n")


def test_broken_script_is_reported_with_exit_code_3(server, scripts):
    broken = scripts("broken.tick", "stream|from(.measurement('cpu')")
    result = server.admin("define", "broken", "-type", "stream", "-tick", broken,
                          "-dbrp", "telegraf.autogen")
    assert (result.code, result.out) == (3, "")
    assert result.err.startswith("Error: invalid TICKscript: ")
    assert result.err.count("\n") == 1 and result.err.endswith("\n")
    assert server.admin("list", "tasks").out.splitlines()[1:] == []


# ------------------------------------------------------------ templates


def test_template_is_shown_with_its_vars_and_defaults(server, scripts):
    tick = scripts("generic_mean_alert.tick", GENERIC_MEAN_ALERT)
    defined = server.admin("define-template", "generic_mean_alert", "-tick", tick, "-type", "stream")
    assert defined == Outcome(0, "", ""), defined
    shown = server.admin("show-template", "generic_mean_alert")
    assert (shown.code, shown.err) == (0, "")
    created = re.search("^Created: (%s)$" % TIME, shown.out, re.M)
    assert created is not None, shown.out

    def row(name, kind, value):
        return "%-30s%-10s%-40s%-40s\n" % (name, kind, value, "")

    assert shown.out == (
        "ID: generic_mean_alert\n"
        "Error: \n"
        "Type: stream\n"
        "Created: {t}\n"
        "Modified: {t}\n"
        "TICKscript:\n" + GENERIC_MEAN_ALERT_FORMATTED + "\n"
        "Vars:\n"
        "%-30s%-10s%-40s%-40s\n" % ("Name", "Type", "Default Value", "Description")
        + row("crit", "lambda", "<required>")
        + row("field", "string", "<required>")
        + row("groups", "list", "[*]")
        + row("measurement", "string", "<required>")
        + row("slack_channel", "string", "#alerts")
        + row("warn", "lambda", "<required>")
        + row("where_filter", "lambda", "TRUE")
        + row("window", "duration", "5m0s")
        + "DOT:\n"
        "digraph generic_mean_alert {\n"
        "stream0 -> from1;\n"
        "from1 -> window2;\n"
        "window2 -> mean3;\n"
        "mean3 -> alert4;\n"
        "}\n"
    ).replace("{t}", created.group(1))

    listed = server.admin("list", "templates")
    assert listed == Outcome(0, (
        "ID                 Type      Vars                                    \n"
        "generic_mean_alert stream    "
        "crit,field,groups,measurement,slack_channel,warn,where_filter,window\n"
    ), ""), listed


def test_task_from_a_template_shows_its_vars(server, scripts):
    tick = scripts("generic_mean_alert.tick", GENERIC_MEAN_ALERT)
    assert server.admin("define-template", "generic_mean_alert", "-tick", tick).code == 0
    task_vars = scripts("cpu_vars.json", json.dumps(CPU_VARS))
    defined = server.admin("define", "cpu_mean", "-template", "generic_mean_alert",
                           "-vars", task_vars, "-dbrp", "telegraf.autogen")
    assert defined == Outcome(0, "", ""), defined

    shown = server.admin("show", "cpu_mean")
    assert (shown.code, shown.err) == (0, "")
    fields = show_fields(shown.out)
    assert (fields["Template"], fields["Type"], fields["Status"]) == (
        "generic_mean_alert", "stream", "disabled")

    def row(name, kind, value):
        return "%-30s%-10s%-40s\n" % (name, kind, value)

    assert shown.out.split("TICKscript:\n", 1)[1] == (
        GENERIC_MEAN_ALERT_FORMATTED + "\n"
        "Vars:\n" + row("Name", "Type", "Value")
        + row("crit", "lambda", '"mean" < 10.0')
        + row("field", "string", "usage_idle")
        + row("groups", "list", "[host, dc]")
        + row("measurement", "string", "cpu")
        + row("slack_channel", "string", "#alerts_testing")
        + row("warn", "lambda", '"mean" < 30.0')
        + row("where_filter", "lambda", "\"cpu\" == 'cpu-total'")
        + row("window", "duration", "1m0s")
        + "DOT:\n"
        "digraph cpu_mean {\n"
        "stream0 -> from1;\n"
        "from1 -> window2;\n"
        "window2 -> mean3;\n"
        "mean3 -> alert4;\n"
        "}\n"
    )


def test_task_file_defines_a_task_from_a_template(server, scripts):
    tick = scripts("generic_mean_alert.tick", GENERIC_MEAN_ALERT)
    assert server.admin("define-template", "generic_mean_alert", "-tick", tick).code == 0
    task_file = scripts("cpu_mean.json", json.dumps({
        "template-id": "generic_mean_alert",
        "dbrps": [{"db": "telegraf", "rp": "autogen"}],
        "vars": CPU_VARS,
    }))
    assert server.admin("define", "cpu_mean", "-file", task_file) == Outcome(0, "", "")
    assert server.admin("list", "tasks").out.splitlines()[1] == (
        'cpu_mean stream    disabled  false     ["telegraf"."autogen"]'
    )


def test_redefined_template_updates_its_running_task(server, scripts):
    template = "var crit lambda\nstream|from().measurement('cpu')|alert().crit(crit)\n"
    assert server.admin("define-template", "t", "-tick", scripts("t.tick", template)).code == 0
    crit = scripts("vars.json", '{"crit": {"type": "lambda", "value": "\\"usage_idle\\" < 5"}}')
    assert server.admin("define", "from_t", "-template", "t", "-vars", crit,
                        "-dbrp", "telegraf.autogen").code == 0
    assert server.admin("enable", "from_t").code == 0
    changed = scripts("t2.tick", template.replace("'cpu'", "'mem'"))
    assert server.admin("define-template", "t", "-tick", changed) == Outcome(0, "", "")
    shown = server.admin("show", "from_t")
    assert show_fields(shown.out)["Executing"] == "true"
    assert ".measurement('mem')" in shown.out


def test_delete_templates_with_a_glob(server, scripts):
    tick = scripts("generic_mean_alert.tick", GENERIC_MEAN_ALERT)
    for template_id in ("generic_mean_alert", "generic_max_alert", "other"):
        assert server.admin("define-template", template_id, "-tick", tick).code == 0
    assert server.admin("delete", "templates", "generic*") == Outcome(0, "", "")
    assert server.admin("list", "templates").out.splitlines()[1:] == [
        "other " + "%-10s%-40s" % ("stream", "crit,field,groups,measurement,slack_channel,"
                                   "warn,where_filter,window")
    ]


# --------------------------------------------------------------- server


def test_stats_general_counts_tasks_and_enabled_tasks(server, scripts):
    define_cpu_alert(server, scripts, "cpu_alert")
    define_cpu_alert(server, scripts, "cpu_other")
    assert server.admin("enable", "cpu_alert").code == 0
    result = server.admin("stats", "general")
    assert (result.code, result.err) == (0, "")
    lines = result.out.splitlines()
    assert [line[:30].rstrip() for line in lines] == [
        "ClusterID:", "ServerID:", "Host:", "Tasks:", "Enabled Tasks:",
        "Subscriptions:", "Platform:", "Version:",
    ]
    # Go's "%-30s%-30d": every value column is padded to 30.
    assert lines[3] == "%-30s%-30d" % ("Tasks:", 2)
    assert lines[4] == "%-30s%-30d" % ("Enabled Tasks:", 1)
    assert lines[6] == "%-30s%-30s" % ("Platform:", "OSS")


def test_vars_prints_valid_json_with_the_task_counts(server, scripts):
    define_cpu_alert(server, scripts)
    result = server.admin("vars")
    assert (result.code, result.err) == (0, "")
    variables = json.loads(result.out)
    assert (variables["num_tasks"], variables["num_enabled_tasks"]) == (1, 0)
    assert re.fullmatch(r"[0-9a-f-]{36}", variables["cluster_id"])


def test_level_debug_is_applied_by_the_daemon(secured):
    assert secured.admin("level", "debug") == Outcome(0, "", "")
    assert 'msg="log level set to DEBUG"' in secured.daemon.output()
    assert secured.admin("level", "info") == Outcome(0, "", "")


def test_unknown_level_is_rejected(secured):
    assert secured.admin("level", "loud") == Outcome(3, "", "Error: invalid log level\n")


def test_backup_writes_the_tasks_to_a_file(server, scripts, tmp_path):
    define_cpu_alert(server, scripts)
    target = tmp_path / "kapacitor.db"
    assert server.admin("backup", str(target)) == Outcome(0, "", "")
    content = target.read_bytes()
    assert content and b'"cpu_alert"' in content


# ------------------------------------------------------------------ auth


def test_wrong_password_gets_401_and_defines_nothing(server, scripts):
    url = server.url(password="wrong")
    listed = kapacitor(url, "list", "tasks")
    assert listed == Outcome(3, "", "Error: authorization failed: check the credentials in -url\n")
    defined = kapacitor(url, "define", "cpu_alert", "-type", "stream",
                        "-tick", scripts("cpu.tick", CPU_ALERT), "-dbrp", "telegraf.autogen")
    assert defined.code == 3
    assert server.admin("list", "tasks").out.splitlines()[1:] == []


def test_user_without_permissions_gets_403(server, scripts):
    url = server.url("nobody", NOBODY_PASSWORD)
    listed = kapacitor(url, "list", "tasks")
    assert listed == Outcome(3, "", (
        'Error: user nobody does not have "read" privilege for API endpoint "/kapacitor/v1/tasks"\n'
    ))
    defined = kapacitor(url, "define", "cpu_alert", "-type", "stream",
                        "-tick", scripts("cpu.tick", CPU_ALERT), "-dbrp", "telegraf.autogen")
    assert defined == Outcome(3, "", (
        'Error: user nobody does not have "write" privilege for API endpoint "/kapacitor/v1/tasks"\n'
    ))
    assert server.admin("list", "tasks").out.splitlines()[1:] == []


def test_user_list_through_the_console_script(secured):
    listed = secured.admin("user", "list")
    assert listed == Outcome(0, (
        "Name   Type      Permissions\n"
        "admin  admin     \n"
        "nobody normal    \n"
    ), ""), listed
