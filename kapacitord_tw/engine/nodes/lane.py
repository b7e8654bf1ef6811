"""Written rows through ``from() -> where() -> window()`` in one loop.

The usual stream task (the cpu-alert task of Kapacitor's docs) filters,
groups and windows every written point.  Node by node, each point became a
:class:`Point` message and went through three chunk loops and two edge
lists before its time and fields were buffered.  A lane does the same work
row by row in one loop, and builds a message only where the window has more
to do than buffering (a group's first point, a window to emit), which it
hands to the window's own handlers.

What the nodes count is what they count node by node: messages in and out,
edge counts, groups, errors and their log lines, and the window's output,
in order (``tests/engine/test_lanes.py`` compares the two).  The loop's
time is shared among the nodes by the messages each one took.
"""

from __future__ import annotations

from itertools import count
from typing import Optional

from kapacitord_tw.engine.messages import Point, go_round, go_truncate
from kapacitord_tw.engine.node import _perf_ns
from kapacitord_tw.engine.nodes.transform import WhereNode
from kapacitord_tw.engine.nodes.window import WindowNode
from kapacitord_tw.ingest.columns import ColumnRows
from kapacitord_tw.tick import expr as walker
from kapacitord_tw.tick.lexer import T
from kapacitord_tw.tick.values import T_FLOAT, T_INT

__all__ = ["Lane", "plan"]


