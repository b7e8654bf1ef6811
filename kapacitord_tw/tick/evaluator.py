"""Evaluate a parsed TICKscript into a pipeline graph.

This follows Kapacitor's stack-machine evaluator: function calls become
"unbound" calls applied to whatever is on their left, identifiers are
resolved late, lambdas have their var references substituted, and method
lookups follow the reflection rules in :mod:`describer`.  Error texts are
Kapacitor's, prefixed with ``line L char C:`` where Kapacitor adds it.
"""

import attr

from kapacitord_tw.tick import catalog
from kapacitord_tw.tick import syntax as ast
from kapacitord_tw.tick.constfold import fold
from kapacitord_tw.tick.gonum import format_float_v
from kapacitord_tw.tick.describer import (
    InvalidReference, capitalize_first, describe)
from kapacitord_tw.tick.durations import Duration, go_duration_string
from kapacitord_tw.tick.errors import TickEvalError
from kapacitord_tw.gocompat import go_quote
from kapacitord_tw.tick.goerrors import GoPanic, at
from kapacitord_tw.tick.lexer import T
from kapacitord_tw.tick.methods import (
    IMPLEMENTATIONS, NO_RESULT, generic_impl, lambda_expression)
from kapacitord_tw.tick.regex import compile_go_regex

from kapacitord_tw.tick.values import (
    GoObject, RegexValue, T_INVALID, T_LIST, TimeDimension, TypedNil,
    UnboundFunc, assignable, display_go_type, go_type_of, value_type,
    zero_value)

STREAM, BATCH, SAME = catalog.STREAM, catalog.BATCH, catalog.SAME

VAR_TYPE_NAMES = {
    "int": "int", "float": "float", "bool": "boolean", "string": "string",
    "regex": "regex", "duration": "duration", "lambda": "lambda",
    "list": "list", "star": "star",
}


@attr.s(frozen=True, slots=True)
class TickVar:
    """A var as Kapacitor's evaluator sees it (``tick.Var``).

    ``type`` uses the evaluator's names (``boolean``, ``int``...); a list's
    ``value`` is a list of :class:`TickVar`.
    """

    type = attr.ib()
    value = attr.ib()
    description = attr.ib(default="")


@attr.s(frozen=True, slots=True)
class UDFInfo:
    """What the UDF service reports about a user-defined function."""

    wants = attr.ib(default=STREAM)  # "stream" | "batch"
    provides = attr.ib(default=STREAM)
    # option name -> tuple of value types: BOOL INT DOUBLE STRING DURATION
    options = attr.ib(factory=dict)


@attr.s(frozen=True, slots=True)
class DeadmanConfig:
    """Kapacitor's ``[deadman]`` section (defaults as shipped)."""

    interval = attr.ib(default=10 * 10 ** 9)
    threshold = attr.ib(default=0.0)
    id = attr.ib(default="node 'NODE_NAME' in task '{{ .TaskName }}'")
    message = attr.ib(default=(
        "{{ .ID }} is {{ if eq .Level \"OK\" }}alive{{ else }}dead{{ end }}: "
        "{{ index .Fields \"emitted\" | printf \"%0.3f\" }} points/INTERVAL."))
    global_ = attr.ib(default=False)


class Scope:
    """Names visible to the script: ``stream``/``batch``, ``time``, vars."""

    def __init__(self):
        self.variables = {}
        self.dynamic_methods = {}

    def set(self, name, value):
        self.variables[name] = value

    def get(self, name):
        if name in self.variables:
            return self.variables[name]
        raise TickEvalError("name %s is undefined. Names in scope: %s"
                            % (go_quote(name), ",".join(self.variables)))

    def lookup(self, name):
        return self.variables.get(name)


class _GlobalTime:
    """The ``time(length[, offset])`` function used in ``groupBy``."""

    params = ("time.Duration", "time.Duration")
    variadic = True


