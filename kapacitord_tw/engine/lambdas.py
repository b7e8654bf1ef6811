"""TICKscript lambdas compiled into Python functions, once per task.

Kapacitor re-checks a lambda's operand types on every point, because a
field's type may change from one point to the next.  Every type in the
engine follows from the types of the referenced values alone (literals
are constant, a function's type is its signature's, an operator's is the
operator table's), so a program is specialised per *type signature* of
its references: the first point with, say, ``usage_idle`` a float gets
Python source generated for "usage_idle is a float" (operators inlined,
type checks settled), ``compile()``-d and cached; the next float point
runs that function directly.

Type errors are settled in the same pass.  Where the tree-walking engine
(:mod:`kapacitord_tw.tick.expr`) would raise before touching any value
(mismatched operands, a missing field, a bad signature) the generated
code hands *that node* to the tree-walker, which raises Kapacitor's exact
message; the walker's type phase has no side effects, so stateful
functions (``count()``, ``sigma()``...) advance exactly as they would
there.  Points that error are dropped by the caller anyway.

The number of specialisations per program is bounded; signatures beyond
the bound are tree-walked, so a client sending ever-new type mixes costs
linear time per point, never unbounded compiles.
"""

import datetime

import attr
from twisted.logger import Logger

from kapacitord_tw.gocompat import go_quote
from kapacitord_tw.tick import expr as walker
from kapacitord_tw.tick import functions
from kapacitord_tw.tick import syntax as ast
from kapacitord_tw.tick.durations import Duration
from kapacitord_tw.tick.expr import (
    OPERATORS, ExprError, MapScope, TypeGuardFailed)
from kapacitord_tw.tick.gonum import (
    GoRuntimeError, float_div, wrap_int64)
from kapacitord_tw.tick.lexer import T, token_name
from kapacitord_tw.tick.values import (
    MISSING, Missing, RegexValue, T_BOOL, T_DURATION, T_FLOAT, T_INT,
    T_INVALID, T_MISSING, T_REGEX, T_STRING, T_TIME, go_type_of,
    value_type)

MAX_SPECIALISATIONS = 64
"""Type signatures compiled per program; further ones are tree-walked."""

_SCALARS = (T_INT, T_FLOAT, T_STRING, T_BOOL, T_DURATION)
_ANY_ARG = (T_BOOL, T_INT, T_FLOAT, T_STRING, T_REGEX, T_TIME, T_DURATION,
            T_MISSING)
_PY_TYPES = {T_FLOAT: float, T_INT: int, T_STRING: str, T_BOOL: bool,
             T_DURATION: Duration, T_REGEX: RegexValue}
_TYPE_OF_CLASS = {float: T_FLOAT, int: T_INT, str: T_STRING, bool: T_BOOL,
                  Missing: T_MISSING, Duration: T_DURATION,
                  RegexValue: T_REGEX}
_ERR = object()  # a node whose type computation raises
_ABSENT = object()
_INT64_MIN = -(1 << 63)
_INT64_MAX = (1 << 63) - 1


class LambdaError(Exception):
    """A lambda failed on one point; ``str()`` is Kapacitor's message."""


class PointTime(datetime.datetime):
    """A point's time in the local zone, keeping Go's nanoseconds."""

    unix_nano = 0


def point_time(time_ns):
    """``p.Time().Local()``: what a lambda's ``"time"`` refers to."""
    seconds, nanos = divmod(time_ns, 10**9)
    utc = datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc)
    local = utc.astimezone()
    value = PointTime(local.year, local.month, local.day, local.hour,
                      local.minute, local.second, nanos // 1000,
                      local.tzinfo)
    value.unix_nano = time_ns
    return value


def _class_type(cls):
    typ = _TYPE_OF_CLASS.get(cls)
    if typ is None and issubclass(cls, datetime.datetime):
        return T_TIME
    return typ


def _reference_names(node, out):
    """Referenced names in first-appearance order (Go's is map order)."""
    if isinstance(node, ast.ReferenceNode):
        if node.reference not in out:
            out.append(node.reference)
    elif isinstance(node, ast.BinaryNode):
        _reference_names(node.left, out)
        _reference_names(node.right, out)
    elif isinstance(node, ast.UnaryNode):
        _reference_names(node.node, out)
    elif isinstance(node, ast.FunctionNode):
        for arg in node.args:
            _reference_names(arg, out)
    elif isinstance(node, ast.LambdaNode):
        _reference_names(node.expression, out)
    return out


