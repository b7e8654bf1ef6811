"""Task commands: the requests they make and the exact text they print."""

from __future__ import annotations

import json

TASKS = "/kapacitor/v1/tasks"
NO_TASK = "no task exists"


def _task(task_id: str, **fields) -> dict:
    task = {
        "link": {"rel": "self", "href": "%s/%s" % (TASKS, task_id)},
        "id": task_id,
        "template-id": "",
        "type": "stream",
        "dbrps": [{"db": "telegraf", "rp": "autogen"}],
        "script": "stream\n    |from()\n        .measurement('cpu')\n",
        "vars": {},
        "dot": "digraph %s {\nstream0 -> from1;\n}" % task_id,
        "status": "disabled",
        "executing": False,
        "error": "",
        "stats": {},
        "created": "2026-03-03T12:00:00.123456789Z",
        "modified": "2026-03-03T12:00:00.123456789Z",
        "last-enabled": "0001-01-01T00:00:00Z",
    }
    task.update(fields)
    return task


def _tick(tmp_path, text="stream\n    |from()\n        .where(lambda: \"usage\" < 10 AND TRUE)\n"):
    path = tmp_path / "cpu.tick"
    path.write_text(text)
    return str(path)


# -- define ----------------------------------------------------------------


def test_define_creates_a_new_disabled_task(kapacitor, server, tmp_path):
    server.error("GET", TASKS + "/cpu", 404, NO_TASK)
    server.reply("POST", TASKS, json_body=_task("cpu"))
    tick = _tick(tmp_path)
    result = kapacitor("define", "cpu", "-type", "stream", "-tick", tick, "-dbrp", "telegraf.autogen")
    assert (result.code, result.out, result.err) == (0, "", "")
    assert server.calls() == [("GET", TASKS + "/cpu"), ("POST", TASKS)]
    get = server.requests[0]
    assert get.query == [("dot-view", "attributes"), ("replay-id", ""), ("script-format", "formatted")]
    post = server.requests[1]
    # Go's encoder: struct field order, HTML characters escaped, trailing newline.
    assert post.body == (
        b'{"id":"cpu","type":"stream","dbrps":[{"db":"telegraf","rp":"autogen"}],'
        b'"script":"stream\\n    |from()\\n        .where(lambda: \\"usage\\" \\u003c 10 AND TRUE)\\n",'
        b'"status":"disabled"}\n'
    )
    assert post.headers["content-type"] == "application/json"


def test_define_updates_only_the_given_fields_of_an_existing_task(kapacitor, server, tmp_path):
    server.reply("GET", TASKS + "/cpu", json_body=_task("cpu"))
    server.reply("PATCH", TASKS + "/cpu", json_body=_task("cpu"))
    result = kapacitor("define", "cpu", "-tick", _tick(tmp_path, "batch\n"))
    assert result.code == 0, result.err
    assert server.calls() == [("GET", TASKS + "/cpu"), ("PATCH", TASKS + "/cpu")]
    assert server.requests[1].json() == {"script": "batch\n"}


def test_define_reloads_an_enabled_task(kapacitor, server, tmp_path):
    server.reply("GET", TASKS + "/cpu", json_body=_task("cpu", status="enabled"))
    server.reply("PATCH", TASKS + "/cpu", json_body=_task("cpu"))
    result = kapacitor("define", "cpu", "-dbrp", '"my.db"."my rp"', "-dbrp", "b.c")
    assert result.code == 0, result.err
    bodies = [r.json() for r in server.requests if r.method == "PATCH"]
    assert bodies == [
        {"dbrps": [{"db": "my.db", "rp": "my rp"}, {"db": "b", "rp": "c"}]},
        {"status": "disabled"},
        {"status": "enabled"},
    ]


def test_define_no_reload_leaves_an_enabled_task_running(kapacitor, server, tmp_path):
    server.reply("GET", TASKS + "/cpu", json_body=_task("cpu", status="enabled"))
    server.reply("PATCH", TASKS + "/cpu", json_body=_task("cpu"))
    result = kapacitor("define", "cpu", "-tick", _tick(tmp_path), "-no-reload")
    assert result.code == 0, result.err
    assert [r.method for r in server.requests] == ["GET", "PATCH"]