class Lane:
    """A ``from`` node, the ``where`` node it feeds (or None) and the time
    window after them; :meth:`run` takes the rows ``from`` would."""

    __slots__ = ("source", "where", "window", "_parts", "_value_where", "_slots", "_epoch",
                 "_interval", "_plan")

    def __init__(self, source, where, window):
        self.source = source
        self.where = where
        self.window = window
        # What each run needs, looked up once: a task with 100 measurements
        # runs its lane for a few dozen rows at a time.
        shared = None
        if where is not None and not where.program.stateful:
            # A stateless predicate is one for every group (as in its chunk loop).
            shared = where.program.new_evaluator().predicate
        self._parts = (
            source.measurement,
            source.where.predicate if source.where is not None else None,
            source.truncate, source.round, source._memo_key, source._grouping,
            where.groups if where is not None else None,
            where.new_group if where is not None else None,
            shared, window.groups, window._handle_into)
        #: the where's lambda as a test of one field's value, when it reads
        #: only that field and keeps no state (see :meth:`run_columns`)
        self._value_where = None
        #: series -> its window group (see :meth:`_columns`), valid while
        #: ``_epoch`` (the nodes' group epochs and the field) holds
        self._slots: dict = {}
        self._epoch = None
        #: the where holds on an interval of that field's values
        self._interval = False
        #: how columns of a field are taken (see :meth:`run_columns`)
        self._plan = None
        if shared is not None and len(where.program.references) == 1:
            self._value_where = where.program
            self._interval = interval_test(where.program.walker.root,
                                           where.program.references[0])

    def usable(self) -> bool:
        """No stats node watches a node's groups (they count messages one by one)."""
        return (self.source.group_stats is None and self.window.group_stats is None
                and (self.where is None or self.where.group_stats is None))

    def run(self, database: str, retention_policy: str, rows) -> Optional[int]:
        """Take the rows; for columns, maybe only the first ones: the index
        of the first row not taken (see :meth:`run_columns`), else None."""
        if type(rows) is ColumnRows:
            return self.run_columns(database, retention_policy, rows)
        source, where, window = self.source, self.where, self.window
        started = _perf_ns()
        (measurement, from_where, truncate, rounding, memo_key, grouping_of, where_groups,
         new_where_group, shared, window_groups, handle) = self._parts
        out: list = []
        window._collecting = out
        grouped = passed = 0
        try:
            for series, fields, when in rows:
                if measurement and series.measurement != measurement:
                    continue
                tags = series.tags
                if from_where is not None:
                    try:
                        if not from_where(when, fields, tags):
                            continue
                    except Exception as e:
                        source._where_failed(e)
                        continue
                if truncate:
                    when = go_truncate(when, truncate)
                if rounding:
                    when = go_round(when, rounding)
                grouping = series.cache.get(memo_key)
                if grouping is None:
                    grouping = series.cache[memo_key] = grouping_of(series)
                group = grouping[1]
                grouped += 1
                g = window_groups.get(group)
                if where is not None:
                    if shared is None:
                        wg = where_groups.get(group)
                        if wg is None:
                            wg = where_groups[group] = new_where_group(None)
                        predicate = wg.predicate
                    else:
                        # A group the window has was seen by the where (only
                        # a delete, which reaches both, forgets it).
                        if g is None and group not in where_groups:
                            where_groups[group] = new_where_group(None)
                        predicate = shared
                    try:
                        if not predicate(when, fields, tags):
                            continue
                    except Exception as e:
                        where._failed(e)
                        continue
                passed += 1
                if g is not None and when < g.next_emit:
                    if g.folding:
                        g.hold(when, fields, tags)
                        continue
                    # _TimeWindow.hold, inline: the loop's commonest step.
                    times = g.times
                    if times:
                        if when < times[-1]:
                            g.ordered = False
                        key = g.key
                        if key is None:
                            g.fields.append(fields)
                        elif len(fields) == 1 and key in fields:
                            g.fields.append(fields[key])
                        else:
                            g.widen(fields)
                        if g.tags_held is not None:
                            g.tags_held.append(tags)
                        elif tags is not g.shared_tags:
                            g.unshare(tags)
                    elif g.first(fields, tags, when):
                        continue  # folded (or dropped: the emission would purge it)
                    times.append(when)
                    continue
                # More than buffering (a group's first point, a window to emit): rare.
                handle(Point(series.measurement, database, retention_policy, tags, fields, when,
                             grouping[0], group), out)
        finally:
            window._collecting = None
        self._account(_perf_ns() - started, len(rows), grouped, passed, out)


    def run_columns(self, database: str, retention_policy: str,
                    rows: ColumnRows) -> Optional[int]:
        """Columns: each point's one value is tested and held as it is, with
        no fields dict; a point this loop does not take plainly (no value,
        a where that fails or is not a test of that value, a tag of the
        field's name) goes through :meth:`run` alone, in its turn.

        Windows closing for many groups at once (each emission runs the
        task's later nodes) can make a chunk dear: past ``EMIT_LIMIT``
        windows emitted, or ``EMIT_BUDGET_NS`` of a chunk's time with
        windows emitted, the lane stops and answers the index of the first
        row it did not take, so the router gives the reactor back and hands
        the rest over on its next turn."""
        measurement = self.source.measurement
        name = rows.names.get(measurement) if measurement else None
        plan = self._plan
        if plan is None or plan[0] != name:
            plan = self._plan = self._plan_columns(name)
        _name, usable, test, state = plan
        if not usable:
            self.run(database, retention_policy, list(rows))
            return None
        series, values, times = rows.series, rows.values, rows.times
        n = len(series)
        start = 0
        started = _perf_ns()
        while start < n:
            stop, spent = self._columns(database, retention_policy, name, test, state,
                                        series, values, times, start, started)
            if spent:
                return stop if stop < n else None  # the reactor's turn
            if stop >= n:
                break
            self.run(database, retention_policy, [rows[stop]])
            start = stop + 1
        return None

    def _plan_columns(self, name):
        """``(name, usable, where test, its state)`` for columns of the field ``name``."""
        (_m, from_where, truncate, rounding, *_rest) = self._parts
        test = state = None
        usable = name is not None and from_where is None and not truncate and not rounding
        if self.where is not None:
            program = self._value_where
            if program is None or program.references[0] != name:
                usable = False
            else:
                test = program.specialise("predicate", float)
                state = program.new_evaluator().state
        return name, usable, test, state

    def _holds_for_all(self, test, state, values, start: int) -> bool:
        """The where holds for every value from ``start`` on, known from the
        least and the greatest: its lambda is an interval of the field's
        values (comparisons of the field with numbers, and-ed)."""
        if not self._interval:
            return False
        try:
            part = values[start:] if start else values
            return bool(test(state, min(part)) and test(state, max(part)))
        except Exception:  # a point without a value (None), or the lambda's error
            return False

    def _columns(self, database, retention_policy, name, test, state, all_series, values,
                 times, start, began) -> tuple:
        """The plain points from ``start`` on: ``(index, spent)``, the index
        of the first other one (or the end), and whether the time since
        ``began`` ran out after windows were emitted (then the index is the
        first row not taken)."""
        where, window = self.where, self.window
        started = _perf_ns()
        (measurement, _from_where, _truncate, _rounding, memo_key, grouping_of, where_groups,
         new_where_group, _shared, window_groups, handle) = self._parts
        # Each series' window, once it has one: a point then touches its
        # series, that window and its two lists, not the series' memo, the
        # group's key and two group tables.
        epoch = (window.group_epoch, where.group_epoch if where is not None else 0, name)
        slots = self._slots
        if epoch != self._epoch or len(slots) > 2 * len(window_groups) + 1000:
            slots.clear()  # a group was deleted (or series were renewed)
            self._epoch = epoch
        slot = slots.get
        if test is not None and self._holds_for_all(test, state, values, start):
            test = None  # no point can fail it: not asked point by point
        out: list = []
        window._collecting = out
        # What is rare is counted (the loop's counters cost as much as its work).
        skipped = rejected = 0
        spent = False
        stop = i = len(all_series)
        try:
            if start:
                all_series, values, times = all_series[start:], values[start:], times[start:]
            for i, series, value, when in zip(count(start), all_series, values, times):
                g = slot(series)
                if g is None:
                    if series.measurement != measurement:
                        skipped += 1
                        continue
                    if where is not None and name in series.tags:
                        break  # a field and a tag of one name: the where's error
                    grouping = series.cache.get(memo_key)
                    if grouping is None:
                        grouping = series.cache[memo_key] = grouping_of(series)
                    g = window_groups.get(grouping[1])
                    if g is not None:
                        slots[series] = g
                    # else a new group: the window's own handling makes it, below
                if value is None:
                    break  # no value: the whole way
                if test is not None:
                    try:
                        ok = test(state, value)
                    except Exception:
                        break  # the where's own error, and its count
                    if not ok:
                        rejected += 1
                        if g is None and grouping[1] not in where_groups:
                            where_groups[grouping[1]] = new_where_group(None)
                        continue
                if g is not None and when < g.next_emit:
                    if g.folding:  # _TimeWindow.hold of a value to fold, inline
                        g.fsum += value
                        g.fn += 1
                        continue
                    times_held = g.times
                    if times_held:
                        if when < times_held[-1]:
                            g.ordered = False
                        key = g.key
                        if key == name:
                            g.fields.append(value)
                        elif key is None:
                            g.fields.append({name: value})
                        else:
                            g.widen({name: value})
                        if g.tags_held is not None:
                            g.tags_held.append(series.tags)
                        elif series.tags is not g.shared_tags:
                            g.unshare(series.tags)
                    elif g.first({name: value}, series.tags, when):
                        continue  # folded (or dropped: the emission would purge it)
                    times_held.append(when)
                    continue
                # A new group, or a window to emit: the window's own handling.
                if g is None:  # ``grouping`` is this point's (found above)
                    if where is not None and grouping[1] not in where_groups:
                        where_groups[grouping[1]] = new_where_group(None)
                else:
                    grouping = series.cache.get(memo_key)
                    if grouping is None:
                        grouping = series.cache[memo_key] = grouping_of(series)
                handle(Point(measurement, database, retention_policy, series.tags,
                             {name: value}, when, grouping[0], grouping[1]), out)
                if out and (len(out) >= EMIT_LIMIT or _perf_ns() - began > EMIT_BUDGET_NS):
                    spent = True
                    i += 1
                    break
            else:
                i = stop
        finally:
            window._collecting = None
        grouped = i - start - skipped
        self._account(_perf_ns() - started, i - start, grouped, grouped - rejected, out)
        return i, spent

    def _account(self, spent: int, n: int, grouped: int, passed: int, out: list) -> None:
        """The loop's counts and time, shared among the nodes as in :meth:`run`."""
        source, where, window = self.source, self.where, self.window
        if where is None:
            passed = grouped
        total = n + (grouped if where is not None else 0) + passed or 1
        source._exec_ns += spent * n // total
        source._exec_count += n
        source.edge_counts[0] += grouped
        if where is not None:
            where._exec_ns += spent * grouped // total
            where._exec_count += grouped
            where.edge_counts[0] += passed
        window._exec_ns += spent * passed // total
        window._exec_count += passed
        if out:
            window.forward_many(out)


