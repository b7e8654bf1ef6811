"""
The real resource tree in memory, deterministic: a ``Clock`` that also
stands in for the reactor's thread hand-off, a thread pool that runs the
store's file work inline, and ``InlineWorkers`` for bcrypt.  Requests go
through ``StubTreq`` with our own ``KapacitorSite`` in place of treq's
plain ``Site``, so the site's habits (no ``Server`` header, body limit)
are exercised too.
"""

from __future__ import annotations

import base64
import json
import time
import weakref
from typing import Dict, List, Optional

import attrs
import bcrypt
from treq.testing import StubTreq
from twisted.internet.defer import Deferred
from twisted.internet.task import Clock
from twisted.python.failure import Failure
from twisted.web.http_headers import Headers

from kapacitord_tw.auth.privileges import User, privileges_from_permissions
from kapacitord_tw.auth.workers import InlineWorkers
from kapacitord_tw.config.model import AuthConfig, Config, HTTPConfig
from kapacitord_tw.http.site import KapacitorSite
from kapacitord_tw.service import build_app
from kapacitord_tw.storage import JournalStore

V1 = "/kapacitor/v1"
JSON_TYPE = "application/json; charset=utf-8"


class SyncClock(Clock):
    """A ``Clock`` at the real time that also runs ``callFromThread`` inline."""

    def __init__(self):
        super().__init__()
        self.advance(time.time())

    def callFromThread(self, f, *args, **kwargs):
        f(*args, **kwargs)


class InlinePool:
    """The store's thread pool, run synchronously (fsyncs still happen)."""

    def callInThreadWithCallback(self, on_result, f, *args, **kwargs):
        try:
            result = f(*args, **kwargs)
        except BaseException:
            on_result(False, Failure())
        else:
            on_result(True, result)


class HeldPool:
    """The store's thread pool, holding each file operation until released."""

    def __init__(self):
        self.held = []

    def callInThreadWithCallback(self, on_result, f, *args, **kwargs):
        self.held.append((on_result, f, args))

    def release_all(self):
        while self.held:
            on_result, f, args = self.held.pop(0)
            on_result(True, f(*args))


class CountingWorkers(InlineWorkers):
    """``InlineWorkers`` that records which functions ran (bcrypt calls)."""

    def __init__(self):
        self.calls: List[str] = []

    def run(self, function, *args):
        self.calls.append(function.__name__)
        return super().run(function, *args)

    def checks(self) -> int:
        return self.calls.count("_check")


class HeldWorkers:
    """Queues work until the test releases it, to interleave requests."""

    pending = 0
    max_pending = 1 << 30

    def __init__(self):
        self.queue: List[tuple] = []

    def run(self, function, *args):
        d = Deferred()
        self.queue.append((d, function, args))
        return d

    def release(self, index: int = 0) -> None:
        d, function, args = self.queue.pop(index)
        d.callback(function(*args))

    def release_all(self) -> None:
        while self.queue:
            self.release()


@attrs.frozen
class Reply:
    code: int
    headers: Headers
    body: bytes

    def header(self, name: str) -> Optional[str]:
        values = self.headers.getRawHeaders(name)
        return values[0] if values else None

    def json(self):
        return json.loads(self.body)

    @property
    def error(self) -> str:
        return self.json()["error"]


def err_body(message: str, pretty: bool) -> bytes:
    """Kapacitor's error body, written out independently of the code under test."""
    obj = {"error": message, "message": message}
    if pretty:
        return json.dumps(obj, indent=4, ensure_ascii=False).encode()
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def make_config(tmp_path, http_auth=True, auth=True, cost=4, cache="0s", secret="",
                max_body_size=25 * 1024 * 1024, **auth_extra) -> Config:
    """A Config for tests; ``auth_extra`` are further ``AuthConfig`` fields."""
    from kapacitord_tw import gocompat

    # Throttled answers are normally delayed; tests of the throttle's rules
    # want them at once (the delay has a test of its own).
    auth_extra.setdefault("login_tarpit", 0)
    return Config(
        data_dir=str(tmp_path),
        http=HTTPConfig(auth_enabled=http_auth, shared_secret=secret,
                        max_body_size=max_body_size),
        auth=AuthConfig(enabled=auth, bcrypt_cost=cost,
                        cache_expiration=gocompat.parse_duration(cache), **auth_extra),
    )