def test_define_sends_vars_normalised_by_type(kapacitor, server, tmp_path):
    server.error("GET", TASKS + "/cpu", 404, NO_TASK)
    server.reply("POST", TASKS, json_body=_task("cpu"))
    vars_file = tmp_path / "vars.json"
    vars_file.write_text(json.dumps({
        "period": {"type": "duration", "value": "1m"},
        "crit": {"type": "float", "value": 80, "description": "threshold"},
        "tags": {"type": "list", "value": [{"type": "string", "value": "host"}]},
    }))
    result = kapacitor("define", "cpu", "-template", "tpl", "-vars", str(vars_file), "-dbrp", "db.rp")
    assert result.code == 0, result.err
    body = server.requests[1].json()
    assert list(body) == ["id", "template-id", "dbrps", "status", "vars"]
    assert body["vars"] == {
        "crit": {"type": "float", "value": 80.0, "description": "threshold"},
        "period": {"type": "duration", "value": 60_000_000_000, "description": ""},
        "tags": {"type": "list", "value": [{"type": "string", "value": "host", "description": ""}], "description": ""},
    }


def test_define_with_a_bad_vars_file_is_an_error(kapacitor, server, tmp_path):
    vars_file = tmp_path / "vars.json"
    vars_file.write_text("{not json")
    result = kapacitor("define", "cpu", "-vars", str(vars_file))
    assert result.code == 3
    assert result.err.startswith("Error: invalid JSON in file %s: " % vars_file)
    assert server.requests == []


def test_define_from_a_json_task_file(kapacitor, server, tmp_path):
    server.error("GET", TASKS + "/cpu", 404, NO_TASK)
    server.reply("POST", TASKS, json_body=_task("cpu"))
    task_file = tmp_path / "cpu.json"
    task_file.write_text(json.dumps({
        "template-id": "tpl",
        "dbrps": [{"db": "telegraf", "rp": "autogen"}],
        "vars": {"x": {"type": "int", "value": 3}},
    }))
    result = kapacitor("define", "cpu", "-file", str(task_file))
    assert result.code == 0, result.err
    assert server.requests[1].body == (
        b'{"id":"cpu","template-id":"tpl","dbrps":[{"db":"telegraf","rp":"autogen"}],'
        b'"vars":{"x":{"type":"int","value":3,"description":""}}}\n'
    )


def test_define_file_id_must_match_the_command_line(kapacitor, server, tmp_path):
    server.error("GET", TASKS + "/cpu", 404, NO_TASK)
    task_file = tmp_path / "t.json"
    task_file.write_text('{"id": "other", "template-id": "tpl"}')
    result = kapacitor("define", "cpu", "-file", str(task_file))
    assert (result.code, result.err) == (
        3, "Error: Task id given on command line does not match id in %s\n" % task_file
    )


def test_define_with_an_unknown_file_extension(kapacitor, server, tmp_path):
    task_file = tmp_path / "t.txt"
    task_file.write_text("{}")
    result = kapacitor("define", "cpu", "-file", str(task_file))
    assert (result.code, result.err) == (3, "Error: bad file extension. Must be YAML or JSON\n")


def test_define_without_a_task_id_prints_usage_and_exits_2(kapacitor, server):
    result = kapacitor("define", "-tick", "x.tick")
    assert result.code == 2
    assert result.err.startswith("Must provide a task ID.\nUsage: kapacitor define <task ID> [options]\n")
    assert result.err.endswith("  -vars string\n    \tOptional path to a JSON vars file\n")
    assert server.requests == []


def test_define_with_a_malformed_dbrp_exits_2(kapacitor, server):
    result = kapacitor("define", "cpu", "-dbrp", "nodot")
    assert result.code == 2
    assert result.err.startswith(
        'invalid value "nodot" for flag -dbrp: does not contain a \'.\', it must be in '
        'the form "dbname"."rpname" where the quotes are optional.\nUsage: kapacitor define'
    )


def test_define_with_a_missing_tickscript_file(kapacitor, server, tmp_path):
    missing = tmp_path / "missing.tick"
    result = kapacitor("define", "cpu", "-tick", str(missing))
    assert (result.code, result.err) == (3, "Error: open %s: no such file or directory\n" % missing)


def test_define_shows_the_servers_error(kapacitor, server, tmp_path):
    server.error("GET", TASKS + "/cpu", 404, NO_TASK)
    server.error("POST", TASKS, 400, "must specify dbrp")
    result = kapacitor("define", "cpu", "-tick", _tick(tmp_path))
    assert (result.code, result.out, result.err) == (3, "", "Error: must specify dbrp\n")


def test_define_with_an_error_body_that_is_not_json(kapacitor, server, tmp_path):
    server.error("GET", TASKS + "/cpu", 404, NO_TASK)
    server.reply("POST", TASKS, status=502, raw=b"bad gateway")
    result = kapacitor("define", "cpu", "-tick", _tick(tmp_path))
    assert result.err == "Error: invalid response: code 502: body: bad gateway\n"


# -- enable, disable, reload -------------------------------------------------


def _listing(*ids: str) -> dict:
    return {"tasks": [{"link": {"rel": "self", "href": "%s/%s" % (TASKS, i)}, "id": i} for i in ids]}


