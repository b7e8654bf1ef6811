"""Issue #10 item 5: the TICKscript cache keeps no failures and is bounded by
the script bytes it holds (twelve 1 MB scripts answered 400 once grew the
daemon from 78 MB to 1.8 GB through it)."""

from __future__ import annotations

from kapacitord_tw.auth.workers import InlineWorkers
from kapacitord_tw.tasks.scripts import CACHE_BYTES, CACHE_ENTRY_BYTES, ScriptError, Scripts
from tests.tasks.support import TASKS, TELEGRAF, TEMPLATES


def result_of(d):
    outcome = []
    d.addBoth(outcome.append)
    assert outcome, "inline work completes at once"
    return outcome[0]


def small(n: int) -> str:
    return f"stream|from().measurement('m{n}')|log()"


def test_failing_scripts_sent_to_the_api_are_not_kept(h):
    scripts = h.app.tasks.scripts
    for n in range(20):
        # Parses (so the old code kept its tree), then fails: a 400.
        script = f"// {n} " + "x" * 100_000 + "\nstream|from()|nosuchnode()"
        for path in (TASKS, TEMPLATES):
            reply = h.post(path, {"id": f"t{n}", "script": script, "dbrps": TELEGRAF})
            assert reply.code == 400, reply.body
        reply = h.post(TASKS, {"id": f"v{n}", "script": small(n), "dbrps": TELEGRAF,
                               "vars": {"x": {"type": "lambda", "value": "((("}}})
        assert reply.code == 400
    assert scripts.cached_bytes <= len(small(0)) * 20 * 2
    assert all(len(key[1]) < 1000 for key in scripts._cache)


def test_big_scripts_are_compiled_again_rather_than_kept():
    scripts = Scripts(InlineWorkers())
    big = "// " + "x" * CACHE_ENTRY_BYTES + "\nstream|from()|log()"
    first = result_of(scripts.compile_task(big))
    assert not isinstance(first, Exception)
    assert (scripts.cache_entries, scripts.cached_bytes) == (0, 0)
    assert result_of(scripts.compile_task(big)) is not first


def test_failures_are_answered_again_but_not_kept():
    scripts = Scripts(InlineWorkers())
    for _ in range(2):
        failure = result_of(scripts.compile_task("stream|from()|nosuchnode()"))
        assert isinstance(failure.value, ScriptError)
        assert "no method or property \"nosuchnode\"" in failure.value.message
    assert (scripts.cache_entries, scripts.cached_bytes) == (0, 0)


def test_successes_are_kept_lru_within_count_and_bytes():
    size = len(small(10))
    scripts = Scripts(InlineWorkers(), cache_size=3, cache_bytes=2 * size + 1)
    trees = [result_of(scripts.parse(small(n))) for n in range(10, 13)]
    # Two fit the byte budget: the oldest went.
    assert (scripts.cache_entries, scripts.cached_bytes) == (2, 2 * size)
    assert result_of(scripts.parse(small(12))) is trees[2]
    assert result_of(scripts.parse(small(10))) is not trees[0]
    assert result_of(scripts.parse(small(11))) is not trees[1]
    scripts = Scripts(InlineWorkers(), cache_size=3, cache_bytes=100 * size)
    for n in range(10, 20):
        result_of(scripts.parse(small(n)))
    assert (scripts.cache_entries, scripts.cached_bytes) == (3, 3 * size)


def test_many_distinct_scripts_stay_within_the_byte_budget():
    scripts = Scripts(InlineWorkers())
    padding = "x" * 16_000
    for n in range(200):
        result_of(scripts.parse(f"// {n} {padding}\nstream|from()|log()"))
    assert scripts.cached_bytes <= CACHE_BYTES
    assert scripts.cache_entries <= CACHE_BYTES // 16_000
