"""Kapacitor's stateful expression engine (``tick/stateful``) in Python.

Kapacitor evaluates every binary expression outside a lambda
(``var w = 2 * 5m``, ``var n = 1 * strLength('abc')``) with the engine it
uses for lambdas, once, against an empty scope; the same engine is what a
task runs for ``where``/``eval`` lambdas.  Its type rules (the operator
table, function signatures) and error texts are reproduced here:

* a tree is "compiled" into evaluators; operands with constant types are
  checked right away (``mismatched type to binary operator…``);
* ``type(scope)`` works out a node's value type, ``eval_as(type, …)``
  produces a value of that type or raises :class:`TypeGuardFailed`;
* functions come from :mod:`functions`; each :class:`Expression` has its
  own instances of the stateful ones (``count()``, ``sigma()``…).
"""

from kapacitord_tw.tick import functions
from kapacitord_tw.tick import syntax as ast
from kapacitord_tw.tick.durations import Duration, go_duration_string
from kapacitord_tw.tick.errors import TickEvalError
from kapacitord_tw.gocompat import go_quote
from kapacitord_tw.tick.gonum import (
    GoRuntimeError, float_div, float_to_int64, format_float_v, int_div,
    int_mod, wrap_int64)
from kapacitord_tw.tick.lexer import (
    T, is_comp_operator, is_expr_operator, is_logical_operator,
    is_math_operator, token_name)
from kapacitord_tw.tick.regex import RegexError, compile_go_regex
from kapacitord_tw.tick.values import (
    RegexValue, T_BOOL, T_DURATION, T_FLOAT, T_INT, T_INVALID,
    T_MISSING, T_REGEX, T_STRING, T_TIME, go_type_of, value_type)


class ExprError(TickEvalError):
    """An expression failed to compile or evaluate (Kapacitor's text)."""


class TypeGuardFailed(ExprError):
    def __init__(self, requested, actual):
        super().__init__("TypeGuard: expression returned unexpected type %s, "
                         "expected %s" % (actual, requested))
        self.requested = requested
        self.actual = actual


class EmptyScope:
    """The scope constant expressions are evaluated in: no names at all."""

    def get(self, name):
        raise ExprError("name %s is undefined. Names in scope: "
                        % go_quote(name))

    def references(self):
        return []

    def dynamic_func(self, name):
        return None


EMPTY_SCOPE = EmptyScope()


class MapScope:
    """A scope over a dict (field/tag values of a point at run time).

    Put :data:`values.MISSING` under a name to make it a *missing* value
    (what ``isPresent`` tests); absent names are undefined, as in Go.
    """

    def __init__(self, values, dynamic_funcs=None):
        self.values = values
        self.dynamic_funcs = dynamic_funcs or {}

    def get(self, name):
        if name in self.values:
            return self.values[name]
        raise ExprError("name %s is undefined. Names in scope: %s"
                        % (go_quote(name), ",".join(self.values)))

    def references(self):
        return ['"%s"' % name for name in self.values]

    def dynamic_func(self, name):
        return self.dynamic_funcs.get(name)


# -- the operator table ------------------------------------------------------
def _cmp(fn):
    return lambda a, b: fn(a, b), T_BOOL


def _dur(ns):
    return Duration(wrap_int64(ns))