_THRESHOLDS = frozenset({T.LESS, T.GREATER, T.LESS_EQUAL, T.GREATER_EQUAL})

#: A chunk's time after which a lane that emitted windows gives the reactor
#: back (the router's slices are 1 ms; a window closing for 500 groups in
#: one chunk held it 10-25 ms), and the windows it emits at most before it
#: does: each emitted window runs the task's later nodes after the loop
#: (mean and alert: 30-40 us a window), so the time alone let a chunk run
#: 4-5 ms past its loop.
EMIT_BUDGET_NS = 500_000
EMIT_LIMIT = 16


def interval_test(node, name: str) -> bool:
    """True when a lambda compares the reference ``name`` with numbers
    (``<``, ``<=``, ``>``, ``>=``), and-ed: the values it holds for are an
    interval, so it holds for every value between two it holds for."""
    kind = type(node)
    if kind is walker._Lambda:
        return interval_test(node.inner, name)
    if kind is not walker._Binary:
        return False
    if node.operator == T.AND:
        return interval_test(node.left, name) and interval_test(node.right, name)
    if node.operator not in _THRESHOLDS:
        return False
    left, right = node.left, node.right
    if type(left) is walker._Literal:
        left, right = right, left
    return (type(left) is walker._Reference and left.name == name
            and type(right) is walker._Literal and right.vtype in (T_FLOAT, T_INT))


def plan(source) -> Optional[Lane]:
    """The lane starting at ``source`` (a from node), if its task has that shape."""
    if len(source.children) != 1:
        return None
    node = source.children[0]
    where = None
    if type(node) is WhereNode:
        if len(node.children) != 1:
            return None
        where, node = node, node.children[0]
    if type(node) is not WindowNode or not (node.period and node.every):
        return None
    return Lane(source, where, node)
