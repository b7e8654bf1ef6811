"""
Tasks and templates as the API shows them (reference §6.2, §6.4, §6.7).

Single objects keep Go's struct field order; list entries are Go maps, so
their keys are sorted, and a value Kapacitor cannot produce is ``null``.
"""

from __future__ import annotations

from typing import Iterable

from twisted.internet import defer

from kapacitord_tw import gocompat
from kapacitord_tw.http.routing import BASE
from kapacitord_tw.tasks.model import Task, Template
from kapacitord_tw.tasks.scripts import ScriptError

TASK_FIELDS = (
    "link", "id", "type", "dbrps", "script", "dot", "status", "executing", "error",
    "stats", "created", "modified", "last-enabled", "vars", "template-id",
)
TEMPLATE_FIELDS = ("link", "id", "type", "script", "dot", "error", "created", "modified")
TEMPLATE_LIST_FIELDS = TEMPLATE_FIELDS + ("vars",)


def link(kind: str, object_id: str) -> dict:
    return {"rel": "self", "href": gocompat.path_join(BASE, "/" + kind, object_id)}


def var_json(var: dict) -> dict:
    value = var.get("value")
    if var.get("type") == "list" and isinstance(value, list):
        value = [var_json(item) for item in value]
    return {"type": var.get("type"), "value": value, "description": var.get("description", "")}


def vars_json(variables: dict) -> dict:
    return {name: var_json(variables[name]) for name in sorted(variables)}


def _time(ns):
    return gocompat.format_time(ns)


@defer.inlineCallbacks
def _script(scripts, script: str, script_format: str):
    if script_format == "raw":
        return script
    formatted = yield scripts.format(script)
    return formatted


@defer.inlineCallbacks
def _compiled(scripts, task: Task):
    """``(compiled, None)`` or ``(None, error text)``."""
    try:
        compiled = yield scripts.compile_task(task.script, task.vars)
    except ScriptError as e:
        return None, e.detail
    return compiled, None


@defer.inlineCallbacks
def task_json(task: Task, scripts, master, script_format="formatted", dot_view="attributes"):
    """The task object of ``GET /tasks/<id>`` and of create/update answers."""
    script = yield _script(scripts, task.script, script_format)
    executing = master.executing(task.id)
    compiled, compile_error = yield _compiled(scripts, task)
    error, dot, stats = task.error, "", {}
    if compiled is None:
        error = compile_error
    elif executing is not None:
        dot = executing.dot(labels=dot_view == "labels")
        stats = executing.execution_stats()
    else:
        dot = compiled.dot(task.id)
    return {
        "link": link("tasks", task.id),
        "id": task.id,
        "template-id": task.template_id,
        "type": task.type,
        "dbrps": [d.to_json() for d in task.dbrps],
        "script": script,
        "vars": vars_json(task.vars),
        "dot": dot,
        "status": task.status,
        "executing": executing is not None,
        "error": error,
        "stats": stats,
        "created": _time(task.created),
        "modified": _time(task.modified),
        "last-enabled": _time(task.last_enabled),
    }


@defer.inlineCallbacks
def task_entry(task: Task, fields: Iterable[str], scripts, master, script_format, dot_view):
    """One ``GET /tasks`` entry with the requested (known) fields."""
    executing = master.executing(task.id)
    entry = {}
    for field in set(fields):
        if field == "id":
            value = task.id
        elif field == "link":
            value = link("tasks", task.id)
        elif field == "type":
            value = task.type
        elif field == "dbrps":
            value = [d.to_json() for d in task.dbrps]
        elif field == "script":
            value = yield _script(scripts, task.script, script_format)
        elif field == "executing":
            value = executing is not None
        elif field == "dot":
            if executing is not None:
                value = executing.dot(labels=dot_view == "labels")
            else:
                compiled, _ = yield _compiled(scripts, task)
                value = None if compiled is None else compiled.dot(task.id)
        elif field == "stats":
            value = None if executing is None else executing.execution_stats()
        elif field == "error":
            value = task.error
        elif field == "status":
            value = task.status
        elif field == "created":
            value = _time(task.created)
        elif field == "modified":
            value = _time(task.modified)
        elif field == "last-enabled":
            value = _time(task.last_enabled)
        elif field == "template-id":
            if not task.template_id:
                continue
            value = task.template_id
        elif field == "vars":
            value = vars_json(task.vars)
        else:
            raise ValueError(field)
        entry[field] = value
    return {k: entry[k] for k in sorted(entry)}


@defer.inlineCallbacks
def template_json(template: Template, scripts, script_format="formatted"):
    """The template object of ``GET /templates/<id>`` and create/update answers."""
    script = yield _script(scripts, template.script, script_format)
    error, dot, variables = template.error, "", {}
    try:
        compiled = yield scripts.compile_template(template.script)
    except ScriptError as e:
        error = e.detail
    else:
        dot = compiled.dot(template.id)
        variables = {name: compiled.vars[name] for name in sorted(compiled.vars)}
    return {
        "link": link("templates", template.id),
        "id": template.id,
        "type": template.type,
        "script": script,
        "vars": variables,
        "dot": dot,
        "error": error,
        "created": _time(template.created),
        "modified": _time(template.modified),
    }


@defer.inlineCallbacks
def template_entry(template: Template, fields: Iterable[str], scripts, script_format):
    """One ``GET /templates`` entry; ``{}`` when the stored script no longer compiles."""
    try:
        compiled = yield scripts.compile_template(template.script)
    except ScriptError:
        return {}
    entry = {}
    for field in set(fields):
        if field == "id":
            value = template.id
        elif field == "link":
            value = link("templates", template.id)
        elif field == "type":
            value = template.type
        elif field == "script":
            value = yield _script(scripts, template.script, script_format)
        elif field == "dot":
            value = compiled.dot(template.id)
        elif field == "vars":
            value = {name: compiled.vars[name] for name in sorted(compiled.vars)}
        elif field == "error":
            value = template.error
        elif field == "created":
            value = _time(template.created)
        elif field == "modified":
            value = _time(template.modified)
        else:
            raise ValueError(field)
        entry[field] = value
    return {k: entry[k] for k in sorted(entry)}
