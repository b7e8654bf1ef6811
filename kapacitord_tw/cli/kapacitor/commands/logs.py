"""``logs`` and ``watch``: follow the server's log stream until interrupted."""

from __future__ import annotations

import http.client

from ..client import TransportError, response_status
from ..runtime import CommandError, Context

__all__ = ["logs", "watch"]


def _pairs(args: list[str], tags: dict) -> dict:
    for arg in args:
        parts = arg.split("=")
        if len(parts) != 2:
            raise CommandError("bad keyvalue pair: '%s'" % arg)
        tags[parts[0]] = parts[1]
    return tags


def _follow(ctx: Context, tags: dict) -> None:
    try:
        response = ctx.client.open_logs(tags)
    except TransportError as exc:
        raise CommandError("failed to retrieve logs: %s" % exc) from None
    with response:
        status = response_status(response)
        if status // 100 != 2:
            raise CommandError("failed to retrieve logs: bad status code %d" % status)
        try:
            for line in iter(response.readline, b""):
                ctx.terminal.out(line.decode("utf-8", "replace"))
                ctx.terminal.stdout.flush()
        except KeyboardInterrupt:
            return  # Ctrl-C is how one stops following: not an error
        except (OSError, http.client.HTTPException) as exc:
            raise CommandError("failed to retrieve logs: %s" % exc) from None


def logs(ctx: Context, args: list[str]) -> None:
    _follow(ctx, _pairs(args, {}))


def watch(ctx: Context, args: list[str]) -> None:
    if not args:
        raise CommandError("must provide task ID.")
    _follow(ctx, _pairs(args[1:], {"task": args[0]}))
