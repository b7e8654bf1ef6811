"""Microsoft Teams: an Office 365 connector MessageCard (upstream ``services/teams``)."""

from __future__ import annotations

from kapacitord_tw.alerts import options as opt
from kapacitord_tw.engine.alertdata import AlertData, Level
from kapacitord_tw.services.base import ServiceError, encode, post
from kapacitord_tw.services.common import error_field, level_option, text

NAME = "teams"
PROPERTY = "TeamsHandlers"
OPTIONS_TYPE = "*teams.HandlerConfig"
OPTIONS = {"channel-url": opt.string}
PROPERTY_KEYS = {"ChannelURL": "channel-url"}
SUMMARY_CUTOFF = 70
_COLORS = {Level.WARNING: "FFA533", Level.CRITICAL: "CC4A31"}


def card(topic: str, alert_id: str, message: str, lv) -> dict:
    level = str(Level(lv))
    if not alert_id and not topic:
        title = level
        summary = title + ": " + message
    elif not alert_id:
        title = f"{level}: [{topic}]"
        summary = title + " - " + message
    else:
        title = f"{level}: [{alert_id}]"
        summary = title + " - " + message
    # Go slices bytes: cut the UTF-8 encoding, as summary[:70] does.
    cut = summary.encode("utf-8")[:SUMMARY_CUTOFF].decode("utf-8", "replace")
    return {"@type": "MessageCard", "@context": "http://schema.org/extensions",
            "title": title, "text": message, "summary": cut + "...",
            "themeColor": _COLORS.get(Level(lv), "34CC25")}


async def alert(ctx, channel_url, topic, alert_id, message, level) -> None:
    c = ctx.config()
    if not c.enabled:
        raise ServiceError("service is not enabled")
    body = encode(card(topic, alert_id, message, level))[:-1]   # json.Marshal: no newline
    code, answer = await post(ctx, channel_url or c.channel_url, body,
                              {"Content-Type": "application/json"})
    if code not in (200, 204):
        raise ServiceError(error_field(answer, "error", (
            f"failed to understand Teams response. code: {code} content: {text(answer)}")))


async def send(ctx, o: dict, a: AlertData) -> None:
    await alert(ctx, o.get("channel-url", ""), ctx.topic, a.id, a.message, a.level)


def test_options(cfg) -> dict:
    return {"channel_url": cfg.channel_url, "alert_topic": "test kapacitor alert topic",
            "alert_id": "foo/bar/bat", "message": "test teams message", "level": "CRITICAL"}


async def test(ctx, o: dict) -> None:
    # upstream's Test sends to the configured channel, whatever the options say
    await alert(ctx, ctx.config().channel_url, o["alert_topic"], o["alert_id"],
                o["message"], level_option("level", o["level"]))