def _build_operators():
    table = {}
    compare = {
        T.EQUAL: lambda a, b: a == b, T.NOT_EQUAL: lambda a, b: a != b,
        T.LESS: lambda a, b: a < b, T.GREATER: lambda a, b: a > b,
        T.LESS_EQUAL: lambda a, b: a <= b,
        T.GREATER_EQUAL: lambda a, b: a >= b,
    }
    table[(T.AND, T_BOOL, T_BOOL)] = (None, T_BOOL)  # short-circuit
    table[(T.OR, T_BOOL, T_BOOL)] = (None, T_BOOL)
    table[(T.EQUAL, T_BOOL, T_BOOL)] = _cmp(compare[T.EQUAL])
    table[(T.NOT_EQUAL, T_BOOL, T_BOOL)] = _cmp(compare[T.NOT_EQUAL])
    for op, fn in compare.items():
        for left in (T_INT, T_FLOAT):
            for right in (T_INT, T_FLOAT):
                table[(op, left, right)] = _cmp(fn)
        table[(op, T_STRING, T_STRING)] = _cmp(fn)
        table[(op, T_DURATION, T_DURATION)] = _cmp(
            lambda a, b, fn=fn: fn(a.nanoseconds, b.nanoseconds))
    table[(T.REGEX_EQUAL, T_STRING, T_REGEX)] = (
        lambda s, r: r.compiled.search(s) is not None, T_BOOL)
    table[(T.REGEX_NOT_EQUAL, T_STRING, T_REGEX)] = (
        lambda s, r: r.compiled.search(s) is None, T_BOOL)
    table[(T.PLUS, T_FLOAT, T_FLOAT)] = (lambda a, b: a + b, T_FLOAT)
    table[(T.MINUS, T_FLOAT, T_FLOAT)] = (lambda a, b: a - b, T_FLOAT)
    table[(T.MULT, T_FLOAT, T_FLOAT)] = (lambda a, b: a * b, T_FLOAT)
    table[(T.DIV, T_FLOAT, T_FLOAT)] = (float_div, T_FLOAT)
    table[(T.PLUS, T_INT, T_INT)] = (lambda a, b: wrap_int64(a + b), T_INT)
    table[(T.MINUS, T_INT, T_INT)] = (lambda a, b: wrap_int64(a - b), T_INT)
    table[(T.MULT, T_INT, T_INT)] = (lambda a, b: wrap_int64(a * b), T_INT)
    table[(T.DIV, T_INT, T_INT)] = (int_div, T_INT)
    table[(T.MOD, T_INT, T_INT)] = (int_mod, T_INT)
    table[(T.PLUS, T_DURATION, T_DURATION)] = (
        lambda a, b: _dur(a.nanoseconds + b.nanoseconds), T_DURATION)
    table[(T.MINUS, T_DURATION, T_DURATION)] = (
        lambda a, b: _dur(a.nanoseconds - b.nanoseconds), T_DURATION)
    table[(T.MULT, T_DURATION, T_INT)] = (
        lambda a, b: _dur(a.nanoseconds * b), T_DURATION)
    table[(T.MULT, T_INT, T_DURATION)] = (
        lambda a, b: _dur(a * b.nanoseconds), T_DURATION)
    table[(T.MULT, T_DURATION, T_FLOAT)] = (
        lambda a, b: Duration(float_to_int64(float(a.nanoseconds) * b)),
        T_DURATION)
    table[(T.MULT, T_FLOAT, T_DURATION)] = (
        lambda a, b: Duration(float_to_int64(a * float(b.nanoseconds))),
        T_DURATION)
    table[(T.DIV, T_DURATION, T_INT)] = (
        lambda a, b: Duration(int_div(a.nanoseconds, b)), T_DURATION)
    table[(T.DIV, T_DURATION, T_FLOAT)] = (
        lambda a, b: Duration(float_to_int64(
            float_div(float(a.nanoseconds), b))), T_DURATION)
    table[(T.DIV, T_DURATION, T_DURATION)] = (
        lambda a, b: int_div(a.nanoseconds, b.nanoseconds), T_INT)
    table[(T.PLUS, T_STRING, T_STRING)] = (lambda a, b: a + b, T_STRING)
    return table


OPERATORS = _build_operators()


def _operators_by_type():
    result = {}
    for op, left, right in OPERATORS:
        result.setdefault(left, set()).add(op)
        result.setdefault(right, set()).add(op)
    return result


_TYPE_OPERATORS = _operators_by_type()


def _operator_kind(op):
    if is_math_operator(op):
        return "math"
    if is_comp_operator(op):
        return "comparison"
    if is_logical_operator(op):
        return "logical"
    return "INVALID"


