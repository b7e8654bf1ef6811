"""
The root resource: Kapacitor's middleware chain in front of the API areas.

Go's server does, in order (reference §1.2, §1.3): reject unknown methods
(``*`` targets never get here: the site answers them), redirect unclean
paths, then for every route: request id, CORS (answering every OPTIONS
itself), the version header, gzip, the JSON content type, authentication and
authorization, and only then the handler.  This resource does exactly that
and hands the request to the Klein resource of the area that registered the
matching pattern.  A preview-rewritten request is authenticated and
authorized again for its new path, as in the original, but gets neither a
second version header nor a second gzip layer (reference §10 #12).

Two deliberate differences (issue #10): CORS headers go only to origins in
``[http] cors-allowed-origins`` (Kapacitor echoes any ``Origin``), and a
request with a body is authenticated and authorized from its headers before
the body is read (``authenticate_before_body``, called by the site), so a
refused upload costs neither disk nor bandwidth.
"""

from __future__ import annotations

import re
from urllib.parse import quote, unquote_to_bytes

from twisted.internet.defer import Deferred
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET, GzipEncoderFactory

from kapacitord_tw.auth.realm import IUserAvatar
from kapacitord_tw.http.errors import JSON_CONTENT_TYPE, APIError, render_api_error
from kapacitord_tw.http.requestid import RequestIds
from kapacitord_tw.http.routing import BASE, METHODS, PREVIEW, Route, RouteTable, clean_request_path

CORS_METHODS = b"DELETE, GET, OPTIONS, POST, PATCH"
CORS_HEADERS = (
    b"Accept, Accept-Encoding, Authorization, Content-Length, Content-Type, "
    b"X-CSRF-Token, X-HTTP-Method-Override"
)


# Go's htmlReplacer, used by http.Redirect for the link in the body.
_HTML_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&#34;", "'": "&#39;"}
_PREVIEW_PATTERN = PREVIEW + "/"
#: ``scheme://authority`` of an absolute-form request target.
_ABSOLUTE_FORM = re.compile(rb"^[A-Za-z][A-Za-z0-9+.\-]*://[^/?#]*")


class _GoGzip(GzipEncoderFactory):
    """Go's rule: any ``Accept-Encoding`` *containing* ``gzip``."""

    _gzipCheckRegex = re.compile(rb"gzip")
    compressLevel = 6


_GZIP = _GoGzip()


def decoded_path(request) -> str:
    """The URL path with %-escapes decoded, as Go's ``r.URL.Path``."""
    return unquote_to_bytes(request.path).decode("utf-8", "surrogateescape")


