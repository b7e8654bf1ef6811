"""
The ``Site``: Twisted's HTTP server with Kapacitor's habits and our limits.

* no ``Server`` header and no default ``text/html`` content type (Go's
  server sends neither), and no body bytes (not even a gzip trailer) after
  the headers of a HEAD or 204 answer;
* a ``*`` request-target is a bare 400 and the connection is closed (§1.2);
* request bodies are bounded by ``[http] max-body-size``: a larger
  ``Content-Length`` is refused with 413 before the body is read, and a
  chunked body that grows past the limit is refused the same way;
* a request with a body is put to the guard as soon as its headers are in:
  the transport is paused while it decides, and a 401/403 is answered at
  once, the body dropped unread (nothing spooled to a temporary file);
* connection limits of ``channel.KapacitorChannel`` (header deadline, 431,
  lingering close) and at most ``[http] max-connections`` open connections:
  more are closed as soon as they are accepted, with one log line per
  ``REFUSAL_LOG_INTERVAL``;
* an access log event per request, never dropped, with the ``p`` query
  value and URL user-info redacted and the authenticated user named
  (``accesslog``);
* graceful shutdown: stop accepting, close idle connections, let requests
  in flight finish for up to ``shutdown-timeout``, then abort the rest.
"""

from __future__ import annotations

import io
import time
from typing import Set

from twisted.internet import defer
from twisted.internet.protocol import Protocol
from twisted.logger import Logger, LogLevel
from twisted.web import http, server

from kapacitord_tw.auth.credentials import client_host
from kapacitord_tw.gocompat import format_time
from kapacitord_tw.http.accesslog import log_username, redact_uri
from kapacitord_tw.http.body import BodyChunks
from kapacitord_tw.http.channel import KapacitorChannel
from kapacitord_tw.http.errors import JSON_CONTENT_TYPE, APIError, error_body

#: At most one "connection refused" log line per this many seconds.
REFUSAL_LOG_INTERVAL = 10.0


