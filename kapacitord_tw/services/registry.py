"""The notification services by name: options, node properties, handlers and tests.

:data:`SPECS` maps a service (topic-handler ``kind``; ``smtp`` for email) to
its :class:`ServiceSpec`.  :class:`NotificationServices` binds them to the
live configuration (``config_of(section)`` returns a section's current
value) so every handler reads its config at send time: a ``POST /config``
change reaches the next alert.  It builds handlers for alert nodes
(``.slack()`` ...) and topic handlers, and runs service tests.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Callable, Dict, Optional, Tuple

import attr
from twisted.internet import defer
from twisted.logger import Logger

from kapacitord_tw.alerts import options as opt
from kapacitord_tw.config.services import default_value
from kapacitord_tw.engine.handlers import MAX_PENDING
from kapacitord_tw.services.base import (
    DEFAULT_TIMEOUT, HandlerConfigError, SendContext, ServiceError, ServiceHandler,
)

__all__ = ["SPECS", "ServiceSpec", "NotificationServices", "HandlerConfigError"]

#: Service modules, in the order upstream's ``/service-tests`` lists them.
_MODULES = ("alerta", "bigpanda", "discord", "httppost", "mqtt", "opsgenie", "opsgenie2",
            "pagerduty", "pagerduty2", "pushover", "sensu", "servicenow", "slack", "smtp",
            "teams", "telegram", "victorops", "zenoss")


@attr.s(frozen=True)
class ServiceSpec:
    name: str = attr.ib()              # topic-handler kind and service-test name
    section: str = attr.ib()           # config section
    property: str = attr.ib()          # alert node property (SlackHandlers)
    module: object = attr.ib(repr=False)

    def decode(self, options: Optional[dict]) -> dict:
        """Kapacitor's ``decodeOptions``: HandlerConfigError with its message."""
        try:
            return opt.decode(options, self.module.OPTIONS, self.module.OPTIONS_TYPE)
        except opt.OptionsError as e:
            raise HandlerConfigError(str(e)) from None

    def from_property(self, spec: dict) -> dict:
        """A node's handler property (Go field names) as handler options."""
        convert = getattr(self.module, "from_property", None)
        if convert is not None:
            return convert(spec)
        out = {}
        for go, key in self.module.PROPERTY_KEYS.items():
            value = spec.get(go)
            if value in (None, "", [], {}, False, 0):
                continue
            if hasattr(value, "nanoseconds"):
                value = int(value.nanoseconds)
            out[key] = value
        return out

    def prepare(self, options: dict, config) -> dict:
        prepare = getattr(self.module, "prepare", None)
        if prepare is None:
            return options
        if self.name == "httppost":
            return prepare(options, config)
        return prepare(options)

    def test_options(self, config) -> dict:
        return self.module.test_options(config)


class _Specs(Mapping):
    """Service name -> :class:`ServiceSpec`, in ``_MODULES`` order.

    A service's module is imported when its spec is first asked for (a
    handler, a node property, a service test), not at start-up: most
    daemons use one or two of the eighteen.
    """

    def __init__(self, names) -> None:
        self._names = tuple(names)
        self._specs: Dict[str, ServiceSpec] = {}

    def __getitem__(self, name: str) -> ServiceSpec:
        spec = self._specs.get(name)
        if spec is None:
            if name not in self._names:
                raise KeyError(name)
            module = importlib.import_module(f"kapacitord_tw.services.{name}")
            spec = self._specs[name] = ServiceSpec(module.NAME, name, module.PROPERTY, module)
        return spec

    def __iter__(self):
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    def __contains__(self, name) -> bool:
        return name in self._names


SPECS: Mapping = _Specs(_MODULES)

#: sections whose ``global``/``state-changes-only`` add a handler to every alert node
_GLOBAL = ("smtp", "victorops", "pagerduty2", "slack", "telegram", "opsgenie2", "teams",
           "discord", "pagerduty", "opsgenie", "servicenow", "bigpanda", "zenoss")


