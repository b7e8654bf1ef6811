"""Template commands: define-template, show-template, list/delete templates."""

from __future__ import annotations

from ...goflags import Flag, FlagSet
from .. import usage
from ..gofmt import rfc822
from ..runtime import CommandError, Context
from ..taskvars import ListVarError, format_var_value
from .common import all_pages, delete_pages, existing, id_width, pad, read_text

__all__ = [
    "DEFINE_TEMPLATE_FLAGS",
    "define_template",
    "show_template",
    "list_templates",
    "delete_templates",
]

DEFINE_TEMPLATE_FLAGS = FlagSet(
    (
        Flag("tick", "Path to the TICKscript"),
        Flag("type", "The template type (stream|batch)"),
    )
)


def define_template(ctx: Context, args: list[str]) -> None:
    template_id, options = ctx.parse_id_and_flags(
        DEFINE_TEMPLATE_FLAGS, args, usage.DEFINE_TEMPLATE, "Must provide a template ID."
    )
    script = read_text(options["tick"]) if options["tick"] else ""
    template_type = options["type"] if options["type"] in ("stream", "batch") else None

    client = ctx.client
    href = client.template_link(template_id)
    current = existing(client.template, href)
    body = {"id": template_id, "type": template_type, "script": script}
    if not current.get("id"):
        client.create_template({k: v for k, v in body.items() if v})
    else:
        body.pop("id")
        client.update_template(href, {k: v for k, v in body.items() if v})


def show_template(ctx: Context, args: list[str]) -> None:
    if len(args) != 1:
        ctx.fail("Must specify one template ID", usage.SHOW_TEMPLATE)
    client = ctx.client
    template = client.template(client.template_link(args[0]))
    out = ctx.terminal.out
    out("ID: %s\n" % template.get("id", ""))
    out("Error: %s\n" % template.get("error", ""))
    out("Type: %s\n" % template.get("type", ""))
    out("Created: %s\n" % rfc822(template.get("created")))
    out("Modified: %s\n" % rfc822(template.get("modified")))
    out("TICKscript:\n%s\n" % template.get("script", ""))
    out("Vars:\n")
    out(_var_row("Name", "Type", "Default Value", "Description"))
    template_vars = template.get("vars") or {}
    for name in sorted(template_vars):
        var = template_vars[name] or {}
        try:
            value = format_var_value(var, required_text="<required>")
        except ListVarError as exc:
            raise CommandError("invalid var %s: %s" % (name, exc)) from None
        out(_var_row(name, str(var.get("type", "")), value, str(var.get("description", ""))))
    out("DOT:\n%s\n" % template.get("dot", ""))


def _var_row(name: str, var_type: str, value: str, description: str) -> str:
    return "%s%s%s%s\n" % (pad(name, 30), pad(var_type, 10), pad(value, 40), pad(description, 40))


def list_templates(ctx: Context, patterns: list[str]) -> None:
    found = []
    for pattern in patterns:
        found.extend(all_pages(
            lambda offset, limit: ctx.client.list_templates(pattern, ["type", "vars"], offset, limit)
        ))
    width = id_width([t.get("id", "") for t in found], "ID")
    out = ctx.terminal.out
    out("%s%s%s\n" % (pad("ID", width), pad("Type", 10), pad("Vars", 40)))
    for template in sorted(found, key=lambda t: t.get("id", "")):
        names = ",".join(sorted(template.get("vars") or {}))
        out(
            "%s%s%s\n"
            % (pad(template.get("id", ""), width), pad(str(template.get("type", "")), 10), pad(names, 40))
        )


def delete_templates(ctx: Context, patterns: list[str]) -> None:
    for pattern in patterns:
        delete_pages(
            lambda offset, limit: ctx.client.list_templates(pattern, ["link"], offset, limit),
            ctx.client.delete_link,
        )
