"""Kapacitor's alert event data (``alert.Data``), its exact JSON, and the data its templates see.

Handlers (log, post, tcp, exec) send :meth:`AlertData.encode`: the bytes Go's
``json.NewEncoder(w).Encode(alert.Data)`` writes — fields in struct order
under their JSON tags, the time in RFC 3339 with nanoseconds (UTC), the
duration as integer nanoseconds, levels as ``OK``/``INFO``/``WARNING``/
``CRITICAL``, the triggering data as ``{"series": [...]}`` and a newline.

The alert node renders ``.id()``, ``.message()`` and ``.details()`` with
:class:`AlertTemplates`, which builds the same structs Kapacitor passes
(``idInfo``, ``messageInfo`` embedding it, ``detailsInfo`` embedding that).
"""

from __future__ import annotations

import datetime as _dt
from typing import TYPE_CHECKING

import attr

from kapacitord_tw.engine.govalues import GoDuration, GoStruct, GoTime, StringMap
from kapacitord_tw.gocompat import format_time, json_dumps

if TYPE_CHECKING:  # the template engine loads when a task's templates are compiled
    from kapacitord_tw.engine.gotemplate import Template

__all__ = ["AlertData", "AlertTemplates", "Level", "ServerInfo",
           "DEFAULT_ID", "DEFAULT_MESSAGE", "DEFAULT_DETAILS"]

_UTC = _dt.timezone.utc

#: pipeline/alert.go defaults
DEFAULT_ID = "{{ .Name }}:{{ .Group }}"
DEFAULT_MESSAGE = "{{ .ID }} is {{ .Level }}"
DEFAULT_DETAILS = "{{ json . }}"


class Level(int):
    """``alert.Level``: an int that prints (and marshals) as its name."""

    __slots__ = ()
    NAMES = ("OK", "INFO", "WARNING", "CRITICAL")
    go_stringer = True   # fmt prints String()

    def go_json(self) -> str:
        """``MarshalText``: the name."""
        return str(self)

    def __str__(self) -> str:
        return self.NAMES[self] if 0 <= self < len(self.NAMES) else "unknown"

    def __repr__(self) -> str:
        return f"Level.{self}"

    @classmethod
    def parse(cls, name: str) -> "Level":
        """``alert.ParseLevel`` (case-insensitive); ValueError with Go's text."""
        upper = name.upper()
        if upper in cls.NAMES:
            return cls(cls.NAMES.index(upper))
        raise ValueError(f"unknown alert level '{upper}'")


Level.OK, Level.INFO, Level.WARNING, Level.CRITICAL = (Level(i) for i in range(4))


@attr.s(frozen=True, slots=True)
class AlertData:
    """One alert event as handlers receive it (``alert.Data``).

    ``series`` is ``models.Result.Series``: row dicts as
    :mod:`kapacitord_tw.engine.rows` builds them, or None for Go's nil.
    """

    id: str = attr.ib()
    message: str = attr.ib()
    details: str = attr.ib()
    time: int = attr.ib()                        # ns since the epoch
    duration: int = attr.ib(default=0)           # ns
    level: Level = attr.ib(default=Level.OK, converter=Level)
    series: list | None = attr.ib(default=None)
    previous_level: Level = attr.ib(default=Level.OK, converter=Level)
    recoverable: bool = attr.ib(default=False)
    # alert.EventData beyond alert.Data: not in the JSON, used by services
    # (pagerduty2, opsgenie, bigpanda, ...) and their templates.
    name: str = attr.ib(default="", eq=False, repr=False)
    task_name: str = attr.ib(default="", eq=False, repr=False)
    category: str = attr.ib(default="", eq=False, repr=False)
    group: str = attr.ib(default="", eq=False, repr=False)
    tags: dict = attr.ib(factory=dict, eq=False, repr=False)
    fields: dict = attr.ib(factory=dict, eq=False, repr=False)

    def __json__(self) -> dict:
        return {
            "id": self.id,
            "message": self.message,
            "details": self.details,
            "time": format_time(self.time, _UTC),
            "duration": int(self.duration),
            "level": str(self.level),
            "data": {"series": self.series},
            "previousLevel": str(self.previous_level),
            "recoverable": bool(self.recoverable),
        }

    def encode(self) -> bytes:
        """``json.NewEncoder(w).Encode(ad)``: compact JSON and a newline."""
        return json_dumps(self, newline=True)

    def template_value(self) -> GoStruct:
        """``alert.Data`` as a template sees it (httpPost URL and body templates)."""
        return _AlertDataStruct(self, "alert.Data", {
            "ID": self.id,
            "Message": self.message,
            "Details": self.details,
            "Time": GoTime(self.time),
            "Duration": GoDuration(self.duration),
            "Level": self.level,
            "Data": GoStruct("models.Result", {"Series": self.series}),
            "PreviousLevel": self.previous_level,
            "Recoverable": self.recoverable,
        })


    def event_template_value(self) -> GoStruct:
        """``alert.TemplateData`` (``event.TemplateData()``): what service
        templates (pagerduty2 links, discord titles, mqtt topics) see."""
        return GoStruct("alert.TemplateData", {
            "ID": self.id,
            "Message": self.message,
            "Level": str(self.level),
            "Time": GoTime(self.time),
            "Duration": GoDuration(self.duration),
            "Details": self.details,
            "Name": self.name,
            "TaskName": self.task_name,
            "Group": self.group,
            "Tags": StringMap(self.tags or {}),
            "Fields": dict(self.fields or {}),
        })


