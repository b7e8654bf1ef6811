"""The ``[[influxdb]]`` list: the InfluxDB clusters Kapacitor subscribes to,
queries and writes to (upstream ``services/influxdb/config.go``).

One frozen :class:`InfluxDBConfig` per element, declared like the other
sections (TOML key, Go field name, kind, ``NewConfig()`` default).  This
module also holds what is special about a *list* section: decoding the
``[[influxdb]]`` array (each element starts from the defaults), the indexed
``KAPACITOR_INFLUXDB_<i>_*`` overrides, ``ApplyConditionalDefaults``, the
validation of the whole list with upstream's messages, and its rendering
for ``kapacitord config``.
"""

from __future__ import annotations

import re
from typing import Dict, List, Mapping, Optional, Tuple
from urllib.parse import urlsplit

import attrs

from kapacitord_tw import gocompat
from kapacitord_tw.config.model import (
    BOOL, DURATION, INT, MINUTE, STRING, STRING_LIST, setting,
)

#: Value kinds only this section uses.
STRING_LIST_MAP = "map[string][]string"   # subscriptions, excluded-subscriptions
SUBSCRIPTION_MODE = "influxdb.SubscriptionMode"  # "cluster" | "server"

DEFAULT_STARTUP_TIMEOUT = 5 * MINUTE
DEFAULT_SYNC_INTERVAL = 1 * MINUTE
DEFAULT_UDP_BUFFER = 1000
SUBSCRIPTION_MODES = ("cluster", "server")


def _tuple(v):
    return tuple(v or ())


def _rp_map(v) -> Tuple[Tuple[str, Tuple[str, ...]], ...]:
    """``db → [rp, ...]`` as a sorted, hashable tuple of pairs."""
    if isinstance(v, tuple):
        return v
    return tuple(sorted((str(db), tuple(rps)) for db, rps in dict(v or {}).items()))


@attrs.frozen
class InfluxDBConfig:
    """One ``[[influxdb]]`` element; defaults are upstream's ``NewConfig()``."""

    enabled: bool = setting(True, "enabled", "Enabled", BOOL)
    name: str = setting("default", "name", "Name", STRING)
    default: bool = setting(False, "default", "Default", BOOL)
    urls: Tuple[str, ...] = setting(("http://localhost:8086",), "urls", "URLs", STRING_LIST,
                                    converter=_tuple)
    username: str = setting("", "username", "Username", STRING)
    password: str = setting("", "password", "Password", STRING)
    token: str = setting("", "token", "Token", STRING)
    ssl_ca: str = setting("", "ssl-ca", "SSLCA", STRING)
    ssl_cert: str = setting("", "ssl-cert", "SSLCert", STRING)
    ssl_key: str = setting("", "ssl-key", "SSLKey", STRING)
    insecure_skip_verify: bool = setting(False, "insecure-skip-verify", "InsecureSkipVerify", BOOL)
    timeout: int = setting(0, "timeout", "Timeout", DURATION)
    disable_subscriptions: bool = setting(
        False, "disable-subscriptions", "DisableSubscriptions", BOOL)
    subscription_protocol: str = setting(
        "http", "subscription-protocol", "SubscriptionProtocol", STRING)
    subscription_mode: str = setting(
        "cluster", "subscription-mode", "SubscriptionMode", SUBSCRIPTION_MODE)
    subscriptions: tuple = setting((), "subscriptions", "Subscriptions", STRING_LIST_MAP,
                                   converter=_rp_map)
    excluded_subscriptions: tuple = setting(
        (("_kapacitor", ("autogen",)),), "excluded-subscriptions", "ExcludedSubscriptions",
        STRING_LIST_MAP, converter=_rp_map)
    kapacitor_hostname: str = setting("", "kapacitor-hostname", "KapacitorHostname", STRING)
    http_port: int = setting(0, "http-port", "HTTPPort", INT)
    udp_bind: str = setting("", "udp-bind", "UDPBind", STRING)
    udp_buffer: int = setting(DEFAULT_UDP_BUFFER, "udp-buffer", "UDPBuffer", INT)
    udp_read_buffer: int = setting(0, "udp-read-buffer", "UDPReadBuffer", INT)
    startup_timeout: int = setting(
        DEFAULT_STARTUP_TIMEOUT, "startup-timeout", "StartUpTimeout", DURATION)
    subscriptions_sync_interval: int = setting(
        DEFAULT_SYNC_INTERVAL, "subscriptions-sync-interval", "SubscriptionSyncInterval", DURATION)
    subscription_path: str = setting("", "subscription-path", "SubscriptionPath", STRING)
    compression: str = setting("gzip", "compression", "Compression", STRING)

    def subscription_map(self) -> Dict[str, Tuple[str, ...]]:
        return dict(self.subscriptions)

    def excluded_map(self) -> Dict[str, Tuple[str, ...]]:
        return dict(self.excluded_subscriptions)


