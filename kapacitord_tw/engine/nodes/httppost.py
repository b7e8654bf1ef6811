"""``httpPost(url)``: POSTs each point or batch as ``models.Result`` JSON, and forwards it.

The body is what Kapacitor sends: ``{"series":[<row>]}`` and a newline,
``Content-Type: application/json``, then the ``.header()`` values.  The URL
is a Go template over the row (``{{ .Name }}``, ``{{ index .Tags "host" }}``,
``.Values``).  A non-2xx answer is logged with its code (and, with
``.captureResponse()``, the first 64 KiB of its body); URLs and headers are
never logged, they may carry credentials.

Kapacitor posts synchronously, holding the task until each answer.  Here
requests never hold the reactor:

* without ``.codeField()`` the message goes on at once and the request
  runs beside the task;
* with ``.codeField(name)`` the message waits for its answer (the code is
  added to it, 0 when there was none) and messages leave in arrival order.

Each request is bounded by ``.timeout()`` (30 s when unset: Kapacitor has
none) and at most ``MAX_PENDING`` requests are in flight per node; beyond
that a message is dropped and counted as an error, so a slow receiver
cannot grow memory without bound.
"""

from __future__ import annotations

from collections import deque

from twisted.internet import defer

from kapacitord_tw.engine.gotemplate import JSON_FUNCS, TemplateError, parse
from kapacitord_tw.engine.govalues import GoStruct, StringMap
from kapacitord_tw.engine.handlers import (
    MAX_CAPTURE, _canonical_header, _default_client, _Discard, _read_capped)
from kapacitord_tw.engine.messages import Batch, BatchPoint, Point
from kapacitord_tw.engine.node import Node, NodeError, duration_ns, node_type
from kapacitord_tw.engine.rows import batch_row, point_row
from kapacitord_tw.gocompat import json_dumps

MAX_PENDING = 1000
DEFAULT_TIMEOUT = 30.0


def mapped_row(row: dict) -> GoStruct:
    """``mappedRow``: what the URL template sees (values as column -> value maps)."""
    columns = row.get("columns") or []
    values = [dict(zip(columns, v)) for v in row.get("values") or []]
    return GoStruct("kapacitor.mappedRow", {
        "Name": row.get("name", ""),
        "Tags": StringMap(row.get("tags") or {}),
        "Values": values,
    })


class _Waiting:
    """A message waiting for its answer (``.codeField``), in arrival order."""

    __slots__ = ("msg", "code", "done")

    def __init__(self, msg):
        self.msg = msg
        self.code = 0
        self.done = False


