"""Entry point: global options, command dispatch, and how errors are reported.

Mirrors ``cmd/kapacitor/main.go``: global Go-style flags, then
``KAPACITOR_UNSAFE_SSL`` / ``KAPACITOR_URL``, then the ``-url`` check (exit 4)
before the command is even looked at; a command's error is printed as
``Error: <message>`` and exits 3.
"""

from __future__ import annotations

import os
import sys
from typing import Mapping, Sequence

from kapacitord_tw.gocompat import parse_bool

from ..goflags import Flag, FlagError, FlagSet, HelpRequested
from . import usage
from .client import ApiError, KapacitorClient, TransportError
from .commands import alerts, logs, replays, server, servicetests, tasks, templates, users
from .endpoint import Endpoint, EndpointError, parse_endpoint
from .runtime import (
    EXIT_ARGS,
    EXIT_CONNECT,
    EXIT_ERROR,
    EXIT_OK,
    EXIT_USAGE,
    CommandError,
    Context,
    Exit,
    Terminal,
)

__all__ = ["main", "run", "DEFAULT_URL", "MAIN_FLAGS"]

DEFAULT_URL = "http://localhost:9092"

MAIN_FLAGS = FlagSet(
    (
        Flag(
            "url",
            "The URL http(s)://host:port of the kapacitord server. Defaults to the "
            "KAPACITOR_URL environment variable or %s if not set." % DEFAULT_URL,
            default="",
        ),
        Flag(
            "skipVerify",
            "Disable SSL verification (note, this is insecure). Defaults to the "
            "KAPACITOR_UNSAFE_SSL environment variable or false if not set.",
            kind="bool",
            default=False,
        ),
    )
)

# Commands of the original that this client does not implement.
_NOT_IMPLEMENTED = {"push", "flux"}
_OTHER_KINDS: set = set()


def _main_usage(terminal: Terminal) -> None:
    terminal.err(usage.MAIN + "\n")
    terminal.err(MAIN_FLAGS.defaults_text())


_LISTERS = {
    "tasks": tasks.list_tasks,
    "templates": templates.list_templates,
    "recordings": replays.list_recordings,
    "replays": replays.list_replays,
    "topics": alerts.list_topics,
    "topic-handlers": alerts.list_topic_handlers,
    "service-tests": servicetests.list_service_tests,
    "users": users.list_users,
}
_DELETERS = {
    "tasks": tasks.delete_tasks,
    "templates": templates.delete_templates,
    "recordings": replays.delete_recordings,
    "replays": replays.delete_replays,
    "topics": alerts.delete_topics,
    "topic-handlers": alerts.delete_topic_handlers,
}


def _kinds_text(kinds) -> str:
    """``'a', 'b' or 'c'``: the kinds a command takes, as its messages list them."""
    quoted = ["'%s'" % kind for kind in kinds]
    return "%s or %s" % (", ".join(quoted[:-1]), quoted[-1])


def _by_kind(handlers: dict, kind: str, ctx: Context, patterns: list[str], verb: str, doing: str) -> None:
    """Run ``list``/``delete`` for one kind of object, worded as the original."""
    handler = handlers.get(kind)
    if handler is not None:
        handler(ctx, patterns)
    elif kind in _OTHER_KINDS:
        raise CommandError("%s %s is not supported by this client" % (doing, kind))
    else:
        raise CommandError("cannot %s '%s' did you mean %s?" % (verb, kind, _kinds_text(handlers)))


def _list(ctx: Context, args: list[str]) -> None:
    if not args:
        ctx.fail("Must specify %s" % _kinds_text(_LISTERS), usage.LIST)
    _by_kind(_LISTERS, args[0], ctx, args[1:] or [""], "list", "listing")


def _delete(ctx: Context, args: list[str]) -> None:
    if len(args) < 2:
        ctx.fail("Must pass at least one ID", usage.DELETE)
    _by_kind(_DELETERS, args[0], ctx, args[1:], "delete", "deleting")


_COMMAND_FLAGS = {
    "define": tasks.DEFINE_FLAGS,
    "define-template": templates.DEFINE_TEMPLATE_FLAGS,
    "show": tasks.SHOW_FLAGS,
    "replay": replays.REPLAY_FLAGS,
}


