"""``/templates`` (reference §6.7) and tasks created from templates."""

from __future__ import annotations

import pytest

from tests.tasks.support import TASKS, TELEGRAF, TEMPLATES, assert_error, go_pretty

TEMPLATE_SCRIPT = (
    "var measurement string\n"
    "\n"
    "var crit = 10\n"
    "\n"
    "stream\n"
    "    |from()\n"
    "        .measurement(measurement)\n"
    "    |alert()\n"
    "        .crit(lambda: \"usage_idle\" < crit)\n"
)
INVALID_ID = "template ID must contain only letters, numbers, '-', '.' and '_'. "
CREATED = "2026-03-03T12:00:00.123456789Z"


def make_template(h, template_id="tpl", script=TEMPLATE_SCRIPT):
    reply = h.post(TEMPLATES, {"id": template_id, "script": script})
    assert reply.code == 200, reply.body
    return reply.json()


def make_task(h, task_id="from_tpl", template_id="tpl", status="disabled", **vars_):
    variables = {"measurement": {"type": "string", "value": "cpu"}}
    variables.update(vars_)
    reply = h.post(TASKS, {"id": task_id, "template-id": template_id, "dbrps": TELEGRAF,
                           "vars": variables, "status": status})
    assert reply.code == 200, reply.body
    return reply.json()


def test_template_object_in_go_order(h):
    reply = h.post(TEMPLATES, {"id": "tpl", "type": "stream", "script": TEMPLATE_SCRIPT})
    expected = {
        "link": {"rel": "self", "href": "/kapacitor/v1/templates/tpl"},
        "id": "tpl",
        "type": "stream",
        "script": TEMPLATE_SCRIPT,
        "vars": {
            "crit": {"type": "int", "value": 10, "description": ""},
            "measurement": {"type": "string", "value": None, "description": ""},
        },
        "dot": "digraph tpl {\nstream0 -> from1;\nfrom1 -> alert2;\n}",
        "error": "",
        "created": CREATED,
        "modified": CREATED,
    }
    assert (reply.code, reply.body) == (200, go_pretty(expected))
    assert h.get(TEMPLATES + "/tpl").body == go_pretty(expected)


def test_create_template_checks(h):
    assert_error(h.post(TEMPLATES, b"{"), 400, "invalid JSON")
    assert_error(h.post(TEMPLATES, {"id": "a b", "script": TEMPLATE_SCRIPT}), 400,
                 INVALID_ID + '"a b"')
    make_template(h)
    assert_error(h.post(TEMPLATES, {"id": "tpl", "script": TEMPLATE_SCRIPT}), 400,
                 "template tpl already exists")
    assert h.post(TEMPLATES, {"id": "t2", "script": "stream|from("}).error.startswith(
        "invalid TICKscript: ")
    assert_error(h.post(TEMPLATES, {"id": "t2", "script": ""}), 400, "invalid task type: invalid")
    assert_error(h.post(TEMPLATES, {"id": "t2"}), 400, "invalid task type: invalid")
    assert h.post(TEMPLATES, {"id": "t2", "script": "stream|from().bogus()"}).error.startswith(
        "invalid TICKscript: ")


def test_template_without_id_gets_a_uuid(h):
    reply = h.post(TEMPLATES, {"script": TEMPLATE_SCRIPT})
    assert reply.code == 200 and len(reply.json()["id"]) == 36


def test_get_template_errors(h):
    assert_error(h.get(TEMPLATES + "/"), 400, "must specify template id on path")
    assert_error(h.get(TEMPLATES + "/nope"), 404, "no template exists")
    make_template(h)
    assert_error(h.get(TEMPLATES + "/tpl?script-format=x"), 400,
                 'invalid script-format parameter "x"')


def test_task_from_template_uses_its_script_and_type(h):
    make_template(h)
    task = make_task(h, status="enabled")
    assert task["template-id"] == "tpl"
    assert task["script"] == TEMPLATE_SCRIPT
    assert task["executing"] is True
    assert task["vars"]["measurement"] == {"type": "string", "value": "cpu", "description": ""}
    assert h.store.get_now("templates", "tpl")["tasks"] == ["from_tpl"]


def test_task_from_template_missing_a_var_gets_400(h):
    make_template(h)
    reply = h.post(TASKS, {"id": "t", "template-id": "tpl", "dbrps": TELEGRAF})
    assert reply.code == 400 and reply.error.startswith("invalid TICKscript: ")


def test_template_update_rewrites_and_restarts_its_tasks(h):
    make_template(h)
    make_task(h, "enabled_one", status="enabled")
    make_task(h, "disabled_one")
    new_script = TEMPLATE_SCRIPT.replace("|alert()", "|log()\n    |alert()")
    reply = h.patch(TEMPLATES + "/tpl", {"script": new_script})
    assert reply.code == 200
    for task_id in ("enabled_one", "disabled_one"):
        task = h.get(TASKS + "/" + task_id + "?script-format=raw").json()
        assert task["script"] == new_script
    running = h.app.tasks.master.executing("enabled_one")
    assert [n.name for n in running.compiled.pipeline.nodes] == [
        "stream0", "from1", "log2", "alert3"]
    assert not h.app.tasks.master.is_executing("disabled_one")


def test_template_rename_moves_tasks_to_the_new_id(h):
    make_template(h)
    make_task(h)
    reply = h.patch(TEMPLATES + "/tpl", {"id": "tpl2"})
    assert reply.code == 200 and reply.json()["id"] == "tpl2"
    assert h.get(TEMPLATES + "/tpl").code == 404
    assert h.get(TASKS + "/from_tpl").json()["template-id"] == "tpl2"
    assert h.store.get_now("templates", "tpl2")["tasks"] == ["from_tpl"]


