"""Task commands: define, enable, disable, reload, show, list tasks, delete tasks."""

from __future__ import annotations

from ...goflags import Flag, FlagSet
from .. import usage
from ..client import ApiError, TransportError
from ..gofmt import dbrps_text, go_value, rfc822
from ..runtime import CommandError, Context
from ..taskvars import (
    ListVarError,
    VarsError,
    decode_task_file,
    decode_vars,
    format_var_value,
    load_json,
)
from .common import (
    all_pages,
    delete_pages,
    existing,
    id_width,
    pad,
    pages,
    read_document,
    read_text,
    wrap,
)

__all__ = [
    "DEFINE_FLAGS",
    "SHOW_FLAGS",
    "parse_dbrp",
    "define",
    "enable",
    "disable",
    "reload",
    "show",
    "list_tasks",
    "delete_tasks",
]

def _parse_quoted(text: str) -> tuple[str, int]:
    """Read a quoted string (``\\"`` unescaped); return it and the chars used."""
    quote = text[0]
    pieces = []
    last = 1
    i = 1
    while i < len(text) - 1:
        if text[i] == "\\" and text[i + 1] == quote:
            pieces.append(text[last:i])
            pieces.append(quote)
            i += 2
            last = i
        elif text[i] == quote:
            break
        i += 1
    pieces.append(text[last:i])
    return "".join(pieces), i + 1


def parse_dbrp(value: str) -> dict:
    """``db.rp`` or ``"db"."rp"`` (quotes optional) into ``{"db", "rp"}``."""
    if not value:
        raise ValueError("dbrp cannot be empty")
    if value[0] == '"':
        database, used = _parse_quoted(value)
    else:
        used = value.find(".")
        if used == -1:
            raise ValueError(
                "does not contain a '.', it must be in the form "
                '"dbname"."rpname" where the quotes are optional.'
            )
        database = value[:used]
    if used >= len(value) or value[used] != ".":
        raise ValueError(
            "dbrp must specify retention policy, do you have a missing or extra '.'?"
        )
    rest = value[used + 1 :]
    if rest.startswith('"'):
        policy, _ = _parse_quoted(rest)
    else:
        policy = rest
    return {"db": database, "rp": policy}


DEFINE_FLAGS = FlagSet(
    (
        Flag("tick", "Path to the TICKscript"),
        Flag("type", "The task type (stream|batch)"),
        Flag("template", "Optional template ID"),
        Flag("vars", "Optional path to a JSON vars file"),
        Flag(
            "file",
            "Optional path to a YAML or JSON template task file. If id is given "
            "in the task file, it must match the Task id given on the command line.",
        ),
        Flag("no-reload", "Do not reload the task even if it is enabled", kind="bool", default=False),
        Flag(
            "dbrp",
            'A database and retention policy pair of the form "db"."rp" the quotes '
            "are optional. The flag can be specified multiple times.",
            kind="value",
            convert=parse_dbrp,
            repeat=True,
        ),
    )
)

SHOW_FLAGS = FlagSet(
    (
        Flag(
            "replay",
            "Optional replay ID. If set the task information is in the context of the running replay.",
        ),
    )
)


def _task_type(text: str) -> str | None:
    """Only ``stream``/``batch`` are sent; anything else leaves the type unset."""
    return text if text in ("stream", "batch") else None


def _read_vars(path: str) -> dict:
    text = read_text(path, "failed to open file %s" % path)
    try:
        document = load_json(text)
    except VarsError as exc:
        raise CommandError("invalid JSON in file %s: %s" % (path, exc)) from None
    try:
        return decode_vars(document)
    except VarsError:
        pass
    # Also accept a task-vars document ({"vars": {...}}), as the original does.
    try:
        if not isinstance(document, dict):
            raise VarsError("vars must be a JSON object of name to var")
        return decode_vars(document.get("vars"))
    except VarsError as exc:
        raise CommandError("invalid JSON in file %s: %s" % (path, exc)) from None


def _read_task_file(path: str) -> dict:
    text = read_text(path, "failed to open file %s" % path)
    kind, document = read_document(path, text, "task vars file")
    try:
        return decode_task_file(document)
    except VarsError as exc:
        raise CommandError(
            'failed to unmarshal %s task vars file "%s": %s' % (kind, path, exc)
        ) from None


def _ordered(options: dict) -> dict:
    """Field order of Go's CreateTaskOptions, empty fields left out."""
    order = ("id", "template-id", "type", "dbrps", "script", "status", "vars")
    return {key: options[key] for key in order if options.get(key)}


