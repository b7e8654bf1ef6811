"""
Assembling the daemon: configuration → storage → auth (cred) → HTTP areas
→ a ``MultiService`` that twistd or the ``kapacitord`` command runs.
"""

from __future__ import annotations

import os
from typing import List, Optional

import attrs
from twisted.application.service import MultiService, Service
from twisted.cred.portal import Portal
from twisted.internet import defer
from twisted.internet.endpoints import SSL4ServerEndpoint, serverFromString
from twisted.internet.interfaces import IReactorProcess
from twisted.logger import Logger

from kapacitord_tw import __version__
from kapacitord_tw.alerts.api import AlertsAPI
from kapacitord_tw.alerts.service import AlertService, AlertServiceRunner
from kapacitord_tw.auth.checkers import BcryptChecker, JWTChecker, SubscriptionChecker
from kapacitord_tw.auth.guard import Guard
from kapacitord_tw.auth.memo import LoginMemo
from kapacitord_tw.auth.realm import TokenIssuerRealm, UserRealm
from kapacitord_tw.auth.throttle import LoginThrottle
from kapacitord_tw.auth.userdb import UserDB
from kapacitord_tw.auth.workers import bcrypt_workers, compile_workers as tick_workers
from kapacitord_tw.auth.subscriptions import OpenSubscriptions, SubscriptionTokens
from kapacitord_tw.config.influxdb import validate_list as validate_influxdb
from kapacitord_tw.alerts.files import LoadedHandlers
from kapacitord_tw.alerts.kinds import default_kinds
from kapacitord_tw.config.model import Config
from kapacitord_tw.influxdb.service import InfluxDBService
from kapacitord_tw.configapi import ConfigAPI, ServiceConfigs
from kapacitord_tw.engine.task import EngineServices
from kapacitord_tw.config.netaddr import (
    bind_port,
    endpoint_description,
    resolve_interface,
    split_host_port,
)
from kapacitord_tw.http.debugvars import DebugVarsAPI
from kapacitord_tw.http.loglevel import LogLevelAPI
from kapacitord_tw.http.ping import PingAPI
from kapacitord_tw.http.servicetests import (
    ServiceTests,
    ServiceTestsAPI,
    register_notifications,
)
from kapacitord_tw.http.storage import StorageAPI
from kapacitord_tw.http.tasks import TasksAPI, TemplatesAPI
from kapacitord_tw.http.write import WriteAPI
from kapacitord_tw.ingest.parsing import DaemonParser
from kapacitord_tw.ingest.points import PointBus
from kapacitord_tw.ingest.pool import ParsePool, worker_count
from kapacitord_tw.replay import ReplaysAPI, ReplayService, ReplayServiceRunner
from kapacitord_tw.ids import load_ids
from kapacitord_tw.logs import LogControl, parse_level
from kapacitord_tw.http.root import KapacitorRoot
from kapacitord_tw.http.routing import RouteTable
from kapacitord_tw.http.site import KapacitorSite
from kapacitord_tw.http.users import UsersAPI
from kapacitord_tw.services.registry import NotificationServices
from kapacitord_tw.stats import Counters
from kapacitord_tw.storage import JournalStore, StoreService
from kapacitord_tw.tasks import TaskMasterService, build_task_runner
from kapacitord_tw.tasks.load import LoadService, Loader
from kapacitord_tw.warmup import ImportWarmup

STORE_FILE = "kapacitord-tw.journal"

log = Logger(namespace="kapacitord_tw.server")


def store_path(config: Config) -> str:
    return os.path.join(config.data_dir, STORE_FILE)


def open_store(config: Config, reactor):
    """Open (and load) the store, creating ``data_dir`` if needed;
    corruption raises and stops start-up."""
    return JournalStore.open(store_path(config), reactor)


@attrs.define
class App:
    """The parts of a running daemon that its services and the tests reach."""

    config: Config
    reactor: object
    store: object
    stats: Counters
    workers: object
    userdb: Optional[UserDB]
    root: KapacitorRoot
    bcrypt_checker: Optional[BcryptChecker] = None
    throttle: Optional[LoginThrottle] = None
    log_control: object = None
    bus: object = None
    tasks: object = None
    engine: object = None
    #: TICKscript compiles: a pool apart from bcrypt's ``workers``.
    compile_workers: object = None
    alerts: object = None
    influxdb: object = None
    #: The notification sections as configured now (file + overrides).
    service_configs: object = None
    service_tests: object = None
    #: recordings and replays (kapacitord_tw.replay.ReplayService)
    replays: object = None
    #: /write, and its parse workers (None: ``[http] write-workers = 0``)
    writes: object = None
    write_pool: object = None


