"""Constant expressions outside lambdas, evaluated by the lambda engine.

Kapacitor evaluates ``var x = <binary expression>`` with its stateful
expression engine against an empty scope, so built-in functions work there
and the operator table / error texts are the engine's.
"""

import math

import pytest

from kapacitord_tw.tick import TickEvalError, compile_task, compile_template
from kapacitord_tw.tick import functions


def var(expression):
    script = "var x = %s\nstream|from()" % expression
    value = compile_template(script).vars["x"]
    return value["type"], value["value"]


def error(expression):
    with pytest.raises(TickEvalError) as info:
        compile_template("var x = %s\nstream|from()" % expression)
    return str(info.value)


@pytest.mark.parametrize("expression, expected", [
    ("1.0 * abs(-1.5)", ("float", 1.5)),
    ("1 + strLength('héllo')", ("int", 7)),           # UTF-8 bytes, as Go
    ("1 + strIndex('héllo', 'l')", ("int", 4)),
    ("'a' + strToUpper('straße')", ("string", "aSTRAßE")),
    ("'<' + strTrimSpace('\u00a0 x\t')", ("string", "<x")),
    ("'' + strReplace('aaa', 'a', 'b', 2)", ("string", "bba")),
    ("'' + strSubstring('hello', 1, 3)", ("string", "el")),
    ("TRUE AND strHasPrefix('kapacitor', 'kapa')", ("bool", True)),
    # Go reads "$1Z" as the (absent) group "1Z"; "${1}" is group 1.
    ("'' + regexReplace(/a(x*)/, 'baxxd axa', 'Y$1Z')", ("string", "bYd YY")),
    ("'' + regexReplace(/a(x*)/, 'baxxd axa', 'Y${1}Z')",
     ("string", "bYxxZd YxZYZ")),
    ("'' + regexReplace(/x*/, 'abxd', '-')", ("string", "-a-b-d-")),
    ("'' + humanBytes(82854982)", ("string", "83 MB")),
    ("'' + humanBytes(5)", ("string", "5 B")),
    ("'' + string(2.50)", ("string", "2.5")),
    ("'' + string(90m)", ("string", "90m")),
    ("1 + int('12')", ("int", 13)),
    ("1 + int(-2.9)", ("int", -1)),
    ("TRUE AND bool('T')", ("bool", True)),
    ("0s + duration(1.5, 1m)", ("duration", 90 * 10 ** 9)),
    ("0s + duration('5m', 1s)", ("duration", 300 * 10 ** 9)),
    ("'' + if(TRUE, 'a', 'b')", ("string", "a")),
    ("1.0 + pow(2.0, 10.0)", ("float", 1025.0)),
    ("1 + count() + count()", ("int", 4)),              # one state per var
    ("1.0 * sigma(3.0)", ("float", 0.0)),
])
def test_functions_are_evaluated_outside_lambdas(expression, expected):
    assert var(expression) == expected


@pytest.mark.parametrize("expression, expected", [
    ("2 * 5m", ("duration", 600 * 10 ** 9)),
    ("5m * 1.5", ("duration", 450 * 10 ** 9)),
    ("5m / 2m", ("int", 2)),
    ("1 < 2.0", ("bool", True)),                     # int/float compare
    ("-7 / 2", ("int", -3)),
    ("-7 % 3", ("int", -1)),
    ("9223372036854775807 + 1", ("int", -9223372036854775808)),
    ("'abc' =~ /b/", ("bool", True)),
])
def test_operators_follow_the_engine_table(expression, expected):
    assert var(expression) == expected


def test_float_division_by_zero_is_infinite_not_an_error():
    assert var("1.0 / 0.0") == ("float", math.inf)
    assert math.isnan(var("0.0 / 0.0")[1])


