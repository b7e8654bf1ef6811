"""``alert()``: levels from lambdas, per-group state, events to handlers and topics.

Each group keeps Kapacitor's ring of recent levels (``history``), from
which it derives ``changed``, flapping (weighted share of changes) and the
``stateChangesOnly`` expiry.  A point (or a batch) becomes an event when it
is not OK, or is the OK that ends an alert, unless flapping or
``stateChangesOnly`` hold it back; the event is rendered with the ``id``,
``message`` (Go ``text/template``) and ``details`` (``html/template``)
templates, counted, published to the node's topics and passed to its
handlers, and the point goes on to the children with the level, id,
message and duration added where the script asks for them.

Level lambdas are shared by all groups of the node, as in Kapacitor.
Handlers do their I/O at the edge and never block or raise into the node.
"""

from __future__ import annotations

from typing import List, Optional

from kapacitord_tw.engine.alertdata import (
    DEFAULT_DETAILS, DEFAULT_ID, DEFAULT_MESSAGE, AlertTemplates, ServerInfo)
from kapacitord_tw.engine.alerting import LEVEL_NAMES, AlertEvent, Inhibitor, build_handlers
from kapacitord_tw.engine.gotemplate import TemplateError
from kapacitord_tw.engine.handlers import HandlerConfigError
from kapacitord_tw.engine.messages import Batch, BatchPoint, Point
from kapacitord_tw.engine.node import (
    GroupedNode, NodeError, duration_ns, lambda_evaluator, node_type, prop)
from kapacitord_tw.engine.rows import batch_row, point_row

OK, INFO, WARNING, CRITICAL = 0, 1, 2, 3

DEFAULT_HISTORY = 21

#: The newest state change weighs this many times the oldest (flapping).
_WEIGHT_DIFF = 1.5
_MAX_WEIGHT = 1.2


