"""The InfluxDB clusters of ``[[influxdb]]``: connection, subscriptions, tokens.

Each enabled cluster (upstream ``services/influxdb/service.go``):

* is reached in the background once the daemon starts: ``/ping`` with an
  exponential back-off for at most ``startup-timeout``, each failure logged.
  Start-up never waits for it and an unreachable cluster is never fatal
  (upstream fails start-up after ``startup-timeout``); it keeps being
  retried at every sync;
* every ``subscriptions-sync-interval`` makes sure each database and
  retention policy (those of ``subscriptions`` if any, minus
  ``excluded-subscriptions``) has a subscription named ``kapacitor-<cluster
  id>`` (``-<server id>`` in ``server`` mode) whose destination is this
  daemon, ``http(s)://<kapacitor-hostname>:<http-port><subscription-path>``,
  drops ours that point elsewhere or at dropped databases, and drops the
  legacy names ``kapacitor`` and ``<cluster id>``;
* with a user store, puts a fresh subscription token in each destination
  (``~subscriber:<token>@``, a user that may only write that database) and
  revokes this cluster's tokens that no subscription uses;
* with ``subscription-protocol = "udp"``, opens one UDP listener per
  subscription on ``udp-bind`` (:mod:`.udp`) and subscribes
  ``udp://<kapacitor-hostname>:<port>``; after a restart a subscription of
  ours is kept and its port listened on again (a port that cannot be
  opened any more: the subscription is dropped and made anew), and
  listeners of subscriptions that went away are closed.

Deliberate difference: tokens rotate.  The first sync after start-up
recreates every subscription of ours with a new token (upstream keeps the
old ones for ever), and a sync that finds a subscription whose token is no
longer granted (deleted through ``/users``) recreates it; the old tokens
are revoked at once.  Tokens and destinations are never logged.
"""

from __future__ import annotations

from typing import Dict, List, Optional, Set, Tuple
from urllib.parse import urlsplit

from twisted.application.service import Service
from twisted.internet import defer
from twisted.internet.task import LoopingCall, deferLater
from twisted.logger import Logger

from kapacitord_tw.auth.subscriptions import generate_token, split_token
from kapacitord_tw.influxdb.client import InfluxDBClient, InfluxDBError, UnreachableError
from kapacitord_tw.influxdb.influxql import quote_ident, quote_string
from kapacitord_tw.influxdb.udp import UDPSubscription, listen as listen_udp

SUBSCRIBER = "~subscriber"
LEGACY_NAME = "kapacitor"
NAME_PREFIX = "kapacitor-"
BACKOFF_INITIAL = 0.5
BACKOFF_MAX = 30.0
BACKOFF_FACTOR = 1.5


