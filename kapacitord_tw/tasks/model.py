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
    return tuple(DBRP(str(item.get("db", "")), str(item.get("rp", ""))) for item in items or ())


@attrs.frozen
class Task:
    id: str
    script: str
    type: str = "stream"
    template_id: str = ""
    dbrps: Tuple[DBRP, ...] = attrs.field(default=(), converter=tuple)
    vars: Dict[str, dict] = attrs.field(factory=dict)
    status: str = DISABLED
    error: str = ""
    created: Optional[int] = None
    modified: Optional[int] = None
    last_enabled: Optional[int] = None

    @property
    def enabled(self) -> bool:
        return self.status == ENABLED

    def to_record(self) -> dict:
        return {
            "id": self.id,
            "template-id": self.template_id,
            "type": self.type,
            "dbrps": [d.to_json() for d in self.dbrps],
            "script": self.script,
            "vars": self.vars,
            "status": self.status,
            "error": self.error,
            "created": self.created,
            "modified": self.modified,
            "last-enabled": self.last_enabled,
        }

    @classmethod
    def from_record(cls, record: dict) -> "Task":
        return cls(
            id=record["id"],
            script=record.get("script", ""),
            type=record.get("type", "stream"),
            template_id=record.get("template-id", ""),
            dbrps=_dbrps(record.get("dbrps")),
            vars=dict(record.get("vars") or {}),
            status=record.get("status", DISABLED),
            error=record.get("error", ""),
            created=record.get("created"),
            modified=record.get("modified"),
            last_enabled=record.get("last-enabled"),
        )


@attrs.frozen
class Template:
    """A template; ``tasks`` are the ids of the tasks created from it.

    Keeping the association inside the template record means deleting the
    template drops it, as Kapacitor's bucket of association keys does.
    """

    id: str
    script: str
    type: str = "stream"
    error: str = ""
    created: Optional[int] = None
    modified: Optional[int] = None
    tasks: Tuple[str, ...] = attrs.field(default=(), converter=lambda ids: tuple(sorted(set(ids))))

    def to_record(self) -> dict:
        return {
            "id": self.id,
            "type": self.type,
            "script": self.script,
            "error": self.error,
            "created": self.created,
            "modified": self.modified,
            "tasks": list(self.tasks),
        }

    @classmethod
    def from_record(cls, record: dict) -> "Template":
        return cls(
            id=record["id"],
            script=record.get("script", ""),
            type=record.get("type", "stream"),
            error=record.get("error", ""),
            created=record.get("created"),
            modified=record.get("modified"),
            tasks=record.get("tasks") or (),
        )
