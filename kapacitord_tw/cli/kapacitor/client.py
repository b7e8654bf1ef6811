"""A small client for Kapacitor's HTTP API, speaking only HTTP.

It makes the same requests as the original Go client (``client/v1``): the
same paths, query parameters (sorted, as Go's ``url.Values.Encode`` writes
them) and JSON bodies (Go's encoder output, trailing newline included), and
it reads errors the same way: the ``error`` field of a JSON body, else
``invalid response: code N: body: ...``. Nothing here imports server code,
so it works against the original Kapacitor too.
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import posixpath
import socket
import ssl
import urllib.error
import urllib.request
from urllib.parse import quote, quote_plus, urlsplit

import attrs

from .endpoint import Endpoint
from .gofmt import go_json, go_quote

__all__ = [
    "ApiError",
    "TransportError",
    "Response",
    "KapacitorClient",
    "BASE_PATH",
    "USER_AGENT",
    "api_link",
]

BASE_PATH = "/kapacitor/v1"
USER_AGENT = "KapacitorClient"
_PATH_SAFE = "/$&+,:;=@"


class ApiError(Exception):
    """The server answered with an unexpected status; ``message`` is its text."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


class TransportError(Exception):
    """No HTTP answer (refused, TLS, DNS...); the message shows a masked URL."""


@attrs.frozen
class Response:
    status: int
    headers: object
    body: bytes


def api_link(*parts: str) -> str:
    """Join path parts like Go's ``path.Join`` (so ``a/../b`` is cleaned)."""
    joined = "/".join(p for p in parts if p)
    if not joined:
        return ""
    cleaned = posixpath.normpath(joined)
    if cleaned.startswith("//"):
        cleaned = "/" + cleaned.lstrip("/")
    return cleaned


def encode_query(pairs: list[tuple[str, str]]) -> str:
    """Encode like Go's ``url.Values.Encode``: keys sorted, values in order."""
    ordered = sorted(pairs, key=lambda kv: kv[0])
    return "&".join(
        "%s=%s" % (quote_plus(k, safe=""), quote_plus(v, safe="")) for k, v in ordered
    )


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _go_method(method: str) -> str:
    return method[:1] + method[1:].lower()


def _describe(exc: BaseException, endpoint: Endpoint) -> str:
    reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
    if isinstance(reason, ConnectionRefusedError):
        return "dial tcp %s: connect: connection refused" % endpoint.netloc
    if isinstance(reason, socket.gaierror):
        return "dial tcp: lookup %s: no such host" % endpoint.host
    if isinstance(reason, (socket.timeout, TimeoutError)):
        return "dial tcp %s: i/o timeout" % endpoint.netloc
    if isinstance(reason, ssl.SSLCertVerificationError):
        return "tls: failed to verify certificate: %s" % (
            reason.verify_message or reason
        )
    if isinstance(reason, http.client.RemoteDisconnected):
        return "EOF"
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror[:1].lower() + reason.strerror[1:]
    return str(reason)


class _KeepCredentialsOnSameHost(urllib.request.HTTPRedirectHandler):
    """Follow redirects, but send the credentials only back to the same host.

    ``urllib`` copies every header to the redirect target; Go's client drops
    ``Authorization`` when a redirect leaves the original host.
    """

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new is not None and urlsplit(newurl).hostname != urlsplit(req.full_url).hostname:
            new.remove_header("Authorization")
        return new


class _Transport:
    """Sends one request; HTTP error statuses come back as responses."""

    def __init__(self, endpoint: Endpoint, skip_verify: bool):
        self.endpoint = endpoint
        handlers = [_KeepCredentialsOnSameHost()]
        if endpoint.scheme == "https":
            context = ssl.create_default_context()
            if skip_verify:
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            handlers.append(urllib.request.HTTPSHandler(context=context))
        # Like Go's ProxyFromEnvironment: never proxy loopback addresses.
        proxies = {} if _is_loopback(endpoint.host) else urllib.request.getproxies()
        handlers.append(urllib.request.ProxyHandler(proxies))
        self._opener = urllib.request.build_opener(*handlers)

    def open(self, method: str, path: str, query: str = "", body: bytes | None = None):
        headers = {"User-Agent": USER_AGENT}
        authorization = self.endpoint.authorization()
        if authorization is not None:
            headers["Authorization"] = authorization
        if body is not None:
            headers["Content-Type"] = "application/json"
        quoted_path = quote(path, safe=_PATH_SAFE)
        request = urllib.request.Request(
            self.endpoint.url(quoted_path, query),
            data=body,
            method=method,
            headers=headers,
        )
        try:
            return self._opener.open(request)
        except urllib.error.HTTPError as exc:
            return exc
        except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
            raise TransportError(
                "%s %s: %s"
                % (
                    _go_method(method),
                    go_quote(self.endpoint.display(quoted_path, query)),
                    _describe(exc, self.endpoint),
                )
            ) from None

    def request(self, method: str, path: str, query: str = "", body: bytes | None = None) -> Response:
        response = self.open(method, path, query, body)
        with response:
            try:
                data = response.read()
            except (OSError, http.client.HTTPException) as exc:
                raise TransportError(
                    "reading the response from %s: %s"
                    % (go_quote(self.endpoint.display(path, query)), exc)
                ) from None
            status = response_status(response)
            return Response(status=status, headers=response.headers, body=data)


