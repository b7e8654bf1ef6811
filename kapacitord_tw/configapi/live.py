"""
The notification sections' effective configuration while the daemon runs.

Services read it at send time (``configs.getter("slack")()``), so a change
made through ``POST /kapacitor/v1/config`` is used by the next alert without
a restart; those that keep state (connections, clients) subscribe to hear
about changes.
"""

from __future__ import annotations

from typing import Callable, Dict, List, Mapping, Optional

from twisted.logger import Logger

from kapacitord_tw.config import servicevalues as values
from kapacitord_tw.configapi.overrides import OverrideError, OverrideStore, resolve

Listener = Callable[[str, object], None]


class ServiceConfigs:
    """Section name -> current value (an attrs instance, or a tuple of them)."""

    log = Logger()

    def __init__(self, base: Mapping[str, object], overrides: Optional[OverrideStore] = None):
        #: The file's (and environment's) values, under every override.
        self.base: Dict[str, object] = dict(base)
        self.overrides = overrides
        self._current: Dict[str, object] = dict(base)
        self._listeners: List[Listener] = []

    @classmethod
    def from_config(cls, config, store) -> "ServiceConfigs":
        """Kapacitor's start-up: the file's sections, then the stored overrides
        unless ``skip-config-overrides`` or ``[config-override] enabled = false``."""
        configs = cls(config.services, OverrideStore(store))
        if config.config_override.enabled and not config.skip_config_overrides:
            configs.apply_stored()
        return configs

    def apply_stored(self) -> None:
        """Lay the stored overrides over the base, section by section.

        A section whose overrides no longer apply (the file changed under
        them) keeps its file value and the problem is logged: Kapacitor
        refuses to start instead.
        """
        for name in self.base:
            try:
                self._current[name] = self.resolved(name)
            except OverrideError as e:
                self.log.error(
                    "config overrides of section {section} not applied: {error}",
                    section=name, error=str(e))

    def resolved(self, name: str):
        """The base value of *name* with its stored overrides (may raise OverrideError)."""
        stored = self.overrides.section(name) if self.overrides is not None else []
        return resolve(name, self.base[name], stored)

    # ---------------------------------------------------------------- reads

    def names(self) -> List[str]:
        return list(self._current)

    def current(self, name: str):
        return self._current[name]

    def getter(self, name: str) -> Callable[[], object]:
        """A callable returning the section's value at the time it is called."""
        if name not in self._current:
            raise KeyError(name)
        return lambda: self._current[name]

    def element(self, name: str, element_id: str = ""):
        """One element of a section by its key (``""``: a single section's
        value, or the list element with an empty key); ``None`` if absent."""
        for element in values.elements(name, self._current[name]):
            if values.element_id(name, element) == element_id:
                return element
        return None

    def default_element(self, name: str):
        """A list section's element used when a handler names none: the one
        marked ``default``, or the only one (Kapacitor's rule for slack/discord)."""
        items = values.elements(name, self._current[name])
        if len(items) == 1:
            return items[0]
        for element in items:
            if getattr(element, "default", False):
                return element
        return None

    # -------------------------------------------------------------- changes

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener(name, value)`` after each change; returns an unsubscribe."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def set(self, name: str, value) -> None:
        """Make *value* the section's effective configuration and tell listeners."""
        self._current[name] = value
        self.log.info("configuration of section {section} updated", section=name)
        for listener in list(self._listeners):
            try:
                listener(name, value)
            except Exception:
                self.log.failure("config listener failed for section {section}", section=name)

    def refresh(self, name: str) -> None:
        """Re-read the section's stored overrides and apply them."""
        self.set(name, self.resolved(name))
