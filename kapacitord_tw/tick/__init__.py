"""TICKscript front end: parse, format, compile to a pipeline, render DOT.

Public API (everything the task/template HTTP API needs)::

    parse(script) -> syntax.ProgramNode            # TickSyntaxError
    format_script(script) -> str                   # script-format=formatted
    task_type(program) -> "stream" | "batch" | None
    dbrps(program) -> [(db, rp), ...]
    compile_task(script, vars=None, template=False, udfs=None, deadman=None)
        -> CompiledTask(.type, .dbrps, .vars, .pipeline, .dot(name, stats))
    compile_template(script, udfs=None, deadman=None) -> CompiledTask
    check_api_vars(mapping)   # VarDecodeError ("invalid JSON"), TickVarError
    vars_from_api(mapping)    # ... and VarScriptError (bad lambda/regex)
    vars_to_api(tick_vars)

    Expression(lambda_or_binary_node).eval(MapScope({"value": 1.5}))
        # Kapacitor's lambda engine (functions, operators, error texts);
        # ExprError on failure.  Each Expression keeps its own state for
        # count()/sigma()/spread().

``str()`` of every :class:`TickError` is the text Kapacitor puts after
``invalid TICKscript: `` -- except :class:`InvalidTaskType`, whose text is
the API's whole message ``invalid task type: invalid``.
"""

import importlib

#: Public name -> the submodule defining it.  Importing ``kapacitord_tw.tick``
#: (or one small submodule such as ``tick.gonum``) must not compile the
#: whole front end: the compiler, its catalogue and the regex engine load on
#: first use of a name (PEP 562), i.e. when a task or a match is compiled.
_EXPORTS = {
    "compiler": ("CompiledTask", "InvalidTaskType", "RuntimeStats", "compile_task",
                 "compile_template", "dbrps", "task_type"),
    "errors": ("TickError", "TickEvalError", "TickSyntaxError", "TickValidationError",
               "TickVarError"),
    "evaluator": ("DeadmanConfig", "TickVar", "UDFInfo"),
    "expr": ("EMPTY_SCOPE", "Expression", "ExprError", "MapScope"),
    "formatter": ("format_program",),
    "parser": ("parse", "parse_lambda"),
    "pipeline": ("Pipeline", "PipelineNode", "default_node_stats"),
    "vars": ("VarDecodeError", "VarScriptError", "check_api_vars", "var_from_api",
             "var_to_api", "vars_from_api", "vars_to_api"),
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}


def __getattr__(name):
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_MODULE_OF))


def load_all() -> None:
    """Import every submodule behind the public names now.

    Call it on the reactor thread before handing front-end work to a worker
    thread, so that thread never runs an import (imports racing between
    threads is what the lazy loading must not add).
    """
    for module in _EXPORTS:
        importlib.import_module(f"{__name__}.{module}")


def format_script(script):
    """Kapacitor's canonical formatting; raises :class:`TickSyntaxError`."""
    from kapacitord_tw.tick.formatter import format_program
    from kapacitord_tw.tick.parser import parse

    return format_program(parse(script))


__all__ = [
    "CompiledTask", "DeadmanConfig", "EMPTY_SCOPE", "Expression",
    "ExprError", "MapScope", "default_node_stats", "InvalidTaskType", "Pipeline",
    "PipelineNode", "RuntimeStats", "TickError", "TickEvalError",
    "TickSyntaxError", "TickValidationError", "TickVar", "TickVarError",
    "UDFInfo", "VarDecodeError", "VarScriptError", "check_api_vars",
    "compile_task", "compile_template", "dbrps", "format_script",
    "parse", "parse_lambda", "task_type", "var_from_api", "var_to_api",
    "vars_from_api", "vars_to_api",
]
