"""A canned Kapacitor HTTP API for CLI tests: replies as scripted, records requests.

Replies use the original's shapes (pretty JSON bodies, ``{"error", "message"}``
errors, the catch-all ``404 Not Found``), so the CLI is tested against what
the real server sends without needing the daemon.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import attrs


def pretty(value: object) -> bytes:
    """Go's ``json.MarshalIndent(v, "", "    ")``."""
    return json.dumps(value, indent=4, ensure_ascii=False).encode("utf-8")


def error_body(message: str, compact: bool = False) -> bytes:
    body = {"error": message, "message": message}
    if compact:
        return json.dumps(body, separators=(",", ":")).encode("utf-8")
    return pretty(body)


@attrs.frozen
class Recorded:
    method: str
    path: str
    query: list
    headers: dict
    body: bytes

    def json(self) -> object:
        return json.loads(self.body)

    def param(self, name: str) -> list:
        return [v for k, v in self.query if k == name]


@attrs.frozen
class Canned:
    status: int
    body: bytes
    headers: dict


class FakeKapacitor:
    def __init__(self, tls_context=None):
        self.requests: list[Recorded] = []
        self._routes: dict[tuple[str, str], list[Canned]] = {}
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                recorded = Recorded(
                    method=self.command,
                    path=parts.path,
                    query=parse_qsl(parts.query, keep_blank_values=True),
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=body,
                )
                canned = fake._take(recorded)
                self.send_response(canned.status)
                headers = {
                    "Content-Type": "application/json; charset=utf-8",
                    "X-Kapacitor-Version": "1.8.3",
                    **canned.headers,
                }
                for name, value in headers.items():
                    self.send_header(name, value)
                if "Content-Length" not in canned.headers:
                    self.send_header("Content-Length", str(len(canned.body)))
                self.end_headers()
                self.wfile.write(canned.body)

            do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = _serve

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.scheme = "http"
        if tls_context is not None:
            self.scheme = "https"
            self._server.socket = tls_context.wrap_socket(self._server.socket, server_side=True)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def url(self, userinfo: str | None = None) -> str:
        prefix = userinfo + "@" if userinfo is not None else ""
        return "%s://%s127.0.0.1:%d" % (self.scheme, prefix, self.port)

    def start(self) -> "FakeKapacitor":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def reply(self, method: str, path: str, status: int = 200, json_body: object = None,
              raw: bytes | None = None, headers: dict | None = None) -> None:
        """Queue a reply for ``method path``; the last queued one repeats."""
        if raw is None:
            raw = b"" if json_body is None else pretty(json_body)
        with self._lock:
            self._routes.setdefault((method, path), []).append(
                Canned(status=status, body=raw, headers=dict(headers or {}))
            )

    def error(self, method: str, path: str, status: int, message: str, compact: bool = False) -> None:
        self.reply(method, path, status, raw=error_body(message, compact))

    def _take(self, recorded: Recorded) -> Canned:
        with self._lock:
            self.requests.append(recorded)
            queue = self._routes.get((recorded.method, recorded.path))
            if not queue:
                return Canned(404, error_body("Not Found"), {})
            return queue.pop(0) if len(queue) > 1 else queue[0]

    def calls(self) -> list[tuple[str, str]]:
        return [(r.method, r.path) for r in self.requests]
