"""Alert handlers that do I/O: ``.log()``, ``.post()``, ``.tcp()`` and ``.exec()``.

Each handler's ``handle(alert_data)`` returns a Deferred that always fires
with None: failures are logged (as Kapacitor's handler diagnostics are) and
counted in ``errors``, never raised into the alert node.  Nothing blocks the
reactor: file appends run in a thread, one at a time per handler so lines stay
in order; network and process I/O are Twisted protocols with time limits.
Each handler holds at most ``max_pending`` events in flight and drops (and
counts) the rest, so a slow receiver cannot grow memory without bound.

The bytes sent are :meth:`AlertData.encode` — Kapacitor's
``json.NewEncoder(...).Encode(alert.Data)``; the TCP handler adds one more
newline, as Kapacitor does.  Log lines never include URLs, headers or
program arguments, which may carry credentials.
"""

from __future__ import annotations

import os
import stat
from typing import TYPE_CHECKING

import attr
from twisted.internet import defer, error, protocol
from twisted.internet.endpoints import HostnameEndpoint
from twisted.logger import Logger
from twisted.python.failure import Failure

if TYPE_CHECKING:
    from kapacitord_tw.engine.alertdata import AlertData

__all__ = ["ExecHandler", "HandlerConfigError", "LogHandler", "PostHandler", "TCPHandler"]

#: Kapacitor's default alert log file mode.
DEFAULT_LOG_MODE = 0o600
DEFAULT_TIMEOUT = 30.0
MAX_PENDING = 1000
#: Bytes of alert lines a log handler holds while an append is in flight.
MAX_LOG_BUFFER = 16 * 1024 * 1024
#: How much of a child's output or a non-2xx response body is kept for the log.
MAX_CAPTURE = 64 * 1024


class HandlerConfigError(ValueError):
    """A handler option Kapacitor rejects when the task starts."""


def _reactor(r):
    if r is None:
        from twisted.internet import reactor as r
    return r


@attr.s
class _Base:
    errors: int = attr.ib(default=0, init=False)
    dropped: int = attr.ib(default=0, init=False)
    pending: int = attr.ib(default=0, init=False)
    max_pending: int = attr.ib(default=MAX_PENDING, kw_only=True)
    _queue = attr.ib(default=None, init=False, repr=False)

    log = Logger()
    kind = "handler"

    def handle(self, alert: AlertData) -> defer.Deferred:
        """Send *alert* after the ones before it (a receiver sees events in
        order, as from Kapacitor's one goroutine per handler); the Deferred
        fires with None once done or failed."""
        if self.pending >= self.max_pending:
            self.dropped += 1
            self.log.warn("{kind} alert handler: {pending} events in flight, event dropped",
                          kind=self.kind, pending=self.pending)
            return defer.succeed(None)
        self.pending += 1
        finished = defer.Deferred()  # this send is over: the next may start
        result = defer.Deferred()    # the caller's copy
        previous, self._queue = self._queue, finished

        def send(_):
            d = defer.maybeDeferred(self._send, alert)
            d.addErrback(self._failed)
            d.addBoth(self._done)
            d.addBoth(lambda _: (finished.callback(None), result.callback(None)))

        if previous is None:
            send(None)
        else:
            previous.addCallback(send)
        return result

    def _failed(self, failure) -> None:
        self.errors += 1
        self.log.error("{kind} alert handler failed: {error}",
                       kind=self.kind, error=_describe(failure.value))

    def _done(self, _) -> None:
        self.pending -= 1
        return None

    def _send(self, alert: AlertData):  # pragma: no cover - abstract
        raise NotImplementedError


