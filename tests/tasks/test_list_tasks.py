"""``GET /tasks`` parameters (reference §6.4)."""

from __future__ import annotations

import pytest

from tests.tasks.support import TASKS, assert_error, define, go_pretty


@pytest.fixture
def three(h):
    for task_id in ("b_task", "a_task", "a_other"):
        define(h, task_id=task_id)
    return h


def ids(reply):
    assert reply.code == 200, reply.body
    return [t["id"] for t in reply.json()["tasks"]]


def test_tasks_are_listed_in_id_byte_order(three):
    assert ids(three.get(TASKS)) == ["a_other", "a_task", "b_task"]


def test_pattern_is_a_go_glob(three):
    assert ids(three.get(TASKS + "?pattern=a_*")) == ["a_other", "a_task"]
    assert ids(three.get(TASKS + "?pattern=%5Bb%5D*")) == ["b_task"]
    assert ids(three.get(TASKS + "?pattern=%5B")) == []


def test_offset_and_limit_page_through_matches(three):
    assert ids(three.get(TASKS + "?offset=1&limit=1")) == ["a_task"]
    assert ids(three.get(TASKS + "?limit=0")) == []
    assert ids(three.get(TASKS + "?pattern=a_*&offset=1")) == ["a_task"]


def test_negative_limit_lists_everything_ignoring_pattern_and_offset(three):
    assert ids(three.get(TASKS + "?limit=-1&pattern=b*&offset=2")) == [
        "a_other", "a_task", "b_task"]


@pytest.mark.parametrize("name", ["offset", "limit"])
def test_non_integer_offset_or_limit_gets_400(three, name):
    assert_error(three.get(TASKS + f"?{name}=x"), 400,
                 f'invalid {name} parameter "x" must be an integer: '
                 'strconv.ParseInt: parsing "x": invalid syntax')


def test_fields_select_keys_and_always_add_id_and_link(three):
    reply = three.get(TASKS + "?fields=status&limit=1")
    assert reply.body == go_pretty({"tasks": [{
        "id": "a_other",
        "link": {"rel": "self", "href": "/kapacitor/v1/tasks/a_other"},
        "status": "disabled",
    }]})


def test_unsupported_field_gets_400(three):
    assert_error(three.get(TASKS + "?fields=status&fields=color"), 400,
                 'unsupported field "color"')


def test_unsupported_field_gets_400_even_when_nothing_matches(three):
    assert_error(three.get(TASKS + "?fields=color&pattern=none"), 400, 'unsupported field "color"')


def test_parameters_are_checked_in_the_original_order(three):
    assert three.get(TASKS + "?fields=color&script-format=x&dot-view=y&offset=z").error == (
        'invalid script-format parameter "x"')
    assert three.get(TASKS + "?fields=color&dot-view=y&offset=z").error == (
        'invalid dot-view parameter "y"')
    assert three.get(TASKS + "?fields=color&offset=z&limit=w").error.startswith(
        'invalid offset parameter "z"')
    assert three.get(TASKS + "?fields=color&limit=w").error.startswith(
        'invalid limit parameter "w"')


def test_bad_script_format_and_dot_view_get_400(three):
    assert_error(three.get(TASKS + "?script-format=x"), 400, 'invalid script-format parameter "x"')
    assert_error(three.get(TASKS + "?dot-view=x"), 400, 'invalid dot-view parameter "x"')


def test_list_entries_omit_empty_template_id_and_null_stats(three):
    entry = three.get(TASKS + "?limit=1").json()["tasks"][0]
    assert "template-id" not in entry
    assert entry["stats"] is None
    assert list(entry) == sorted(entry)


def test_list_of_stored_task_that_no_longer_compiles_has_null_dot(three):
    record = three.store.get_now("tasks", "a_task")
    record["script"] = "stream|from("
    three.store.put("tasks", "a_task", record)
    entry = three.get(TASKS + "?pattern=a_task&script-format=raw").json()["tasks"][0]
    assert entry["dot"] is None
    assert entry["script"] == "stream|from("


def test_a_long_listing_gives_the_reactor_turns_and_answers_the_same(h, monkeypatch):
    """Listing 1,000 tasks' stats costs ~0.2 s of encoding: it is done in
    slices between reactor turns (here every task, ``Clock`` turns), and the
    body is exactly the one made in a single turn."""
    from kapacitord_tw.http import tasks as tasks_area

    for i in range(12):
        define(h, task_id=f"t{i:02d}")
    whole = h.get(TASKS + "?fields=stats&fields=dot&fields=script")
    assert whole.code == 200 and len(whole.json()["tasks"]) == 12
    monkeypatch.setattr(tasks_area, "LIST_SLICE_SECONDS", 0.0)
    yields = []
    real = tasks_area.deferLater
    monkeypatch.setattr(tasks_area, "deferLater",
                        lambda *a: yields.append(a[1]) or real(*a))
    d = h.start("GET", TASKS + "?fields=stats&fields=dot&fields=script")
    done = []
    d.addBoth(done.append)
    for _ in range(5):
        h.stub.flush()
    assert not done and yields == [0]  # waiting for its next turn
    for _ in range(200):
        h.stub.flush()
        if done:
            break
        h.clock.advance(0)
    assert len(yields) == 12
    assert done[0].code == 200 and done[0].body == whole.body
