"""``/kapacitor/v1/recordings`` and ``/kapacitor/v1/replays`` (``services/replay``).

Kapacitor's paths, bodies, status codes and messages, with these
differences (all for bad input, which should never be a 500):

* an unknown recording is a 404 (``error finding recording: no recording
  exists``; Kapacitor answers 500);
* an id already in use is a 400 (``recording already exists``; Kapacitor:
  500 for recordings, and silently reuses a replay id);
* ids are at most 200 bytes (they name files);
* deleting a running replay stops it;
* ``/replays/batch`` needs a ``start`` time as ``/recordings/batch`` does
  (``must provide start time``; Kapacitor would query from the year 1).
"""

from __future__ import annotations

from klein import Klein
from twisted.internet import defer

from kapacitord_tw.http.params import arg, int_arg
from kapacitord_tw import globmatch, gocompat
from kapacitord_tw.auth.credentials import query_args
from kapacitord_tw.http import jsonbody
from kapacitord_tw.http.area import Area, install_error_handlers
from kapacitord_tw.http.errors import APIError, json_response, no_content
from kapacitord_tw.http.root import decoded_path
from kapacitord_tw.http.routing import BASE
from kapacitord_tw.replay import records
from kapacitord_tw.replay.service import ReplayError, new_id

RECORDINGS_PATH = BASE + "/recordings"
REPLAYS_PATH = BASE + "/replays"
DEFAULT_LIMIT = 100


def _time(value) -> int:
    if not isinstance(value, str):
        raise jsonbody.BodyError("json: cannot unmarshal non-string into Go value of type time.Time")
    try:
        return gocompat.parse_time(value)
    except ValueError as e:
        raise jsonbody.BodyError(str(e)) from None


def _bool(value) -> bool:
    if not isinstance(value, bool):
        raise jsonbody.BodyError("json: cannot unmarshal into Go value of type bool")
    return value


def _clock(value) -> str:
    if not isinstance(value, str):
        raise jsonbody.BodyError("json: cannot unmarshal into Go value of type client.Clock")
    if value not in (records.FAST, records.REAL):
        raise jsonbody.BodyError(f"unknown Clock {value}")
    return value


def _task_type(value) -> str:
    if value not in (records.STREAM, records.BATCH):
        raise jsonbody.BodyError(f"unknown task type {value}")
    return value


_S = jsonbody.string
RECORD_STREAM_BODY = {"id": _S, "task": _S, "stop": _time}
RECORD_BATCH_BODY = {"id": _S, "task": _S, "start": _time, "stop": _time}
RECORD_QUERY_BODY = {"id": _S, "query": _S, "type": _task_type, "cluster": _S}
REPLAY_BODY = {"id": _S, "recording": _S, "task": _S, "recording-time": _bool, "clock": _clock}
REPLAY_BATCH_BODY = {"id": _S, "task": _S, "start": _time, "stop": _time,
                     "recording-time": _bool, "clock": _clock}
REPLAY_QUERY_BODY = {"id": _S, "task": _S, "query": _S, "cluster": _S,
                     "recording-time": _bool, "clock": _clock}


def _decode(request, fields) -> dict:
    try:
        return jsonbody.decode_struct(request.content.read(), fields)
    except jsonbody.BodyError as e:
        raise APIError(400, str(e)) from None


def _object_id(body: dict, kind: str) -> str:
    object_id = body.get("id") or new_id()
    if not records.valid_id(object_id):
        raise APIError(400, f"{kind} ID must contain only letters, numbers, '-', '.' and '_'. "
                            f"{gocompat.go_quote(object_id)}")
    if len(object_id.encode("utf-8", "surrogatepass")) > records.MAX_ID_BYTES:
        raise APIError(400, f"{kind} ID is too long: at most {records.MAX_ID_BYTES} bytes")
    return object_id




#: ``validID`` as Go's ``%v`` prints it (the live replay handlers' message).
VALID_ID_PATTERN = "^[-\\._\\p{L}0-9]+$"


def _live_id(body: dict, kind: str) -> str:
    """The id of a live replay: Kapacitor's message there names the pattern."""
    object_id = body.get("id") or new_id()
    if not records.valid_id(object_id):
        raise APIError(400, f"{kind} ID must match {VALID_ID_PATTERN} "
                            f"{gocompat.go_quote(object_id)}")
    return _object_id(body, kind)


def _start(body: dict) -> int:
    start = body.get("start", gocompat.ZERO_TIME_NS)
    if start == gocompat.ZERO_TIME_NS:
        raise APIError(400, "must provide start time")
    return start


def _stop(body: dict, service) -> int:
    """``stop``, now when it is not given (Go's zero time)."""
    stop = body.get("stop", gocompat.ZERO_TIME_NS)
    return service.now_ns() if stop == gocompat.ZERO_TIME_NS else stop


def _refused(failure):
    failure.trap(ReplayError)
    raise APIError(failure.value.code, failure.value.message)


