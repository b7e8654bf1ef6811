"""Discord: a webhook POST with one embed (upstream ``services/discord``)."""

from __future__ import annotations

from kapacitord_tw.alerts import options as opt
from kapacitord_tw.engine.alertdata import AlertData, Level
from kapacitord_tw.engine.gotemplate import TemplateError, parse
from kapacitord_tw.gocompat import parse_time
from kapacitord_tw.services.base import HandlerConfigError, ServiceError, encode, post
from kapacitord_tw.services.common import element, error_field, go_time, level_option, text

NAME = "discord"
PROPERTY = "DiscordHandlers"
OPTIONS_TYPE = "*discord.HandlerConfig"
OPTIONS = {"workspace": opt.string, "username": opt.string, "avatar-url": opt.string,
           "embed-title": opt.string}
PROPERTY_KEYS = {"Workspace": "workspace", "Username": "username", "AvatarURL": "avatar-url",
                 "EmbedTitle": "embed-title"}
_COLORS = {Level.CRITICAL: 0xF95F53, Level.WARNING: 0xF48D38}


def prepare(options: dict) -> dict:
    """Parse the embed title template once (upstream does it in ``Handler``)."""
    try:
        tmpl = parse(options.get("embed-title", ""), "embedTitle")
    except TemplateError as e:
        raise HandlerConfigError(str(e)) from None
    return {**options, "_title": tmpl}


def payload(c, message, username, avatar_url, title, time_ns, level) -> dict:
    embed = {"color": _COLORS.get(level, 0x7A65F2), "title": title, "description": message,
             "timestamp": go_time(time_ns, "rfc3339") if c.timestamp else ""}
    return {"avatar_url": avatar_url or c.avatar_url, "embeds": [embed],
            "username": username or c.username}


async def alert(ctx, workspace, message, username, avatar_url, title, time_ns, level,
                force_timestamp=False) -> None:
    c = element(ctx.config(), "workspace", workspace, "discord")
    if not c.enabled:
        raise ServiceError("service is not enabled")
    if force_timestamp:
        import attrs
        c = attrs.evolve(c, timestamp=True)
    body = encode(payload(c, message, username, avatar_url, title, time_ns, level))
    code, answer = await post(ctx, c.url, body, {"Content-Type": "application/json"})
    if code != 204:
        raise ServiceError(error_field(answer, "error", (
            f"failed to understand Discord response. code: {code} content: {text(answer)}")))


async def send(ctx, o: dict, a: AlertData) -> None:
    try:
        title = o["_title"].execute(a.event_template_value())
    except TemplateError as e:
        raise ServiceError(f"failed to execute embedTitle template: {e}") from None
    await alert(ctx, o.get("workspace", ""), a.message, o.get("username", ""),
                o.get("avatar-url", ""), title, a.time, a.level)


def test_options(cfg) -> dict:
    try:
        c = element(cfg, "workspace", "", "discord")
    except ServiceError:
        c = None
    return {"workspace": c.workspace if c else "", "message": "test discord message",
            "level": "INFO", "username": "Kapacitor",
            "avatar-url": "https://influxdata.github.io/branding/img/downloads/"
                          "influxdata-logo--symbol--pool-alpha.png",
            "embed-title": "Kapacitor Alert", "time-val": "1970-01-01T00:00:01Z"}


async def test(ctx, o: dict) -> None:
    try:
        t = parse_time(o["time-val"])
    except Exception:
        raise ServiceError(f"parsing time {o['time-val']!r}: invalid time") from None
    await alert(ctx, o["workspace"], o["message"], o["username"], o["avatar-url"],
                o["embed-title"], t, level_option("level", o["level"]))
