"""Recordings and replays: their stored records and the JSON the API shows.

Records live in the store's ``recordings`` and ``replays`` namespaces
(durable metadata); the data of a recording is a file under ``[replay] dir``.
The JSON keeps the Go structs' field order (``client/v1``), lists are
newest first, as Kapacitor's date index lists them.
"""

from __future__ import annotations

from typing import Dict, List, Optional

import attrs

from kapacitord_tw import gocompat
from kapacitord_tw.http.routing import BASE

RECORDINGS = "recordings"
REPLAYS = "replays"

RUNNING, FINISHED, FAILED = "running", "finished", "failed"
STREAM, BATCH = "stream", "batch"
FAST, REAL = "fast", "real"

#: What ``GET /recordings?fields=`` may ask for (and shows by default).
RECORDING_FIELDS = ("link", "id", "type", "size", "date", "error", "status", "progress")
REPLAY_FIELDS = ("link", "id", "recording", "task", "recording-time", "clock", "date",
                 "error", "status", "progress")
#: ``client.Replay``'s struct order (the single object's JSON).
_REPLAY_JSON_ORDER = ("link", "id", "task", "recording", "recording-time", "clock", "date",
                      "error", "status", "progress")

#: An id may be at most this long (bytes of UTF-8): it names a file.
MAX_ID_BYTES = 200


def valid_id(object_id: str) -> bool:
    """Kapacitor's ``^[-\\._\\p{L}0-9]+$`` (``isalpha`` is exactly ``\\p{L}``)."""
    return bool(object_id) and all(
        c in "-._0123456789" or c.isalpha() for c in object_id)


def link(kind: str, object_id: str) -> dict:
    return {"rel": "self", "href": gocompat.path_join(BASE, kind, object_id)}


@attrs.define
class Recording:
    id: str
    path: str
    type: str = STREAM
    size: int = 0
    date: int = 0
    error: str = ""
    status: str = RUNNING
    progress: float = 0.0

    def to_record(self) -> dict:
        return attrs.asdict(self)

    @classmethod
    def from_record(cls, record: dict) -> "Recording":
        names = {a.name for a in attrs.fields(cls)}
        return cls(**{k: v for k, v in record.items() if k in names})

    def field(self, name: str):
        if name == "link":
            return link(RECORDINGS, self.id)
        if name == "date":
            return gocompat.format_time(self.date)
        if name == "progress":
            return float(self.progress)
        return getattr(self, name)

    def to_json(self) -> dict:
        return {name: self.field(name) for name in RECORDING_FIELDS}


@attrs.define
class Replay:
    id: str
    task: str
    recording: str = ""
    recording_time: bool = False
    clock: str = FAST
    date: int = 0
    error: str = ""
    status: str = RUNNING
    progress: float = 0.0
    stats: Optional[dict] = None

    def to_record(self) -> dict:
        return attrs.asdict(self)

    @classmethod
    def from_record(cls, record: dict) -> "Replay":
        names = {a.name for a in attrs.fields(cls)}
        return cls(**{k: v for k, v in record.items() if k in names})

    def field(self, name: str):
        if name == "link":
            return link(REPLAYS, self.id)
        if name == "recording-time":
            return self.recording_time
        if name == "date":
            return gocompat.format_time(self.date)
        if name == "progress":
            return float(self.progress)
        return getattr(self, name)

    def to_json(self) -> dict:
        view = {name: self.field(name) for name in _REPLAY_JSON_ORDER}
        # ExecutionStats' maps are omitempty: only a finished replay shows them.
        view["stats"] = dict(self.stats or {}) if self.status == FINISHED else {}
        return view


class RecordStore:
    """Typed access to one namespace; mutations return the store's Deferred."""

    def __init__(self, store, namespace: str, record_class):
        self.store = store
        self.namespace = namespace
        self.record_class = record_class

    def get(self, object_id: str):
        record = self.store.get_now(self.namespace, object_id)
        return None if record is None else self.record_class.from_record(record)

    def create(self, obj):
        return self.store.create(self.namespace, obj.id, obj.to_record())

    def put(self, obj):
        return self.store.put(self.namespace, obj.id, obj.to_record())

    def replace(self, obj):
        """Write ``obj`` only if its record still exists (a deleted one stays deleted)."""
        return self.store.update(self.namespace, obj.id, lambda _old: obj.to_record())

    def delete(self, object_id: str):
        return self.store.delete(self.namespace, object_id)

    def all(self) -> List[object]:
        out = []
        for key in self.store.keys(self.namespace):
            record = self.store.get_now(self.namespace, key)
            if record is not None:
                out.append(self.record_class.from_record(record))
        return out

    def page(self, match, offset: int, limit: int) -> List[object]:
        """Newest first (date, then id, descending), as Kapacitor's ``ReverseList``."""
        objects = [o for o in self.all() if match is None or match(o.id)]
        objects.sort(key=lambda o: (o.date, o.id.encode("utf-8", "surrogatepass")),
                     reverse=True)
        offset = max(offset, 0)
        stop = None if limit < 0 else offset + limit
        return objects[offset:stop]


def entry(obj, fields) -> Dict[str, object]:
    """One list entry: a Go map, so its keys are sorted."""
    values = {name: obj.field(name) for name in set(fields)}
    return {k: values[k] for k in sorted(values)}
