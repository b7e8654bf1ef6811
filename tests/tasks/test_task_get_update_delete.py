"""``GET``/``PATCH``/``DELETE /tasks/<id>`` (reference §6.4–§6.6)."""

from __future__ import annotations

import pytest

from tests.tasks.support import CPU_SCRIPT, TASKS, TELEGRAF, assert_error, define

INVALID_ID = "task ID must contain only letters, numbers, '-', '.' and '_'. "
SECOND_NS = 1_000_000_000


# ------------------------------------------------------------------ GET


@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
def test_empty_id_on_path_gets_400(h, method):
    assert_error(h.request(method, TASKS + "/", b"{}"), 400, "must specify task id on path")


def test_missing_task_gets_404_no_task_exists(h):
    assert_error(h.get(TASKS + "/nope"), 404, "no task exists")


def test_bad_script_format_gets_400(h):
    define(h)
    assert_error(h.get(TASKS + "/cpu_alert?script-format=pretty"), 400,
                 'invalid script-format parameter "pretty"')


def test_bad_dot_view_gets_400(h):
    define(h)
    assert_error(h.get(TASKS + "/cpu_alert?dot-view=svg"), 400, 'invalid dot-view parameter "svg"')


def test_unknown_replay_gets_400(h):
    define(h)
    assert_error(h.get(TASKS + "/cpu_alert?replay-id=r1"), 400, "no running replay with ID: r1")


def test_missing_task_is_404_before_bad_parameters(h):
    assert_error(h.get(TASKS + "/nope?script-format=pretty"), 404, "no task exists")


# ---------------------------------------------------------------- PATCH


def test_patch_bad_json_gets_400(h):
    define(h)
    assert_error(h.patch(TASKS + "/cpu_alert", b"nope"), 400, "invalid JSON")


def test_patch_missing_task_gets_404(h):
    assert_error(h.patch(TASKS + "/nope", {"status": "enabled"}), 404,
                 "task does not exist, cannot update")


def test_patch_changes_only_given_fields_and_updates_modified(h):
    define(h)
    h.app.tasks.now_ns = lambda: 1772539200123456789 + SECOND_NS
    task = h.patch(TASKS + "/cpu_alert", {"dbrps": [{"db": "other", "rp": "rp"}]}).json()
    assert task["dbrps"] == [{"db": "other", "rp": "rp"}]
    assert task["created"] == "2026-03-03T12:00:00.123456789Z"
    assert task["modified"] == "2026-03-03T12:00:01.123456789Z"
    assert task["status"] == "disabled"
    assert task["last-enabled"] == "0001-01-01T00:00:00Z"


def test_patch_new_script_replaces_the_old(h):
    define(h)
    task = h.patch(TASKS + "/cpu_alert", {"script": "stream|from().measurement('mem')"}).json()
    assert task["dot"] == "digraph cpu_alert {\nstream0 -> from1;\n}"


def test_patch_dropping_implicit_dbrps_without_body_dbrps_gets_400(h):
    define(h, script='dbrp "telegraf"."autogen"\n' + CPU_SCRIPT, dbrps=None)
    assert_error(h.patch(TASKS + "/cpu_alert", {"script": CPU_SCRIPT}), 400, "must specify dbrp")


def test_patch_implicit_and_body_dbrps_gets_400_without_both(h):
    define(h)
    assert_error(
        h.patch(TASKS + "/cpu_alert",
                {"script": 'dbrp "a"."b"\n' + CPU_SCRIPT, "dbrps": TELEGRAF}),
        400, "cannot specify dbrp in implicitly and explicitly")


def test_patch_implicit_dbrps_replace_stored_ones(h):
    define(h)
    task = h.patch(TASKS + "/cpu_alert", {"script": 'dbrp "a"."b"\n' + CPU_SCRIPT}).json()
    assert task["dbrps"] == [{"db": "a", "rp": "b"}]


def test_patch_bad_script_gets_400_and_keeps_the_task(h):
    define(h)
    reply = h.patch(TASKS + "/cpu_alert", {"script": "stream|from("})
    assert reply.code == 400 and reply.error.startswith("invalid TICKscript: ")
    assert h.get(TASKS + "/cpu_alert?script-format=raw").json()["script"] == CPU_SCRIPT


