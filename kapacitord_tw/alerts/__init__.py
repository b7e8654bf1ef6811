"""Alert topics, their events and their handlers (Kapacitor's alert service)."""

from kapacitord_tw.alerts.kinds import HandlerContext, HandlerKinds, default_kinds
from kapacitord_tw.alerts.service import AlertService

__all__ = ["AlertService", "HandlerContext", "HandlerKinds", "default_kinds"]
