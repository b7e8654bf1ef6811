"""
Loading Kapacitor's configuration: file search, TOML, ``KAPACITOR_*``
environment overrides, command-line flags and validation.

The precedence and the messages follow ``kapacitord`` (reference §4); the
deliberate improvements (warnings for unknown keys and variables, the
``KAPACITOR_AUTH_BCRYPT`` alias, a helpful message for ``key: value``) are
documented in the README.
"""

from __future__ import annotations

import os
import re
import tomllib
from typing import Dict, List, Mapping, Optional, Tuple

import attrs

from kapacitord_tw import gocompat
from kapacitord_tw.config import influxdb as influxdb_config
from kapacitord_tw.config import model, servicevalues
from kapacitord_tw.config.netaddr import split_host_port

GENERATE_HINT = (
    "To generate a valid configuration file run "
    "`kapacitord config > kapacitor.generated.conf`."
)

#: Sections of the original's configuration that this daemon does not
#: implement.  They are accepted and ignored with one warning each, so an
#: existing ``kapacitor.conf`` starts without a warning per key.
UNSUPPORTED_SECTIONS = frozenset(
    """
    azure consul collectd deadman dns ec2 file-discovery fluxtask gce
    hipchat kafka kubernetes marathon nerve opentsdb
    reporting scraper serverset snmptrap sideload static-discovery stats
    swarm talk task triton udf udp
    """.split()
)

#: ``KAPACITOR_*`` variables that are not configuration fields.
NON_FIELD_VARIABLES = frozenset(
    {"KAPACITOR_CONFIG_PATH", "KAPACITOR_URL", "KAPACITOR_UNSAFE_SSL"}
)

#: The public docs' spelling (reference §4.3, §11), accepted as an alias.
BCRYPT_ALIAS = "KAPACITOR_AUTH_BCRYPT"


class ConfigError(Exception):
    """A configuration problem; ``str()`` is the text after ``run: ``."""


class ParseError(ConfigError):
    """The file could not be read or decoded (``parse config: ...``)."""


class EnvError(ConfigError):
    """An environment override could not be applied."""


class ValidationError(ConfigError):
    """The merged configuration is invalid."""


@attrs.frozen
class Loaded:
    """A configuration and what happened while loading it."""

    config: model.Config
    path: Optional[str]
    warnings: Tuple[str, ...] = ()


def find_config_path(
    flag: Optional[str], environ: Mapping[str, str], home: Optional[str] = None
) -> Optional[str]:
    """``FindConfigPath``: flag, ``$KAPACITOR_CONFIG_PATH``, then two files."""
    if flag:
        return None if flag == os.devnull else flag
    env_path = environ.get("KAPACITOR_CONFIG_PATH", "")
    if env_path:
        return env_path
    if home is None:
        home = os.path.expanduser("~")
    for candidate in (
        os.path.join(home, ".kapacitor", "kapacitor.conf"),
        "/etc/kapacitor/kapacitor.conf",
    ):
        try:
            if os.path.getsize(candidate) > 0:
                return candidate
        except OSError:
            continue
    return None


# ---------------------------------------------------------------- TOML file

_COLON_KEY = re.compile(r"^\s*([A-Za-z0-9_.\-\"']+)\s*:\s*(.*?)\s*$")
_AT_LINE = re.compile(r"\(at line (\d+), column (\d+)\)")


def _explain_toml_error(path: str, text: str, err: tomllib.TOMLDecodeError) -> str:
    message = str(err)
    found = _AT_LINE.search(message)
    if not found:
        return f"{path}: {message}"
    line_no = int(found.group(1))
    lines = text.splitlines()
    line = lines[line_no - 1] if 0 < line_no <= len(lines) else ""
    colon = _COLON_KEY.match(line)
    if colon:
        key, value = colon.group(1), colon.group(2)
        return (
            f"{path}: line {line_no}: {line.strip()!r} is not valid TOML: "
            f"settings are written with '=', not ':' "
            f"(write {key} = {value}) [{message}]"
        )
    return f"{path}: line {line_no}: {message}"


def _convert_toml_value(section: Optional[str], field, value):
    kind = field.metadata["kind"]
    key = field.metadata["toml"]
    where = f"{section}.{key}" if section else key

    def wrong(expected):
        return ParseError(
            f"toml: cannot load {where}: expected {expected}, got {type(value).__name__} {value!r}"
        )

    if kind == model.STRING:
        if not isinstance(value, str):
            raise wrong("a string")
        return value
    if kind == model.BOOL:
        if not isinstance(value, bool):
            raise wrong("a boolean (true or false)")
        return value
    if kind == model.INT:
        if isinstance(value, bool) or not isinstance(value, int):
            raise wrong("an integer")
        return value
    if kind == model.DURATION:
        if not isinstance(value, str):
            raise wrong('a duration string such as "10s" or "1h30m"')
        try:
            return gocompat.parse_duration(value)
        except ValueError as e:
            raise ParseError(f"toml: cannot load {where}: {e}") from None
    if kind == model.STRING_LIST:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise wrong("a list of strings")
        return tuple(value)
    raise AssertionError(kind)


