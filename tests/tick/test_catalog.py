"""Method and property lookups behave like Kapacitor's pipeline reflection."""

import pytest

from kapacitord_tw.tick import (
    TickEvalError, TickValidationError, UDFInfo, compile_task)
from kapacitord_tw.tick.catalog import GO_TYPES, NODE_DESCS
from kapacitord_tw.tick.describer import describe


def error_of(script, **kwargs):
    with pytest.raises(TickEvalError) as info:
        compile_task(script, **kwargs)
    return str(info.value)


def test_every_node_type_is_described_without_error():
    for type_name in GO_TYPES:
        describe(type_name)


def test_catalog_covers_the_kapacitor_node_set():
    expected = {"stream", "batch", "from", "query", "queryFlux", "where",
                "eval", "window", "groupby", "alert", "log", "http_out",
                "http_post", "influxdb_out", "derivative", "stats", "sample",
                "shift", "default", "delete", "union", "join", "combine",
                "flatten", "barrier", "state_duration", "state_count",
                "changeDetect", "sideload", "kapacitor_loopback",
                "k8s_autoscale", "swarm_autoscale", "ec2_autoscale", "noop",
                "trickle"}
    assert expected <= set(NODE_DESCS.values())


def test_alert_handlers_are_property_methods_with_their_own_properties():
    alert = describe("AlertNode")
    for handler in ("Email", "Slack", "Post", "Tcp", "Log", "Exec",
                    "PagerDuty", "PagerDuty2", "Topic", "VictorOps",
                    "OpsGenie2", "Telegram", "Kafka", "Mqtt", "SnmpTrap"):
        assert alert.has_property(handler), handler
    assert describe("SlackHandler").has_property("channel")
    assert describe("EmailHandler").has_property("to")


def test_unknown_property_is_rejected_with_the_go_type():
    msg = error_of("stream\n    |from()\n        .foo('x')")
    assert msg == 'line 3 char 10: no method or property "foo" on *pipeline.FromNode'


def test_unknown_chaining_method():
    msg = error_of("stream|from()|bogus()")
    assert msg == 'line 1 char 15: no method or property "bogus" on *pipeline.FromNode'


def test_property_called_with_pipe_suggests_the_dot():
    msg = error_of("stream|from()|measurement('cpu')")
    assert msg == ('line 1 char 15: no chaining method "measurement" on '
                   '*pipeline.FromNode, but property does exist. Use \'.\' '
                   "operator instead: 'node.measurement(..)'.")


def test_chaining_method_called_with_dot_suggests_the_pipe():
    msg = error_of("stream.from()")
    assert msg == ('line 1 char 8: no property method "from" on '
                   '*pipeline.StreamNode, but chaining method does exist. '
                   "Use '|' operator instead: 'node|from(..)'.")


def test_udf_called_with_pipe_suggests_the_at():
    udfs = {"myudf": UDFInfo()}
    msg = error_of("stream|from()|myudf()", udfs=udfs)
    assert msg == ('line 1 char 15: no chaining method "myudf" on '
                   '*pipeline.FromNode, but dynamic method does exist. '
                   "Use '@' operator instead: 'node@myudf(..)'.")


def test_unknown_dynamic_method():
    msg = error_of("stream|from()@nope()")
    assert msg == 'line 1 char 15: no method or property "nope" on *pipeline.FromNode'


def test_double_quoted_string_where_a_string_is_needed():
    msg = error_of('stream|from().measurement("cpu")')
    assert msg == ("line 1 char 15: cannot assign *ast.ReferenceNode to type "
                   "string, did you use double quotes instead of single "
                   "quotes?")


def test_wrong_argument_type_to_a_property_field():
    msg = error_of("stream|from().measurement(5)")
    assert msg == ('line 1 char 15: error calling func "measurement" on obj '
                   '*pipeline.FromNode: reflect.Set: value of type int64 is '
                   'not assignable to type string')


def test_wrong_argument_type_to_a_method():
    msg = error_of("stream|from()|window().period(10s)|mean(5)")
    assert msg == ('line 1 char 36: error calling func "mean" on obj '
                   '*pipeline.WindowNode: reflect: Call using int64 as type '
                   'string')


def test_too_many_arguments_to_a_method():
    msg = error_of("stream|from()|alert().all(1)")
    assert msg.endswith("reflect: Call with too many input arguments")


def test_too_many_arguments_to_a_field():
    msg = error_of("stream|from().measurement('a', 'b')")
    assert msg == ("line 1 char 15: too many arguments to set property "
                   "Measurement on *pipeline.FromNode")


def test_deadman_threshold_must_be_a_float():
    msg = error_of("stream|from()|deadman(100, 10s)")
    assert msg.endswith("reflect: Call using int64 as type float64")


def test_window_on_a_batch_edge_panics_like_kapacitor():
    msg = error_of("batch|query('select 1')|window()")
    assert msg == ('line 1 char 25: error calling func "window" on obj '
                   '*pipeline.QueryNode: cannot Window batch edge')


