"""Go ``text/template`` for alert ids, messages and details, compiled once into closures.

``parse(text, name)`` runs Go's grammar (:mod:`.goparse`) and turns every node
into a Python closure, so an alert only walks closures, never source text.
Execution follows Go's ``text/template/exec.go``: the same truth rules, map
and struct field lookup, built-in functions, variable scoping and error text
(``template: message:1:3: executing "message" at <.Foo>: can't evaluate
field Foo in type ...``).

A template comes from a user's TICKscript and runs on the reactor for every
alert, so execution is bounded:

* output (and any string a function builds) is capped at :data:`MAX_OUTPUT`
  characters (1 MiB);
* every node executed, every ``range`` iteration and every 16 characters a
  function builds cost one step, at most :data:`MAX_STEPS` per execution;
* ``{{template}}`` calls nest at most :data:`MAX_DEPTH` (100) deep, and parsing
  refuses more than 100 nested blocks or parentheses.

Exceeding a bound is a :class:`TemplateError`, like any other execution error.

``html=True`` gives the escaping Kapacitor's ``details`` template gets from
``html/template`` for text between tags: every action's output is
HTML-escaped with html/template's table and nil prints as nothing.  It does
not track attribute, script or URL contexts.
"""

from __future__ import annotations

from urllib.parse import quote_plus

from kapacitord_tw.engine import gofmt
from kapacitord_tw.engine.goparse import TemplateError, parse_trees
from kapacitord_tw.engine.govalues import (
    GoDuration, GoStruct, GoTime, StringMap, go_json_value, go_sprint, go_type_name,
)
from kapacitord_tw.gocompat import json_dumps

__all__ = ["MAX_DEPTH", "MAX_OUTPUT", "MAX_STEPS", "Template", "TemplateError", "parse",
           "JSON_FUNCS"]

MAX_OUTPUT = 1 << 20
MAX_STEPS = 100_000
MAX_DEPTH = 100

_MISSING = object()      # Go's missingVal: no final argument from a previous pipeline stage


class _Break(Exception):
    pass


class _Continue(Exception):
    pass


class _State:
    __slots__ = ("out", "size", "steps", "vars", "node", "name", "depth", "templates", "src")

    def __init__(self, templates, src, name):
        self.out = []
        self.size = 0
        self.steps = MAX_STEPS
        self.vars = []
        self.node = None
        self.name = name
        self.depth = 0
        self.templates = templates
        self.src = src

    def write(self, s: str) -> None:
        self.size += len(s)
        if self.size > MAX_OUTPUT:
            self.fail(f"template output exceeds {MAX_OUTPUT} characters")
        self.out.append(s)

    def step(self, n: int = 1) -> None:
        self.steps -= n
        if self.steps < 0:
            self.fail(f"template execution exceeds {MAX_STEPS} steps")

    def built(self, s):
        """Account for a string a function built (bounded like output)."""
        if isinstance(s, str) and len(s) > 64:
            if len(s) > MAX_OUTPUT:
                self.fail(f"template output exceeds {MAX_OUTPUT} characters")
            self.step(len(s) >> 4)
        return s

    def fail(self, msg: str):
        if self.node is None:
            raise TemplateError(f"template: {self.name}: {msg}")
        raise TemplateError(
            f"template: {self.src.location(self.node.pos)}: executing "
            f"{go_quote_name(self.name)} at <{self.node}>: {msg}")

    def var(self, name):
        for i in range(len(self.vars) - 1, -1, -1):
            if self.vars[i][0] == name:
                return self.vars[i][1]
        self.fail(f"undefined variable: {name}")

    def set_var(self, name, value):
        for i in range(len(self.vars) - 1, -1, -1):
            if self.vars[i][0] == name:
                self.vars[i][1] = value
                return
        self.fail(f"undefined variable: {name}")


def go_quote_name(name: str) -> str:
    from kapacitord_tw.gocompat import go_quote
    return go_quote(name)


# ---------------------------------------------------------------------------
# Go semantics on values

def truth(v) -> bool:
    """``template.IsTrue``: empty strings/maps/slices, zero numbers, false and nil are false."""
    if v is None or v is False:
        return False
    if v is True:
        return True
    if isinstance(v, (int, float)):
        return v != 0
    if isinstance(v, (str, dict, list, tuple)):
        return len(v) > 0
    return True  # structs (incl. time.Time) are always true


