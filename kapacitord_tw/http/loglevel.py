"""``POST /kapacitor/v1/loglevel``: change the running log level (§5.4)."""

from __future__ import annotations

from klein import Klein
from twisted.logger import Logger

from kapacitord_tw.http import jsonbody
from kapacitord_tw.http.area import Area, install_error_handlers
from kapacitord_tw.http.errors import APIError, no_content

ACCEPTED = ("DEBUG", "INFO", "ERROR")


class LogLevelAPI(Area):
    app = install_error_handlers(Klein())
    log = Logger()
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
        self._control.set_level(level)
        self.log.info("log level set to {new_level}", new_level=level.upper())
        return no_content(request)
