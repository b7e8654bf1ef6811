"""``POST /tasks``: every check of reference §6.3, in the original's order."""

from __future__ import annotations

import re

import pytest

from tests.tasks.support import CPU_SCRIPT, TASKS, TELEGRAF, assert_error, define

INVALID_ID = "task ID must contain only letters, numbers, '-', '.' and '_'. "


@pytest.mark.parametrize("body", [b"", b"{", b"[1]", b'{"id": 5}', b'{"type": "weird"}',
                                  b'{"status": "on"}', b'{"dbrps": {"db": "x"}}',
                                  b'{"vars": {"x": {"type": "nope", "value": 1}}}',
                                  b'{"vars": {"x": {"type": "int", "value": "1"}}}',
                                  b'{"vars": {"x": {"type": "duration", "value": "5 parsecs"}}}',
                                  b'{"vars": {"x": {"type": "list", "value": [1]}}}',
                                  b"[" * 100000])
def test_undecodable_body_gets_400_invalid_json(h, body):
    assert_error(h.post(TASKS, body), 400, "invalid JSON")


def test_missing_id_gets_a_random_uuid(h):
    reply = h.post(TASKS, {"script": CPU_SCRIPT, "dbrps": TELEGRAF})
    assert reply.code == 200
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}",
                        reply.json()["id"])


@pytest.mark.parametrize("task_id", ["has space", "a/b", "user@host", "tab\t"])
def test_invalid_id_gets_400_with_go_quoted_id(h, task_id):
    quoted = '"' + task_id.replace("\t", "\\t") + '"'
    assert_error(h.post(TASKS, {"id": task_id, "script": CPU_SCRIPT, "dbrps": TELEGRAF}),
                 400, INVALID_ID + quoted)


def test_letters_of_any_script_are_valid_in_ids(h):
    assert define(h, task_id="tâche-ü.1_x")["id"] == "tâche-ü.1_x"


def test_existing_task_gets_400_already_exists(h):
    define(h)
    assert_error(h.post(TASKS, {"id": "cpu_alert", "script": CPU_SCRIPT, "dbrps": TELEGRAF}),
                 400, "task cpu_alert already exists")


def test_unknown_template_gets_400(h):
    assert_error(h.post(TASKS, {"id": "t", "template-id": "nope", "dbrps": TELEGRAF}),
                 400, "unknown template nope: err: no template exists")


def test_missing_script_gets_400_must_provide_tickscript(h):
    assert_error(h.post(TASKS, {"id": "t", "dbrps": TELEGRAF}), 400, "must provide TICKscript")


def test_invalid_var_gets_400_invalid_var(h):
    reply = h.post(TASKS, {"id": "t", "script": CPU_SCRIPT, "dbrps": TELEGRAF,
                           "vars": {"x": {"type": "bool", "value": "yes"}}})
    assert reply.code == 400
    assert reply.error.startswith("invalid var x: ")


def test_unparsable_script_gets_400_invalid_tickscript(h):
    reply = h.post(TASKS, {"id": "t", "script": "stream|from(", "dbrps": TELEGRAF})
    assert reply.code == 400
    assert reply.error.startswith("invalid TICKscript: ")


@pytest.mark.parametrize("script", ["var x = 5", "stream|from()\nbatch|query('SELECT 1')"])
def test_script_without_single_kind_of_root_gets_400_invalid_task_type(h, script):
    assert_error(h.post(TASKS, {"id": "t", "type": "stream", "script": script,
                                "dbrps": TELEGRAF}),
                 400, "invalid task type: invalid")


def test_request_type_is_ignored_for_the_scripts_type(h):
    task = define(h, type="batch")
    assert task["type"] == "stream"


def test_script_that_does_not_compile_gets_400_invalid_tickscript(h):
    reply = h.post(TASKS, {"id": "t", "script": "stream|from().nosuchproperty(1)",
                           "dbrps": TELEGRAF})
    assert reply.code == 400
    assert reply.error.startswith("invalid TICKscript: ")


def test_no_dbrp_anywhere_gets_400_must_specify_dbrp(h):
    assert_error(h.post(TASKS, {"id": "t", "script": CPU_SCRIPT}), 400, "must specify dbrp")


def test_dbrp_in_script_and_body_gets_400(h):
    script = 'dbrp "telegraf"."autogen"\n' + CPU_SCRIPT
    assert_error(h.post(TASKS, {"id": "t", "script": script, "dbrps": TELEGRAF}),
                 400, "cannot specify dbrp in both implicitly and explicitly")


def test_implicit_dbrps_come_from_the_script(h):
    script = 'dbrp "telegraf"."autogen"\ndbrp "db2"."rp2"\n' + CPU_SCRIPT
    assert define(h, script=script, dbrps=None)["dbrps"] == [
        {"db": "telegraf", "rp": "autogen"}, {"db": "db2", "rp": "rp2"}]


def test_checks_run_in_the_original_order(h):
    # invalid id is reported before the missing script, the missing script
    # before bad vars, bad vars before the script's syntax, syntax before dbrps
    assert h.post(TASKS, {"id": "a b"}).error.startswith("task ID must")
    assert h.post(TASKS, {"id": "t", "vars": {"x": {"type": "bool", "value": 1}}}).error == (
        "must provide TICKscript")
    assert h.post(TASKS, {"id": "t", "script": "stream|from(",
                          "vars": {"x": {"type": "bool", "value": 1}}}).error.startswith(
        "invalid var x")
    assert h.post(TASKS, {"id": "t", "script": "stream|from("}).error.startswith(
        "invalid TICKscript")


def test_status_enabled_on_create_starts_the_task(h):
    task = define(h, status="enabled")
    assert (task["status"], task["executing"]) == ("enabled", True)
    assert task["last-enabled"] == task["created"]
    assert set(task["stats"]) == {"task-stats", "node-stats"}


def test_vars_are_kept_and_shown_sorted_with_durations_in_ns(h):
    script = ("var period = 1m\nvar crit = 10.0\nvar field string\n"
              "stream|from().measurement('cpu')|window().period(period).every(period)"
              "|alert().crit(lambda: field < crit)")
    task = define(h, script=script, vars={
        "period": {"type": "duration", "value": "5m"},
        "field": {"type": "string", "value": "usage_idle", "description": "what"},
        "crit": {"type": "float", "value": 5},
    })
    assert task["vars"] == {
        "crit": {"type": "float", "value": 5, "description": ""},
        "field": {"type": "string", "value": "usage_idle", "description": "what"},
        "period": {"type": "duration", "value": 300_000_000_000, "description": ""},
    }
    assert list(task["vars"]) == ["crit", "field", "period"]
    assert task["error"] == ""


def test_missing_template_var_value_is_a_compile_error(h):
    reply = h.post(TASKS, {"id": "t", "dbrps": TELEGRAF,
                           "script": "var f string\nstream|from().measurement(f)"})
    assert reply.code == 400
    assert reply.error.startswith("invalid TICKscript: ")


def test_created_task_is_on_disk_before_the_answer(h, tmp_path):
    define(h)
    assert b'"cpu_alert"' in (tmp_path / "store.journal").read_bytes()