def define(ctx: Context, args: list[str]) -> None:
    # The original counted arguments (odd = ID + flag pairs), which rejected
    # every use of the bool -no-reload; we only require the ID to come first.
    task_id, options = ctx.parse_id_and_flags(
        DEFINE_FLAGS, args, usage.DEFINE, "Must provide a task ID."
    )
    script = read_text(options["tick"]) if options["tick"] else ""
    task_vars = _read_vars(options["vars"]) if options["vars"] else {}
    file_options = _read_task_file(options["file"]) if options["file"] else None

    client = ctx.client
    href = client.task_link(task_id)
    current = existing(client.task, href)

    if file_options is not None:
        file_id = file_options.get("id", "")
        if file_id and file_id != task_id:
            raise CommandError(
                "Task id given on command line does not match id in " + options["file"]
            )
        body = _ordered(dict(file_options, id=task_id))
    else:
        body = _ordered(
            {
                "id": task_id,
                "template-id": options["template"],
                "type": _task_type(options["type"]),
                "dbrps": options["dbrp"],
                "script": script,
                "vars": task_vars,
            }
        )
    if not current.get("id"):
        if file_options is None:
            body = _ordered(dict(body, status="disabled"))
        client.create_task(body)
    else:
        if file_options is None:
            body.pop("id", None)
        client.update_task(href, body)

    if not options["no-reload"] and current.get("status") == "enabled":
        client.update_task(href, {"status": "disabled"})
        client.update_task(href, {"status": "enabled"})


def _set_status(ctx: Context, patterns: list[str], status: str, verb: str) -> None:
    def task_links(pattern: str, offset: int, limit: int) -> list:
        try:
            return ctx.client.list_tasks(pattern, ["link"], offset, limit)
        except (ApiError, TransportError) as exc:
            raise wrap(exc, "listing tasks") from None

    for pattern in patterns:
        for page in pages(lambda offset, limit: task_links(pattern, offset, limit)):
            for task in page:
                try:
                    ctx.client.update_task(task["link"]["href"], {"status": status})
                except (ApiError, TransportError) as exc:
                    raise wrap(exc, "%s task %s" % (verb, task.get("id", ""))) from None


def _need_ids(ctx: Context, args: list[str], text: str) -> None:
    if not args:
        ctx.fail("Must pass at least one task ID", text)


def enable(ctx: Context, args: list[str]) -> None:
    _need_ids(ctx, args, usage.ENABLE)
    _set_status(ctx, args, "enabled", "enabling")


def disable(ctx: Context, args: list[str]) -> None:
    _need_ids(ctx, args, usage.DISABLE)
    _set_status(ctx, args, "disabled", "disabling")


def reload(ctx: Context, args: list[str]) -> None:
    _need_ids(ctx, args, usage.RELOAD)
    _set_status(ctx, args, "disabled", "disabling")
    _set_status(ctx, args, "enabled", "enabling")


def show(ctx: Context, args: list[str]) -> None:
    options = ctx.parse(SHOW_FLAGS, args, usage.SHOW)
    if len(options.args) != 1:
        ctx.fail("Must specify one task ID", usage.SHOW, SHOW_FLAGS)
    client = ctx.client
    task = client.task(client.task_link(options.args[0]), replay_id=options["replay"])
    out = ctx.terminal.out
    out("ID: %s\n" % task.get("id", ""))
    out("Error: %s\n" % task.get("error", ""))
    out("Template: %s\n" % task.get("template-id", ""))
    out("Type: %s\n" % task.get("type", ""))
    out("Status: %s\n" % task.get("status", ""))
    out("Executing: %s\n" % go_value(bool(task.get("executing", False))))
    out("Created: %s\n" % rfc822(task.get("created")))
    out("Modified: %s\n" % rfc822(task.get("modified")))
    out("LastEnabled: %s\n" % rfc822(task.get("last-enabled")))
    out("Databases Retention Policies: %s\n" % dbrps_text(task.get("dbrps")))
    out("TICKscript:\n%s\n" % task.get("script", ""))
    task_vars = task.get("vars") or {}
    if task_vars:
        out("Vars:\n")
        out(_var_row("Name", "Type", "Value"))
        for name in sorted(task_vars):
            var = task_vars[name] or {}
            try:
                value = format_var_value(var)
            except ListVarError as exc:
                raise CommandError("invalid var %s: %s" % (name, exc)) from None
            out(_var_row(name, str(var.get("type", "")), value))
    out("DOT:\n%s\n" % task.get("dot", ""))


def _var_row(name: str, var_type: str, value: str) -> str:
    return "%s%s%s\n" % (pad(name, 30), pad(var_type, 10), pad(value, 40))


def list_tasks(ctx: Context, patterns: list[str]) -> None:
    fields = ["type", "status", "executing", "dbrps"]
    found = []
    for pattern in patterns:
        found.extend(all_pages(
            lambda offset, limit: ctx.client.list_tasks(pattern, fields, offset, limit)
        ))
    width = id_width([t.get("id", "") for t in found], "ID")
    out = ctx.terminal.out
    out(_task_row(width, "ID", "Type", "Status", "Executing", "Databases and Retention Policies"))
    for task in sorted(found, key=lambda t: t.get("id", "")):
        out(
            _task_row(
                width,
                task.get("id", ""),
                str(task.get("type", "")),
                str(task.get("status", "")),
                go_value(bool(task.get("executing", False))),
                dbrps_text(task.get("dbrps")),
            )
        )


def _task_row(width: int, task_id: str, task_type: str, status: str, executing: str, dbrps: str) -> str:
    return "%s%s%s%s%s\n" % (
        pad(task_id, width),
        pad(task_type, 10),
        pad(status, 10),
        pad(executing, 10),
        dbrps,
    )


def delete_tasks(ctx: Context, patterns: list[str]) -> None:
    for pattern in patterns:
        delete_pages(
            lambda offset, limit: ctx.client.list_tasks(pattern, ["link"], offset, limit),
            ctx.client.delete_link,
        )