def _host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def redact(text: str, secrets) -> str:
    """``text`` with every secret replaced (error messages may echo a statement)."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "<redacted>")
    return text


class Cluster:
    """One enabled ``[[influxdb]]`` element at run time."""

    log = Logger(namespace="kapacitord_tw.influxdb")

    def __init__(self, config, reactor, sub_name: str, legacy_names: Tuple[str, ...],
                 hostname: str, http_port: int, tokens, use_tokens: bool, client=None,
                 bus=None):
        self.config = config
        self.name = config.name
        self._reactor = reactor
        self.sub_name = sub_name
        self._legacy = legacy_names
        self.hostname = config.kapacitor_hostname or hostname
        self.http_port = config.http_port or http_port
        self.protocol = config.subscription_protocol
        self._tokens = tokens
        #: ``[http] auth-enabled`` with a user store (UDP subscriptions cannot carry a token)
        self.auth_wanted = use_tokens
        self.use_tokens = use_tokens and self.protocol in ("http", "https")
        self.client = client if client is not None else InfluxDBClient(config, reactor)
        self._include = {(db, rp) for db, rps in config.subscriptions for rp in rps}
        self._exclude = {(db, rp) for db, rps in config.excluded_subscriptions for rp in rps}
        self._sync: Optional[LoopingCall] = None
        self._linking: Optional[defer.Deferred] = None
        self._rotated = False
        self._stopped = False
        self._startup: Optional[defer.Deferred] = None
        #: statistics (``/debug/vars``)
        self.connected = False
        self.num_subscriptions = 0
        self.sync_errors = 0
        self.syncs = 0
        self.tokens_rotated = 0
        self._secrets: Set[str] = set()
        #: the ingest point bus UDP subscriptions publish to
        self._bus = bus
        #: (db, rp) -> (UDPSubscription, listening port) of ``udp`` subscriptions
        self.udp_listeners: Dict[Tuple[str, str], Tuple[UDPSubscription, object]] = {}

    # ------------------------------------------------------------ life

    def start(self) -> None:
        self._startup = self._start()
        self._startup.addErrback(lambda f: self.log.failure(
            "influxdb cluster {cluster}: start-up failed", f, cluster=self.name))

    @defer.inlineCallbacks
    def _start(self):
        yield self.connect_with_backoff(self.config.startup_timeout / 1e9)
        if self._stopped:
            return
        yield self.link()
        if self._stopped:
            return
        if not self.config.disable_subscriptions:
            self._sync = LoopingCall(self.link)
            self._sync.clock = self._reactor
            self._sync.start(self.config.subscriptions_sync_interval / 1e9, now=False)

    @defer.inlineCallbacks
    def stop(self):
        self._stopped = True
        if self._sync is not None and self._sync.running:
            self._sync.stop()
        if self._startup is not None and not self._startup.called:
            self._startup.cancel()
        for key in list(self.udp_listeners):
            yield self._close_udp(key)
        yield self.client.close()

    @defer.inlineCallbacks
    def connect_with_backoff(self, budget: float):
        """Ping until it answers or ``budget`` seconds have passed; True when connected."""
        deadline = self._reactor.seconds() + budget
        delay = BACKOFF_INITIAL
        while not self._stopped:
            try:
                yield self.client.ping()
            except InfluxDBError as e:
                self.connected = False
                remaining = deadline - self._reactor.seconds()
                if remaining <= 0:
                    self.log.error(
                        "influxdb cluster {cluster}: failed to connect to InfluxDB, retry limit "
                        "reached; retrying at every subscription sync: {error}",
                        cluster=self.name, error=str(e))
                    return False
                self.log.error("influxdb cluster {cluster}: failed to connect to InfluxDB, "
                               "retrying...: {error}", cluster=self.name, error=str(e))
                yield deferLater(self._reactor, min(delay, remaining), lambda: None)
                delay = min(delay * BACKOFF_FACTOR, BACKOFF_MAX)
                continue
            if not self.connected:
                self.log.info("influxdb cluster {cluster}: connected", cluster=self.name)
            self.connected = True
            return True
        return False

    # ---------------------------------------------------- subscriptions

    def should_exist(self, db: str, rp: str) -> bool:
        return (not self._include or (db, rp) in self._include) and (db, rp) not in self._exclude

    def destination(self, token: Optional[str], udp_port: int = 0) -> str:
        if self.protocol == "udp":
            return f"udp://{_host_port(self.hostname, udp_port)}"
        where = _host_port(self.hostname, self.http_port) + self.config.subscription_path
        if token is None:
            return f"{self.protocol}://{where}"
        return f"{self.protocol}://{SUBSCRIBER}:{token}@{where}"

    def _token_of(self, destination: str) -> Optional[str]:
        try:
            parts = urlsplit(destination)
        except ValueError:
            return None
        return parts.password if parts.username == SUBSCRIBER else None

    def _changed_or_invalid(self, destinations: List[str]) -> bool:
        """``changedOrInvalid``, plus: a token no longer granted is invalid."""
        if not destinations:
            return True
        try:
            parts = urlsplit(destinations[0])
            port = parts.port
        except ValueError:
            return True
        if parts.scheme != self.protocol or parts.hostname != self.hostname.lower():
            return True
        if parts.scheme in ("http", "https"):
            if port != self.http_port:
                return True
            token = self._token_of(destinations[0])
            if not self.use_tokens:
                return parts.username is not None
            if token is None:
                return True
            split = split_token(token)
            if split is None or split[0] != self.name or not self._tokens.is_granted(token):
                return True
        return False

    def link(self) -> defer.Deferred:
        """One sync; a sync already running is not started twice."""
        if self._linking is not None:
            return self._linking
        d = self._linking = self._link()

        def done(result):
            self._linking = None
            return result

        d.addBoth(done)
        return d

    @defer.inlineCallbacks
    def _link(self):
        if self.config.disable_subscriptions or self._stopped:
            return
        self.syncs += 1
        try:
            if not self.connected:
                ok = yield self.connect_with_backoff(0)
                if not ok:
                    self.sync_errors += 1
                    return
            yield self._link_subscriptions()
        except InfluxDBError as e:
            self.sync_errors += 1
            if isinstance(e, UnreachableError):
                self.connected = False
            self.log.error("influxdb cluster {cluster}: failed to link subscriptions: {error}",
                           cluster=self.name, error=redact(str(e), self._secrets))
        except Exception as e:  # the store refused a token user, ...
            self.sync_errors += 1
            self.log.error("influxdb cluster {cluster}: failed to link subscriptions: {error}",
                           cluster=self.name, error=redact(f"{type(e).__name__}: {e}", self._secrets))

    @defer.inlineCallbacks
    def _link_subscriptions(self):
        q = self.client.query
        self.log.debug("influxdb cluster {cluster}: linking subscriptions", cluster=self.name)
        wanted: List[Tuple[str, str]] = []
        results = yield q("SHOW DATABASES")
        for db in _column(results, 0):
            rps = yield q(f"SHOW RETENTION POLICIES ON {quote_ident(db)}")
            for rp in _column(rps, 0):
                wanted.append((db, rp))
        results = yield q("SHOW SUBSCRIPTIONS")
        # UDP destinations carry no token: nothing to rotate, the ports are listened on again.
        rotate = not self._rotated and self.protocol != "udp"
        existing: Dict[Tuple[str, str], List[str]] = {}
        for db, rp, name, _mode, destinations in _subscriptions(results):
            self._secrets.update(filter(None, map(self._token_of, destinations)))
            if name in self._legacy:
                yield self._drop(name, db, rp)
            elif name == self.sub_name:
                if rotate or self._changed_or_invalid(destinations) or not self.should_exist(db, rp):
                    yield self._drop(name, db, rp)
                else:
                    existing[(db, rp)] = destinations
        if self.protocol == "udp":
            for (db, rp), destinations in list(existing.items()):
                listening = yield self._listen_again(db, rp, destinations[0])
                if self._stopped:
                    return  # shutting down: keep the subscription for the next run
                if not listening:
                    yield self._drop(self.sub_name, db, rp)
                    del existing[(db, rp)]
        created = 0
        for db, rp in wanted:
            if (db, rp) in existing or not self.should_exist(db, rp):
                continue
            token = None
            udp_port = 0
            if self.use_tokens:
                token = generate_token(self.name)
                self._secrets.add(token)
                yield self._tokens.grant(token, db, rp)
            elif self.protocol == "udp":
                udp_port = yield self._open_udp(db, rp, 0)
                if self._stopped:
                    return
                if not udp_port:
                    self.sync_errors += 1
                    continue
            destination = self.destination(token, udp_port)
            try:
                yield q(f"CREATE SUBSCRIPTION {quote_ident(self.sub_name)} ON "
                        f"{quote_ident(db)}.{quote_ident(rp)} DESTINATIONS ANY "
                        f"{quote_string(destination)}")
            except Exception:
                if token is not None:
                    yield self._tokens.revoke(token)
                if udp_port:
                    yield self._close_udp((db, rp))
                raise
            self.log.info("influxdb cluster {cluster}: subscription {name} on {db}.{rp} "
                          "created", cluster=self.name, name=self.sub_name, db=db, rp=rp)
            existing[(db, rp)] = [destination]
            created += 1
        if rotate:
            self._rotated = True
        for key in [k for k in self.udp_listeners if k not in existing]:
            yield self._close_udp(key)
        yield self._revoke_unused(existing)
        self.num_subscriptions = len(existing)

    # ---------------------------------------------------- UDP listeners

    @defer.inlineCallbacks
    def _listen_again(self, db: str, rp: str, destination: str):
        """True when the port of our ``udp://`` subscription is (now) listened on."""
        try:
            port = urlsplit(destination).port
        except ValueError:
            return False
        running = self.udp_listeners.get((db, rp))
        if running is not None:
            if running[0].port == port:
                return True
            yield self._close_udp((db, rp))
        if not port:
            return False
        opened = yield self._open_udp(db, rp, port)
        return bool(opened)

    @defer.inlineCallbacks
    def _open_udp(self, db: str, rp: str, port: int):
        """The port of a new listener for ``db.rp`` (0 on failure, logged, or at shutdown)."""
        if self._stopped:
            return 0
        if self._bus is None:
            self.log.error("influxdb cluster {cluster}: no point bus to publish UDP "
                           "subscription points to", cluster=self.name)
            return 0
        if (db, rp) in self.udp_listeners:
            yield self._close_udp((db, rp))
        c = self.config
        subscription = UDPSubscription(self.name, db, rp, self._bus, self._reactor,
                                       c.udp_buffer)
        try:
            listening = yield listen_udp(self._reactor, subscription, c.udp_bind, port,
                                         c.udp_read_buffer)
        except Exception as e:
            self.log.error("influxdb cluster {cluster}: failed to start UDP listener for "
                           "{db}.{rp} on {bind}:{port}: {error}", cluster=self.name, db=db,
                           rp=rp, bind=c.udp_bind, port=port, error=str(e) or type(e).__name__)
            return 0
        if self._stopped:  # stop() closed the others while the name was resolved
            yield listening.stopListening()
            return 0
        self.udp_listeners[(db, rp)] = (subscription, listening)
        self.log.info("influxdb cluster {cluster}: started UDP listener for {db}.{rp} on "
                      "{address}", cluster=self.name, db=db, rp=rp, address=subscription.bind)
        return subscription.port

    @defer.inlineCallbacks
    def _close_udp(self, key):
        subscription, listening = self.udp_listeners.pop(key)
        yield listening.stopListening()
        self.log.info("influxdb cluster {cluster}: closed UDP listener for {db}.{rp} on "
                      "{address}", cluster=self.name, db=key[0], rp=key[1],
                      address=subscription.bind)

    @defer.inlineCallbacks
    def _revoke_unused(self, existing):
        in_use = set()
        if self.use_tokens:
            for destinations in existing.values():
                token = self._token_of(destinations[0])
                if token:
                    in_use.add(token)
        tokens = yield self._tokens.tokens()
        revoked = 0
        for token in tokens:
            split = split_token(token)
            if split is None or split[0] != self.name or token in in_use:
                continue
            yield self._tokens.revoke(token)
            self._secrets.discard(token)
            revoked += 1
        if revoked:
            self.tokens_rotated += revoked
            self.log.info("influxdb cluster {cluster}: revoked {count} subscription token(s) no "
                          "longer in use", cluster=self.name, count=revoked)

    @defer.inlineCallbacks
    def _drop(self, name: str, db: str, rp: str):
        yield self.client.query(f"DROP SUBSCRIPTION {quote_ident(name)} ON "
                                f"{quote_ident(db)}.{quote_ident(rp)}")
        self.log.info("influxdb cluster {cluster}: subscription {name} on {db}.{rp} dropped",
                      cluster=self.name, name=name, db=db, rp=rp)

    def stats(self) -> dict:
        return {
            "connected": int(self.connected),
            "num_subscriptions": self.num_subscriptions,
            "subscription_syncs": self.syncs,
            "subscription_sync_errors": self.sync_errors,
            "subscription_tokens_revoked": self.tokens_rotated,
        }