class ReplaysAPI(Area):
    app = install_error_handlers(Klein())
    mux = (
        ("GET", "/recordings", {}),
        ("GET", "/recordings/", {}),
        ("DELETE", "/recordings/", {}),
        ("POST", "/recordings/stream", {}),
        ("POST", "/recordings/batch", {}),
        ("POST", "/recordings/query", {}),
        ("GET", "/replays", {}),
        ("POST", "/replays", {}),
        ("GET", "/replays/", {}),
        ("DELETE", "/replays/", {}),
        ("POST", "/replays/batch", {}),
        ("POST", "/replays/query", {}),
    )

    def __init__(self, service):
        self._service = service

    # ----------------------------------------------------------- listing

    def _list(self, request, store, known, key: str):
        args = query_args(request)
        pattern = arg(args, "pattern")
        try:
            globmatch.check_pattern(pattern)
        except globmatch.PatternTooLong as e:
            raise APIError(400, str(e)) from None
        requested = [f.decode("utf-8", "replace") for f in args.get(b"fields", [])]
        fields = requested + ["id", "link"] if requested else list(known)
        offset = int_arg(args, "offset", 0)
        limit = int_arg(args, "limit", DEFAULT_LIMIT)
        for field in fields:
            if field not in known:
                raise APIError(400, f"unsupported field {gocompat.go_quote(field)}")
        match = globmatch.matcher(pattern) if pattern else None
        objects = store.page(match, offset, limit)
        return json_response(request, {key: [records.entry(o, fields) for o in objects]})

    @app.route("/recordings", methods=["GET"])
    def list_recordings(self, request):
        return self._list(request, self._service.recordings, records.RECORDING_FIELDS,
                          "recordings")

    @app.route("/replays", methods=["GET"])
    def list_replays(self, request):
        return self._list(request, self._service.replays, records.REPLAY_FIELDS, "replays")

    # ------------------------------------------------------ one object

    def _id_from_path(self, request, base: str, kind: str) -> str:
        object_id = decoded_path(request)[len(base) + 1:]
        if not object_id:
            raise APIError(400, f"must specify {kind} id on path")
        return object_id

    @app.route("/recordings/", methods=["GET", "DELETE"])
    @app.route("/recordings/<path:_rest>", methods=["GET", "DELETE"])
    def one_recording(self, request, _rest=None):
        recording_id = self._id_from_path(request, RECORDINGS_PATH, "recording")
        if request.method == b"DELETE":
            d = self._service.delete_recording(recording_id)
            return d.addCallback(lambda _: no_content(request))
        recording = self._service.recordings.get(recording_id)
        if recording is None:
            raise APIError(404, "error finding recording: no recording exists")
        return self._answer(request, recording, 202 if recording.status == records.RUNNING else 200)

    @app.route("/replays/", methods=["GET", "DELETE"])
    @app.route("/replays/<path:_rest>", methods=["GET", "DELETE"])
    def one_replay(self, request, _rest=None):
        replay_id = self._id_from_path(request, REPLAYS_PATH, "replay")
        if request.method == b"DELETE":
            d = self._service.delete_replay(replay_id)
            return d.addCallback(lambda _: no_content(request))
        replay = self._service.replays.get(replay_id)
        if replay is None:
            raise APIError(404, "could not find replay: no replay exists")
        return self._answer(request, replay, 202 if replay.status == records.RUNNING else 200)

    def _answer(self, request, obj, code: int = 201):
        return json_response(request, obj.to_json(), code)

    def _created(self, d, request):
        return d.addCallbacks(lambda obj: self._answer(request, obj), _refused)

    # -------------------------------------------------------- recording

    @app.route("/recordings/stream", methods=["POST"])
    def record_stream(self, request):
        body = _decode(request, RECORD_STREAM_BODY)
        recording_id = _object_id(body, "recording")
        stop = body.get("stop", gocompat.ZERO_TIME_NS)
        d = defer.maybeDeferred(self._service.record_stream, recording_id,
                                body.get("task", ""), stop)
        return self._created(d, request)

    @app.route("/recordings/batch", methods=["POST"])
    def record_batch(self, request):
        body = _decode(request, RECORD_BATCH_BODY)
        recording_id = _object_id(body, "recording")
        start = _start(body)
        d = defer.maybeDeferred(self._service.record_batch, recording_id,
                                body.get("task", ""), start, _stop(body, self._service))
        return self._created(d, request)

    @app.route("/recordings/query", methods=["POST"])
    def record_query(self, request):
        body = _decode(request, RECORD_QUERY_BODY)
        recording_id = _object_id(body, "recording")
        if not body.get("query"):
            raise APIError(400, "must provide query")
        d = defer.maybeDeferred(self._service.record_query, recording_id, body["query"],
                                body.get("type", records.STREAM), body.get("cluster", ""))
        return self._created(d, request)

    # ----------------------------------------------------------- replay

    @app.route("/replays", methods=["POST"])
    def create_replay(self, request):
        body = _decode(request, REPLAY_BODY)
        replay_id = _object_id(body, "replay")
        d = defer.maybeDeferred(
            self._service.replay, replay_id, body.get("task", ""), body.get("recording", ""),
            body.get("clock", records.FAST), body.get("recording-time", False))
        return self._created(d, request)

    @app.route("/replays/batch", methods=["POST"])
    def replay_batch(self, request):
        body = _decode(request, REPLAY_BATCH_BODY)
        replay_id = _live_id(body, "replay")
        start = _start(body)
        d = defer.maybeDeferred(
            self._service.replay_batch, replay_id, body.get("task", ""), start,
            _stop(body, self._service), body.get("clock", records.FAST),
            body.get("recording-time", False))
        return self._created(d, request)

    @app.route("/replays/query", methods=["POST"])
    def replay_query(self, request):
        body = _decode(request, REPLAY_QUERY_BODY)
        # Kapacitor's handler says "recording ID" here.
        replay_id = _live_id(body, "recording")
        if not body.get("query"):
            raise APIError(400, "must provide query")
        d = defer.maybeDeferred(
            self._service.replay_query, replay_id, body.get("task", ""), body["query"],
            body.get("cluster", ""), body.get("clock", records.FAST),
            body.get("recording-time", False))
        return self._created(d, request)
