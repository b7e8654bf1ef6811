"""Compiled lambdas behave exactly like the tree-walking engine.

The reference is :class:`kapacitord_tw.tick.expr.Expression` on a
``MapScope`` filled the way Kapacitor's ``fillScope`` fills it; results,
their types and error texts must match point for point, including the
state of ``count()``/``sigma()``/``spread()`` across points.
"""

import glob
import itertools
import math
import os
import random
from collections.abc import Mapping

import pytest

from kapacitord_tw.engine.lambdas import (
    MAX_SPECIALISATIONS, LambdaError, compile_lambda, point_time)
from kapacitord_tw.tick import (
    TickSyntaxError, UDFInfo, compile_template, parse_lambda)
from kapacitord_tw.tick import syntax as ast
from kapacitord_tw.tick.expr import Expression, ExprError, MapScope
from kapacitord_tw.tick.gonum import GoRuntimeError
from kapacitord_tw.tick.values import MISSING, T_BOOL

SCRIPTS = sorted(glob.glob(os.path.join(
    os.path.dirname(__file__), "..", "tick", "scripts", "*.tick")))
UDFS = {"movingAverage": UDFInfo(wants="batch", provides="stream",
                                 options={"field": ("STRING",),
                                          "size": ("INT",),
                                          "as": ("STRING",)})}
T0 = 1_700_000_000_123_456_789


# -- the reference: fillScope + the tree-walker ---------------------------
def fill_scope(names, time_ns, fields, tags):
    values = {}
    for name in names:
        if name == "time":
            values[name] = point_time(time_ns)
        elif name in fields:
            if name in tags:
                return 'cannot have field and tags with same name "%s"' % name
            values[name] = fields[name]
        elif name in tags:
            values[name] = tags[name]
        else:
            values[name] = MISSING
    return values


def outcome(fn):
    try:
        value = fn()
    except (ExprError, LambdaError) as exc:
        return ("error", str(exc))
    except GoRuntimeError as exc:
        return ("error", str(exc))
    if isinstance(value, float) and math.isnan(value):
        return ("float", "NaN")
    return (type(value).__name__, repr(value))


def walk(expression, mode, names, time_ns, fields, tags):
    values = fill_scope(names, time_ns, fields, tags)
    if isinstance(values, str):
        return ("error", values)
    scope = MapScope(values)
    if mode == "eval":
        return outcome(lambda: expression.eval(scope))

    def predicate():  # EvalPredicate: the type first, then EvalBool
        try:
            expression.type(scope)
            return expression.root.eval_as(T_BOOL, scope, expression.state)
        except GoRuntimeError as exc:
            raise ExprError(str(exc)) from None
    return outcome(predicate)


def compiled(evaluator, mode, time_ns, fields, tags):
    return outcome(lambda: getattr(evaluator, mode)(time_ns, fields, tags))


def assert_same(node, points):
    """Run ``points`` through both engines in both modes, with state."""
    try:
        reference = Expression(node.expression if isinstance(
            node, ast.LambdaNode) else node)
    except ExprError as exc:
        with pytest.raises(ExprError) as info:
            compile_lambda(node)
        assert str(info.value) == str(exc)
        return 0
    program = compile_lambda(node)
    checked = 0
    for mode in ("eval", "predicate"):
        reference = Expression(node.expression if isinstance(
            node, ast.LambdaNode) else node)
        evaluator = program.new_evaluator()
        for i, (fields, tags) in enumerate(points):
            time_ns = T0 + i * 61_000_000_123
            expected = walk(reference, mode, program.references, time_ns,
                            fields, tags)
            got = compiled(evaluator, mode, time_ns, fields, tags)
            assert got == expected, (mode, node, fields, tags)
            checked += 1
    return checked


# -- value pools -----------------------------------------------------------
VALUES = [1.5, -2.0, 0.0, -0.0, math.nan, math.inf, 1e300, 7, 0, -1,
          2**63 - 1, -2**63, 3, "", "a", "abc", "10", True, False, None]


def points_for(names, rng, count=60):
    """Points covering each name as every type, missing, tag and both."""
    points = []
    for _ in range(count):
        fields, tags = {}, {}
        for name in names:
            roll = rng.random()
            if roll < 0.1:
                continue  # missing
            if roll < 0.15:
                tags[name] = rng.choice(["a", "x", ""])
            elif roll < 0.17:
                fields[name] = 1.0
                tags[name] = "clash"
            else:
                fields[name] = rng.choice(VALUES)
        points.append((fields, tags))
    return points


def refs(node):
    return compile_lambda(node).references if _compiles(node) else ()


def _compiles(node):
    try:
        compile_lambda(node)
    except ExprError:
        return False
    return True


