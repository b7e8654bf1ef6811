"""Helpers for the task API tests: an app in memory and Go's pretty JSON, written independently."""

from __future__ import annotations

import json
import re

from tests.http.harness import V1, Harness

TASKS = V1 + "/tasks"
TEMPLATES = V1 + "/templates"
CPU_SCRIPT = "stream|from().measurement('cpu')|alert().crit(lambda: \"usage_idle\" < 10)"
CPU_FORMATTED = (
    "stream\n"
    "    |from()\n"
    "        .measurement('cpu')\n"
    "    |alert()\n"
    "        .crit(lambda: \"usage_idle\" < 10)\n"
)
TELEGRAF = [{"db": "telegraf", "rp": "autogen"}]
RFC3339_NANO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)$")
ZERO_TIME = "0001-01-01T00:00:00Z"


def go_pretty(obj) -> bytes:
    """``json.MarshalIndent(v, "", "    ")``: HTML characters escaped, no trailing newline."""
    text = json.dumps(obj, indent=4, ensure_ascii=False)
    for ch, esc in (("&", "\\u0026"), ("<", "\\u003c"), (">", "\\u003e")):
        text = text.replace(ch, esc)
    return text.encode()


def error_body(message: str) -> bytes:
    return go_pretty({"error": message, "message": message})


def make_harness(tmp_path, **config) -> Harness:
    config.setdefault("http_auth", False)
    return Harness(tmp_path, **config)


def define(h: Harness, task_id="cpu_alert", script=CPU_SCRIPT, dbrps=TELEGRAF, **extra):
    body = {"id": task_id, "type": "stream", "script": script, **extra}
    if dbrps is not None:
        body["dbrps"] = dbrps
    reply = h.post(TASKS, body)
    assert reply.code == 200, reply.body
    return reply.json()


def assert_error(reply, code: int, message: str) -> None:
    assert (reply.code, reply.body) == (code, error_body(message))
