"""Evaluate constant expressions outside lambdas (``var x = 2 * 5m``).

Kapacitor evaluates such expressions once, at compile time, with its
lambda engine and an empty scope.  This covers the literal arithmetic,
comparison and logic its engine accepts; anything else is reported with the
engine's ``mismatched type`` wording.
"""

import operator

from kapacitord_tw.tick import syntax as ast
from kapacitord_tw.tick.durations import Duration
from kapacitord_tw.tick.errors import TickEvalError
from kapacitord_tw.tick.lexer import T, token_name
from kapacitord_tw.tick.values import RegexValue, value_type
from kapacitord_tw.tick.regex import compile_go_regex


def _go_div(a, b):
    if b == 0:
        raise TickEvalError("integer divide by zero")
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


def _go_mod(a, b):
    if b == 0:
        raise TickEvalError("integer divide by zero")
    r = abs(a) % abs(b)
    return r if a >= 0 else -r


_COMPARE = {
    T.EQUAL: operator.eq, T.NOT_EQUAL: operator.ne, T.LESS: operator.lt,
    T.LESS_EQUAL: operator.le, T.GREATER: operator.gt,
    T.GREATER_EQUAL: operator.ge,
}


def fold(node):
    """Return the value of a literal expression tree."""
    if isinstance(node, ast.NumberNode):
        return node.value
    if isinstance(node, ast.StringNode):
        return node.literal
    if isinstance(node, ast.BoolNode):
        return node.value
    if isinstance(node, ast.DurationNode):
        return Duration(node.nanoseconds)
    if isinstance(node, ast.RegexNode):
        return RegexValue(node.pattern, compile_go_regex(node.pattern))
    if isinstance(node, ast.UnaryNode):
        value = fold(node.node)
        if node.operator == T.MINUS and isinstance(value, (int, float)) \
                and not isinstance(value, bool):
            return -value
        if node.operator == T.MINUS and isinstance(value, Duration):
            return -value
        if node.operator == T.NOT and isinstance(value, bool):
            return not value
        raise TickEvalError("invalid unary operator %s on type %s"
                            % (token_name(node.operator), value_type(value)))
    if isinstance(node, ast.BinaryNode):
        return _binary(node.operator, fold(node.left), fold(node.right))
    if isinstance(node, ast.ReferenceNode):
        raise TickEvalError('name "%s" is undefined. Names in scope: '
                            % node.reference)
    raise TickEvalError("unsupported constant expression %s"
                        % type(node).__name__)


def _mismatch(op, left, right):
    return TickEvalError(
        "mismatched type to binary operator. got %s %s %s. see bool(), "
        "int(), float(), string(), duration()"
        % (value_type(left), token_name(op), value_type(right)))


def _binary(op, left, right):
    lt, rt = value_type(left), value_type(right)
    if op in (T.AND, T.OR):
        if lt == rt == "boolean":
            return (left and right) if op == T.AND else (left or right)
        raise _mismatch(op, left, right)
    if op in (T.REGEX_EQUAL, T.REGEX_NOT_EQUAL):
        if lt == "string" and rt == "regex":
            matched = right.compiled.search(left) is not None
            return matched if op == T.REGEX_EQUAL else not matched
        raise _mismatch(op, left, right)
    if op in _COMPARE:
        if lt != rt:
            raise _mismatch(op, left, right)
        if isinstance(left, Duration):
            left, right = left.nanoseconds, right.nanoseconds
        return _COMPARE[op](left, right)
    # math
    if lt == rt == "int":
        return {T.PLUS: lambda: left + right, T.MINUS: lambda: left - right,
                T.MULT: lambda: left * right,
                T.DIV: lambda: _go_div(left, right),
                T.MOD: lambda: _go_mod(left, right)}[op]()
    if lt == rt == "float" and op != T.MOD:
        if op == T.DIV and right == 0:
            return float("inf") if left > 0 else float("-inf")
        return {T.PLUS: left + right, T.MINUS: left - right,
                T.MULT: left * right,
                T.DIV: left / right if right else 0.0}[op]
    if lt == rt == "string" and op == T.PLUS:
        return left + right
    if lt == rt == "duration" and op in (T.PLUS, T.MINUS):
        ns = left.nanoseconds + right.nanoseconds if op == T.PLUS else \
            left.nanoseconds - right.nanoseconds
        return Duration(ns)
    if lt == "duration" and rt == "int" and op in (T.MULT, T.DIV):
        ns = left.nanoseconds * right if op == T.MULT else \
            _go_div(left.nanoseconds, right)
        return Duration(ns)
    if lt == "int" and rt == "duration" and op == T.MULT:
        return Duration(left * right.nanoseconds)
    raise _mismatch(op, left, right)
