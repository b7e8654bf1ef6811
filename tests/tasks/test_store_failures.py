"""A store that refuses writes: the API answers 500 with the store's error, as Kapacitor does."""

from __future__ import annotations

import pytest

from tests.tasks.support import CPU_SCRIPT, TASKS, TELEGRAF, TEMPLATES, define


@pytest.fixture
def closed(h):
    define(h)
    h.post(TEMPLATES, {"id": "tpl", "script": "stream|from()|log()"})
    h.store.close()
    return h


def test_create_task_on_a_failing_store_gets_500(closed):
    reply = closed.post(TASKS, {"id": "new", "script": CPU_SCRIPT, "dbrps": TELEGRAF})
    assert reply.code == 500 and reply.error == reply.json()["message"] != ""


def test_update_task_on_a_failing_store_gets_500_failed_to_replace(closed):
    reply = closed.patch(TASKS + "/cpu_alert", {"status": "enabled"})
    assert reply.code == 500
    assert reply.error.startswith("failed to replace task definition: ")


def test_rename_on_a_failing_store_gets_500_failed_to_create(closed):
    reply = closed.patch(TASKS + "/cpu_alert", {"id": "other"})
    assert reply.code == 500
    assert reply.error.startswith("failed to create new task during ID change: ")


def test_delete_task_on_a_failing_store_gets_500(closed):
    assert closed.delete(TASKS + "/cpu_alert").code == 500


def test_template_writes_on_a_failing_store_get_500(closed):
    assert closed.post(TEMPLATES, {"id": "t2", "script": "stream|from()|log()"}).code == 500
    reply = closed.patch(TEMPLATES + "/tpl", {"script": "stream|from()|log()|log()"})
    assert reply.code == 500
    assert reply.error.startswith("failed to replace template definition: ")
    assert closed.delete(TEMPLATES + "/tpl").code == 500
