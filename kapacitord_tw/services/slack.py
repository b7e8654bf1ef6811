"""Slack: an incoming-webhook POST with one attachment (upstream ``services/slack``)."""

from __future__ import annotations

from kapacitord_tw.alerts import options as opt
from kapacitord_tw.engine.alertdata import AlertData, Level
from kapacitord_tw.services.base import ServiceError, encode, post
from kapacitord_tw.services.common import element, error_field, level_option, text

NAME = "slack"
PROPERTY = "SlackHandlers"
OPTIONS_TYPE = "*slack.HandlerConfig"
OPTIONS = {"workspace": opt.string, "channel": opt.string, "username": opt.string,
           "icon-emoji": opt.string}
PROPERTY_KEYS = {"Workspace": "workspace", "Channel": "channel", "Username": "username",
                 "IconEmoji": "icon-emoji"}

_COLORS = {Level.WARNING: "warning", Level.CRITICAL: "danger"}


def payload(c, channel: str, message: str, username: str, icon_emoji: str, level) -> dict:
    """``preparePost``'s map, keys in Go's sorted order."""
    attachment = {"fallback": message, "color": _COLORS.get(level, "good"),
                  "text": message, "mrkdwn_in": ["text"]}
    return {"attachments": [attachment], "channel": channel or c.channel,
            "icon_emoji": icon_emoji or c.icon_emoji, "text": "",
            "username": username or c.username}


async def alert(ctx, workspace, channel, message, username, icon_emoji, level) -> None:
    c = element(ctx.config(), "workspace", workspace, "slack")
    if not c.enabled:
        raise ServiceError("service is not enabled")
    body = encode(payload(c, channel, message, username, icon_emoji, level))
    headers = {"Content-Type": "application/json"}
    if c.token:
        headers["Authorization"] = "Bearer " + c.token
    code, answer = await post(ctx, c.url, body, headers)
    if code != 200:
        raise ServiceError(error_field(answer, "error", (
            f"failed to understand Slack response. code: {code} content: {text(answer)}")))


async def send(ctx, o: dict, a: AlertData) -> None:
    await alert(ctx, o.get("workspace", ""), o.get("channel", ""), a.message,
                o.get("username", ""), o.get("icon-emoji", ""), a.level)


def test_options(cfg) -> dict:
    c = _default(cfg)
    return {"workspace": c.workspace if c else "", "channel": c.channel if c else "",
            "message": "test slack message", "level": "CRITICAL", "username": "",
            "icon-emoji": ""}


async def test(ctx, o: dict) -> None:
    await alert(ctx, o["workspace"], o["channel"], o["message"], o["username"],
                o["icon-emoji"], level_option("level", o["level"]))


def _default(cfg):
    try:
        return element(cfg, "workspace", "", "slack")
    except ServiceError:
        return None
