"""
``POST /kapacitor/v1/write`` and ``POST /write``: InfluxDB line protocol in
(reference §5.2), published to the in-process point bus for the task engine.

Bodies are bounded: the site refuses a body over ``[http] max-body-size``
with 413, and a gzip body that inflates past the same limit gets 413 too.
Large bodies are parsed in a worker thread so the reactor keeps serving.
As in the original, error bodies here are plain text plus ``\\n`` (under a
JSON content type).  Unlike the original, ``write_points``/``all`` users
may really write to any database (reference §10 #9).
"""

from __future__ import annotations

import time
import zlib
from typing import Callable

from klein import Klein
from twisted.internet import defer, task, threads
from twisted.logger import Logger

from kapacitord_tw import gocompat
from kapacitord_tw.auth.credentials import query_args
from kapacitord_tw.auth.privileges import Privilege, User, api_resource, database_resource
from kapacitord_tw.http.area import Area, install_error_handlers
from kapacitord_tw.http.errors import APIError
from kapacitord_tw.http.root import request_user
from kapacitord_tw.ingest.lineprotocol import (
    FieldDecodeError,
    LineProtocolError,
    parse_points,
    parse_steps,
)

#: Bodies up to this size are parsed on the reactor; larger ones in a thread.
INLINE_PARSE_LIMIT = 64 * 1024

#: Large bodies parsed at the same time.  Parsing holds the GIL, so more
#: threads would not go faster; they would only hold more parsed points in
#: memory at once (100 concurrent 1 MiB writers: two bodies' points, not 100).
PARALLEL_PARSES = 2

#: Lines parsed per cooperative step of a large body (a few ms each).
SLICE_LINES = 500


def plain_error(code: int, message: bytes) -> APIError:
    """A /write failure: status and plain-text message."""
    return APIError(code, message.decode("utf-8", "surrogateescape"), plain=True)


def may_write(user: User, database: str) -> bool:
    """Admins and users granted the database; plus ``write_points``/``all``."""
    if user.authorize(Privilege.WRITE, database_resource(database)):
        return True
    return user.privileges.get(api_resource("/write")) == Privilege.ALL


#: ID bytes and the deflate method: the start of every gzip member.
GZIP_MAGIC = b"\x1f\x8b\x08"


def check_gzip_header(member: bytes) -> None:
    """Go's errors for a member without a 10-byte gzip header (not zlib's)."""
    if not member:
        raise plain_error(400, b"EOF")
    if len(member) < 10:
        raise plain_error(400, b"unexpected EOF")
    if not member.startswith(GZIP_MAGIC):
        raise plain_error(400, b"gzip: invalid header")


#: Input fed to zlib at first for each member; doubled while the member
#: lasts.  zlib copies everything after a member's end into ``unused_data``:
#: feeding the whole remaining body would make many small members quadratic.
FIRST_FEED = 64
MAX_FEED = 1 << 20


def gunzip(body: bytes, limit: int) -> bytes:
    """Inflate every gzip member, as Go's multistream ``gzip.Reader`` does.

    Linear in the body: each member sees at most twice its own size of
    input (plus ``FIRST_FEED``), never the rest of the body.
    """
    view = memoryview(body)
    end = len(body)
    out = []
    size = 0
    offset = 0
    new_inflater = zlib.decompressobj
    while True:
        if end - offset < 10 or not body.startswith(GZIP_MAGIC, offset):
            check_gzip_header(body[offset:offset + 10])  # raises Go's error
        inflater = new_inflater(16 + zlib.MAX_WBITS)
        feed = FIRST_FEED
        while not inflater.eof:
            if offset >= end:
                raise plain_error(400, b"unexpected EOF")
            piece = view[offset:offset + feed]
            try:
                chunk = inflater.decompress(piece, limit + 1 - size)
            except zlib.error as e:
                raise plain_error(400, f"gzip: invalid data: {e}".encode()) from None
            if chunk:
                size += len(chunk)
                if size > limit:
                    raise plain_error(
                        413, f"request body too large: the limit is {limit} bytes".encode()
                    )
                out.append(chunk)
            # All of the piece was used unless the member ended inside it
            # (the output bound cannot leave any: hitting it is the 413).
            offset += len(piece) - len(inflater.unused_data)
            if feed < MAX_FEED:
                feed *= 2
        if offset >= end:
            return b"".join(out)


