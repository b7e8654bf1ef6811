"""``/kapacitor/v1/alerts/topics``: topics, their events and their handlers
(reference §8.2), routed the way Kapacitor's ``services/alert/api.go`` routes.

Everything after ``/alerts/topics/`` is matched with Go's ``path.Match``
patterns (``*/events``, ``*/events/*``, ``*/handlers``, ``*/handlers/*``),
the topic being the first path element, so a GET of any other path under a
topic answers the topic itself, as in Kapacitor.

Differences, all for bad input: a handler Kapacitor cannot create (unknown
kind, bad options, bad match, a duplicate ID) or update is a 400, and the
events of an unknown topic a 404, with Kapacitor's message rather than its 500.
"""

from __future__ import annotations

from klein import Klein

from kapacitord_tw import gocompat
from kapacitord_tw.alerts import jsonpatch
from kapacitord_tw.alerts.service import AlertService, HandlerCreateError, HandlerUpdateError
from kapacitord_tw.alerts.specs import HandlerSpec, SpecInvalid
from kapacitord_tw.http import jsonbody
from kapacitord_tw.http.area import Area, install_error_handlers
from kapacitord_tw.http.errors import APIError, json_response, no_content
from kapacitord_tw.http.root import decoded_path
from kapacitord_tw.http.routing import BASE

TOPICS_PATH = BASE + "/alerts/topics"
MAX_PATTERN_BYTES = 1024
_LEVELS = "OKINFOWARNINGCRITICAL"
_LEVEL_OFFSETS = (0, 2, 6, 13)
LEVEL_NAMES = ("OK", "INFO", "WARNING", "CRITICAL")


def parse_level(text: str) -> int:
    """``alert.ParseLevel``: a prefix of a level name at its offset in
    ``OKINFOWARNINGCRITICAL`` (so ``""`` is OK and ``WARN`` is WARNING)."""
    upper = text.upper()
    index = _LEVELS.find(upper)
    if index in _LEVEL_OFFSETS:
        return _LEVEL_OFFSETS.index(index)
    raise APIError(400, f"unknown alert level '{upper}'")


def _arg(request, name: str) -> str:
    values = request.args.get(name.encode())
    return values[0].decode("utf-8", "replace") if values else ""


def _pattern(request) -> str:
    pattern = _arg(request, "pattern")
    size = len(pattern.encode("utf-8", "surrogatepass"))
    if size > MAX_PATTERN_BYTES:
        raise APIError(400, f"invalid pattern: pattern is too long: at most {MAX_PATTERN_BYTES} "
                            f"bytes are allowed, got {size}")
    try:
        gocompat.path_match_strict(pattern, "")
    except gocompat.BadPattern as e:
        raise APIError(400, f"invalid pattern: {e}") from None
    return pattern


def _self_url(request) -> str:
    return request.uri.decode("utf-8", "surrogateescape")


def _link(rel: str, *parts: str) -> dict:
    return {"rel": rel, "href": gocompat.path_join(TOPICS_PATH, *parts)}


