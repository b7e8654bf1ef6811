"""A small InfluxDB 1.x HTTP client on treq: ``/ping``, ``/query``, ``/write``.

One client per ``[[influxdb]]`` cluster, with its credentials (Basic from
``username``/``password``, or ``Token`` for ``token``), its TLS options and
its timeout, over one persistent connection pool.  Requests go to the first
URL; a connection failure moves on to the next one, as upstream's client
rotates through ``urls``.  Errors are :class:`InfluxDBError` with a text fit
for a log line or a task's error: never a password, never a query's text
(a ``CREATE SUBSCRIPTION`` carries a token).
"""

from __future__ import annotations

import base64
import json
from typing import Dict, List, Optional
from urllib.parse import urlencode, urlsplit

from twisted.internet import defer, error as net_error
from twisted.logger import Logger
from twisted.web.client import Agent, ResponseFailed

from kapacitord_tw.httpclient import quiet_pool

#: ``timeout = 0`` means "no timeout" upstream; a hung InfluxDB must still
#: not hold a sync or a batch query for ever, so 0 means this many seconds.
NO_TIMEOUT_CAP = 300.0
#: A response larger than this is refused (a batch query's result is held in memory).
MAX_RESPONSE_BYTES = 256 * 1024 * 1024

_CONNECTION_ERRORS = (net_error.ConnectError, net_error.ConnectionRefusedError,
                      net_error.DNSLookupError, net_error.TimeoutError, net_error.ConnectingCancelledError,
                      ResponseFailed, net_error.ConnectionLost, defer.CancelledError)


class InfluxDBError(Exception):
    """A failed request; ``str()`` is safe to log."""


class UnreachableError(InfluxDBError):
    """No URL of the cluster answered."""


class AuthError(InfluxDBError):
    """InfluxDB refused the cluster's credentials (401)."""


class QueryError(InfluxDBError):
    """InfluxDB answered, and refused the statement (its own message)."""


def _tls_policy(config):
    """An ``IPolicyForHTTPS`` from ssl-ca / ssl-cert / ssl-key / insecure-skip-verify."""
    from twisted.internet import ssl
    from twisted.web.client import BrowserLikePolicyForHTTPS
    from twisted.web.iweb import IPolicyForHTTPS
    from zope.interface import implementer

    if not (config.ssl_ca or config.ssl_cert or config.insecure_skip_verify):
        return BrowserLikePolicyForHTTPS()
    client_cert = None
    if config.ssl_cert and config.ssl_key:
        with open(config.ssl_cert, "rb") as f:
            cert = f.read()
        with open(config.ssl_key, "rb") as f:
            key = f.read()
        client_cert = ssl.PrivateCertificate.loadPEM(cert + b"\n" + key)
    trust = None
    if config.ssl_ca:
        with open(config.ssl_ca, "rb") as f:
            trust = ssl.Certificate.loadPEM(f.read())

    @implementer(IPolicyForHTTPS)
    class _Policy:
        def creatorForNetloc(self, hostname, port):
            if config.insecure_skip_verify:
                options = ssl.CertificateOptions(verify=False)
                if client_cert is not None:
                    options = ssl.CertificateOptions(
                        privateKey=client_cert.privateKey.original,
                        certificate=client_cert.original, verify=False)
                return options
            return ssl.optionsForClientTLS(hostname.decode("ascii"), trustRoot=trust,
                                           clientCertificate=client_cert)

    return _Policy()