def _apply_table(obj, table: dict, section: Optional[str], warnings: List[str]):
    by_key = {f.metadata["toml"]: f for f in model.settings(obj)}
    changes = {}
    for key, value in table.items():
        field = by_key.get(key)
        if field is None:
            where = f"[{section}] {key}" if section else key
            warnings.append(f"unknown configuration key {where} ignored")
            continue
        changes[field.name] = _convert_toml_value(section, field, value)
    return attrs.evolve(obj, **changes)


def parse_text(text: str, base: model.Config, path: str = "<config>") -> Loaded:
    """Decode TOML text on top of ``base``; unknown keys become warnings."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ParseError(_explain_toml_error(path, text, e)) from None
    warnings: List[str] = []
    section_fields = {name: obj for name, obj in model.sections(base)}
    top = {}
    changes = {}
    service_changes = {}
    for key, value in data.items():
        if key == "influxdb":
            try:
                changes["influxdb"] = influxdb_config.parse_list(value, warnings)
            except influxdb_config.InfluxDBConfigError as e:
                raise ParseError(str(e)) from None
        elif key in section_fields:
            if not isinstance(value, dict):
                raise ParseError(f"toml: cannot load {key}: expected a [{key}] table")
            changes[key.replace("-", "_")] = _apply_table(section_fields[key], value, key, warnings)
        elif key in base.services:
            try:
                service_changes[key] = servicevalues.section_from_toml(
                    key, base.services[key], value, warnings)
            except servicevalues.ValueProblem as e:
                raise ParseError(str(e)) from None
        elif key in UNSUPPORTED_SECTIONS or key.replace("_", "-") in UNSUPPORTED_SECTIONS:
            warnings.append(
                f"configuration section [{key}] is not supported by kapacitord-tw and is ignored"
            )
        elif isinstance(value, (dict, list)) and not _is_setting(base, key):
            warnings.append(f"unknown configuration section [{key}] ignored")
        else:
            top[key] = value
    config = _apply_table(base, top, None, warnings)
    config = attrs.evolve(config, **changes)
    if service_changes:
        config = attrs.evolve(config, services={**config.services, **service_changes})
    return Loaded(config=config, path=path, warnings=tuple(warnings))


def _is_setting(obj, key: str) -> bool:
    return any(f.metadata["toml"] == key for f in model.settings(obj))


def parse_file(path: str, base: model.Config) -> Loaded:
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise ParseError(f"open {path}: {e.strerror.lower() if e.strerror else e}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ParseError(f"{path}: not valid UTF-8 at byte {e.start}") from None
    return parse_text(text, base, path)


# ------------------------------------------------------------- environment

def _env_fields(config: model.Config) -> Dict[str, Tuple[Optional[str], attrs.Attribute]]:
    table = {}
    for f in model.settings(config):
        table[model.env_name(None, f.metadata["toml"])] = (None, f)
    for name, section in model.sections(config):
        for f in model.settings(section):
            table[model.env_name(name, f.metadata["toml"])] = (name, f)
    return table


def _parse_env_value(env: str, field, value: str):
    kind = field.metadata["kind"]
    go_name = field.metadata["go"]

    def failed(gotype):
        return EnvError(
            f"failed to apply {env} to {go_name} using type {gotype} and value '{value}'"
        )

    if kind == model.STRING:
        return value
    if kind == model.BOOL:
        try:
            return gocompat.parse_bool(value)
        except ValueError:
            raise failed("bool") from None
    if kind == model.INT:
        try:
            return gocompat.parse_int(value, 64)
        except ValueError:
            raise failed("int") from None
    if kind == model.DURATION:
        try:
            return gocompat.parse_duration(value)
        except ValueError as e:
            raise EnvError(f"failed to unmarshal env var: {e}") from None
    if kind == model.STRING_LIST:
        return tuple(v for v in value.split(",") if v)
    raise AssertionError(kind)


def apply_env(config: model.Config, environ: Mapping[str, str]) -> Loaded:
    """``ApplyEnvOverrides``: empty values are ignored, unknown ones warned."""
    fields = _env_fields(config)
    warnings: List[str] = []
    values = {k: v for k, v in environ.items() if k.startswith("KAPACITOR_") and v}
    if BCRYPT_ALIAS in values:
        canonical = model.env_name("auth", "bcrypt-cost")
        if canonical in values:
            warnings.append(
                f"{BCRYPT_ALIAS} ignored because {canonical} is also set"
            )
            del values[BCRYPT_ALIAS]
        else:
            # Parsed under its own name, so an error names what was set.
            fields[BCRYPT_ALIAS] = fields[canonical]
    top_changes = {}
    section_changes: Dict[str, dict] = {}
    new_services, handled = _apply_service_env(config.services, values)
    if handled:
        top_changes["services"] = new_services
    try:
        clusters, handled_influxdb = influxdb_config.apply_env(config.influxdb, values, warnings)
    except influxdb_config.InfluxDBConfigError as e:
        raise EnvError(str(e)) from None
    if handled_influxdb:
        top_changes["influxdb"] = clusters
    for env in sorted(values):
        if env in NON_FIELD_VARIABLES or env in handled or env in handled_influxdb:
            continue
        entry = fields.get(env)
        if entry is None:
            prefix = env[len("KAPACITOR_"):].lower()
            unsupported = any(
                prefix.startswith(s.replace("-", "_") + "_") for s in UNSUPPORTED_SECTIONS
            )
            warnings.append(
                f"environment variable {env} ignored: "
                + ("its section is not supported by kapacitord-tw" if unsupported
                   else "it names no configuration key")
            )
            continue
        section, field = entry
        parsed = _parse_env_value(env, field, values[env])
        if section is None:
            top_changes[field.name] = parsed
        else:
            section_changes.setdefault(section, {})[field.name] = parsed
    for name, obj in model.sections(config):
        if name in section_changes:
            top_changes[name.replace("-", "_")] = attrs.evolve(obj, **section_changes[name])
    return Loaded(
        config=attrs.evolve(config, **top_changes), path=None, warnings=tuple(warnings)
    )


def _apply_service_env(current: dict, values: Mapping[str, str]):
    """``KAPACITOR_SMTP_HOST``, ``KAPACITOR_HTTPPOST_0_URL``,
    ``KAPACITOR_HTTPPOST_0_HEADERS_<name>``: (new sections, names used)."""
    table = servicevalues.env_fields(current)
    maps = list(servicevalues.map_fields(current))
    result = dict(current)
    handled = set()
    for env in sorted(values):
        entry = table.get(env)
        if entry is not None:
            name, index, field, sub = entry
            if sub is None:
                parsed = _parse_env_value(env, field, values[env])
            else:
                auth = servicevalues.option_of(result[name], index, field)
                parsed = attrs.evolve(auth, **{sub: values[env]})
            result[name] = servicevalues.with_option(name, result[name], index, field, parsed)
            handled.add(env)
            continue
        for prefix, name, index, field in maps:
            if env.startswith(prefix) and len(env) > len(prefix):
                # Go keeps the key as written after the prefix.
                key = env[len(prefix):]
                headers = dict(servicevalues.option_of(result[name], index, field))
                headers[key] = values[env]
                result[name] = servicevalues.with_option(name, result[name], index, field, headers)
                handled.add(env)
                break
    return result, handled


def apply_flags(
    config: model.Config,
    hostname: Optional[str] = None,
    log_file: Optional[str] = None,
    log_level: Optional[str] = None,
) -> model.Config:
    """``-hostname``, ``-log-file`` and ``-log-level`` override the config."""
    if hostname:
        config = attrs.evolve(config, hostname=hostname)
    logging = config.logging
    if log_file:
        logging = attrs.evolve(logging, file=log_file)
    if log_level:
        logging = attrs.evolve(logging, level=log_level)
    return attrs.evolve(config, logging=logging)


# --------------------------------------------------------------- validation

_TLS_VERSIONS = {"tls1.1": "TLS1.1", "tls1.2": "TLS1.2", "tls1.3": "TLS1.3"}
_DEPRECATED_TLS = {"tls1.0", "ssl3.0", "1.0"}


def normalise_tls_version(value: str) -> Optional[str]:
    """``"1.2"``/``"TLS1.2"``/``""`` → ``"TLS1.2"``/``None``; raise on others."""
    if not value:
        return None
    low = value.lower()
    if not low.startswith("tls"):
        low = "tls" + low
    if low in _TLS_VERSIONS:
        return _TLS_VERSIONS[low]
    if low in _DEPRECATED_TLS or value.lower() in _DEPRECATED_TLS:
        raise ValidationError(
            f"tls: deprecated tls version: {gocompat.go_quote(value)}. "
            "available versions: TLS1.1, TLS1.2, TLS1.3"
        )
    raise ValidationError(
        f"tls: unknown tls version: {gocompat.go_quote(value)}. "
        "available versions: TLS1.1, TLS1.2, TLS1.3"
    )


def _validate_http(http: model.HTTPConfig) -> None:
    addr = http.bind_address
    try:
        _host, port = split_host_port(addr)
    except ValueError as e:
        raise ValidationError(f"http: invalid http bind address {addr}: {e}") from None
    if port == "":
        # Deliberate fix (reference §10 #21): Go lets this through and binds
        # a random port, which nobody can find.
        raise ValidationError(
            f"http: invalid http bind address {addr}: missing port number "
            f"(write {addr}9092, or {addr}0 for a random port)"
        )
    try:
        number = gocompat.parse_int10(port, 64)  # base 10, like Go's check
    except ValueError as e:
        raise ValidationError(f"http: invalid http bind address port {port}: {e}") from None
    if number < 0 or number > 65535:
        raise ValidationError(f"http: invalid http bind address port {number}: out of range")
    if http.max_body_size <= 0:
        raise ValidationError(
            f"http: max-body-size must be positive, got {http.max_body_size}"
        )
    if http.max_connections < 1:
        raise ValidationError(
            f"http: max-connections must be >= 1, got {http.max_connections}"
        )
    if http.write_workers < -1:
        raise ValidationError(
            "http: write-workers must be -1 (one per CPU but one), 0 (parse in the daemon) or a "
            f"number of processes, got {http.write_workers}"
        )
    if http.read_header_timeout < 0:
        raise ValidationError(
            "http: read-header-timeout must not be negative, got "
            + gocompat.format_duration(http.read_header_timeout)
        )


def _validate_load(load: model.LoadConfig) -> None:
    """``load.Config.Validate``: its message has no section prefix, as in Kapacitor."""
    if load.enabled and not os.path.isabs(load.dir):
        raise ValidationError("dir must be an absolute path")


def validate(config: model.Config) -> None:
    """Kapacitor's validation order; raises ValidationError(message)."""
    if not config.hostname:
        raise ValidationError("must configure valid hostname")
    if not config.data_dir:
        raise ValidationError("must configure valid data dir")
    if not config.replay.dir:
        raise ValidationError("replay: must specify dir")
    auth = config.auth
    if auth.enabled:
        if auth.bcrypt_cost < 4:
            raise ValidationError(
                f"auth: must provide a bcrypt cost >= 4, got {auth.bcrypt_cost}"
            )
        if auth.bcrypt_cost > 31:
            raise ValidationError(
                f"auth: must provide a bcrypt cost <= 31, got {auth.bcrypt_cost}"
            )
    if auth.login_failures_budget < 1:
        raise ValidationError(
            f"auth: login-failures-budget must be >= 1, got {auth.login_failures_budget}"
        )
    if auth.bcrypt_queue_size < 1:
        raise ValidationError(
            f"auth: bcrypt-queue-size must be >= 1, got {auth.bcrypt_queue_size}"
        )
    if not config.storage.boltdb:
        raise ValidationError("storage: must specify storage 'boltdb' path")
    _validate_http(config.http)
    from kapacitord_tw.config.tls import validate_ciphers

    # tlsconfig.Parse's order: ciphers, then min-version, then max-version.
    validate_ciphers(config.tls.ciphers)
    normalise_tls_version(config.tls.min_version)
    normalise_tls_version(config.tls.max_version)
    _validate_load(config.load)
    try:
        influxdb_config.validate_list(config.influxdb)
    except influxdb_config.InfluxDBConfigError as e:
        raise ValidationError(str(e)) from None
    try:
        servicevalues.validate_all(config.services)
    except servicevalues.ValueProblem as e:
        raise ValidationError(str(e)) from None


def invalid_configuration(err: ValidationError) -> str:
    return f"invalid configuration: {err}. {GENERATE_HINT}"


def load(
    config_flag: Optional[str],
    environ: Mapping[str, str],
    home: Optional[str] = None,
    for_config_command: bool = False,
) -> Loaded:
    """File (or the demo defaults) → env overrides; not yet validated.

    ``kapacitord run`` decodes a file over the built-in defaults;
    ``kapacitord config`` always starts from the demo defaults.
    """
    path = find_config_path(config_flag, environ, home)
    warnings: List[str] = []
    if path is None:
        config = model.demo_config(home)
    else:
        base = model.demo_config(home) if for_config_command else model.builtin_config()
        loaded = parse_file(path, base)
        config = loaded.config
        warnings.extend(loaded.warnings)
    env = apply_env(config, environ)
    warnings.extend(env.warnings)
    return Loaded(config=env.config, path=path, warnings=tuple(warnings))
