"""``log()``: writes every message that passes to the daemon's log, and forwards it.

One structured event per point (``msg=point``), and per batch one
``begin batch``, one ``batch point`` per point and one ``end batch``, at
``.level()`` (INFO by default; DEBUG and ERROR as named, anything else
INFO), with Kapacitor's keys: prefix, name, db, rp, group, dimension,
``tag_<name>``, ``field_<name>`` and the data time.  The log writer cuts
each value and quotes what needs quoting, so data cannot forge lines.
"""

from __future__ import annotations

from twisted.logger import LogLevel

from kapacitord_tw.engine.messages import Batch, Point
from kapacitord_tw.engine.node import Node, node_type
from kapacitord_tw.engine.rows import rfc3339 as format_time

_LEVELS = {"INFO": LogLevel.info, "ERROR": LogLevel.error, "DEBUG": LogLevel.debug}


def _pairs(prefix: str, values: dict) -> dict:
    return {f"{prefix}_{k}": ("" if v is None else v) for k, v in values.items()}


@node_type("LogNode")
class LogNode(Node):
    def __init__(self, spec, task):
        super().__init__(spec, task)
        self.level = _LEVELS.get(str(self.props.get("Level") or "INFO").upper(), LogLevel.info)
        self.prefix = self.props.get("Prefix") or ""

    def _emit(self, message: str, **values) -> None:
        self.log.emit(self.level, message, task=self.task.id, node=self.name,
                      prefix=self.prefix, **values)

    def point(self, p: Point):
        self._emit("point", **_pairs("tag", p.tags), **_pairs("field", p.fields),
                   name=p.name, db=p.database, rp=p.retention_policy, group=p.group,
                   dimension=",".join(p.dimensions.tag_names), data_time=format_time(p.time))
        return p

    def batch(self, b: Batch):
        common = {"name": b.name, "group": b.group}
        group_tags = _pairs("tag", b.tags)
        self._emit("begin batch", **group_tags, **common, data_time=format_time(b.tmax))
        for bp in b.points:
            self._emit("batch point", **_pairs("tag", bp.tags), **_pairs("field", bp.fields),
                       **common, data_time=format_time(bp.time))
        self._emit("end batch", **group_tags, **common, data_time=format_time(b.tmax))
        return b
