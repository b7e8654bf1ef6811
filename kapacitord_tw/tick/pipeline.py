"""The pipeline graph a TICKscript evaluates to, and its DOT renderings.

Evaluation grows a :class:`GraphBuilder` (nodes must be mutable while
property methods are still being applied); :meth:`GraphBuilder.freeze`
then yields an immutable :class:`Pipeline` whose :class:`PipelineNode`
records a future task engine can run.

Ids are handed out the way Kapacitor hands them out: a node gets a fresh id
every time it is linked under a parent (so a ``join`` of two streams gets
the id after its last link), and names are ``<desc><id>`` fixed the first
time they are asked for.
"""

import types

import attr

from kapacitord_tw.tick.durations import go_duration_string

_BASE_STATS = ("avg_exec_time_ns", "errors", "working_cardinality")
_EXTRA_STATS = {
    "AlertNode": ("alerts_triggered", "alerts_inhibited", "oks_triggered",
                  "infos_triggered", "warns_triggered", "crits_triggered"),
    "K8sAutoscaleNode": ("increase_events", "decrease_events",
                         "cooldown_drops"),
    "SwarmAutoscaleNode": ("increase_events", "decrease_events",
                           "cooldown_drops"),
    "Ec2AutoscaleNode": ("increase_events", "decrease_events",
                         "cooldown_drops"),
    "QueryNode": ("batches_queried", "points_queried"),
    "QueryFluxNode": ("batches_queried", "points_queried"),
    "DefaultNode": ("fields_defaulted", "tags_defaulted"),
    "DeleteNode": ("fields_deleted", "tags_deleted"),
    "InfluxDBOutNode": ("points_written", "write_errors"),
    "KapacitorLoopbackNode": ("points_written",),
}


class CycleError(Exception):
    pass


class BuildNode:
    """A node while the script is being evaluated (mutable on purpose)."""

    def __init__(self, graph, type_name, desc, wants, provides, props=None):
        self.graph = graph
        self.type_name = type_name
        self.desc = desc
        self.wants = wants
        self.provides = provides
        self.props = dict(props or {})
        self.id = -1
        self._name = None
        self.parents = []
        self.children = []

    def name(self):
        if self._name is None:
            self._name = "%s%d" % (self.desc, self.id)
        return self._name

    def link_child(self, child):
        self.graph.assign_id(child)
        self.children.append(child)
        child.parents.append(self)

    def __repr__(self):
        return "<BuildNode %s%d>" % (self.desc, self.id)


class GraphBuilder:
    def __init__(self):
        self.sources = []
        self.next_id = 0

    def assign_id(self, node):
        node.id = self.next_id
        self.next_id += 1

    def add_source(self, node):
        self.assign_id(node)
        self.sources.append(node)

    def new_node(self, type_name, desc, wants, provides, props=None):
        return BuildNode(self, type_name, desc, wants, provides, props)

    def sorted_nodes(self):
        """Topological order exactly as Kapacitor walks the pipeline."""
        order = []
        done = set()
        for source in reversed(self.sources):
            if id(source) in done:
                continue
            # iterative depth-first post-order (pipelines can be deep)
            active = {id(source)}
            stack = [(source, iter(source.children))]
            while stack:
                node, children = stack[-1]
                child = next(children, None)
                if child is None:
                    stack.pop()
                    active.discard(id(node))
                    done.add(id(node))
                    order.append(node)
                elif id(child) in active:
                    raise CycleError("pipeline contains a cycle")
                elif id(child) not in done:
                    active.add(id(child))
                    stack.append((child, iter(child.children)))
        order.reverse()
        return order

    def freeze(self):
        ordered = self.sorted_nodes()
        nodes = tuple(
            PipelineNode(
                id=n.id,
                name=n.name(),
                type_name=n.type_name,
                desc=n.desc,
                wants=n.wants,
                provides=n.provides,
                parents=tuple(p.name() for p in n.parents),
                children=tuple(c.name() for c in n.children),
                properties=types.MappingProxyType(
                    {key: value.name() if isinstance(value, BuildNode)
                     else value for key, value in n.props.items()}),
            )
            for n in ordered)
        return Pipeline(nodes=nodes,
                        sources=tuple(s.name() for s in self.sources))