def constant_type(node):
    """Kapacitor's ``getConstantNodeType``: the type known without a scope."""
    if isinstance(node, ast.NumberNode):
        return T_INT if node.is_int else T_FLOAT
    if isinstance(node, ast.DurationNode):
        return T_DURATION
    if isinstance(node, ast.StringNode):
        return T_STRING
    if isinstance(node, ast.BoolNode):
        return T_BOOL
    if isinstance(node, ast.RegexNode):
        return T_REGEX
    if isinstance(node, ast.UnaryNode):
        if node.operator == T.NOT:
            return T_BOOL
        if node.operator == T.MINUS:
            return constant_type(node.node)
        return T_INVALID
    if isinstance(node, ast.BinaryNode):
        if is_comp_operator(node.operator) or \
                is_logical_operator(node.operator):
            return T_BOOL
        entry = OPERATORS.get((node.operator, constant_type(node.left),
                               constant_type(node.right)))
        return entry[1] if entry else T_INVALID
    if isinstance(node, ast.LambdaNode):
        return constant_type(node.expression)
    return T_INVALID


# -- evaluators ------------------------------------------------------------
def _check(value, requested, actual):
    if actual != requested:
        raise TypeGuardFailed(requested, actual)
    return value


class _Literal:
    dynamic = False

    def __init__(self, value, vtype, text):
        self.value = value
        self.vtype = vtype
        self.text = text

    def type(self, scope):
        return self.vtype

    def eval_as(self, requested, scope, state):
        return _check(self.value, requested, self.vtype)


class _Reference:
    dynamic = True

    def __init__(self, node):
        self.name = node.reference
        self.text = '"%s"' % node.reference

    def _value(self, scope):
        value = scope.get(self.name)
        if value is None:
            raise ExprError("referenced value %s is nil."
                            % go_quote(self.name))
        return value

    def type(self, scope):
        return value_type(self._value(scope))

    def eval_as(self, requested, scope, state):
        value = self._value(scope)
        actual = value_type(value)
        if requested == T_MISSING:
            if actual == T_MISSING:
                raise _MissingValue(value, self.name)
            raise TypeGuardFailed(requested, actual)
        if actual == T_MISSING and requested != actual:
            raise ExprError('reference "%s" is missing value' % self.name)
        return _check(value, requested, actual)


class _MissingValue(ExprError):
    """``EvalMissing`` of a missing reference: a value *and* an error."""

    def __init__(self, value, name):
        super().__init__('missing value: "%s"' % name)
        self.value = value


class _Unary:
    def __init__(self, node):
        if node.operator not in (T.NOT, T.MINUS):
            raise ExprError("Invalid unary operator: %s"
                            % go_quote(token_name(node.operator)))
        try:
            self.child = _compile(node.node)
        except ExprError as exc:
            raise ExprError("Failed to handle node: %s" % exc) from None
        self.operator = node.operator
        self.const_type = constant_type(node)
        self.text = token_name(node.operator) + self.child.text

    @property
    def dynamic(self):
        return self.const_type == T_INVALID and self.child.dynamic

    def type(self, scope):
        if self.const_type == T_INVALID:
            return self.child.type(scope)
        return self.const_type

    def eval_as(self, requested, scope, state):
        if requested in (T_REGEX, T_TIME, T_STRING):
            raise TypeGuardFailed(requested, self.const_type)
        if requested == T_MISSING:
            if isinstance(self.child, _Reference):
                raise ExprError('reference "%s" is missing value'
                                % self.child.name)
            raise ExprError("expected nodeEvaluator to be "
                            "*EvalReferenceNode got %s"
                            % _go_evaluator_type(self.child))
        actual = self.type(scope)
        if actual != requested:
            raise TypeGuardFailed(requested, actual)
        value = self.child.eval_as(requested, scope, state)
        if requested == T_BOOL:
            return not value
        if requested == T_INT:
            return wrap_int64(-value)
        if requested == T_DURATION:
            return _dur(-value.nanoseconds)
        return -value