def test_names_are_case_insensitive_in_the_first_letter_only():
    compile_task("stream|From().Measurement('cpu')")
    msg = error_of("stream|from().MEASUREMENT('cpu')")
    assert "no method or property \"MEASUREMENT\"" in msg


def test_handler_property_after_handler_switches_go_type():
    msg = error_of("stream|from()|alert().email().channel('#x')")
    assert msg.endswith('no method or property "channel" on '
                        '*pipeline.EmailHandler')


def test_alert_node_property_method_changes_the_reported_type():
    # stateChangesOnly() returns *AlertNodeData in Kapacitor.
    msg = error_of("stream|from()|alert().stateChangesOnly().nope()")
    assert msg.endswith('no method or property "nope" on '
                        '*pipeline.AlertNodeData')


def test_log_is_both_a_handler_and_a_chaining_method_on_alert():
    task = compile_task("stream|from()|alert().log('/tmp/a.log')|log()")
    alert = task.pipeline.node("alert2")
    assert alert.properties["LogHandlers"] == [{"FilePath": "/tmp/a.log"}]
    assert alert.children == ("log3",)


def test_from_where_is_a_property_and_where_is_also_a_chain():
    task = compile_task(
        "stream|from().where(lambda: \"a\" > 1).where(lambda: \"b\" < 2)"
        "|where(lambda: TRUE)")
    from_node = task.pipeline.node("from1")
    assert from_node.properties["Lambda"].expression_string() == \
        '"a" > 1 AND "b" < 2'
    assert from_node.children == ("where2",)


def test_field_shadowing_a_chain_method_is_a_property():
    task = compile_task(
        "stream|from()|k8sAutoscale().resourceName('x').max(5)"
        ".replicas(lambda: 1)")
    node = task.pipeline.node("k8s_autoscale2")
    assert node.properties["Max"] == 5


def test_global_function_outside_lambda_must_exist():
    msg = error_of("stream|from()\nfoo(1)")
    assert msg == 'line 2 char 1: no global function "foo" defined'


def test_undefined_identifier():
    msg = error_of("stream|from()|httpOut(x)")
    assert msg.startswith('name "x" is undefined. Names in scope: ')


def test_vars_are_immutable():
    msg = error_of("var x = 1\nvar x = 2\nstream|from()")
    assert msg == "attempted to redefine x, vars are immutable"


@pytest.mark.parametrize("script, message", [
    ("stream|from()|join(stream|from())",
     "a call to join.as() is required to specify the output stream prefixes."),
    ("stream|from()|join(stream|from()).as('a')",
     "number of prefixes specified by join.as() must match the number of "
     "joined streams"),
    ("stream|from()|eval(lambda: 1)",
     "must specify same number of expressions and .as() names: got 0 as "
     "names, and 1 expressions."),
    ("stream|from().groupBy(*, 'host')",
     "cannot group by both '*' and named dimensions."),
    ("stream|from()|groupBy('host').exclude('x')", "exclude requires '*'"),
    ("stream|from()|httpPost()", "must provide url or endpoint"),
    ("stream|from()|barrier()", "idle must be greater than zero"),
    ("stream|from()|kapacitorLoopback()", "must specify a database"),
    ("stream|from()|k8sAutoscale()",
     "must specify exactly one of ResourceName or ResourceNameTag"),
    ("stream|from()|window().periodCount(5)",
     "everyCount must be greater than zero"),
    ("stream|from()|alert().snmpTrap('1.2').data('1', 'x', 'v')",
     'invalid SNMP trap "1.2": unsupported data type "x" for data entry "1"'),
])
def test_node_validation_errors(script, message):
    with pytest.raises(TickValidationError) as info:
        compile_task(script)
    assert str(info.value) == message


def test_udf_options_are_type_checked():
    udfs = {"mavg": UDFInfo(options={"size": ("INT",)})}
    compile_task("stream|from()@mavg().size(10)", udfs=udfs)
    msg = error_of("stream|from()@mavg().size('x')", udfs=udfs)
    assert msg == "line 1 char 22: unexpected arg to size, got STRING expected INT"


def test_property_can_be_read_without_parentheses():
    task = compile_task("var f = stream|from().measurement('cpu')\n"
                        "var m = f.measurement\nf|httpOut(m)")
    assert task.pipeline.node("http_out2").properties["Endpoint"] == "cpu"


def test_udf_node_takes_its_edges_from_the_udf_service():
    udfs = {"outliers": UDFInfo(wants="batch", provides="stream")}
    task = compile_task("stream|from()|window().period(1m)@outliers()|log()",
                        udfs=udfs)
    node = task.pipeline.node("outliers3")
    assert (node.wants, node.provides) == ("batch", "stream")
    assert task.pipeline.node("log4").wants == "stream"
