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

from kapacitord_tw.tick.compiler import (
    CompiledTask, InvalidTaskType, RuntimeStats, compile_task,
    compile_template, dbrps, task_type)
from kapacitord_tw.tick.errors import (
    TickError, TickEvalError, TickSyntaxError, TickValidationError,
    TickVarError)
from kapacitord_tw.tick.evaluator import DeadmanConfig, TickVar, UDFInfo
from kapacitord_tw.tick.expr import EMPTY_SCOPE, Expression, ExprError, MapScope
from kapacitord_tw.tick.formatter import format_program
from kapacitord_tw.tick.parser import parse, parse_lambda
from kapacitord_tw.tick.pipeline import Pipeline, PipelineNode, default_node_stats
from kapacitord_tw.tick.vars import (
    VarDecodeError, VarScriptError, check_api_vars, var_from_api, var_to_api,
    vars_from_api, vars_to_api)


def format_script(script):
    """Kapacitor's canonical formatting; raises :class:`TickSyntaxError`."""
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
