"""A from -> where -> window task takes written rows in one loop (``nodes.lane``).

Whatever the loop skips (messages between the three nodes), the task must
give what point-by-point delivery gives: outputs, alerts, every node's
counters, edge counts, groups and errors.
"""

from __future__ import annotations

import pytest

from kapacitord_tw.engine.nodes.lane import Lane
from tests.engine.test_chunks import T0, S, chunked, counters, execution, per_point, points

ALERT = """
    |alert()
        .id('{{ .Name }}:{{ index .Tags "host" }}')
        .warn(lambda: "{field}" > 40.0)
        .crit(lambda: "{field}" > 60.0)
    |httpOut('out')
"""

SCRIPTS = {
    "cpu-alert": "stream|from().measurement('cpu').groupBy('host')"
                 "|where(lambda: \"usage\" >= 0.0)|window().period(10s).every(10s)|mean('usage')"
                 + ALERT.format(field="mean"),
    "from-where": "stream|from().measurement('cpu').groupBy('host').where(lambda: \"host\" != 'skip')"
                  "|where(lambda: \"usage\" > 10.0)|window().period(10s).every(5s)|max('usage')"
                  + ALERT.format(field="max"),
    "stateful-where": "stream|from().measurement('cpu').groupBy('host')"
                      "|where(lambda: sigma(\"usage\") < 1.5)|window().period(6s).every(3s)"
                      "|count('usage')|httpOut('out')",
    "no-where": "stream|from().measurement('cpu').groupBy(*)|window().period(4s).every(4s).align()"
                "|sum('usage')|httpOut('out')",
    "truncated": "stream|from().measurement('cpu').truncate(2s)|where(lambda: \"usage\" < 90.0)"
                 "|window().period(5s).every(5s).fillPeriod()|last('usage')|httpOut('out')",
    "window-out": "stream|from().measurement('cpu').groupBy('host')|where(lambda: \"usage\" > 30.0)"
                  "|window().period(3s).every(2s)|httpOut('out')",
}


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_the_lane_gives_what_point_by_point_delivery_gives(name):
    ingest = points()  # three hosts and one to skip, strings among the floats
    reference = execution(SCRIPTS[name])
    per_point(reference, ingest)
    expected = reference.outputs["out"].result()
    assert expected["series"]
    for size in (1, 13, 1000):
        ex = execution(SCRIPTS[name])
        chunked(ex, ingest, size)
        assert isinstance(ex.nodes["from1"]._lane, Lane)
        assert counters(ex) == counters(reference), (name, size)
        assert ex.edges() == reference.edges()
        assert ex.outputs["out"].result() == expected
        for node in ex.nodes:
            assert ex.nodes[node].counters == reference.nodes[node].counters, node


def test_the_where_errors_are_counted_and_the_lane_goes_on():
    ex = execution(SCRIPTS["cpu-alert"])
    chunked(ex, points(), 50)
    stats = ex.execution_stats()["node-stats"]
    assert stats["where2"]["errors"] > 0  # the strings
    assert stats["window3"]["collected"] == stats["where2"]["emitted"] > 0
    assert stats["where2"]["working_cardinality"] == 4
    assert all(stats[n]["avg_exec_time_ns"] > 0 for n in ("from1", "where2", "window3"))


def test_a_task_of_another_shape_is_not_a_lane():
    ex = execution("stream|from().measurement('cpu')|where(lambda: TRUE)|eval(lambda: 1)"
                   ".as('one')|window().period(1s).every(1s)|httpOut('out')")
    chunked(ex, points(), 10)
    assert ex.nodes["from1"]._lane is None
    counted = execution("stream|from().measurement('cpu')|window().periodCount(3).everyCount(3)"
                        "|httpOut('out')")
    chunked(counted, points(), 10)
    assert counted.nodes["from1"]._lane is None


def test_a_stats_node_watching_the_window_turns_the_lane_off():
    script = ("var w = stream|from().measurement('cpu').groupBy('host')"
              "|window().period(2s).every(2s)\n"
              "w|count('usage')|httpOut('out')\n"
              "w|stats(1s)|httpOut('stats')")
    ex = execution(script)
    reference = execution(script)
    per_point(reference, points())
    chunked(ex, points(), 20)
    assert counters(ex) == counters(reference)
    assert ex.outputs["out"].result() == reference.outputs["out"].result()
    assert T0 and S  # the fixtures' clock: point times, not the wall clock