def _go_sorted(value):
    """Go marshals maps with sorted keys and numbers as float64."""
    if isinstance(value, dict):
        return {k: _go_sorted(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_go_sorted(v) for v in value]
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def topic_json(topic) -> dict:
    return {
        "link": _link("self", topic.id),
        "id": topic.id,
        "level": LEVEL_NAMES[topic.level],
        "collected": topic.collected,
        "events-link": _link("events", topic.id, "events"),
        "handlers-link": _link("handlers", topic.id, "handlers"),
    }


def event_json(topic_id: str, event) -> dict:
    return {
        "link": _link("self", topic_id, "events", event.id),
        "id": event.id,
        "state": {
            "message": event.message,
            "details": event.details,
            "time": gocompat.format_time(event.time, gocompat._dt.timezone.utc),
            "duration": gocompat.format_duration(event.duration),
            "level": LEVEL_NAMES[event.level],
        },
    }


def handler_json(spec: HandlerSpec) -> dict:
    return {
        "link": _link("self", spec.topic, "handlers", spec.id),
        "id": spec.id,
        "kind": spec.kind,
        "options": _go_sorted(spec.options) if spec.options is not None else None,
        "match": spec.match,
    }


_JSON_KINDS = {str: "string", bool: "bool", list: "array", dict: "object"}


def _typed(field: str, go_type: str, check):
    def convert(value):
        if not check(value):
            kind = _JSON_KINDS.get(type(value), "number")
            raise jsonbody.BodyError(
                f"json: cannot unmarshal {kind} into Go struct field HandlerSpec.{field} "
                f"of type {go_type}")
        return value
    return convert


_SPEC_FIELDS = {
    "id": _typed("id", "string", lambda v: isinstance(v, str)),
    "topic": _typed("topic", "string", lambda v: isinstance(v, str)),
    "kind": _typed("kind", "string", lambda v: isinstance(v, str)),
    "options": _typed("options", "map[string]interface {}", lambda v: isinstance(v, dict)),
    "match": _typed("match", "string", lambda v: isinstance(v, str)),
}


def _spec_from(fields: dict, topic: str) -> HandlerSpec:
    return HandlerSpec(id=fields.get("id", ""), topic=topic, kind=fields.get("kind", ""),
                       options=fields.get("options"), match=fields.get("match", ""))


def _decode_any(raw: bytes):
    """The first JSON value of the body, Go's way (see :mod:`kapacitord_tw.http.jsonbody`)."""
    try:
        return jsonbody._to_plain(jsonbody._first_value(raw))
    except RecursionError:
        raise jsonbody.BodyError(jsonbody.TOO_DEEP) from None


def _decode_spec(raw: bytes, topic: str, what: str) -> HandlerSpec:
    try:
        fields = jsonbody.decode_struct(raw, _SPEC_FIELDS)
    except jsonbody.BodyError as e:
        raise APIError(400, f"{what}{e}") from None
    return _spec_from(fields, topic)


class AlertsAPI(Area):
    app = install_error_handlers(Klein())
    mux = (
        ("GET", "/alerts/topics", {}),
        ("GET", "/alerts/topics/", {}),
        ("POST", "/alerts/topics/", {}),
        ("PATCH", "/alerts/topics/", {}),
        ("PUT", "/alerts/topics/", {}),
        ("DELETE", "/alerts/topics/", {}),
    )

    def __init__(self, service: AlertService):
        self._service = service

    # ------------------------------------------------------------ topics

    @app.route("/alerts/topics", methods=["GET"])
    def list_topics(self, request):
        pattern = _pattern(request)
        min_level = parse_level(_arg(request, "min-level"))
        topics = self._service.topic_states(pattern, min_level)
        return json_response(request, {
            "link": {"rel": "self", "href": _self_url(request)},
            "topics": [topic_json(t) for t in topics],
        })

    @app.route("/alerts/topics/", methods=["GET", "POST", "PATCH", "PUT", "DELETE"])
    @app.route("/alerts/topics/<path:_rest>", methods=["GET", "POST", "PATCH", "PUT", "DELETE"])
    def one_topic(self, request, _rest=None):
        p = decoded_path(request)[len(TOPICS_PATH) + 1:]
        topic = p.split("/", 1)[0]
        method = request.method.decode("ascii")
        if method == "GET":
            return self._get(request, p, topic)
        if method == "POST":
            return self._create(request, topic)
        directory, _, last = p.rpartition("/")
        handler = last if (directory + "/").endswith("handlers/") else None
        if method == "DELETE":
            if handler is None:
                return self._service.delete_topic(topic).addCallback(
                    lambda _: no_content(request))
            return self._service.deregister(topic, handler).addCallback(
                lambda _: no_content(request))
        return self._update(request, topic, handler or "", method == "PATCH")

    def _get(self, request, p: str, topic_id: str):
        match = gocompat.path_match
        if match("*/events", p):
            return self._events(request, topic_id)
        if match("*/events/*", p):
            return self._event(request, topic_id, p.rsplit("/", 1)[1])
        if match("*/handlers", p):
            return self._handlers(request, topic_id)
        if match("*/handlers/*", p):
            return self._handler(request, topic_id, p.rsplit("/", 1)[1])
        topic = self._service.topic(topic_id)
        if topic is None:
            raise APIError(404, f"unknown topic: {gocompat.go_quote(topic_id)}")
        return json_response(request, topic_json(topic))

    # ------------------------------------------------------------ events

    def _events(self, request, topic_id: str):
        min_level = parse_level(_arg(request, "min-level"))
        topic = self._service.topic(topic_id)
        if topic is None:
            # Kapacitor answers 500 here; an unknown name is the client's mistake.
            raise APIError(404, f"failed to get topic events: unknown topic "
                                f"{gocompat.go_quote(topic_id)}")
        return json_response(request, {
            "link": _link("self", topic_id, "events"),
            "topic": topic_id,
            "events": [event_json(topic_id, e) for e in topic.event_states(min_level)],
        })

    def _event(self, request, topic_id: str, event_id: str):
        event = self._service.event_state(topic_id, event_id)
        if event is None:
            raise APIError(404, f"unknown event {gocompat.go_quote(event_id)} in topic "
                                f"{gocompat.go_quote(topic_id)}")
        return json_response(request, event_json(topic_id, event))

    # ------------------------------------------------------------ handlers

    def _handlers(self, request, topic_id: str):
        pattern = _pattern(request)
        specs = self._service.handler_specs(topic_id, pattern)
        return json_response(request, {
            "link": {"rel": "self", "href": _self_url(request)},
            "topic": topic_id,
            "handlers": [handler_json(s) for s in specs],
        })

    def _handler(self, request, topic_id: str, handler_id: str):
        spec = self._existing(topic_id, handler_id)
        return json_response(request, handler_json(spec))

    def _existing(self, topic_id: str, handler_id: str) -> HandlerSpec:
        spec = self._service.handler_spec(topic_id, handler_id)
        if spec is None:
            raise APIError(404, f"unknown handler: {gocompat.go_quote(handler_id)}")
        return spec

    def _create(self, request, topic_id: str):
        spec = _decode_spec(request.content.read(), topic_id, "invalid handler json: ")
        try:
            d = self._service.register(spec)
        except SpecInvalid as e:
            raise APIError(400, f"invalid handler spec: {e}") from None
        except HandlerCreateError as e:
            raise APIError(400, f"failed to create handler: {e}") from None
        return d.addCallbacks(lambda _: json_response(request, handler_json(spec)),
                              _store_failed("failed to create handler: "))

    def _update(self, request, topic_id: str, handler_id: str, patch: bool):
        old = self._existing(topic_id, handler_id)
        raw = request.content.read()
        if patch:
            new = self._patched(old, raw, topic_id)
        else:
            new = _decode_spec(raw, topic_id, "failed to unmarshal JSON: ")
        try:
            d = self._service.update(old, new)
        except SpecInvalid as e:
            raise APIError(400, f"invalid handler spec: {e}") from None
        except (HandlerCreateError, HandlerUpdateError) as e:
            raise APIError(400, f"failed to update handler: {e}") from None
        return d.addCallbacks(lambda _: json_response(request, handler_json(new)),
                              _store_failed("failed to update handler: "))

    def _patched(self, old: HandlerSpec, raw: bytes, topic_id: str) -> HandlerSpec:
        try:
            operations = jsonpatch.decode(_decode_any(raw))
        except (jsonbody.BodyError, jsonpatch.PatchError) as e:
            raise APIError(400, f"invalid patch json: {e}") from None
        try:
            document = jsonpatch.apply(old.to_record(), operations)
        except (jsonpatch.PatchError, RecursionError) as e:
            raise APIError(400, f"failed to apply patch: {e}") from None
        if not isinstance(document, dict):
            raise APIError(400, "failed to unmarshal patched json: json: cannot unmarshal "
                                "non-object into Go value of type alert.HandlerSpec")
        fields = {}
        try:
            for name, check in _SPEC_FIELDS.items():
                key = name if name in document else next(
                    (k for k in document if k.lower() == name), None)
                if key is not None and document[key] is not None:
                    fields[name] = check(document[key])
        except jsonbody.BodyError as e:
            raise APIError(400, f"failed to unmarshal patched json: {e}") from None
        return _spec_from(fields, fields.get("topic", topic_id))


def _store_failed(prefix: str):
    def failed(failure):
        if failure.check(APIError):
            return failure
        raise APIError(500, prefix + failure.getErrorMessage())
    return failed


__all__ = ["AlertsAPI", "parse_level"]