class _AlertDataStruct(GoStruct):
    """``alert.Data`` in a template; ``json`` of it uses the struct's JSON tags."""

    __slots__ = ("_data",)

    def __init__(self, data: AlertData, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._data = data

    def go_json(self) -> dict:
        return self._data.__json__()


@attr.s(frozen=True, slots=True)
class ServerInfo:
    """``.ServerInfo`` in alert templates."""

    hostname: str = attr.ib(default="")
    cluster_id: str = attr.ib(default="")
    server_id: str = attr.ib(default="")

    def value(self) -> GoStruct:
        return GoStruct("kapacitor.serverInfo", {
            "Hostname": self.hostname, "ClusterID": self.cluster_id, "ServerID": self.server_id})


def _id_info(name, task_name, group, tags, server: ServerInfo) -> GoStruct:
    return GoStruct("kapacitor.idInfo", {
        "Name": name,
        "TaskName": task_name,
        "Group": group or "nil",
        "Tags": StringMap(tags or {}),
        "ServerInfo": server.value(),
    })


@attr.s(frozen=True, slots=True)
class AlertTemplates:
    """An alert node's three templates, parsed once when the task starts.

    ``id`` and ``message`` are ``text/template``; ``details`` is
    ``html/template`` with Kapacitor's ``json``/``jsonCompact`` functions.
    Parse errors are :class:`~kapacitord_tw.engine.gotemplate.TemplateError`
    with Go's text (``template: id:1: ...``).
    """

    id: Template = attr.ib()
    message: Template = attr.ib()
    details: Template = attr.ib()
    task_name: str = attr.ib()
    server: ServerInfo = attr.ib(factory=ServerInfo)

    @classmethod
    def compile(cls, task_name: str, id_text: str = DEFAULT_ID,
                message_text: str = DEFAULT_MESSAGE, details_text: str = DEFAULT_DETAILS,
                server: ServerInfo | None = None) -> "AlertTemplates":
        from kapacitord_tw.engine.gotemplate import JSON_FUNCS, parse

        return cls(
            id=parse(id_text, "id"),
            message=parse(message_text, "message"),
            details=parse(details_text, "details", funcs=JSON_FUNCS, html=True),
            task_name=task_name,
            server=server or ServerInfo(),
        )

    def render_id(self, name: str, group: str, tags: dict) -> str:
        """``renderID``: *group* is the group ID, "" when ungrouped (prints ``nil``)."""
        return self.id.execute(_id_info(name, self.task_name, group, tags, self.server))

    def render_message_and_details(self, id: str, name: str, time_ns: int, group: str,
                                   tags: dict, fields: dict, level: int,
                                   duration_ns: int) -> tuple[str, str]:
        """``renderMessageAndDetails``: the message first, then details that can use it."""
        minfo = GoStruct("kapacitor.messageInfo", {
            "idInfo": _id_info(name, self.task_name, group, tags, self.server),
            "ID": id,
            "Fields": dict(fields),
            "Level": str(Level(level)),
            "Time": GoTime(time_ns),
            "Duration": GoDuration(duration_ns),
        }, embedded=("idInfo",))
        message = self.message.execute(minfo)
        dinfo = GoStruct("kapacitor.detailsInfo", {"messageInfo": minfo, "Message": message},
                         embedded=("messageInfo",))
        return message, self.details.execute(dinfo)