class NotificationServices:
    """The services bound to the running configuration."""

    log = Logger()

    def __init__(self, config_of: Optional[Callable[[str], object]] = None, *, reactor=None,
                 http_client=None, server_url: str = "", timeout: float = DEFAULT_TIMEOUT):
        self.config_of = config_of or default_value
        self.reactor = reactor
        self.http_client = http_client
        self.server_url = server_url
        self.timeout = timeout

    def _ctx(self, spec: ServiceSpec, topic: str = "") -> SendContext:
        return SendContext(lambda: self.config_of(spec.section), client=self.http_client,
                           reactor=self.reactor, topic=topic, timeout=self.timeout,
                           server_url=self.server_url)

    def handler(self, name: str, options: Optional[dict], *, topic: str = "",
                max_pending: int = MAX_PENDING, decoded: bool = False) -> ServiceHandler:
        """A handler of service *name* for *options* (a topic handler's JSON
        options, or already-decoded node options); HandlerConfigError if bad."""
        spec = SPECS[name]
        o = dict(options or {}) if decoded else spec.decode(options)
        o = spec.prepare(o, self.config_of(spec.section))
        return ServiceHandler(spec.name, spec.module.send, o, self._ctx(spec, topic),
                              max_pending=max_pending)

    def node_handlers(self, props: dict, topic: str, node=None) -> list:
        """Handlers for an alert node's service properties, plus the ``global``
        ones; a global service with ``state-changes-only`` sets it on *node*."""
        out = []
        for spec in SPECS.values():
            entries = props.get(spec.property) or ()
            for entry in entries:
                out.append(self.handler(spec.name, spec.from_property(entry), topic=topic,
                                        decoded=True))
            if spec.section in _GLOBAL:
                cfg = self._global_config(spec.section)
                if cfg is not None and getattr(cfg, "global_", False):
                    if not entries:
                        out.append(self.handler(spec.name, {}, topic=topic, decoded=True))
                    # As in Kapacitor, a global service's state-changes-only applies to
                    # every alert node, whether it also names the service or not.
                    if getattr(cfg, "state_changes_only", False) and node is not None:
                        node.state_changes_only = True
        return out

    def _global_config(self, section: str):
        value = self.config_of(section)
        if isinstance(value, tuple):
            defaults = [c for c in value if c.default] or list(value[:1])
            return defaults[0] if defaults else None
        return value

    # --------------------------------------------------------- topic kinds

    def kind_factory(self, name: str):
        """A ``factory(options, HandlerContext)`` for :class:`alerts.kinds.HandlerKinds`:
        ``ValueError`` with Kapacitor's text on bad options."""
        def factory(options, context):
            return self.handler(name, options, topic=getattr(context, "topic", ""),
                                max_pending=getattr(context, "max_pending", MAX_PENDING))
        return factory

    def register_kinds(self, kinds) -> None:
        """Add every service to a :class:`~kapacitord_tw.alerts.kinds.HandlerKinds`
        (``post`` stays the engine's own kind; ``httppost`` endpoints are ``post``'s too)."""
        for name in SPECS:
            if name != "httppost":
                kinds.register(name, self.kind_factory(name))
        kinds.register("post", self.kind_factory("httppost"))

    # --------------------------------------------------------- service tests

    def names(self):
        return sorted(SPECS)

    def test_options(self, name: str) -> dict:
        spec = SPECS[name]
        return spec.test_options(self.config_of(spec.section))

    def test(self, name: str, options: Optional[dict] = None) -> defer.Deferred:
        """Send a test notification: fires with ``(success, message)``, never fails."""
        spec = SPECS[name]
        merged = self.test_options(name)
        for key, value in (options or {}).items():
            if key in merged:
                merged[key] = value

        async def run() -> Tuple[bool, str]:
            try:
                await spec.module.test(self._ctx(spec), merged)
            except ServiceError as e:
                return False, str(e)
            except Exception as e:  # a bad option type: report, never a 500
                self.log.info("service test {name} failed: {error}", name=name,
                              error=type(e).__name__)
                return False, f"{type(e).__name__}: {e}"
            return True, ""

        return defer.ensureDeferred(run())