def _kind(v) -> str:
    if v is None:
        return "invalid"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int"
    if isinstance(v, float):
        return "float"
    if isinstance(v, str):
        return "string"
    return "other"


class _FuncError(Exception):
    """An error a function returned: Go reports it as ``error calling NAME: ...``."""


def _eq(a, *others):
    if not others:
        raise _FuncError("missing argument for comparison")
    k1 = _kind(a)
    for b in others:
        k2 = _kind(b)
        if k1 != k2:
            if a is not None and b is not None:
                raise _FuncError("incompatible types for comparison")
            truth_ = False
        elif k1 == "other":
            if isinstance(a, (dict, list, tuple)) or isinstance(b, (dict, list, tuple)):
                raise _FuncError(f"non-comparable type {go_sprint(a)}: {go_type_name(a)}")
            truth_ = type(a) is type(b) and a == b
        else:
            truth_ = a == b
        if truth_:
            return True
    return False


def _ne(a, b):
    return not _eq(a, b)


def _lt(a, b):
    k1, k2 = _kind(a), _kind(b)
    if k1 in ("invalid", "other") or k2 in ("invalid", "other"):
        raise _FuncError("invalid type for comparison")
    if k1 != k2:
        raise _FuncError("incompatible types for comparison")
    if k1 == "bool":
        raise _FuncError("invalid type for comparison")
    return a < b


def _le(a, b):
    return _lt(a, b) or _eq(a, b)


def _gt(a, b):
    return not _le(a, b)


def _ge(a, b):
    return not _lt(a, b)


def _not(a):
    return not truth(a)


def _len(a):
    if a is None:
        raise _FuncError("len of nil pointer")
    if isinstance(a, str):
        return len(a.encode("utf-8", "surrogateescape"))
    if isinstance(a, (dict, list, tuple)):
        return len(a)
    raise _FuncError(f"len of type {go_type_name(a)}")


def _index_arg(i, cap: int) -> int:
    if i is None:
        raise _FuncError("cannot index slice/array with nil")
    if isinstance(i, bool) or not isinstance(i, int):
        raise _FuncError(f"cannot index slice/array with type {go_type_name(i)}")
    if i < 0 or i > cap:
        raise _FuncError(f"index out of range: {i}")
    return i


def _index(item, *indexes):
    if item is None:
        raise _FuncError("index of untyped nil")
    for idx in indexes:
        if isinstance(item, str):
            raw = item.encode("utf-8", "surrogateescape")
            x = _index_arg(idx, len(raw))
            if x == len(raw):
                raise _FuncError("reflect: string index out of range")
            item = raw[x]
        elif isinstance(item, (list, tuple)):
            x = _index_arg(idx, len(item))
            if x == len(item):
                raise _FuncError("reflect: slice index out of range")
            item = item[x]
        elif isinstance(item, dict):
            if idx is None:
                raise _FuncError("value is nil; should be of type string")
            if not isinstance(idx, str):
                raise _FuncError(f"value has type {go_type_name(idx)}; should be string")
            if idx in item:
                item = item[idx]
            else:
                item = "" if isinstance(item, StringMap) else None
        elif item is None:
            raise _FuncError("index of nil pointer")
        else:
            raise _FuncError(f"can't index item of type {go_type_name(item)}")
    return item


def _slice(item, *indexes):
    if item is None:
        raise _FuncError("slice of untyped nil")
    if len(indexes) > 3:
        raise _FuncError(f"too many slice indexes: {len(indexes)}")
    if isinstance(item, str):
        if len(indexes) == 3:
            raise _FuncError("cannot 3-index slice a string")
        seq = item.encode("utf-8", "surrogateescape")
    elif isinstance(item, (list, tuple)):
        seq = item
    else:
        raise _FuncError(f"can't slice item of type {go_type_name(item)}")
    cap = len(seq)
    idx = [0, len(seq)]
    for i, x in enumerate(indexes):
        idx_i = _index_arg(x, cap)
        if i < 2:
            idx[i] = idx_i
        else:
            idx.append(idx_i)
    if idx[0] > idx[1]:
        raise _FuncError(f"invalid slice index: {idx[0]} > {idx[1]}")
    if len(idx) == 3 and idx[1] > idx[2]:
        raise _FuncError(f"invalid slice index: {idx[1]} > {idx[2]}")
    out = seq[idx[0]:idx[1]]
    if isinstance(out, bytes):
        return out.decode("utf-8", "surrogateescape")
    return list(out)


