"""
Kapacitor's configuration as immutable attrs classes.

Every field carries the facts the loader needs to treat it the way
``kapacitord`` does: its TOML key, its Go field name (which appears in the
original's environment-override error messages) and its value kind.  The
environment variable of a field is derived from the TOML keys, as Kapacitor
derives it.
"""

from __future__ import annotations

import os
from typing import Iterator, Tuple

import attrs

#: Value kinds understood by the loader.
STRING = "string"
BOOL = "bool"
INT = "int"
DURATION = "duration"
STRING_LIST = "[]string"

SECOND = 1_000_000_000
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE


def setting(default, toml: str, go: str, kind: str, **kw):
    """An attrs field annotated with what the loader needs to know."""
    return attrs.field(
        default=default,
        metadata={"toml": toml, "go": go, "kind": kind},
        **kw,
    )


@attrs.frozen
class HTTPConfig:
    bind_address: str = setting(":9092", "bind-address", "BindAddress", STRING)
    auth_enabled: bool = setting(False, "auth-enabled", "AuthEnabled", BOOL)
    log_enabled: bool = setting(True, "log-enabled", "LogEnabled", BOOL)
    write_tracing: bool = setting(False, "write-tracing", "WriteTracing", BOOL)
    pprof_enabled: bool = setting(False, "pprof-enabled", "PprofEnabled", BOOL)
    https_enabled: bool = setting(False, "https-enabled", "HTTPSEnabled", BOOL)
    https_certificate: str = setting(
        "/etc/ssl/kapacitor.pem", "https-certificate", "HTTPSCertificate", STRING
    )
    https_private_key: str = setting(
        "", "https-private-key", "HTTPSPrivateKey", STRING
    )
    shutdown_timeout: int = setting(
        10 * SECOND, "shutdown-timeout", "ShutdownTimeout", DURATION
    )
    shared_secret: str = setting("", "shared-secret", "SharedSecret", STRING)
    # Extensions of kapacitord-tw (not in the original):
    max_body_size: int = setting(
        25 * 1024 * 1024, "max-body-size", "MaxBodySize", INT
    )
    read_timeout: int = setting(
        60 * SECOND, "read-timeout", "ReadTimeout", DURATION
    )
    # Go's ReadHeaderTimeout: a request's line and headers must be complete
    # this long after its first byte, or the connection is closed (0: none).
    read_header_timeout: int = setting(
        10 * SECOND, "read-header-timeout", "ReadHeaderTimeout", DURATION
    )
    # Open connections beyond this are closed as soon as they are accepted.
    max_connections: int = setting(1000, "max-connections", "MaxConnections", INT)
    # Origins that get CORS headers (with credentials); "*": any, without.
    cors_allowed_origins: Tuple[str, ...] = setting(
        (), "cors-allowed-origins", "CORSAllowedOrigins", STRING_LIST, converter=tuple
    )
    # Processes that inflate and parse /write bodies: -1, one per CPU but
    # one (at least one); 0, none (the daemon parses them itself).
    write_workers: int = setting(-1, "write-workers", "WriteWorkers", INT)


@attrs.frozen
class AuthConfig:
    enabled: bool = setting(False, "enabled", "Enabled", BOOL)
    cache_expiration: int = setting(
        0, "cache-expiration", "CacheExpiration", DURATION
    )
    bcrypt_cost: int = setting(0, "bcrypt-cost", "BcryptCost", INT)
    meta_addr: str = setting("", "meta-addr", "MetaAddr", STRING)
    meta_username: str = setting("", "meta-username", "MetaUsername", STRING)
    meta_password: str = setting("", "meta-password", "MetaPassword", STRING)
    meta_internal_shared_secret: str = setting(
        "", "meta-internal-shared-secret", "MetaInternalSharedSecret", STRING
    )
    meta_use_tls: bool = setting(False, "meta-use-tls", "MetaUseTLS", BOOL)
    meta_ca: str = setting("", "meta-ca", "MetaCA", STRING)
    meta_cert: str = setting("", "meta-cert", "MetaCert", STRING)
    meta_key: str = setting("", "meta-key", "MetaKey", STRING)
    meta_insecure_skip_verify: bool = setting(
        False, "meta-insecure-skip-verify", "MetaInsecureSkipVerify", BOOL
    )
    # Extensions of kapacitord-tw: login throttling and the bcrypt queue.
    login_failures_budget: int = setting(
        5, "login-failures-budget", "LoginFailuresBudget", INT
    )
    login_backoff_base: int = setting(
        1 * SECOND, "login-backoff-base", "LoginBackoffBase", DURATION
    )
    login_backoff_max: int = setting(
        5 * MINUTE, "login-backoff-max", "LoginBackoffMax", DURATION
    )
    login_tarpit: int = setting(1 * SECOND, "login-tarpit", "LoginTarpit", DURATION)
    login_throttle_entries: int = setting(
        100_000, "login-throttle-entries", "LoginThrottleEntries", INT
    )
    bcrypt_queue_size: int = setting(
        64, "bcrypt-queue-size", "BcryptQueueSize", INT
    )


@attrs.frozen
class StorageConfig:
    boltdb: str = setting("./kapacitor.db", "boltdb", "BoltDBPath", STRING)


@attrs.frozen
class LoadConfig:
    """``[load]``: tasks, templates and topic handlers read from files at start-up."""

    enabled: bool = setting(False, "enabled", "Enabled", BOOL)
    dir: str = setting("./load", "dir", "Dir", STRING)