@pytest.mark.parametrize("expression, message", [
    ("1 * abs(-1)",
     'Cannot call function "abs" with args (-1: int), available signatures '
     'are [(float)].'),
    ("0s + duration('5m')",
     'Cannot call function "duration" with args (5m: string), available '
     'signatures are [(duration), (int,duration), (float,duration), '
     '(string,duration)].'),
    ("1 + nosuch(1)", 'undefined function: "nosuch"'),
    ("'a' - 'b'", "invalid math operator - for type string"),
    ("1.0 % 2.0", "invalid math operator % for type float"),
    ("1 + 1.0", "mismatched type to binary operator. got int + float. see "
                "bool(), int(), float(), string(), duration()"),
    ("1 + (2 * 'x')", "Failed to handle right node: mismatched type to binary"
                      " operator. got int * string. see bool(), int(), "
                      "float(), string(), duration()"),
    ("1 / 0", "runtime error: integer divide by zero"),
    ("5m / 0", "runtime error: integer divide by zero"),
    ("1.0 + float('1e400')", 'error calling "float": strconv.ParseFloat: '
                             'parsing "1e400": value out of range'),
    ("TRUE AND bool('x')", 'error calling "bool": strconv.ParseBool: '
                           'parsing "x": invalid syntax'),
    ("'' + strSubstring('hello', 1, 5)",
     'error calling "strSubstring": stop index too large for string in '
     'strSubstring: 5'),
    ("'' + strSubstring('hello', 3, 1)",
     "runtime error: slice bounds out of range [3:1]"),
    ("1 + abs(1.0, 2.0, 3.0, 4.0, 5.0)",
     "runtime error: index out of range [4] with length 4"),
    ("1 + int(float('x'))", 'Failed to handle 1 argument: error calling '
                            '"float": strconv.ParseFloat: parsing "x": '
                            'invalid syntax'),
    ('"value" > 1', 'name "value" is undefined. Names in scope: '),
])
def test_engine_errors_have_kapacitor_texts(expression, message):
    assert error(expression) == message


def test_folded_value_reaches_node_properties():
    task = compile_task("var p = 2 * strLength('abc') * 1m\n"
                        "stream|from()|window().period(p).every(p)")
    assert task.pipeline.node("window2").properties["Period"].nanoseconds \
        == 6 * 60 * 10 ** 9


def test_bare_global_call_is_not_evaluated():
    # Kapacitor's evaluator only hands *binary* nodes to the engine: a bare
    # `abs(-1.0)` stays an unbound global call, is no typed var, and fails
    # where it is used.
    assert compile_template("var x = abs(-1.0)\nstream|from()").vars == {}
    with pytest.raises(TickEvalError) as info:
        compile_task("var x = abs(-1.0)\n"
                     "stream|from()|where(lambda: \"v\" > x)")
    assert str(info.value) == "unsupported literal type tick.unboundFunc"


@pytest.mark.parametrize("name, arg, expected", [
    ("j0", 1.0, 0.7651976865579666), ("j1", 1.0, 0.44005058574493355),
    ("y0", 1.0, 0.08825696421567697), ("y1", 1.0, -0.7812128213002887),
    ("j0", 100.0, 0.0199858503042231), ("y0", 100.0, -0.0772443133650832),
])
def test_bessel_functions_match_go(name, arg, expected):
    value = functions.STATELESS[name].call([arg])
    assert value == pytest.approx(expected, rel=1e-12, abs=1e-15)


def test_integer_order_bessel_functions():
    jn = functions.STATELESS["jn"].call
    yn = functions.STATELESS["yn"].call
    assert jn([5, 1.0]) == pytest.approx(2.497577302112344e-04, rel=1e-12)
    assert jn([-3, 2.0]) == pytest.approx(-0.12894324947440206, rel=1e-12)
    assert yn([2, 1.0]) == pytest.approx(-1.6506826068162546, rel=1e-12)
    assert yn([0, 0.0]) == -math.inf
    assert math.isnan(yn([1, -1.0]))


@pytest.mark.parametrize("name, args, expected", [
    ("sqrt", [-1.0], math.nan), ("log", [0.0], -math.inf),
    ("log", [-1.0], math.nan), ("atanh", [1.0], math.inf),
    ("gamma", [0.0], math.inf), ("exp", [1000.0], math.inf),
    ("pow", [0.0, -1.0], math.inf), ("mod", [1.0, 0.0], math.nan),
    ("max", [math.nan, math.inf], math.inf), ("logb", [8.0], 3.0),
    ("pow10", [400], math.inf), ("floor", [-0.5], -1.0),
])
def test_math_functions_return_ieee_values_instead_of_raising(
        name, args, expected):
    value = functions.STATELESS[name].call(args)
    if math.isnan(expected):
        assert math.isnan(value)
    else:
        assert value == expected