def _eval_args(args) -> str:
    """text/template's evalArgs: a lone string as is, else ``fmt.Sprint`` (nil as <no value>)."""
    if len(args) == 1 and isinstance(args[0], str):
        return args[0]
    return gofmt.sprint(["<no value>" if a is None else a for a in args])


_HTML_TEXT = str.maketrans({'"': "&#34;", "'": "&#39;", "&": "&amp;", "<": "&lt;",
                            ">": "&gt;", "\x00": "\ufffd"})
# html/template's table for text between tags (also escapes '+').
_HTML_AUTO = str.maketrans({'"': "&#34;", "'": "&#39;", "&": "&amp;", "<": "&lt;",
                            ">": "&gt;", "+": "&#43;", "\x00": "\ufffd"})


def _html(*args):
    return _eval_args(args).translate(_HTML_TEXT)


_JS = {"\\": "\\\\", "'": "\\'", '"': '\\"', "<": "\\u003C", ">": "\\u003E",
       "&": "\\u0026", "=": "\\u003D"}


def _js(*args):
    out = []
    for c in _eval_args(args):
        if c in _JS:
            out.append(_JS[c])
        elif c < " ":
            out.append("\\u00%02X" % ord(c))
        elif ord(c) >= 0x80 and not c.isprintable():
            out.append("\\u%04X" % ord(c))
        else:
            out.append(c)
    return "".join(out)


def _urlquery(*args):
    return quote_plus(_eval_args(args).encode("utf-8", "surrogateescape"), safe="")


def _print(*args):
    return gofmt.sprint(args)


def _println(*args):
    return gofmt.sprintln(args)


def _printf(fmt, *args):
    return gofmt.sprintf(fmt, args)


def _call(fn, *args):
    if fn is None:
        raise _FuncError("call of nil")
    if not callable(fn):
        raise _FuncError(f"non-function of type {go_type_name(fn)}")
    return fn(*args)


def _json(v):
    """Kapacitor's ``json``: ``json.NewEncoder(...).Encode(v)`` (trailing newline included)."""
    return json_dumps(go_json_value(v), newline=True).decode("utf-8", "surrogateescape")


def _json_compact(v):
    """Kapacitor's ``jsonCompact``: the same, compacted (no trailing newline)."""
    return json_dumps(go_json_value(v)).decode("utf-8", "surrogateescape")


class Func:
    """A template function: its parameter kinds drive Go's argument checks.

    ``params`` are ``"value"`` (reflect.Value: anything but a literal nil),
    ``"any"`` (interface{}: anything), ``"string"``; ``variadic`` means the
    last one repeats.
    """

    __slots__ = ("fn", "params", "variadic")

    def __init__(self, fn, params, variadic=False):
        self.fn, self.params, self.variadic = fn, params, variadic


BUILTINS = {
    "and": Func(None, ("value", "value"), True),
    "or": Func(None, ("value", "value"), True),
    "not": Func(_not, ("value",)),
    "len": Func(_len, ("value",)),
    "index": Func(_index, ("value", "value"), True),
    "slice": Func(_slice, ("value", "value"), True),
    "print": Func(_print, ("any",), True),
    "printf": Func(_printf, ("string", "any"), True),
    "println": Func(_println, ("any",), True),
    "html": Func(_html, ("any",), True),
    "js": Func(_js, ("any",), True),
    "urlquery": Func(_urlquery, ("any",), True),
    "eq": Func(_eq, ("value", "value"), True),
    "ne": Func(_ne, ("value", "value")),
    "lt": Func(_lt, ("value", "value")),
    "le": Func(_le, ("value", "value")),
    "gt": Func(_gt, ("value", "value")),
    "ge": Func(_ge, ("value", "value")),
    "call": Func(_call, ("value", "value"), True),
}

#: Kapacitor's extra functions for ``details`` and httpPost body templates.
JSON_FUNCS = {
    "json": Func(_json, ("any",)),
    "jsonCompact": Func(_json_compact, ("any",)),
}