def _help(ctx: Context, args: list[str]) -> None:
    terminal = ctx.terminal
    if len(args) == 2 and args[0] == "user" and args[1] in users.SUBCOMMAND_USAGE:
        ctx.usage(*users.SUBCOMMAND_USAGE[args[1]])
        return
    if len(args) != 1:
        terminal.err(usage.HELP + "\n")
        _main_usage(terminal)
        raise Exit(EXIT_USAGE)
    text = usage.COMMAND_USAGE.get(args[0]) or replays.COMMAND_USAGE.get(args[0])
    if text is None:
        terminal.err("Unknown command %s\n" % args[0])
        _main_usage(terminal)
        raise Exit(EXIT_USAGE)
    ctx.usage(text, _COMMAND_FLAGS.get(args[0]))


COMMANDS = {
    "help": _help,
    "record": replays.record,
    "replay": replays.replay,
    "replay-live": replays.replay_live,
    "define": tasks.define,
    "define-template": templates.define_template,
    "define-topic-handler": alerts.define_topic_handler,
    "watch": logs.watch,
    "logs": logs.logs,
    "enable": tasks.enable,
    "disable": tasks.disable,
    "reload": tasks.reload,
    "delete": _delete,
    "list": _list,
    "show": tasks.show,
    "show-template": templates.show_template,
    "show-topic-handler": alerts.show_topic_handler,
    "show-topic": alerts.show_topic,
    "user": users.user,
    "backup": server.backup,
    "level": server.level,
    "stats": server.stats,
    "version": server.version,
    "vars": server.debug_vars,
    "service-tests": servicetests.service_tests,
}


def _explain(exc: ApiError, endpoint: Endpoint) -> str:
    """The server's message, plus what to do about a 401."""
    if exc.status != 401:
        return exc.message
    if endpoint.has_credentials:
        return "%s: check the credentials in -url" % exc.message
    return (
        "%s: the server requires authentication, give the credentials in -url "
        "as http://<username>:<password>@<host>:<port>" % exc.message
    )


def _run(argv: list[str], environ: Mapping[str, str], terminal: Terminal) -> int:
    try:
        parsed = MAIN_FLAGS.parse(argv)
    except HelpRequested:
        terminal.err("Usage of main:\n" + MAIN_FLAGS.defaults_text())
        return EXIT_OK
    except FlagError as exc:
        terminal.err("%s\nUsage of main:\n%s" % (exc, MAIN_FLAGS.defaults_text()))
        return EXIT_ARGS

    skip_verify = False
    env_skip = environ.get("KAPACITOR_UNSAFE_SSL", "")
    if env_skip:
        try:
            skip_verify = parse_bool(env_skip)
        except ValueError as exc:
            terminal.err("%s\n" % exc)
            return EXIT_USAGE
    if parsed["skipVerify"]:
        skip_verify = True

    url = environ.get("KAPACITOR_URL") or DEFAULT_URL
    if parsed["url"]:
        url = parsed["url"]
    try:
        endpoint = parse_endpoint(url)
    except EndpointError as exc:
        terminal.err("%s\n" % exc)
        return EXIT_CONNECT
    ctx = Context(client=KapacitorClient(endpoint, skip_verify), terminal=terminal)

    if not parsed.args:
        terminal.err("Error: Must pass a command.\n")
        _main_usage(terminal)
        return EXIT_USAGE
    name, args = parsed.args[0], parsed.args[1:]
    command = COMMANDS.get(name)
    if command is None:
        if name in _NOT_IMPLEMENTED:
            terminal.err("Error: the %s command is not implemented by this client\n" % name)
            return EXIT_ERROR
        terminal.err("Unknown command %s\n" % name)
        _main_usage(terminal)
        return EXIT_USAGE
    try:
        command(ctx, args)
    except ApiError as exc:
        terminal.err("Error: %s\n" % _explain(exc, endpoint))
        return EXIT_ERROR
    except (CommandError, TransportError) as exc:
        terminal.err("Error: %s\n" % exc)
        return EXIT_ERROR
    return EXIT_OK


def run(
    argv: Sequence[str] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    terminal: Terminal | None = None,
) -> int:
    """Run the CLI and return its exit status (nothing calls ``sys.exit``)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    environ = os.environ if environ is None else environ
    terminal = terminal or Terminal()
    try:
        return _run(argv, environ, terminal)
    except Exit as stop:
        return stop.code
    except KeyboardInterrupt:
        terminal.err("\n")
        return 130


def main(argv: Sequence[str] | None = None) -> None:
    """Console-script entry point: ``kapacitor [options] [command] [args]``."""
    try:
        code = run(argv)
        sys.stdout.flush()
    except BrokenPipeError:
        # ``kapacitor list tasks | head``: stop quietly, as a Go program
        # killed by SIGPIPE would, without a traceback at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        code = 1
    sys.exit(code)