def _function_names(node, out):
    """The names of the functions an expression calls (every child node is
    visited, whatever its kind, so no call can hide)."""
    if isinstance(node, ast.FunctionNode):
        out.add(node.func)
    if isinstance(node, (list, tuple)):
        for item in node:
            _function_names(item, out)
    elif attr.has(type(node)):
        for field in attr.fields(type(node)):
            value = getattr(node, field.name)
            if isinstance(value, (list, tuple)) or attr.has(type(value)):
                _function_names(value, out)
    return out


def compile_lambda(node):
    """Compile a lambda (or its expression) as found in node properties.

    Raises :class:`ExprError` with Kapacitor's text for compile-time type
    errors (``mismatched type to binary operator...``).
    """
    if isinstance(node, ast.LambdaNode):
        node = node.expression
    return LambdaProgram(node)


class _EvalState:
    """The walker's execution state: one function table per evaluator."""

    def __init__(self):
        self.funcs = functions.new_functions()


class LambdaProgram:
    """One lambda of a task: its references and compiled specialisations."""

    log = Logger()

    def __init__(self, node):
        self.node = node
        self.walker = walker.Expression(node)  # compile-time errors raise
        self.references = tuple(_reference_names(node, []))
        # mode -> {class of the value (one reference) or tuple of classes:
        # the generated function for that type signature}
        self.specialised = {"eval": {}, "predicate": {}}
        self._full = False
        self._make_entries = _entry_factory(self)
        #: calls sigma, count, spread or rand: each group needs its own state
        self.stateful = not functions.STATEFUL_NAMES.isdisjoint(_function_names(node, set()))
        self._shared = None

    def new_evaluator(self):
        """Fresh state for stateful functions (Kapacitor keeps one per group).
        Without any, every group shares one evaluator: a function table is
        about 4.4 kB, and a ``where`` keeps an evaluator per group."""
        if self.stateful:
            return LambdaEvaluator(self)
        if self._shared is None:
            self._shared = LambdaEvaluator(self)
        return self._shared

    def specialisation_count(self):
        return sum(len(cache) for cache in self.specialised.values())

    def specialise(self, mode, key):
        """The function for one type signature, compiled on first use."""
        cache = self.specialised[mode]
        fn = cache.get(key)
        if fn is not None:
            return fn
        if self.specialisation_count() >= MAX_SPECIALISATIONS:
            if not self._full:
                self._full = True
                self.log.info("lambda {text}: over {n} type signatures, "
                              "tree-walking the rest",
                              text=self.walker.root.text,
                              n=MAX_SPECIALISATIONS)
            return _whole_walk(self, mode)
        classes = key if isinstance(key, tuple) else (key,)
        types = tuple(_class_type(c) for c in classes)
        if None in types:
            fn = _whole_walk(self, mode)
        else:
            fn = _Generator(self, mode, types).build()
        cache[key] = fn
        return fn


class LambdaEvaluator:
    """A program with its own stateful-function state.

    ``eval(time_ns, fields, tags, previous=None)`` is ``Expression.Eval``:
    the value, or :class:`LambdaError`; ``previous`` holds earlier results
    of the same ``eval`` node, which its later expressions see when no
    field or tag has the name (Kapacitor's shared scope).

    ``predicate(time_ns, fields, tags)`` is ``EvalPredicate``: a bool, or
    :class:`LambdaError`.

    ``select(msgs, point_type, groups, new_group, append, other, failed)``
    is ``predicate`` over a chunk: each point whose predicate holds is
    appended, a failure goes to ``failed(exception)``, any other message to
    ``other``, and ``groups`` gets ``new_group(point)`` for a new group.

    Both are generated functions bound to this evaluator's state (no
    method dispatch per point).
    """

    def __init__(self, program):
        self.program = program
        self.state = _EvalState()
        self.eval, self.predicate, self.select = program._make_entries(self.state)


# -- entry: fillScope, then dispatch on the reference types ---------------
def _collision(name):
    raise LambdaError("cannot have field and tags with same name %s"
                      % go_quote(name))