class InfluxDBClient:
    """Requests to one cluster; ``config`` is an ``InfluxDBConfig``."""

    log = Logger()

    def __init__(self, config, reactor, http_client=None):
        import treq.client

        self.config = config
        self.name = config.name
        self._reactor = reactor
        self._urls: List[str] = [u.rstrip("/") for u in config.urls]
        self._current = 0
        self._timeout = config.timeout / 1e9 if config.timeout > 0 else NO_TIMEOUT_CAP
        if http_client is None:
            self._pool = quiet_pool(reactor, persistent=True)
            self._pool.maxPersistentPerHost = 8
            self._pool.retryAutomatically = False
            https = any(urlsplit(u).scheme == "https" for u in self._urls)
            agent = Agent(reactor, contextFactory=_tls_policy(config), pool=self._pool) if https \
                else Agent(reactor, pool=self._pool)
            http_client = treq.client.HTTPClient(agent)
        else:
            self._pool = None
        self._http = http_client
        self._in_flight = set()

    @defer.inlineCallbacks
    def close(self, grace: float = 10.0):
        """Let requests in flight (influxDBOut's last flush at shutdown) finish, for at
        most ``grace`` seconds, then close the connections."""
        if self._in_flight:
            waiting = defer.DeferredList(list(self._in_flight), consumeErrors=True)
            waiting.addTimeout(grace, self._reactor)
            try:
                yield waiting
            except defer.TimeoutError:
                self.log.warn("influxdb cluster {cluster}: {count} request(s) still running at "
                              "shutdown", cluster=self.name, count=len(self._in_flight))
        if self._pool is not None:
            yield self._pool.closeCachedConnections()

    def _headers(self) -> Dict[bytes, List[bytes]]:
        c = self.config
        headers = {b"User-Agent": [b"KapacitorInfluxDBClient"]}
        if c.token:
            headers[b"Authorization"] = [b"Token " + c.token.encode("utf-8")]
        elif c.username:
            raw = f"{c.username}:{c.password}".encode("utf-8")
            headers[b"Authorization"] = [b"Basic " + base64.b64encode(raw)]
        return headers

    def _error(self, text: str, kind=InfluxDBError) -> InfluxDBError:
        return kind(f"InfluxDB cluster {self.name}: {text}")

    def _auth_error(self, body: bytes) -> AuthError:
        """What a 401 means for this cluster's configuration (never the secret itself)."""
        c = self.config
        if c.token:
            what = "refused the token (401)"
        elif c.username:
            what = "refused the username and password (401)"
        else:
            what = ("requires authentication (401): set username and password in its "
                    "[[influxdb]] section")
        return AuthError(f"InfluxDB cluster {self.name} {what}: {_message(body)}")

    def _request(self, *args):
        d = self._send(*args)
        self._in_flight.add(d)

        def done(result):
            self._in_flight.discard(d)
            return result

        return d.addBoth(done)

    @defer.inlineCallbacks
    def _send(self, method: str, path: str, params: dict, body: Optional[bytes] = None,
              content_type: Optional[bytes] = None):
        """(status, body bytes) from the first URL that answers."""
        headers = self._headers()
        if content_type:
            headers[b"Content-Type"] = [content_type]
        last: Optional[Exception] = None
        for attempt in range(len(self._urls)):
            index = (self._current + attempt) % len(self._urls)
            url = self._urls[index] + path + ("?" + urlencode(params) if params else "")
            try:
                response = yield self._http.request(
                    method, url, headers=headers, data=body, timeout=self._timeout,
                    reactor=self._reactor)
                data = yield _read_bounded(response)
            except _CONNECTION_ERRORS as e:
                last = e
                continue
            self._current = index
            return response.code, data
        raise self._error(f"cannot reach {', '.join(self._urls)}: {_reason(last)}",
                          UnreachableError)

    @defer.inlineCallbacks
    def ping(self):
        """The server's version (``X-Influxdb-Version``) once it answers ``/ping``."""
        code, body = yield self._request("GET", "/ping", {})
        if code == 401:
            raise self._auth_error(body)
        if code not in (200, 204):
            raise self._error(f"/ping answered {code}: {_message(body)}")
        return code

    @defer.inlineCallbacks
    def query(self, q: str, database: str = "", retention_policy: str = "", epoch: str = "ns"):
        """The ``results`` list of a query; a statement error is a :class:`QueryError`."""
        params = {"q": q}
        if database:
            params["db"] = database
        if retention_policy:
            params["rp"] = retention_policy
        if epoch:
            params["epoch"] = epoch
        form = urlencode(params).encode("utf-8")
        code, body = yield self._request("POST", "/query", {}, form,
                                         b"application/x-www-form-urlencoded")
        if code == 401:
            raise self._auth_error(body)
        try:
            data = json.loads(body or b"{}")
        except ValueError:
            raise self._error(f"/query answered {code} with no JSON") from None
        if isinstance(data, dict) and data.get("error"):
            raise QueryError(str(data["error"]))
        if code != 200 or not isinstance(data, dict):
            raise self._error(f"/query answered {code}")
        results = data.get("results") or []
        for result in results:
            if result.get("error"):
                raise QueryError(str(result["error"]))
        return results

    @defer.inlineCallbacks
    def write(self, database: str, retention_policy: str, body: bytes, precision: str = "",
              consistency: str = ""):
        params = {"db": database}
        if retention_policy:
            params["rp"] = retention_policy
        if precision:
            params["precision"] = precision
        if consistency:
            params["consistency"] = consistency
        code, data = yield self._request("POST", "/write", params, body, b"text/plain; charset=utf-8")
        if code == 401:
            raise self._auth_error(data)
        if code != 204:
            raise self._error(f"write to {database!r} failed ({code}): {_message(data)}")
        return None


def _message(body: bytes) -> str:
    try:
        return str(json.loads(body).get("error", ""))[:500]
    except (ValueError, AttributeError):
        return body[:200].decode("utf-8", "replace")


def _reason(e: Optional[Exception]) -> str:
    if e is None:
        return "no URL"
    if isinstance(e, ResponseFailed):
        return "; ".join(str(r.value) for r in e.reasons) or "response failed"
    if isinstance(e, defer.CancelledError):
        return "timed out"
    return str(e) or type(e).__name__


@defer.inlineCallbacks
def _read_bounded(response):
    length = response.length
    if isinstance(length, int) and length > MAX_RESPONSE_BYTES:
        response.deliverBody(_Discard())
        raise InfluxDBError(f"InfluxDB answered {length} bytes, more than {MAX_RESPONSE_BYTES}")
    import treq

    data = yield treq.content(response)
    return data


class _Discard:
    def makeConnection(self, transport):
        transport.stopProducing()

    def dataReceived(self, data):
        pass

    def connectionLost(self, reason):
        pass
