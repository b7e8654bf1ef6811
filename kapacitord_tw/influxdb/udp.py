"""UDP subscriptions: one listener per database and retention policy
(upstream ``services/udp/service.go``, opened by ``services/influxdb``).

With ``subscription-protocol = "udp"`` InfluxDB forwards each write as
line protocol in datagrams to ``udp://<kapacitor-hostname>:<port>``; the
listener parses each datagram (nanosecond timestamps, as upstream's
``models.ParsePoints``: InfluxDB's subscriber always sends them) and
publishes its points on the point bus as written to the subscription's
database and retention policy.

Bounded on every side: a datagram is at most 64 KiB (larger ones are cut
by the kernel, as upstream's read buffer cuts them) and is parsed on the
reactor, 64 KiB per reactor turn at most (Twisted's ``maxThroughput``,
256 KiB by default).  When the engine pushes back (``publish`` returns a
Deferred) the listener stops reading the socket, keeps at most
``udp-buffer`` datagrams that were already read, and drops (and counts)
the rest, as upstream's full packet channel leaves them in the kernel.
The kept datagrams are parsed one per reactor turn once the engine is
ready again.  Statistics are upstream's ``udp`` ones, plus
``packets_dropped``.
"""

from __future__ import annotations

import collections
import socket
import uuid
from typing import Deque, Optional

import attrs
from twisted.internet import defer
from twisted.internet.abstract import isIPAddress, isIPv6Address
from twisted.internet.protocol import DatagramProtocol
from twisted.logger import Logger

from kapacitord_tw.ingest.lineprotocol import FieldDecodeError, LineProtocolError, parse_points

#: Upstream's ``UDPPacketSize``: the largest datagram read (Twisted's default is 8 KiB).
UDP_PACKET_SIZE = 65536
#: Bytes read (and parsed) per reactor turn at most: one largest datagram, ~15 ms of parsing.
MAX_READ_PER_TURN = 65536
#: A parse error's text in a log line is cut to this many characters (a datagram can be 64 KiB).
MAX_LOGGED_ERROR = 300


@attrs.define
class UDPStats:
    """Upstream's statistic names; ``values()`` is the ``/debug/vars`` map."""

    points_rx: int = 0
    bytes_rx: int = 0
    points_parse_fail: int = 0
    read_fail: int = 0
    points_tx: int = 0
    tx_fail: int = 0
    packets_dropped: int = 0

    def values(self) -> dict:
        return attrs.asdict(self)


class _RateLimitedLog:
    """At most one line a second per listener (a flood of bad datagrams must not fill the log)."""

    def __init__(self, log: Logger, clock):
        self._log = log
        self._clock = clock
        self._last = None
        self._suppressed = 0

    def error(self, fmt: str, **kw) -> None:
        now = self._clock.seconds()
        if self._last is not None and now - self._last < 1.0:
            self._suppressed += 1
            return
        self._last = now
        kw["suppressed"] = self._suppressed
        if self._suppressed:
            fmt += " ({suppressed} similar errors not logged)"
        self._suppressed = 0
        self._log.error(fmt, **kw)