def task_counts(store):
    """(tasks, enabled tasks) for /debug/vars."""
    total = store.count("tasks")
    enabled = sum(
        1
        for key in store.keys("tasks")
        if (store.get_now("tasks", key) or {}).get("status") == "enabled"
    )
    return total, enabled


def build_portal(config: Config, reactor, userdb, workers, throttle=None):
    """Checkers and realm for the four modes of reference §2.1."""
    auth = config.auth
    if auth.enabled:
        bcrypt_checker = BcryptChecker(userdb, workers, reactor, auth.bcrypt_cost, throttle)
        portal = Portal(
            UserRealm(userdb),
            [
                bcrypt_checker,
                JWTChecker(config.http.shared_secret, reactor, userdb),
                SubscriptionChecker(userdb),
            ],
        )
        return portal, bcrypt_checker
    # [http] auth-enabled without [auth] enabled: no user store, so only
    # Bearer tokens from an external issuer can log in (fix of §10 #3).
    portal = Portal(TokenIssuerRealm(), [JWTChecker(config.http.shared_secret, reactor)])
    return portal, None


def build_app(
    config: Config, reactor, store, workers=None, extra_areas=(), log_control=None,
    compile_workers=None,
) -> App:
    """``workers`` run bcrypt, ``compile_workers`` big TICKscript compiles;
    a stand-in given only as ``workers`` (tests) serves both."""
    stats = Counters()
    if log_control is None:
        log_control = LogControl(parse_level(config.logging.level))
    if compile_workers is None:
        compile_workers = tick_workers(reactor) if workers is None else workers
    if workers is None:
        workers = bcrypt_workers(reactor, config.auth.bcrypt_queue_size)
    userdb = (
        UserDB(store, reactor, config.auth.cache_expiration) if config.auth.enabled else None
    )
    throttle = LoginThrottle.from_config(config.auth, reactor) if config.auth.enabled else None
    portal, bcrypt_checker = build_portal(config, reactor, userdb, workers, throttle)
    guard = Guard(
        portal,
        config.http.auth_enabled,
        stats,
        reactor,
        tarpit=config.auth.login_tarpit / 1e9,
        userdb=userdb,
        memo=LoginMemo(reactor) if userdb is not None else None,
    )
    routes = RouteTable()
    ids = load_ids(config.data_dir)
    bus = PointBus()
    service_configs = ServiceConfigs.from_config(config, store)
    notifications = NotificationServices(service_configs.current, reactor=reactor)
    # Every handler kind is known before the stored topic handlers are loaded.
    kinds = default_kinds()
    notifications.register_kinds(kinds)
    alerts = AlertService(store, reactor, kinds=kinds,
                          persist_topics=config.alert.persist_topics,
                          buffer_length=config.alert.topic_buffer_length)
    service_tests = ServiceTests()
    register_notifications(service_tests, notifications)
    influxdb = build_influxdb(config, reactor, ids, userdb, bus)
    services = EngineServices(hostname=config.hostname, cluster_id=ids.cluster_id,
                              server_id=ids.server_id, bus=bus, topics=alerts,
                              notifications=notifications, influxdb=influxdb)
    tasks = build_task_runner(store, compile_workers, reactor, bus, services)
    services.task_errors.target = tasks.tasks
    pool = reactor.getThreadPool() if hasattr(reactor, "getThreadPool") else None
    replays = ReplayService(config.replay.dir, store, tasks, bus, reactor, pool)
    writes, write_pool = build_writes(config, reactor, bus, stats)
    tasks_api = TasksAPI(tasks)
    tasks_api.replays = replays
    areas: List[object] = [
        PingAPI(stats, routes),
        DebugVarsAPI(
            ids,
            config.hostname,
            stats,
            config.http.bind_address,
            bypass_auth=config.http.pprof_enabled,
            task_counts=lambda: task_counts(store),
            influxdb=influxdb,
        ),
        LogLevelAPI(log_control),
        StorageAPI(store),
        writes,
        tasks_api,
        TemplatesAPI(tasks),
        ReplaysAPI(replays),
        AlertsAPI(alerts),
        ConfigAPI(service_configs, enabled=config.config_override.enabled),
        ServiceTestsAPI(service_tests, reactor),
    ]
    if userdb is not None:
        areas.append(
            UsersAPI(userdb, workers, config.auth.bcrypt_cost, config.http.auth_enabled)
        )
    areas.extend(extra_areas)
    for area in areas:
        for route in area.routes():
            routes.add(route)
    root = KapacitorRoot(
        routes, guard, __version__, stats, cors_origins=config.http.cors_allowed_origins
    )
    return App(
        config=config,
        reactor=reactor,
        store=store,
        stats=stats,
        workers=workers,
        compile_workers=compile_workers,
        userdb=userdb,
        root=root,
        bcrypt_checker=bcrypt_checker,
        throttle=throttle,
        log_control=log_control,
        bus=bus,
        tasks=tasks,
        engine=tasks.master.engine,
        alerts=alerts,
        service_configs=service_configs,
        service_tests=service_tests,
        influxdb=influxdb,
        replays=replays,
        writes=writes,
        write_pool=write_pool,
    )