def response_status(response) -> int:
    """The status of what ``_Transport.open`` returns: a response, or an
    ``HTTPError`` standing in for one (which has ``code`` but maybe no ``status``)."""
    return getattr(response, "status", None) or response.code


def error_message(status: int, body: bytes) -> str:
    """What the Go client reports for an unexpected status."""
    text = body.decode("utf-8", "replace")
    try:
        value, _ = json.JSONDecoder().raw_decode(text.lstrip())
    except ValueError:
        value = None
    if isinstance(value, dict):
        message = value.get("error")
        if isinstance(message, str) and message:
            return message
    return "invalid response: code %d: body: %s" % (status, text)


def _page(pattern: str, offset: int, limit: int, fields: list[str] = ()) -> list[tuple[str, str]]:
    """The query of one page of a listing (order does not matter: encoding sorts)."""
    return [("pattern", pattern), *[("fields", f) for f in fields],
            ("offset", str(offset)), ("limit", str(limit))]


def _json_body(payload: object) -> bytes:
    return (go_json(payload) + "\n").encode("utf-8")


class KapacitorClient:
    """The API calls the CLI needs; each mirrors a method of Go's ``client/v1``."""

    def __init__(self, endpoint: Endpoint, skip_verify: bool = False):
        self.endpoint = endpoint
        self.transport = _Transport(endpoint, skip_verify)

    # -- plumbing -----------------------------------------------------------

    def call(
        self,
        method: str,
        path: str,
        query: list[tuple[str, str]] | None = None,
        payload: object = None,
        expect: tuple[int, ...] = (200,),
    ) -> object:
        body = _json_body(payload) if payload is not None else None
        response = self.transport.request(
            method, path, encode_query(query) if query else "", body
        )
        if response.status not in expect:
            raise ApiError(response.status, error_message(response.status, response.body))
        if response.status == 204 or not response.body.strip():
            return None
        try:
            value, _ = json.JSONDecoder().raw_decode(
                response.body.decode("utf-8", "replace").lstrip()
            )
        except ValueError as exc:
            raise ApiError(response.status, "failed to decode JSON: %s" % exc) from None
        return value

    def _items(self, path: str, key: str, query: list[tuple[str, str]]) -> list:
        """The ``key`` list of a listing's JSON object (empty when absent)."""
        return (self.call("GET", path, query) or {}).get(key) or []

    # -- tasks --------------------------------------------------------------

    def task_link(self, task_id: str) -> str:
        return api_link(BASE_PATH + "/tasks", task_id)

    def task(self, href: str, replay_id: str = "") -> dict:
        query = [
            ("dot-view", "attributes"),
            ("script-format", "formatted"),
            ("replay-id", replay_id),
        ]
        return self.call("GET", href, query) or {}

    def list_tasks(self, pattern: str, fields: list[str], offset: int = 0, limit: int = 100) -> list:
        query = [("dot-view", "attributes"), ("script-format", "formatted"), ("replay-id", "")]
        query += _page(pattern, offset, limit, fields)
        return self._items(BASE_PATH + "/tasks", "tasks", query)

    def create_task(self, options: dict) -> dict:
        return self.call("POST", BASE_PATH + "/tasks", payload=options) or {}

    def update_task(self, href: str, options: dict) -> dict:
        return self.call("PATCH", href, payload=options) or {}

    # -- templates ----------------------------------------------------------

    def template_link(self, template_id: str) -> str:
        return api_link(BASE_PATH + "/templates", template_id)

    def template(self, href: str) -> dict:
        return self.call("GET", href, [("script-format", "formatted")]) or {}

    def list_templates(self, pattern: str, fields: list[str], offset: int = 0, limit: int = 100) -> list:
        query = [("script-format", "formatted")] + _page(pattern, offset, limit, fields)
        return self._items(BASE_PATH + "/templates", "templates", query)

    def create_template(self, options: dict) -> dict:
        return self.call("POST", BASE_PATH + "/templates", payload=options) or {}

    def update_template(self, href: str, options: dict) -> dict:
        return self.call("PATCH", href, payload=options) or {}

    # -- users --------------------------------------------------------------

    def user_link(self, name: str) -> str:
        return api_link(BASE_PATH + "/users", name)

    def list_users(self, pattern: str, offset: int = 0, limit: int = 100) -> list:
        return self._items(BASE_PATH + "/users", "users", _page(pattern, offset, limit))

    def user(self, name: str) -> dict:
        return self.call("GET", self.user_link(name)) or {}

    def create_user(self, options: dict) -> dict:
        return self.call("POST", BASE_PATH + "/users", payload=options) or {}

    def update_user(self, name: str, options: dict) -> dict:
        return self.call("PATCH", self.user_link(name), payload=options) or {}

    def delete_user(self, name: str) -> None:
        self.call("DELETE", self.user_link(name), expect=(204,))

    # -- alert topics and handlers ------------------------------------------

    def topic_link(self, topic: str) -> str:
        return api_link(BASE_PATH + "/alerts/topics", topic)

    def topic_handlers_link(self, topic: str) -> str:
        return api_link(BASE_PATH + "/alerts/topics", topic, "handlers")

    def topic_handler_link(self, topic: str, handler: str) -> str:
        return api_link(BASE_PATH + "/alerts/topics", topic, "handlers", handler)

    def list_topics(self, pattern: str) -> list:
        query = [("pattern", pattern), ("min-level", "OK")]
        return self._items(BASE_PATH + "/alerts/topics", "topics", query)

    def topic(self, href: str) -> dict:
        return self.call("GET", href) or {}

    def topic_events(self, href: str) -> list:
        return self._items(href, "events", [("min-level", "OK")])

    def topic_handlers(self, href: str, pattern: str = "") -> list:
        return self._items(href, "handlers", [("pattern", pattern)])

    def topic_handler(self, href: str) -> dict:
        return self.call("GET", href) or {}

    def create_topic_handler(self, href: str, options: dict) -> dict:
        return self.call("POST", href, payload=options) or {}

    def replace_topic_handler(self, href: str, options: dict) -> dict:
        return self.call("PUT", href, payload=options) or {}

    def delete_link(self, href: str) -> None:
        """``DELETE`` a resource by its ``link.href`` (expects 204)."""
        self.call("DELETE", href, expect=(204,))

    def open_logs(self, tags: dict) -> object:
        """The streaming response of ``GET /kapacitor/v1preview/logs``."""
        return self.transport.open(
            "GET", "/kapacitor/v1preview/logs", encode_query(sorted(tags.items()))
        )

    # -- service tests ------------------------------------------------------

    def list_service_tests(self, pattern: str) -> list:
        """``ListServiceTests``: an empty pattern is sent as ``*``."""
        return self._items(BASE_PATH + "/service-tests", "services",
                           [("pattern", pattern or "*")])

    def do_service_test(self, href: str) -> dict:
        """``DoServiceTest(link, nil)``: the test's default options (body ``null``)."""
        if not href:
            raise ApiError(0, "invalid link {self %s}" % href)
        body = self.transport.request("POST", href, "", b"null\n")
        if body.status != 200:
            raise ApiError(body.status, error_message(body.status, body.body))
        try:
            value, _ = json.JSONDecoder().raw_decode(body.body.decode("utf-8", "replace").lstrip())
        except ValueError as exc:
            raise ApiError(body.status, "failed to decode JSON: %s" % exc) from None
        return value if isinstance(value, dict) else {}

    # -- server -------------------------------------------------------------

    def debug_vars(self) -> dict:
        return self.call("GET", BASE_PATH + "/debug/vars") or {}

    def raw_get(self, path: str) -> Response:
        return self.transport.request("GET", path)

    def open_backup(self):
        """The streaming response of ``GET /storage/backup`` (caller closes it)."""
        return self.transport.open("GET", BASE_PATH + "/storage/backup")

    def log_level(self, level: str) -> None:
        self.call("POST", BASE_PATH + "/loglevel", payload={"level": level}, expect=(204,))