class KapacitorRoot(Resource):
    """Routes every request through the middleware chain (isLeaf)."""

    isLeaf = True
    log = Logger()

    def __init__(self, routes: RouteTable, guard, version: str, stats, cors_origins=()):
        super().__init__()
        self._routes = routes
        self._guard = guard
        self._version = version.encode("ascii")
        self._stats = stats
        self._ids = RequestIds()
        self._cors = CORSPolicy(cors_origins)

    # -------------------------------------------------------------- entry

    def render(self, request):
        # Go counts every request, and its method tables are case-sensitive
        # (``get`` is an unknown method there).
        self._stats.incr("req")
        method = request.method.decode("latin-1") or "GET"
        if method not in METHODS:
            return render_api_error(request, APIError(404, "Not Found"))
        path = decoded_path(request)
        cleaned = clean_request_path(path)
        if cleaned != path:
            return self._redirect(request, method, cleaned)
        request_id = self._ids.next()
        request.requestHeaders.setRawHeaders(b"Request-Id", [request_id])
        request.setHeader(b"Request-Id", request_id)
        return self._serve(request, method, path)

    def _redirect(self, request, method: str, cleaned: str):
        absolute = _ABSOLUTE_FORM.match(request.path)
        if absolute is not None:
            # Go serves ``GET http://user:pw@host/p`` at ``/p``: send the
            # client there, never echoing the user-info (a password).
            cleaned = clean_request_path(
                unquote_to_bytes(request.path[absolute.end():] or b"/").decode(
                    "utf-8", "surrogateescape"))
        # Go's URL path escaping: only these reserved characters stay as-is.
        location = quote(cleaned.encode("utf-8", "surrogateescape"), safe="/:@$&+,;=~")
        query = request.uri.partition(b"?")[2]
        if query:
            location += "?" + query.decode("latin-1")
        request.setResponseCode(301)
        request.setHeader(b"Location", location.encode("latin-1"))
        if method in ("GET", "HEAD"):
            request.setHeader(b"Content-Type", b"text/html; charset=utf-8")
        if method == "GET":
            href = "".join(_HTML_ESCAPES.get(ch, ch) for ch in location)
            return f'<a href="{href}">Moved Permanently</a>.\n\n'.encode("utf-8")
        return b""

    # --------------------------------------------------------- middleware

    def _serve(self, request, method: str, path: str, rewritten: bool = False):
        self._cors.apply(request)
        if method == "OPTIONS":
            request.setResponseCode(200)
            request.setHeader(b"Content-Length", b"0")
            return b""
        if not rewritten:
            request.responseHeaders.addRawHeader(b"X-Kapacitor-Version", self._version)
        route = self._routes.match(method, path)
        if route.json:
            request.setHeader(b"Content-Type", JSON_CONTENT_TYPE)
        if route.gzip and not rewritten:
            encoder = _GZIP.encoderForRequest(request)
            if encoder is not None:
                request._encoder = encoder
        try:
            if route.bypass_auth:
                user = self._guard.anonymous()
            elif request_verdict(request) is not None:
                # The site asked the guard before reading the body.
                user = request_verdict(request)
                if isinstance(user, APIError):
                    raise user
            else:
                user = self._guard.authenticate(request)
            if not isinstance(user, Deferred):
                return self._authorized(user, request, method, path, route)
        except APIError as e:
            return render_api_error(request, e)
        user.addCallback(self._authorized, request, method, path, route)
        user.addCallback(self._write_result, request)
        user.addErrback(self._failed, request)
        return NOT_DONE_YET

    def _write_result(self, result, request) -> None:
        if result is not NOT_DONE_YET and not request.finished:
            request.write(result)
            request.finish()

    def _authorized(self, user, request, method: str, path: str, route: Route):
        # Set before authorizing, so the access log names the user of a 403.
        request.setComponent(IUserAvatar, user)
        self._check_privileges(user, request, method, path, route)
        if route.pattern == _PREVIEW_PATTERN:
            return self._preview(request, method, path)
        if route.direct is not None:
            return route.direct(request)
        if route.resource is None:
            raise APIError(404, "Not Found")
        return self._render_area(request, route, path)

    def _check_privileges(self, user, request, method: str, path: str, route: Route):
        if route.authorize is not None:
            route.authorize(request, user)
        else:
            self._guard.authorize(user, method, path)
        return user

    def authenticate_before_body(self, request):
        """The guard's verdict from the request line and headers alone.

        ``None`` when the request needs none before its body (no
        authentication on its path, or the chain answers it before the
        guard: unknown method, unclean path, OPTIONS); else the ``User``, or
        a Deferred firing with it; refusals raise (or errback with)
        ``APIError``.  The same checks as ``_serve`` and ``_authorized``.
        """
        method = request.method.decode("latin-1") or "GET"
        if method not in METHODS or method == "OPTIONS":
            return None
        path = decoded_path(request)
        if clean_request_path(path) != path:
            return None
        route = self._routes.match(method, path)
        if route.bypass_auth:
            return None

        def check(user):
            request.setComponent(IUserAvatar, user)
            return self._check_privileges(user, request, method, path, route)

        user = self._guard.authenticate(request)
        if isinstance(user, Deferred):
            return user.addCallback(check)
        return check(user)

    def _preview(self, request, method: str, path: str):
        """Rewrite ``/kapacitor/v1preview/...`` and dispatch again (§1.6)."""
        rewritten = BASE + path[len(PREVIEW):]
        request.path = rewritten.encode("utf-8", "surrogateescape")
        self._write_result(self._serve(request, method, rewritten, rewritten=True), request)
        return NOT_DONE_YET

    def _render_area(self, request, route: Route, path: str):
        rest = path[len(route.prefix):]
        prefix_segments = [s for s in route.prefix.split("/") if s]
        request.prepath = [s.encode("utf-8", "surrogateescape") for s in prefix_segments]
        # Klein needs UTF-8 to match its rules; handlers that care about the
        # exact bytes (user names) read ``decoded_path`` instead.
        request.postpath = [s.encode("utf-8", "replace") for s in rest.lstrip("/").split("/")]
        self._write_result(route.resource.render(request), request)
        return NOT_DONE_YET

    def _failed(self, failure: Failure, request):
        if request.finished or request._disconnected:
            return None
        if failure.check(APIError):
            error = failure.value
        else:
            self.log.failure("unhandled error serving {path}", failure, path=request.path)
            error = APIError(500, "internal server error")
        request.write(render_api_error(request, error))
        request.finish()
        return None


class CORSPolicy:
    """CORS headers for allowed origins only (issue #10 item 16).

    Kapacitor echoes any ``Origin``; here an origin listed in
    ``[http] cors-allowed-origins`` gets it echoed with
    ``Access-Control-Allow-Credentials: true``, ``"*"`` in the list lets any
    other origin in without credentials, and everyone else gets no CORS
    headers at all (browsers then keep the answer from the page).
    """

    def __init__(self, origins=()):
        self._origins = frozenset(o.encode("utf-8") for o in origins if o != "*")
        self._any = "*" in origins

    def apply(self, request) -> None:
        values = request.requestHeaders.getRawHeaders(b"Origin")
        origin = values[0] if values else b""  # Go's Header.Get: the first
        if not origin:
            return
        if self._origins:
            # The answer depends on the origin: caches must keep them apart.
            request.setHeader(b"Vary", b"Origin")
        if origin in self._origins:
            request.setHeader(b"Access-Control-Allow-Origin", origin)
            request.setHeader(b"Access-Control-Allow-Credentials", b"true")
        elif self._any:
            request.setHeader(b"Access-Control-Allow-Origin", b"*")
        else:
            return
        request.setHeader(b"Access-Control-Allow-Methods", CORS_METHODS)
        request.setHeader(b"Access-Control-Allow-Headers", CORS_HEADERS)


def request_verdict(request):
    """What the site learnt from the guard before the body (or ``None``)."""
    return getattr(request, "early_verdict", None)


def request_user(request):
    """The ``User`` the guard authenticated for this request."""
    return request.getComponent(IUserAvatar)
