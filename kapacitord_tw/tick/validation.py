"""Node checks Kapacitor runs after evaluation (``pipeline.Validate``).

Messages are returned raw: Kapacitor reports them without a position.
"""

from kapacitord_tw.tick import syntax as ast
from kapacitord_tw.tick.durations import Duration
from kapacitord_tw.tick.errors import TickEvalError
from kapacitord_tw.gocompat import go_quote
from kapacitord_tw.tick.pipeline import CycleError
from kapacitord_tw.tick.values import go_type_of


def _validate_dimensions(dimensions, excluded):
    has_star = False
    for dim in dimensions or ():
        if isinstance(dim, str):
            if not dim:
                return "dimensions cannot not be the empty string"
        elif isinstance(dim, ast.StarNode):
            has_star = True
        else:
            return "invalid dimension object of type %s" % go_type_of(dim)
    if has_star and len(dimensions) > 1:
        return "cannot group by both '*' and named dimensions."
    if not has_star and excluded:
        return "exclude requires '*'"
    return None


def _ns(value):
    return value.nanoseconds if isinstance(value, Duration) else 0


def _prefix_names(names, node_kind, delimiter, parents_count, quote_delim):
    if not names:
        return ("a call to %s.as() is required to specify the output stream "
                "prefixes." % node_kind)
    if node_kind == "join" and len(names) != parents_count:
        return ("number of prefixes specified by join.as() must match the "
                "number of joined streams")
    if node_kind == "combine" and len(names) != parents_count:
        return ("number of prefixes specified by combine.as() must match the "
                "number of combine expressions")
    for name in names:
        if not name:
            return ("must provide a prefix name for the %s node, see .as() "
                    "property method" % node_kind)
        if quote_delim:
            if delimiter and delimiter in name:
                return ("cannot use name %s as field prefix, it contains the "
                        "delimiter %s\t" % (name, go_quote(delimiter)))
        elif delimiter in name:
            return ("cannot use name %s as field prefix, it contains the "
                    "delimiter character %s" % (name, delimiter))
    if len(set(names)) != len(names):
        return "cannot use the same prefix name see .as() property method"
    return None


def validate_node(node):
    """Return Kapacitor's validation error for a node, or None."""
    p = node.props
    kind = node.type_name
    if kind == "FromNode":
        return _validate_dimensions(p.get("Dimensions"), None)
    if kind == "GroupByNode":
        return _validate_dimensions(p.get("Dimensions"),
                                    p.get("ExcludedDimensions"))
    if kind == "AlertNode":
        for snmp in p.get("SNMPTrapHandlers", ()):
            error = None
            if not snmp.get("TrapOid"):
                error = "you must supply a trap Oid"
            else:
                for data in snmp.get("DataList", ()):
                    if data["Type"] not in ("c", "i", "n", "s", "t"):
                        error = ("unsupported data type %s for data entry %s"
                                 % (go_quote(data["Type"]),
                                    go_quote(data["Oid"])))
                        break
            if error:
                return "invalid SNMP trap %s: %s" % (
                    go_quote(snmp.get("TrapOid", "")), error)
        for post in p.get("HTTPPostHandlers", ()):
            for key in post.get("Headers", {}):
                if key.upper() == "AUTHENTICATE":
                    return "invalid post: cannot set 'authenticate' header"
        return None
    if kind == "BarrierNode":
        idle, period = _ns(p.get("Idle")), _ns(p.get("Period"))
        if idle != 0 and period != 0:
            return "cannot specify both idle and period"
        if period == 0 and idle <= 0:
            return "idle must be greater than zero"
        if period <= 0 and idle == 0:
            return "period must be greater than zero"
        return None
    if kind == "CombineNode":
        return _prefix_names(p.get("Names"), "combine",
                             p.get("Delimiter", "."),
                             len(p.get("Lambdas", ())), False)
    if kind == "JoinNode":
        return _prefix_names(p.get("Names"), "join", p.get("Delimiter", "."),
                             len(node.parents), True)
    if kind == "DefaultNode":
        for field, value in p.get("Fields", {}).items():
            if not isinstance(value, (bool, int, float, str)):
                return ("unsupported type %s for field %s, field default "
                        "values must be float,int,string or bool"
                        % (go_type_of(value), go_quote(field)))
        return None
    if kind in ("Ec2AutoscaleNode", "SwarmAutoscaleNode", "K8sAutoscaleNode"):
        name_field, tag_field = {
            "Ec2AutoscaleNode": ("GroupName", "GroupNameTag"),
            "SwarmAutoscaleNode": ("ServiceName", "ServiceNameTag"),
            "K8sAutoscaleNode": ("ResourceName", "ResourceNameTag"),
        }[kind]
        if bool(p.get(name_field)) == bool(p.get(tag_field)):
            return "must specify exactly one of %s or %s" % (name_field,
                                                             tag_field)
        if kind == "K8sAutoscaleNode" and p.get("Kind") not in (
                "deployments", "replicasets", "replicationcontroller"):
            return ("invalid Kind, must be 'deployments', 'replicasets' or "
                    "'replicationcontrollers', got %s" % p.get("Kind"))
        if p.get("Min", 0) < 1:
            return "min must be >= 1, got %d" % p.get("Min", 0)
        if not isinstance(p.get("Replicas"), ast.LambdaNode):
            return "must provide a replicas lambda expression"
        return None
    if kind == "EvalNode":
        as_list, lambdas = p.get("AsList", []), p.get("Lambdas", [])
        if len(as_list) != len(lambdas):
            return ("must specify same number of expressions and .as() names: "
                    "got %d as names, and %d expressions."
                    % (len(as_list), len(lambdas)))
        for tag in p.get("TagsList", []):
            if tag not in as_list:
                return ("invalid tag name %s, name is not present is .as() "
                        "names" % go_quote(tag))
        return None
    if kind == "HTTPPostNode":
        urls, endpoints = p.get("URLs", []), p.get("Endpoints", [])
        if len(urls) >= 2:
            return "httpPost expects 0 or 1 arguments, got %d" % len(urls)
        if len(endpoints) > 1:
            return "httpPost expects 0 or 1 endpoints, got %d" % len(endpoints)
        if not urls and not endpoints:
            return "must provide url or endpoint"
        if urls and endpoints:
            return "only one endpoint and url may be specified"
        for key in p.get("Headers", {}):
            if key.upper() == "AUTHENTICATE":
                return "cannot set 'authenticate' header"
        return None
    if kind == "KapacitorLoopbackNode":
        if not p.get("Database"):
            return "must specify a database"
        if not p.get("RetentionPolicy"):
            return "must specify a retention policy"
        return None
    if kind == "WindowNode":
        period_count = p.get("PeriodCount", 0)
        if period_count != 0 and _ns(p.get("Period")) != 0:
            return "cannot specify both period and periodCount"
        if period_count != 0 and p.get("AlignFlag"):
            return "can only align windows based off time, not count"
        if period_count != 0 and p.get("EveryCount", 0) <= 0:
            return "everyCount must be greater than zero"
        return None
    return None


def validate(graph):
    try:
        ordered = graph.sorted_nodes()
    except CycleError as exc:
        raise TickEvalError(str(exc))
    for node in ordered:
        error = validate_node(node)
        if error:
            return error
    return None