def default_list() -> Tuple[InfluxDBConfig, ...]:
    """``server.NewConfig()`` has one enabled cluster, ``default``, at localhost:8086."""
    return (InfluxDBConfig(),)


def _fields():
    return [f for f in attrs.fields(InfluxDBConfig) if "kind" in f.metadata]


class InfluxDBConfigError(ValueError):
    """A problem in the ``[[influxdb]]`` list; the loader wraps it in its own error type."""


# --------------------------------------------------------------------- TOML

def _convert(index: int, field, value):
    kind = field.metadata["kind"]
    where = f"influxdb[{index}].{field.metadata['toml']}"

    def wrong(expected):
        return InfluxDBConfigError(
            f"toml: cannot load {where}: expected {expected}, got {type(value).__name__} {value!r}")

    if kind == STRING:
        if not isinstance(value, str):
            raise wrong("a string")
        return value
    if kind == BOOL:
        if not isinstance(value, bool):
            raise wrong("a boolean (true or false)")
        return value
    if kind == INT:
        if isinstance(value, bool) or not isinstance(value, int):
            raise wrong("an integer")
        return value
    if kind == DURATION:
        # Upstream's toml.Duration also takes a bare integer (nanoseconds): ``timeout = 0``.
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if not isinstance(value, str):
            raise wrong('a duration string such as "10s" or "1h30m"')
        try:
            return gocompat.parse_duration(value)
        except ValueError as e:
            raise InfluxDBConfigError(f"toml: cannot load {where}: {e}") from None
    if kind == STRING_LIST:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise wrong("a list of strings")
        return tuple(value)
    if kind == STRING_LIST_MAP:
        if not isinstance(value, dict) or not all(
                isinstance(v, list) and all(isinstance(x, str) for x in v) for v in value.values()):
            raise wrong("a table of database = [retention policies]")
        return _rp_map(value)
    if kind == SUBSCRIPTION_MODE:
        if not isinstance(value, str) or value not in SUBSCRIPTION_MODES:
            raise InfluxDBConfigError(f"unknown subscription mode {gocompat.go_quote(str(value))}")
        return value
    raise AssertionError(kind)


def parse_list(value, warnings: List[str]) -> Tuple[InfluxDBConfig, ...]:
    """The ``[[influxdb]]`` array of a file; unknown keys become warnings.

    Every element starts from ``NewConfig()``'s defaults (Kapacitor's TOML
    decoder zeroes all of them once there are two or more elements)."""
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise InfluxDBConfigError("toml: cannot load influxdb: expected [[influxdb]] tables")
    by_key = {f.metadata["toml"]: f for f in _fields()}
    out = []
    for index, table in enumerate(value):
        changes = {}
        for key, raw in table.items():
            field = by_key.get(key)
            if field is None:
                warnings.append(f"unknown configuration key [[influxdb]] {key} ignored")
                continue
            changes[field.name] = _convert(index, field, raw)
        out.append(attrs.evolve(InfluxDBConfig(), **changes))
    return tuple(out)


# -------------------------------------------------------------- environment

def _parse_env(env: str, field, value: str):
    kind = field.metadata["kind"]
    go_name = field.metadata["go"]

    def failed(gotype):
        return InfluxDBConfigError(
            f"failed to apply {env} to {go_name} using type {gotype} and value '{value}'")

    if kind == STRING:
        return value
    if kind == BOOL:
        try:
            return gocompat.parse_bool(value)
        except ValueError:
            raise failed("bool") from None
    if kind == INT:
        try:
            return gocompat.parse_int(value, 64)
        except ValueError:
            raise failed("int") from None
    if kind == DURATION:
        try:
            return gocompat.parse_duration(value)
        except ValueError as e:
            raise InfluxDBConfigError(f"failed to unmarshal env var: {e}") from None
    if kind == SUBSCRIPTION_MODE:
        if value not in SUBSCRIPTION_MODES:
            raise InfluxDBConfigError(
                f"failed to unmarshal env var: unknown subscription mode {gocompat.go_quote(value)}")
        return value
    raise AssertionError(kind)