def _entry_factory(program):
    """Generate fillScope for this program's references plus the dispatch."""
    names = program.references
    fill = []
    for i, name in enumerate(names):
        if name == "time":
            fill.append("v%d = point_time(time_ns)" % i)
            continue
        fill += [
            "v%d = fields.get(%r, ABSENT)" % (i, name),
            "if v%d is ABSENT:" % i,
            "    v%d = tags.get(%r, ABSENT)" % (i, name),
            "    if v%d is ABSENT:" % i,
            "        v%d = MISSING if previous is None else "
            "previous.get(%r, MISSING)" % (i, name),
            "elif %r in tags:" % name,
            "    collision(%r)" % name,
        ]
    values = "".join("v%d, " % i for i in range(len(names)))
    if len(names) == 1:
        key = "v0.__class__"
    else:
        key = "(%s)" % "".join("v%d.__class__, " % i
                               for i in range(len(names)))

    def body(mode):
        return fill + [
            "fn = %s_cache.get(%s)" % (mode, key),
            "if fn is None:",
            "    fn = program.specialise(%r, %s)" % (mode, key),
            "try:",
            "    return fn(state, %s)" % values,
            "except ExprError as exc:",
            "    raise LambdaError(str(exc)) from None",
            "except GoRuntimeError as exc:",
            "    raise LambdaError(str(exc)) from None",
            "except RecursionError:",
            "    raise LambdaError('runtime error: stack overflow') from None",
            "except (ArithmeticError, LookupError, TypeError, ValueError) "
            "as exc:",
            "    raise LambdaError('runtime error: %s' % exc) from None",
        ]
    lines = ["def make(state):",
             "    def eval(time_ns, fields, tags, previous=None):"]
    lines += ["        " + line for line in body("eval")]
    lines += ["    def predicate(time_ns, fields, tags, previous=None):"]
    lines += ["        " + line for line in body("predicate")]
    # predicate's body inlined in a loop over a chunk of points, for a node
    # whose groups share this evaluator: one call per chunk, not per point.
    inner = [line.replace("return fn(", "ok = fn(") for line in body("predicate")]
    lines += [
        "    def select(msgs, point_type, groups, new_group, append, other, failed):",
        "        previous = None",
        "        for msg in msgs:",
        "            if msg.__class__ is not point_type:",
        "                other(msg)",
        "                continue",
        "            group = msg.group",
        "            if group not in groups:",
        "                groups[group] = new_group(msg)",
        "            time_ns = msg.time",
        "            fields = msg.fields",
        "            tags = msg.tags",
        "            try:",
    ]
    lines += ["                " + line for line in inner]
    lines += [
        "            except Exception as exc:",
        "                failed(exc)",
        "                continue",
        "            if ok:",
        "                append(msg)",
    ]
    lines += ["    return eval, predicate, select"]
    namespace = {
        "point_time": point_time, "ABSENT": _ABSENT, "MISSING": MISSING,
        "collision": _collision, "program": program,
        "eval_cache": program.specialised["eval"],
        "predicate_cache": program.specialised["predicate"],
        "ExprError": ExprError, "GoRuntimeError": GoRuntimeError,
        "LambdaError": LambdaError,
    }
    exec(compile("\n".join(lines), "<lambda entry>", "exec"), namespace)
    return namespace["make"]


def _whole_walk(program, mode):
    """Tree-walk the whole expression (unknown value types, cache full)."""
    root = program.walker.root
    names = program.references

    def run(state, *values):
        scope = MapScope(dict(zip(names, values)))
        if mode == "predicate":
            root.type(scope)
            return root.eval_as(T_BOOL, scope, state)
        return _walk_value(root, scope, state)
    return run


def _walk_value(root, scope, state):
    """``Expression.Eval`` with an evaluator's state."""
    typ = root.type(scope)
    if typ in _SCALARS:
        return root.eval_as(typ, scope, state)
    if typ == T_MISSING:
        try:
            return root.eval_as(typ, scope, state)
        except walker._MissingValue as exc:
            raise ExprError(str(exc)) from None
    raise ExprError("expression returned unexpected type %s" % typ)


# -- runtime helpers the generated code calls -----------------------------
def _binary_retry(node, guard, is_left, left, right, scope, state):
    """The rest of the walker's re-specialisation loop after the first
    attempt failed with a type guard (``_Binary.compute``)."""
    for _ in range(3):
        new = (guard.actual, right) if is_left else (left, guard.actual)
        if (node.operator,) + new not in OPERATORS or new == (left, right):
            raise guard from None
        left, right = new
        try:
            return node._apply(left, right, scope, state)
        except walker._SideGuard as exc:
            guard, is_left = exc.error, exc.is_left
    new = (guard.actual, right) if is_left else (left, guard.actual)
    if (node.operator,) + new not in OPERATORS or new == (left, right):
        raise guard from None
    raise ExprError("expression could not be specialised")


