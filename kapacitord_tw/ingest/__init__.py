"""Ingestion of written points: the line protocol parser and the bus to the task engine."""

from kapacitord_tw.ingest.lineprotocol import (
    MAX_KEY_LENGTH,
    MAX_NANO_TIME,
    MIN_NANO_TIME,
    FieldDecodeError,
    LineProtocolError,
    parse_points,
    precision_multiplier,
)
from kapacitord_tw.ingest.points import (
    FieldKind,
    FieldValue,
    IPointBus,
    Point,
    PointBus,
    Unsigned,
    field_kind,
)

__all__ = [
    "FieldDecodeError",
    "FieldKind",
    "FieldValue",
    "IPointBus",
    "LineProtocolError",
    "MAX_KEY_LENGTH",
    "MAX_NANO_TIME",
    "MIN_NANO_TIME",
    "Point",
    "PointBus",
    "Unsigned",
    "field_kind",
    "parse_points",
    "precision_multiplier",
]