class KapacitorRequest(server.Request):
    """A request that enforces the body limit while the body arrives, and
    asks the guard before reading it."""

    defaultContentType = None
    #: Set once the 413 has been sent: the rest of the request is ignored.
    _refused = False
    _body_seen = 0
    #: When processing began (monotonic, and wall clock for the log's ``start``).
    _started = None
    _started_ns = None
    #: The guard's verdict from the headers (``authenticate_before_body``):
    #: a ``User`` to serve the request as, or the ``APIError`` it got.
    early_verdict = None
    #: The guard is deciding; the transport is paused meanwhile.
    _awaiting_guard = False
    #: The whole body arrived while the guard was deciding.
    _process_held = False

    def gotLength(self, length):
        limit = self.channel.site.max_body_size
        if length is not None and length > limit:
            self._refuse_too_large(limit)
            return
        if length != 0 and self._ask_guard_before_body():
            return
        self.content = BodyChunks()  # not a temporary file (see http.body)

    # ------------------------------------------------ the guard before the body

    def _ask_guard_before_body(self) -> bool:
        """Authenticate and authorize from the headers; True when refused
        (and answered) at once."""
        ask = getattr(self.channel.site.resource, "authenticate_before_body", None)
        if ask is None:
            return False
        channel = self.channel
        # What ``requestReceived`` will set again once the body is in.
        self.method, self.uri, self.clientproto = channel._command, channel._path, channel._version
        self.path = self.uri.split(b"?", 1)[0]
        try:
            verdict = ask(self)
        except APIError as refusal:
            self._refuse_before_body(refusal)
            return True
        if isinstance(verdict, defer.Deferred):
            self._awaiting_guard = True
            channel._networkProducer.pauseProducing()
            verdict.addCallbacks(self._guard_accepted, self._guard_refused)
        else:
            self.early_verdict = verdict
        return False

    def holds_continue(self) -> bool:
        """No ``100 Continue`` until the guard has accepted the request."""
        return self._awaiting_guard

    def _guard_accepted(self, user) -> None:
        self._awaiting_guard = False
        self.early_verdict = user
        if self._disconnected:
            return
        if self._process_held:
            self.process()
            return
        self.channel._networkProducer.resumeProducing()
        self.channel.send_continue()

    def _guard_refused(self, failure) -> None:
        self._awaiting_guard = False
        if failure.check(APIError):
            refusal = failure.value
        else:
            self.channel.site.log_events.failure("guard failed before the body", failure)
            refusal = APIError(500, "internal server error")
        if self._disconnected:
            return
        if self._process_held:  # the body is in: an ordinary answer
            self.early_verdict = refusal
            self.process()
            return
        content = self.content
        self._refuse_before_body(refusal)
        if content is not None:
            content.close()  # whatever arrived before the pause, unread

    def _refuse_before_body(self, refusal: APIError) -> None:
        """Answer now through the root (its headers, Kapacitor's body), drop
        the body and close after a linger."""
        self.early_verdict = refusal
        self.channel.refuse_body()
        self.setHeader(b"Connection", b"close")
        self.content = io.BytesIO()
        self.args = {}
        self.process()

    def handleContentChunk(self, data):
        if self._refused or isinstance(self.early_verdict, APIError):
            return
        self._body_seen += len(data)
        if self._body_seen > self.channel.site.max_body_size:
            self._refuse_too_large(self.channel.site.max_body_size)
            return
        super().handleContentChunk(data)

    def _refuse_too_large(self, limit: int) -> None:
        """Answer 413 at once and close: reading a huge body helps nobody."""
        self._refused = True
        body = error_body(f"request body too large: the limit is {limit} bytes")
        transport = self.channel.transport
        transport.write(
            b"HTTP/1.1 413 Request Entity Too Large\r\n"
            b"Content-Type: " + JSON_CONTENT_TYPE + b"\r\n"
            b"Content-Length: " + str(len(body)).encode() + b"\r\n"
            b"Connection: close\r\n\r\n" + body
        )
        self.channel.site.stats.incr("req")
        self.channel.close_after_refusal()

    def process(self):
        if self._refused:
            return
        if self._awaiting_guard:
            self._process_held = True
            return
        self._started = time.monotonic()
        self._started_ns = time.time_ns()
        super().process()

    def _handleStar(self):
        """Go answers a ``*`` request-target with a bare 400 and closes (§1.2).

        Twisted would answer ``OPTIONS *`` with 200 before the root resource
        ever sees it.
        """
        self.setResponseCode(400)
        self.setHeader(b"Content-Length", b"0")
        self.setHeader(b"Connection", b"close")
        channel = self.channel
        self.finish()
        channel.loseConnection()

    def _body_forbidden(self) -> bool:
        return self.method == b"HEAD" or self.code in http.NO_BODY_CODES

    def write(self, data):
        if not self.startedWriting:
            # Go's server sends no Server header; every answer (an empty
            # one too, through ``finish``) passes here before its headers.
            self.responseHeaders.removeHeader(b"Server")
        elif self._body_forbidden():
            # Twisted's server.Request.write bypasses the guard http.Request
            # installs after the headers of a HEAD or 204 answer.
            return
        super().write(data)

    def finish(self):
        if self._encoder is not None and self._body_forbidden():
            # The gzip trailer is body bytes too: after a 204 or a HEAD
            # answer they would corrupt the next response on the connection.
            self._encoder = None
        return super().finish()


