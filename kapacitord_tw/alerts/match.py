"""A topic handler's ``match``: a TICKscript lambda over each alert event.

Kapacitor's alert-match language: tag values by reference (``"host" ==
'a'``), the level names ``OK``/``INFO``/``WARNING``/``CRITICAL`` as integer
identifiers, and five functions of the event: ``changed()``, ``level()``,
``name()``, ``taskName()`` and ``alertDuration()``.  The expression is
parsed and type-checked once, when the handler is defined; an event without
one of the referenced tags is not matched (an error, logged).

Events arrive at alerting rates, not point rates, so the tree-walking
evaluator is used rather than the per-point code generator.
"""

from __future__ import annotations

from typing import Optional

import attrs

from kapacitord_tw.gocompat import go_quote
from kapacitord_tw.tick import expr as walker
from kapacitord_tw.tick import syntax as ast
from kapacitord_tw.tick.durations import Duration
from kapacitord_tw.tick.errors import TickError
from kapacitord_tw.tick.functions import Func
from kapacitord_tw.tick.parser import parse_lambda
from kapacitord_tw.tick.values import T_BOOL, T_DURATION, T_INT, T_STRING

#: Longest match expression accepted (bytes): parsing is recursive Python.
MAX_MATCH_BYTES = 16 * 1024

IDENTIFIERS = {"OK": 0, "INFO": 1, "WARNING": 2, "CRITICAL": 3}


class MatchError(ValueError):
    """The expression does not compile (Kapacitor's text)."""


def _literals(node):
    """The expression with level identifiers replaced by integer literals."""
    if isinstance(node, ast.IdentifierNode):
        value = IDENTIFIERS.get(node.ident)
        if value is None:
            raise MatchError(f"unknown identifier {go_quote(node.ident)}")
        return ast.NumberNode(node.position, True, value)
    if isinstance(node, ast.BinaryNode):
        return attrs.evolve(node, left=_literals(node.left), right=_literals(node.right))
    if isinstance(node, ast.UnaryNode):
        return attrs.evolve(node, node=_literals(node.node))
    if isinstance(node, ast.FunctionNode):
        return attrs.evolve(node, args=tuple(_literals(a) for a in node.args))
    if isinstance(node, ast.LambdaNode):
        return attrs.evolve(node, expression=_literals(node.expression))
    return node


def _references(node, out):
    if isinstance(node, ast.ReferenceNode):
        if node.reference not in out:
            out.append(node.reference)
    elif isinstance(node, ast.BinaryNode):
        _references(node.left, out)
        _references(node.right, out)
    elif isinstance(node, ast.UnaryNode):
        _references(node.node, out)
    elif isinstance(node, ast.FunctionNode):
        for arg in node.args:
            _references(arg, out)
    return out


def _no_args(name, result, body):
    return Func(name, {(): result}, body)


class Match:
    """One compiled match expression; :meth:`matches` tests an event."""

    def __init__(self, text: str):
        if len(text.encode("utf-8", "surrogatepass")) > MAX_MATCH_BYTES:
            raise MatchError(f"invalid match expression: longer than {MAX_MATCH_BYTES} bytes")
        try:
            lam = parse_lambda(text)
        except RecursionError:
            raise MatchError("invalid match expression: nested too deeply") from None
        except TickError as e:
            raise MatchError(f"invalid match expression: {e}") from None
        expression = _literals(lam.expression)
        try:
            self._expr = walker.Expression(expression)
        except RecursionError:
            raise MatchError("invalid match expression: nested too deeply") from None
        except TickError as e:
            raise MatchError(f"invalid match expression: {e}") from None
        self.text = text
        self._vars = tuple(_references(expression, []))

    def matches(self, event, previous) -> bool:
        """Whether *event* (an ``AlertEvent``; *previous* the one it replaced) matches.

        Raises :class:`walker.ExprError` (or MatchError) when it cannot be evaluated.
        """
        previous_level = previous.level if previous is not None else 0
        funcs = {
            "changed": _no_args("changed", T_BOOL, lambda: event.level != previous_level),
            "level": _no_args("level", T_INT, lambda: int(event.level)),
            "name": _no_args("name", T_STRING, lambda: event.name),
            "taskName": _no_args("taskName", T_STRING, lambda: event.task_name),
            "alertDuration": _no_args("alertDuration", T_DURATION,
                                      lambda: Duration(event.duration)),
        }
        values = {}
        tags = event.tags
        for name in self._vars:
            if name not in tags:
                raise MatchError(f"no tag exists for {name}")
            values[name] = tags[name]
        try:
            result = self._expr.eval(walker.MapScope(values, funcs))
        except RecursionError:
            raise MatchError("nested too deeply") from None
        if not isinstance(result, bool):
            raise MatchError(f"expression returned unexpected type {type(result).__name__}")
        return result


def compile_match(text: str) -> Optional[Match]:
    """None for an empty match (every event), else the compiled expression."""
    return Match(text) if text else None