@attr.s(frozen=True, slots=True)
class PipelineNode:
    """One node of a compiled task.

    ``properties`` maps Kapacitor's Go field names (``Measurement``,
    ``Lambda``, ``Period``, ``EmailHandlers``...) to evaluated values:
    str/int/float/bool, :class:`~kapacitord_tw.tick.durations.Duration`,
    lambda/regex/star syntax nodes, lists and dicts (alert handlers are
    lists of dicts with their own field names).
    """

    id = attr.ib()
    name = attr.ib()
    type_name = attr.ib()  # Go struct name, e.g. "FromNode"
    desc = attr.ib()  # name stem, e.g. "from", "mean", "http_out"
    wants = attr.ib()  # "stream" | "batch" | "noedge"
    provides = attr.ib()
    parents = attr.ib()  # names
    children = attr.ib()  # names
    properties = attr.ib(eq=False)


@attr.s(frozen=True, slots=True)
class Pipeline:
    nodes = attr.ib()  # topologically sorted
    sources = attr.ib()  # names of source nodes (stream0/batch0, stats)

    def __len__(self):
        return len(self.nodes)

    def node(self, name):
        for node in self.nodes:
            if node.name == name:
                return node
        raise KeyError(name)

    def dot(self, name):
        """Graphviz text as Kapacitor shows it for a task or template."""
        lines = ["digraph %s {\n" % name]
        for node in self.nodes:
            if node.type_name == "BatchNode":
                # Kapacitor's batch source node prints no edges.
                continue
            for child in node.children:
                lines.append("%s -> %s;\n" % (node.name, child))
        lines.append("}")
        return "".join(lines)

    def stats_dot(self, name, task_type, stats=None, edges=None,
                  throughput=0.0, labels=False):
        """DOT of an executing task, with runtime stats.

        ``stats`` maps node name to ``{stat: value}`` (missing nodes and
        stats default to zero); ``edges`` maps ``(parent, child)`` to the
        number of points/batches that crossed the edge.
        """
        stats = stats or {}
        edges = edges or {}
        unit = "batches" if task_type == "batch" else "points"
        out = ["digraph %s {\n" % name, "graph ["]
        if labels:
            out.append('label="Throughput: %0.2f %s/s" forcelabels=true '
                       'pad="0.8,0.5"' % (throughput, unit))
        else:
            out.append('throughput="%0.2f %s/s"' % (throughput, unit))
        out.append("];\n")
        for node in self.nodes:
            if node.type_name == "BatchNode":
                continue  # Kapacitor's executing batch source prints nothing
            values = default_node_stats(node.type_name)
            values.update(stats.get(node.name, {}))
            rendered = [(key, _stat_text(key, values[key]))
                        for key in sorted(values)]
            if labels:
                out.append('\n%s [xlabel="' % node.name)
                out.append("\\r".join("%s=%s" % kv for kv in rendered))
                out.append('"];\n')
                for child in node.children:
                    out.append('%s -> %s [label="processed=%d"];\n' % (
                        node.name, child, edges.get((node.name, child), 0)))
            else:
                out.append("\n%s [" % node.name)
                for key, text in rendered:
                    out.append('%s="%s" ' % (key, text))
                out.append("];\n")
                for child in node.children:
                    out.append('%s -> %s [processed="%d"];\n' % (
                        node.name, child, edges.get((node.name, child), 0)))
        out.append("}")
        return "".join(out)


def default_node_stats(type_name):
    """The stats an executing node reports before any data flowed."""
    keys = _BASE_STATS + _EXTRA_STATS.get(type_name, ())
    return {key: 0 for key in keys}


def _stat_text(key, value):
    if key == "avg_exec_time_ns" and isinstance(value, int):
        return go_duration_string(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
