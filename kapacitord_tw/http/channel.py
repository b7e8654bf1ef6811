"""
The HTTP/1.1 channel: Twisted's parser with the limits Go's server has.

* a header deadline (Go's ``ReadHeaderTimeout``): a request whose line and
  headers are not complete within ``header_timeout`` seconds of its first
  byte (of the connection, for the first request) loses its connection.
  Twisted's own idle timeout restarts on every byte, so a client sending a
  header line every few seconds would otherwise hold its descriptor forever;
* headers over ``totalHeadersSize`` (16 KiB in all, or one line longer than
  that) or more than ``maxHeaders`` of them get Go's ``431 Request Header
  Fields Too Large`` instead of a silent close or a bare 400;
* a request refused before its body was read (413, or 401/403 from the
  guard) ends with Go's lingering close: the answer is sent, the write side
  shut, the rest of the body read and dropped (never spooled) for half a
  second, then the connection is dropped, so the client sees the refusal
  rather than a reset.
"""

from __future__ import annotations

from typing import Optional

from twisted.internet.abstract import FileDescriptor
from twisted.logger import Logger
from twisted.web import http

#: Go's answer to request headers over its limit (net/http ``errTooLarge``).
HEADERS_TOO_LARGE = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Connection: close\r\n\r\n"
    b"431 Request Header Fields Too Large"
)

#: Longest request line (Go's ``http.DefaultMaxHeaderBytes``).
MAX_REQUEST_LINE = 1 << 20

#: Twisted's per-line handlers, called directly from the overrides below:
#: they run for every header line, and ``super()`` costs as much again as
#: the override's own checks.
_lineReceived = http.HTTPChannel.lineReceived
_headerReceived = http.HTTPChannel.headerReceived

#: Go's ``rstAvoidanceDelay``: how long a refused connection lingers.
LINGER = 0.5


