"""Server-wide commands: stats, vars, level, backup, version."""

from __future__ import annotations

import http.client
import os

from kapacitord_tw import __version__
from .. import usage
from ..client import ApiError, BASE_PATH, TransportError, error_message, response_status
from ..runtime import CommandError, Context
from .common import go_os_error, pad, wrap

__all__ = ["stats", "debug_vars", "level", "backup", "version", "version_line"]


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _number(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return 0
    return int(value)


def stats(ctx: Context, args: list[str]) -> None:
    if len(args) != 1:
        ctx.usage(usage.STATS)
        raise CommandError("must provide a stats category")
    data = ctx.client.debug_vars()
    if args[0] == "general":
        _general(ctx, data)
    elif args[0] == "ingress":
        _ingress(ctx, data)


def _general(ctx: Context, data: dict) -> None:
    rows = (
        ("ClusterID:", _text(data.get("cluster_id"))),
        ("ServerID:", _text(data.get("server_id"))),
        ("Host:", _text(data.get("host"))),
        ("Tasks:", str(_number(data.get("num_tasks")))),
        ("Enabled Tasks:", str(_number(data.get("num_enabled_tasks")))),
        ("Subscriptions:", str(_number(data.get("num_subscriptions")))),
        ("Platform:", _text(data.get("platform"))),
        ("Version:", _text(data.get("version"))),
    )
    for label, value in rows:
        ctx.terminal.out("%s%s\n" % (pad(label, 30), pad(value, 30)))


def _ingress(ctx: Context, data: dict) -> None:
    rows = []
    for stat in (data.get("kapacitor") or {}).values():
        if not isinstance(stat, dict):
            continue
        tags = stat.get("tags") or {}
        if stat.get("name") != "ingress" or tags.get("task_master") != "main":
            continue
        received = (stat.get("values") or {}).get("points_received")
        rows.append(
            (
                _text(tags.get("database")),
                _text(tags.get("retention_policy")),
                _text(tags.get("measurement")),
                _number(received),
            )
        )
    widths = [len(h) for h in ("Database", "Retention Policy", "Measurement")]
    for row in rows:
        widths = [max(w, len(v.encode("utf-8"))) for w, v in zip(widths, row[:3])]
    widths = [w + 1 for w in widths]
    out = ctx.terminal.out
    out(
        "%s%s%s%s\n"
        % (pad("Database", widths[0]), pad("Retention Policy", widths[1]), pad("Measurement", widths[2]), "Points Received")
    )
    for db, rp, measurement, received in sorted(rows):
        out("%s%s%s%15d\n" % (pad(db, widths[0]), pad(rp, widths[1]), pad(measurement, widths[2]), received))


def debug_vars(ctx: Context, args: list[str]) -> None:
    # The original copies the body whatever the status; an error status is
    # reported as an error here, so a 401 is not mistaken for the vars.
    response = ctx.client.raw_get(BASE_PATH + "/debug/vars")
    if response.status != 200:
        raise ApiError(response.status, error_message(response.status, response.body))
    ctx.terminal.out(response.body.decode("utf-8", "replace"))


def level(ctx: Context, args: list[str]) -> None:
    if not args:
        ctx.fail("Must pass a log level", usage.LEVEL)
    ctx.client.log_level(args[0])


def backup(ctx: Context, args: list[str]) -> None:
    if len(args) != 1:
        raise CommandError("must provide file path for backup.")
    path = args[0]
    try:
        response = ctx.client.open_backup()
    except TransportError as exc:
        raise wrap(exc, "failed to perform backup") from None
    with response:
        status = response_status(response)
        if status != 200:
            # Checked here (the original saved error bodies as the backup).
            body = response.read()
            raise wrap(ApiError(status, error_message(status, body)), "failed to perform backup")
        try:
            # The backup holds every password hash: never world-readable.
            target = os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb")
        except OSError as exc:
            raise CommandError(
                "failed to create backup file: " + go_os_error("open", path, exc)
            ) from None
        written = 0
        with target:
            try:
                while True:
                    chunk = response.read(1 << 16)
                    if not chunk:
                        break
                    target.write(chunk)
                    written += len(chunk)
            except http.client.IncompleteRead:
                raise CommandError("failed to save backup: unexpected EOF") from None
            except (OSError, http.client.HTTPException) as exc:
                raise CommandError("failed to save backup: %s" % exc) from None
    declared = response.headers.get("Content-Length")
    if declared is not None and declared.isdigit() and int(declared) != written:
        raise CommandError(
            "failed to download entire backup, only wrote %d bytes out of a total %s bytes."
            % (written, declared)
        )


def version_line() -> str:
    return "Kapacitor OSS %s (git: unknown unknown)\n" % __version__


def version(ctx: Context, args: list[str]) -> None:
    ctx.terminal.out(version_line())