def test_template_update_that_breaks_an_enabled_task_rolls_back_with_500(h):
    make_template(h)
    make_task(h, status="enabled")
    # a new var without default that the task does not set: the restart fails
    broken = "var extra string\n" + TEMPLATE_SCRIPT.replace(".measurement(measurement)",
                                                           ".measurement(extra)")
    reply = h.patch(TEMPLATES + "/tpl", {"script": broken})
    assert reply.code == 500
    assert reply.error.startswith("error reloading associated task from_tpl: ")
    assert h.get(TASKS + "/from_tpl?script-format=raw").json()["script"] == TEMPLATE_SCRIPT
    assert h.get(TEMPLATES + "/tpl?script-format=raw").json()["script"] == TEMPLATE_SCRIPT
    task = h.get(TASKS + "/from_tpl").json()
    assert (task["executing"], task["error"]) == (True, "")


def test_template_update_checks(h):
    assert_error(h.patch(TEMPLATES + "/nope", {"script": TEMPLATE_SCRIPT}), 404,
                 "template does not exist, cannot update")
    make_template(h)
    make_template(h, "other")
    assert_error(h.patch(TEMPLATES + "/tpl", b"x"), 400, "invalid JSON")
    assert_error(h.patch(TEMPLATES + "/tpl", {"id": "bad id"}), 400, INVALID_ID + '"bad id"')
    assert h.patch(TEMPLATES + "/tpl", {"script": "stream|from("}).error.startswith(
        "invalid TICKscript: ")
    assert_error(h.patch(TEMPLATES + "/tpl", {"id": "other"}), 500,
                 "failed to create new template for ID change: template already exists")


def test_delete_template_keeps_tasks_with_dangling_template_id(h):
    make_template(h)
    make_task(h)
    assert h.delete(TEMPLATES + "/tpl").code == 204
    assert h.delete(TEMPLATES + "/tpl").code == 204
    task = h.get(TASKS + "/from_tpl").json()
    assert task["template-id"] == "tpl"


def test_patch_of_templated_task_with_unknown_template_names_the_requested_id(h):
    make_template(h)
    make_task(h)
    h.delete(TEMPLATES + "/tpl")
    assert_error(h.patch(TASKS + "/from_tpl", {"status": "enabled"}), 400,
                 "unknown template : err: no template exists")
    assert_error(h.patch(TASKS + "/from_tpl", {"template-id": "gone"}), 400,
                 "unknown template gone: err: no template exists")


def test_deleting_a_task_removes_its_association(h):
    make_template(h)
    make_task(h)
    h.delete(TASKS + "/from_tpl")
    assert h.store.get_now("templates", "tpl")["tasks"] == []


def test_list_templates_sorted_keys_and_vars_on_request(h):
    make_template(h, "b")
    make_template(h, "a")
    listed = h.get(TEMPLATES).json()["templates"]
    assert [t["id"] for t in listed] == ["a", "b"]
    assert list(listed[0]) == sorted(["link", "id", "type", "script", "dot", "error",
                                      "created", "modified"])
    with_vars = h.get(TEMPLATES + "?fields=vars").json()["templates"][0]
    assert list(with_vars) == ["id", "link", "vars"]


@pytest.mark.parametrize("query, ids", [("?pattern=a*", ["a1", "a2"]),
                                        ("?offset=1&limit=1", ["a2"]),
                                        ("?limit=-1", []), ("?limit=0", [])])
def test_list_templates_paging(h, query, ids):
    for template_id in ("a1", "a2", "b1"):
        make_template(h, template_id)
    assert [t["id"] for t in h.get(TEMPLATES + query).json()["templates"]] == ids


def test_stored_template_that_no_longer_compiles_lists_as_empty_object(h):
    make_template(h)
    record = h.store.get_now("templates", "tpl")
    record["script"] = "stream|from("
    h.store.put("templates", "tpl", record)
    assert h.get(TEMPLATES).body == go_pretty({"templates": [{}]})
    shown = h.get(TEMPLATES + "/tpl").json()
    assert (shown["dot"], shown["vars"]) == ("", {})
    assert "unexpected EOF" in shown["error"]


def test_renaming_a_templated_task_moves_its_association(h):
    make_template(h)
    make_task(h)
    assert h.patch(TASKS + "/from_tpl", {"id": "renamed"}).code == 200
    assert h.store.get_now("templates", "tpl")["tasks"] == ["renamed"]


def test_switching_a_task_to_another_template_moves_its_association(h):
    make_template(h)
    make_template(h, "tpl2", TEMPLATE_SCRIPT.replace("|alert()", "|log()\n    |alert()"))
    make_task(h)
    task = h.patch(TASKS + "/from_tpl", {"template-id": "tpl2"}).json()
    assert task["template-id"] == "tpl2"
    assert "log2" in task["dot"]
    assert h.store.get_now("templates", "tpl")["tasks"] == []
    assert h.store.get_now("templates", "tpl2")["tasks"] == ["from_tpl"]


def test_template_var_json_cannot_carry_is_a_400_and_nothing_is_stored(tmp_path):
    from tests.tasks.support import make_harness

    h = make_harness(tmp_path)
    script = "var x = 1.0 / 0.0\nstream|from().measurement('m')|eval(lambda: x).as('y')"
    r = h.post("/kapacitor/v1/templates", {"id": "inf", "script": script})
    assert r.code == 400
    assert r.error == "invalid TICKscript: var x: json: unsupported value: +Inf"
    assert h.get("/kapacitor/v1/templates/inf").code == 404