class KapacitorChannel(http.HTTPChannel):
    """``HTTPChannel`` with a header deadline, 431 and a lingering close."""

    log = Logger()
    #: Seconds to complete a request's headers; ``None`` or 0: no deadline.
    header_timeout: Optional[float] = None
    _header_call = None
    _linger_call = None
    #: Waiting for (more of) a request line and headers.
    _reading_headers = True
    #: Input is dropped: the connection was refused and is closing.
    _discarding = False
    #: Close with a linger once the refused request's answer is written.
    _linger_on_close = False
    _closing = False
    _continue_held = False

    # ---------------------------------------------------- header deadline

    def connectionMade(self):
        super().connectionMade()
        self._start_header_deadline()

    def dataReceived(self, data):
        if self._discarding:
            return
        if self._reading_headers and self._header_call is None:
            # The first byte of a keep-alive connection's next request.
            self._start_header_deadline()
        super().dataReceived(data)
        self._send_now()

    def _send_now(self) -> None:
        """Send what the requests just read have answered, now.

        A TCP transport only buffers a write; the reactor sends it once it
        has polled again, after every other ready connection and timed call
        of the next turn -- under load, an engine slice too.  An answer made
        while reading (a ping, a refusal, a cached GET) goes out in this turn
        instead: ping p50 under a write storm went from 3.1-4.1 ms to
        2.0-2.5 ms.  What the socket does not take stays buffered, as usual.
        """
        transport = self.transport
        if (getattr(transport, "_tempDataLen", 0) and isinstance(transport, FileDescriptor)
                and transport.connected and not transport.disconnecting
                and not getattr(transport, "_writeDisconnecting", False)):
            # An error is left to the reactor: the data stays buffered and
            # its next doWrite meets the error and drops the connection.
            transport.doWrite()

    def allHeadersReceived(self):
        self._reading_headers = False
        self._cancel_header_deadline()
        super().allHeadersReceived()

    def requestDone(self, request):
        # Set first: Twisted replays pipelined bytes through dataReceived.
        self._reading_headers = True
        self.MAX_LENGTH = MAX_REQUEST_LINE
        super().requestDone(request)

    def _start_header_deadline(self) -> None:
        if self.header_timeout:
            self._header_call = self.callLater(self.header_timeout, self._headers_too_slow)

    def _cancel_header_deadline(self) -> None:
        if self._header_call is not None:
            if self._header_call.active():
                self._header_call.cancel()
            self._header_call = None

    def _headers_too_slow(self) -> None:
        self._header_call = None
        self.log.debug(
            "closing connection from {peer}: request headers not complete within {timeout}s",
            peer=_peer(self.transport),
            timeout=self.header_timeout,
        )
        self._discarding = True
        self.transport.abortConnection()

    # ----------------------------------------------------- header limits

    #: LineReceiver's limit on one line.  The request line may be as long as
    #: Go's whole header budget (``MaxHeaderBytes``, 1 MiB), so a record with
    #: a long id stored before ids were capped can still be named in a
    #: ``DELETE``; header lines keep the 16 KiB budget.  A plain attribute,
    #: switched where Twisted's "request line next" state changes (it is read
    #: for every line): to the header budget once the request line is in,
    #: back in ``requestDone``, before the next request's bytes are parsed.
    MAX_LENGTH = MAX_REQUEST_LINE

    def lineReceived(self, line):
        if self._discarding:
            return
        if self._HTTPChannel__first_line:
            if len(line) > MAX_REQUEST_LINE:
                self._headers_too_large()
                return
            # Twisted counts the request line into the header budget: keep it out.
            self._receivedHeaderSize -= len(line)
            _lineReceived(self, line)
            if not self._HTTPChannel__first_line:
                self.MAX_LENGTH = self.totalHeadersSize
            return
        if self._receivedHeaderSize + len(line) > self.totalHeadersSize:
            self._headers_too_large()
            return
        _lineReceived(self, line)

    def lineLengthExceeded(self, line):
        # A line longer than ``MAX_LENGTH``: LineReceiver would close without a word.
        self._headers_too_large()

    def headerReceived(self, line):
        if self._receivedHeaderCount >= self.maxHeaders:
            self._headers_too_large()
            return False
        return _headerReceived(self, line)

    def _headers_too_large(self) -> None:
        self._cancel_header_deadline()
        self.transport.write(HEADERS_TOO_LARGE)
        self.close_after_refusal()

    # ------------------------------------------------------ refusing early

    def _send100Continue(self):
        # Never promise to read a body the request has already been refused
        # for (the refusal is on the wire), nor before the guard has said
        # yes (``send_continue`` sends it then).
        if self._discarding:
            return
        request = self.requests[-1] if self.requests else None
        if request is not None and request.holds_continue():
            self._continue_held = True
            return
        super()._send100Continue()

    def send_continue(self) -> None:
        """The held ``100 Continue`` of a request the guard has accepted."""
        if self._continue_held and not self._discarding:
            self._continue_held = False
            super()._send100Continue()

    def refuse_body(self) -> None:
        """The current request was answered without its body: drop the rest
        of the input and linger when the answer is done."""
        self._discarding = True
        self._linger_on_close = True
        self.persistent = False

    def close_after_refusal(self) -> None:
        """Go's ``closeWriteAndWait``: shut the write side after the answer,
        drop further input, and drop the connection ``LINGER`` seconds on."""
        if self._closing:
            return
        self._closing = True
        self._discarding = True
        self._cancel_header_deadline()
        self.setTimeout(None)
        self._networkProducer.unregisterProducer()
        transport = self.transport
        # Keep reading (and dropping) meanwhile, so a client that writes its
        # whole body before reading the answer can still read it.
        self._networkProducer.resumeProducing()
        if isinstance(transport, FileDescriptor):
            transport.loseWriteConnection()
        else:  # TLS and test transports: no half-close through the layers
            transport.loseConnection()
        self._linger_call = self.callLater(LINGER, self._abort)

    def _abort(self) -> None:
        self._linger_call = None
        abort = getattr(self.transport, "abortConnection", None)
        (abort or self.transport.loseConnection)()

    def loseConnection(self):
        if self._closing:
            return None
        if self._linger_on_close:
            return self.close_after_refusal()
        return super().loseConnection()

    def rawDataReceived(self, data):
        if not self._discarding:
            super().rawDataReceived(data)

    def allContentReceived(self):
        # The rest of a refused body arrived with its headers: the request
        # is answered (and gone from ``requests``) already.
        if not self._discarding:
            super().allContentReceived()

    def connectionLost(self, reason):
        self._discarding = True
        self._cancel_header_deadline()
        if self._linger_call is not None and self._linger_call.active():
            self._linger_call.cancel()
        self._linger_call = None
        super().connectionLost(reason)


def _peer(transport) -> str:
    peer = transport.getPeer() if transport is not None else None
    host = getattr(peer, "host", None)
    return f"{host}:{getattr(peer, 'port', '')}" if host else str(peer)