OPERATORS = ["+", "-", "*", "/", "%", "==", "!=", "<", ">", "<=", ">=",
             "AND", "OR", "=~", "!~"]
OPERANDS = ['"a"', '"b"', "2", "2.5", "0", "0.0", "'s'", "TRUE", "FALSE",
            "5m", "0s", "/^a/", "-3", "-1.5", "9223372036854775807"]


def operator_lambdas():
    out = []
    for op in OPERATORS:
        for left, right in itertools.product(OPERANDS, repeat=2):
            if '"' in left or '"' in right:
                out.append("%s %s %s" % (left, op, right))
    return out


HAND_WRITTEN = [
    '"a"', '-"a"', '!"a"', '-(-"a")', '!-"a"', '-!"a"', '!("a" > 1)',
    '-("a" + 1)', '-("a" + 1.0)', '-("a" * 2m)',
    'count()', 'count() + count()', 'count() > 2 AND "a" > 1',
    'sigma("a")', 'sigma("a") > 1.0', 'spread("a")', 'spread("a") > 0.5',
    'isPresent("a")', '!isPresent("a")', 'isPresent("a") AND "a" > 1',
    'isPresent("a") OR "b" < 2', 'abs("a")', '-abs("a")', '!abs("a")',
    'abs("a") + "b"', 'strLength("a")', 'strLength("a") > 1',
    'int("a")', 'float("a")', 'string("a")', 'bool("a")',
    'if("b" > 1, "a", 0)', 'if("a", 1, 2)', 'if(TRUE, "a", "b")',
    'duration("a", 1s)', 'duration("a")', 'hour("time")',
    'unixNano("time")', 'minute("time") + hour("time")', 'weekday("time")',
    'day("time") == 14', 'year("time") * month("time")', '"time" > 1',
    'strContains("a", \'b\')', "strSubstring(\"a\", 0, 2)",
    "regexReplace(/a(b*)/, \"a\", 'x$1')", 'humanBytes("a")',
    'pow("a", 2.0)', '"a" / 0', '"a" % 0', '"a" / 0.0', 'max("a", "b")',
    'mod("a", "b")', '("a" + "b") * 2 / "a"', '"a" * "a" * "a" * "a"',
    '"a" + \'s\' == \'as\'', '"a" =~ /b/ OR "b" !~ /^a/',
    '("a" > 1) == ("b" < 2)', '"a" > 1 AND "b" < 2 OR "a" == "b"',
    'undefinedFunc("a")', 'abs("a", "b")', 'abs()', 'strLength(1)',
    'sigma("a") + count()', 'spread("a" * 1.5) - sigma("b")',
    '"a" + 1 + 2 + 3 + 4 > "b" - 1', 'int("a" > 1)',
    '"a" - 1 > 10 OR "b" + 2 < 3 AND "a" * 2 >= "b"',
    '1 + 2', 'TRUE', "'x'", '5m + 1m', '1 + "a" + count()',
    'string("a") + string("b")', 'float(int("a")) / 3.0',
    'count() == 3 OR count() == 5', '"a" / "b"', '"a" % "b"',
    'strToUpper(string("a"))', 'strReplace("a", \'a\', \'b\', -1)',
    'if(isPresent("a"), "a", "b")', 'isPresent("a" + 1)',
    'sigma(float("a"))', 'humanBytes(count())',
]


def test_operator_and_type_combinations_match_the_walker():
    rng = random.Random(11)
    checked = 0
    for text in operator_lambdas():
        try:
            node = parse_lambda(text)
        except TickSyntaxError:  # regexes parse only after =~ !~ (and ==)
            assert "/" in text
            continue
        checked += assert_same(node, points_for(refs(node), rng, count=12))
    assert checked > 10_000


@pytest.mark.parametrize("text", HAND_WRITTEN)
def test_hand_written_lambdas_match_the_walker(text):
    node = parse_lambda(text)
    assert_same(node, points_for(refs(node), random.Random(text), count=80))


def _script_lambdas():
    found = []

    def collect(value):
        if isinstance(value, ast.LambdaNode):
            found.append(value)
        elif isinstance(value, (list, tuple)):
            for item in value:
                collect(item)
        elif isinstance(value, Mapping):
            for item in value.values():
                collect(item)
    for path in SCRIPTS:
        with open(path, encoding="utf-8") as handle:
            compiled_task = compile_template(handle.read(), udfs=UDFS)
        for node in compiled_task.pipeline.nodes:
            collect(node.properties)
    return found


def test_corpus_lambdas_match_the_walker():
    lambdas = _script_lambdas()
    assert len(lambdas) >= 20
    rng = random.Random(3)
    for node in lambdas:
        assert_same(node, points_for(refs(node), rng, count=40))