class UDPSubscription(DatagramProtocol):
    """The listener of one subscription; ``bus`` is the ingest point bus."""

    log = Logger(namespace="kapacitord_tw.influxdb")
    #: the cluster logs start and stop itself, with the database and retention policy
    noisy = False

    def __init__(self, cluster: str, database: str, retention_policy: str, bus, clock,
                 buffer: int):
        self.cluster = cluster
        self.database = database
        self.retention_policy = retention_policy
        self._bus = bus
        self._clock = clock
        self._buffer = max(1, buffer)
        self._queue: Deque[bytes] = collections.deque()
        self._waiting: Optional[defer.Deferred] = None
        self._drain_call = None
        self._closed = False
        self._errors = _RateLimitedLog(self.log, clock)
        self.stats = UDPStats()
        #: the key of its ``udp`` entry in ``/debug/vars`` (a fresh one per listener, as upstream)
        self.stat_key = str(uuid.uuid4())
        self.bind = ""
        self.port = 0

    # ------------------------------------------------------------ data

    def datagramReceived(self, data: bytes, addr) -> None:
        self.stats.bytes_rx += len(data)
        if self._waiting is not None or self._queue:
            if len(self._queue) >= self._buffer:
                self.stats.packets_dropped += 1
                self._errors.error(
                    "influxdb cluster {cluster}: UDP listener for {db}.{rp}: {buffer} datagrams "
                    "are waiting for the task engine; datagram dropped",
                    cluster=self.cluster, db=self.database, rp=self.retention_policy,
                    buffer=self._buffer)
                return
            self._queue.append(data)
            return
        self._process(data)

    def _process(self, data: bytes) -> None:
        now_ns = int(self._clock.seconds() * 1e9)
        try:
            points = parse_points(data, "", now_ns, self.database, self.retention_policy)
        except (LineProtocolError, FieldDecodeError) as e:
            self.stats.points_parse_fail += 1
            text = str(e)
            if len(text) > MAX_LOGGED_ERROR:
                text = text[:MAX_LOGGED_ERROR] + "..."
            self._errors.error(
                "influxdb cluster {cluster}: UDP listener for {db}.{rp}: failed to parse "
                "points: {error}", cluster=self.cluster, db=self.database,
                rp=self.retention_policy, error=text)
            return
        self.stats.points_rx += len(points)
        if not points:
            return
        try:
            wait = self._bus.publish(points)
        except Exception:
            self.stats.tx_fail += 1
            self.log.failure("influxdb cluster {cluster}: UDP listener for {db}.{rp}: failed "
                             "to write points", cluster=self.cluster, db=self.database,
                             rp=self.retention_policy)
            return
        self.stats.points_tx += len(points)
        if isinstance(wait, defer.Deferred):
            self._pause(wait)

    # ---------------------------------------------------- back-pressure

    def _pause(self, wait: defer.Deferred) -> None:
        self._waiting = wait
        if self.transport is not None:
            self.transport.stopReading()
        wait.addBoth(self._ready)

    def _ready(self, _result) -> None:
        self._waiting = None
        self._schedule_drain()

    def _schedule_drain(self) -> None:
        if self._closed or self._drain_call is not None:
            return
        self._drain_call = self._clock.callLater(0, self._drain)

    def _drain(self) -> None:
        """One kept datagram per reactor turn; reading resumes once none is left."""
        self._drain_call = None
        if self._closed or self._waiting is not None:
            return
        if self._queue:
            self._process(self._queue.popleft())
            if self._waiting is None:
                self._schedule_drain()
            return
        if self.transport is not None:
            self.transport.startReading()

    # ------------------------------------------------------------ life

    def doStop(self) -> None:
        self._closed = True
        self._queue.clear()
        if self._drain_call is not None and self._drain_call.active():
            self._drain_call.cancel()
        self._drain_call = None
        super().doStop()


def _interface(bind: str) -> str:
    host = bind.strip()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host


@defer.inlineCallbacks
def listen(reactor, subscription: UDPSubscription, bind: str, port: int, read_buffer: int):
    """Open ``subscription`` on ``bind``:``port`` (0: any free port); the listening port.

    ``bind`` is ``udp-bind``: empty (every interface), an address or a host
    name (resolved without blocking).  ``read_buffer`` > 0 sets ``SO_RCVBUF``.
    """
    host = _interface(bind)
    if host and not (isIPAddress(host) or isIPv6Address(host)):
        host = yield reactor.resolve(host)
    listening = reactor.listenUDP(port, subscription, interface=host,
                                  maxPacketSize=UDP_PACKET_SIZE)
    listening.maxThroughput = MAX_READ_PER_TURN  # Twisted's default is 256 KiB
    if read_buffer:
        try:
            listening.socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, read_buffer)
        except OSError:
            yield listening.stopListening()
            raise
    address = listening.getHost()
    subscription.port = address.port
    subscription.bind = (f"[{address.host}]:{address.port}" if ":" in address.host
                         else f"{address.host}:{address.port}")
    return listening
