"""
Config overrides: what ``POST /kapacitor/v1/config`` stored, and how it
is laid over the configuration file.

An override is Kapacitor's record ``{"id": "<section>/<element>",
"options": {...}, "create": bool}`` in the ``config_overrides`` namespace.
:func:`resolve` applies a section's overrides in id order to the file's
value and raises :class:`OverrideError` with the words of Kapacitor's
``override`` package; it is pure, so the API can try an update before
anything is saved.
"""

from __future__ import annotations

from typing import Iterable, List, Optional

import attrs

from kapacitord_tw import gocompat
from kapacitord_tw.config import servicevalues as values
from kapacitord_tw.config.services import SERVICE_SECTIONS

NAMESPACE = "config_overrides"


class OverrideError(ValueError):
    """An override that cannot be applied; ``str()`` is Kapacitor's message."""


@attrs.frozen
class Override:
    id: str
    options: dict = attrs.field(factory=dict)
    create: bool = False

    @property
    def section(self) -> str:
        return self.id.partition("/")[0]

    @property
    def element(self) -> str:
        """The element it names; a created element is named by its options."""
        return "" if self.create else self.id.partition("/")[2]

    def to_record(self) -> dict:
        return {"id": self.id, "options": self.options, "create": self.create}

    @classmethod
    def from_record(cls, record: dict) -> "Override":
        return cls(id=record.get("id", ""), options=dict(record.get("options") or {}),
                   create=bool(record.get("create", False)))


def override_id(section: str, element: str) -> str:
    """``path.Join(section, element)``, with a trailing ``/`` for no element."""
    return f"{section}/{element}" if element else f"{section}/"


class OverrideStore:
    """Typed access to the overrides in the store; writes return its Deferred."""

    def __init__(self, store):
        self.store = store

    def get(self, override_id_: str) -> Optional[Override]:
        record = self.store.get_now(NAMESPACE, override_id_)
        return None if record is None else Override.from_record(record)

    def section(self, section: str) -> List[Override]:
        """The section's overrides in id order."""
        prefix = section + "/"
        return [o for o in self.all() if o.id.startswith(prefix)]

    def all(self) -> List[Override]:
        out = []
        for key in self.store.keys(NAMESPACE):
            record = self.store.get_now(NAMESPACE, key)
            if record is not None:
                out.append(Override.from_record(record))
        return out

    def put(self, override: Override):
        return self.store.put(NAMESPACE, override.id, override.to_record())

    def delete(self, override_id_: str):
        return self.store.delete(NAMESPACE, override_id_)


# ------------------------------------------------------------- resolution

def _go_list(names: Iterable[str]) -> str:
    return "[" + " ".join(names) + "]"


def _field_for(section: str, name: str):
    """The field an option name sets (option names are lower-case, matched exactly)."""
    by_name = {values.option_name(section, f): f for f in values.fields(section)}
    return by_name.get(name)


def _set_options(section: str, element, options: dict, creating: bool):
    """*element* with *options* applied; raises with the first bad option."""
    key = values.spec(section)[2]
    changes = {}
    used = set()
    by_field = {}
    for name, value in options.items():
        field = _field_for(section, name)
        if field is not None:
            by_field.setdefault(field.name, (name, value))
    for field in values.fields(section):
        if field.name not in by_field:
            continue
        name, value = by_field[field.name]
        if not creating and values.option_name(section, field) == key:
            raise ValueError(f"cannot override element key {name}")
        try:
            changes[field.name] = values.from_option(field, value)
        except values.ValueProblem as e:
            raise ValueError(f"cannot set option {name}: {e}") from None
        used.add(name)
    unused = sorted(set(options) - used)
    if unused:
        raise ValueError(f"unknown options {_go_list(unused)} in section {section}")
    return attrs.evolve(element, **changes)


def _validated(section: str, element):
    try:
        values.validate_section(section, (element,) if values.spec(section)[1] else element)
    except values.ValueProblem as e:
        raise ValueError(f"failed validation: {e}") from None
    return element


def _apply_one(section: str, value, override: Override):
    if section not in SERVICE_SECTIONS:
        if override.options:
            raise ValueError(
                f"unknown options {_go_list(sorted(override.options))} in section {section}")
        raise ValueError(f"unknown section {section}")
    is_list = values.spec(section)[1]
    if not is_list:
        if override.element:
            if override.options:
                raise ValueError(
                    f"unknown options {_go_list(sorted(override.options))} in section {section}")
            return value
        return _validated(section, _set_options(section, value, override.options, False))
    items = list(value)
    if override.create:
        new = _set_options(section, values.zero_element(section), override.options, True)
        return tuple(items) + (_validated(section, new),)
    for index, element in enumerate(items):
        if values.element_id(section, element) == override.element:
            items[index] = _validated(
                section, _set_options(section, element, override.options, False))
            return tuple(items)
    if override.options:
        raise ValueError(
            f"unknown options {_go_list(sorted(override.options))} in section {section}")
    return value


def resolve(section: str, base, overrides: Iterable[Override]):
    """The section's value with its overrides applied (in the order given)."""
    value = base
    for override in overrides:
        try:
            value = _apply_one(section, value, override)
        except ValueError as e:
            raise OverrideError(
                f"failed to override configuration {section}/{override.element}: {e}") from None
    if section in SERVICE_SECTIONS and values.spec(section)[1]:
        seen = set()
        for element in value:
            element_name = values.element_id(section, element)
            if element_name in seen:
                raise OverrideError(
                    "failed to read sections from configuration object: section "
                    f"{gocompat.go_quote(section)} has duplicate elements: "
                    f"{gocompat.go_quote(element_name)}")
            seen.add(element_name)
    return value