class Evaluator:
    def __init__(self, graph, scope, predefined=None, ignore_missing=False,
                 deadman=None):
        self.graph = graph
        self.scope = scope
        self.predefined = predefined or {}
        self.ignore_missing = ignore_missing
        self.deadman_config = deadman or DeadmanConfig()
        self.default_vars = {}

    # -- generic evaluation -----------------------------------------------
    def run(self, program):
        for statement in program.nodes:
            value = self.eval(statement)
            if isinstance(value, UnboundFunc):
                value.call(None)
        return self.default_vars

    def eval(self, node):
        kind = type(node)
        if kind is ast.BoolNode:
            return node.value
        if kind is ast.NumberNode:
            return node.value
        if kind is ast.DurationNode:
            return Duration(node.nanoseconds)
        if kind is ast.StringNode:
            return node.literal
        if kind is ast.RegexNode:
            return RegexValue(node.pattern, compile_go_regex(node.pattern))
        if kind is ast.UnaryNode:
            return self.eval_unary(node)
        if kind is ast.BinaryNode:
            return fold(self.resolve_idents(node))
        if kind is ast.LambdaNode:
            return attr.evolve(node,
                               expression=self.resolve_idents(node.expression))
        if kind is ast.ListNode:
            items = []
            for item in node.nodes:
                value = self.eval(item)
                if isinstance(value, ast.IdentifierNode):
                    value = self.scope.get(value.ident)
                items.append(value)
            return items
        if kind is ast.TypeDeclarationNode:
            self.eval_type_declaration(node)
            return None
        if kind is ast.DeclarationNode:
            self.eval_declaration(node, self.eval(node.right))
            return None
        if kind is ast.ChainNode:
            # Iterative over the left-nested links: chains can be long.
            links = []
            while isinstance(node, ast.ChainNode):
                links.append(node)
                node = node.left
            value = self.eval(node)
            for link in reversed(links):
                value = self.eval_chain(link, value, self.eval(link.right))
            return value
        if kind is ast.FunctionNode:
            return self.eval_function(node)
        # identifiers, references, stars, dbrp statements, comments
        return node

    def eval_unary(self, node):
        value = self.eval(node.node)
        if isinstance(value, ast.IdentifierNode):
            value = self.scope.get(value.ident)
        if node.operator == T.MINUS:
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return -value
            if isinstance(value, Duration):
                return -value
            raise at(node.position,
                     "invalid arugument to '-' %s" % _go_v(value))
        if isinstance(value, bool):
            return not value
        raise at(node.position, "invalid arugument to '!' %s" % _go_v(value))

    def resolve_idents(self, node):
        if isinstance(node, ast.IdentifierNode):
            return value_to_literal(node.position, self.scope.get(node.ident))
        if isinstance(node, ast.UnaryNode):
            return attr.evolve(node, node=self.resolve_idents(node.node))
        if isinstance(node, ast.BinaryNode):
            return attr.evolve(node, left=self.resolve_idents(node.left),
                               right=self.resolve_idents(node.right))
        if isinstance(node, ast.FunctionNode):
            return attr.evolve(
                node, args=[self.resolve_idents(a) for a in node.args])
        return node

    # -- vars ----------------------------------------------------------------
    def eval_type_declaration(self, node):
        type_name = node.type.ident
        if type_name not in VAR_TYPE_NAMES:
            raise TickEvalError("invalid var type %s" % go_quote(type_name))
        actual = VAR_TYPE_NAMES[type_name]
        name = node.node.ident
        desc = node.comment.comment_string() if node.comment else ""
        self.default_vars[name] = TickVar(actual, None, desc)
        if name in self.predefined:
            given = self.predefined[name]
            if given.type != actual:
                raise TickEvalError(
                    "invalid type supplied for %s, got %s exp %s"
                    % (name, given.type, actual))
            self.scope.set(name, _var_to_value(given))
        elif self.ignore_missing:
            self.scope.set(name, zero_value(actual))
        else:
            raise TickEvalError("missing value for var %s." % go_quote(name))

    def eval_declaration(self, node, value):
        name = node.left.ident
        if name in self.scope.variables:
            raise TickEvalError(
                "attempted to redefine %s, vars are immutable" % name)
        if isinstance(value, ast.IdentifierNode):
            value = self.scope.get(value.ident)
        actual = value_type(value)
        if actual != T_INVALID:
            desc = node.comment.comment_string() if node.comment else ""
            self.default_vars[name] = _value_to_var(value, actual, desc)
        if name in self.predefined:
            given = self.predefined[name]
            if given.type != actual:
                raise TickEvalError(
                    "invalid type supplied for %s, got %s exp %s"
                    % (name, given.type, actual))
            value = _var_to_value(given)
        self.scope.set(name, value)

    # -- chains and calls --------------------------------------------------
    def eval_chain(self, node, left, right):
        if isinstance(left, ast.IdentifierNode):
            left = self.scope.get(left.ident)
        if isinstance(right, UnboundFunc):
            return right.call(left)
        if isinstance(right, ast.IdentifierNode):
            name = right.ident
            if isinstance(left, GoObject):
                description = self.describe(left, node)
                field = description.properties.get(capitalize_first(name))
                if field is not None:
                    return self.field_store(left, field).get(field.member.name)
            raise at(node.position, "object %s has no property %s"
                     % (go_type_of(left), name))
        raise at(node.position, "invalid right operand of type %s to '.' "
                 "operator" % go_type_of(right))

    def eval_function(self, fnode):
        args = []
        for arg in fnode.args:
            value = self.eval(arg)
            if isinstance(value, ast.IdentifierNode):
                value = self.scope.get(value.ident)
            elif isinstance(value, UnboundFunc):
                value = value.call(None)
            args.append(value)
        if len(args) == 1 and isinstance(args[0], list):
            args = list(args[0])
        return UnboundFunc(lambda obj: self.call(fnode, obj, args))

    def call(self, fnode, obj, args):
        try:
            return self._call(fnode, obj, args)
        except GoPanic as panic:
            message = ("line %d char %d: error calling func %s on obj %s: %s"
                       % (fnode.position.line, fnode.position.char,
                          go_quote(fnode.func), go_type_of(obj), panic))
            if "*ast.ReferenceNode" in message and "type string" in message:
                message = ("line %d char %d: cannot assign *ast.ReferenceNode "
                           "to type string, did you use double quotes instead "
                           "of single quotes?"
                           % (fnode.position.line, fnode.position.char))
            raise TickEvalError(message) from None

    def describe(self, obj, position_node):
        try:
            return describe(obj.type_name)
        except InvalidReference as exc:
            raise at(position_node.position, str(exc))

    def _call(self, f, obj, args):
        name = f.func
        pos = f.position
        if f.func_type == ast.FuncType.GLOBAL:
            if obj is not None:
                raise at(pos, "calling global function on object %s"
                         % go_type_of(obj))
            fn = self.scope.lookup(name)
            if fn is None:
                raise at(pos, "no global function %s defined"
                         % go_quote(name))
            if fn is not _GlobalTime:
                raise GoPanic("reflect: call of reflect.Value.Call on %s Value"
                              % _go_kind(fn))
            _check_call(_GlobalTime, args)
            if len(args) > 2:
                raise at(pos, "time() function expects 1 or 2 args, got %d"
                         % len(args))
            return TimeDimension(*args)
        if not isinstance(obj, GoObject):
            if obj is None:
                raise at(pos, "object is invalid <nil> of type <nil>")
            if not go_type_of(obj).startswith("*"):
                raise at(pos, "cannot get properties of non pointer value")
            raise at(pos, "no method or property %s on %s"
                     % (go_quote(name), go_type_of(obj)))
        d = self.describe(obj, f)
        udf = obj.type_name == "UDFNode"
        options = obj.node.props.get("_options", {}) if udf else {}
        has_property = d.has_property(name) or (udf and name in options)
        dynamic = self.scope.dynamic_methods.get(name)
        go_type = go_type_of(obj)
        cap = capitalize_first(name)
        if f.func_type == ast.FuncType.CHAIN:
            if d.has_chain_method(name):
                return self.invoke(obj, d.chain_methods[cap], args, f,
                                   as_property=False)
            if has_property:
                raise at(pos, "no chaining method %s on %s, but property does "
                         "exist. Use '.' operator instead: 'node.%s(..)'."
                         % (go_quote(name), go_type, name))
            if dynamic is not None:
                raise at(pos, "no chaining method %s on %s, but dynamic "
                         "method does exist. Use '@' operator instead: "
                         "'node@%s(..)'." % (go_quote(name), go_type, name))
        elif f.func_type == ast.FuncType.PROPERTY:
            if has_property:
                if udf and name in options:
                    return self.set_udf_option(obj, name, options[name], args,
                                               pos)
                if cap in d.property_methods:
                    return self.invoke(obj, d.property_methods[cap], args, f,
                                       as_property=True)
                return self.set_field(obj, d.properties[cap], args, f)
            if d.has_chain_method(name):
                raise at(pos, "no property method %s on %s, but chaining "
                         "method does exist. Use '|' operator instead: "
                         "'node|%s(..)'." % (go_quote(name), go_type, name))
            if dynamic is not None:
                raise at(pos, "no property method %s on %s, but dynamic "
                         "method does exist. Use '@' operator instead: "
                         "'node@%s(..)'." % (go_quote(name), go_type, name))
        elif f.func_type == ast.FuncType.DYNAMIC:
            if dynamic is not None:
                return dynamic(self, obj, args)
            if has_property:
                raise at(pos, "no dynamic method %s on %s, but property does "
                         "exist. Use '.' operator instead: 'node.%s(..)'."
                         % (go_quote(name), go_type, name))
            if d.has_chain_method(name):
                raise at(pos, "no dynamic method %s on %s, but chaining "
                         "method does exist. Use '|' operator instead: "
                         "'node|%s(..)'." % (go_quote(name), go_type, name))
        raise at(pos, "no method or property %s on %s"
                 % (go_quote(name), go_type))

    # -- reflection-like invocation ------------------------------------
    def invoke(self, obj, member, args, f, as_property):
        method = member.member
        _check_call(method, args)
        impl = IMPLEMENTATIONS.get((member.owner, method.name))
        if impl is None:
            impl = generic_impl(member)
        result = impl(self, obj, args, member)
        if result is NO_RESULT:
            return obj if as_property else None
        return result

    def field_store(self, obj, field_member):
        if obj.handler is not None and field_member.owner == obj.type_name:
            return obj.handler
        return obj.node.props

    def set_field(self, obj, field_member, args, f):
        field = field_member.member
        if len(args) != 1:
            raise at(f.position, "too many arguments to set property %s on %s"
                     % (field.name, go_type_of(obj)))
        value = args[0]
        if not assignable(value, field.type):
            raise GoPanic("reflect.Set: value of type %s is not assignable to "
                          "type %s" % (go_type_of(value),
                                       display_go_type(field.type)))
        self.field_store(obj, field_member)[field.name] = value
        return obj

    def set_udf_option(self, obj, name, expected, args, pos):
        if len(args) != len(expected):
            raise at(pos, "unexpected number of args to %s, got %d expected %d"
                     % (name, len(args), len(expected)))
        values = []
        for arg, exp in zip(args, expected):
            got = _udf_value_type(arg)
            if got != exp:
                raise at(pos, "unexpected arg to %s, got %s expected %s"
                         % (name, got, exp))
            values.append(arg)
        obj.node.props.setdefault("Options", []).append((name, values))
        return obj

    # -- node construction ---------------------------------------------------
    def new_node(self, type_name, parent_provides, desc=None, props=None):
        wants, provides = catalog.NODE_EDGES.get(type_name, (SAME, SAME))
        wants = parent_provides if wants == SAME else wants
        provides = parent_provides if provides == SAME else provides
        values = dict(catalog.NODE_DEFAULTS.get(type_name, {}))
        values.update(props or {})
        return self.graph.new_node(type_name,
                                   desc or catalog.NODE_DESCS[type_name],
                                   wants, provides, values)

    def add_child(self, obj, type_name, desc=None, props=None):
        node = self.new_node(type_name, obj.node.provides, desc, props)
        obj.node.link_child(node)
        return GoObject(type_name, node)

    def stats(self, obj, interval):
        stats = self.new_node("StatsNode", STREAM,
                              props={"SourceNode": obj.node,
                                     "Interval": interval})
        self.graph.add_source(stats)
        if not obj.node.children:
            obj.node.link_child(self.new_node("NoOpNode", obj.node.provides))
        return GoObject("StatsNode", stats)

    def deadman(self, obj, threshold, interval, expressions=()):
        stats = self.stats(obj, interval)
        stats.node.props["AlignFlag"] = True
        derivative = self.add_child(stats, "DerivativeNode",
                                    props={"Field": "emitted", "As": "emitted",
                                           "NonNegativeFlag": True,
                                           "Unit": interval})
        alert = self.add_child(derivative, "AlertNode")
        nowhere = ast.Position()
        crit = ast.BinaryNode(nowhere, T.LESS_EQUAL,
                              ast.ReferenceNode(nowhere, "emitted"),
                              ast.NumberNode(nowhere, False, float(threshold)))
        for expression in expressions:
            crit = ast.BinaryNode(nowhere, T.AND, crit,
                                  lambda_expression(expression))
        alert.node.props["Crit"] = ast.LambdaNode(nowhere, crit)
        alert.node.props["Id"] = self.deadman_config.id.replace(
            "NODE_NAME", obj.node.name(), 1)
        alert.node.props["Message"] = self.deadman_config.message.replace(
            "INTERVAL", go_duration_string(interval.nanoseconds), 1)
        return alert


