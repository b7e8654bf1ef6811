"""Pushover's message API: a form POST (upstream ``services/pushover``)."""

from __future__ import annotations

import json
from urllib.parse import urlencode

from kapacitord_tw.alerts import options as opt
from kapacitord_tw.engine.alertdata import AlertData, Level
from kapacitord_tw.services.base import ServiceError, post
from kapacitord_tw.services.common import level_option, text

NAME = "pushover"
PROPERTY = "PushoverHandlers"
OPTIONS_TYPE = "*pushover.HandlerConfig"
OPTIONS = {"device": opt.string, "title": opt.string, "url": opt.string,
           "url-title": opt.string, "sound": opt.string, "user-key": opt.string}
PROPERTY_KEYS = {"Device": "device", "Title": "title", "URL": "url", "URLTitle": "url-title",
                 "Sound": "sound", "UserKey": "user-key"}

#: https://pushover.net/api priorities: OK is silent, CRITICAL needs confirmation
_PRIORITY = {Level.OK: -2, Level.INFO: -1, Level.WARNING: 0, Level.CRITICAL: 1}


def form(c, message, device, title, url, url_title, sound, user_key, level) -> bytes:
    """``url.Values.Encode()``: keys sorted, Go's query escaping (space as ``+``)."""
    values = {"token": c.token, "user": user_key or c.user_key, "message": message,
              "priority": str(_PRIORITY.get(level, 0))}
    for key, value in (("device", device), ("title", title), ("url", url),
                       ("url_title", url_title), ("sound", sound)):
        if value:
            values[key] = value
    return urlencode(sorted(values.items())).encode("ascii")


def _error(code: int, answer: bytes) -> str:
    """What upstream returns for a non-200 answer: its ``error``, or the joined ``errors``."""
    try:
        data = json.loads(answer)
    except ValueError:
        if not answer.strip():
            return "unexpected end of JSON input"
        return f"failed to understand Pushover response. code: {code} content: {text(answer)}"
    if not isinstance(data, dict):
        return f"failed to understand Pushover response. code: {code} content: {text(answer)}"
    if isinstance(data.get("error"), str):
        return data["error"]
    errors = data.get("errors")
    joined = ", ".join(e for e in errors if isinstance(e, str)) if isinstance(errors, list) else ""
    return f"failed to understand Pushover response. code: {code} content: {joined}"


async def alert(ctx, message, device, title, url, url_title, sound, user_key, level) -> None:
    c = ctx.config()
    if not c.enabled:
        raise ServiceError("service is not enabled")
    body = form(c, message, device, title, url, url_title, sound, user_key, level)
    code, answer = await post(ctx, c.url, body,
                              {"Content-Type": "application/x-www-form-urlencoded"})
    if code != 200:
        raise ServiceError(_error(code, answer))


async def send(ctx, o: dict, a: AlertData) -> None:
    await alert(ctx, a.message, o.get("device", ""), o.get("title", ""), o.get("url", ""),
                o.get("url-title", ""), o.get("sound", ""), o.get("user-key", ""), a.level)


def test_options(cfg) -> dict:
    # Upstream shows the configured user key here; it is a redacted secret, so the
    # default is "" (which sends with the configured key all the same).
    return {"user-key": "", "message": "test pushover message", "device": "", "title": "",
            "url": "", "url-title": "", "sound": "", "level": "CRITICAL"}


async def test(ctx, o: dict) -> None:
    await alert(ctx, o["message"], o["device"], o["title"], o["url"], o["url-title"],
                o["sound"], o["user-key"], level_option("level", o["level"]))
