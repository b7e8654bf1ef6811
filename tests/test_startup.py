"""
Start-up imports only what serving the API needs; the TICKscript compiler,
the node families, Go templates and the notification services load on first
use, or from the warm-up once the daemon listens.  The API answers the same.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import time

import pytest
from twisted.internet import defer
from twisted.internet.task import Clock
from twisted.logger import Logger

from kapacitord_tw import tick
from kapacitord_tw.services import registry
from kapacitord_tw.warmup import ImportWarmup, warmup_modules
from tests.support.daemon import Daemon, free_port, write_config

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
V1 = "/kapacitor/v1"
ADMIN = ("admin", "Pa5sw0Rd")

#: Heavy areas a daemon without tasks, topic handlers or service tests never needs at start-up.
LAZY = (
    "kapacitord_tw.tick.compiler", "kapacitord_tw.tick.evaluator", "kapacitord_tw.tick.catalog",
    "kapacitord_tw.tick.regex", "kapacitord_tw.alerts.match",
    "kapacitord_tw.engine.gotemplate", "kapacitord_tw.engine.goparse",
    "kapacitord_tw.alerts.internal", "kapacitord_tw.engine.nodes.alert",
    "kapacitord_tw.engine.nodes.window", "kapacitord_tw.engine.reducers",
    "kapacitord_tw.services.slack", "kapacitord_tw.services.smtp", "twisted.mail.smtp",
    "yaml",
)

BUILD_DAEMON = r"""
import json, sys
from twisted.internet import reactor
from kapacitord_tw.config import loader
from kapacitord_tw.service import make_service
service = make_service(loader.load(sys.argv[1], {}).config, reactor, endpoint=object())
service.app.store.close()
print(json.dumps(sorted(sys.modules)))
"""


def test_building_the_daemon_leaves_the_heavy_areas_unimported(tmp_path):
    conf = write_config(tmp_path / "k.conf", tmp_path / "data", free_port(), http_auth=True)
    out = subprocess.run([sys.executable, "-c", BUILD_DAEMON, conf], cwd=ROOT,
                         capture_output=True, text=True, check=True).stdout
    loaded = set(json.loads(out))
    assert "kapacitord_tw.http.root" in loaded  # the daemon was built
    assert sorted(loaded.intersection(LAZY)) == []


def test_every_warmup_module_exists():
    names = list(warmup_modules())
    assert len(names) == len(set(names))
    assert [n for n in names if importlib.util.find_spec(n) is None] == []
    # Everything start-up leaves out is in the list (a service added to the
    # registry, a node family added to the package, are in it by construction).
    assert set(LAZY) - {"yaml", "twisted.mail.smtp"} <= set(names)


# ------------------------------------------------------------------ warm-up


@pytest.fixture
def modules(tmp_path, monkeypatch):
    """Three importable throw-away modules (and one name that is not)."""
    names = [f"_kt_warm_{i}_{os.getpid()}" for i in range(3)]
    for name in names:
        (tmp_path / f"{name}.py").write_text("VALUE = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield names
    for name in names:
        sys.modules.pop(name, None)


class TurnClock(Clock):
    """A ``Clock`` whose ``turn`` runs only the calls due when it starts, as
    one reactor iteration does (``advance`` would also run the ``callLater(0)``
    calls those calls make)."""

    def turn(self, amount: float = 0) -> None:
        self.rightNow += amount
        for call in [c for c in self.calls if c.getTime() <= self.rightNow]:
            self.calls.remove(call)
            call.called = 1
            call.func(*call.args, **call.kw)


def started(warmup: ImportWarmup) -> ImportWarmup:
    events = []
    warmup.log = Logger(observer=events.append)
    warmup.events = events
    warmup.startService()
    return warmup


def test_warmup_waits_for_the_listener_then_imports_one_module_per_turn(modules):
    clock = TurnClock()
    listening = defer.Deferred()
    a, b, c = modules
    warmup = started(ImportWarmup(clock, ready=lambda: listening, delay=1.0,
                                  modules=[a, "_kt_no_such_module", b, c]))
    clock.turn(5)
    assert a not in sys.modules  # not listening yet
    port = object()
    listening.callback(port)
    assert listening.result is port  # the port still reaches whoever waits for it
    clock.turn(0.99)
    assert a not in sys.modules
    clock.turn(0.01)
    assert a in sys.modules and b not in sys.modules
    clock.turn()  # the missing one: logged, the warm-up goes on
    assert b not in sys.modules
    assert [e["module"] for e in warmup.events if e.get("log_failure")] == ["_kt_no_such_module"]
    clock.turn()
    assert b in sys.modules and c not in sys.modules
    clock.turn()
    assert c in sys.modules and not warmup.done
    clock.turn()
    assert warmup.done and warmup.imported == 3 and clock.getDelayedCalls() == []


def test_warmup_never_starts_when_the_listener_does_not(modules):
    clock = TurnClock()
    warmup = started(ImportWarmup(clock, ready=lambda: defer.succeed(None), modules=modules))
    clock.advance(10)
    assert clock.getDelayedCalls() == [] and not any(m in sys.modules for m in modules)
    assert not warmup.done


def test_stopping_the_daemon_cancels_the_warmup(modules):
    clock = TurnClock()
    warmup = started(ImportWarmup(clock, ready=lambda: defer.succeed(1), modules=modules))
    clock.turn(1.0)
    assert modules[0] in sys.modules
    warmup.stopService()
    assert clock.getDelayedCalls() == []
    clock.advance(10)
    assert modules[1] not in sys.modules


def test_the_warmup_is_the_daemons_last_service(tmp_path):
    from twisted.internet import reactor

    from kapacitord_tw.service import make_service
    from tests.http.harness import make_config

    top = make_service(make_config(tmp_path), reactor, endpoint=object())
    try:
        names = [type(s).__name__ for s in top]
        assert names[-2:] == ["HTTPService", "ImportWarmup"]  # started after, stopped before
        assert top.warmup is list(top)[-1]
    finally:
        top.app.store.close()


# ------------------------------------------------------------ lazy modules


def test_tick_names_load_on_first_use():
    assert tick.compile_task is importlib.import_module("kapacitord_tw.tick.compiler").compile_task
    assert "compile_task" in dir(tick)
    with pytest.raises(AttributeError):
        tick.no_such_name  # noqa: B018
    namespace = {}
    exec("from kapacitord_tw.tick import *", namespace)
    assert set(tick.__all__) <= set(namespace)


def test_service_specs_are_listed_without_importing_them():
    names = list(registry.SPECS)
    assert names == list(registry._MODULES) and len(registry.SPECS) == 18
    assert "slack" in registry.SPECS and "nope" not in registry.SPECS
    with pytest.raises(KeyError):
        registry.SPECS["nope"]
    spec = registry.SPECS["slack"]
    assert (spec.name, spec.section, spec.property) == ("slack", "slack", "SlackHandlers")
    assert registry.SPECS["slack"] is spec
    assert [s.name for s in registry.SPECS.values()] == names


# ---------------------------------------------------------------- end to end


def call(daemon, method, path, body=None):
    status, _, data = daemon.request(method, V1 + path, body, auth=ADMIN)
    return status, (json.loads(data) if data else None)


def test_first_uses_right_after_start_load_what_they_need(tmp_path):
    """Before the warm-up (a second after listening) has run: a topic handler
    with a match, a service kind, a service test and a task with an alert
    node all work on a fresh daemon."""
    port = free_port()
    conf = write_config(tmp_path / "k.conf", tmp_path / "data", port, http_auth=False)
    with Daemon(conf, port) as daemon:
        status, body = call(daemon, "POST", "/alerts/topics/cpu/handlers",
                            {"id": "s", "kind": "slack", "match": "level() >= CRITICAL",
                             "options": {"channel": "#ops"}})
        assert status == 200, body
        status, body = call(daemon, "POST", "/alerts/topics/cpu/handlers",
                            {"id": "agg", "kind": "aggregate",
                             "options": {"interval": 60_000_000_000, "topic": "sum"}})
        assert status == 200, body
        status, body = call(daemon, "POST", "/service-tests/smtp", {})
        assert status == 200 and body == {"success": False, "message": "service is not enabled"}
        script = ("stream|from().measurement('cpu')|alert().crit(lambda: \"usage_idle\" < 10)"
                  ".topic('cpu').log('" + str(tmp_path / "alerts.log") + "')")
        status, body = call(daemon, "POST", "/tasks", {"id": "t", "type": "stream",
                                                       "dbrps": [{"db": "telegraf", "rp": "autogen"}],
                                                       "script": script, "status": "enabled"})
        assert status == 200, body
        assert body["executing"] is True and body["error"] == ""
        status, _, raw = daemon.request("POST", "/write?db=telegraf&rp=autogen",
                                        b"cpu usage_idle=5 1\n")
        assert status == 204, raw
        deadline = time.monotonic() + 10
        while call(daemon, "GET", "/alerts/topics/cpu")[1]["level"] != "CRITICAL":
            assert time.monotonic() < deadline, "the alert never reached its topic"
            time.sleep(0.05)
        assert daemon.stop() == 0