class KapacitorSite(server.Site):
    requestFactory = KapacitorRequest
    log_events = Logger(namespace="kapacitord_tw.http")

    def __init__(
        self,
        resource,
        stats,
        max_body_size: int,
        log_enabled: bool = True,
        timeout: float = 60.0,
        reactor=None,
        log_control=None,
        header_timeout: float = 10.0,
        max_connections: int = 1000,
    ):
        # Kapacitor reads a POST's query, never a form body: Twisted's form
        # parsing refused a multipart-typed /write (a bare 400) and cost each
        # write an e-mail header parse (about 40 % of the reactor's time for
        # the read that completes a write request, py-spy).
        super().__init__(resource, timeout=timeout, reactor=reactor,
                         parsePOSTFormSubmission=False)
        self.stats = stats
        self.max_body_size = max_body_size
        self.log_enabled = log_enabled
        self.log_control = log_control
        self.header_timeout = header_timeout
        self.max_connections = max_connections
        self._channels: Set[http.HTTPChannel] = set()
        self.displayTracebacks = False
        #: Connections refused since the last log line, and when that was.
        self._refused_connections = 0
        self._refusal_logged_at = None
        self._stamps = StartStamps()

    def protocol(self):
        # Twisted's ``_genericHTTPChannelProtocolFactory`` with our channel.
        return http._GenericHTTPChannelProtocol(KapacitorChannel())

    def buildProtocol(self, addr):
        if len(self._channels) >= self.max_connections:
            self._refuse_connection(addr)
            return _CloseAtOnce()
        wrapper = super().buildProtocol(addr)
        # Twisted wraps the HTTP/1.1 channel to allow HTTP/2 negotiation;
        # the channel inside is what holds requests and the transport.
        channel = getattr(wrapper, "_channel", wrapper)
        channel.header_timeout = self.header_timeout
        site = self
        original_lost = channel.connectionLost

        def connection_lost(reason, _original=original_lost):
            site._channels.discard(channel)
            return _original(reason)

        channel.connectionLost = connection_lost
        self._channels.add(channel)
        return wrapper

    def _refuse_connection(self, addr) -> None:
        """Count a refused connection; log at most once per interval."""
        self._refused_connections += 1
        now = self.reactor.seconds()
        last = self._refusal_logged_at
        if last is not None and now - last < REFUSAL_LOG_INTERVAL:
            return
        self.log_events.warn(
            "refused {count} connection(s), the last from {client}: {open} connections "
            "are open, the limit is [http] max-connections = {limit}",
            count=self._refused_connections,
            client=getattr(addr, "host", None) or str(addr),
            open=len(self._channels),
            limit=self.max_connections,
        )
        self._refused_connections = 0
        self._refusal_logged_at = now

    def log(self, request):
        if not self.log_enabled or (
            self.log_control is not None and self.log_control.level > LogLevel.info
        ):
            return
        started = request._started
        duration = time.monotonic() - started if started is not None else 0.0
        try:
            username = log_username(request)
        except Exception:
            # A line without its user beats no line at all.
            username = "-"
        self.log_events.info(
            "http request",
            service="http",
            host=client_host(request) or "-",
            username=username,
            method=_text(request.method),
            uri=_text(redact_uri(request.uri)),
            protocol=_text(request.clientproto),
            status=request.code,
            referer=_text(request.getHeader(b"Referer") or b"-"),
            user_agent=_text(request.getHeader(b"User-Agent") or b"-"),
            request_id=_text((request.responseHeaders.getRawHeaders(b"Request-Id") or [b""])[0]),
            start=self._stamps.format(request._started_ns or time.time_ns()),
            duration=f"{duration * 1000:.3f}ms",
        )

    def shutdown(self, timeout: float, clock) -> defer.Deferred:
        """Close idle connections now; wait for busy ones up to ``timeout``."""
        waiting = []
        for channel in list(self._channels):
            channel.persistent = False
            busy = bool(getattr(channel, "requests", None))
            if not busy:
                channel.transport.loseConnection()
                continue
            done = defer.Deferred()
            waiting.append(done)
            original = channel.connectionLost

            def lost(reason, _original=original, _done=done):
                result = _original(reason)
                if not _done.called:
                    _done.callback(None)
                return result

            channel.connectionLost = lost
        if not waiting:
            return defer.succeed(None)
        all_done = defer.DeferredList(waiting)

        def force_close():
            for channel in list(self._channels):
                channel.transport.abortConnection()

        timer = clock.callLater(timeout, force_close)

        def finished(result):
            if timer.active():
                timer.cancel()
            return None

        return all_done.addBoth(finished)


class StartStamps:
    """The access log's ``start`` (Go's RFC 3339 with nanoseconds, local
    zone): date, time and zone are formatted once per second, when the zone
    is looked up, and each request's fraction is spliced in."""

    def __init__(self) -> None:
        self._second = None
        self._head = self._zone = ""

    def format(self, ns: int) -> str:
        second, nanos = divmod(ns, 1_000_000_000)
        if second != self._second:
            whole = format_time(second * 1_000_000_000)
            # ``YYYY-MM-DDTHH:MM:SS`` then the zone (``Z`` or ``+hh:mm``).
            self._head, self._zone = whole[:19], whole[19:]
            self._second = second
        fraction = ("%09d" % nanos).rstrip("0")
        if fraction:
            return f"{self._head}.{fraction}{self._zone}"
        return self._head + self._zone


def _text(raw: bytes) -> str:
    """Bytes from the wire as text; bytes that are not UTF-8 stay
    recognisable (the log writes them as ``\\xNN``)."""
    return raw.decode("utf-8", "surrogateescape")


class _CloseAtOnce(Protocol):
    """The protocol of a connection over ``max-connections``: dropped as
    soon as it is made (a factory may not return ``None`` under TLS)."""

    def connectionMade(self):
        self.transport.abortConnection()
