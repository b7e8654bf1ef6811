"""Task type, dbrps, vars and template application, as the task store sees them."""

import pytest

from kapacitord_tw.tick import (
    InvalidTaskType, TickEvalError, TickVarError, compile_task,
    compile_template, dbrps, parse, task_type, vars_from_api)

TEMPLATE = """// Measurement to watch
var measurement string
var field = 'value'
var crit = 90.0
var period = 5m
var enabled = TRUE
var groups = ['host', 'dc']
var filter = lambda: "cpu" == 'cpu-total'
var pattern = /^web/
var count = 3

stream
    |from()
        .measurement(measurement)
        .where(filter)
        .groupBy(groups)
    |window()
        .period(period)
        .every(period)
    |mean(field)
    |alert()
        .crit(lambda: "mean" > crit)
"""


@pytest.mark.parametrize("script, expected", [
    ("stream|from()", "stream"),
    ("batch|query('q')", "batch"),
    ("var s = stream|from()\ns|log()", "stream"),
    ("var s = stream", "stream"),
    ("stream|from()\nbatch|query('q')", None),
    ("var x = 1", None),
    ("", None),
])
def test_task_type_comes_from_the_chain_roots(script, expected):
    assert task_type(parse(script)) == expected


def test_mixed_roots_cannot_compile():
    with pytest.raises(InvalidTaskType) as info:
        compile_task("stream|from()\nbatch|query('q')")
    assert str(info.value) == "invalid task type: invalid"


def test_implicit_dbrps_in_script_order():
    script = 'dbrp "a"."b"\ndbrp "c"."autogen"\nstream|from()'
    assert dbrps(parse(script)) == [("a", "b"), ("c", "autogen")]
    assert compile_task(script).dbrps == [("a", "b"), ("c", "autogen")]


def test_task_with_only_a_source_does_nothing():
    with pytest.raises(TickEvalError) as info:
        compile_task("var s = stream")
    assert str(info.value) == "task does nothing"


def test_template_vars_in_api_shape():
    template = compile_template(TEMPLATE)
    assert template.type == "stream"
    assert template.vars == {
        "measurement": {"type": "string", "value": None,
                        "description": "Measurement to watch"},
        "field": {"type": "string", "value": "value", "description": ""},
        "crit": {"type": "float", "value": 90.0, "description": ""},
        "period": {"type": "duration", "value": 300000000000,
                   "description": ""},
        "enabled": {"type": "bool", "value": True, "description": ""},
        "groups": {"type": "list", "description": "", "value": [
            {"type": "string", "value": "host", "description": ""},
            {"type": "string", "value": "dc", "description": ""}]},
        "filter": {"type": "lambda", "value": "\"cpu\" == 'cpu-total'",
                   "description": ""},
        "pattern": {"type": "regex", "value": "^web", "description": ""},
        "count": {"type": "int", "value": 3, "description": ""},
    }


def test_task_without_value_for_a_typed_var_fails():
    with pytest.raises(TickEvalError) as info:
        compile_task(TEMPLATE)
    assert str(info.value) == 'missing value for var "measurement".'


def test_caller_vars_override_template_defaults():
    task_vars = vars_from_api({
        "measurement": {"type": "string", "value": "cpu"},
        "crit": {"type": "float", "value": 75},
        "period": {"type": "duration", "value": 60 * 10 ** 9},
        "groups": {"type": "list",
                   "value": [{"type": "star", "value": None}]},
        "filter": {"type": "lambda", "value": '"host" == \'a\''},
    })
    task = compile_task(TEMPLATE, task_vars)
    from_node = task.pipeline.node("from1")
    assert from_node.properties["Measurement"] == "cpu"
    assert from_node.properties["Lambda"].expression_string() == \
        "\"host\" == 'a'"
    assert len(from_node.properties["Dimensions"]) == 1
    window = task.pipeline.node("window2")
    assert window.properties["Period"].nanoseconds == 60 * 10 ** 9
    alert = task.pipeline.node("alert4")
    assert alert.properties["Crit"].expression_string() == '"mean" > 75.0'


def test_var_of_the_wrong_type_is_rejected():
    task_vars = vars_from_api({"measurement": {"type": "int", "value": 1}})
    with pytest.raises(TickEvalError) as info:
        compile_task(TEMPLATE, task_vars)
    assert str(info.value) == \
        "invalid type supplied for measurement, got int exp string"


def test_invalid_api_lambda_var_names_the_var():
    with pytest.raises(TickVarError) as info:
        vars_from_api({"filter": {"type": "lambda", "value": '"a" >'}})
    assert str(info.value).startswith(
        "invalid var filter: invalid lambda expression: parser: unexpected EOF")


def test_lambda_vars_are_substituted_into_lambdas():
    task = compile_task('var t = 10\nvar d = 5m\nstream|from()'
                        '|where(lambda: "v" > t AND "age" < d)')
    where = task.pipeline.node("where2")
    assert where.properties["Lambda"].expression_string() == \
        '"v" > 10 AND "age" < 5m'


