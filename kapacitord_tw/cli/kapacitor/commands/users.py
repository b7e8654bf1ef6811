"""``kapacitor user ...``: manage the users of Kapacitor's internal authorizations.

Not in the original CLI, which left users to curl. Requests and bodies are
those of Go's ``client/v1`` (``CreateUserOptions``/``UpdateUserOptions``).
Passwords never come from the command line, where ``ps`` and shell history
would keep them: they come from a no-echo prompt, or from the first line of
standard input when it is not a terminal (for scripts).
"""

from __future__ import annotations

from ...goflags import Flag, FlagSet
from .. import usage
from ..client import ApiError, TransportError
from ..gofmt import go_quote
from ..runtime import CommandError, Context, EXIT_OK, Exit
from .common import all_pages, id_width, pad

__all__ = [
    "PERMISSIONS",
    "USER_TYPES",
    "CREATE_FLAGS",
    "UPDATE_FLAGS",
    "parse_permissions",
    "user",
    "SUBCOMMAND_USAGE",
]

PERMISSIONS = ("none", "api", "config_api", "write_points", "all")
USER_TYPES = ("normal", "admin")


def parse_permissions(text: str) -> list[str]:
    """``api,write_points`` into a list; ``""`` is the empty list (remove all)."""
    items = [item.strip() for item in text.split(",") if item.strip()]
    for item in items:
        if item not in PERMISSIONS:
            raise ValueError(
                "unknown permission %s, must be one of %s"
                % (go_quote(item), ", ".join(PERMISSIONS))
            )
    return items


def _user_type(text: str) -> str:
    if text not in USER_TYPES:
        raise ValueError('must be "admin" or "normal"')
    return text


_PERMS_USAGE = "Comma-separated permissions: none, api, config_api, write_points, all"

CREATE_FLAGS = FlagSet(
    (
        Flag("type", "The user type (admin|normal)", default="normal", convert=_user_type),
        Flag("perms", _PERMS_USAGE, default=None, convert=parse_permissions),
    )
)

UPDATE_FLAGS = FlagSet(
    (
        Flag("type", "The new user type (admin|normal)", default=None, convert=_user_type),
        Flag("perms", _PERMS_USAGE + ' ("" removes all)', default=None, convert=parse_permissions),
    )
)

_NO_FLAGS = FlagSet(())


def _name_and_options(ctx: Context, args: list[str], flags: FlagSet, text: str):
    """``NAME [flags]`` or ``[flags] NAME``; exactly one name."""
    if args and not args[0].startswith("-"):
        name, options = args[0], ctx.parse(flags, args[1:], text)
        extra = options.args
    else:
        options = ctx.parse(flags, args, text)
        name, extra = (options.args[0], options.args[1:]) if options.args else ("", [])
    if not name:
        ctx.fail("Must provide a user name.", text, flags)
    if extra:
        ctx.fail("Unexpected arguments: %s" % " ".join(extra), text, flags)
    return name, options


def _read_password(ctx: Context, name: str) -> str:
    terminal = ctx.terminal
    try:
        if terminal.interactive():
            first = terminal.prompt_secret("New password for user %s: " % name)
            second = terminal.prompt_secret("Retype the password: ")
            if first != second:
                raise CommandError("the passwords do not match")
        else:
            first = terminal.stdin.readline()
            if first.endswith("\n"):
                first = first[:-1]
            if first.endswith("\r"):
                first = first[:-1]
    except EOFError:
        first = ""
    if not first:
        raise CommandError("password is required")
    return first


def _permissions_text(user_record: dict) -> str:
    return ",".join(str(p) for p in user_record.get("permissions") or [])


def create(ctx: Context, args: list[str]) -> None:
    name, options = _name_and_options(ctx, args, CREATE_FLAGS, usage.USER_CREATE)
    password = _read_password(ctx, name)
    created = ctx.client.create_user(
        {
            "name": name,
            "password": password,
            "type": options["type"],
            "permissions": options["perms"] or [],
        }
    )
    # The original server answers a duplicate name with 200 and an empty user.
    if not created.get("name"):
        raise CommandError("user %s already exists" % go_quote(name))