class WriteAPI(Area):
    app = install_error_handlers(Klein())
    log = Logger()
    mux = (
        ("POST", "/write", {}),
        ("OPTIONS", "/write", {}),
        ("POST", "/write", {"prefix": ""}),
        ("OPTIONS", "/write", {"prefix": ""}),
    )

    def __init__(
        self,
        bus,
        stats,
        default_retention_policy: str,
        max_body_size: int,
        write_tracing: bool = False,
        now_ns: Callable[[], int] = time.time_ns,
    ):
        self._bus = bus
        self._stats = stats
        self._default_rp = default_retention_policy
        self._limit = max_body_size
        self._tracing = write_tracing
        self._now_ns = now_ns
        self._parsers = defer.DeferredSemaphore(PARALLEL_PARSES)

    @app.route("/write", methods=["POST"])
    @defer.inlineCallbacks
    def write(self, request):
        self._stats.incr("write_req")
        body = request.content.read()
        encoding = request.getHeader(b"Content-Encoding")
        if encoding == b"gzip":
            body = yield self._gunzip(body)
        self._stats.incr("write_req_bytes", len(body))
        if self._tracing:
            self.log.info("write body received size={size}", size=len(body))
        args = query_args(request)
        database = (args.get(b"db") or [b""])[0].decode("utf-8", "surrogateescape")
        rp = (args.get(b"rp") or [b""])[0].decode("utf-8", "surrogateescape") or self._default_rp
        precision = (args.get(b"precision") or [b""])[0].decode("ascii", "replace")
        points = yield self._parse(body, precision, database, rp)
        if isinstance(points, APIError):
            raise points
        if not database:
            raise plain_error(400, b"database is required")
        user = request_user(request)
        if not may_write(user, database):
            message = (
                f"{gocompat.go_quote(user.name)} user is not authorized to write to database "
                f"{gocompat.go_quote(database)}"
            )
            raise plain_error(401, message.encode("utf-8", "surrogateescape"))
        if isinstance(points, FieldDecodeError):
            # The original publishes the points before the bad one and answers
            # 500; bad input is the client's fault, so refuse the whole body.
            self._stats.incr("points_written_fail", len(points.points_before) + 1)
            raise plain_error(400, str(points).encode("utf-8", "surrogateescape"))
        self._stats.incr("points_written_ok", len(points))
        wait = self._bus.publish(points)
        if wait is not None:
            # The engine's queue is full: answer once it has room (back-pressure).
            yield wait
        request.setResponseCode(204)
        return b""

    def _gunzip(self, body: bytes) -> defer.Deferred:
        """Small bodies inflate inline; larger ones in a thread (a member
        count in the hundreds of thousands costs a second of CPU)."""
        if len(body) <= INLINE_PARSE_LIMIT:
            return defer.maybeDeferred(gunzip, body, self._limit)
        return threads.deferToThread(gunzip, body, self._limit)

    def _parse(self, body: bytes, precision: str, database: str, rp: str) -> defer.Deferred:
        def parse():
            try:
                return parse_points(body, precision, self._now_ns(), database, rp)
            except LineProtocolError as e:
                return plain_error(400, e.raw)
            except FieldDecodeError as e:
                return e

        if len(body) <= INLINE_PARSE_LIMIT:
            return defer.succeed(parse())
        if b'"' in body or b"\\" in body:
            # Quoted or escaped bodies split lines in Python: a thread.
            return self._parsers.run(threads.deferToThread, parse)
        return self._parsers.run(self._parse_in_slices, body, precision, database, rp)

    def _parse_in_slices(self, body: bytes, precision: str, database: str,
                         rp: str) -> defer.Deferred:
        """Parse on the reactor, ``SLICE_LINES`` lines per step: measured,
        a parsing thread made pings wait ~0.7 s for the GIL while writers
        were busy; slices keep the reactor answering between them."""
        done = []

        def steps():
            done.append((yield from parse_steps(body, precision, self._now_ns(), database, rp,
                                                step_lines=SLICE_LINES)))

        def result(_):
            return done[0]

        def failed(failure):
            if failure.check(LineProtocolError):
                return plain_error(400, failure.value.raw)
            if failure.check(FieldDecodeError):
                return failure.value
            return failure

        return task.cooperate(steps()).whenDone().addCallbacks(result, failed)
