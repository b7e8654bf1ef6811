"""Alert topics and their handlers: list, show, define and delete them."""

from __future__ import annotations

from .. import usage
from ..gofmt import go_json, rfc3339_sort_key, rfc822_local
from ..runtime import CommandError, Context
from .common import existing, pad, read_document, read_text

__all__ = [
    "list_topics",
    "list_topic_handlers",
    "show_topic",
    "show_topic_handler",
    "define_topic_handler",
    "delete_topics",
    "delete_topic_handlers",
]


def _width(values: list[str], minimum: int) -> int:
    """Go's ``max + 1`` column width, measured in bytes like ``len()``."""
    return max([minimum] + [len(v.encode("utf-8")) for v in values]) + 1


def list_topics(ctx: Context, patterns: list[str]) -> None:
    found = []
    for pattern in patterns:
        found.extend(ctx.client.list_topics(pattern))
    id_width = _width([t.get("id", "") for t in found], 2)
    level_width = _width([t.get("level", "") for t in found], 8)
    out = ctx.terminal.out
    out("%s%s%10s\n" % (pad("ID", id_width), pad("Level", level_width), "Collected"))
    for topic in found:
        out(
            "%s%s%10d\n"
            % (pad(topic.get("id", ""), id_width), pad(topic.get("level", ""), level_width),
               int(topic.get("collected") or 0))
        )


def list_topic_handlers(ctx: Context, patterns: list[str]) -> None:
    client = ctx.client
    topics = client.list_topics(patterns[0])
    handler_patterns = patterns[1:] or [""]
    rows = []
    for topic in topics:
        href = (topic.get("handlers-link") or {}).get("href") or client.topic_handlers_link(topic.get("id", ""))
        for pattern in handler_patterns:
            for handler in client.topic_handlers(href, pattern):
                rows.append((topic.get("id", ""), handler.get("id", ""), handler.get("kind", "")))
    widths = [_width([row[i] for row in rows], 10) for i in range(3)]
    out = ctx.terminal.out
    out("%s%s%s\n" % (pad("Topic", widths[0]), pad("ID", widths[1]), pad("Kind", widths[2])))
    for row in rows:
        out("%s%s%s\n" % tuple(pad(value, width) for value, width in zip(row, widths)))


def show_topic(ctx: Context, args: list[str]) -> None:
    if len(args) != 1:
        ctx.fail("Must specify one topic ID", usage.SHOW_TOPIC)
    client = ctx.client
    topic = client.topic(client.topic_link(args[0]))
    events_href = (topic.get("events-link") or {}).get("href") or (client.topic_link(args[0]) + "/events")
    events = client.topic_events(events_href)
    handlers_href = (topic.get("handlers-link") or {}).get("href") or client.topic_handlers_link(args[0])
    handlers = client.topic_handlers(handlers_href)

    event_width = _width([e.get("id", "") for e in events], 5)
    message_width = _width([(e.get("state") or {}).get("message", "") for e in events], 7)
    events = sorted(events, key=lambda e: rfc3339_sort_key((e.get("state") or {}).get("time")))

    out = ctx.terminal.out
    out("ID: %s\n" % topic.get("id", ""))
    out("Level: %s\n" % topic.get("level", ""))
    out("Collected: %d\n" % int(topic.get("collected") or 0))
    out("Handlers: [%s]\n" % ", ".join(h.get("id", "") for h in handlers))
    out("Events:\n")

    def row(event: str, level: str, message: str, date: str) -> str:
        return "%s%s%s%s\n" % (pad(event, event_width), pad(level, 9), pad(message, message_width), pad(date, 23))

    out(row("Event", "Level", "Message", "Date"))
    for event in events:
        state = event.get("state") or {}
        out(row(event.get("id", ""), state.get("level", ""), state.get("message", ""), rfc822_local(state.get("time"))))


def show_topic_handler(ctx: Context, args: list[str]) -> None:
    if len(args) != 2:
        ctx.fail("Must specify both topic and handler IDs", usage.SHOW_TOPIC_HANDLER)
    topic, handler_id = args
    handler = ctx.client.topic_handler(ctx.client.topic_handler_link(topic, handler_id))
    out = ctx.terminal.out
    out("ID: %s\n" % handler.get("id", ""))
    out("Topic: %s\n" % topic)
    out("Kind: %s\n" % handler.get("kind", ""))
    out("Match: %s\n" % handler.get("match", ""))
    out("Options: %s\n" % go_json(handler.get("options"), sort_keys=True))


def _read_handler_spec(path: str) -> dict:
    text = read_text(path, 'failed to open handler spec file "%s"' % path)
    _kind, document = read_document(path, text, "handler file")
    if not isinstance(document, dict):
        raise CommandError('handler file "%s" must hold an object' % path)
    spec = {}
    for key in ("topic", "id", "kind"):
        spec[key] = str(document.get(key) or "")
    spec["options"] = document.get("options")
    spec["match"] = str(document.get("match") or "")
    return spec


def define_topic_handler(ctx: Context, args: list[str]) -> None:
    if len(args) != 1:
        ctx.fail("Must provide a path to a handler file.", usage.DEFINE_TOPIC_HANDLER)
    spec = _read_handler_spec(args[0])
    client = ctx.client
    href = client.topic_handler_link(spec["topic"], spec["id"])
    current = existing(client.topic_handler, href)
    if not current.get("id"):
        client.create_topic_handler(client.topic_handlers_link(spec["topic"]), spec)
    else:
        client.replace_topic_handler(href, spec)


def delete_topics(ctx: Context, patterns: list[str]) -> None:
    for pattern in patterns:
        for topic in ctx.client.list_topics(pattern):
            ctx.client.delete_link(topic["link"]["href"])


def delete_topic_handlers(ctx: Context, args: list[str]) -> None:
    topic, patterns = args[0], args[1:]
    href = ctx.client.topic_handlers_link(topic)
    for pattern in patterns:
        for handler in ctx.client.topic_handlers(href, pattern):
            ctx.client.delete_link(handler["link"]["href"])