def build_writes(config: Config, reactor, bus, stats):
    """``/write`` and its parse worker processes (none when ``[http]
    write-workers = 0``, or on a reactor that cannot spawn them)."""
    parser = DaemonParser()
    pool = None
    count = worker_count(config.http.write_workers)
    if count > 0 and IReactorProcess.providedBy(reactor):
        pool = ParsePool(reactor, count, fallback=parser)
    writes = WriteAPI(bus, stats, config.default_retention_policy, config.http.max_body_size,
                      config.http.write_tracing, parser=pool or parser)
    return writes, pool


def build_influxdb(config: Config, reactor, ids, userdb, bus=None) -> InfluxDBService:
    """The ``[[influxdb]]`` clusters; subscription tokens need ``[http] auth-enabled``
    and a user store (``[auth] enabled``) to hold them; UDP subscriptions publish on ``bus``."""
    clusters = validate_influxdb(config.influxdb)
    use_tokens = config.http.auth_enabled and userdb is not None
    if config.http.auth_enabled and userdb is None and any(c.enabled for c in clusters):
        log.warn("[http] auth-enabled = true without [auth] enabled = true: InfluxDB "
                 "subscriptions get no token and their writes will be refused")
    tokens = SubscriptionTokens(userdb) if userdb is not None else OpenSubscriptions()
    return InfluxDBService(clusters, reactor, config.hostname, bind_port(config.http.bind_address),
                           ids, tokens, use_tokens, bus=bus)


def log_auth_mode(config: Config) -> None:
    http, auth = config.http, config.auth
    log.info(
        "authentication enabled={http_auth} users={users}",
        http_auth=str(http.auth_enabled).lower(),
        users=str(auth.enabled).lower(),
    )
    if http.auth_enabled and not auth.enabled:
        log.warn(
            "[http] auth-enabled = true with [auth] enabled = false: there is no user "
            "store, so usernames and passwords are refused; only Bearer tokens signed "
            "with [http] shared-secret are accepted (their user is treated as an admin)"
        )
        if not http.shared_secret:
            log.error(
                "no [http] shared-secret is set either: nobody can log in. Set "
                "[auth] enabled = true and create users, or set a shared secret"
            )
    if auth.enabled and auth.meta_addr:
        log.warn(
            "[auth] meta-addr = {addr} is ignored: kapacitord-tw has no InfluxDB "
            "Enterprise meta-server support; users come from the local store",
            addr=auth.meta_addr,
        )