# -- user-visible behaviour --------------------------------------------------
def program(text):
    return compile_lambda(parse_lambda(text))


def test_references_in_order_of_appearance_without_duplicates():
    assert program('"b" > 1 AND "a" < "b" OR hour("time") == 1') \
        .references == ("b", "a", "time")


def test_compile_time_type_error_has_kapacitors_text():
    with pytest.raises(ExprError) as info:
        program("1 + 'x' > 2")
    assert str(info.value) == (
        "Failed to handle left node: mismatched type to binary operator. "
        "got int + string. see bool(), int(), float(), string(), duration()")


def test_where_predicate_on_float_and_int_fields():
    ev = program('"usage_idle" < 10.0').new_evaluator()
    assert ev.predicate(T0, {"usage_idle": 5.0}, {}) is True
    assert ev.predicate(T0, {"usage_idle": 50}, {}) is False


def test_missing_field_is_an_error_that_names_it():
    ev = program('"usage_idle" < 10.0').new_evaluator()
    with pytest.raises(LambdaError) as info:
        ev.predicate(T0, {}, {"host": "a"})
    assert str(info.value) == \
        'left reference value "usage_idle" is missing value'


def test_field_and_tag_with_the_same_name_is_an_error():
    ev = program('"host" == \'a\'').new_evaluator()
    assert ev.predicate(T0, {}, {"host": "a"}) is True
    with pytest.raises(LambdaError) as info:
        ev.predicate(T0, {"host": "b"}, {"host": "a"})
    assert str(info.value) == \
        'cannot have field and tags with same name "host"'


def test_non_bool_predicate_is_kapacitors_type_guard_error():
    ev = program('"value" * 2').new_evaluator()
    with pytest.raises(LambdaError) as info:
        ev.predicate(T0, {"value": 2}, {})
    assert str(info.value) == "expression returned unexpected type int64"


def test_integer_division_by_zero_is_an_error_not_a_crash():
    ev = program('"value" / 0').new_evaluator()
    with pytest.raises(LambdaError) as info:
        ev.eval(T0, {"value": 2}, {})
    assert str(info.value) == "runtime error: integer divide by zero"


def test_int_arithmetic_wraps_like_go():
    ev = program('"value" + 1').new_evaluator()
    assert ev.eval(T0, {"value": 2**63 - 1}, {}) == -2**63


def test_each_evaluator_keeps_its_own_count():
    prog = program("count()")
    one, two = prog.new_evaluator(), prog.new_evaluator()
    assert [one.eval(T0, {}, {}) for _ in range(3)] == [1, 2, 3]
    assert two.eval(T0, {}, {}) == 1


def test_time_is_the_points_time_with_nanoseconds():
    ev = program('unixNano("time")').new_evaluator()
    assert ev.eval(T0, {}, {}) == T0


def test_eval_sees_earlier_results_when_no_field_has_the_name():
    ev = program('"x" * 2').new_evaluator()
    assert ev.eval(T0, {}, {}, previous={"x": 4}) == 8
    assert ev.eval(T0, {"x": 1}, {}, previous={"x": 4}) == 2


def test_type_signatures_beyond_the_bound_are_still_exact():
    names = ["f%d" % i for i in range(8)]
    text = " + ".join('"%s"' % n for n in names)
    prog = program(text)
    ev = prog.new_evaluator()
    reference = Expression(parse_lambda(text).expression)
    for bits in range(2 ** len(names)):
        fields = {n: (1 if bits >> i & 1 else 1.5)
                  for i, n in enumerate(names)}
        assert compiled(ev, "eval", T0, fields, {}) == \
            walk(reference, "eval", prog.references, T0, fields, {})
    assert prog.specialisation_count() == MAX_SPECIALISATIONS


def test_groups_share_an_evaluator_only_when_the_lambda_keeps_no_state():
    """A ``where`` keeps an evaluator per group, and a function table is
    about 4.4 kB: groups share one unless sigma, count, spread or rand
    keep state between calls, which Kapacitor keeps per group."""
    plain = program('"x" > 1.0 AND abs("y") < 3.0 AND strLength("h") > 0')
    assert plain.new_evaluator() is plain.new_evaluator()
    for text in ('count() > 2', '"x" > 1.0 AND abs(sigma("y")) < 3.0',
                 'if("x" > 1.0, spread("x"), 0.0) > 1.0', 'rand() > 0'):
        stateful = program(text)
        assert stateful.new_evaluator() is not stateful.new_evaluator(), text
    counting = program("count()")
    first, second = counting.new_evaluator(), counting.new_evaluator()
    seen = [first.eval(0, {}, {}), first.eval(0, {}, {}), second.eval(0, {}, {})]
    assert seen == [1, 2, 1]
