"""Telegram: the Bot API's ``sendMessage`` (upstream ``services/telegram``)."""

from __future__ import annotations

import posixpath
from urllib.parse import urlsplit, urlunsplit

from kapacitord_tw.alerts import options as opt
from kapacitord_tw.engine.alertdata import AlertData
from kapacitord_tw.services.base import ServiceError, encode, post
from kapacitord_tw.services.common import text

NAME = "telegram"
PROPERTY = "TelegramHandlers"
OPTIONS_TYPE = "*telegram.HandlerConfig"
OPTIONS = {"chat-id": opt.string, "parse-mode": opt.string,
           "disable-web-page-preview": opt.boolean, "disable-notification": opt.boolean}
PROPERTY_KEYS = {"ChatId": "chat-id", "ParseMode": "parse-mode",
                 "IsDisableWebPagePreview": "disable-web-page-preview",
                 "IsDisableNotification": "disable-notification"}


def send_url(base: str, token: str) -> str:
    """``u.Path = path.Join(u.Path+token, "sendMessage")``."""
    u = urlsplit(base)
    return urlunsplit(u._replace(path=posixpath.join(u.path + token, "sendMessage")))


async def alert(ctx, chat_id, parse_mode, message, no_preview, no_notify) -> None:
    c = ctx.config()
    if not c.enabled:
        raise ServiceError("service is not enabled")
    chat_id = chat_id or c.chat_id
    parse_mode = parse_mode or c.parse_mode
    if parse_mode and parse_mode.lower() not in ("markdown", "html"):
        raise ServiceError(f"parseMode {parse_mode} is not valid, please use 'Markdown' or 'HTML'")
    data = {"chat_id": chat_id}
    if no_notify or c.disable_notification:
        data["disable_notification"] = True
    if no_preview or c.disable_web_page_preview:
        data["disable_web_page_preview"] = True
    if parse_mode:
        data["parse_mode"] = parse_mode
    data["text"] = message
    code, answer = await post(ctx, send_url(c.url, c.token), encode(data),
                              {"Content-Type": "application/json"})
    if code != 200:
        import json
        try:
            r = json.loads(answer)
            if not isinstance(r, dict):
                raise ValueError("not an object")
        except ValueError as e:
            raise ServiceError(f"failed to understand Telegram response (err: {e}). "
                               f"code: {code} content: {text(answer)}") from None
        raise ServiceError(f"sendMessage error ({r.get('error_code', 0)}) "
                           f"description: {r.get('description', '')}")


async def send(ctx, o: dict, a: AlertData) -> None:
    await alert(ctx, o.get("chat-id", ""), o.get("parse-mode", ""), a.message,
                o.get("disable-web-page-preview", False), o.get("disable-notification", False))


def test_options(cfg) -> dict:
    return {"chat-id": cfg.chat_id, "parse-mode": cfg.parse_mode,
            "message": "test telegram message",
            "disable-web-page-preview": cfg.disable_web_page_preview,
            "disable-notification": cfg.disable_notification}


async def test(ctx, o: dict) -> None:
    await alert(ctx, o["chat-id"], o["parse-mode"], o["message"],
                o["disable-web-page-preview"], o["disable-notification"])
