"""
``POST /kapacitor/v1/write`` and ``POST /write``: InfluxDB line protocol in
(reference §5.2), published to the in-process point bus for the task engine.

Bodies are bounded: the site refuses a body over ``[http] max-body-size``
with 413, and a gzip body that inflates past the same limit gets 413 too.
The body is inflated and parsed by a parser -- the worker processes of
``[http] write-workers``, or the daemon itself -- that builds only the rows
the subscribers want (``PointBus.wanted``); writes are published in the
order they arrived, whichever parse finishes first.
As in the original, error bodies here are plain text plus ``\\n`` (under a
JSON content type).  Unlike the original, ``write_points``/``all`` users
may really write to any database (reference §10 #9).
"""

from __future__ import annotations

import time
from typing import Callable, Optional

from klein import Klein
from twisted.internet import defer
from twisted.logger import Logger

from kapacitord_tw import gocompat
from kapacitord_tw.auth.credentials import query_args
from kapacitord_tw.auth.privileges import Privilege, User, api_resource, database_resource
from kapacitord_tw.http.area import Area, install_error_handlers
from kapacitord_tw.http.errors import APIError
from kapacitord_tw.http.root import request_user
from kapacitord_tw.ingest.gunzip import gunzip  # noqa: F401  (the body limit's tests use it)
from kapacitord_tw.ingest.parsing import DaemonParser, ParseFailed, ParseJob
from kapacitord_tw.ingest.rows import WriteRows
from kapacitord_tw.ingest.sequence import WriteSequence


def plain_error(code: int, message: bytes) -> APIError:
    """A /write failure: status and plain-text message."""
    return APIError(code, message.decode("utf-8", "surrogateescape"), plain=True)


def may_write(user: User, database: str) -> bool:
    """Admins and users granted the database; plus ``write_points``/``all``."""
    if user.authorize(Privilege.WRITE, database_resource(database)):
        return True
    return user.privileges.get(api_resource("/write")) == Privilege.ALL


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
        parser=None,
    ):
        self._bus = bus
        self._stats = stats
        self._default_rp = default_retention_policy
        self._limit = max_body_size
        self._tracing = write_tracing
        self._now_ns = now_ns
        #: ``parse(ParseJob)``: a ``DaemonParser`` or a ``ParsePool``
        self.parser = parser if parser is not None else DaemonParser()
        self.sequence = WriteSequence()

    @app.route("/write", methods=["POST"])
    @defer.inlineCallbacks
    def write(self, request):
        self._stats.incr("write_req")
        args = query_args(request)
        database = (args.get(b"db") or [b""])[0].decode("utf-8", "surrogateescape")
        rp = (args.get(b"rp") or [b""])[0].decode("utf-8", "surrogateescape") or self._default_rp
        precision = (args.get(b"precision") or [b""])[0].decode("ascii", "replace")
        user = request_user(request)
        allowed = bool(database) and may_write(user, database)
        wanted = self._bus.wanted(database, rp) if allowed else None
        job = ParseJob(
            body=request.content.read(),
            gzip=request.getHeader(b"Content-Encoding") == b"gzip",
            precision=precision,
            now_ns=self._now_ns(),
            database=database,
            retention_policy=rp,
            # Nothing will be published: the parser only checks the body.
            wanted=wanted,
            allow_unsigned=False,
            limit=self._limit,
            fields=self._bus.fields(database, rp) if wanted is not None else {},
            grouped=wanted is not None and self._bus.grouped(database, rp),
        )
        ticket = self.sequence.take()
        wait = None
        try:
            result = yield self.parser.parse(job)
            job_wanted = job.wanted if isinstance(job.wanted, frozenset) else None
            fields, grouped = job.fields, job.grouped
            del job
            yield self.sequence.turn(ticket)
            wait = self._publish(result, database, rp, user, allowed, job_wanted, fields,
                                 grouped)
        finally:
            self.sequence.release(ticket)
        if wait is not None:
            # The engine's queue is full: answer once it has room (back-pressure).
            yield wait
        request.setResponseCode(204)
        return b""

    def _publish(self, result, database: str, rp: str, user: User, allowed: bool,
                 wanted: Optional[frozenset] = None, fields: Optional[dict] = None,
                 grouped: bool = False):
        """On the write's turn: count it, refuse it, or publish its rows."""
        failed = isinstance(result, ParseFailed)
        if failed and result.kind == "gzip":
            raise plain_error(result.code, result.raw)
        self._stats.incr("write_req_bytes", result.size)
        if self._tracing:
            self.log.info("write body received size={size}", size=result.size)
        if failed and result.kind == "syntax":
            raise plain_error(400, result.raw)
        if not database:
            raise plain_error(400, b"database is required")
        if not allowed:
            message = (
                f"{gocompat.go_quote(user.name)} user is not authorized to write to database "
                f"{gocompat.go_quote(database)}"
            )
            raise plain_error(401, message.encode("utf-8", "surrogateescape"))
        if failed:
            # The original publishes the points before the bad one and answers
            # 500; bad input is the client's fault, so refuse the whole body.
            self._stats.incr("points_written_fail", result.count_before + 1)
            raise plain_error(400, result.raw)
        self._stats.incr("points_written_ok", result.count)
        return self._bus.publish_rows(
            WriteRows(database, rp, result.rows, result.count, wanted, fields, grouped,
                      result.runs if grouped else None))