def test_enable_patches_every_task_matching_the_glob(kapacitor, server):
    server.reply("GET", TASKS, json_body=_listing("cpu_alert", "mem_alert"))
    server.reply("PATCH", TASKS + "/cpu_alert", json_body=_task("cpu_alert"))
    server.reply("PATCH", TASKS + "/mem_alert", json_body=_task("mem_alert"))
    result = kapacitor("enable", "*_alert")
    assert (result.code, result.out, result.err) == (0, "", "")
    listing = server.requests[0]
    assert listing.query == [
        ("dot-view", "attributes"),
        ("fields", "link"),
        ("limit", "100"),
        ("offset", "0"),
        ("pattern", "*_alert"),
        ("replay-id", ""),
        ("script-format", "formatted"),
    ]
    assert [(r.path, r.body) for r in server.requests[1:]] == [
        (TASKS + "/cpu_alert", b'{"status":"enabled"}\n'),
        (TASKS + "/mem_alert", b'{"status":"enabled"}\n'),
    ]


def test_disable_sends_disabled(kapacitor, server):
    server.reply("GET", TASKS, json_body=_listing("cpu"))
    server.reply("PATCH", TASKS + "/cpu", json_body=_task("cpu"))
    kapacitor("disable", "cpu")
    assert server.requests[1].json() == {"status": "disabled"}


def test_reload_disables_then_enables(kapacitor, server):
    server.reply("GET", TASKS, json_body=_listing("cpu"))
    server.reply("PATCH", TASKS + "/cpu", json_body=_task("cpu"))
    kapacitor("reload", "cpu")
    assert [r.body for r in server.requests if r.method == "PATCH"] == [
        b'{"status":"disabled"}\n',
        b'{"status":"enabled"}\n',
    ]


def test_enable_failure_names_the_task(kapacitor, server):
    server.reply("GET", TASKS, json_body=_listing("cpu"))
    server.error("PATCH", TASKS + "/cpu", 400, "invalid TICKscript: boom")
    result = kapacitor("enable", "cpu")
    assert (result.code, result.err) == (3, "Error: enabling task cpu: invalid TICKscript: boom\n")


def test_enable_listing_failure_is_wrapped(kapacitor, server):
    server.error("GET", TASKS, 403, 'user bob does not have "read" privilege for API endpoint "/kapacitor/v1/tasks"', compact=True)
    result = kapacitor("enable", "cpu")
    assert result.err == (
        'Error: listing tasks: user bob does not have "read" privilege for API endpoint '
        '"/kapacitor/v1/tasks"\n'
    )


def test_enable_without_ids_exits_2(kapacitor, server):
    result = kapacitor("enable")
    assert result.code == 2
    assert result.err.startswith("Must pass at least one task ID\nUsage: kapacitor enable [task ID...]\n")


# -- show, list, delete ---------------------------------------------------------


def test_show_prints_the_task_like_the_original(kapacitor, server):
    task = _task(
        "cpu_alert",
        status="enabled",
        executing=True,
        modified="2026-03-04T08:30:00.5+05:45",
        vars={
            "crit": {"type": "lambda", "value": '"usage_idle" < 10', "description": ""},
            "period": {"type": "duration", "value": 60_000_000_000, "description": ""},
            "ratio": {"type": "float", "value": 1000000.0, "description": ""},
            "tags": {"type": "list", "value": [{"type": "string", "value": "host"}, {"type": "star", "value": None}], "description": ""},
        },
    )
    server.reply("GET", TASKS + "/cpu_alert", json_body=task)
    result = kapacitor("show", "cpu_alert")
    assert result.code == 0, result.err
    assert result.out == (
        "ID: cpu_alert\n"
        "Error: \n"
        "Template: \n"
        "Type: stream\n"
        "Status: enabled\n"
        "Executing: true\n"
        "Created: 03 Mar 26 12:00 UTC\n"
        "Modified: 04 Mar 26 08:30 +0545\n"
        "LastEnabled: 01 Jan 01 00:00 UTC\n"
        'Databases Retention Policies: ["telegraf"."autogen"]\n'
        "TICKscript:\n"
        "stream\n"
        "    |from()\n"
        "        .measurement('cpu')\n"
        "\n"
        "Vars:\n"
        "Name                          Type      Value                                   \n"
        'crit                          lambda    "usage_idle" < 10                       \n'
        "period                        duration  1m0s                                    \n"
        "ratio                         float     1e+06                                   \n"
        "tags                          list      [host, *]                               \n"
        "DOT:\n"
        "digraph cpu_alert {\n"
        "stream0 -> from1;\n"
        "}\n"
    )