class _Binary:
    def __init__(self, node):
        if not is_expr_operator(node.operator):
            raise ExprError("unknown binary operator %s"
                            % token_name(node.operator))
        self.operator = node.operator
        self.const_type = constant_type(node)
        try:
            self.left = _compile(node.left)
        except ExprError as exc:
            raise ExprError("Failed to handle left node: %s" % exc) from None
        try:
            self.right = _compile(node.right)
        except ExprError as exc:
            raise ExprError("Failed to handle right node: %s" % exc) \
                from None
        self.text = "%s %s %s" % (self.left.text, token_name(self.operator),
                                  self.right.text)
        self.static_types = None
        if not (self.left.dynamic or self.right.dynamic):
            self.static_types = (constant_type(node.left),
                                 constant_type(node.right))
            if (self.operator,) + self.static_types not in OPERATORS:
                raise self._mismatch(*self.static_types)

    @property
    def dynamic(self):
        return self.const_type == T_INVALID and (
            self.left.dynamic or self.right.dynamic)

    def type(self, scope):
        if self.const_type != T_INVALID:
            return self.const_type
        left, right = self.left.type(scope), self.right.type(scope)
        entry = OPERATORS.get((self.operator, left, right))
        if entry is None:
            raise self._mismatch(left, right)
        return entry[1]

    def _mismatch(self, left, right):
        """``determineError`` without a scope (Go tests the left type's
        operators twice, so the right-hand branch only fires when the left
        type is invalid)."""
        ops = _TYPE_OPERATORS.get(left, set())
        if left != T_INVALID and self.operator not in ops:
            return ExprError("invalid %s operator %s for type %s"
                             % (_operator_kind(self.operator),
                                token_name(self.operator), left))
        if right != T_INVALID and self.operator not in ops:
            return ExprError("invalid %s operator %s for type %s"
                             % (_operator_kind(self.operator),
                                token_name(self.operator), right))
        return ExprError(
            "mismatched type to binary operator. got %s %s %s. see bool(), "
            "int(), float(), string(), duration()"
            % (left, token_name(self.operator), right))

    def _scoped_mismatch(self, scope):
        for side, name in ((self.left, "left"), (self.right, "right")):
            try:
                typ = side.type(scope)
            except ExprError as exc:
                return ExprError("can't get the type of the %s node: %s"
                                 % (name, exc))
            if typ == T_INVALID:
                return ExprError("%s value is invalid value type" % name)
            if typ == T_MISSING:
                if not isinstance(side, _Reference):
                    return ExprError(
                        "expected %sEvaluator to be *EvalReferenceNode got %s"
                        % (name, _go_evaluator_type(side)))
                return ExprError('%s reference value "%s" is missing value'
                                 % (name, side.name))
        return self._mismatch(self.left.type(scope), self.right.type(scope))

    def compute(self, scope, state):
        """The value and its type (``resultContainer``)."""
        if self.static_types is not None:
            left, right = self.static_types
        else:
            left, right = self.left.type(scope), self.right.type(scope)
        if (self.operator, left, right) not in OPERATORS:
            raise self._scoped_mismatch(scope)
        for _ in range(4):
            try:
                return self._apply(left, right, scope, state)
            except _SideGuard as guard:
                # Kapacitor re-specialises on the type the operand really
                # had and tries again.
                new = (guard.error.actual, right) if guard.is_left else \
                    (left, guard.error.actual)
                if (self.operator,) + new not in OPERATORS or \
                        new == (left, right):
                    raise guard.error from None
                left, right = new
        raise ExprError("expression could not be specialised")

    def _apply(self, left, right, scope, state):
        fn, result_type = OPERATORS[(self.operator, left, right)]
        a = _side(self.left, left, scope, state, True)
        if fn is None:  # AND / OR short-circuit
            if a is (self.operator == T.OR):
                return a, T_BOOL
            return _side(self.right, right, scope, state, False), T_BOOL
        b = _side(self.right, right, scope, state, False)
        return fn(a, b), result_type

    def eval_as(self, requested, scope, state):
        if requested in (T_REGEX, T_TIME, T_MISSING):
            raise TypeGuardFailed(requested, self.const_type)
        value, actual = self.compute(scope, state)
        if actual == requested:
            return value
        if requested in (T_FLOAT, T_INT):
            if actual in (T_FLOAT, T_INT):
                raise TypeGuardFailed(requested, actual)
            raise TypeGuardFailed(requested, self.const_type)
        shown = value if actual in (T_BOOL, T_INT, T_FLOAT) else None
        raise ExprError("expression returned unexpected type %s"
                        % go_type_of(shown))