def test_patch_script_with_mixed_roots_gets_400_invalid_task_type(h):
    define(h)
    assert_error(h.patch(TASKS + "/cpu_alert", {"script": "var x = 1"}), 400,
                 "invalid task type: invalid")


def test_patch_non_empty_vars_replace_all_vars(h):
    script = "var a = 1\nvar b = 'x'\nstream|from().measurement(b)|log()"
    define(h, script=script, vars={"a": {"type": "int", "value": 5}})
    task = h.patch(TASKS + "/cpu_alert", {"vars": {"b": {"type": "string", "value": "y"}}}).json()
    assert task["vars"] == {"b": {"type": "string", "value": "y", "description": ""}}
    task = h.patch(TASKS + "/cpu_alert", {"vars": {}}).json()
    assert list(task["vars"]) == ["b"]


def test_patch_var_of_the_wrong_type_gets_400_invalid_var(h):
    define(h)
    assert_error(h.patch(TASKS + "/cpu_alert", {"vars": {"v": {"type": "bool", "value": "yes"}}}),
                 400, "invalid var v: unexpected var type bool, value is a string")


def test_patch_var_that_does_not_compile_gets_400_invalid_tickscript(h):
    define(h)
    reply = h.patch(TASKS + "/cpu_alert", {"vars": {"v": {"type": "regex", "value": "("}}})
    assert reply.code == 400
    assert reply.error.startswith("invalid TICKscript: invalid var v: invalid regex pattern: ")


def test_enable_then_disable_persists_status_and_last_enabled(h):
    define(h)
    h.app.tasks.now_ns = lambda: 1772539200123456789 + SECOND_NS
    h.patch(TASKS + "/cpu_alert", {"status": "enabled"})
    record = h.store.get_now("tasks", "cpu_alert")
    assert record["status"] == "enabled"
    assert record["last-enabled"] == 1772539200123456789 + SECOND_NS
    h.app.tasks.now_ns = lambda: 1772539200123456789 + 2 * SECOND_NS
    task = h.patch(TASKS + "/cpu_alert", {"status": "disabled"}).json()
    assert task["last-enabled"] == "2026-03-03T12:00:01.123456789Z"
    assert h.store.get_now("tasks", "cpu_alert")["status"] == "disabled"


def test_rename_moves_the_task(h):
    define(h, status="enabled")
    task = h.patch(TASKS + "/cpu_alert", {"id": "cpu_alert_2"}).json()
    assert task["id"] == "cpu_alert_2"
    assert task["link"]["href"] == "/kapacitor/v1/tasks/cpu_alert_2"
    assert task["executing"] is True
    assert h.get(TASKS + "/cpu_alert").code == 404
    master = h.app.tasks.master
    assert master.executing_ids() == ["cpu_alert_2"]


@pytest.mark.parametrize("new_id", ["has space", "a/b", "x@y", "new\nline"])
def test_rename_validates_the_new_id_like_create(h, new_id):
    define(h)
    quoted = '"' + new_id.replace("\n", "\\n") + '"'
    assert_error(h.patch(TASKS + "/cpu_alert", {"id": new_id}), 400, INVALID_ID + quoted)
    assert h.get(TASKS + "/cpu_alert").code == 200


def test_rename_onto_existing_task_gets_500(h):
    define(h)
    define(h, task_id="other")
    assert_error(h.patch(TASKS + "/cpu_alert", {"id": "other"}), 500,
                 "failed to create new task during ID change: task already exists")


# --------------------------------------------------------------- DELETE


def test_delete_missing_task_gets_204(h):
    reply = h.delete(TASKS + "/nope")
    assert (reply.code, reply.body) == (204, b"")


def test_delete_stops_an_enabled_task(h):
    define(h, status="enabled")
    assert h.delete(TASKS + "/cpu_alert").code == 204
    assert not h.app.tasks.master.is_executing("cpu_alert")
    assert h.store.get_now("tasks", "cpu_alert") is None