_ENV = re.compile(r"^KAPACITOR_INFLUXDB_(\d+)_(.+)$")


def apply_env(clusters: Tuple[InfluxDBConfig, ...], environ: Mapping[str, str],
              warnings: List[str]) -> Tuple[Tuple[InfluxDBConfig, ...], set]:
    """``KAPACITOR_INFLUXDB_<i>_<KEY>`` for existing elements ``i``.

    Lists take ``..._URLS_<j>`` for an existing entry ``j``, or
    ``..._URLS`` as a comma-separated list; maps take ``..._SUBSCRIPTIONS_<db>``
    as a comma-separated list of retention policies.  Returns the new list
    and the variable names it consumed (the loader warns about the rest).
    """
    names = {f.metadata["toml"].replace("-", "_").upper(): f for f in _fields()}
    used = set()
    result = list(clusters)
    for env in sorted(environ):
        value = environ[env]
        m = _ENV.match(env)
        if not m or not value:
            continue
        index, rest = int(m.group(1)), m.group(2)
        if index >= len(result):
            continue  # only existing elements, as in Kapacitor
        cluster = result[index]
        field = names.get(rest)
        if field is not None:
            kind = field.metadata["kind"]
            if kind == STRING_LIST:
                parsed = tuple(v for v in value.split(",") if v)
            elif kind == STRING_LIST_MAP:
                continue
            else:
                parsed = _parse_env(env, field, value)
            result[index] = attrs.evolve(cluster, **{field.name: parsed})
            used.add(env)
            continue
        for key, field in names.items():
            kind = field.metadata["kind"]
            if not rest.startswith(key + "_") or kind not in (STRING_LIST, STRING_LIST_MAP):
                continue
            sub = rest[len(key) + 1:]
            current = getattr(cluster, field.name)
            if kind == STRING_LIST:
                if not sub.isdigit() or int(sub) >= len(current):
                    break
                items = list(current)
                items[int(sub)] = value
                result[index] = attrs.evolve(cluster, **{field.name: tuple(items)})
            else:
                mapping = dict(current)
                mapping[sub] = tuple(v for v in value.split(",") if v)
                result[index] = attrs.evolve(cluster, **{field.name: mapping})
            used.add(env)
            break
    return tuple(result), used


# --------------------------------------------------------------- validation

def apply_conditional_defaults(c: InfluxDBConfig) -> InfluxDBConfig:
    """``ApplyConditionalDefaults``: zero values that mean "the default"."""
    return attrs.evolve(
        c,
        udp_buffer=c.udp_buffer or DEFAULT_UDP_BUFFER,
        startup_timeout=c.startup_timeout or DEFAULT_STARTUP_TIMEOUT,
        subscription_protocol=c.subscription_protocol or "http",
        subscriptions_sync_interval=c.subscriptions_sync_interval or DEFAULT_SYNC_INTERVAL,
        compression=c.compression or "gzip",
    )


def _valid_name(name: str) -> bool:
    # Go's ``^[-\._\p{L}0-9]+$``: letters of any script, ASCII digits only.
    return bool(name) and all(ch in "-._" or ch.isalpha() or ch in "0123456789" for ch in name)


def _check_tls(c: InfluxDBConfig) -> None:
    """``getTLSConfig``: cert and key together, every file readable."""
    if c.ssl_cert and c.ssl_key:
        for path in (c.ssl_cert, c.ssl_key):
            try:
                with open(path, "rb"):
                    pass
            except OSError as e:
                raise InfluxDBConfigError(
                    f"Could not load TLS client key/certificate: open {path}: "
                    f"{(e.strerror or str(e)).lower()}") from None
    elif c.ssl_cert:
        raise InfluxDBConfigError("Must provide both key and cert files: only cert file provided.")
    elif c.ssl_key:
        raise InfluxDBConfigError("Must provide both key and cert files: only key file provided.")
    if c.ssl_ca:
        try:
            with open(c.ssl_ca, "rb"):
                pass
        except OSError as e:
            raise InfluxDBConfigError(
                f"Could not load TLS CA: open {c.ssl_ca}: {(e.strerror or str(e)).lower()}") from None


