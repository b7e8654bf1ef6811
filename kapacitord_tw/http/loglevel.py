"""``POST /kapacitor/v1/loglevel``: change the running log level (§5.4)."""

from __future__ import annotations

from klein import Klein

from kapacitord_tw import audit
from kapacitord_tw.auth.credentials import client_host
from kapacitord_tw.http import jsonbody
from kapacitord_tw.http.area import Area, install_error_handlers
from kapacitord_tw.http.errors import APIError, no_content
from kapacitord_tw.http.root import request_user
from kapacitord_tw.logs import level_name

ACCEPTED = ("DEBUG", "INFO", "ERROR")


class LogLevelAPI(Area):
    app = install_error_handlers(Klein())
    mux = (("POST", "/loglevel", {}),)

    def __init__(self, control):
        self._control = control

    @app.route("/loglevel", methods=["POST"])
    def set_level(self, request):
        try:
            body = jsonbody.decode_struct(request.content.read(), {"level": jsonbody.string})
        except jsonbody.BodyError as e:
            raise APIError(400, f"invalid json: {e}") from None
        level = body.get("level", "")
        if level.upper() not in ACCEPTED:
            raise APIError(400, "invalid log level")
        previous = level_name(self._control.level)
        self._control.set_level(level)
        audit.log_level_changed(
            level.upper(), previous, request_user(request).name, client_host(request)
        )
        return no_content(request)
