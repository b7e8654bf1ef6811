"""
An API area: a class with its own ``Klein()`` app, plus the Go-mux patterns
through which the root reaches it.  Errors are mapped to Kapacitor's bodies
in one place, so handlers simply raise ``APIError``.
"""

from __future__ import annotations

from typing import Iterable, List

from klein import Klein
from twisted.logger import Logger
from werkzeug.exceptions import HTTPException

from kapacitord_tw.http.errors import APIError, render_api_error
from kapacitord_tw.http.routing import Route

_log = Logger(namespace="kapacitord_tw.http")


def _api_error(instance, request, failure):
    return render_api_error(request, failure.value)


def _not_routed(instance, request, failure):
    # Only reachable if an area's Klein rules disagree with its mux entries.
    return render_api_error(request, APIError(404, "Not Found"))


def _unexpected(instance, request, failure):
    _log.failure("unhandled error in {area}", failure, area=type(instance).__name__)
    return render_api_error(request, APIError(500, "internal server error"))


def install_error_handlers(app: Klein) -> Klein:
    """APIError → its body; anything else → logged, generic 500, no traceback."""
    app.handle_errors(APIError)(_api_error)
    app.handle_errors(HTTPException)(_not_routed)
    app.handle_errors(Exception)(_unexpected)
    return app


class Area:
    """Base class: subclasses set ``app`` and list their ``mux`` entries.

    ``mux`` holds ``(method, pattern, options)`` triples with patterns
    relative to ``prefix``; options are ``Route`` keyword arguments.
    """

    app: Klein
    prefix = "/kapacitor/v1"
    mux: Iterable = ()

    def routes(self) -> List[Route]:
        resource = self.app.resource()
        out = []
        for method, pattern, options in self.mux:
            options = dict(options)
            prefix = options.pop("prefix", self.prefix)
            authorize = options.pop("authorize", None)
            if isinstance(authorize, str):
                authorize = getattr(self, authorize)
            direct = options.pop("direct", None)
            if isinstance(direct, str):
                direct = getattr(self, direct)
            out.append(
                Route(
                    method,
                    prefix + pattern,
                    resource,
                    prefix=prefix,
                    authorize=authorize,
                    direct=direct,
                    **options,
                )
            )
        return out