# methods callable on time.Time and time.Duration values: name -> (params, fn)
_TIME_METHODS = {
    "Unix": ((), lambda t: t.ns // 1_000_000_000),
    "UnixMilli": ((), lambda t: t.ns // 1_000_000),
    "UnixMicro": ((), lambda t: t.ns // 1_000),
    "UnixNano": ((), lambda t: t.ns),
    "UTC": ((), lambda t: GoTime(t.ns)),
    "String": ((), str),
    "IsZero": ((), lambda t: t.ns == -62135596800 * 1_000_000_000),
    "Format": (("string",), lambda t, layout: t.format(layout)),
    "Year": ((), lambda t: int(t.format("2006"))),
    "YearDay": ((), lambda t: int(t.format("002"))),
    "Day": ((), lambda t: int(t.format("2"))),
    "Hour": ((), lambda t: int(t.format("15"))),
    "Minute": ((), lambda t: int(t.format("4"))),
    "Second": ((), lambda t: int(t.format("5"))),
    "Nanosecond": ((), lambda t: t.ns % 1_000_000_000),
}
_DURATION_METHODS = {
    "String": ((), str),
    "Nanoseconds": ((), int),
    "Microseconds": ((), lambda d: _trunc_div(int(d), 1_000)),
    "Milliseconds": ((), lambda d: _trunc_div(int(d), 1_000_000)),
    "Seconds": ((), lambda d: _split_float(int(d), 1_000_000_000)),
    "Minutes": ((), lambda d: _split_float(int(d), 60_000_000_000)),
    "Hours": ((), lambda d: _split_float(int(d), 3_600_000_000_000)),
}


def _trunc_div(a: int, b: int) -> int:
    q = abs(a) // b
    return -q if a < 0 else q


def _split_float(d: int, unit: int) -> float:
    # Go: whole units plus the remainder as a fraction, each in float64.
    whole = _trunc_div(d, unit)
    rest = d - whole * unit
    return float(whole) + rest / unit


def _methods(v):
    if isinstance(v, GoTime):
        return _TIME_METHODS
    if isinstance(v, GoDuration):
        return _DURATION_METHODS
    return None


# ---------------------------------------------------------------------------
# compiler: node -> closure(st, dot)

class _Compiler:
    def __init__(self, funcs, html: bool):
        self.funcs = funcs
        self.html = html

    # lists and control
    def list(self, lst):
        steps = [self.node(n) for n in lst.nodes]
        if len(steps) == 1:
            return steps[0]

        def run_list(st, dot):
            for s in steps:
                s(st, dot)
        return run_list

    def node(self, n):
        kind = n.kind
        if kind == "text":
            text = n.text

            def run_text(st, dot):
                st.write(text)
            return run_text
        if kind == "action":
            return self.action(n)
        if kind in ("if", "with"):
            return self.if_with(n)
        if kind == "range":
            return self.range(n)
        if kind == "template":
            return self.template(n)
        if kind == "break":
            def run_break(st, dot):
                raise _Break()
            return run_break
        if kind == "continue":
            def run_continue(st, dot):
                raise _Continue()
            return run_continue
        raise TemplateError(f"unknown node {n}")  # pragma: no cover

    def action(self, n):
        pipe = self.pipeline(n.pipe)
        if n.pipe.decls:
            def run_decl(st, dot):
                st.step()
                pipe(st, dot)
            return run_decl
        if self.html:
            def run_html(st, dot):
                st.step()
                v = pipe(st, dot)
                if v is not None:
                    st.write(go_sprint(v).translate(_HTML_AUTO))
            return run_html

        def run_action(st, dot):
            st.step()
            v = pipe(st, dot)
            st.write("<no value>" if v is None else v if isinstance(v, str) else go_sprint(v))
        return run_action

    def if_with(self, n):
        pipe = self.pipeline(n.pipe)
        body = self.list(n.list)
        other = self.list(n.else_list) if n.else_list is not None else None
        is_with = n.kind == "with"

        def run_if(st, dot):
            st.step()
            mark = len(st.vars)
            try:
                v = pipe(st, dot)
                if truth(v):
                    body(st, v if is_with else dot)
                elif other is not None:
                    other(st, dot)
            finally:
                del st.vars[mark:]
        return run_if

    def range(self, n):
        pipe_node = n.pipe
        pipe = self.pipeline(pipe_node)
        body = self.list(n.list)
        other = self.list(n.else_list) if n.else_list is not None else None
        decls = [d.idents[0] for d in pipe_node.decls]
        is_assign = pipe_node.is_assign

        def run_range(st, dot):
            st.step()
            outer = len(st.vars)
            try:
                val = pipe(st, dot)
                mark = len(st.vars)
                if isinstance(val, dict):
                    items = sorted(val.items(), key=lambda kv: kv[0])
                elif isinstance(val, (list, tuple)):
                    items = list(enumerate(val))
                elif isinstance(val, int) and not isinstance(val, bool):
                    if len(decls) > 1:
                        st.fail(f"can't use {go_sprint(val)} to iterate over more than one variable")
                    items = ((i, i) for i in range(max(val, 0)))
                elif val is None:
                    items = ()
                else:
                    st.fail(f"range can't iterate over {go_sprint(val)}")
                ran = False
                for key, elem in items:
                    ran = True
                    st.step()
                    if decls:
                        if is_assign:
                            if len(decls) > 1:
                                st.set_var(decls[0], key)
                                st.set_var(decls[1], elem)
                            else:
                                st.set_var(decls[0], elem)
                        else:
                            st.vars[-1][1] = elem
                            if len(decls) > 1:
                                st.vars[-2][1] = key
                    try:
                        body(st, elem)
                    except _Continue:
                        pass
                    except _Break:
                        break
                    finally:
                        del st.vars[mark:]
                if not ran and other is not None:
                    other(st, dot)
            finally:
                del st.vars[outer:]
        return run_range

    def template(self, n):
        pipe = self.pipeline(n.pipe) if n.pipe is not None else None
        name = n.name

        def run_template(st, dot):
            st.node = n
            tree = st.templates.get(name)
            if tree is None:
                st.fail(f"template {go_quote_name(name)} not defined")
            if st.depth >= MAX_DEPTH:
                st.fail(f"exceeded maximum template depth ({MAX_DEPTH})")
            st.step()
            if pipe is not None:
                dot = pipe(st, dot)
            saved = (st.vars, st.name)
            st.vars, st.name = [["$", dot]], name
            st.depth += 1
            try:
                tree(st, dot)
            finally:
                st.depth -= 1
                st.vars, st.name = saved
        return run_template

    # pipelines and commands
    def pipeline(self, p):
        cmds = [self.command(c) for c in p.cmds]
        decls = [d.idents[0] for d in p.decls]
        is_assign = p.is_assign

        def run_pipe(st, dot):
            st.node = p
            value = _MISSING
            for c in cmds:
                value = c(st, dot, value)
            for name in decls:
                if is_assign:
                    st.set_var(name, value)
                else:
                    st.vars.append([name, value])
            return value
        return run_pipe

    def command(self, cmd):
        first = cmd.args[0]
        args = cmd.args
        kind = first.kind
        if kind == "field":
            return self.field_cmd(first, args)
        if kind == "chain":
            return self.chain_cmd(first, args)
        if kind == "identifier":
            return self.func_call(first, cmd, args)
        if kind == "pipe":
            inner = self.pipeline(first)

            def run_paren(st, dot, final):
                _not_a_function(st, args, final)
                return inner(st, dot)
            return run_paren
        if kind == "variable":
            return self.variable_cmd(first, args)
        const = self.constant(first)

        def run_const(st, dot, final):
            st.node = first
            _not_a_function(st, args, final)
            return const(st, dot)
        return run_const

    def constant(self, n):
        kind = n.kind
        if kind == "bool":
            v = n.value
            return lambda st, dot: v
        if kind == "dot":
            return lambda st, dot: dot
        if kind == "nil":
            def run_nil(st, dot):
                st.node = n
                st.fail("nil is not a command")
            return run_nil
        if kind == "number":
            return self.ideal(n)
        if kind == "string":
            v = n.text
            return lambda st, dot: v
        raise TemplateError(f"can't evaluate command {n}")  # pragma: no cover

    def ideal(self, n):
        """Go's idealConstant: floats when spelled with . e or p, ints otherwise."""
        if n.overflow:
            def run_overflow(st, dot):
                st.node = n
                st.fail(f"{n.text} overflows int")
            return run_overflow
        if n.is_float:
            v = float(n.value)
        else:
            v = n.value
        return lambda st, dot: v

    def field_cmd(self, field, args):
        chain = field.idents
        arg_fns = self._method_args(args)

        def run_field(st, dot, final):
            st.node = field
            return _field_chain(st, dot, dot, chain, field, arg_fns, final)
        return run_field

    def variable_cmd(self, var, args):
        name = var.idents[0]
        chain = var.idents[1:]
        arg_fns = self._method_args(args)

        def run_var(st, dot, final):
            st.node = var
            value = st.var(name)
            if not chain:
                _not_a_function(st, args, final)
                return value
            return _field_chain(st, dot, value, chain, var, arg_fns, final)
        return run_var

    def chain_cmd(self, chain, args):
        if chain.node.kind == "nil":
            def run_nil_chain(st, dot, final):
                st.node = chain
                st.fail(f"indirection through explicit nil in {chain}")
            return run_nil_chain
        base = self.arg(chain.node, "any")
        fields = chain.fields
        arg_fns = self._method_args(args)

        def run_chain(st, dot, final):
            st.node = chain
            receiver = base(st, dot)
            st.node = chain
            return _field_chain(st, dot, receiver, fields, chain, arg_fns, final)
        return run_chain

    def _method_args(self, args):
        """Closures evaluating a method's arguments (typed later, by the method's params)."""
        return [(a, {t: self.arg(a, t) for t in ("any", "string")}) for a in args[1:]]

    def arg(self, n, typ):
        """A closure evaluating argument node *n* for a parameter of kind *typ* (Go's evalArg)."""
        kind = n.kind
        if kind == "dot":
            return _typed(n, typ, lambda st, dot: dot)
        if kind == "nil":
            def run_nil_arg(st, dot):
                st.node = n
                if typ == "any":
                    return None
                st.fail("cannot assign nil to " + _go_param_type(typ))
            return run_nil_arg
        if kind == "field":
            f = self.field_cmd(n, [n])
            return _typed(n, typ, lambda st, dot: f(st, dot, _MISSING))
        if kind == "variable":
            f = self.variable_cmd(n, [n])
            return _typed(n, typ, lambda st, dot: f(st, dot, _MISSING))
        if kind == "pipe":
            f = self.pipeline(n)
            return _typed(n, typ, f)
        if kind == "identifier":
            f = self.func_call(n, n, [n])
            return _typed(n, typ, lambda st, dot: f(st, dot, _MISSING))
        if kind == "chain":
            f = self.chain_cmd(n, [n])
            return _typed(n, typ, lambda st, dot: f(st, dot, _MISSING))
        if typ == "string":
            if kind == "string":
                v = n.text
                return lambda st, dot: v
            return _fail_arg(n, f"expected string; found {n}")
        if kind == "number":
            return self.ideal(n)
        if kind == "string":
            v = n.text
            return lambda st, dot: v
        if kind == "bool":
            v = n.value
            return lambda st, dot: v
        raise TemplateError(f"can't handle {n} for arg")  # pragma: no cover

    def func_call(self, ident, cmd, args):
        name = ident.name
        func = self.funcs[name]
        params = func.params
        fixed = len(params) - 1 if func.variadic else len(params)
        arg_nodes = args[1:]

        def param(i):
            return params[min(i, len(params) - 1)] if func.variadic else params[i]

        if func.variadic:
            arg_fns = [self.arg(a, param(i)) for i, a in enumerate(arg_nodes)]
        else:
            arg_fns = [self.arg(a, params[i]) for i, a in enumerate(arg_nodes[:len(params)])]

        if name in ("and", "or"):
            want = name == "or"

            def run_and_or(st, dot, final):
                st.node = ident
                n_in = len(arg_nodes) + (final is not _MISSING)
                if n_in < 1:
                    st.fail(f"wrong number of args for {name}: want at least 1 got {len(arg_nodes)}")
                v = None
                for f in arg_fns:
                    v = f(st, dot)
                    if truth(v) == want:
                        return v
                if final is not _MISSING:
                    v = final
                return v
            return run_and_or

        fn = func.fn

        def run_call(st, dot, final):
            st.node = ident
            n_in = len(arg_nodes) + (final is not _MISSING)
            if func.variadic:
                if n_in < fixed:
                    st.fail(f"wrong number of args for {name}: want at least {fixed} "
                            f"got {len(arg_nodes)}")
            elif n_in != len(params):
                st.fail(f"wrong number of args for {name}: want {len(params)} got {n_in}")
            values = [f(st, dot) for f in arg_fns]
            if final is not _MISSING:
                t = param(len(values))
                if t == "string" and not isinstance(final, str):
                    st.fail(f"wrong type for value; expected string; got {go_type_name(final)}")
                values.append(final)
            try:
                result = fn(*values)
            except _FuncError as e:
                st.node = cmd
                st.fail(f"error calling {name}: {e}")
            except RecursionError:
                st.node = cmd
                st.fail(f"error calling {name}: value too deeply nested")
            return st.built(result)
        return run_call


def _go_param_type(typ: str) -> str:
    return {"value": "reflect.Value", "string": "string"}.get(typ, "interface {}")


def _typed(n, typ, f):
    """Go's validateType for a computed argument value."""
    if typ == "string":
        def run_string(st, dot):
            v = f(st, dot)
            if v is None:
                st.node = n
                st.fail("invalid value; expected string")
            if not isinstance(v, str):
                st.node = n
                st.fail(f"wrong type for value; expected string; got {go_type_name(v)}")
            return v
        return run_string
    return f


def _fail_arg(n, msg):
    def run_fail(st, dot):
        st.node = n
        st.fail(msg)
    return run_fail


def _not_a_function(st, args, final):
    if len(args) > 1 or final is not _MISSING:
        st.fail(f"can't give argument to non-function {args[0]}")


def _field_chain(st, dot, receiver, idents, node, arg_fns, final):
    last = len(idents) - 1
    for i, name in enumerate(idents):
        receiver = _field(st, dot, receiver, name, node,
                          arg_fns if i == last else None,
                          final if i == last else _MISSING)
    return receiver


def _field(st, dot, receiver, name, node, arg_fns, final):
    """Go's evalField: a method, a struct field or a map key of *receiver*."""
    if receiver is None:
        return None
    has_args = bool(arg_fns) or final is not _MISSING
    methods = _methods(receiver)
    if methods is not None and name in methods:
        params, fn = methods[name]
        n_in = len(arg_fns or ()) + (final is not _MISSING)
        if n_in != len(params):
            st.fail(f"wrong number of args for {name}: want {len(params)} got {n_in}")
        values = [fns[params[i]](st, dot) for i, (_, fns) in enumerate(arg_fns or ())]
        if final is not _MISSING:
            if params[-1] == "string" and not isinstance(final, str):
                st.fail(f"wrong type for value; expected string; got {go_type_name(final)}")
            values.append(final)
        st.node = node
        return st.built(fn(receiver, *values))
    if isinstance(receiver, GoStruct):
        value = receiver.lookup(name)
        if value is not GoStruct._MISSING:
            if has_args:
                st.fail(f"{name} has arguments but cannot be invoked as function")
            return value
    elif isinstance(receiver, dict):
        if has_args:
            st.fail(f"{name} is not a method but has arguments")
        return receiver.get(name)
    st.fail(f"can't evaluate field {name} in type {go_type_name(receiver)}")


# ---------------------------------------------------------------------------
# public API

class Template:
    """A parsed template; :meth:`execute` renders it against Go-shaped data."""

    __slots__ = ("name", "_src", "_templates")

    def __init__(self, name, src, templates):
        self.name = name
        self._src = src
        self._templates = templates

    def execute(self, data) -> str:
        """Render with *data* as dot and ``$``; raises :class:`TemplateError` as Go would."""
        st = _State(self._templates, self._src, self.name)
        st.vars = [["$", data]]
        root = self._templates.get(self.name)
        if root is None:
            raise TemplateError(
                f"template: {self.name}: {go_quote_name(self.name)} is an incomplete or empty template")
        try:
            root(st, data)
        except RecursionError:
            raise TemplateError(
                f"template: {self.name}: exceeded maximum template depth ({MAX_DEPTH})") from None
        return "".join(st.out)


def parse(text: str, name: str = "", funcs: dict | None = None, html: bool = False) -> Template:
    """Parse and compile *text* as Go's ``template.New(name).Funcs(funcs).Parse(text)``.

    *funcs* adds functions (e.g. :data:`JSON_FUNCS`) to the built-ins; *html*
    escapes every action's output as ``html/template`` does between tags.
    Raises :class:`TemplateError` with Go's parse error text.
    """
    all_funcs = dict(BUILTINS)
    if funcs:
        all_funcs.update(funcs)
    src, trees = parse_trees(name, text, all_funcs)
    compiler = _Compiler(all_funcs, html)
    compiled = {tname: compiler.list(tree) for tname, tree in trees.items()}
    return Template(name, src, compiled)
