"""Issue #10 item 3: bounded names and patterns, and old over-long records stay usable.

A 1 MB task id with ``pattern=*b`` froze the daemon for 16 s (the glob
port copied the rest of the name at every byte), and nothing bounded the
length of new ids, user names or patterns.
"""

from __future__ import annotations

import time

import pytest

from kapacitord_tw.names import MAX_NAME_BYTES
from kapacitord_tw.tasks.model import Task
from tests.http.harness import V1, Harness, err_body
from tests.tasks.support import CPU_SCRIPT, TELEGRAF

USERS = V1 + "/users"
TASKS = V1 + "/tasks"
TEMPLATES = V1 + "/templates"


@pytest.fixture
def h(tmp_path):
    return Harness(tmp_path, http_auth=False)


def _stored_task(h, task_id: str) -> None:
    fired = []
    h.app.tasks.tasks.put_task(Task(id=task_id, script=CPU_SCRIPT, dbrps=TELEGRAF,
                                    created=1, modified=1)).addBoth(fired.append)
    assert fired == [None]


def _timed(call):
    start = time.perf_counter()
    reply = call()
    return reply, time.perf_counter() - start


# ----------------------------------------------------------- name limits

def test_user_name_over_the_limit_is_a_400(h):
    name = "u" * (MAX_NAME_BYTES + 1)
    r = h.post(USERS, {"name": name, "password": "pw"})
    message = f"username is too long: at most {MAX_NAME_BYTES} bytes are allowed, got {MAX_NAME_BYTES + 1}"
    assert (r.code, r.body) == (400, err_body(message, pretty=True))
    assert h.post(USERS, {"name": "u" * MAX_NAME_BYTES, "password": "pw"}).code == 200


def test_user_name_limit_counts_bytes(h):
    r = h.post(USERS, {"name": "é" * (MAX_NAME_BYTES // 2 + 1), "password": "pw"})
    assert r.code == 400
    assert r.error == (f"username is too long: at most {MAX_NAME_BYTES} bytes are allowed, "
                       f"got {MAX_NAME_BYTES + 2}")


def test_task_id_over_the_limit_is_a_400(h):
    task_id = "t" * (MAX_NAME_BYTES + 1)
    r = h.post(TASKS, {"id": task_id, "type": "stream", "script": CPU_SCRIPT, "dbrps": TELEGRAF})
    assert r.code == 400
    assert r.error == (f"task ID is too long: at most {MAX_NAME_BYTES} bytes are allowed, "
                       f"got {MAX_NAME_BYTES + 1}")
    assert h.store.count("tasks") == 0


def test_task_rename_over_the_limit_is_a_400(h):
    r = h.post(TASKS, {"id": "short", "type": "stream", "script": CPU_SCRIPT, "dbrps": TELEGRAF})
    assert r.code == 200
    r = h.patch(TASKS + "/short", {"id": "t" * 5000})
    assert r.code == 400
    assert r.error.startswith("task ID is too long")
    assert h.get(TASKS + "/short").code == 200


def test_template_id_over_the_limit_is_a_400(h):
    r = h.post(TEMPLATES, {"id": "x" * 1000, "type": "stream", "script": CPU_SCRIPT})
    assert r.code == 400
    assert r.error == f"template ID is too long: at most {MAX_NAME_BYTES} bytes are allowed, got 1000"


# -------------------------------------------------------------- patterns

@pytest.mark.parametrize("path", [USERS, TASKS, TEMPLATES])
def test_pattern_over_the_limit_is_a_400(h, path):
    r = h.get(path + "?pattern=" + "*a" * 2000 + "*b")
    assert r.code == 400
    assert r.error == "pattern is too long: at most 1024 bytes are allowed, got 4002"


def test_one_megabyte_task_id_in_the_store_and_star_b_answer_fast(h):
    _stored_task(h, "a" * (1 << 20))
    _stored_task(h, "cpu_b")
    r, elapsed = _timed(lambda: h.get(TASKS + "?pattern=*b&fields=id"))
    assert r.code == 200
    assert [t["id"] for t in r.json()["tasks"]] == ["cpu_b"]
    assert elapsed < 2.0


def test_long_user_name_and_many_stars_answer_fast(h):
    h.put_record("a" * (1 << 20))
    h.put_record("a" * 500 + "b")
    r, elapsed = _timed(lambda: h.get(USERS + "?pattern=" + "*a" * 500 + "*b"))
    assert r.code == 200
    assert [u["name"] for u in r.json()["users"]] == ["a" * 500 + "b"]
    # Over the pattern limit: refused before any matching.
    r, elapsed2 = _timed(lambda: h.get(USERS + "?pattern=" + "*a" * 2000 + "*b"))
    assert r.code == 400
    assert elapsed + elapsed2 < 2.0


def test_patterns_still_match_as_kapacitor_does(h):
    for name in ("cpu", "cpu_high", "mem", "cpu/x"):
        h.put_record(name)
    r = h.get(USERS + "?pattern=cpu*")
    assert [u["name"] for u in r.json()["users"]] == ["cpu", "cpu_high"]
    r = h.get(USERS + "?pattern=[a-m]e?")
    assert [u["name"] for u in r.json()["users"]] == ["mem"]


# ---------------------------------------------- old over-long records

def test_over_long_task_id_stored_earlier_can_be_read_and_deleted(h):
    task_id = "t" * 20_000
    _stored_task(h, task_id)
    r, elapsed = _timed(lambda: h.get(TASKS + "/" + task_id + "?fields=id"))
    assert r.code == 200
    assert r.json()["id"] == task_id
    r, elapsed2 = _timed(lambda: h.delete(TASKS + "/" + task_id))
    assert r.code == 204
    assert h.store.count("tasks") == 0
    assert elapsed + elapsed2 < 2.0


def test_over_long_user_name_stored_earlier_can_be_read_and_deleted(h):
    name = "u" * 100_000
    h.put_record(name)
    r = h.get(USERS + "/" + name)
    assert r.code == 200
    assert r.json()["name"] == name
    r, elapsed = _timed(lambda: h.delete(USERS + "/" + name))
    assert r.code == 204
    assert h.store.count("users") == 0
    assert elapsed < 2.0