def _column(results, index: int) -> List[str]:
    out = []
    for result in results:
        for series in result.get("series") or []:
            for row in series.get("values") or []:
                out.append(row[index])
    return out


def _subscriptions(results):
    for result in results:
        for series in result.get("series") or []:
            cols = series.get("columns") or []
            for row in series.get("values") or []:
                r = dict(zip(cols, row))
                yield (series.get("name", ""), r.get("retention_policy", ""), r.get("name", ""),
                       r.get("mode", ""), list(r.get("destinations") or []))


class InfluxDBService(Service):
    """Every enabled cluster; what nodes (batch, influxDBOut) ask for a client."""

    name = "influxdb"
    log = Logger(namespace="kapacitord_tw.influxdb")

    def __init__(self, configs, reactor, hostname: str, http_port: int, ids, tokens,
                 use_tokens: bool, client_factory=None, bus=None):
        self.clusters: Dict[str, Cluster] = {}
        self.default: Optional[Cluster] = None
        enabled = [c for c in configs if c.enabled]
        for c in enabled:
            if c.subscription_mode == "server":
                sub_name = NAME_PREFIX + ids.server_id
            else:
                sub_name = NAME_PREFIX + ids.cluster_id
            client = client_factory(c) if client_factory is not None else None
            cluster = Cluster(c, reactor, sub_name, (LEGACY_NAME, ids.cluster_id), hostname,
                              http_port, tokens, use_tokens, client, bus=bus)
            self.clusters[c.name] = cluster
            if c.default or len(enabled) == 1:
                self.default = cluster

    def startService(self):
        super().startService()
        for cluster in self.clusters.values():
            if cluster.config.insecure_skip_verify:
                self.log.warn("influxdb cluster {cluster}: insecure-skip-verify is set: the TLS "
                              "certificates of {urls} are not verified", cluster=cluster.name,
                              urls=", ".join(cluster.config.urls))
            if cluster.protocol == "udp" and cluster.auth_wanted:
                self.log.warn("influxdb cluster {cluster}: subscription-protocol = \"udp\": "
                              "InfluxDB's writes reach the UDP listeners without "
                              "authentication; keep udp-bind on an address only InfluxDB "
                              "can reach", cluster=cluster.name)
            cluster.start()

    @defer.inlineCallbacks
    def stopService(self):
        super().stopService()
        for cluster in self.clusters.values():
            try:
                yield cluster.stop()
            except Exception:
                self.log.failure("influxdb cluster {cluster}: error while stopping",
                                 cluster=cluster.name)

    def cluster(self, name: str = "") -> Cluster:
        """The named cluster, or the default one for ``""``; KeyError with a message if none."""
        if not name:
            if self.default is None:
                raise KeyError("no default InfluxDB cluster is configured")
            return self.default
        try:
            return self.clusters[name]
        except KeyError:
            raise KeyError(f"unknown InfluxDB cluster {name!r}") from None

    def num_subscriptions(self) -> int:
        return sum(c.num_subscriptions for c in self.clusters.values())

    def stats(self) -> Dict[str, dict]:
        return {name: c.stats() for name, c in sorted(self.clusters.items())}

    def udp_listeners(self) -> List[UDPSubscription]:
        """Every open UDP subscription listener (``udp`` statistics)."""
        return [sub for c in self.clusters.values() for sub, _port in c.udp_listeners.values()]