class Harness:
    """One app over a fresh store, plus an in-memory HTTP client."""

    def __init__(self, tmp_path, workers=None, reactor=None, **config):
        """``reactor``: run the app on a real reactor (then ``workers=None``
        means the app's own ``CPUWorkers``); by default a ``SyncClock``."""
        self.clock = SyncClock()
        self.config = make_config(tmp_path, **config)
        self.store = JournalStore.open(str(tmp_path / "store.journal"), self.clock, InlinePool())
        # Release the journal's descriptor and lock when the test drops us.
        weakref.finalize(self, self.store.close)
        if reactor is None:
            reactor = self.clock
            workers = workers if workers is not None else CountingWorkers()
        self.app = build_app(self.config, reactor, self.store, workers=workers)
        self.workers = self.app.workers
        self.stub = StubTreq(self.app.root)
        agent = self.stub._agent
        agent._serverFactory = KapacitorSite(
            self.app.root, self.app.stats,
            max_body_size=self.config.http.max_body_size, reactor=agent._memoryReactor,
        )

    # ------------------------------------------------------------ users

    def add_user(self, name: str, password: str = "pw", admin: bool = False,
                 permissions=()) -> User:
        """Create a user without the HTTP API (so no request is needed)."""
        hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(4))
        user = User(name=name, admin=admin, hash=hashed,
                    privileges=privileges_from_permissions(list(permissions)))
        fired = []
        self.app.userdb.create(user).addBoth(fired.append)
        assert fired == [True]
        return user

    def put_record(self, name: str, **record) -> None:
        """Write a user record straight into the store, behind the user DB's back."""
        value = {"name": name, "admin": False, "hash": "", "privileges": {}}
        value.update(record)
        fired = []
        self.store.put("users", name, value).addBoth(fired.append)
        assert fired == [None]

    # ---------------------------------------------------------- requests

    def start(self, method: str, path: str, body=None, headers: Optional[Dict] = None,
              auth=None) -> Deferred:
        hdrs = {k: [v] for k, v in (headers or {}).items()}
        if auth is not None:
            hdrs["Authorization"] = [basic(*auth)]
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
        url = path if path.startswith("http") else "http://kapacitor.test" + path
        d = self.stub.request(method, url, data=body, headers=hdrs, allow_redirects=False)
        return d.addCallback(self._read)

    def _read(self, response):
        d = self.stub.content(response)
        return d.addCallback(lambda body: Reply(response.code, response.headers, body))

    def finish(self, d: Deferred) -> Reply:
        result = []
        d.addBoth(result.append)
        for turn in range(1000):
            self.stub.flush()
            if result and turn >= 4:
                break
            self.clock.advance(0)  # the reactor's turns a long listing yields to
        assert result, "request did not complete"
        if isinstance(result[0], Failure):
            result[0].raiseException()
        return result[0]

    async def wait(self, d: Deferred, timeout: float = 10.0) -> Reply:
        """On a real reactor: pump the in-memory connection until ``d`` fires."""
        from twisted.internet import reactor
        from twisted.internet.task import deferLater

        result = []
        d.addBoth(result.append)
        deadline = time.monotonic() + timeout
        while not result:
            assert time.monotonic() < deadline, "request did not complete"
            self.stub.flush()
            await deferLater(reactor, 0.005, lambda: None)
        if isinstance(result[0], Failure):
            result[0].raiseException()
        return result[0]

    def request(self, method: str, path: str, body=None, headers=None, auth=None) -> Reply:
        return self.finish(self.start(method, path, body, headers, auth))

    def get(self, path, **kw) -> Reply:
        return self.request("GET", path, **kw)

    def post(self, path, body=None, **kw) -> Reply:
        return self.request("POST", path, body, **kw)

    def patch(self, path, body=None, **kw) -> Reply:
        return self.request("PATCH", path, body, **kw)

    def delete(self, path, **kw) -> Reply:
        return self.request("DELETE", path, **kw)

    def raw(self, data: bytes) -> bytes:
        """Bytes on the wire for raw request bytes (one connection)."""
        from twisted.internet.testing import StringTransport

        site = self.stub._agent._serverFactory
        protocol = site.buildProtocol(None)
        transport = StringTransport()
        protocol.makeConnection(transport)
        protocol.dataReceived(data)
        self.disconnected = transport.disconnecting
        return transport.value()


def parse_wire(wire: bytes):
    """(status, {lower-case header: [values]}, de-chunked body) of one response."""
    head, _, rest = wire.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ")[1])
    headers: Dict[str, List[str]] = {}
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        headers.setdefault(name.decode().lower(), []).append(value.strip().decode("latin-1"))
    if headers.get("transfer-encoding") == ["chunked"]:
        body = b""
        while rest:
            size, _, rest = rest.partition(b"\r\n")
            n = int(size, 16)
            if n == 0:
                break
            body += rest[:n]
            rest = rest[n + 2:]
    else:
        body = rest
    return status, headers, body
