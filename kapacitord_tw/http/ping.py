"""``GET|HEAD /kapacitor/v1/ping`` and ``GET /kapacitor/v1/:routes``."""

from __future__ import annotations

from klein import Klein

from kapacitord_tw.http.area import Area, install_error_handlers
from kapacitord_tw.http.errors import json_response, no_content


class PingAPI(Area):
    app = install_error_handlers(Klein())
    mux = (
        ("GET", "/ping", {"direct": "ping"}),
        ("HEAD", "/ping", {"direct": "ping"}),
        ("GET", "/:routes", {}),
    )

    def __init__(self, stats, route_table):
        self._stats = stats
        self._route_table = route_table

    def ping(self, request):
        """Served by the root itself (``direct``), never through Klein."""
        self._stats.incr("ping_req")
        return no_content(request)

    @app.route("/:routes", methods=["GET"])
    def routes_list(self, request):
        return json_response(request, self._route_table.patterns())
