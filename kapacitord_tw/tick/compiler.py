"""From TICKscript text to a compiled task: type, dbrps, vars, pipeline, DOT.

This is the sequence Kapacitor's task store runs when a task or template
is created: parse, derive the task type from the chains' roots, collect
``dbrp`` statements, evaluate the script into a pipeline with the caller's
vars, validate every node, and refuse a task that does nothing.
"""

import attr

from kapacitord_tw.tick import syntax as ast
from kapacitord_tw.tick.errors import TickError, TickEvalError, \
    TickValidationError
from kapacitord_tw.tick.evaluator import (
    DeadmanConfig, Evaluator, new_scope)
from kapacitord_tw.tick.validation import validate
from kapacitord_tw.tick.parser import parse
from kapacitord_tw.tick.pipeline import GraphBuilder
from kapacitord_tw.tick.durations import Duration
from kapacitord_tw.tick.values import GoObject
from kapacitord_tw.tick.vars import vars_to_api


class InvalidTaskType(TickError):
    """No (or mixed) ``stream``/``batch`` roots.

    ``str()`` is the API's whole message (``invalid task type: invalid``),
    which Kapacitor does *not* prefix with ``invalid TICKscript:``.
    """

    def __init__(self):
        super().__init__("invalid task type: invalid")


def task_type(program):
    """``"stream"``, ``"batch"`` or ``None`` (Kapacitor: invalid)."""
    kinds = []
    for statement in program.nodes:
        if isinstance(statement, ast.DeclarationNode):
            node = statement.right
        elif isinstance(statement, ast.ChainNode):
            node = statement.left
        else:
            continue
        while isinstance(node, ast.ChainNode):
            node = node.left
        if isinstance(node, ast.IdentifierNode) and \
                node.ident in ("stream", "batch"):
            kinds.append(node.ident)
    if not kinds or any(kind != kinds[0] for kind in kinds):
        return None
    return kinds[0]


def dbrps(program):
    """The ``dbrp "db"."rp"`` statements, in order, as (db, rp) pairs."""
    return [(s.db.reference, s.rp.reference) for s in program.nodes
            if isinstance(s, ast.DBRPNode)]


@attr.s(frozen=True, slots=True)
class RuntimeStats:
    """Stats of an executing task for :meth:`CompiledTask.dot`.

    ``nodes`` maps a node name to ``{stat: value}``; ``edges`` maps
    ``(parent, child)`` names to the number of points/batches collected.
    Anything missing is shown as zero, as before data flows.
    """

    nodes = attr.ib(factory=dict)
    edges = attr.ib(factory=dict)
    throughput = attr.ib(default=0.0)


@attr.s(frozen=True, slots=True)
class CompiledTask:
    script = attr.ib()
    program = attr.ib(repr=False)
    type = attr.ib()  # "stream" | "batch"
    dbrps = attr.ib()  # list of (db, rp) from the script
    vars = attr.ib()  # declared vars in API shape: name -> {type,value,...}
    tick_vars = attr.ib(repr=False)  # name -> evaluator TickVar
    pipeline = attr.ib(repr=False)

    def dot(self, name, stats=None, labels=False):
        """Graphviz text; with ``stats`` the executing-task variant."""
        if stats is None:
            return self.pipeline.dot(name)
        return self.pipeline.stats_dot(name, self.type, stats.nodes,
                                       stats.edges, stats.throughput, labels)


def compile_task(script, vars=None, template=False, udfs=None, deadman=None):
    """Compile a task (or, with ``template=True``, a template).

    ``vars`` maps names to evaluator vars (see :func:`vars.vars_from_api`).
    Templates ignore missing values of typed declarations; tasks fail with
    ``missing value for var "x".``.  Raises :class:`TickError` subclasses.
    """
    program = parse(script)
    kind = task_type(program)
    if kind is None:
        raise InvalidTaskType()
    deadman = deadman or DeadmanConfig()
    graph = GraphBuilder()
    source_type = "StreamNode" if kind == "stream" else "BatchNode"
    wants, provides = ("stream", "stream") if kind == "stream" \
        else ("noedge", "batch")
    source = graph.new_node(source_type, kind, wants, provides)
    graph.add_source(source)
    source_obj = GoObject(source_type, source)
    evaluator = Evaluator(graph, new_scope(kind, source_obj, udfs),
                          predefined=vars or {}, ignore_missing=template,
                          deadman=deadman)
    tick_vars = evaluator.run(program)
    if deadman.global_:
        evaluator.deadman(source_obj, deadman.threshold,
                          Duration(deadman.interval))
    error = validate(graph)
    if error:
        raise TickValidationError(error)
    pipeline = graph.freeze()
    if not template and len(pipeline) <= 1:
        raise TickEvalError("task does nothing")
    return CompiledTask(script=script, program=program, type=kind,
                        dbrps=dbrps(program), vars=vars_to_api(tick_vars),
                        tick_vars=tick_vars, pipeline=pipeline)


def compile_template(script, udfs=None, deadman=None):
    """Compile a template: typed declarations may stay without a value."""
    return compile_task(script, template=True, udfs=udfs, deadman=deadman)