def _binary_result(node, requested, value, actual):
    """The walker's ``_Binary.eval_as`` check of a computed result."""
    if actual == requested:
        return value
    if requested in (T_FLOAT, T_INT):
        if actual in (T_FLOAT, T_INT):
            raise TypeGuardFailed(requested, actual)
        raise TypeGuardFailed(requested, node.const_type)
    shown = value if actual in (T_BOOL, T_INT, T_FLOAT) else None
    raise ExprError("expression returned unexpected type %s"
                    % go_type_of(shown))


def _func_error(name, exc):
    return ExprError("error calling %s: %s" % (go_quote(name), exc))


def _arg_error(index, exc):
    return ExprError("Failed to handle %d argument: %s" % (index, exc))


def _check_result(value, requested):
    actual = value_type(value)
    if actual != requested:
        raise TypeGuardFailed(requested, actual)
    return value


_COMPARE = {T.EQUAL: "==", T.NOT_EQUAL: "!=", T.LESS: "<", T.GREATER: ">",
            T.LESS_EQUAL: "<=", T.GREATER_EQUAL: ">="}
_NUMERIC = (T_INT, T_FLOAT)


class _Generator:
    """Python source for one program under one reference type signature."""

    def __init__(self, program, mode, types):
        self.program = program
        self.mode = mode
        self.types = dict(zip(program.references, types))
        self.index = {name: i for i, name in enumerate(program.references)}
        self.lines = []
        self.namespace = {
            "ExprError": ExprError, "TypeGuardFailed": TypeGuardFailed,
            "MissingValue": walker._MissingValue,
            "FuncError": functions.FuncError, "MapScope": MapScope,
            "wrap": wrap_int64, "float_div": float_div, "Duration": Duration,
            "binary_retry": _binary_retry, "binary_result": _binary_result,
            "func_error": _func_error, "arg_error": _arg_error,
            "check_result": _check_result, "walk_value": _walk_value,
            "MISSING": MISSING,
        }
        self.counter = 0
        self.type_cache = {}

    # -- static types: ``type(scope)`` of every walker node ---------------
    def type_of(self, node):
        key = id(node)
        if key not in self.type_cache:
            self.type_cache[key] = self._type_of(node)
        return self.type_cache[key]

    def _type_of(self, node):
        kind = type(node)
        if kind is walker._Literal:
            return node.vtype
        if kind is walker._Reference:
            return self.types[node.name]
        if kind in (walker._Unary, walker._Lambda):
            if node.const_type != T_INVALID:
                return node.const_type
            child = node.child if kind is walker._Unary else node.inner
            return self.type_of(child)
        if kind is walker._Binary:
            if node.const_type != T_INVALID:
                return node.const_type
            left, right = self.type_of(node.left), self.type_of(node.right)
            entry = OPERATORS.get((node.operator, left, right))
            return _ERR if entry is None else entry[1]
        if kind is walker._Function:
            fn = functions.BUILTIN_SIGNATURES.get(node.name)
            if fn is None or len(node.args) > functions.MAX_ARGS:
                return _ERR
            domain = tuple(self.type_of(a) for a in node.args)
            return fn.signature.get(domain, _ERR)
        return _ERR

    # -- emitting ---------------------------------------------------------
    def temp(self):
        self.counter += 1
        return "r%d" % self.counter

    def const(self, value):
        self.counter += 1
        name = "c%d" % self.counter
        self.namespace[name] = value
        return name

    def emit(self, indent, text):
        self.lines.append("    " * indent + text)

    def scope_expr(self):
        names = self.program.references
        return "MapScope({%s})" % ", ".join(
            "%r: v%d" % (name, i) for i, name in enumerate(names))

    def delegate(self, node, requested, indent):
        """The walker evaluates this node (it raises Kapacitor's error)."""
        out = self.temp()
        self.emit(indent, "%s = %s.eval_as(%r, %s, state)"
                  % (out, self.const(node), requested, self.scope_expr()))
        return out

    def may_guard(self, node, requested):
        """Whether ``gen(node, requested)`` may raise TypeGuardFailed."""
        kind = type(node)
        if kind in (walker._Literal, walker._Reference):
            return not self.fast_leaf(node, requested)
        if kind is walker._Function:
            return not self.fast_function(node, requested)
        if kind is walker._Unary:
            return (not self.fast_unary(node, requested)
                    or self.may_guard(node.child, requested))
        if kind is walker._Binary:
            types = self.binary_types(node, requested)
            if types is None:
                return True
            left, right = types
            result = OPERATORS[(node.operator, left, right)][1]
            return (result != requested or self.may_guard(node.left, left)
                    or self.may_guard(node.right, right))
        return True

    def fast_leaf(self, node, requested):
        return (self.type_of(node) == requested
                and requested != T_MISSING)

    def fast_unary(self, node, requested):
        if requested in (T_REGEX, T_TIME, T_STRING, T_MISSING):
            return False
        return self.type_of(node) == requested

    def fast_function(self, node, requested):
        if functions.BUILTIN_SIGNATURES.get(node.name) is None:
            return False
        if self.type_of(node) != requested:
            return False
        for arg in node.args:
            typ = self.type_of(arg)
            if typ not in _ANY_ARG:
                return False
            if typ == T_MISSING and type(arg) is not walker._Reference:
                return False
        return True

    def binary_types(self, node, requested):
        if requested in (T_REGEX, T_TIME, T_MISSING):
            return None
        if node.static_types is not None:
            types = node.static_types
        else:
            types = (self.type_of(node.left), self.type_of(node.right))
            if _ERR in types:
                return None
        if (node.operator,) + types not in OPERATORS:
            return None
        return types

    def gen(self, node, requested, indent):
        """Emit code leaving ``node.eval_as(requested)`` in a variable."""
        kind = type(node)
        if kind is walker._Literal:
            if not self.fast_leaf(node, requested):
                return self.delegate(node, requested, indent)
            value = node.value
            if isinstance(value, (bool, int)) or (
                    isinstance(value, float) and value - value == 0):
                return repr(value)
            return self.const(node.value)
        if kind is walker._Reference:
            if not self.fast_leaf(node, requested):
                return self.delegate(node, requested, indent)
            return "v%d" % self.index[node.name]
        if kind is walker._Unary:
            return self.gen_unary(node, requested, indent)
        if kind is walker._Binary:
            return self.gen_binary(node, requested, indent)
        if kind is walker._Function:
            return self.gen_function(node, requested, indent)
        return self.delegate(node, requested, indent)

    def gen_unary(self, node, requested, indent):
        if not self.fast_unary(node, requested):
            return self.delegate(node, requested, indent)
        value = self.gen(node.child, requested, indent)
        out = self.temp()
        if requested == T_BOOL:
            self.emit(indent, "%s = not %s" % (out, value))
        elif requested == T_INT:
            self.emit(indent, "%s = wrap(-%s)" % (out, value))
        elif requested == T_DURATION:
            self.emit(indent, "%s = Duration(wrap(-%s.nanoseconds))"
                      % (out, value))
        else:
            self.emit(indent, "%s = -%s" % (out, value))
        return out

    def gen_binary(self, node, requested, indent):
        types = self.binary_types(node, requested)
        if types is None:
            return self.delegate(node, requested, indent)
        left_t, right_t = types
        result_t = OPERATORS[(node.operator, left_t, right_t)][1]
        out = self.temp()
        this = self.const(node)
        guarded = (self.may_guard(node.left, left_t)
                   or self.may_guard(node.right, right_t))
        body = indent
        if guarded:
            # A type guard from an operand: the walker re-specialises.
            self.emit(indent, "try:")
            body = indent + 1
            side = self.temp()
            self.emit(body, "%s = True" % side)
        a = self.gen(node.left, left_t, body)
        if node.operator in (T.AND, T.OR):
            test = "not %s" if node.operator == T.AND else "%s"
            self.emit(body, ("if " + test + ":") % a)
            self.emit(body + 1, "%s = %s" % (out, a))
            self.emit(body, "else:")
            inner = body + 1
            if guarded:
                self.emit(inner, "%s = False" % side)
            b = self.gen(node.right, right_t, inner)
            self.emit(inner, "%s = %s" % (out, b))
        else:
            if guarded:
                self.emit(body, "%s = False" % side)
            b = self.gen(node.right, right_t, body)
            self.emit(body, "%s = %s" % (out, self.operation(
                node.operator, left_t, right_t, a, b)))
        check = "%s = binary_result(%s, %r, %s, %%s)" % (
            out, this, requested, out)
        if guarded:
            self.emit(indent, "except TypeGuardFailed as guard:")
            self.emit(indent + 1,
                      "%s, rtype = binary_retry(%s, guard, %s, %r, %r, %s, "
                      "state)" % (out, this, side, left_t, right_t,
                                  self.scope_expr()))
            self.emit(indent + 1, check % "rtype")
            if result_t != requested:
                self.emit(indent, "else:")
                self.emit(indent + 1, check % repr(result_t))
        elif result_t != requested:
            self.emit(indent, check % repr(result_t))
        return out

    def operation(self, op, left_t, right_t, a, b):
        """A Python expression for one operator-table entry."""
        if op in _COMPARE:
            sym = _COMPARE[op]
            if (left_t in _NUMERIC and right_t in _NUMERIC) or \
                    left_t == right_t in (T_STRING, T_BOOL):
                return "(%s %s %s)" % (a, sym, b)
            if left_t == right_t == T_DURATION:
                return "(%s.nanoseconds %s %s.nanoseconds)" % (a, sym, b)
        if left_t == right_t == T_FLOAT and op in (T.PLUS, T.MINUS, T.MULT):
            return "(%s %s %s)" % (a, token_name(op), b)
        if left_t == right_t == T_STRING and op == T.PLUS:
            return "(%s + %s)" % (a, b)
        if left_t == right_t == T_INT and op in (T.PLUS, T.MINUS, T.MULT):
            return "wrap(%s %s %s)" % (a, token_name(op), b)
        if left_t == right_t == T_FLOAT and op == T.DIV:
            return "float_div(%s, %s)" % (a, b)
        fn = OPERATORS[(op, left_t, right_t)][0]
        return "%s(%s, %s)" % (self.const(fn), a, b)

    def gen_function(self, node, requested, indent):
        if not self.fast_function(node, requested):
            return self.delegate(node, requested, indent)
        values = []
        for i, arg in enumerate(node.args):
            typ = self.type_of(arg)
            if typ == T_MISSING:  # the walker passes the missing value on
                values.append("v%d" % self.index[arg.name])
                continue
            self.emit(indent, "try:")
            value = self.gen(arg, typ, indent + 1)
            held = self.temp()
            self.emit(indent + 1, "%s = %s" % (held, value))
            self.emit(indent, "except MissingValue as exc:")
            self.emit(indent + 1, "%s = exc.value" % held)
            self.emit(indent, "except ExprError as exc:")
            self.emit(indent + 1, "raise arg_error(%d, exc) from None"
                      % (i + 1))
            values.append(held)
        out = self.temp()
        if node.name in functions.STATELESS:
            call = self.const(functions.STATELESS[node.name].body)
        else:
            call = "state.funcs[%r].body" % node.name
        self.emit(indent, "try:")
        self.emit(indent + 1, "%s = %s(%s)" % (out, call, ", ".join(values)))
        self.emit(indent, "except FuncError as exc:")
        self.emit(indent + 1, "raise func_error(%r, exc) from None"
                  % node.name)
        py_type = _PY_TYPES.get(requested)
        if py_type is not None:
            self.emit(indent, "if %s.__class__ is not %s:"
                      % (out, self.const(py_type)))
            self.emit(indent + 1, "check_result(%s, %r)" % (out, requested))
        else:
            self.emit(indent, "check_result(%s, %r)" % (out, requested))
        return out

    # -- the whole function ----------------------------------------------
    def build(self):
        root = self.program.walker.root
        names = self.program.references
        header = "def run(state, %s):" % "".join(
            "v%d, " % i for i in range(len(names)))
        root_type = self.type_of(root)
        if self.mode == "predicate":
            if root_type is _ERR:
                self.emit(1, "%s.type(%s)" % (self.const(root),
                                              self.scope_expr()))
            result = self.gen(root, T_BOOL, 1)
        elif root_type in _SCALARS:
            result = self.gen(root, root_type, 1)
        else:
            self.emit(1, "return walk_value(%s, %s, state)"
                      % (self.const(root), self.scope_expr()))
            result = None
        if result is not None:
            self.emit(1, "return %s" % result)
        source = "\n".join([header] + self.lines)
        code = compile(source, "<lambda %s>" % root.text[:60], "exec")
        exec(code, self.namespace)
        run = self.namespace["run"]
        run.source = source
        return run