def update(ctx: Context, args: list[str]) -> None:
    name, options = _name_and_options(ctx, args, UPDATE_FLAGS, usage.USER_UPDATE)
    if not options.given:
        ctx.fail("Must provide -type or -perms.", usage.USER_UPDATE, UPDATE_FLAGS)
    body = {}
    if options["type"]:
        body["type"] = options["type"]
    body["permissions"] = options["perms"]  # null leaves them unchanged
    ctx.client.update_user(name, body)


def passwd(ctx: Context, args: list[str]) -> None:
    name, _ = _name_and_options(ctx, args, _NO_FLAGS, usage.USER_PASSWD)
    password = _read_password(ctx, name)
    ctx.client.update_user(name, {"password": password, "permissions": None})


def delete(ctx: Context, args: list[str]) -> None:
    options = ctx.parse(_NO_FLAGS, args, usage.USER_DELETE)
    if not options.args:
        ctx.fail("Must provide at least one user name.", usage.USER_DELETE)
    for name in options.args:
        ctx.client.delete_user(name)


def show(ctx: Context, args: list[str]) -> None:
    options = ctx.parse(_NO_FLAGS, args, usage.USER_SHOW)
    if len(options.args) != 1:
        ctx.fail("Must specify one user name.", usage.USER_SHOW)
    found = ctx.client.user(options.args[0])
    out = ctx.terminal.out
    out("Name: %s\n" % found.get("name", ""))
    out("Type: %s\n" % found.get("type", ""))
    out("Permissions: %s\n" % _permissions_text(found))


def list_users(ctx: Context, args: list[str]) -> None:
    options = ctx.parse(_NO_FLAGS, args, usage.USER_LIST)
    found = []
    for pattern in options.args or [""]:
        found.extend(all_pages(
            lambda offset, limit: ctx.client.list_users(pattern, offset, limit)
        ))
    width = id_width([u.get("name", "") for u in found], "Name")
    out = ctx.terminal.out
    out("%s%s%s\n" % (pad("Name", width), pad("Type", 10), "Permissions"))
    for record in sorted(found, key=lambda u: u.get("name", "")):
        out(
            "%s%s%s\n"
            % (pad(record.get("name", ""), width), pad(str(record.get("type", "")), 10), _permissions_text(record))
        )


_SUBCOMMANDS = {
    "create": create,
    "list": list_users,
    "show": show,
    "update": update,
    "passwd": passwd,
    "delete": delete,
}

SUBCOMMAND_USAGE = {
    "create": (usage.USER_CREATE, CREATE_FLAGS),
    "list": (usage.USER_LIST, None),
    "show": (usage.USER_SHOW, None),
    "update": (usage.USER_UPDATE, UPDATE_FLAGS),
    "passwd": (usage.USER_PASSWD, None),
    "delete": (usage.USER_DELETE, None),
}

_NO_USERS_API = (
    "the server has no /users API; it needs [auth] enabled = true "
    "(KAPACITOR_AUTH_ENABLED=true) in kapacitord's configuration"
)


def user(ctx: Context, args: list[str]) -> None:
    if not args:
        ctx.fail("Must specify a user command.", usage.USER)
    if args[0] in ("-h", "-help", "--h", "--help", "help"):
        ctx.usage(usage.USER)
        raise Exit(EXIT_OK)
    handler = _SUBCOMMANDS.get(args[0])
    if handler is None:
        ctx.fail("Unknown user command %s" % args[0], usage.USER)
    try:
        handler(ctx, args[1:])
    except ApiError as exc:
        # The catch-all 404 means the whole /users API is missing.
        if exc.status == 404 and exc.message == "Not Found":
            raise ApiError(404, "%s: %s" % (exc.message, _NO_USERS_API)) from None
        raise
    except TransportError:
        raise