class HTTPService(Service):
    """Listens on ``[http] bind-address``; stops gracefully."""

    def __init__(self, app: App, endpoint=None, ready=None):
        """``ready``: called before listening; its Deferred fires ``False`` to stay closed."""
        self._app = app
        self._ready = ready
        config = app.config
        self.site = KapacitorSite(
            app.root,
            app.stats,
            max_body_size=config.http.max_body_size,
            log_enabled=config.http.log_enabled,
            timeout=config.http.read_timeout / 1e9,
            reactor=app.reactor,
            log_control=app.log_control,
            header_timeout=config.http.read_header_timeout / 1e9,
            max_connections=config.http.max_connections,
        )
        self._endpoint = endpoint or make_endpoint(config, app.reactor)
        self.site.noisy = False
        self.port = None

    def startService(self):
        super().startService()
        d = defer.maybeDeferred(self._ready) if self._ready is not None else defer.succeed(True)
        d.addCallback(lambda go: self._endpoint.listen(self.site) if go else None)

        def listening(port):
            if port is None:  # start-up stopped before listening (and said why)
                return None
            self.port = port
            address = port.getHost()
            log.info(
                "Listening on HTTP addr={host}:{port} https={https}",
                host=address.host,
                port=address.port,
                https=self._app.config.http.https_enabled,
            )
            return port

        def failed(failure):
            log.failure("cannot listen on {addr}", failure, addr=self._app.config.http.bind_address)
            reactor = self._app.reactor
            if getattr(reactor, "running", False):
                reactor.stop()
            return None

        d.addCallbacks(listening, failed)
        self.listening = d

    @defer.inlineCallbacks
    def stopService(self):
        super().stopService()
        if self.port is not None:
            yield self.port.stopListening()
        timeout = self._app.config.http.shutdown_timeout / 1e9
        yield self.site.shutdown(timeout, self._app.reactor)


class SequentialMultiService(MultiService):
    """Stops children one at a time, last started first: the listener drains
    its requests before the worker pool and the store are closed."""

    @defer.inlineCallbacks
    def stopService(self):
        Service.stopService(self)
        for service in reversed(list(self)):
            try:
                yield defer.maybeDeferred(service.stopService)
            except Exception:
                log.failure("error stopping {service}", service=service)


class WarmupService(Service):
    """Prepares the unknown-user dummy hash so timing is equal from the start."""

    def __init__(self, checker):
        self._checker = checker

    def startService(self):
        super().startService()
        if self._checker is not None:
            self._checker.warm_up().addErrback(lambda f: log.failure("warm-up failed", f))


def make_endpoint(config: Config, reactor):
    http = config.http
    if http.https_enabled:
        from kapacitord_tw.config.tls import certificate_options

        host, _port = split_host_port(http.bind_address)
        return SSL4ServerEndpoint(
            reactor,
            bind_port(http.bind_address),
            certificate_options(http, config.tls),
            interface=resolve_interface(host),
        )
    return serverFromString(reactor, endpoint_description(http.bind_address))


def make_service(
    config: Config, reactor=None, endpoint=None, extra_areas=(), log_control=None
) -> MultiService:
    """The whole daemon as one service; opening the store may raise."""
    if reactor is None:
        from twisted.internet import reactor
    store = open_store(config, reactor)
    app = build_app(config, reactor, store, extra_areas=extra_areas, log_control=log_control)
    log_auth_mode(config)
    top = SequentialMultiService()
    top.app = app
    StoreService(app.store).setServiceParent(top)
    pools = [app.workers]
    if app.compile_workers is not app.workers:
        pools.append(app.compile_workers)
    for pool in pools:
        if isinstance(pool, Service):
            pool.setServiceParent(top)
    WarmupService(app.bcrypt_checker).setServiceParent(top)
    AlertServiceRunner(app.alerts).setServiceParent(top)
    # Before the tasks: stopped after them, so influxDBOut can flush its buffers.
    app.influxdb.setServiceParent(top)
    TaskMasterService(app.tasks).setServiceParent(top)
    # After the tasks: stopped before them and before the store closes.
    ReplayServiceRunner(app.replays).setServiceParent(top)
    load = config.load
    loader = (Loader(load.dir, app.tasks, app.store, handlers=LoadedHandlers(app.alerts))
              if load.enabled else None)
    load_service = LoadService(loader, reactor)
    load_service.setServiceParent(top)
    top.load = load_service
    if app.write_pool is not None:
        # Before the listener: stopped after it has drained its writes.
        app.write_pool.setServiceParent(top)
    http_service = HTTPService(app, endpoint, ready=load_service.ready)
    http_service.setServiceParent(top)
    top.http = http_service
    # Last, so stopped first: imports what start-up left out, once the listener is up.
    warmup = ImportWarmup(reactor, ready=lambda: http_service.listening)
    warmup.setServiceParent(top)
    top.warmup = warmup
    return top
