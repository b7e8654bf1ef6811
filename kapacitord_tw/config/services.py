"""The notification services' configuration sections (``[slack]``, ``[smtp]``, ...).

One frozen attrs class per section, its fields declared with
:func:`~kapacitord_tw.config.model.setting` exactly as upstream's
``services/<name>/config.go`` declares them: the TOML key, the Go field name,
the value kind and the default of ``NewConfig()``.  Fields upstream tags
``override:",redact"`` carry ``metadata["redact"] = True``: the config API
shows them only as ``true``/``false`` (set or not), and nothing logs them.

:data:`SERVICE_SECTIONS` names every section in Kapacitor's order with its
class, whether it is a list section (``[[mqtt]]``, ``[[httppost]]``,
``[[slack]]``, ``[[discord]]``) and the key that names an element of a list.
:func:`validate` gives each section's ``Validate()`` errors with upstream's
words.  This module only depends on :mod:`.model`, never the reverse.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Dict, Optional, Set, Tuple
from urllib.parse import urlsplit

import attrs

from kapacitord_tw.config.model import (
    BOOL, DURATION, INT, SECOND, STRING, STRING_LIST, setting,
)

#: Value kinds only these sections use.
STRING_MAP = "map[string]string"      # httppost headers
BASIC_AUTH = "httppost.BasicAuth"     # {username, password}
SEVERITY_MAP = "zenoss.SeverityMap"   # {OK, Info, Warning, Critical}: string or number

__all__ = ["SERVICE_SECTIONS", "BasicAuth", "SeverityMap", "redacted", "validate",
           "default_value", "STRING_MAP", "BASIC_AUTH", "SEVERITY_MAP"]


def secret(default, toml: str, go: str, kind: str, **kw):
    """A setting upstream marks ``override:",redact"``."""
    field = setting(default, toml, go, kind, **kw)
    field.metadata = {**field.metadata, "redact": True}
    return field


def _tuple(v):
    return tuple(v or ())


def _dict(v):
    return dict(v or {})


@attrs.frozen
class BasicAuth:
    username: str = setting("", "username", "Username", STRING)
    password: str = setting("", "password", "Password", STRING)

    def valid(self) -> bool:
        return bool(self.username and self.password)


def _basic_auth(v) -> BasicAuth:
    if isinstance(v, BasicAuth):
        return v
    v = v or {}
    return BasicAuth(username=v.get("username", ""), password=v.get("password", ""))


@attrs.frozen
class SeverityMap:
    """Zenoss severities per level (each a string or a number, as upstream allows)."""

    ok: object = setting("Clear", "OK", "OK", STRING)
    info: object = setting("Info", "Info", "Info", STRING)
    warning: object = setting("Warning", "Warning", "Warning", STRING)
    critical: object = setting("Critical", "Critical", "Critical", STRING)


def _severity_map(v) -> SeverityMap:
    if isinstance(v, SeverityMap):
        return v
    v = v or {}
    get = lambda *keys, d: next((v[k] for k in keys if k in v), d)  # noqa: E731
    return SeverityMap(ok=get("OK", "ok", d="Clear"), info=get("Info", "info", d="Info"),
                       warning=get("Warning", "warning", d="Warning"),
                       critical=get("Critical", "critical", d="Critical"))


# ------------------------------------------------------------------ sections

@attrs.frozen
class SMTPConfig:
    enabled: bool = setting(False, "enabled", "Enabled", BOOL)
    host: str = setting("localhost", "host", "Host", STRING)
    port: int = setting(25, "port", "Port", INT)
    username: str = setting("", "username", "Username", STRING)
    password: str = secret("", "password", "Password", STRING)
    no_verify: bool = setting(False, "no-verify", "NoVerify", BOOL)
    global_: bool = setting(False, "global", "Global", BOOL)
    state_changes_only: bool = setting(False, "state-changes-only", "StateChangesOnly", BOOL)
    from_: str = setting("", "from", "From", STRING)
    to: Tuple[str, ...] = setting((), "to", "To", STRING_LIST, converter=_tuple)
    to_templates: Tuple[str, ...] = setting(
        (), "toTemplates", "ToTemplates", STRING_LIST, converter=_tuple)
    idle_timeout: int = setting(30 * SECOND, "idle-timeout", "IdleTimeout", DURATION)


@attrs.frozen
class SlackConfig:
    enabled: bool = setting(False, "enabled", "Enabled", BOOL)
    default: bool = setting(False, "default", "Default", BOOL)
    workspace: str = setting("", "workspace", "Workspace", STRING)
    url: str = secret("", "url", "URL", STRING)
    token: str = secret("", "token", "Token", STRING)
    channel: str = setting("", "channel", "Channel", STRING)
    username: str = setting("kapacitor", "username", "Username", STRING)
    icon_emoji: str = setting("", "icon-emoji", "IconEmoji", STRING)
    global_: bool = setting(False, "global", "Global", BOOL)
    state_changes_only: bool = setting(False, "state-changes-only", "StateChangesOnly", BOOL)
    ssl_ca: str = setting("", "ssl-ca", "SSLCA", STRING)
    ssl_cert: str = setting("", "ssl-cert", "SSLCert", STRING)
    ssl_key: str = setting("", "ssl-key", "SSLKey", STRING)
    insecure_skip_verify: bool = setting(
        False, "insecure-skip-verify", "InsecureSkipVerify", BOOL)


@attrs.frozen
class PagerDutyConfig:
    enabled: bool = setting(False, "enabled", "Enabled", BOOL)
    url: str = setting("https://events.pagerduty.com/generic/2010-04-15/create_event.json",
                       "url", "URL", STRING)
    service_key: str = secret("", "service-key", "ServiceKey", STRING)
    global_: bool = setting(False, "global", "Global", BOOL)


@attrs.frozen
class PagerDuty2Config:
    enabled: bool = setting(False, "enabled", "Enabled", BOOL)
    url: str = setting("https://events.pagerduty.com/v2/enqueue", "url", "URL", STRING)
    routing_key: str = secret("", "routing-key", "RoutingKey", STRING)
    global_: bool = setting(False, "global", "Global", BOOL)


@attrs.frozen
class OpsGenieConfig:
    enabled: bool = setting(False, "enabled", "Enabled", BOOL)
    api_key: str = secret("", "api-key", "APIKey", STRING)
    teams: Tuple[str, ...] = setting((), "teams", "Teams", STRING_LIST, converter=_tuple)
    recipients: Tuple[str, ...] = setting(
        (), "recipients", "Recipients", STRING_LIST, converter=_tuple)
    url: str = setting("https://api.opsgenie.com/v1/json/alert", "url", "URL", STRING)
    recovery_url: str = setting("https://api.opsgenie.com/v1/json/alert/note",
                                "recovery_url", "RecoveryURL", STRING)
    global_: bool = setting(False, "global", "Global", BOOL)


@attrs.frozen
class OpsGenie2Config:
    enabled: bool = setting(False, "enabled", "Enabled", BOOL)
    api_key: str = secret("", "api-key", "APIKey", STRING)
    teams: Tuple[str, ...] = setting((), "teams", "Teams", STRING_LIST, converter=_tuple)
    recipients: Tuple[str, ...] = setting(
        (), "recipients", "Recipients", STRING_LIST, converter=_tuple)
    url: str = setting("https://api.opsgenie.com/v2/alerts", "url", "URL", STRING)
    recovery_action: str = setting("notes", "recovery_action", "RecoveryAction", STRING)
    global_: bool = setting(False, "global", "Global", BOOL)
    details: bool = setting(False, "details", "Details", BOOL)


@attrs.frozen
class VictorOpsConfig:
    enabled: bool = setting(False, "enabled", "Enabled", BOOL)
    api_key: str = secret("", "api-key", "APIKey", STRING)
    routing_key: str = setting("", "routing-key", "RoutingKey", STRING)
    url: str = setting("https://alert.victorops.com/integrations/generic/20131114/alert",
                       "url", "URL", STRING)
    global_: bool = setting(False, "global", "Global", BOOL)
    json_data: bool = setting(False, "json-data", "JSONData", BOOL)


@attrs.frozen
class TelegramConfig:
    enabled: bool = setting(False, "enabled", "Enabled", BOOL)
    url: str = setting("https://api.telegram.org/bot", "url", "URL", STRING)
    token: str = secret("", "token", "Token", STRING)
    chat_id: str = setting("", "chat-id", "ChatId", STRING)
    parse_mode: str = setting("", "parse-mode", "ParseMode", STRING)
    disable_web_page_preview: bool = setting(
        False, "disable-web-page-preview", "DisableWebPagePreview", BOOL)
    disable_notification: bool = setting(
        False, "disable-notification", "DisableNotification", BOOL)
    global_: bool = setting(False, "global", "Global", BOOL)
    state_changes_only: bool = setting(False, "state-changes-only", "StateChangesOnly", BOOL)


@attrs.frozen
class PushoverConfig:
    enabled: bool = setting(False, "enabled", "Enabled", BOOL)
    token: str = secret("", "token", "Token", STRING)
    user_key: str = secret("", "user-key", "UserKey", STRING)
    url: str = setting("https://api.pushover.net/1/messages.json", "url", "URL", STRING)


@attrs.frozen
class SensuConfig:
    enabled: bool = setting(False, "enabled", "Enabled", BOOL)
    addr: str = setting("", "addr", "Addr", STRING)
    source: str = setting("Kapacitor", "source", "Source", STRING)
    handlers: Tuple[str, ...] = setting(
        (), "handlers", "Handlers", STRING_LIST, converter=_tuple)


@attrs.frozen
class AlertaConfig:
    enabled: bool = setting(False, "enabled", "Enabled", BOOL)
    url: str = setting("", "url", "URL", STRING)
    insecure_skip_verify: bool = setting(
        False, "insecure-skip-verify", "InsecureSkipVerify", BOOL)
    token: str = secret("", "token", "Token", STRING)
    token_prefix: str = setting("", "token-prefix", "TokenPrefix", STRING)
    environment: str = setting("", "environment", "Environment", STRING)
    origin: str = setting("", "origin", "Origin", STRING)
    timeout: int = setting(0, "timeout", "Timeout", DURATION)


@attrs.frozen
class TeamsConfig:
    enabled: bool = setting(False, "enabled", "Enabled", BOOL)
    channel_url: str = setting("", "channel-url", "ChannelURL", STRING)
    global_: bool = setting(False, "global", "Global", BOOL)
    state_changes_only: bool = setting(False, "state-changes-only", "StateChangesOnly", BOOL)


@attrs.frozen
class DiscordConfig:
    enabled: bool = setting(False, "enabled", "Enabled", BOOL)
    default: bool = setting(False, "default", "Default", BOOL)
    workspace: str = setting("", "workspace", "Workspace", STRING)
    url: str = setting("", "url", "URL", STRING)
    timestamp: bool = setting(False, "timestamp", "Timestamp", BOOL)
    username: str = setting("", "username", "Username", STRING)
    avatar_url: str = setting("", "avatar-url", "AvatarURL", STRING)
    embed_title: str = setting("", "embed-title", "EmbedTitle", STRING)
    global_: bool = setting(False, "global", "Global", BOOL)
    state_changes_only: bool = setting(False, "state-changes-only", "StateChangesOnly", BOOL)
    ssl_ca: str = setting("", "ssl-ca", "SSLCA", STRING)
    ssl_cert: str = setting("", "ssl-cert", "SSLCert", STRING)
    ssl_key: str = setting("", "ssl-key", "SSLKey", STRING)
    insecure_skip_verify: bool = setting(
        False, "insecure-skip-verify", "InsecureSkipVerify", BOOL)


@attrs.frozen
class ServiceNowConfig:
    enabled: bool = setting(False, "enabled", "Enabled", BOOL)
    url: str = setting("https://instance.service-now.com/api/global/em/jsonv2",
                       "url", "URL", STRING)
    source: str = setting("", "source", "Source", STRING)
    username: str = setting("", "username", "Username", STRING)
    password: str = secret("", "password", "Password", STRING)
    global_: bool = setting(False, "global", "Global", BOOL)
    state_changes_only: bool = setting(False, "state-changes-only", "StateChangesOnly", BOOL)


@attrs.frozen
class BigPandaConfig:
    enabled: bool = setting(False, "enabled", "Enabled", BOOL)
    global_: bool = setting(False, "global", "Global", BOOL)
    app_key: str = setting("", "app-key", "AppKey", STRING)
    token: str = secret("", "token", "Token", STRING)
    state_changes_only: bool = setting(False, "state-changes-only", "StateChangesOnly", BOOL)
    insecure_skip_verify: bool = setting(
        False, "insecure-skip-verify", "InsecureSkipVerify", BOOL)
    url: str = setting("https://api.bigpanda.io/data/v2/alerts", "url", "URL", STRING)
    auto_attributes: str = setting("tags,fields", "auto-attributes", "AutoAttributes", STRING)


@attrs.frozen
class ZenossConfig:
    enabled: bool = setting(False, "enabled", "Enabled", BOOL)
    url: str = setting("https://tenant.zenoss.io:8080/zport/dmd/evconsole_router",
                       "url", "URL", STRING)
    username: str = setting("", "username", "Username", STRING)
    password: str = secret("", "password", "Password", STRING)
    action: str = setting("EventsRouter", "action", "Action", STRING)
    method: str = setting("add_event", "method", "Method", STRING)
    type: str = setting("rpc", "type", "Type", STRING)
    tid: int = setting(1, "tid", "TID", INT)
    collector: str = setting("Kapacitor", "collector", "Collector", STRING)
    severity_map: SeverityMap = setting(
        SeverityMap(), "severity-map", "SeverityMap", SEVERITY_MAP, converter=_severity_map)
    global_: bool = setting(False, "global", "Global", BOOL)
    state_changes_only: bool = setting(False, "state-changes-only", "StateChangesOnly", BOOL)


@attrs.frozen
class MQTTConfig:
    enabled: bool = setting(False, "enabled", "Enabled", BOOL)
    name: str = setting("default", "name", "Name", STRING)
    default: bool = setting(False, "default", "Default", BOOL)
    url: str = setting("", "url", "URL", STRING)
    ssl_ca: str = setting("", "ssl-ca", "SSLCA", STRING)
    ssl_cert: str = setting("", "ssl-cert", "SSLCert", STRING)
    ssl_key: str = setting("", "ssl-key", "SSLKey", STRING)
    insecure_skip_verify: bool = setting(
        False, "insecure-skip-verify", "InsecureSkipVerify", BOOL)
    client_id: str = setting("", "client-id", "ClientID", STRING)
    username: str = setting("", "username", "Username", STRING)
    password: str = secret("", "password", "Password", STRING)


@attrs.frozen
class HTTPPostConfig:
    endpoint: str = setting("example", "endpoint", "Endpoint", STRING)
    url: str = setting("http://example.com", "url", "URLTemplate", STRING)
    headers: Dict[str, str] = setting({}, "headers", "Headers", STRING_MAP, converter=_dict)
    basic_auth: BasicAuth = secret(
        BasicAuth(), "basic-auth", "BasicAuth", BASIC_AUTH, converter=_basic_auth)
    alert_template: str = setting("", "alert-template", "AlertTemplate", STRING)
    alert_template_file: str = setting("", "alert-template-file", "AlertTemplateFile", STRING)
    row_template: str = setting("", "row-template", "RowTemplate", STRING)
    row_template_file: str = setting("", "row-template-file", "RowTemplateFile", STRING)


#: name -> (class, is_list, element key or None), in Kapacitor's section order.
SERVICE_SECTIONS: "OrderedDict[str, Tuple[type, bool, Optional[str]]]" = OrderedDict([
    ("alerta", (AlertaConfig, False, None)),
    ("bigpanda", (BigPandaConfig, False, None)),
    ("discord", (DiscordConfig, True, "workspace")),
    ("httppost", (HTTPPostConfig, True, "endpoint")),
    ("mqtt", (MQTTConfig, True, "name")),
    ("opsgenie", (OpsGenieConfig, False, None)),
    ("opsgenie2", (OpsGenie2Config, False, None)),
    ("pagerduty", (PagerDutyConfig, False, None)),
    ("pagerduty2", (PagerDuty2Config, False, None)),
    ("pushover", (PushoverConfig, False, None)),
    ("sensu", (SensuConfig, False, None)),
    ("servicenow", (ServiceNowConfig, False, None)),
    ("slack", (SlackConfig, True, "workspace")),
    ("smtp", (SMTPConfig, False, None)),
    ("teams", (TeamsConfig, False, None)),
    ("telegram", (TelegramConfig, False, None)),
    ("victorops", (VictorOpsConfig, False, None)),
    ("zenoss", (ZenossConfig, False, None)),
])


def default_value(name: str):
    """``server.NewConfig()``'s value for a section: an instance, or a tuple of
    elements for a list section (slack and discord start with one ``default``
    element, mqtt and httppost with upstream's ``NewConfig()`` element)."""
    cls, is_list, _ = SERVICE_SECTIONS[name]
    if not is_list:
        return cls()
    if name in ("slack", "discord"):
        return (cls(default=True),)
    return (cls(),)


def redacted(name: str) -> Set[str]:
    """TOML keys of section *name* that upstream tags ``redact``."""
    cls = SERVICE_SECTIONS[name][0]
    return {f.metadata["toml"] for f in attrs.fields(cls) if f.metadata.get("redact")}


# ------------------------------------------------------------------ validation

def _check_url(value: str, what: str = "invalid url") -> None:
    try:
        urlsplit(value)
    except ValueError:
        raise ValueError(f'{what} "{value}"') from None


def _validate_one(name: str, c) -> None:  # noqa: C901 - one branch per section
    if name == "slack":
        if c.enabled and not c.url:
            raise ValueError("must specify url")
        _check_url(c.url)
    elif name == "discord":
        if c.enabled and not c.url:
            raise ValueError("Must specify the Discord channel webhook URL")
        _check_url(c.url)
    elif name in ("pagerduty", "pagerduty2", "victorops"):
        if not c.url:
            raise ValueError("url cannot be empty")
        _check_url(c.url, "invalid URL")
    elif name == "opsgenie":
        if not c.url:
            raise ValueError("url cannot be empty")
        if not c.recovery_url:
            raise ValueError("recovery_url cannot be empty")
        if c.enabled and not c.api_key:
            raise ValueError("api-key cannot be empty")
    elif name == "opsgenie2":
        if not c.url:
            raise ValueError("url cannot be empty")
        if not c.recovery_action:
            raise ValueError("recovery_action cannot be empty")
        if c.enabled and not c.api_key:
            raise ValueError("api-key cannot be empty")
    elif name == "telegram":
        if c.enabled and not c.url:
            raise ValueError("must specify url")
        if c.enabled and not c.token:
            raise ValueError("must specify token")
    elif name == "sensu":
        if c.enabled and not c.addr:
            raise ValueError("must specify client address")
    elif name == "mqtt":
        if not c.name:
            raise ValueError("must specify a name for the mqtt broker")
        if c.enabled and not c.url:
            raise ValueError("must specify a url for mqtt service")
    elif name == "smtp":
        if not c.host:
            raise ValueError("host cannot be empty")
        if c.port <= 0:
            raise ValueError(f"invalid port {c.port}")
        if c.idle_timeout < 0:
            raise ValueError("idle timeout must be positive")
        if c.enabled and not c.from_:
            raise ValueError("must provide a 'from' address")
    elif name == "pushover":
        if c.enabled:
            if not c.token:
                raise ValueError("must specify token")
            if not c.user_key:
                raise ValueError("must specify user key")
            if not c.url:
                raise ValueError("must specify url")
    elif name == "alerta":
        if c.enabled and not c.url:
            raise ValueError("must specify url")
    elif name == "teams":
        if c.enabled and not c.channel_url:
            raise ValueError("must specify Teams channel webhook URL")
    elif name == "bigpanda":
        if c.enabled and not c.url:
            raise ValueError("must specify the BigPanda webhook URL")
        if c.enabled and not c.app_key:
            raise ValueError("must specify BigPanda app-key")
        if c.enabled and not c.token:
            raise ValueError("must specify BigPanda token")
    elif name in ("servicenow", "zenoss"):
        if c.enabled and not c.url:
            raise ValueError("must specify events URL")
    elif name == "httppost":
        if not c.endpoint:
            raise ValueError("must specify endpoint name")
        if not c.url:
            raise ValueError("must specify url")
        if c.alert_template and c.alert_template_file:
            raise ValueError("must specify only one of alert-template and alert-template-file")
        if c.alert_template_file and not c.alert_template_file.startswith("/"):
            raise ValueError("must use an absolute path for alert-template-file")
        if c.row_template and c.row_template_file:
            raise ValueError("must specify only one of row-template and row-template-file")
        if c.row_template_file and not c.row_template_file.startswith("/"):
            raise ValueError("must use an absolute path for row-template-file")


def validate(name: str, value) -> None:
    """Section *name*'s ``Validate()``: ValueError with upstream's words."""
    _, is_list, _ = SERVICE_SECTIONS[name]
    if not is_list:
        _validate_one(name, value)
        return
    elements = tuple(value)
    for c in elements:
        _validate_one(name, c)
    if name in ("slack", "discord"):
        many = len(elements) > 1
        has_default = len(elements) == 1
        for c in elements:
            if many and not c.workspace:
                raise ValueError("id must not be empty")
            has_default = has_default or c.default
            if c.global_ and not c.default:
                raise ValueError("only the default config may be assigned as global")
            if c.state_changes_only and not (c.default and c.global_):
                raise ValueError("stateChangesOnly may only be assigned when the config "
                                 "is both default and global")
        if elements and not has_default:
            title = "Slack" if name == "slack" else "Discord"
            raise ValueError(f"at least one {title} config must be set as default")
