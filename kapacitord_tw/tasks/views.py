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

# What ``GET /tasks?fields=`` may ask for, and what it shows when none is asked.
TASK_FIELDS = (
    "link", "id", "type", "dbrps", "script", "dot", "status", "executing", "error",
    "stats", "created", "modified", "last-enabled", "vars", "template-id",
)
TEMPLATE_FIELDS = ("link", "id", "type", "script", "dot", "error", "created", "modified")
# A template list shows no vars unless asked for them, as Kapacitor's.
TEMPLATE_LIST_FIELDS = TEMPLATE_FIELDS + ("vars",)
# Go's struct field order, which single objects keep.
_TASK_JSON_ORDER = (
    "link", "id", "template-id", "type", "dbrps", "script", "vars", "dot", "status",
    "executing", "error", "stats", "created", "modified", "last-enabled",
)
_TEMPLATE_JSON_ORDER = (
    "link", "id", "type", "script", "vars", "dot", "error", "created", "modified",
)


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


#: Task fields that come straight from the stored record.
_TASK_ATTRS = {
    "link": lambda task: link("tasks", task.id),
    "id": lambda task: task.id,
    "template-id": lambda task: task.template_id,
    "type": lambda task: task.type,
    "dbrps": lambda task: [d.to_json() for d in task.dbrps],
    "vars": lambda task: vars_json(task.vars),
    "status": lambda task: task.status,
    "created": lambda task: _time(task.created),
    "modified": lambda task: _time(task.modified),
    "last-enabled": lambda task: _time(task.last_enabled),
}

#: Template fields that come straight from the stored record.
_TEMPLATE_ATTRS = {
    "link": lambda template: link("templates", template.id),
    "id": lambda template: template.id,
    "type": lambda template: template.type,
    "error": lambda template: template.error,
    "created": lambda template: _time(template.created),
    "modified": lambda template: _time(template.modified),
}


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


def _template_vars(compiled) -> dict:
    return {name: compiled.vars[name] for name in sorted(compiled.vars)}


@defer.inlineCallbacks
def task_json(task: Task, scripts, master, script_format="formatted", dot_view="attributes"):
    """The task object of ``GET /tasks/<id>`` and of create/update answers.

    Unlike a list entry it shows a script that no longer compiles: its error
    replaces the stored one and the DOT is empty.
    """
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
    view = {name: value(task) for name, value in _TASK_ATTRS.items()}
    view.update(script=script, dot=dot, executing=executing is not None, error=error, stats=stats)
    return {key: view[key] for key in _TASK_JSON_ORDER}


@defer.inlineCallbacks
def task_entry(task: Task, fields: Iterable[str], scripts, master, script_format, dot_view):
    """One ``GET /tasks`` entry with the requested (known) fields.

    Only what is asked for is computed: the script is formatted, and compiled
    for its DOT, only when those fields are requested.
    """
    executing = master.executing(task.id)
    entry = {}
    for field in set(fields):
        if field in _TASK_ATTRS:
            if field == "template-id" and not task.template_id:
                continue
            value = _TASK_ATTRS[field](task)
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
        variables = _template_vars(compiled)
    view = {name: value(template) for name, value in _TEMPLATE_ATTRS.items()}
    view.update(script=script, vars=variables, dot=dot, error=error)
    return {key: view[key] for key in _TEMPLATE_JSON_ORDER}


@defer.inlineCallbacks
def template_entry(template: Template, fields: Iterable[str], scripts, script_format):
    """One ``GET /templates`` entry; ``{}`` when the stored script no longer compiles."""
    try:
        compiled = yield scripts.compile_template(template.script)
    except ScriptError:
        return {}
    entry = {}
    for field in set(fields):
        if field in _TEMPLATE_ATTRS:
            value = _TEMPLATE_ATTRS[field](template)
        elif field == "script":
            value = yield _script(scripts, template.script, script_format)
        elif field == "dot":
            value = compiled.dot(template.id)
        elif field == "vars":
            value = _template_vars(compiled)
        else:
            raise ValueError(field)
        entry[field] = value
    return {k: entry[k] for k in sorted(entry)}
