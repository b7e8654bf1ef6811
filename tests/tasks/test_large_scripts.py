"""Big, deep or hostile input: 4xx in Kapacitor's shape, never a 500, never a stalled reactor."""

from __future__ import annotations

from twisted.internet.defer import fail

from kapacitord_tw.auth.workers import WorkersBusy
from kapacitord_tw.tasks import MAX_SCRIPT_BYTES
from tests.http.harness import HeldWorkers
from tests.tasks.support import TASKS, TELEGRAF, assert_error, make_harness

BIG_SCRIPT = "stream|from().measurement('cpu')" + "|log()" * 11_000  # > 64 KiB


def pump(h, d, workers):
    """Release queued compiles until the request completes."""
    result = []
    d.addBoth(result.append)
    for _ in range(50):
        h.stub.flush()
        if result:
            break
        workers.release_all()
    assert result, "request did not complete"
    return result[0]


def test_large_script_compiles_in_a_worker_and_concurrent_define_sees_the_result(tmp_path):
    workers = HeldWorkers()
    h = make_harness(tmp_path, workers=workers)
    body = {"id": "big", "script": BIG_SCRIPT, "dbrps": TELEGRAF}
    first = h.start("POST", TASKS, body)
    second = h.start("POST", TASKS, body)
    h.stub.flush()
    assert len(workers.queue) == 1  # the second waits for the first to finish
    assert pump(h, first, workers).code == 200
    reply = pump(h, second, workers)
    assert (reply.code, reply.json()["error"]) == (400, "task big already exists")


def test_small_scripts_never_touch_the_workers(tmp_path):
    workers = HeldWorkers()
    h = make_harness(tmp_path, workers=workers)
    reply = h.post(TASKS, {"id": "small", "script": "stream|from()|log()", "dbrps": TELEGRAF})
    assert reply.code == 200 and workers.queue == []


def test_script_over_the_size_limit_gets_400(h):
    script = "stream|from()" + " " * MAX_SCRIPT_BYTES
    size = len(script)
    assert_error(h.post(TASKS, {"id": "huge", "script": script, "dbrps": TELEGRAF}), 400,
                 f"invalid TICKscript: script is too large: {size} bytes, "
                 f"at most {MAX_SCRIPT_BYTES} are accepted")


def test_deeply_nested_script_gets_400_not_500(h):
    script = "stream|from()|eval(lambda: " + "(" * 3000 + "1" + ")" * 3000 + ").as('x')"
    assert_error(h.post(TASKS, {"id": "deep", "script": script, "dbrps": TELEGRAF}), 400,
                 "invalid TICKscript: script is nested too deeply")


def test_busy_workers_get_503(tmp_path):
    class Busy:
        pending = max_pending = 0

        def run(self, function, *args):
            return fail(WorkersBusy())

    h = make_harness(tmp_path, workers=Busy())
    assert_error(h.post(TASKS, {"id": "big", "script": BIG_SCRIPT, "dbrps": TELEGRAF}), 503,
                 "TICKscript compilation is busy, retry later")


def test_wrong_json_types_get_400_invalid_json(h):
    for body in ({"id": ["x"]}, {"script": 1}, {"dbrps": [1]}, {"dbrps": [{"db": 1}]},
                 {"vars": []}, {"vars": {"x": 5}}, {"vars": {"x": {"type": "int", "value": 1.5}}},
                 {"vars": {"x": {"type": "int", "value": 2 ** 64}}},
                 {"vars": {"x": {"type": "string", "value": "", "description": 3}}}):
        assert_error(h.post(TASKS, body), 400, "invalid JSON")


def test_body_over_the_http_limit_is_refused_before_decoding(tmp_path):
    h = make_harness(tmp_path, max_body_size=1024)
    reply = h.post(TASKS, {"id": "t", "script": "stream|from()" + " " * 2048})
    assert reply.code == 413


def test_compile_cache_is_bounded_by_script_bytes():
    from kapacitord_tw.auth.workers import InlineWorkers
    from kapacitord_tw.tasks import Scripts

    scripts = Scripts(InlineWorkers(), cache_bytes=100)
    for n in range(5):
        scripts.compile_task("stream|from().measurement('m%d')|log()" % n + " " * 40)
    assert len(scripts._cache) == 1
