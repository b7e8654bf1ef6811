"""Topic handler specs: what ``POST .../handlers`` defines, as stored.

``{"id", "topic", "kind", "options", "match"}``, validated with Kapacitor's
``HandlerSpec.Validate`` messages (including its slip of quoting the ID in
the topic message).
"""

from __future__ import annotations

from typing import Optional

import attrs

from kapacitord_tw.gocompat import go_quote


class SpecInvalid(ValueError):
    """``HandlerSpec.Validate`` refused it (``invalid handler spec: ...``)."""


def _valid(name: str, extra: str) -> bool:
    return bool(name) and all(c.isalpha() or c in "0123456789" or c in extra for c in name)


def valid_topic_id(name: str) -> bool:
    """``^[-:\\._\\p{L}0-9]+$``"""
    return _valid(name, "-:._")


def valid_handler_id(name: str) -> bool:
    """``^[-\\._\\p{L}0-9]+$``"""
    return _valid(name, "-._")


@attrs.frozen
class HandlerSpec:
    id: str
    topic: str
    kind: str
    options: Optional[dict] = None
    match: str = ""

    def validate(self) -> None:
        if not valid_topic_id(self.topic):
            raise SpecInvalid("handler topic must contain only letters, numbers, '-', '.' and '_'. "
                              + go_quote(self.id))
        if not valid_handler_id(self.id):
            raise SpecInvalid("handler ID must contain only letters, numbers, '-', '.' and '_'. "
                              + go_quote(self.id))
        if not self.kind:
            raise SpecInvalid("handler Kind must not be empty")

    @property
    def key(self) -> str:
        """Its key in the store (Kapacitor's ``path.Join(topic, id)``)."""
        return f"{self.topic}/{self.id}"

    def to_record(self) -> dict:
        return {"id": self.id, "topic": self.topic, "kind": self.kind,
                "options": self.options, "match": self.match}

    @classmethod
    def from_record(cls, record: dict) -> "HandlerSpec":
        return cls(id=record.get("id", ""), topic=record.get("topic", ""),
                   kind=record.get("kind", ""), options=record.get("options"),
                   match=record.get("match", ""))