def test_show_with_replay_passes_the_replay_id(kapacitor, server):
    server.reply("GET", TASKS + "/cpu", json_body=_task("cpu"))
    kapacitor("show", "-replay", "r1", "cpu")
    assert server.requests[0].param("replay-id") == ["r1"]


def test_show_of_a_missing_task(kapacitor, server):
    server.error("GET", TASKS + "/nope", 404, NO_TASK)
    result = kapacitor("show", "nope")
    assert (result.code, result.out, result.err) == (3, "", "Error: no task exists\n")


def test_show_needs_exactly_one_id(kapacitor, server):
    result = kapacitor("show", "a", "b")
    assert result.code == 2
    assert result.err.startswith("Must specify one task ID\nUsage: kapacitor show [-replay] [task ID]\n")


def test_list_tasks_prints_the_original_table(kapacitor, server):
    server.reply("GET", TASKS, json_body={"tasks": [
        {"link": {"rel": "self", "href": TASKS + "/cpu_alert"}, "id": "cpu_alert", "type": "stream",
         "status": "enabled", "executing": True, "dbrps": [{"db": "telegraf", "rp": "autogen"}]},
        {"link": {"rel": "self", "href": TASKS + "/batch_job_long_name"}, "id": "batch_job_long_name",
         "type": "batch", "status": "disabled", "executing": False,
         "dbrps": [{"db": "a", "rp": "b"}, {"db": "c", "rp": "d"}]},
    ]})
    result = kapacitor("list", "tasks")
    assert result.code == 0, result.err
    assert result.out == (
        "ID                  Type      Status    Executing Databases and Retention Policies\n"
        'batch_job_long_name batch     disabled  false     ["a"."b" "c"."d"]\n'
        'cpu_alert           stream    enabled   true      ["telegraf"."autogen"]\n'
    )
    assert server.requests[0].param("fields") == ["type", "status", "executing", "dbrps"]
    assert server.requests[0].param("pattern") == [""]


def test_list_tasks_with_no_tasks_prints_the_header(kapacitor, server):
    server.reply("GET", TASKS, json_body={"tasks": []})
    result = kapacitor("list", "tasks", "x*")
    assert result.out == "ID Type      Status    Executing Databases and Retention Policies\n"


def test_list_without_a_kind_exits_2(kapacitor, server):
    result = kapacitor("list")
    assert result.code == 2
    assert result.err.startswith(
        "Must specify 'tasks', 'templates', 'recordings', 'replays', 'topics', 'topic-handlers', "
        "'service-tests' or 'users'\n"
        "Usage: kapacitor list"
    )


def test_list_of_an_unknown_kind_is_an_error(kapacitor, server):
    result = kapacitor("list", "widgets")
    assert (result.code, result.err) == (
        3,
        "Error: cannot list 'widgets' did you mean 'tasks', 'templates', 'recordings', "
        "'replays', 'topics', 'topic-handlers', 'service-tests' or 'users'?\n",
    )


def test_delete_tasks_deletes_each_listed_task(kapacitor, server):
    server.reply("GET", TASKS, json_body=_listing("a_alert", "b_alert"))
    server.reply("DELETE", TASKS + "/a_alert", status=204)
    server.reply("DELETE", TASKS + "/b_alert", status=204)
    result = kapacitor("delete", "tasks", "*_alert")
    assert (result.code, result.out, result.err) == (0, "", "")
    assert server.calls() == [("GET", TASKS), ("DELETE", TASKS + "/a_alert"), ("DELETE", TASKS + "/b_alert")]
    assert server.requests[0].param("fields") == ["link"]


def test_delete_without_ids_exits_2(kapacitor, server):
    result = kapacitor("delete", "tasks")
    assert result.code == 2
    assert result.err.startswith("Must pass at least one ID\nUsage: kapacitor delete")


def test_define_with_a_missing_vars_file(kapacitor, server, tmp_path):
    missing = tmp_path / "nope.json"
    result = kapacitor("define", "cpu", "-vars", str(missing))
    assert (result.code, result.err) == (
        3, "Error: failed to open file %s: open %s: no such file or directory\n" % (missing, missing)
    )


def test_define_from_yaml_without_pyyaml_says_what_is_missing(kapacitor, server, tmp_path, monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "yaml", None)  # make "import yaml" fail
    task_file = tmp_path / "cpu.yaml"
    task_file.write_text("template-id: tpl\n")
    result = kapacitor("define", "cpu", "-file", str(task_file))
    assert result.code == 3
    assert result.err == (
        'Error: failed to unmarshal yaml task vars file "%s": reading YAML needs the PyYAML '
        "package; install it or use a .json file\n" % task_file
    )
