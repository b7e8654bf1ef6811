"""DOT output has the shape Kapacitor's API returns."""

from kapacitord_tw.tick import RuntimeStats, compile_task, compile_template


def test_single_edge_task():
    task = compile_task("stream\n    |from()\n        .measurement('cpu')\n")
    assert task.dot("cpu_alert") == "digraph cpu_alert {\nstream0 -> from1;\n}"


def test_batch_source_prints_no_edges():
    task = compile_task("dbrp \"mydb\".\"myrp\"\n\nbatch\n"
                        "    |query('SELECT * from mydb.myrp.mymeas')\n"
                        "    |log()\n")
    assert task.dot("testTaskID") == "digraph testTaskID {\nquery1 -> log2;\n}"


def test_linear_chain_ids_follow_creation_order():
    task = compile_task("stream|from()|window().period(1m)|mean('v')"
                        "|alert().crit(lambda: TRUE)")
    assert task.dot("t") == ("digraph t {\nstream0 -> from1;\n"
                             "from1 -> window2;\nwindow2 -> mean3;\n"
                             "mean3 -> alert4;\n}")


def test_join_takes_the_id_of_its_last_link_and_sorts_topologically():
    script = ("var a = stream|from().measurement('a')\n"
              "var b = stream|from().measurement('b')\n"
              "a|join(b).as('a', 'b')|log()")
    assert compile_task(script).dot("j") == (
        "digraph j {\nstream0 -> from1;\nstream0 -> from2;\n"
        "from2 -> join4;\nfrom1 -> join4;\njoin4 -> log5;\n}")


def test_union_links_the_other_parents_first():
    script = ("var a = stream|from()\nvar b = stream|from()\n"
              "var c = stream|from()\na|union(b, c)|log()")
    assert compile_task(script).dot("u") == (
        "digraph u {\nstream0 -> from1;\nstream0 -> from2;\n"
        "stream0 -> from3;\nfrom3 -> union6;\nfrom2 -> union6;\n"
        "from1 -> union6;\nunion6 -> log7;\n}")


def test_stats_node_is_a_new_source_and_a_leaf_gets_a_noop():
    task = compile_task("var d = stream|from()\nd|stats(10s)|log()")
    assert task.dot("s") == ("digraph s {\nstream0 -> from1;\n"
                             "from1 -> noop3;\nstats2 -> log4;\n}")


def test_deadman_builds_stats_derivative_alert():
    task = compile_task("stream|from().measurement('m')|deadman(0.0, 1m)")
    assert task.dot("d") == ("digraph d {\nstream0 -> from1;\n"
                             "from1 -> noop3;\nstats2 -> derivative4;\n"
                             "derivative4 -> alert5;\n}")
    alert = task.pipeline.node("alert5").properties
    assert alert["Crit"].expression_string() == '"emitted" <= 0.0'
    assert alert["Id"] == "node 'from1' in task '{{ .TaskName }}'"
    assert alert["Message"].endswith("points/1m0s.")


def test_template_dot_uses_its_own_name():
    template = compile_template("var m string\nstream|from().measurement(m)")
    assert template.dot("testTemplateID") == \
        "digraph testTemplateID {\nstream0 -> from1;\n}"


def test_executing_dot_with_zero_stats_as_attributes():
    task = compile_task("stream\n    |from()\n        .measurement('test')\n")
    assert task.dot("testTaskID", RuntimeStats()) == (
        'digraph testTaskID {\n'
        'graph [throughput="0.00 points/s"];\n'
        '\n'
        'stream0 [avg_exec_time_ns="0s" errors="0" working_cardinality="0" ];\n'
        'stream0 -> from1 [processed="0"];\n'
        '\n'
        'from1 [avg_exec_time_ns="0s" errors="0" working_cardinality="0" ];\n'
        '}')


def test_executing_dot_with_labels_and_counts_skips_the_batch_source():
    task = compile_task("batch|query('q')|alert()")
    stats = RuntimeStats(
        nodes={"query1": {"batches_queried": 4, "points_queried": 40,
                          "avg_exec_time_ns": 1500}},
        edges={("batch0", "query1"): 4, ("query1", "alert2"): 4},
        throughput=1.5)
    assert task.dot("b", stats, labels=True) == (
        'digraph b {\n'
        'graph [label="Throughput: 1.50 batches/s" forcelabels=true '
        'pad="0.8,0.5"];\n'
        '\n'
        'query1 [xlabel="avg_exec_time_ns=1.5µs\\rbatches_queried=4\\r'
        'errors=0\\rpoints_queried=40\\rworking_cardinality=0"];\n'
        'query1 -> alert2 [label="processed=4"];\n'
        '\n'
        'alert2 [xlabel="alerts_inhibited=0\\ralerts_triggered=0\\r'
        'avg_exec_time_ns=0s\\rcrits_triggered=0\\rerrors=0\\r'
        'infos_triggered=0\\roks_triggered=0\\rwarns_triggered=0\\r'
        'working_cardinality=0"];\n'
        '}')
