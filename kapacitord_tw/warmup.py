"""Importing, once the daemon answers, what start-up left out.

Start-up imports only what serving the API needs: the TICKscript compiler,
the node families, the Go template engine and the notification services
load when a task, a topic handler or a service test first needs them.  That
first use would then stall the reactor for the whole import (about 0.4 s
on the 2-core test machine), so :class:`ImportWarmup` imports them ahead of
time: a second after the HTTP listener is up (the readiness probe and the
first requests are served before any of it), one module per reactor turn,
leaves before the modules that import them, so no turn holds the reactor
long (about 60 turns, the longest ~35 ms).
"""

from __future__ import annotations

import importlib
from typing import Callable, Iterable, Iterator, Optional

from twisted.application.service import Service
from twisted.logger import Logger

#: Seconds between the listener being up and the first warm-up import.
WARMUP_DELAY = 1.0

#: Modules in dependency order (each mostly needs only the ones before it).
#: A name that no longer exists is logged and skipped.
LEAF_FIRST = (
    # the TICKscript front end (tasks, templates, topic-handler matches)
    "kapacitord_tw.tick.syntax",
    "kapacitord_tw.tick.errors",
    "kapacitord_tw.tick.catalog",
    "kapacitord_tw.tick.values",
    "kapacitord_tw.tick.functions",
    "kapacitord_tw.tick.lexer",
    "kapacitord_tw.tick.regex",
    "kapacitord_tw.tick.expr",
    "kapacitord_tw.tick.methods",
    "kapacitord_tw.tick.evaluator",
    "kapacitord_tw.tick.validation",
    "kapacitord_tw.tick.parser",
    "kapacitord_tw.tick.vars",
    "kapacitord_tw.tick.compiler",
    "kapacitord_tw.tick.formatter",
    "kapacitord_tw.alerts.match",
    # Go templates (alert messages, handler options) and the engine's helpers
    "kapacitord_tw.engine.gofmt",
    "kapacitord_tw.engine.goparse",
    "kapacitord_tw.engine.gotemplate",
    "kapacitord_tw.engine.reducers",
    "kapacitord_tw.engine.lambdas",
    "kapacitord_tw.alerts.internal",
    "kapacitord_tw.httpclient",
    "treq.client",
)


def warmup_modules() -> Iterator[str]:
    """Every module the warm-up imports, in order."""
    yield from LEAF_FIRST
    from kapacitord_tw.engine import nodes

    for family in nodes.FAMILIES:
        yield f"{nodes.__name__}.{family}"
    from kapacitord_tw.services import registry

    for name in registry.SPECS:
        yield f"kapacitord_tw.services.{name}"


class ImportWarmup(Service):
    """Imports :func:`warmup_modules` on the reactor, one per turn.

    ``ready`` (called when the service starts) returns the HTTP service's
    ``listening`` Deferred: the warm-up begins ``delay`` seconds after it
    fires with a port, never if it fires with None (start-up stopped).
    Stopping the service cancels what is left.  A module that fails to
    import is logged and the warm-up goes on: its first real use raises
    the error where it belongs.
    """

    name = "import-warmup"
    log = Logger()

    def __init__(self, reactor, ready: Optional[Callable] = None, delay: float = WARMUP_DELAY,
                 modules: Optional[Iterable[str]] = None):
        self._reactor = reactor
        self._ready = ready
        self._delay = delay
        self._modules = modules
        self._pending: Optional[Iterator[str]] = None
        self._call = None
        self.imported = 0
        self.done = False

    def startService(self):
        super().startService()
        if self._ready is None:
            self._begin()
        else:
            self._ready().addCallback(self._begin_if_listening)

    def _begin_if_listening(self, port):
        if port is not None:
            self._begin()
        return port  # others wait on the same Deferred for the port

    def _begin(self) -> None:
        if self.running and self._pending is None:
            modules = self._modules if self._modules is not None else warmup_modules()
            self._pending = iter(modules)
            self._call = self._reactor.callLater(self._delay, self._step)

    def _step(self) -> None:
        self._call = None
        try:
            name = next(self._pending)
        except StopIteration:
            self.done = True
            self.log.debug("warm-up imported {count} modules", count=self.imported)
            return
        except Exception:
            self.log.failure("warm-up: cannot list the modules to import")
            self.done = True
            return
        try:
            importlib.import_module(name)
            self.imported += 1
        except Exception:
            self.log.failure("warm-up: importing {module} failed", module=name)
        self._call = self._reactor.callLater(0, self._step)

    def stopService(self):
        super().stopService()
        if self._call is not None and self._call.active():
            self._call.cancel()
        self._call = None
