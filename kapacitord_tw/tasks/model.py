"""
Stored tasks and templates: immutable records and their journal form.

The journal keeps plain JSON objects (namespaces ``tasks`` and
``templates``); these classes are what the rest of the code passes around.
Times are nanoseconds since the Unix epoch, ``None`` for Go's zero time.
Vars are kept in the API's shape (``{"type", "value", "description"}``,
durations in nanoseconds), which is also what ``GET`` shows.
"""

from __future__ import annotations

from typing import Dict, Optional, Tuple

import attrs

from kapacitord_tw.auth.privileges import valid_task_id, valid_template_id

TASKS = "tasks"
TEMPLATES = "templates"
ENABLED = "enabled"
DISABLED = "disabled"

__all__ = [
    "DBRP",
    "DISABLED",
    "ENABLED",
    "TASKS",
    "TEMPLATES",
    "Task",
    "Template",
    "valid_task_id",
    "valid_template_id",
]


@attrs.frozen
class DBRP:
    """A database/retention-policy pair a task reads from."""

    db: str
    rp: str

    def to_json(self) -> dict:
        return {"db": self.db, "rp": self.rp}


def _dbrps(items) -> Tuple[DBRP, ...]:
    """DBRPs from their journal form (``{"db", "rp"}`` objects) or as they are."""
    return tuple(
        item if isinstance(item, DBRP) else DBRP(str(item.get("db", "")), str(item.get("rp", "")))
        for item in items or ()
    )


def _record_key(name: str) -> str:
    """The journal (and API) spelling of an attribute: ``template_id`` -> ``template-id``."""
    return name.replace("_", "-")


def _record_value(value):
    if isinstance(value, tuple):
        return [item.to_json() if isinstance(item, DBRP) else item for item in value]
    return value


class _Record:
    """The journal form of a record class: one JSON key per attribute, in
    attribute order; a key missing from an older record takes the default."""

    def to_record(self) -> dict:
        return {
            _record_key(field.name): _record_value(getattr(self, field.name))
            for field in attrs.fields(type(self))
        }

    @classmethod
    def from_record(cls, record: dict):
        return cls(**{
            field.name: record[_record_key(field.name)]
            for field in attrs.fields(cls)
            if _record_key(field.name) in record
        })


@attrs.frozen(kw_only=True)
class Task(_Record):
    """A stored task; ``template_id`` is set when it was created from a template."""

    id: str
    template_id: str = ""
    type: str = "stream"
    dbrps: Tuple[DBRP, ...] = attrs.field(default=(), converter=_dbrps)
    script: str = ""
    vars: Dict[str, dict] = attrs.field(factory=dict, converter=lambda v: dict(v or {}))
    status: str = DISABLED
    error: str = ""
    created: Optional[int] = None
    modified: Optional[int] = None
    last_enabled: Optional[int] = None

    @property
    def enabled(self) -> bool:
        return self.status == ENABLED


@attrs.frozen(kw_only=True)
class Template(_Record):
    """A template; ``tasks`` are the ids of the tasks created from it.

    Keeping the association inside the template record means deleting the
    template drops it, as Kapacitor's bucket of association keys does.
    """

    id: str
    type: str = "stream"
    script: str = ""
    error: str = ""
    created: Optional[int] = None
    modified: Optional[int] = None
    tasks: Tuple[str, ...] = attrs.field(
        default=(), converter=lambda ids: tuple(sorted(set(ids or ())))
    )