@node_type("AlertNode")
class AlertNode(GroupedNode):
    def __init__(self, spec, task):
        super().__init__(spec, task)
        props = self.props
        self.levels: List[Optional[object]] = [None] * 4
        self.resets: List[Optional[object]] = [None] * 4
        for level, key in ((INFO, "Info"), (WARNING, "Warn"), (CRITICAL, "Crit")):
            lam = props.get(key)
            if lam is not None:
                self.levels[level] = lambda_evaluator(lam)
                reset = props.get(key + "Reset")
                if reset is not None:
                    self.resets[level] = lambda_evaluator(reset)
        info = task.server_info
        try:
            self.templates = AlertTemplates.compile(
                task.id, prop(self, "Id", DEFAULT_ID), prop(self, "Message", DEFAULT_MESSAGE),
                prop(self, "Details", DEFAULT_DETAILS),
                ServerInfo(info["Hostname"], info["ClusterID"], info["ServerID"]))
        except TemplateError as e:
            raise NodeError(str(e)) from None
        self.history = max(2, int(prop(self, "History", DEFAULT_HISTORY)))
        self.flapping = bool(prop(self, "UseFlapping", False))
        self.flap_low = float(prop(self, "FlapLow", 0.0))
        self.flap_high = float(prop(self, "FlapHigh", 0.0))
        if self.flapping and (self.flap_low > 1 or self.flap_high > 1):
            raise NodeError("alert flap thresholds are percentages and should be between 0 and 1")
        self.state_changes_only = bool(prop(self, "IsStateChangesOnly", False))
        self.state_changes_duration = duration_ns(props.get("StateChangesOnlyDuration"))
        self.no_recoveries = bool(prop(self, "NoRecoveriesFlag", False))
        self.all = bool(prop(self, "AllFlag", False))
        self.category = prop(self, "Category", "")
        self.level_tag = prop(self, "LevelTag", "")
        self.level_field = prop(self, "LevelField", "")
        self.id_tag = prop(self, "IdTag", "")
        self.id_field = prop(self, "IdField", "")
        self.message_field = prop(self, "MessageField", "")
        self.duration_field = prop(self, "DurationField", "")
        self.augments_tags = bool(self.level_tag or self.id_tag)
        self.augments_fields = bool(self.level_field or self.id_field or self.message_field
                                    or self.duration_field)
        self.inhibitors = [(spec_.get("Category", ""), tuple(spec_.get("EqualTags") or ()))
                           for spec_ in props.get("Inhibitors") or ()]
        self.topic = prop(self, "Topic", "")
        try:
            self.handlers = build_handlers(props, task, self)
        except HandlerConfigError as e:
            raise NodeError(str(e)) from None
        self.anon_topic = f"{task.master_id}:{task.id}:{self.name}"

    # ----------------------------------------------------------- levels

    def _level_at(self, level, time, fields, tags) -> bool:
        try:
            return bool(self.levels[level].predicate(time, fields, tags))
        except Exception as e:
            self.error(f"error evaluating expression for level {LEVEL_NAMES[level]}: {e}")
            return False

    def _first_match(self, start: int, stop: int, time, fields, tags):
        stop = max(stop, OK)
        for level in range(start, stop, -1):
            if self.levels[level] is not None and self._level_at(level, time, fields, tags):
                return level
        return None

    def determine_level(self, time, fields, tags, current: int) -> int:
        higher = self._first_match(CRITICAL, current - 1, time, fields, tags)
        if higher is not None:
            return higher
        reset = self.resets[current]
        if reset is not None:
            try:
                if not reset.predicate(time, fields, tags):
                    return current
            except Exception as e:
                self.error(f"error evaluating reset expression for current level: {e}")
        lower = self._first_match(current, OK, time, fields, tags)
        return OK if lower is None else lower

    # ----------------------------------------------------------- groups

    def new_group(self, first):
        inhibitors = []
        topics = self.task.topics
        if self.inhibitors and topics is not None:
            group_tags = first.group_tags()
            for category, equal in self.inhibitors:
                inhibitor = Inhibitor(category, {t: group_tags.get(t, "") for t in equal})
                topics.add_inhibitor(inhibitor)
                inhibitors.append(inhibitor)
        state = _AlertState(self, inhibitors)
        if topics is not None and (self.handlers or self.topic):
            self._restore(state, first)
        return state

    def _restore(self, state, first) -> None:
        """Kapacitor's ``restoreEventState``: a new group resumes at the level its
        event last had in the anonymous topic (first) or the node's topic."""
        name = getattr(first, "name", "")
        try:
            alert_id = self.render_id(name, first.group, first.tags)
        except TemplateError:
            return
        topics = self.task.topics
        anon = topics.event_state(self.anon_topic, alert_id) if self.handlers else None
        named = topics.event_state(self.topic, alert_id) if self.topic else None
        anon_level = anon.level if anon is not None else OK
        named_level = named.level if named is not None else OK
        if anon_level != named_level:
            if anon is not None and named is not None:
                topics.update_event(self.topic, anon)
            elif named is not None and self.handlers:
                topics.update_event(self.anon_topic, named)
        found = anon if anon is not None else named
        if found is not None and found.level != OK:
            time = first.time if isinstance(first, Point) else getattr(first, "tmax", 0)
            state.add_event(time, found.level)
            state.triggered(found.time)

    def _forget(self, state) -> None:
        topics = self.task.topics
        for inhibitor in state.inhibitors:
            topics.remove_inhibitor(inhibitor)

    def delete_group(self, d):
        state = self.groups.pop(d.group, None)
        if state is not None:
            self._forget(state)
        return d

    def render_id(self, name: str, group: str, tags: dict) -> str:
        return self.templates.render_id(name, group, tags)

    def event(self, alert_id, name, group, tags, fields, level, time, duration, row) -> AlertEvent:
        message, details = self.templates.render_message_and_details(
            alert_id, name, time, group, tags, fields, level, duration)
        return AlertEvent(
            id=alert_id, message=message, details=details, time=time, duration=duration,
            level=level, data={"series": [row]}, recoverable=not self.no_recoveries,
            name=name, task_name=self.task.id, category=self.category, group=group,
            tags=dict(tags), fields=dict(fields))

    def trigger(self, event: AlertEvent) -> None:
        """Count the event, log it, publish it to the topics and the handlers."""
        counters = self.counters
        topics = self.task.topics
        if topics is not None and topics.is_inhibited(event.category, event.tags):
            counters["alerts_inhibited"] += 1
            return
        counters["alerts_triggered"] += 1
        key = ("oks_triggered", "infos_triggered", "warns_triggered", "crits_triggered")[event.level]
        counters[key] += 1
        self.log.info("alert triggered: task={task} node={node} level={alert_level} id={id} "
                      "message={msg}", task=self.task.id, node=self.name,
                      alert_level=LEVEL_NAMES[event.level],
                      id=event.id, msg=event.message)
        if self.handlers:
            previous = topics.collect(self.anon_topic, event) if topics is not None else None
            data = event.alert_data(previous)
            for handler in self.handlers:
                handler.handle(data)
        if self.topic and topics is not None:
            topics.collect(self.topic, event)

    def start(self) -> None:
        topics = self.task.topics
        if self.handlers and topics is not None:
            topics.restore_topic(self.anon_topic)

    def stop(self) -> None:
        for state in self.groups.values():
            self._forget(state)
        topics = self.task.topics
        if self.handlers and topics is not None:
            topics.close_topic(self.anon_topic)
        for handler in self.handlers:
            close = getattr(handler, "close", None)
            if close is not None:
                close()


