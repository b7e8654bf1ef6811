"""
Kapacitor's error bodies, written in one place.

``{"error": m, "message": m}``: compact for authentication/authorization
failures, 4-space pretty for everything a handler writes (reference §1.4).
"""

from __future__ import annotations

from kapacitord_tw import gocompat

JSON_CONTENT_TYPE = b"application/json; charset=utf-8"


class APIError(Exception):
    """A handler's refusal, rendered as Kapacitor's error body."""

    def __init__(self, code: int, message: str, pretty: bool = True, plain: bool = False):
        super().__init__(message)
        self.code = code
        self.message = message
        self.pretty = pretty
        #: ``/write`` answers errors as plain text + newline (reference §5.2).
        self.plain = plain


#: Reason phrases Twisted does not know.
_PHRASES = {429: b"Too Many Requests"}


def render_api_error(request, err: APIError) -> bytes:
    """Set status and content type; return the body for the caller to write."""
    request.setResponseCode(err.code, _PHRASES.get(err.code))
    request.setHeader(b"Content-Type", JSON_CONTENT_TYPE)
    if err.plain:
        return err.message.encode("utf-8", "surrogateescape") + b"\n"
    return error_body(err.message, err.pretty)


def error_body(message: str, pretty: bool = True) -> bytes:
    return gocompat.json_dumps({"error": message, "message": message}, pretty=pretty)


def json_response(request, obj, code: int = 200) -> bytes:
    """A successful pretty JSON body, as Kapacitor's handlers write them."""
    request.setResponseCode(code)
    return gocompat.json_dumps(obj, pretty=True)


def no_content(request) -> bytes:
    request.setResponseCode(204)
    return b""