@node_type("HTTPPostNode")
class HTTPPostNode(Node):
    def __init__(self, spec, task):
        super().__init__(spec, task)
        urls = list(self.props.get("URLs") or ())
        endpoints = list(self.props.get("Endpoints") or ())
        if endpoints:
            # No [httppost] section is configured in this daemon yet.
            raise NodeError(f"endpoint '{endpoints[0]}' does not exist")
        if len(urls) != 1:
            raise NodeError("must provide url or endpoint")
        try:
            self.url = parse(urls[0], "body", funcs=JSON_FUNCS)
        except TemplateError as e:
            raise NodeError(f"error in url templating: failed to parse template: {e}") from None
        headers = {"Content-Type": "application/json"}
        for k, v in (self.props.get("Headers") or {}).items():
            headers[_canonical_header(k)] = v
        self.headers = {k.encode(): [v.encode()] for k, v in headers.items()}
        self.code_field = self.props.get("CodeField") or ""
        self.capture = bool(self.props.get("CaptureResponseFlag", False))
        timeout = duration_ns(self.props.get("Timeout")) / 1e9
        self.timeout = timeout if timeout > 0 else DEFAULT_TIMEOUT
        self.max_pending = MAX_PENDING
        self.pending = 0
        self.waiting: deque = deque()
        self.client = getattr(task.services, "http_client", None)
        self._stopped = False
        self._requests: set = set()
        self._tail = None

    # ------------------------------------------------------------ messages

    def point(self, p: Point):
        return self._post(p, point_row(p))

    def batch(self, b: Batch):
        return self._post(b, batch_row(b))

    def _post(self, msg, row: dict):
        if self.pending >= self.max_pending:
            raise NodeError(f"failed to POST data: {self.pending} requests in flight, "
                            "message dropped")
        try:
            url = self.url.execute(mapped_row(row))
        except TemplateError as e:
            raise NodeError(f"failed to POST data: failed to execute url template: {e}") from None
        body = json_dumps({"series": [row]}, newline=True)
        self.pending += 1
        # One request at a time, in message order, as Kapacitor's node posts
        # synchronously: a receiver sees the data in the order it was written.
        d = defer.Deferred()
        previous, self._tail = self._tail, d

        def start(_=None):
            if self._stopped:
                d.errback(defer.CancelledError())
                return
            request = defer.ensureDeferred(self._request(url, body))
            request.addTimeout(self.timeout, self._reactor())
            request.addErrback(self._failed)
            self._requests.add(request)
            request.addBoth(lambda code: (self._requests.discard(request), code)[1])
            request.addBoth(d.callback)

        if previous is None:
            start()
        else:
            previous.addBoth(start)
        if not self.code_field:
            d.addBoth(self._finished, d, None)
            return msg
        entry = _Waiting(msg)
        self.waiting.append(entry)
        d.addBoth(self._finished, d, entry)
        return None

    async def _request(self, url: str, body: bytes) -> int:
        if self.client is None:
            self.client = _default_client()
        try:
            response = await self.client.post(url.encode("utf-8"), data=body,
                                              headers=self.headers, timeout=self.timeout)
        except (defer.CancelledError, defer.TimeoutError):
            raise
        except Exception as e:
            self.error(f"failed to POST data: {type(e).__name__}")
            return 0
        code = response.code
        if code // 100 == 2:
            response.deliverBody(_Discard())
            return code
        if self.capture:
            detail = (await _read_capped(response, MAX_CAPTURE)).decode("utf-8", "replace")
        else:
            response.deliverBody(_Discard())
            detail = "unknown error, use .captureResponse() to capture the HTTP response"
        self.error(f"POST returned non 2xx status code {code}: {detail}")
        return code

    @staticmethod
    def _reactor():
        from twisted.internet import reactor
        return reactor

    def _failed(self, failure) -> int:
        if failure.check(defer.TimeoutError):
            self.error(f"failed to POST data: no answer within {self.timeout:g}s")
        elif not (failure.check(defer.CancelledError) and self._stopped):
            self.error(f"failed to POST data: {failure.type.__name__}")
        return 0

    def barrier(self, b):
        return self._in_order(b)

    def delete_group(self, d):
        return self._in_order(d)

    def _in_order(self, msg):
        """Control messages stay behind the data that waits for its answer."""
        if not self.waiting:
            return msg
        entry = _Waiting(msg)
        entry.code, entry.done = None, True
        self.waiting.append(entry)
        return None

    def _finished(self, result, d, entry) -> None:
        self.pending -= 1
        code = result if isinstance(result, int) else 0
        if entry is None or self._stopped:
            return None
        entry.code, entry.done = code, True
        waiting = self.waiting
        while waiting and waiting[0].done:
            ready = waiting.popleft()
            self.forward(self._with_code(ready.msg, ready.code))
        return None

    def _with_code(self, msg, code):
        if code is None:
            return msg
        name = self.code_field
        if type(msg) is Batch:
            points = []
            for bp in msg.points:
                fields = dict(bp.fields)
                fields[name] = code
                points.append(BatchPoint(bp.time, fields, bp.tags))
            return msg.evolve(points=points)
        fields = dict(msg.fields)
        fields[name] = code
        return msg.evolve(fields=fields)

    def stop(self) -> None:
        self._stopped = True
        self.waiting.clear()
        for d in list(self._requests):
            d.cancel()