class _SideGuard(Exception):
    def __init__(self, error, is_left):
        super().__init__(str(error))
        self.error = error
        self.is_left = is_left


def _side(evaluator, typ, scope, state, is_left):
    try:
        return evaluator.eval_as(typ, scope, state)
    except TypeGuardFailed as exc:
        raise _SideGuard(exc, is_left) from None


class _Function:
    dynamic = True

    def __init__(self, node):
        self.name = node.func
        self.args = []
        for i, arg in enumerate(node.args):
            try:
                self.args.append(_compile(arg))
            except ExprError as exc:
                raise ExprError("Failed to handle %d argument: %s"
                                % (i + 1, exc)) from None
        self.text = "%s(%s)" % (self.name,
                                ", ".join(a.text for a in self.args))

    def _lookup(self, funcs, scope):
        fn = funcs.get(self.name) or scope.dynamic_func(self.name)
        if fn is None:
            raise ExprError("undefined function: %s" % go_quote(self.name))
        return fn

    def type(self, scope):
        fn = self._lookup(functions.BUILTIN_SIGNATURES, scope)
        domain = []
        for i, arg in enumerate(self.args):
            try:
                typ = arg.type(scope)
            except ExprError as exc:
                raise ExprError("Failed to handle %d argument: %s"
                                % (i + 1, exc)) from None
            if i >= functions.MAX_ARGS:
                raise GoRuntimeError("index out of range [%d] with length %d"
                                     % (i, functions.MAX_ARGS))
            domain.append(typ)
        result = fn.signature.get(tuple(domain))
        if result is not None:
            return result
        missing = [a.text for a, t in zip(self.args, domain)
                   if t == T_MISSING]
        if missing:
            scope_names = [r for r in scope.references() if r not in missing]
            form = ('Cannot call function "%s" argument %s is missing, '
                    'values in scope are [%s]') if len(missing) == 1 else \
                ('Cannot call function "%s" arguments %s are missing, '
                 'values in scope are [%s]')
            raise ExprError(form % (self.name, ", ".join(missing),
                                    ", ".join(scope_names)))
        given = ",".join("%s: %s" % (a.text, t)
                         for a, t in zip(self.args, domain))
        raise ExprError('Cannot call function "%s" with args (%s), available '
                        'signatures are %s.'
                        % (self.name, given, fn.domains_text()))

    def call(self, scope, state):
        values = []
        for i, arg in enumerate(self.args):
            try:
                values.append(_eval_any(arg, scope, state, "function arg"))
            except _MissingValue as exc:
                values.append(exc.value)
            except ExprError as exc:
                raise ExprError("Failed to handle %d argument: %s"
                                % (i + 1, exc)) from None
        fn = self._lookup(state.funcs, scope)
        try:
            return fn.call(values)
        except functions.FuncError as exc:
            raise ExprError("error calling %s: %s"
                            % (go_quote(self.name), exc)) from None

    def eval_as(self, requested, scope, state):
        value = self.call(scope, state)
        return _check(value, requested, value_type(value))


class _Lambda:
    """A lambda value inside an expression: its own function state."""

    def __init__(self, node):
        try:
            self.inner = _compile(node.expression)
        except ExprError as exc:
            raise ExprError("Failed to handle node: %s" % exc) from None
        self.const_type = constant_type(node.expression)
        self.state = _State()
        self.text = self.inner.text

    @property
    def dynamic(self):
        return self.inner.dynamic

    def type(self, scope):
        if self.const_type == T_INVALID:
            return self.inner.type(scope)
        return self.const_type

    def eval_as(self, requested, scope, state):
        actual = self.type(scope)
        if requested == T_TIME or actual != requested:
            raise TypeGuardFailed(requested, actual)
        return self.inner.eval_as(requested, scope, self.state)


