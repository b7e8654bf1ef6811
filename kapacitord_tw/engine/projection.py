"""Which fields of its points a stream task can ever observe (a projection).

Telegraf's ``cpu`` has ten fields; the docs' cpu alert reads one.  When a
task's only uses of a measurement's points are lambdas (``from().where``,
``where``) and an aggregate that keeps nothing but its result (``mean``,
``sum``...), behind windows that pass points through unchanged, its output
is the same whether the other fields were parsed or not -- so the parsers
need not build them.  Anything else that sees a point (``httpOut``, ``eval``,
``alert`` on raw points, selectors, which emit the selected point's own
fields, joins, UDFs...) may show every field: no projection then.
"""

from __future__ import annotations

from typing import Dict, FrozenSet, Optional

#: InfluxQL methods whose output holds only their result field (no
#: selector, no transformation, not holtWinters' forecasts of points).
AGGREGATES = frozenset(("count", "distinct", "mean", "median", "mode", "spread", "sum", "stddev"))


def fields_needed(execution) -> Dict[str, Optional[FrozenSet[str]]]:
    """For each measurement a task's ``stream|from()`` takes: the field names
    it can observe, or None when it may observe all of them."""
    pipeline = execution.compiled.pipeline
    needs: Dict[str, Optional[FrozenSet[str]]] = {}
    for spec in pipeline.nodes:
        if spec.type_name != "StreamNode":
            continue
        for child_name in spec.children:
            child = pipeline.node(child_name)
            measurement = (child.properties.get("Measurement")
                           if child.type_name == "FromNode" else None)
            if not measurement:
                continue  # the task takes every measurement: no routing, no projection
            mine = _seen_by(execution, pipeline, child)
            if measurement in needs:
                known = needs[measurement]
                mine = None if known is None or mine is None else known | mine
            needs[measurement] = mine
    return needs


def _seen_by(execution, pipeline, spec) -> Optional[FrozenSet[str]]:
    """The fields ``spec`` and everything below it can observe, or None for any."""
    node = execution.nodes[spec.name]
    kind = spec.type_name
    if kind == "FromNode":
        own = _references(node.where.program if node.where is not None else None)
    elif kind == "WhereNode":
        own = _references(node.program)
    elif kind == "WindowNode":
        own = frozenset()
    elif kind == "InfluxQLNode" and node.method_name in AGGREGATES:
        return frozenset((node.field,))
    else:
        return None
    seen = set(own)
    if not spec.children:
        return None  # nothing below: a leaf we do not know shows nothing, but stay safe
    for child_name in spec.children:
        below = _seen_by(execution, pipeline, pipeline.node(child_name))
        if below is None:
            return None
        seen |= below
    return frozenset(seen)


def _references(program) -> FrozenSet[str]:
    return frozenset(program.references) if program is not None else frozenset()