@attrs.frozen
class ReplayConfig:
    """``[replay]``: the directory that holds recording files (``<id>.srpl``/``.brpl``)."""

    dir: str = setting("./replay", "dir", "Dir", STRING)


@attrs.frozen
class AlertConfig:
    """``[alert]``: whether topic event states are stored, and handler buffers."""

    persist_topics: bool = setting(True, "persist-topics", "PersistTopics", BOOL)
    topic_buffer_length: int = setting(5000, "topic-buffer-length", "TopicBufferLength", INT)


@attrs.frozen
class ConfigOverrideConfig:
    """``[config-override]``: whether ``/kapacitor/v1/config`` answers (403 when not)."""

    enabled: bool = setting(True, "enabled", "Enabled", BOOL)


def default_services() -> dict:
    """The notification sections' ``NewConfig()`` values, by section name.

    Imported at call time: :mod:`.services` imports this module.
    """
    from kapacitord_tw.config import services

    return {name: services.default_value(name) for name in services.SERVICE_SECTIONS}


@attrs.frozen
class LoggingConfig:
    file: str = setting("STDERR", "file", "File", STRING)
    level: str = setting("DEBUG", "level", "Level", STRING)


@attrs.frozen
class TLSConfig:
    ciphers: Tuple[str, ...] = setting(
        (), "ciphers", "Ciphers", STRING_LIST, converter=tuple
    )
    min_version: str = setting("", "min-version", "MinVersion", STRING)
    max_version: str = setting("", "max-version", "MaxVersion", STRING)


@attrs.frozen
class Config:
    hostname: str = setting("localhost", "hostname", "Hostname", STRING)
    data_dir: str = setting("", "data_dir", "DataDir", STRING)
    skip_config_overrides: bool = setting(
        False, "skip-config-overrides", "SkipConfigOverrides", BOOL
    )
    default_retention_policy: str = setting(
        "", "default-retention-policy", "DefaultRetentionPolicy", STRING
    )
    http: HTTPConfig = attrs.field(
        factory=HTTPConfig, metadata={"toml": "http", "section": True}
    )
    auth: AuthConfig = attrs.field(
        factory=AuthConfig, metadata={"toml": "auth", "section": True}
    )
    storage: StorageConfig = attrs.field(
        factory=StorageConfig, metadata={"toml": "storage", "section": True}
    )
    load: LoadConfig = attrs.field(
        factory=LoadConfig, metadata={"toml": "load", "section": True}
    )
    replay: ReplayConfig = attrs.field(
        factory=ReplayConfig, metadata={"toml": "replay", "section": True}
    )
    alert: AlertConfig = attrs.field(
        factory=AlertConfig, metadata={"toml": "alert", "section": True}
    )
    logging: LoggingConfig = attrs.field(
        factory=LoggingConfig, metadata={"toml": "logging", "section": True}
    )
    tls: TLSConfig = attrs.field(
        factory=TLSConfig, metadata={"toml": "tls", "section": True}
    )
    #: ``[[influxdb]]``: a tuple of config.influxdb.InfluxDBConfig (not a
    #: ``section``: the loader, validation and rendering treat the list apart).
    influxdb: tuple = attrs.field(
        factory=lambda: default_influxdb(), metadata={"toml": "influxdb", "list_section": True}
    )
    config_override: ConfigOverrideConfig = attrs.field(
        factory=ConfigOverrideConfig, metadata={"toml": "config-override", "section": True}
    )
    #: ``[smtp]``, ``[[slack]]``, ...: section name -> value (an attrs
    #: instance, or a tuple of them for a list section); see config/services.py.
    services: dict = attrs.field(factory=default_services, eq=True, hash=False)


def default_influxdb() -> tuple:
    """``server.NewConfig()``'s one ``[[influxdb]]`` element (imported at call
    time: :mod:`.influxdb` imports this module)."""
    from kapacitord_tw.config import influxdb

    return influxdb.default_list()


def builtin_config() -> Config:
    """``server.NewConfig()``: the base under a configuration file."""
    return Config()


def demo_config(home: str | None = None) -> Config:
    """``server.NewDemoConfig()``: paths under ``$HOME/.kapacitor``."""
    if home is None:
        home = os.path.expanduser("~")
    base = os.path.join(home, ".kapacitor")
    return attrs.evolve(
        Config(),
        data_dir=base,
        storage=StorageConfig(boltdb=os.path.join(base, "kapacitor.db")),
        load=LoadConfig(dir=os.path.join(base, "load")),
        replay=ReplayConfig(dir=os.path.join(base, "replay")),
    )


def sections(config: Config) -> Iterator[Tuple[str, object]]:
    """Yield ``(toml name, section object)`` for every ``[section]``."""
    for f in attrs.fields(type(config)):
        if f.metadata.get("section"):
            yield f.metadata["toml"], getattr(config, f.name)


def settings(obj) -> Iterator[attrs.Attribute]:
    """The scalar settings of a section (or of the top level)."""
    for f in attrs.fields(type(obj)):
        if "kind" in f.metadata:
            yield f


def env_name(section: str | None, toml_key: str) -> str:
    """Kapacitor's naming rule: ``KAPACITOR[_SECTION]_KEY``, ``-`` → ``_``."""
    parts = ["KAPACITOR"]
    if section:
        parts.append(section)
    parts.append(toml_key)
    return "_".join(p.replace("-", "_").upper() for p in parts)