def test_constant_expressions_are_folded():
    template = compile_template("var x = 2 * 5m\nvar y = 10 / 4\n"
                                "var z = 'a' + 'b'\nstream|from()")
    assert template.vars["x"]["value"] == 600 * 10 ** 9
    assert template.vars["y"]["value"] == 2
    assert template.vars["z"]["value"] == "ab"


def test_mismatched_constant_expression():
    with pytest.raises(TickEvalError) as info:
        compile_template("var x = 2 * 1.5\nstream|from()")
    assert str(info.value) == (
        "mismatched type to binary operator. got int * float. see bool(), "
        "int(), float(), string(), duration()")


def test_list_var_spreads_into_variadic_arguments():
    task = compile_task("var tags = ['host', 'dc']\nstream|from()"
                        "|groupBy(tags)")
    assert task.pipeline.node("groupby2").properties["Dimensions"] == \
        ["host", "dc"]


def test_time_dimension_for_batch_queries():
    task = compile_task("batch|query('q').groupBy(time(1m, 10s), 'host')")
    dims = task.pipeline.node("query1").properties["Dimensions"]
    assert dims[0].length.nanoseconds == 60 * 10 ** 9
    assert dims[0].offset.nanoseconds == 10 * 10 ** 9
    assert dims[1] == "host"


def test_nodes_record_their_edges():
    task = compile_task("stream|from()|window()|mean('x')|log()")
    kinds = [(n.name, n.wants, n.provides) for n in task.pipeline.nodes]
    assert kinds == [("stream0", "stream", "stream"),
                     ("from1", "stream", "stream"),
                     ("window2", "stream", "batch"),
                     ("mean3", "batch", "stream"),
                     ("log4", "stream", "stream")]


def test_pipeline_nodes_are_immutable():
    task = compile_task("stream|from()")
    node = task.pipeline.node("from1")
    with pytest.raises(Exception):
        node.name = "x"
    with pytest.raises(TypeError):
        node.properties["Measurement"] = "x"


def test_template_with_unset_typed_vars_still_builds_its_graph():
    template = compile_template(
        "var f lambda\nvar g list\nvar r regex\nvar d duration\n"
        "stream|from().where(f).groupBy(g)"
        "|where(lambda: \"host\" =~ r)|window().period(d)")
    assert template.dot("x") == ("digraph x {\nstream0 -> from1;\n"
                                 "from1 -> where2;\nwhere2 -> window3;\n}")
    assert {name: var["value"] for name, var in template.vars.items()} == \
        {"f": None, "g": None, "r": None, "d": None}


def test_global_deadman_is_added_to_the_source():
    from kapacitord_tw.tick import DeadmanConfig
    task = compile_task("stream|from()|log()",
                        deadman=DeadmanConfig(global_=True))
    assert task.dot("g") == (
        "digraph g {\nstream0 -> from1;\n"
        "from1 -> log2;\nstats3 -> derivative4;\nderivative4 -> alert5;\n}")


def test_var_json_that_does_not_decode_is_a_decode_error():
    from kapacitord_tw.tick import VarDecodeError
    for bad in ({"type": "int", "value": 1.5}, {"type": "int", "value": "1"},
                {"type": "nope", "value": 1},
                {"type": "duration", "value": "ten"},
                {"type": "list", "value": [{"value": 1}]}):
        with pytest.raises(VarDecodeError):
            vars_from_api({"x": bad})


@pytest.mark.parametrize("data, message", [
    ({"type": "bool", "value": "yes"},
     "invalid var x: unexpected var type bool, value is a string"),
    ({"type": "string", "value": True},
     "invalid var x: mismatched type and value: bool string"),
    ({"type": "string", "value": 5},
     "invalid var x: unsupported Var type json.Number."),
    ({"type": "string", "value": None},
     "invalid var x: unsupported Var type <nil>."),
])
def test_var_values_of_the_wrong_kind_name_the_var(data, message):
    with pytest.raises(TickVarError) as info:
        vars_from_api({"x": data})
    assert str(info.value) == message


def test_vars_in_every_api_type_convert():
    converted = vars_from_api({
        "b": {"type": "bool", "value": False},
        "i": {"type": "int", "value": 7},
        "f": {"type": "float", "value": 2},
        "s": {"type": "string", "value": "x"},
        "r": {"type": "regex", "value": "^a"},
        "d": {"type": "duration", "value": "90s"},
        "l": {"type": "lambda", "value": '"v" > 1'},
        "t": {"type": "star", "value": None},
        "ls": {"type": "list", "value": [{"type": "string", "value": "a"},
                                         {"type": "star", "value": None}]},
    })
    assert {name: var.type for name, var in converted.items()} == {
        "b": "boolean", "i": "int", "f": "float", "s": "string",
        "r": "regex", "d": "duration", "l": "lambda", "t": "star",
        "ls": "list"}
    assert converted["d"].value.nanoseconds == 90 * 10 ** 9
    assert converted["f"].value == 2.0