def _describe(exc) -> str:
    if isinstance(exc, _HandlerError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


class _HandlerError(Exception):
    """A failure already worded for the log."""


# ---------------------------------------------------------------------------
# .log(path).mode(m)

def _go_file_mode(mode: int) -> str:
    """Go's ``os.FileMode.String()`` for permission bits (``-rw-------``)."""
    return "-" + stat.filemode(mode | stat.S_IFREG)[1:]


@attr.s
class LogHandler(_Base):
    """Appends each event as one JSON line to *path*, creating it with *mode*.

    Appends run in the reactor's thread pool, one at a time so lines land in
    order. Lines that arrive while an append runs go together in the next
    one: a window closing for thousands of groups raises thousands of alerts
    at once, and one append per event left most of them waiting, past
    ``max_pending`` (dropped). What is held is bounded in bytes instead
    (``max_buffer``); past it an event is dropped and counted.
    """

    path: str = attr.ib()
    mode: int = attr.ib(default=DEFAULT_LOG_MODE)
    reactor = attr.ib(default=None, kw_only=True)
    max_buffer: int = attr.ib(default=MAX_LOG_BUFFER, kw_only=True)
    kind = "log"
    _lines: list = attr.ib(factory=list, init=False, repr=False)
    _waiting: list = attr.ib(factory=list, init=False, repr=False)
    _held: int = attr.ib(default=0, init=False, repr=False)
    _writing: bool = attr.ib(default=False, init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        if not self.mode & 0o200:
            raise HandlerConfigError(
                f"invalid file mode {_go_file_mode(self.mode)}, must be user writable")
        if not os.path.isabs(self.path):
            raise HandlerConfigError(
                f"log path must be absolute: {self.path} is not absolute")
        self.reactor = _reactor(self.reactor)

    def handle(self, alert: AlertData) -> defer.Deferred:
        line = alert.encode()
        if self._held + len(line) > self.max_buffer:
            self.dropped += 1
            self.log.warn("{kind} alert handler: {pending} events in flight, event dropped",
                          kind=self.kind, pending=self.pending)
            return defer.succeed(None)
        done = defer.Deferred()
        self._lines.append(line)
        self._waiting.append(done)
        self._held += len(line)
        self.pending += 1
        if not self._writing:
            self._write_held()
        return done

    def _write_held(self) -> None:
        from twisted.internet.threads import deferToThreadPool
        lines, waiting = self._lines, self._waiting
        self._lines, self._waiting, self._held = [], [], 0
        self._writing = True
        d = deferToThreadPool(self.reactor, self.reactor.getThreadPool(), self._append,
                              b"".join(lines))
        d.addBoth(self._written, waiting)

    def _written(self, result, waiting: list) -> None:
        if isinstance(result, Failure):
            try:
                self._wrap(result)
            except _HandlerError as e:
                result = Failure(e)
            except Exception:
                pass
            for _ in waiting:
                self._failed(result)  # each event failed, as one append each would
        self.pending -= len(waiting)
        self._writing = False
        for done in waiting:
            done.callback(None)
        if self._lines:
            self._write_held()

    def _append(self, line: bytes) -> None:
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, self.mode)
        try:
            view = memoryview(line)
            while view:
                view = view[os.write(fd, view):]
        finally:
            os.close(fd)

    def _wrap(self, failure):
        failure.trap(OSError)
        raise _HandlerError(
            f"failed to open file for alert logging: {failure.value.strerror}") from None


# ---------------------------------------------------------------------------
# .post(url).header(k, v)

@attr.s
class PostHandler(_Base):
    """POSTs each event's JSON to *url* (a Go template over ``alert.Data``).

    Kapacitor sets ``Content-Type: application/json`` and then the handler's
    headers (``Header.Set``, so they can override it).  A non-2xx answer is
    logged with its code, and with its body (first 64 KiB) when
    ``capture_response`` is set.  *timeout* bounds the whole request
    (Kapacitor has none by default; here it defaults to 30 s).
    """

    url: str = attr.ib()
    headers: dict = attr.ib(factory=dict)
    capture_response: bool = attr.ib(default=False, kw_only=True)
    timeout: float = attr.ib(default=DEFAULT_TIMEOUT, kw_only=True)
    client = attr.ib(default=None, kw_only=True)
    kind = "post"
    _url_template = attr.ib(default=None, init=False)

    def __attrs_post_init__(self) -> None:
        from kapacitord_tw.engine.gotemplate import JSON_FUNCS, TemplateError, parse

        if not self.url:
            raise HandlerConfigError(
                "An appropriately formatted url must be specified if an endpoint is not specified")
        try:
            self._url_template = parse(self.url, "body", funcs=JSON_FUNCS)
        except TemplateError as e:
            raise HandlerConfigError(f"failed to parse template: {e}") from None
        if self.client is None:
            self.client = _default_client()
        if not self.timeout or self.timeout <= 0:
            self.timeout = DEFAULT_TIMEOUT

    async def _post(self, alert: AlertData) -> None:
        from kapacitord_tw.engine.gotemplate import TemplateError

        try:
            url = self._url_template.execute(alert.template_value())
        except TemplateError as e:
            raise _HandlerError(f"failed to create HTTP request: failed to execute url template: {e}")
        headers = {"Content-Type": "application/json"}
        for k, v in self.headers.items():
            headers[_canonical_header(k)] = v
        try:
            response = await self.client.post(
                url.encode("utf-8"), data=alert.encode(),
                headers={k: [v] for k, v in headers.items()}, timeout=self.timeout)
        except Exception as e:
            raise _HandlerError(f"failed to POST alert data: {type(e).__name__}") from None
        if response.code // 100 == 2:
            response.deliverBody(_Discard())
            return
        if self.capture_response:
            body = await _read_capped(response, MAX_CAPTURE)
            detail = body.decode("utf-8", "replace")
        else:
            response.deliverBody(_Discard())
            detail = "unknown error, use .captureResponse() to capture the HTTP response"
        raise _HandlerError(f"POST returned non 2xx status code {response.code}: {detail}")

    def _send(self, alert: AlertData) -> defer.Deferred:
        return defer.ensureDeferred(self._post(alert))


def _default_client():
    """A treq client without keep-alive: one connection per alert, nothing left open."""
    from treq.client import HTTPClient
    from twisted.internet import reactor
    from twisted.web.client import Agent

    from kapacitord_tw.httpclient import quiet_pool
    return HTTPClient(Agent(reactor, pool=quiet_pool(reactor, persistent=False)))


def _canonical_header(key: str) -> str:
    """Go's ``textproto.CanonicalMIMEHeaderKey`` for ordinary header names."""
    if not key or any(not (c.isascii() and (c.isalnum() or c == "-")) for c in key):
        return key
    return "-".join(p[:1].upper() + p[1:].lower() for p in key.split("-"))


class _Discard(protocol.Protocol):
    def dataReceived(self, data: bytes) -> None:
        pass


class _Capped(protocol.Protocol):
    def __init__(self, limit: int, done: defer.Deferred) -> None:
        self.limit, self.done, self.parts, self.size = limit, done, [], 0

    def dataReceived(self, data: bytes) -> None:
        if self.size < self.limit:
            keep = data[:self.limit - self.size]
            self.parts.append(keep)
            self.size += len(keep)
            if self.size >= self.limit:
                self.transport.stopProducing()

    def connectionLost(self, reason) -> None:
        self.done.callback(b"".join(self.parts))


def _read_capped(response, limit: int) -> defer.Deferred:
    done = defer.Deferred()
    response.deliverBody(_Capped(limit, done))
    return done


# ---------------------------------------------------------------------------
# .tcp(address)

def split_host_port(addr: str) -> tuple[str, int]:
    """Go's ``net.SplitHostPort`` plus a numeric port; HandlerConfigError otherwise."""
    if addr.startswith("["):
        end = addr.find("]")
        if end < 0 or addr[end + 1:end + 2] != ":":
            raise HandlerConfigError(f"address {addr}: missing port in address")
        host, port = addr[1:end], addr[end + 2:]
    else:
        host, sep, port = addr.rpartition(":")
        if not sep:
            raise HandlerConfigError(f"address {addr}: missing port in address")
        if ":" in host:
            raise HandlerConfigError(f"address {addr}: too many colons in address")
    if not port.isdigit() or not 0 <= int(port) <= 65535:
        raise HandlerConfigError(f"address {addr}: invalid port")
    return host or "localhost", int(port)


class _SendAndClose(protocol.Protocol):
    def __init__(self, payload: bytes, done: defer.Deferred) -> None:
        self.payload, self.done = payload, done

    def connectionMade(self) -> None:
        self.transport.write(self.payload)
        self.transport.loseConnection()

    def connectionLost(self, reason) -> None:
        if not self.done.called:
            self.done.callback(None)


@attr.s
class TCPHandler(_Base):
    """Opens one connection per event to *address*, writes the JSON and two newlines, closes."""

    address: str = attr.ib()
    timeout: float = attr.ib(default=DEFAULT_TIMEOUT, kw_only=True)
    reactor = attr.ib(default=None, kw_only=True)
    kind = "tcp"
    _host = attr.ib(default=None, init=False)
    _port = attr.ib(default=None, init=False)

    def __attrs_post_init__(self) -> None:
        self._host, self._port = split_host_port(self.address)
        self.reactor = _reactor(self.reactor)

    async def _deliver(self, alert: AlertData) -> None:
        payload = alert.encode() + b"\n"
        done = defer.Deferred()
        endpoint = HostnameEndpoint(self.reactor, self._host, self._port, timeout=self.timeout)
        factory = protocol.Factory.forProtocol(lambda: _SendAndClose(payload, done))
        try:
            await endpoint.connect(factory)
        except Exception as e:
            raise _HandlerError(f"tcp handler failed to connect: {type(e).__name__}") from None
        timer = self.reactor.callLater(self.timeout, done.cancel)
        try:
            await done
        except defer.CancelledError:
            raise _HandlerError("tcp handler timed out writing") from None
        finally:
            if timer.active():
                timer.cancel()

    def _send(self, alert: AlertData) -> defer.Deferred:
        return defer.ensureDeferred(self._deliver(alert))


# ---------------------------------------------------------------------------
# .exec(prog, args...)

class _Child(protocol.ProcessProtocol):
    def __init__(self, stdin: bytes, done: defer.Deferred) -> None:
        self.stdin, self.done = stdin, done
        self.output = bytearray()

    def connectionMade(self) -> None:
        self.transport.write(self.stdin)
        self.transport.closeStdin()

    def outReceived(self, data: bytes) -> None:
        room = MAX_CAPTURE - len(self.output)
        if room > 0:
            self.output += data[:room]

    errReceived = outReceived

    def processEnded(self, reason) -> None:
        self.done.callback(reason.value)


@attr.s
class ExecHandler(_Base):
    """Runs *prog* with *args* per event, the JSON on its stdin; killed after *timeout*.

    The child inherits the daemon's environment, as Kapacitor's does; its
    combined output (first 64 KiB) is logged only when it fails.
    """

    prog: str = attr.ib()
    args: list = attr.ib(factory=list)
    timeout: float = attr.ib(default=DEFAULT_TIMEOUT, kw_only=True)
    reactor = attr.ib(default=None, kw_only=True)
    kind = "exec"

    def __attrs_post_init__(self) -> None:
        self.reactor = _reactor(self.reactor)

    async def _run(self, alert: AlertData) -> None:
        done = defer.Deferred()
        child = _Child(alert.encode(), done)
        try:
            transport = self.reactor.spawnProcess(
                child, self.prog, [self.prog, *self.args], env=None)
        except Exception as e:
            raise _HandlerError(f"exec command failed: {e}") from None
        killed = []

        def kill():
            killed.append(True)
            try:
                transport.signalProcess("KILL")
            except error.ProcessExitedAlready:
                pass

        timer = self.reactor.callLater(self.timeout, kill)
        try:
            status = await done
        finally:
            if timer.active():
                timer.cancel()
        if killed:
            raise _HandlerError(f"exec command {self.prog} killed after {self.timeout}s")
        if isinstance(status, error.ProcessDone):
            return
        output = bytes(child.output).decode("utf-8", "replace")
        if isinstance(status, error.ProcessTerminated) and status.exitCode is not None:
            why = f"exit status {status.exitCode}"
        elif isinstance(status, error.ProcessTerminated):
            why = f"signal: {status.signal}"
        else:
            why = str(status)
        raise _HandlerError(f"exec command failed: {why}: output: {output}")

    def _send(self, alert: AlertData) -> defer.Deferred:
        return defer.ensureDeferred(self._run(alert))