def _go_v(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, Duration):
        return go_duration_string(value.nanoseconds)
    if isinstance(value, float):
        return format_float_v(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, ast.ReferenceNode):
        return "ReferenceNode@%dl%dc%d{%s}<nil>" % (
            value.position.pos, value.position.line, value.position.char,
            value.reference)
    return go_type_of(value)


def _go_kind(value):
    kind = go_type_of(value)
    return {"int64": "int64", "float64": "float64", "string": "string",
            "bool": "bool"}.get(kind, "ptr")


def _udf_value_type(value):
    if isinstance(value, bool):
        return "BOOL"
    if isinstance(value, int):
        return "INT"
    if isinstance(value, float):
        return "DOUBLE"
    if isinstance(value, str):
        return "STRING"
    if isinstance(value, Duration):
        return "DURATION"
    return "BOOL"  # Go leaves the zero value type for anything else


def _check_call(method, args):
    """Reflect's argument checks for ``Value.Call``."""
    params = list(method.params)
    if method.variadic:
        fixed, elem = params[:-1], params[-1]
        if len(args) < len(fixed):
            raise GoPanic("reflect: Call with too few input arguments")
    else:
        fixed, elem = params, None
        if len(args) < len(fixed):
            raise GoPanic("reflect: Call with too few input arguments")
        if len(args) > len(fixed):
            raise GoPanic("reflect: Call with too many input arguments")
    for arg in args:
        if arg is None:
            raise GoPanic("reflect: Call using zero Value argument")
    for arg, param in zip(args, fixed):
        if not assignable(arg, param):
            raise GoPanic("reflect: Call using %s as type %s"
                          % (go_type_of(arg), display_go_type(param)))
    for arg in args[len(fixed):]:
        if not assignable(arg, elem):
            raise GoPanic("reflect: cannot use %s as type %s in Call"
                          % (go_type_of(arg), display_go_type(elem)))