def test_string_conversion_of_floats_never_uses_exponents():
    to_string = functions.STATELESS["string"].call
    assert to_string([1e21]) == "1000000000000000000000"
    assert to_string([1e-7]) == "0.0000001"
    assert to_string([math.inf]) == "+Inf"


def test_unary_errors_print_floats_like_go():
    assert error("!1234567.0") == (
        "line 1 char 9: invalid arugument to '!' 1.234567e+06")
    assert error("!12.0") == "line 1 char 9: invalid arugument to '!' 12"


def test_star_declared_in_a_script_is_shown_as_its_json_node():
    template = compile_template("var g = *\nstream|from().groupBy(g)")
    assert template.vars["g"] == {"type": "star", "value": {"typeOf": "star"},
                                  "description": ""}


def test_huge_durations_format_exactly():
    assert var("0s + 9223372036854775u") == (
        "duration", 9223372036854775000)
    assert var("'' + string(-9223372036854775u)") == (
        "string", "-9223372036854775u")


def test_lambda_vars_in_constant_expressions_have_their_own_state():
    template = compile_template(
        "var f = lambda: 1 > 0\nvar y = f AND TRUE\n"
        "var z = lambda: count() + count()\nvar w = z + count()\n"
        "stream|from()")
    assert template.vars["y"]["value"] is True
    assert template.vars["w"]["value"] == 4     # (1 + 2) + 1


def test_the_engine_evaluates_lambdas_against_point_values():
    from kapacitord_tw.tick import Expression, MapScope, parse_lambda
    from kapacitord_tw.tick.values import MISSING
    expression = Expression(parse_lambda(
        '"usage" > 90.0 AND strHasPrefix("host", \'web\')'))
    assert expression.eval(MapScope({"usage": 95.5, "host": "web1"})) is True
    assert expression.eval(MapScope({"usage": 12.0, "host": "web1"})) is False
    present = Expression(parse_lambda('isPresent("usage")'))
    assert present.eval(MapScope({"usage": MISSING})) is False
    running = Expression(parse_lambda("count()"))
    assert [running.eval() for _ in range(3)] == [1, 2, 3]


@pytest.mark.parametrize("name, args, expected", [
    ("strToLower", ["\u0130x"], "ix"),             # simple mapping, 1 rune
    ("strToUpper", ["\u1fb3ß"], "\u1fbcß"),
    ("strTrimSpace", ["\x1c a \x85"], "\x1c a"),   # Go: \x1c is no space
    ("strIndexAny", ["日本a", "a"], 6),             # byte offsets
    ("strLastIndex", ["abc", ""], 3),
    ("float", ["1_000"], 1000.0),                   # Go number literal rules
    ("float", ["0x1p-2"], 0.25),
    ("float", ["+Inf"], math.inf),
    ("cosh", [710.0], math.inf),                    # Go: exp(x)/2 overflows
    ("j1", [-1e-10], 5e-11),                        # Go drops the sign here
])
def test_functions_match_go_on_edge_cases(name, args, expected):
    assert functions.STATELESS[name].call(args) == expected


@pytest.mark.parametrize("text", ["0x1", "1__0", "_1", " 1", "١"])
def test_float_parsing_rejects_what_strconv_rejects(text):
    with pytest.raises(functions.FuncError) as info:
        functions.STATELESS["float"].call([text])
    assert str(info.value) == (
        'strconv.ParseFloat: parsing "%s": invalid syntax' % text)


def test_constant_match_with_nested_repetition_is_evaluated_quickly():
    """Regexes are matched by RE2 (linear time): a define-time match
    against ``(a+)+$`` is simply evaluated, as Kapacitor does."""
    import time

    from kapacitord_tw import tick

    script = ("var x = '" + "a" * 5000 + "!' =~ /(a+)+$/\n"
              "stream|from().measurement('m')|eval(lambda: x).as('y')")
    start = time.monotonic()
    compiled = tick.compile_task(script)
    assert time.monotonic() - start < 1
    assert compiled.vars["x"]["value"] is False


def test_the_same_pattern_is_fine_inside_a_lambda_and_simple_ones_fold():
    from kapacitord_tw import tick

    tick.compile_task("stream|from().measurement('m')|where(lambda: \"host\" =~ /(a+)+$/)|log()")
    compiled = tick.compile_task(
        "var x = 'abc' =~ /a+b/\nstream|from().measurement('m')|eval(lambda: x).as('y')")
    assert compiled.vars["x"]["value"] is True