_GO_EVALUATOR_TYPES = {
    _Literal: "*stateful.EvalLiteralNode",
    _Reference: "*stateful.EvalReferenceNode",
    _Unary: "*stateful.EvalUnaryNode",
    _Binary: "*stateful.EvalBinaryNode",
    _Function: "*stateful.EvalFunctionNode",
    _Lambda: "*stateful.EvalLambdaNode",
}


def _go_evaluator_type(evaluator):
    return _GO_EVALUATOR_TYPES.get(type(evaluator), "<nil>")


def _literal(node):
    if isinstance(node, ast.BoolNode):
        return _Literal(node.value, T_BOOL, "true" if node.value else "false")
    if isinstance(node, ast.NumberNode):
        if node.is_int:
            return _Literal(node.value, T_INT, str(node.value))
        return _Literal(node.value, T_FLOAT, format_float_v(node.value))
    if isinstance(node, ast.DurationNode):
        return _Literal(Duration(node.nanoseconds), T_DURATION,
                        go_duration_string(node.nanoseconds))
    if isinstance(node, ast.StringNode):
        return _Literal(node.literal, T_STRING, node.literal)
    if isinstance(node, ast.RegexNode):
        return _Literal(RegexValue(node.pattern,
                                   compile_go_regex(node.pattern)),
                        T_REGEX, node.literal or node.pattern)
    return None


def _compile(node):
    literal = _literal(node)
    if literal is not None:
        return literal
    if isinstance(node, ast.BinaryNode):
        return _Binary(node)
    if isinstance(node, ast.ReferenceNode):
        return _Reference(node)
    if isinstance(node, ast.FunctionNode):
        return _Function(node)
    if isinstance(node, ast.UnaryNode):
        return _Unary(node)
    if isinstance(node, ast.LambdaNode):
        return _Lambda(node)
    raise ExprError("Given node type is not valid evaluation node: *ast.%s"
                    % type(node).__name__)


def _eval_any(evaluator, scope, state, what):
    typ = evaluator.type(scope)
    if typ in (T_BOOL, T_INT, T_FLOAT, T_STRING, T_REGEX, T_TIME,
               T_DURATION, T_MISSING):
        return evaluator.eval_as(typ, scope, state)
    raise ExprError("%s expression returned unexpected type %s"
                    % (what, typ))


class _State:
    def __init__(self):
        self.funcs = functions.new_functions()


class Expression:
    """A compiled expression with its own function state."""

    def __init__(self, node):
        self.root = _compile(node)
        self.state = _State()

    def type(self, scope=EMPTY_SCOPE):
        return self.root.type(scope)

    def eval(self, scope=EMPTY_SCOPE):
        """``Expression.Eval``: the value, typed by the expression's type."""
        try:
            typ = self.root.type(scope)
            if typ in (T_INT, T_FLOAT, T_STRING, T_BOOL, T_DURATION):
                return self.root.eval_as(typ, scope, self.state)
            if typ == T_MISSING:
                try:
                    return self.root.eval_as(typ, scope, self.state)
                except _MissingValue as exc:
                    raise ExprError(str(exc)) from None
            raise ExprError("expression returned unexpected type %s" % typ)
        except (GoRuntimeError, RecursionError) as exc:
            # Go panics inside the engine are recovered into errors.
            raise ExprError(str(exc) if isinstance(exc, GoRuntimeError)
                            else "runtime error: stack overflow") from None


def evaluate_constant(node):
    """The value Kapacitor computes for a binary expression outside lambdas."""
    try:
        return Expression(node).eval(EMPTY_SCOPE)
    except RegexError as e:
        raise ExprError(str(e)) from None
