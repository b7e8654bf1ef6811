"""
TICKscript work for the task API: parse, format and compile, cached, and
off the reactor thread for large scripts.

Kapacitor compiles a task's script again on every ``GET`` (for its DOT and
error); here successful results are kept in a small LRU keyed by the script
(and the vars), since compiled pipelines are immutable.  A syntax tree or
pipeline takes 40-90 times its script's size in memory, so the cache is
bounded by the script bytes it holds, big scripts are not kept, and
failures are never kept (anyone may send distinct failing scripts, and a
failure is cheap to answer again).  Scripts over
``thread_threshold`` bytes are compiled in the CPU worker pool so one big
definition cannot stall every other request; scripts over ``max_bytes`` are
refused outright with a 400.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from typing import Callable, Optional

from twisted.internet.defer import succeed
from twisted.logger import Logger

from kapacitord_tw import gocompat, tick

THREAD_THRESHOLD = 64 * 1024
MAX_SCRIPT_BYTES = 1024 * 1024
CACHE_SIZE = 512
#: Script text the cache may hold: about 100 MB of trees at most.
CACHE_BYTES = 1024 * 1024
#: Bigger scripts (compiled in a worker) are compiled again when asked again.
CACHE_ENTRY_BYTES = THREAD_THRESHOLD

_log = Logger(namespace="kapacitord_tw.tasks")


class ScriptError(Exception):
    """A script (or its vars) that does not compile.

    ``message`` is the API's 400 text (``invalid TICKscript: …``,
    ``invalid task type: invalid``, ``invalid var x: …``); ``detail`` the
    bare error a stored task shows in its ``error`` field.
    """

    def __init__(self, message: str, detail: Optional[str] = None):
        super().__init__(message)
        self.message = message
        self.detail = message if detail is None else detail


def script_error(exc: BaseException) -> ScriptError:
    """The API's wording for an exception out of the TICKscript front end."""
    if isinstance(exc, ScriptError):
        return exc
    if isinstance(exc, tick.InvalidTaskType):
        return ScriptError(str(exc))
    if isinstance(exc, tick.TickError):
        return ScriptError("invalid TICKscript: " + str(exc), str(exc))
    if isinstance(exc, RecursionError):
        detail = "script is nested too deeply"
        return ScriptError("invalid TICKscript: " + detail, detail)
    # A bug in the front end must not turn a bad script into a 500.
    _log.error("TICKscript front end failed: {kind}: {error}", kind=type(exc).__name__, error=exc)
    detail = f"{type(exc).__name__}: {exc}"
    return ScriptError("invalid TICKscript: " + detail, detail)


def check_size(script: str) -> None:
    size = len(script.encode("utf-8", "surrogatepass"))
    if size > MAX_SCRIPT_BYTES:
        detail = f"script is too large: {size} bytes, at most {MAX_SCRIPT_BYTES} are accepted"
        raise ScriptError("invalid TICKscript: " + detail, detail)


def _guarded(function: Callable, *args):
    """Run ``function`` (maybe in a worker thread); ``(True, result)`` or ``(False, exception)``."""
    try:
        return True, function(*args)
    except Exception as e:  # noqa: BLE001 - every failure (RecursionError too) is a ScriptError
        return False, e


def _format(script: str) -> str:
    try:
        return tick.format_script(script)
    except Exception:  # noqa: BLE001 - Kapacitor falls back to the raw script
        return script


def _representable(compiled):
    """Refuse template vars JSON cannot carry (``var x = 1.0 / 0.0`` is
    +Inf): a template shows its vars, and the original stores such a
    template and then fails every answer about it with a 500."""
    for name, var in compiled.vars.items():
        try:
            gocompat.json_dumps(var)
        except ValueError as e:
            detail = f"var {name}: {e}"
            raise ScriptError("invalid TICKscript: " + detail, detail) from None
    return compiled


def _compile_task(script: str, api_vars: Optional[dict]):
    return tick.compile_task(script, vars=tick.vars_from_api(api_vars or {}))


def _compile_template(script: str):
    return _representable(tick.compile_template(script))


class Scripts:
    """Cached ``parse``/``format``/``compile``; all return Deferreds."""

    def __init__(self, workers, thread_threshold: int = THREAD_THRESHOLD,
                 cache_size: int = CACHE_SIZE, cache_bytes: int = CACHE_BYTES,
                 cache_entry_bytes: int = CACHE_ENTRY_BYTES):
        self._workers = workers
        self._threshold = thread_threshold
        self._cache: "OrderedDict[tuple, object]" = OrderedDict()
        self._cache_size = cache_size
        #: Bound on the script text held by the cache (a proxy for its memory).
        self._cache_bytes = cache_bytes
        self._cache_entry_bytes = cache_entry_bytes
        self._cached_bytes = 0

    @property
    def cache_entries(self) -> int:
        return len(self._cache)

    @property
    def cached_bytes(self) -> int:
        """Script (and vars) characters the cache holds."""
        return self._cached_bytes

    def parse(self, script: str):
        """Deferred syntax tree; errback :class:`ScriptError`."""
        return self._run(("parse", script), script, tick.parse, script)

    def format(self, script: str):
        """Deferred formatted script, or the raw one when it does not parse."""
        return self._run(("format", script), script, _format, script)

    def compile_task(self, script: str, api_vars: Optional[dict] = None):
        """Deferred ``CompiledTask``; errback :class:`ScriptError`."""
        key = ("task", script, json.dumps(api_vars or {}, sort_keys=True))
        return self._run(key, script, _compile_task, script, api_vars)

    def compile_template(self, script: str):
        """Deferred ``CompiledTask`` whose vars may lack values; errback :class:`ScriptError`."""
        return self._run(("template", script), script, _compile_template, script)

    # ------------------------------------------------------------ internals

    def _run(self, key: tuple, script: str, function: Callable, *args):
        hit = self._cache.get(key)
        if hit is not None:
            self._cache.move_to_end(key)
            return succeed(hit)
        if len(script) > self._threshold:
            tick.load_all()  # imports on this thread, never in the worker
            d = self._workers.run(_guarded, function, *args)
        else:
            d = succeed(_guarded(function, *args))
        return d.addCallback(self._remember, key).addCallback(_unwrap)

    def _remember(self, outcome: tuple, key: tuple) -> tuple:
        ok, value = outcome
        if not ok:
            # On the reactor thread (it may log); not cached.
            return (False, script_error(value))
        size = _key_size(key)
        if size > self._cache_entry_bytes or key in self._cache:
            return outcome
        self._cache[key] = value
        self._cached_bytes += size
        while self._cache and (len(self._cache) > self._cache_size
                               or self._cached_bytes > self._cache_bytes):
            old_key, _ = self._cache.popitem(last=False)
            self._cached_bytes -= _key_size(old_key)
        return outcome


def _key_size(key: tuple) -> int:
    return sum(len(part) for part in key[1:])


def _unwrap(outcome: tuple):
    ok, value = outcome
    if not ok:
        raise value
    return value
