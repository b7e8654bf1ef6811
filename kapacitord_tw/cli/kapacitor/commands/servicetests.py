"""Service tests: list the services that can be tested, and test them."""

from __future__ import annotations

from ..runtime import CommandError, Context
from .common import pad

__all__ = ["list_service_tests", "service_tests"]


def list_service_tests(ctx: Context, patterns: list[str]) -> None:
    """``kapacitor list service-tests [pattern]...``: one name a line."""
    out = ctx.terminal.out
    out("Service Name\n")
    for pattern in patterns:
        for service in ctx.client.list_service_tests(pattern):
            out("%s\n" % service.get("name", ""))


def service_tests(ctx: Context, args: list[str]) -> None:
    """``kapacitor service-tests <name or pattern>...``: run each matching test
    with its default options, then print one line per service."""
    if not args:
        raise CommandError("must provide at least one service name or pattern.")
    services = []
    for name_or_pattern in args:
        services.extend(ctx.client.list_service_tests(name_or_pattern))
    results = [ctx.client.do_service_test((s.get("link") or {}).get("href", "")) for s in services]
    out = ctx.terminal.out
    out("%s%s%s\n" % (pad("Service", 20), pad("Success", 10), "Message"))
    for service, result in zip(services, results):
        success = "true" if result.get("success") else "false"
        out("%s%s%s\n" % (pad(service.get("name", ""), 20), pad(success, 10),
                          result.get("message", "")))