def value_to_literal(position, value):
    """Kapacitor's ``ValueToLiteralNode``: a var value inside a lambda."""
    if isinstance(value, bool):
        return ast.BoolNode(position, value)
    if isinstance(value, int):
        return ast.NumberNode(position, True, value, 10)
    if isinstance(value, float):
        return ast.NumberNode(position, False, value)
    if isinstance(value, Duration):
        return ast.DurationNode(position, value.nanoseconds, "")
    if isinstance(value, str):
        return ast.StringNode(position, value)
    if isinstance(value, RegexValue):
        return ast.RegexNode(position, value.pattern, "")
    if isinstance(value, ast.LambdaNode):
        return ast.LambdaNode(position, value.expression)
    if isinstance(value, ast.StarNode):
        return ast.StarNode(position)
    if isinstance(value, list):
        return ast.ListNode(position,
                            [value_to_literal(position, v) for v in value])
    if isinstance(value, TypedNil) and value.go_type == "*ast.LambdaNode":
        return ast.LambdaNode(position, None)
    if isinstance(value, TypedNil) and value.go_type == "*regexp.Regexp":
        return ast.RegexNode(position, "", "")
    raise TickEvalError("unsupported literal type %s" % go_type_of(value))


def _value_to_var(value, vtype, desc):
    if vtype == T_LIST:
        items = value if isinstance(value, list) else []
        return TickVar(T_LIST, [TickVar(value_type(v), v) for v in items],
                       desc)
    return TickVar(vtype, value, desc)


def _var_to_value(var):
    if var.type == T_LIST:
        if not isinstance(var.value, list):
            raise TickEvalError("var has type list but value is type %s"
                                % go_type_of(var.value))
        return [item.value for item in var.value]
    return var.value


def make_udf_method(name, info):
    """The ``@name()`` dynamic method the UDF service registers."""

    def call(ev, obj, args):
        if not (isinstance(obj, GoObject)
                and obj.type_name in catalog.NODE_INTERFACE_TYPES):
            raise TickEvalError("cannot call %s on %s"
                                % (name, go_type_of(obj)))
        node = ev.graph.new_node("UDFNode", name, info.wants, info.provides,
                                 {"UDFName": name,
                                  "_options": dict(info.options)})
        obj.node.link_child(node)
        return GoObject("UDFNode", node)
    return call


def new_scope(source_kind, source_obj, udfs=None):
    scope = Scope()
    scope.set("time", _GlobalTime)
    scope.set(source_kind, source_obj)
    for name, info in (udfs or {}).items():
        scope.dynamic_methods[name] = make_udf_method(name, info)
    return scope