class _AlertState:
    __slots__ = ("node", "history", "idx", "flapping", "changed", "first_triggered",
                 "last_triggered", "expired", "inhibitors", "_id_for")

    def __init__(self, node: AlertNode, inhibitors=()):
        self.node = node
        #: (name, tags, id) of the last rendered ID: messages never change
        #: their tags dict and series share one, so an ``is`` check saves
        #: rendering the (deterministic) ID template for every point
        self._id_for = (None, None, None)
        self.inhibitors = inhibitors
        self.history = [OK] * node.history
        self.idx = 0
        self.flapping = False
        self.changed = False
        self.first_triggered = 0
        self.last_triggered = 0
        self.expired = False

    # Kapacitor's alertState bookkeeping

    def current(self) -> int:
        return self.history[self.idx]

    def add_event(self, time: int, level: int) -> None:
        history = self.history
        self.changed = history[self.idx] != level
        self.idx = (self.idx + 1) % len(history)
        history[self.idx] = level
        node = self.node
        if node.flapping:
            p = self._percent_change()
            if self.flapping and p < node.flap_low:
                self.flapping = False
            elif not self.flapping and p > node.flap_high:
                self.flapping = True
        self.expired = (not self.changed and node.state_changes_duration != 0
                        and time - self.last_triggered >= node.state_changes_duration)

    def _percent_change(self) -> float:
        history = self.history
        size = len(history)
        changes = 0.0
        weight = _MAX_WEIGHT / _WEIGHT_DIFF
        step = (_MAX_WEIGHT - weight) / float(size - 1)
        for i in range(size - 1):
            c = (i + self.idx) % size
            p = c - 1 if c else size - 1
            if history[c] != history[p]:
                changes += weight
            weight += step
        return changes / float(size - 1)

    def triggered(self, time: int) -> None:
        self.last_triggered = time
        previous = self.idx - 1 if self.idx else len(self.history) - 1
        if self.history[previous] == OK:
            self.first_triggered = time
        alerting = self.history[self.idx] != OK
        for inhibitor in self.inhibitors:
            inhibitor.active = alerting

    def duration(self) -> int:
        return self.last_triggered - self.first_triggered

    def _held_back(self) -> bool:
        node = self.node
        return ((node.flapping and self.flapping)
                or (node.state_changes_only and not self.changed and not self.expired))

    # messages

    def _render_id(self, name: str, group: str, tags: dict) -> str:
        last_name, last_tags, last_id = self._id_for
        if tags is last_tags and name == last_name:
            return last_id
        alert_id = self.node.render_id(name, group, tags)
        self._id_for = (name, tags, alert_id)
        return alert_id

    def point(self, p: Point):
        node = self.node
        alert_id = self._render_id(p.name, p.group, p.tags)
        level = node.determine_level(p.time, p.fields, p.tags, self.current())
        self.add_event(p.time, level)
        if self._held_back():
            return None
        if level == OK and not self.changed:
            return None
        self.triggered(p.time)
        if node.no_recoveries and level == OK:
            return None
        event = node.event(alert_id, p.name, p.group, p.tags, p.fields, level, p.time,
                           self.duration(), point_row(p))
        node.trigger(event)
        if not (node.augments_tags or node.augments_fields):
            return p
        tags = self._tags(p.tags, event)
        fields = self._fields(p.fields, event)
        return p.evolve(tags=tags, fields=fields) if tags is not p.tags \
            else p.evolve(fields=fields)

    def batch(self, b: Batch):
        node = self.node
        alert_id = self._render_id(b.name, b.group, b.tags)
        if not b.points:
            return None
        lowest, highest, highest_point = CRITICAL, OK, None
        current = self.current()
        for bp in b.points:
            level = node.determine_level(bp.time, bp.fields, bp.tags, current)
            if level < lowest:
                lowest = level
            if level > highest or highest_point is None:
                highest, highest_point = level, bp
        level = lowest if node.all else highest
        when = b.tmax if (node.all or level == OK) else highest_point.time
        self.add_event(when, level)
        if not ((self.changed and level == OK) or (level != OK and not self._held_back())):
            return None
        self.triggered(when)
        if node.no_recoveries and level == OK:
            return None
        event = node.event(alert_id, b.name, b.group, b.tags, highest_point.fields, level,
                           when, self.duration(), batch_row(b))
        node.trigger(event)
        if not (node.augments_tags or node.augments_fields):
            return b
        points = [BatchPoint(bp.time, self._fields(bp.fields, event), self._tags(bp.tags, event))
                  for bp in b.points]
        return b.evolve(points=points, tags=self._tags(b.tags, event))

    def _tags(self, tags: dict, event: AlertEvent) -> dict:
        node = self.node
        if not node.augments_tags:
            return tags
        tags = dict(tags)
        if node.level_tag:
            tags[node.level_tag] = LEVEL_NAMES[event.level]
        if node.id_tag:
            tags[node.id_tag] = event.id
        return tags

    def _fields(self, fields: dict, event: AlertEvent) -> dict:
        node = self.node
        if not node.augments_fields:
            return fields
        fields = dict(fields)
        if node.level_field:
            fields[node.level_field] = LEVEL_NAMES[event.level]
        if node.message_field:
            fields[node.message_field] = event.message
        if node.id_field:
            fields[node.id_field] = event.id
        if node.duration_field:
            fields[node.duration_field] = event.duration
        return fields