def validate_one(c: InfluxDBConfig) -> None:
    """``Config.Validate`` (messages unprefixed, as upstream's)."""
    if not c.name:
        raise InfluxDBConfigError("influxdb cluster must be given a name")
    if not _valid_name(c.name):
        raise InfluxDBConfigError(
            "influxdb cluster name must contain only numbers, letters or '.', '-', and '_' characters")
    if not c.urls:
        raise InfluxDBConfigError("must specify at least one InfluxDB URL")
    for u in c.urls:
        try:
            parts = urlsplit(u)
            parts.port  # noqa: B018 - raises on a bad port
        except ValueError as e:
            raise InfluxDBConfigError(f"parse {gocompat.go_quote(u)}: {e}") from None
        if parts.scheme not in ("http", "https"):
            # Upstream fails here when the client is created, at start-up.
            raise InfluxDBConfigError(
                f"Unsupported protocol scheme: {parts.scheme}, your address must start with "
                "http:// or https://")
        _check_tls(c)
    if c.subscription_protocol not in ("http", "https", "udp"):
        # Upstream appends the whole config (%v, password included): not here.
        raise InfluxDBConfigError(
            "invalid subscription protocol, must be one of 'udp', 'http' or 'https', got "
            f"{gocompat.go_quote(c.subscription_protocol)}")
    if c.compression not in ("gzip", "none"):
        raise InfluxDBConfigError(
            f"Invalid compression, must be one of 'gzip' or 'none', got {c.compression}")
    if c.http_port < 0 or c.http_port > 65535:
        raise InfluxDBConfigError(f"invalid http-port {c.http_port}: out of range")
    if c.timeout < 0:
        raise InfluxDBConfigError(
            f"timeout must not be negative, got {gocompat.format_duration(c.timeout)}")


def validate_list(clusters: Tuple[InfluxDBConfig, ...]) -> Tuple[InfluxDBConfig, ...]:
    """``server.Config.Validate``'s InfluxDB part; returns the list with conditional defaults."""
    names = set()
    default = None
    enabled = 0
    out = []
    for c in clusters:
        c = apply_conditional_defaults(c)
        out.append(c)
        if c.name in names:
            raise InfluxDBConfigError(f"duplicate name {gocompat.go_quote(c.name)} for influxdb configs")
        names.add(c.name)
        validate_one(c)
        if c.enabled and c.default:
            if default is not None:
                raise InfluxDBConfigError(
                    f"More than one InfluxDB default was specified: {c.name} {default.name}")
            default = c
        if c.enabled:
            enabled += 1
    if enabled > 1 and default is None:
        raise InfluxDBConfigError(
            "at least one of the enabled InfluxDB clusters must be marked as default.")
    return tuple(out)


def default_cluster(clusters) -> Optional[InfluxDBConfig]:
    """The default enabled cluster: the one marked ``default``, else the only enabled one."""
    enabled = [c for c in clusters if c.enabled]
    for c in enabled:
        if c.default:
            return c
    return enabled[0] if len(enabled) == 1 else None


# ---------------------------------------------------------------- rendering

def _string(value: str) -> str:
    import json

    return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")


def _render_value(field, value) -> str:
    kind = field.metadata["kind"]
    if kind == BOOL:
        return "true" if value else "false"
    if kind == INT:
        return str(value)
    if kind == DURATION:
        return _string(gocompat.format_duration(value))
    if kind == STRING_LIST:
        return "[" + ", ".join(_string(v) for v in value) + "]"
    return _string(value)


def _bare_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else _string(key)


def render_list(clusters: Tuple[InfluxDBConfig, ...]) -> List[str]:
    """``[[influxdb]]`` blocks for ``kapacitord config`` (password included, as
    upstream prints it: the output is meant to become the config file)."""
    out: List[str] = []
    for c in clusters:
        out.append("")
        out.append("[[influxdb]]")
        tables = []
        for f in _fields():
            if f.metadata["kind"] == STRING_LIST_MAP:
                tables.append(f)
                continue
            out.append(f"  {f.metadata['toml']} = {_render_value(f, getattr(c, f.name))}")
        for f in tables:
            out.append(f"  [influxdb.{f.metadata['toml']}]")
            for db, rps in getattr(c, f.name):
                out.append(f"    {_bare_key(db)} = [" + ", ".join(_string(r) for r in rps) + "]")
    return out
